"""The tree and the bytes stay right through the gateway: racing requests, a restart mid-delete, damaged bytes."""

from __future__ import annotations

import asyncio
import os
import time

from tests.api.test_outages import until
from tests.conftest import Api
from tests.support.direct import DirectStore
from tests.support.stack import Stack


async def test_crossed_moves_sent_at_once_never_detach_both_folders(api: Api) -> None:
    _, token = await api.new_user()
    for _ in range(10):
        x = await api.upload(token, "x", "folder")
        y = await api.upload(token, "y", "folder")
        (sx, _, _), (sy, _, _) = await asyncio.gather(
            api.call("PATCH", f"/files/{x['id']}", token=token, json={"parentId": y["id"]}),
            api.call("PATCH", f"/files/{y['id']}", token=token, json={"parentId": x["id"]}),
        )
        assert sorted((sx, sy)) == [200, 409]
        _, root, _ = await api.call("GET", "/files", token=token)
        assert {x["id"], y["id"]} & {v["id"] for v in root}, "both folders left the root: a cycle"


async def test_an_upload_racing_the_delete_of_its_folder_never_stays_orphaned(api: Api, store: DirectStore) -> None:
    _, token = await api.new_user()
    for _ in range(6):
        folder = await api.upload(token, "f", "folder")
        (up, body, _), (down, _, _) = await asyncio.gather(
            api.call("POST", "/files", token=token, json={"name": "a", "type": "file", "parentId": folder["id"],
                                                          "data": "aGVsbG8="}),
            api.call("DELETE", f"/files/{folder['id']}", token=token),
        )  # fmt: skip
        assert down == 204 and up in (201, 400)
        assert store.files(parentId=folder["id"]) == []
        if up == 201:
            status, _, _ = await api.call("GET", f"/files/{body['id']}", token=token)
            assert status == 404  # created before the delete read the folder: deleted with it


async def test_a_delete_cut_short_is_finished_when_the_files_service_starts(
    api: Api, stack: Stack, store: DirectStore
) -> None:
    _, token = await api.new_user()
    top = await api.upload(token, "top", "folder")
    mid = await api.upload(token, "mid", "folder", parentId=top["id"])
    leaf = await api.upload(token, "leaf.txt", "file", b"leaf", parentId=mid["id"])
    local = store.files(id=leaf["id"])[0]["localPath"]
    stack.stop_service("files")
    store.mark_deleted(top["id"])
    stack.start_service("files")
    for file_id in (top["id"], mid["id"], leaf["id"]):
        assert store.files(id=file_id) == []  # done before the first request is served
    assert not stack.blobs.exists(local)


async def test_temp_files_of_a_dead_writer_are_swept_at_start_up(stack: Stack) -> None:
    stack.folder.mkdir(parents=True, exist_ok=True)
    dead = stack.folder / ".upload-left-by-a-killed-process"
    dead.write_bytes(b"partial")
    old = time.time() - 60
    os.utime(dead, (old, old))
    stack.stop_service("files")
    stack.start_service("files")

    async def swept() -> bool:
        return not dead.exists()

    assert await until(swept, timeout=10)


async def test_bytes_whose_size_differs_from_the_record_are_not_sent(
    api: Api, stack: Stack, store: DirectStore
) -> None:
    _, token = await api.new_user()
    view = await api.upload(token, "a.txt", "file", b"0123456789")
    stack.blobs.write(store.files(id=view["id"])[0]["localPath"], b"01234")
    status, body, _ = await api.call("GET", f"/files/{view['id']}/data", token=token)
    assert (status, body) == (500, {"error": "Stored content does not match its record"})
    assert f"blob of {view['id']} is 5 bytes, its record says 10" in stack.log("files")
