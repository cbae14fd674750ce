"""Data of an existing original deployment works untouched."""

import uuid

import pytest

from tests.conftest import Api
from tests.support.direct import DirectStore
from tests.support.stack import Stack


async def legacy_file(api: Api, store: DirectStore, stack: Stack) -> tuple[str, str]:
    """(token, file id) of a user's file as an original deployment wrote it: no isPublic, parentId "0",
    none of our additions, its bytes at its own localPath."""
    user_id, token = await api.new_user()
    stack.folder.mkdir(parents=True, exist_ok=True)
    local = stack.folder / str(uuid.uuid4())
    local.write_bytes(b"written by the original")
    return token, store.insert_file(user_id, "old.txt", "file", parent_id="0", local_path=str(local))


async def test_documents_without_is_public_and_string_root_download_by_owner_only(
    api: Api, store: DirectStore, stack: Stack
) -> None:
    token, file_id = await legacy_file(api, store, stack)
    status, body, _ = await api.call("GET", f"/files/{file_id}/data", token=token)
    assert (status, body) == (200, b"written by the original")
    status, body, _ = await api.call("GET", f"/files/{file_id}/data")
    assert (status, body) == (404, {"error": "Not found"})
    status, body, _ = await api.call("GET", f"/files/{file_id}", token=token)
    assert status == 200 and body["parentId"] == "0" and body["isPublic"] is False
    status, body, _ = await api.call("PUT", f"/files/{file_id}/publish", token=token)
    assert status == 200 and body["isPublic"] is True and body["parentId"] == "0"


async def test_users_without_password_cannot_log_in_and_count_in_stats(api: Api, store: DirectStore) -> None:
    import base64

    email = f"bare-{uuid.uuid4().hex[:6]}@x.y"
    store.insert_user(email)
    creds = base64.b64encode(f"{email}:anything".encode()).decode()
    status, body, _ = await api.call("GET", "/connect", headers={"Authorization": f"Basic {creds}"})
    assert (status, body) == (401, {"error": "Unauthorized"})


@pytest.mark.engines
def test_mongodb_indexes(store: DirectStore) -> None:
    users = store.mongo["users"].index_information()
    files = store.mongo["files"].index_information()
    assert any(info.get("unique") and info["key"] == [("email", 1)] for info in users.values())
    assert any(info["key"] == [("userId", 1), ("parentId", 1), ("_id", 1)] for info in files.values())


async def test_documents_of_an_original_deployment_come_back_without_nulls(
    api: Api, store: DirectStore, stack: Stack
) -> None:
    token, file_id = await legacy_file(api, store, stack)
    status, view, _ = await api.call("GET", f"/files/{file_id}", token=token)
    assert status == 200
    assert None not in view.values(), view
    assert list(view)[:6] == ["id", "userId", "name", "type", "isPublic", "parentId"]
    assert view["mimeType"] == "text/plain"
