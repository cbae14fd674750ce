"""PATCH /files/:id (rename, move) and DELETE /files/:id (a file with its bytes, a folder with its subtree)."""

import pytest

from tests.api.test_thumbnails import wait_for_state
from tests.conftest import Api
from tests.support.direct import DirectStore
from tests.support.images import image_bytes
from tests.support.stack import Stack


async def test_rename_and_move_a_file(api: Api, store: DirectStore) -> None:
    _, token = await api.new_user()
    folder = await api.upload(token, "docs", "folder")
    view = await api.upload(token, "a.txt", "file", b"x")
    status, body, _ = await api.call("PATCH", f"/files/{view['id']}", token=token, json={"name": "b.txt"})
    assert status == 200 and body["name"] == "b.txt" and body["parentId"] == 0
    status, body, _ = await api.call("PATCH", f"/files/{view['id']}", token=token, json={"parentId": folder["id"]})
    assert status == 200 and body["parentId"] == folder["id"] and body["name"] == "b.txt"
    [doc] = store.files(id=view["id"])
    assert doc["name"] == "b.txt" and doc["parentId"] == folder["id"]
    _, listing, _ = await api.call("GET", f"/files?parentId={folder['id']}", token=token)
    assert [v["id"] for v in listing] == [view["id"]]
    status, body, _ = await api.call("PATCH", f"/files/{view['id']}", token=token, json={"parentId": "0"})
    assert status == 200 and body["parentId"] == 0 and store.files(id=view["id"])[0]["parentId"] == 0
    status, body, _ = await api.call("GET", f"/files/{view['id']}/data", token=token)
    assert (status, body) == (200, b"x")  # bytes stay where they are


async def test_a_folder_never_moves_into_itself_or_its_subtree(api: Api, store: DirectStore) -> None:
    _, token = await api.new_user()
    top = await api.upload(token, "top", "folder")
    mid = await api.upload(token, "mid", "folder", parentId=top["id"])
    low = await api.upload(token, "low", "folder", parentId=mid["id"])
    for target in (top["id"], mid["id"], low["id"]):
        status, body, _ = await api.call("PATCH", f"/files/{top['id']}", token=token, json={"parentId": target})
        assert (status, body) == (409, {"error": "Cannot move a folder into itself or its subtree"})
    assert store.files(id=top["id"])[0]["parentId"] == 0
    status, body, _ = await api.call("PATCH", f"/files/{low['id']}", token=token, json={"parentId": 0})
    assert status == 200 and body["parentId"] == 0


@pytest.mark.parametrize(
    ("payload", "status", "error"),
    [
        ({}, 400, "Nothing to update"),
        ({"name": ""}, 400, "Missing name"),
        ({"name": {"$set": "x"}}, 400, "Invalid name"),
        ({"name": "a\x00b"}, 400, "Invalid name"),
        ({"parentId": "5f1e7cda04a394508232559d"}, 400, "Parent not found"),
        ({"parentId": ["0"]}, 400, "Parent not found"),
        ({"owner": "someone"}, 400, "Unknown field: owner"),
    ],
)
async def test_patch_refusals_change_nothing(
    api: Api, store: DirectStore, payload: dict, status: int, error: str
) -> None:
    _, token = await api.new_user()
    view = await api.upload(token, "keep.txt", "file", b"x")
    got, body, _ = await api.call("PATCH", f"/files/{view['id']}", token=token, json=payload)
    assert (got, body) == (status, {"error": error})
    [doc] = store.files(id=view["id"])
    assert doc["name"] == "keep.txt" and doc["parentId"] == 0


async def test_move_into_a_file_or_another_users_folder(api: Api) -> None:
    _, alice = await api.new_user()
    _, bob = await api.new_user()
    afile = await api.upload(alice, "f.txt", "file", b"x")
    mine = await api.upload(alice, "m.txt", "file", b"y")
    theirs = await api.upload(bob, "bobs", "folder")
    status, body, _ = await api.call("PATCH", f"/files/{mine['id']}", token=alice, json={"parentId": afile["id"]})
    assert (status, body) == (400, {"error": "Parent is not a folder"})
    status, body, _ = await api.call("PATCH", f"/files/{mine['id']}", token=alice, json={"parentId": theirs["id"]})
    assert (status, body) == (400, {"error": "Parent not found"})


async def test_another_users_ids_are_not_found(api: Api, store: DirectStore, stack: Stack) -> None:
    _, alice = await api.new_user()
    _, bob = await api.new_user()
    view = await api.upload(alice, "secret.txt", "file", b"s")
    for method, payload in (("PATCH", {"name": "pwned"}), ("DELETE", None)):
        status, body, _ = await api.call(method, f"/files/{view['id']}", token=bob, json=payload)
        assert (status, body) == (404, {"error": "Not found"})
    [doc] = store.files(id=view["id"])
    assert doc["name"] == "secret.txt" and stack.blobs.exists(doc["localPath"])
    for file_id in ("nope", "5f1e7cda04a394508232559d"):
        status, body, _ = await api.call("DELETE", f"/files/{file_id}", token=alice)
        assert (status, body) == (404, {"error": "Not found"})
    status, body, _ = await api.call("DELETE", f"/files/{view['id']}")
    assert (status, body) == (401, {"error": "Unauthorized"})


async def test_delete_a_file_removes_its_bytes_and_thumbnails(api: Api, store: DirectStore, stack: Stack) -> None:
    _, token = await api.new_user()
    view = await api.upload(token, "pic.png", "image", image_bytes(80, 40))
    await wait_for_state(store, view["id"], "ready")
    local = store.files(id=view["id"])[0]["localPath"]
    assert all(stack.blobs.exists(local + s) for s in ("", "_500", "_250", "_100"))
    status, body, _ = await api.call("DELETE", f"/files/{view['id']}", token=token)
    assert (status, body) == (204, b"")
    assert store.files(id=view["id"]) == []
    assert not any(stack.blobs.exists(local + s) for s in ("", "_500", "_250", "_100"))
    status, body, _ = await api.call("GET", f"/files/{view['id']}", token=token)
    assert (status, body) == (404, {"error": "Not found"})


async def test_delete_a_folder_removes_the_whole_subtree(api: Api, store: DirectStore, stack: Stack) -> None:
    _, token = await api.new_user()
    top = await api.upload(token, "top", "folder")
    sub = await api.upload(token, "sub", "folder", parentId=top["id"])
    files = [
        await api.upload(token, f"f{i}.txt", "file", b"%d" % i, parentId=parent["id"])
        for i, parent in enumerate((top, sub, sub))
    ]
    sibling = await api.upload(token, "stays.txt", "file", b"keep")
    paths = [store.files(id=f["id"])[0]["localPath"] for f in files]
    status, _, _ = await api.call("DELETE", f"/files/{top['id']}", token=token)
    assert status == 204
    remaining = {d["id"] for d in store.files()}
    assert not remaining & {top["id"], sub["id"], *(f["id"] for f in files)}
    assert sibling["id"] in remaining
    assert not any(stack.blobs.exists(p) for p in paths)
    status, body, _ = await api.call("GET", f"/files/{sibling['id']}/data", token=token)
    assert (status, body) == (200, b"keep")
