"""The log configuration itself: formats, the request id on every line, malformed requests made harmless."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest
from aiohttp.http_exceptions import BadHttpMessage

from shared.logs import REQUEST_ID, ClientMistakeFilter, logging_config, well_formed
from shared.settings import ConfigurationError


def configured(monkeypatch: pytest.MonkeyPatch, fmt: str) -> io.StringIO:
    monkeypatch.setenv("LOG_FORMAT", fmt)
    config = logging_config("files")
    stream = io.StringIO()
    config["handlers"]["stderr"]["stream"] = stream
    logging.config.dictConfig(config)
    return stream


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_service_level_logger_time_and_request_id(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = configured(monkeypatch, "json")
    reset = REQUEST_ID.set("req-1")
    try:
        logging.getLogger("shared.test").warning("disk at %d%%", 91)
    finally:
        REQUEST_ID.reset(reset)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert {k: line[k] for k in ("level", "logger", "message", "service", "request_id")} == {
        "level": "WARNING",
        "logger": "shared.test",
        "message": "disk at 91%",
        "service": "files",
        "request_id": "req-1",
    }
    assert line["time"].startswith("20") and "T" in line["time"]


def test_text_lines_name_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = configured(monkeypatch, "text")
    logging.getLogger("shared.test").warning("outside any request")
    assert stream.getvalue().rstrip().endswith("files WARNING shared.test [-]: outside any request")


def test_unknown_format_or_level_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigurationError, match="LOG_FORMAT"):
        logging_config("auth")
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    with pytest.raises(ConfigurationError, match="LOG_LEVEL"):
        logging_config("auth")


def test_a_parser_error_record_loses_its_traceback_and_the_bytes() -> None:
    try:
        raise BadHttpMessage("Invalid header value char: b'Authorization: Basic c2VjcmV0\\x01'")
    except BadHttpMessage as exc:
        record = logging.LogRecord("aiohttp.server", logging.ERROR, "", 0, "Error handling request", (), None)
        record.exc_info = (type(exc), exc, exc.__traceback__)
    assert ClientMistakeFilter().filter(record)
    assert (record.levelname, record.exc_info, record.getMessage()) == (
        "INFO",
        None,
        "malformed request refused (400 BadHttpMessage)",
    )


@pytest.mark.parametrize(
    ("value", "kept"),
    [("abc-123", True), ("a" * 128, True), ("a" * 129, False), ("a b", False), ("", False), ("é", False)],
)
def test_which_request_ids_are_kept(value: str, kept: bool) -> None:
    assert (well_formed(value) == value) is kept
