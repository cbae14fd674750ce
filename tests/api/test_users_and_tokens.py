"""POST /users, GET /connect, GET /disconnect, GET /users/me."""

import base64
import re
import uuid

import pytest

from tests.conftest import Api
from tests.support.direct import DirectStore, sha1
from tests.support.inprocess import eventually
from tests.support.stack import Stack

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\Z")


def basic(text: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


async def test_sign_up_creates_the_user_with_an_argon2id_hash(api: Api, store: DirectStore) -> None:
    email = f"{uuid.uuid4().hex[:8]}@dylan.com"
    status, body, _ = await api.call("POST", "/users", json={"email": email, "password": "toto1234!"})
    assert status == 201
    assert set(body) == {"id", "email"} and body["email"] == email
    [doc] = store.users(email=email)
    assert doc["id"] == body["id"]
    assert doc["password"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "toto1234!" not in doc["password"]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"password": "x"}, "Missing email"),
        ({"email": "", "password": "x"}, "Missing email"),
        ({"email": "only@email.com"}, "Missing password"),
        ({"email": "only@email.com", "password": ""}, "Missing password"),
        ({}, "Missing email"),
    ],
)
async def test_sign_up_errors_write_nothing(api: Api, store: DirectStore, payload: dict, error: str) -> None:
    before = len(store.users())
    status, body, _ = await api.call("POST", "/users", json=payload)
    assert (status, body) == (400, {"error": error})
    assert len(store.users()) == before


async def test_sign_up_twice_is_already_exist(api: Api, store: DirectStore) -> None:
    _, email = await api.sign_up()
    status, body, _ = await api.call("POST", "/users", json={"email": email, "password": "other"})
    assert (status, body) == (400, {"error": "Already exist"})
    assert len(store.users(email=email)) == 1


async def test_sign_up_enqueues_the_welcome_job(api: Api, stack: Stack) -> None:
    _, email = await api.sign_up()

    async def welcomed() -> bool:
        return f"Welcome {email}!" in stack.log("auth")

    await eventually(welcomed, timeout=10)


async def test_connect_issues_a_uuid4_token_kept_24_hours(api: Api, store: DirectStore) -> None:
    user_id, email = await api.sign_up()
    status, body, _ = await api.call("GET", "/connect", headers=basic(f"{email}:toto1234!"))
    assert status == 200 and set(body) == {"token"}
    assert UUID4.match(body["token"])
    value, ttl = store.token(body["token"])
    assert value == user_id
    assert ttl is not None and 86300 < ttl <= 86400


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer abc",
        "Basic aGVsbG8=",
        "Basic !!!notbase64",
        "Basic ",
        "basic",
    ],
)
async def test_connect_refuses_malformed_credentials(api: Api, store: DirectStore, header: str | None) -> None:
    before = store.count_tokens()
    headers = {"Authorization": header} if header is not None else {}
    status, body, _ = await api.call("GET", "/connect", headers=headers)
    assert (status, body) == (401, {"error": "Unauthorized"})
    assert store.count_tokens() == before


async def test_connect_refuses_wrong_password_and_unknown_user(api: Api, store: DirectStore) -> None:
    _, email = await api.sign_up()
    before = store.count_tokens()
    for creds in (f"{email}:wrong", f"nobody-{uuid.uuid4().hex}@x.y:toto1234!"):
        status, body, _ = await api.call("GET", "/connect", headers=basic(creds))
        assert (status, body) == (401, {"error": "Unauthorized"})
    assert store.count_tokens() == before


async def test_password_is_split_at_the_first_colon(api: Api) -> None:
    _, email = await api.sign_up(password="pa:ss:word")
    status, body, _ = await api.call("GET", "/connect", headers=basic(f"{email}:pa:ss:word"))
    assert status == 200 and "token" in body


async def test_legacy_sha1_user_logs_in_and_is_upgraded(api: Api, store: DirectStore) -> None:
    email = f"legacy-{uuid.uuid4().hex[:8]}@x.y"
    store.insert_user(email, sha1("toto1234!"))
    status, body, _ = await api.call("GET", "/connect", headers=basic(f"{email}:toto1234!"))
    assert status == 200, body
    [doc] = store.users(email=email)
    assert doc["password"].startswith("$argon2id$")
    status, body, _ = await api.call("GET", "/connect", headers=basic(f"{email}:toto1234!"))
    assert status == 200, body


async def test_legacy_sha1_user_with_wrong_password_keeps_its_hash(api: Api, store: DirectStore) -> None:
    email = f"legacy-{uuid.uuid4().hex[:8]}@x.y"
    store.insert_user(email, sha1("toto1234!").upper())
    status, _, _ = await api.call("GET", "/connect", headers=basic(f"{email}:nope"))
    assert status == 401
    assert store.users(email=email)[0]["password"] == sha1("toto1234!").upper()


async def test_users_me_and_disconnect(api: Api, store: DirectStore) -> None:
    user_id, email = await api.sign_up()
    token = await api.log_in(email)
    other = await api.log_in(email)
    status, body, _ = await api.call("GET", "/users/me", token=token)
    assert (status, body) == (200, {"id": user_id, "email": email})
    status, body, response = await api.call("GET", "/disconnect", token=token)
    assert status == 204 and body == b""
    assert store.token(token)[0] is None
    assert store.token(other)[0] == user_id  # other keys stay untouched
    status, body, _ = await api.call("GET", "/users/me", token=token)
    assert (status, body) == (401, {"error": "Unauthorized"})


@pytest.mark.parametrize("token", [None, "", "not-a-token", str(uuid.uuid4()), "x" * 5000])
async def test_bad_tokens_are_unauthorized(api: Api, store: DirectStore, token: str | None) -> None:
    before = store.count_tokens()
    for path in ("/users/me", "/disconnect"):
        status, body, _ = await api.call("GET", path, token=token)
        assert (status, body) == (401, {"error": "Unauthorized"})
    assert store.count_tokens() == before


async def test_tokens_written_by_hand_without_ttl_work(api: Api, store: DirectStore) -> None:
    user_id, email = await api.sign_up()
    token = str(uuid.uuid4())
    store.set_token(token, user_id)
    status, body, _ = await api.call("GET", "/users/me", token=token)
    assert (status, body) == (200, {"id": user_id, "email": email})


async def test_token_of_a_missing_user_or_a_non_objectid_is_unauthorized(api: Api, store: DirectStore) -> None:
    ghost, junk = str(uuid.uuid4()), str(uuid.uuid4())
    store.set_token(ghost, "5f1e7cda04a394508232559d")
    store.set_token(junk, "not-an-object-id")
    for token in (ghost, junk):
        status, body, _ = await api.call("GET", "/users/me", token=token)
        assert (status, body) == (401, {"error": "Unauthorized"})


async def test_repeated_wrong_passwords_are_throttled_through_the_gateway(api: Api, store: DirectStore) -> None:
    """The shipped limit: 10 failed logins of one account in 15 minutes, then 429 with Retry-After, even
    for the right password; no token is issued meanwhile."""
    _, email = await api.sign_up()
    for _ in range(10):
        status, body, _ = await api.call("GET", "/connect", headers=basic(f"{email}:wrong"))
        assert (status, body) == (401, {"error": "Unauthorized"})
    tokens = store.count_tokens()
    status, body, response = await api.call("GET", "/connect", headers=basic(f"{email}:toto1234!"))
    assert (status, body) == (429, {"error": "Too many requests"})
    assert 800 < int(response.headers["Retry-After"]) <= 900
    assert store.count_tokens() == tokens
