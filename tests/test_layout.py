"""Layout rules: services never import each other; shared/ imports no service; no import-time engine use."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("gateway", "auth", "files", "thumbnailer")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    for path in (ROOT / "services" / service).rglob("*.py"):
        for module in imported_modules(path):
            if module.startswith("services."):
                assert module.split(".")[1] == service, f"{path.relative_to(ROOT)} imports {module}"


def test_shared_imports_no_service() -> None:
    for path in (ROOT / "shared").rglob("*.py"):
        assert not [m for m in imported_modules(path) if m.startswith("services")], path


@pytest.mark.parametrize("service", SERVICES)
def test_factories_build_apps_without_touching_an_engine(service: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """create_app() with unreachable engines configured must not connect: resources open in cleanup_ctx."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MONGO_URL", "mongodb://127.0.0.1:9/")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")
    monkeypatch.setenv("AMQP_URL", "amqp://guest:guest@127.0.0.1:9/")
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    app = module.create_app()
    assert app.cleanup_ctx and not app.frozen
