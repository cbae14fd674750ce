"""Layout rules: services never import each other; shared/ imports no service; no import-time engine use."""

import ast
import re
from pathlib import Path

import pytest
import yaml

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


# Data ownership ------------------------------------------------------------------------------------

PROJECT = ("services", "shared")
# Third-party database and broker drivers, and which of them each service may reach (through any of
# the project's modules it imports): the gateway reads the token store only (Redis, or the SQLite file).
# S3 (shared/objects.py): the files service and the thumbnailer, when a bucket is configured.
DRIVERS = {"pymongo", "bson", "motor", "redis", "aio_pika", "aiormq", "aiosqlite", "sqlite3", "aiobotocore", "botocore"}
ALLOWED_DRIVERS = {
    "gateway": {"redis", "aiosqlite", "sqlite3"},
    "auth": {"pymongo", "bson", "redis", "aio_pika", "aiormq", "aiosqlite", "sqlite3"},
    "files": {"pymongo", "bson", "aio_pika", "aiormq", "aiosqlite", "sqlite3", "aiobotocore", "botocore"},
    "thumbnailer": {"aio_pika", "aiormq", "aiosqlite", "sqlite3", "aiobotocore", "botocore"},
}
# Every table or collection, and the one place that may address it.
OWNERS = {
    "users": "services/auth",
    "files": "services/files",
    "leases": "services/files",
    "treeLeases": "services/files",
    "tokens": "shared/tokens.py",  # auth's token store; the gateway reads it through this adapter
    "login_attempts": "services/auth",  # failed-login counters, kept beside the tokens
    "jobs": "shared/jobs.py",  # the embedded job transport
}
SQL_NAME = re.compile(
    r"\b(?:FROM|INTO|(?<!DO )UPDATE|TABLE(?: IF NOT EXISTS)?|INDEX(?: IF NOT EXISTS)? \w+ ON)\s+(\w+)"
)


def module_path(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def direct_imports(path: Path) -> set[str]:
    """Every module `path` imports, `from package import module` resolved to the module."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names if module_path(f"{node.module}.{a.name}"))
    return names


def reached_drivers(service: str) -> dict[str, str]:
    """Each driver the service's code reaches, with the project module that imports it."""
    todo = list((ROOT / "services" / service).rglob("*.py"))
    seen: set[Path] = set(todo)
    found: dict[str, str] = {}
    while todo:
        path = todo.pop()
        for module in direct_imports(path):
            top = module.split(".")[0]
            if top in DRIVERS:
                found.setdefault(top, str(path.relative_to(ROOT)))
            elif top in PROJECT and (target := module_path(module)) is not None and target not in seen:
                seen.add(target)
                todo.append(target)
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_reaches_only_the_drivers_of_the_stores_it_uses(service: str) -> None:
    extra = {d: where for d, where in reached_drivers(service).items() if d not in ALLOWED_DRIVERS[service]}
    assert not extra, f"{service} reaches {extra}"


def test_the_gateway_holds_no_database_connection() -> None:
    reached = reached_drivers("gateway")
    assert not {"pymongo", "bson", "motor"} & set(reached), reached
    for path in (ROOT / "services" / "gateway").rglob("*.py"):
        assert "shared.database" not in direct_imports(path), path


def store_names(path: Path) -> set[str]:
    """Tables named in SQL strings and collections subscripted on a database (`db["files"]`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.update(SQL_NAME.findall(node.value))
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
            and "db" in ast.unparse(node.value).lower()
        ):
            names.add(node.slice.value)
    return names


def test_each_store_is_addressed_only_by_its_owner() -> None:
    for path in [p for top in PROJECT for p in (ROOT / top).rglob("*.py")]:
        where = str(path.relative_to(ROOT))
        for name in store_names(path):
            assert name in OWNERS, f"{where} addresses {name!r}, which has no owner in this test"
            assert where.startswith(OWNERS[name]), f"{where} addresses {name!r}, owned by {OWNERS[name]}"


def test_the_store_scan_sees_tables_and_collections(tmp_path: Path) -> None:
    """The scan above would pass vacuously if it found nothing: it finds what a stray access looks like."""
    stray = tmp_path / "stray.py"
    stray.write_text(
        'async def f(db, conn):\n    await db["users"].find_one({})\n    await conn.execute("SELECT 1 FROM files")\n'
    )
    assert store_names(stray) == {"users", "files"}
    assert store_names(ROOT / "services" / "files" / "files_store.py") >= {"files"}


# Constants defined once ---------------------------------------------------------------------------

# The contract's names and the values processes must agree on: each is written in exactly one module.
CONTRACT_LITERALS = (
    "fileQueue",
    "userQueue",
    "auth_",
    ".thumb-",
    ".upload-",
    "files_manager.sqlite3",
    "/internal/stats",
    "X-FM-User",
    "X-FM-Sendfile",
)


def string_constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


@pytest.mark.parametrize("literal", CONTRACT_LITERALS)
def test_a_contract_constant_is_written_once(literal: str) -> None:
    places = [
        str(path.relative_to(ROOT))
        for top in PROJECT
        for path in (ROOT / top).rglob("*.py")
        if literal in string_constants(path)
    ]
    assert len(places) == 1, f"{literal!r} written in {places}"


def module_constants(path: Path) -> dict[str, object]:
    """Module-level UPPER_CASE names bound to a literal (numbers, strings, tuples and sets of them)."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text()).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if not isinstance(target, ast.Name) or not target.id.isupper() or value is None:
            continue
        try:
            found[target.id] = ast.literal_eval(value)
        except ValueError:
            continue
    return found


def test_no_constant_is_defined_twice() -> None:
    """The same name, or the same value, bound to a literal in two modules is one constant written twice."""
    names: dict[str, str] = {}
    values: dict[str, str] = {}
    for path in [p for top in PROJECT for p in (ROOT / top).rglob("*.py")]:
        for name, value in module_constants(path).items():
            where = f"{path.relative_to(ROOT)}:{name}"
            assert name not in names, f"{name} defined in {names[name]} and {where}"
            assert repr(value) not in values, f"{value!r} defined as {values[repr(value)]} and {where}"
            names[name] = values[repr(value)] = where


# Deployment --------------------------------------------------------------------------------------

ENGINE_URLS = {"MONGO_URL", "DB_HOST", "DB_PORT", "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "AMQP_URL"}
USES = {
    "gateway": {"REDIS_URL"},
    "auth": {"MONGO_URL", "REDIS_URL", "AMQP_URL"},
    "files": {"MONGO_URL", "AMQP_URL"},
    "thumbnailer": {"AMQP_URL"},
}


@pytest.mark.parametrize("service", SERVICES)
def test_compose_gives_a_service_only_the_engines_it_uses(service: str) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environment = set(compose["services"][service].get("environment", {}))
    assert environment & ENGINE_URLS == USES[service]
