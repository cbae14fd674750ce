"""Auth's routes in process, on its real embedded store: the contract's answers and its error paths."""

from __future__ import annotations

import base64

from tests.support.inprocess import Signed

ALICE = {"email": "alice@example.com", "password": "toto1234!"}


def basic(email: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


async def sign_up_and_log_in(auth: Signed) -> tuple[str, str]:
    status, user, _ = await auth.call("POST", "/users", json=ALICE)
    assert status == 201, user
    status, body, _ = await auth.call("GET", "/connect", headers=basic(ALICE["email"], ALICE["password"]))
    assert status == 200, body
    return user["id"], body["token"]


async def test_sign_up_log_in_me_log_out(auth_service: Signed) -> None:
    user_id, token = await sign_up_and_log_in(auth_service)
    assert len(user_id) == 24
    status, me, _ = await auth_service.call("GET", "/users/me", user_id)
    assert (status, me) == (200, {"id": user_id, "email": ALICE["email"]})
    status, _, _ = await auth_service.call("GET", "/disconnect", user_id, headers={"X-Token": token})
    assert status == 204
    # The token is gone: logging out with it again is refused.
    status, body, _ = await auth_service.call("GET", "/disconnect", user_id, headers={"X-Token": token})
    assert (status, body) == (401, {"error": "Unauthorized"})


async def test_sign_up_errors_in_the_contracts_order(auth_service: Signed) -> None:
    cases = [
        ({}, "Missing email"),
        ({"password": "x"}, "Missing email"),
        ({"email": "a@b.c"}, "Missing password"),
        ({"email": ["a@b.c"], "password": "x"}, "Invalid email"),
        ({"email": {"$gt": ""}, "password": "x"}, "Invalid email"),
        ({"email": "a@b.c", "password": 12}, "Invalid password"),
    ]
    for body, error in cases:
        status, answer, _ = await auth_service.call("POST", "/users", json=body)
        assert (status, answer) == (400, {"error": error}), body
    for raw in (b"not json", b"[1, 2]", b'"text"'):
        status, answer, _ = await auth_service.call(
            "POST", "/users", data=raw, headers={"Content-Type": "application/json"}
        )
        assert status == 400 and set(answer) == {"error"}, raw
    await sign_up_and_log_in(auth_service)
    status, answer, _ = await auth_service.call("POST", "/users", json=ALICE)
    assert (status, answer) == (400, {"error": "Already exist"})
    status, count, _ = await auth_service.call("GET", "/internal/stats")
    assert (status, count) == (200, {"users": 1})  # nothing written by any refused request


async def test_log_in_refusals(auth_service: Signed) -> None:
    await sign_up_and_log_in(auth_service)
    for headers in (
        basic(ALICE["email"], "wrong"),
        basic("nobody@example.com", ALICE["password"]),
        {"Authorization": "Basic !!!"},
        {"Authorization": "Bearer abc"},
        {},
    ):
        status, body, _ = await auth_service.call("GET", "/connect", headers=headers)
        assert (status, body) == (401, {"error": "Unauthorized"}), headers


async def test_me_and_log_out_need_a_caller_and_the_callers_own_token(auth_service: Signed) -> None:
    user_id, token = await sign_up_and_log_in(auth_service)
    status, body, _ = await auth_service.call("GET", "/users/me")
    assert (status, body) == (401, {"error": "Unauthorized"})
    status, body, _ = await auth_service.call("GET", "/users/me", "5f1e7cda04a394508232559d")  # no such user
    assert (status, body) == (401, {"error": "Unauthorized"})
    other = "5f1e7cda04a394508232559e"
    status, body, _ = await auth_service.call("GET", "/disconnect", other, headers={"X-Token": token})
    assert (status, body) == (401, {"error": "Unauthorized"})
    status, _, _ = await auth_service.call("GET", "/users/me", user_id)
    assert status == 200  # the token survived the refused log-out


async def test_unsigned_or_forged_calls_are_refused(auth_service: Signed) -> None:
    async with auth_service.client.get("/internal/stats") as response:
        assert response.status == 401 and await response.json() == {"error": "Unauthorized"}
    forged = {"X-FM-User": "", "X-FM-Timestamp": "1", "X-FM-Signature": "0" * 64}
    async with auth_service.client.get("/internal/stats", headers=forged) as response:
        assert response.status == 401
    async with auth_service.client.get("/readyz") as response:
        report = await response.json()
        assert response.status == 200
        assert report["checks"] == {"metadata": True, "tokens": True, "jobs": True, "consumer": True}
