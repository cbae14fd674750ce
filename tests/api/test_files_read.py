"""GET /files/:id, GET /files (pagination, parent filters), PUT publish/unpublish."""

import pytest

from tests.conftest import Api
from tests.support.direct import DirectStore

SEED_FIELDS = ("id", "userId", "name", "type", "isPublic", "parentId")


def seed(view: dict) -> dict:
    """The contract's six fields (views may carry additive ones, such as updatedAt)."""
    return {key: view[key] for key in SEED_FIELDS}


async def test_show_returns_the_owners_file(api: Api) -> None:
    user_id, token = await api.new_user()
    view = await api.upload(token, "a.txt", "file", b"x")
    status, body, _ = await api.call("GET", f"/files/{view['id']}", token=token)
    assert (status, body) == (200, view)


@pytest.mark.parametrize("file_id", ["_121", "5f1e7cda04a394508232559d", "zz" * 12, "a" * 25, "é" * 24])
async def test_show_unknown_or_malformed_ids_are_not_found(api: Api, file_id: str) -> None:
    _, token = await api.new_user()
    status, body, _ = await api.call("GET", f"/files/{file_id}", token=token)
    assert (status, body) == (404, {"error": "Not found"})


async def test_show_and_publish_need_a_token(api: Api) -> None:
    _, token = await api.new_user()
    view = await api.upload(token, "a.txt", "file", b"x")
    for method, path in (
        ("GET", f"/files/{view['id']}"),
        ("GET", "/files"),
        ("PUT", f"/files/{view['id']}/publish"),
        ("PUT", f"/files/{view['id']}/unpublish"),
    ):
        status, body, _ = await api.call(method, path, token="nope")
        assert (status, body) == (401, {"error": "Unauthorized"}), path


async def test_another_users_file_is_not_found_everywhere(api: Api, store: DirectStore) -> None:
    _, alice = await api.new_user()
    _, bob = await api.new_user()
    view = await api.upload(alice, "a.txt", "file", b"x")
    for method, path in (
        ("GET", f"/files/{view['id']}"),
        ("PUT", f"/files/{view['id']}/publish"),
        ("PUT", f"/files/{view['id']}/unpublish"),
    ):
        status, body, _ = await api.call(method, path, token=bob)
        assert (status, body) == (404, {"error": "Not found"})
    assert store.files(id=view["id"])[0]["isPublic"] is False


async def test_pagination_twenty_per_page(api: Api) -> None:
    _, token = await api.new_user()
    ids = [(await api.upload(token, f"folder{i}", "folder"))["id"] for i in range(25)]
    _, page0, _ = await api.call("GET", "/files", token=token)
    _, page0_explicit, _ = await api.call("GET", "/files?page=0", token=token)
    _, page1, _ = await api.call("GET", "/files?page=1", token=token)
    _, page10, _ = await api.call("GET", "/files?page=10", token=token)
    _, junk, _ = await api.call("GET", "/files?page=abc", token=token)
    assert len(page0) == 20 and len(page1) == 5 and page10 == []
    assert page0 == page0_explicit == junk
    assert [v["id"] for v in page0 + page1] == ids  # stable insertion order, complete
    assert all(v["parentId"] == 0 for v in page0)


async def test_list_filters_by_parent_and_owner(api: Api) -> None:
    _, token = await api.new_user()
    _, other = await api.new_user()
    folder = await api.upload(token, "images", "folder")
    inside = await api.upload(token, "in.txt", "file", b"x", parentId=folder["id"])
    outside = await api.upload(token, "out.txt", "file", b"x")
    await api.upload(other, "theirs.txt", "file", b"x")
    _, root, _ = await api.call("GET", "/files", token=token)
    assert {v["id"] for v in root} == {folder["id"], outside["id"]}
    _, children, _ = await api.call("GET", f"/files?parentId={folder['id']}", token=token)
    assert children == [inside]
    _, root0, _ = await api.call("GET", "/files?parentId=0", token=token)
    assert {v["id"] for v in root0} == {folder["id"], outside["id"]}
    _, theirs, _ = await api.call("GET", f"/files?parentId={folder['id']}", token=other)
    assert theirs == []


@pytest.mark.parametrize("parent", ["5f1e7cda04a394508232559d", "garbage", '{"$gt":""}'])
async def test_list_unknown_parent_is_empty(api: Api, parent: str) -> None:
    _, token = await api.new_user()
    await api.upload(token, "f", "folder")
    status, body, _ = await api.call("GET", "/files", token=token, params={"parentId": parent})
    assert (status, body) == (200, [])


async def test_list_echoes_string_zero_parent_as_stored(api: Api, store: DirectStore) -> None:
    user_id, token = await api.new_user()
    ids = [store.insert_file(user_id, f"g{i}", "folder", parent_id="0") for i in range(22)]
    _, page0, _ = await api.call("GET", "/files?page=0", token=token)
    _, page1, _ = await api.call("GET", "/files?page=1", token=token)
    items = page0 + page1
    assert [v["id"] for v in items] == ids
    assert all(v["parentId"] == "0" for v in items)
    assert all(v["isPublic"] is False for v in items)  # documents without isPublic read as false


async def test_publish_and_unpublish(api: Api, store: DirectStore) -> None:
    user_id, token = await api.new_user()
    view = await api.upload(token, "a.txt", "file", b"x")
    for _ in range(2):  # publishing twice is fine
        status, body, _ = await api.call("PUT", f"/files/{view['id']}/publish", token=token)
        assert status == 200 and seed(body) == {**seed(view), "isPublic": True}
    assert store.files(id=view["id"])[0]["isPublic"] is True
    status, body, _ = await api.call("PUT", f"/files/{view['id']}/unpublish", token=token)
    assert status == 200 and seed(body) == {**seed(view), "isPublic": False}
    assert store.files(id=view["id"])[0]["isPublic"] is False
    status, body, _ = await api.call("PUT", "/files/nope/publish", token=token)
    assert (status, body) == (404, {"error": "Not found"})
