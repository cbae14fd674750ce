"""Which engine each concern uses, from the environment."""

from pathlib import Path

import pytest

from shared.settings import EngineSettings, folder_path

VARIABLES = ("MONGO_URL", "DB_HOST", "DB_PORT", "DB_DATABASE", "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "AMQP_URL")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))


def test_nothing_set_is_all_embedded(tmp_path: Path) -> None:
    settings = EngineSettings.from_env()
    assert (settings.mongo_url, settings.redis_url, settings.amqp_url) == (None, None, None)
    assert settings.sqlite_path == tmp_path / "files_manager.sqlite3"


def test_the_seeds_variables_select_mongodb_and_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("DB_DATABASE", "legacy")
    monkeypatch.setenv("REDIS_PORT", "6380")
    settings = EngineSettings.from_env()
    assert settings.mongo_url == "mongodb://db.internal:27017" and settings.mongo_database == "legacy"
    assert settings.redis_url == "redis://127.0.0.1:6380/0"


def test_urls_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGO_URL", "mongodb://m:1/x")
    monkeypatch.setenv("DB_HOST", "ignored")
    monkeypatch.setenv("AMQP_URL", "amqp://u:p@r:5672/")
    settings = EngineSettings.from_env()
    assert settings.mongo_url == "mongodb://m:1/x" and settings.amqp_url == "amqp://u:p@r:5672/"


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_folder_path_is_the_default(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("FOLDER_PATH", value)
    assert folder_path() == Path("/tmp/files_manager")


def test_relative_folder_path_is_made_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FOLDER_PATH", "store")
    assert folder_path() == tmp_path / "store"
