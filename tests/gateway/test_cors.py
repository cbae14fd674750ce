"""CORS at the gateway, in front of the real auth and files apps: off by default; with allowed origins,
preflights are answered before any token is looked at, and answers (errors too) carry the headers."""

from __future__ import annotations

import pytest

from services.gateway.cors import parse_origins
from shared.settings import ConfigurationError
from tests.gateway.conftest import Trio, new_user

APP = "https://app.example.com"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-token"}


@pytest.fixture
def allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f"{APP}, http://localhost:3000")


async def test_without_allowed_origins_there_is_no_cors(trio: Trio) -> None:
    response = await trio.gateway.options("/files", headers=PREFLIGHT)
    assert response.status == 401
    assert "Access-Control-Allow-Origin" not in response.headers
    response = await trio.gateway.get("/status", headers={"Origin": APP})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_a_preflight_is_answered_before_authentication(allowed: None, trio: Trio) -> None:
    response = await trio.gateway.options("/files", headers=PREFLIGHT)
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert "x-token" in response.headers["Access-Control-Allow-Headers"].lower().split(", ")
    assert "POST" in response.headers["Access-Control-Allow-Methods"].split(", ")
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in response.headers["Vary"]


async def test_answers_and_errors_carry_the_headers_for_allowed_origins_only(allowed: None, trio: Trio) -> None:
    _, token = await new_user(trio.gateway)
    ok = await trio.gateway.get("/files", headers={"Origin": APP, "X-Token": token})
    assert ok.status == 200 and ok.headers["Access-Control-Allow-Origin"] == APP
    assert "X-Request-Id" in ok.headers["Access-Control-Expose-Headers"]
    refused = await trio.gateway.get("/files", headers={"Origin": APP})
    assert (refused.status, await refused.json()) == (401, {"error": "Unauthorized"})
    assert refused.headers["Access-Control-Allow-Origin"] == APP
    other = await trio.gateway.get("/files", headers={"Origin": "https://evil.example", "X-Token": token})
    assert other.status == 200 and "Access-Control-Allow-Origin" not in other.headers
    assert "Access-Control-Allow-Credentials" not in ok.headers  # tokens travel in a header, never cookies


@pytest.mark.parametrize("raw", ["app.example.com", "https://app.example.com/", "ftp://x.y", "https://a.b/path"])
def test_malformed_origins_are_refused_at_start_up(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="CORS_ALLOWED_ORIGINS"):
        parse_origins(raw)


def test_origins_are_parsed() -> None:
    assert parse_origins("") == ()
    assert parse_origins("*") == ("*",)
    assert parse_origins(" https://a.example , http://localhost:8080 ") == (
        "https://a.example",
        "http://localhost:8080",
    )
