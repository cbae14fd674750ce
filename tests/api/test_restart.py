"""A restart loses no user, file, token or job; a job queued while the thumbnailer is down runs after it starts."""

from tests.api.test_thumbnails import wait_for
from tests.conftest import Api
from tests.support.direct import DirectStore
from tests.support.images import image_bytes
from tests.support.stack import Stack


async def test_everything_survives_a_full_restart(api: Api, stack: Stack, store: DirectStore) -> None:
    user_id, token = await api.new_user()
    doc = await api.upload(token, "keep.txt", "file", b"kept bytes")
    stack.stop_service("thumbnailer")
    try:
        image = await api.upload(token, "late.png", "image", image_bytes(300, 150))
        local = store.files(id=image["id"])[0]["localPath"]
    finally:
        stack.stop()
    assert not stack.blobs.exists(f"{local}_100")
    stack.start()

    status, body, _ = await api.call("GET", "/users/me", token=token)
    assert status == 200 and body["id"] == user_id
    status, body, _ = await api.call("GET", f"/files/{doc['id']}/data", token=token)
    assert (status, body) == (200, b"kept bytes")
    _, listing, _ = await api.call("GET", "/files", token=token)
    assert {v["id"] for v in listing} == {doc["id"], image["id"]}
    await wait_for(stack, f"{local}_100")
