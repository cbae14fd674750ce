"""Client mistakes get a 4xx with {"error": ...}, change nothing, and never reach a 5xx."""

import base64

import pytest

from tests.conftest import Api, entries
from tests.support.direct import DirectStore
from tests.support.stack import Stack

OK_DATA = base64.b64encode(b"content").decode()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "Malformed JSON"),
        (b"[1, 2]", "JSON body must be an object"),
        (b'"text"', "JSON body must be an object"),
        (b"[" * 20_000 + b"]" * 20_000, "Malformed JSON"),
        (b"\xff\xfe\x00", "Malformed JSON"),
    ],
)
async def test_malformed_bodies(api: Api, store: DirectStore, body: bytes, error: str) -> None:
    _, token = await api.new_user()
    users, files = len(store.users()), len(store.files())
    for path, tok in (("/users", None), ("/files", token)):
        status, response, _ = await api.call(
            "POST", path, token=tok, data=body, headers={"Content-Type": "application/json"}
        )
        assert (status, response) == (400, {"error": error}), path
    assert (len(store.users()), len(store.files())) == (users, files)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"email": {"$ne": None}, "password": "x"}, "Invalid email"),
        ({"email": ["a@b.c"], "password": "x"}, "Invalid email"),
        ({"email": "a@b.c", "password": {"$gt": ""}}, "Invalid password"),
        ({"email": "a@b.c", "password": 12345}, "Invalid password"),
        ({"email": "a\x00@b.c", "password": "x"}, "Invalid email"),
        ({"email": "a" * 400 + "@b.c", "password": "x"}, "Invalid email"),
        ({"email": "a@b.c", "password": "x" * 5000}, "Invalid password"),
    ],
)
async def test_sign_up_wrong_types_and_sizes(api: Api, store: DirectStore, payload: dict, error: str) -> None:
    before = len(store.users())
    status, body, _ = await api.call("POST", "/users", json=payload)
    assert (status, body) == (400, {"error": error})
    assert len(store.users()) == before


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"name": {"$ne": None}, "type": "file", "data": OK_DATA}, "Invalid name"),
        ({"name": ["a"], "type": "file", "data": OK_DATA}, "Invalid name"),
        ({"name": "a\x00.png", "type": "file", "data": OK_DATA}, "Invalid name"),
        ({"name": "x" * 256, "type": "file", "data": OK_DATA}, "Invalid name"),
        ({"name": "   ", "type": "file", "data": OK_DATA}, "Invalid name"),
        ({"name": "a", "type": {"$in": ["file"]}, "data": OK_DATA}, "Missing type"),
        ({"name": "a", "type": "file", "data": {"$ne": None}}, "Invalid data"),
        ({"name": "a", "type": "file", "data": "not base64!!"}, "Invalid data"),
        ({"name": "a", "type": "file", "data": "QUJD="}, "Invalid data"),
        ({"name": "a", "type": "file", "data": "data:text/plain;base64,QUJD"}, "Invalid data"),
        ({"name": "a", "type": "file", "data": "QUJDé"}, "Invalid data"),
        ({"name": "a", "type": "file", "data": OK_DATA, "parentId": {"$gt": ""}}, "Parent not found"),
        ({"name": "a", "type": "file", "data": OK_DATA, "parentId": ["0"]}, "Parent not found"),
        ({"name": "a", "type": "file", "data": OK_DATA, "isPublic": "yes"}, "Invalid isPublic"),
        ({"name": "a", "type": "file", "data": OK_DATA, "isPublic": {"$ne": False}}, "Invalid isPublic"),
    ],
)
async def test_upload_wrong_types_write_nothing(
    api: Api, stack: Stack, store: DirectStore, payload: dict, error: str
) -> None:
    _, token = await api.new_user()
    files_before, disk_before = len(store.files()), entries(stack)
    status, body, _ = await api.call("POST", "/files", token=token, json=payload)
    assert (status, body) == (400, {"error": error})
    assert len(store.files()) == files_before and entries(stack) == disk_before


async def test_names_with_slashes_are_stored_under_generated_ids(api: Api, stack: Stack, store: DirectStore) -> None:
    _, token = await api.new_user()
    view = await api.upload(token, "../../etc/passwd", "file", b"x")
    local = store.files(id=view["id"])[0]["localPath"]
    assert local == stack.blobs.location(local.rsplit("/", 1)[1]) and "passwd" not in local
    assert view["name"] == "../../etc/passwd"


async def test_base64_with_line_breaks_is_accepted(api: Api, store: DirectStore) -> None:
    _, token = await api.new_user()
    content = bytes(range(200))
    wrapped = base64.encodebytes(content).decode()  # 76-column lines, as `base64` prints
    status, body, _ = await api.call(
        "POST", "/files", token=token, json={"name": "w.bin", "type": "file", "data": wrapped}
    )
    assert status == 201
    status, data, _ = await api.call("GET", f"/files/{body['id']}/data", token=token)
    assert data == content


@pytest.mark.parametrize(
    ("page", "status"),
    [("-1", 400), ("99999999999999999999", 400), ("2000000", 400), ("1.5", 200), (" 3", 200), ("٣", 200)],
)
async def test_page_bounds(api: Api, page: str, status: int) -> None:
    _, token = await api.new_user()
    got, body, _ = await api.call("GET", "/files", token=token, params={"page": page})
    assert got == status
    if status == 400:
        assert body == {"error": "Invalid page"}
    else:
        assert isinstance(body, list)


async def test_unknown_routes_and_methods_are_json_errors(api: Api) -> None:
    _, token = await api.new_user()
    status, body, _ = await api.call("GET", "/nowhere")
    assert (status, body) == (404, {"error": "Not found"})
    status, body, _ = await api.call("DELETE", "/status")
    assert status == 405 and body == {"error": "Method not allowed"}
    status, body, _ = await api.call("PATCH", "/users/me", token=token)
    assert status == 405 and body == {"error": "Method not allowed"}


LONE_SURROGATE = "\\ud800"  # valid JSON escape, yet no UTF-8 encoder, store or driver can write it


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("/users", f'{{"email": "a{LONE_SURROGATE}@b.c", "password": "x"}}', "Invalid email"),
        ("/users", f'{{"email": "s@b.c", "password": "{LONE_SURROGATE}"}}', "Invalid password"),
        ("/files", f'{{"name": "{LONE_SURROGATE}", "type": "folder"}}', "Invalid name"),
        ("/files", f'{{"name": "a", "type": "folder", "parentId": "{LONE_SURROGATE}"}}', "Parent not found"),
    ],
)
async def test_unencodable_strings_are_client_mistakes(
    api: Api, store: DirectStore, path: str, body: str, error: str
) -> None:
    _, token = await api.new_user()
    users, files = len(store.users()), len(store.files())
    status, response, _ = await api.call(
        "POST", path, token=token, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert (status, response) == (400, {"error": error})
    assert (len(store.users()), len(store.files())) == (users, files)


async def test_unencodable_strings_in_a_rename_or_move_change_nothing(api: Api, store: DirectStore) -> None:
    _, token = await api.new_user()
    folder = await api.upload(token, "kept", "folder")
    for body, error in (
        (f'{{"name": "{LONE_SURROGATE}"}}', "Invalid name"),
        (f'{{"parentId": "{LONE_SURROGATE}"}}', "Parent not found"),
    ):
        status, response, _ = await api.call(
            "PATCH",
            f"/files/{folder['id']}",
            token=token,
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        assert (status, response) == (400, {"error": error})
    status, shown, _ = await api.call("GET", f"/files/{folder['id']}", token=token)
    assert (status, shown["name"], shown["parentId"]) == (200, "kept", 0)
