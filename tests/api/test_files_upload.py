"""POST /files: the order of checks, the parentId rules, the flat layout, nothing written on error."""

import base64
import uuid
from pathlib import Path

import pytest

from tests.conftest import Api, entries
from tests.support.direct import DirectStore
from tests.support.stack import Stack


async def test_file_upload_writes_one_flat_file_and_the_document(api: Api, stack: Stack, store: DirectStore) -> None:
    user_id, token = await api.new_user()
    before = entries(stack)
    content = bytes(range(256)) * 10  # binary, not text: bytes must survive exactly
    view = await api.upload(token, "myText.txt", "file", content)
    # The seed's six fields with their exact meaning; additive fields are allowed, internals never shown.
    assert {"id", "userId", "name", "type", "isPublic", "parentId"} <= set(view)
    assert "localPath" not in view and "_id" not in view
    assert view["userId"] == user_id and view["name"] == "myText.txt" and view["type"] == "file"
    assert view["isPublic"] is False and view["parentId"] == 0
    added = entries(stack) - before
    assert len(added) == 1
    [name] = added
    uuid.UUID(name, version=4)
    assert stack.blobs.read(name) == content
    [doc] = store.files(id=view["id"])
    assert doc["localPath"] == stack.blobs.location(name)
    if stack.blobs.bucket is None:
        assert Path(doc["localPath"]).is_absolute()
        assert all(p.is_file() for p in stack.folder.iterdir())  # never a sub-directory
    assert doc["parentId"] == 0 and doc["userId"] == user_id


async def test_folder_upload_writes_no_bytes(api: Api, stack: Stack, store: DirectStore) -> None:
    _, token = await api.new_user()
    before = entries(stack)
    view = await api.upload(token, "images", "folder", isPublic=True)
    assert view["type"] == "folder" and view["isPublic"] is True and view["parentId"] == 0
    assert entries(stack) == before
    [doc] = store.files(id=view["id"])
    assert doc["localPath"] is None


async def test_child_upload_echoes_the_parent_id_as_sent(api: Api, store: DirectStore) -> None:
    _, token = await api.new_user()
    folder = await api.upload(token, "images", "folder")
    child = await api.upload(token, "a.txt", "file", b"x", parentId=folder["id"])
    assert child["parentId"] == folder["id"]
    [doc] = store.files(id=child["id"])
    assert doc["parentId"] == folder["id"]
    if store.backends.real:
        from bson import ObjectId

        assert isinstance(doc["raw"]["parentId"], ObjectId) and isinstance(doc["raw"]["userId"], ObjectId)


@pytest.mark.parametrize("root", [0, "0", None])
async def test_root_parent_spellings_store_the_number_zero(api: Api, store: DirectStore, root: object) -> None:
    _, token = await api.new_user()
    payload: dict = {"name": "r", "type": "folder"}
    if root is not None:
        payload["parentId"] = root
    status, body, _ = await api.call("POST", "/files", token=token, json=payload)
    assert status == 201 and body["parentId"] == 0
    assert store.files(id=body["id"])[0]["parentId"] == 0


B64 = base64.b64encode(b"hi").decode()


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"type": "file", "data": B64}, "Missing name"),
        ({"name": "", "type": "file", "data": B64}, "Missing name"),
        ({"name": "a"}, "Missing type"),
        ({"name": "a", "type": "document", "data": B64}, "Missing type"),
        ({"name": "a", "type": "file"}, "Missing data"),
        ({"name": "a", "type": "image", "data": ""}, "Missing data"),
        ({"name": "a", "type": "file", "data": B64, "parentId": "5f1e7cda04a394508232559d"}, "Parent not found"),
        ({"name": "a", "type": "file", "data": B64, "parentId": "not-an-id"}, "Parent not found"),
        ({"name": "a", "type": "file", "data": B64, "parentId": 12}, "Parent not found"),
        # check order: name before type before data before parent
        ({"type": "nope", "parentId": "bad"}, "Missing name"),
        ({"name": "a", "type": "nope", "parentId": "bad"}, "Missing type"),
        ({"name": "a", "type": "file", "parentId": "bad"}, "Missing data"),
    ],
)
async def test_upload_errors_in_order_write_nothing(
    api: Api, stack: Stack, store: DirectStore, payload: dict, error: str
) -> None:
    _, token = await api.new_user()
    files_before, disk_before = len(store.files()), entries(stack)
    status, body, _ = await api.call("POST", "/files", token=token, json=payload)
    assert (status, body) == (400, {"error": error})
    assert len(store.files()) == files_before
    assert entries(stack) == disk_before


async def test_unauthorized_comes_before_any_body_check(api: Api, store: DirectStore) -> None:
    before = len(store.files())
    for token in (None, "bogus"):
        status, body, _ = await api.call("POST", "/files", token=token, json={"type": "bad"})
        assert (status, body) == (401, {"error": "Unauthorized"})
    status, body, _ = await api.call("POST", "/files", token="bogus", data=b"{not json")
    assert (status, body) == (401, {"error": "Unauthorized"})
    assert len(store.files()) == before


async def test_parent_that_is_a_file_or_the_users_own_id(api: Api, store: DirectStore) -> None:
    user_id, token = await api.new_user()
    afile = await api.upload(token, "f.txt", "file", b"x")
    status, body, _ = await api.call(
        "POST", "/files", token=token, json={"name": "a", "type": "folder", "parentId": afile["id"]}
    )
    assert (status, body) == (400, {"error": "Parent is not a folder"})
    status, body, _ = await api.call(
        "POST", "/files", token=token, json={"name": "a", "type": "folder", "parentId": user_id}
    )
    assert (status, body) == (400, {"error": "Parent not found"})


async def test_another_users_folder_is_not_a_parent(api: Api, store: DirectStore) -> None:
    _, alice = await api.new_user()
    _, bob = await api.new_user()
    folder = await api.upload(alice, "shared?", "folder")
    before = len(store.files())
    status, body, _ = await api.call(
        "POST", "/files", token=bob, json={"name": "intruder", "type": "folder", "parentId": folder["id"]}
    )
    assert (status, body) == (400, {"error": "Parent not found"})
    assert len(store.files()) == before


async def test_image_upload_keeps_bytes_exactly(api: Api, stack: Stack, store: DirectStore) -> None:
    _, token = await api.new_user()
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    view = await api.upload(token, "x.png", "image", content)
    [doc] = store.files(id=view["id"])
    assert stack.blobs.read(doc["localPath"]) == content
