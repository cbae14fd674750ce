"""Image uploads get `_500`, `_250` and `_100` thumbnails from the background worker."""

import io

from PIL import Image

from tests.conftest import Api
from tests.support.direct import DirectStore
from tests.support.images import image_bytes
from tests.support.inprocess import eventually
from tests.support.stack import Stack


async def wait_for(stack: Stack, location: str, timeout: float = 20.0) -> None:
    """Until a blob (a record's localPath, a thumbnail beside it) is stored, on the volume or in the bucket."""

    async def appeared() -> bool:
        return stack.blobs.exists(location)

    await eventually(appeared, timeout)


async def wait_for_state(store: DirectStore, file_id: str, state: str, timeout: float = 20.0) -> None:
    async def reached() -> bool:
        [doc] = store.files(id=file_id)
        return bool(doc["raw"].get("thumbnail") == state)

    await eventually(reached, timeout)


async def test_png_thumbnails_keep_format_and_aspect_ratio(api: Api, store: DirectStore, stack: Stack) -> None:
    _, token = await api.new_user()
    view = await api.upload(token, "image.png", "image", image_bytes(471, 512), isPublic=True)
    local = store.files(id=view["id"])[0]["localPath"]
    expected = {500: (500, 544), 250: (250, 272), 100: (100, 109)}
    for width in expected:
        await wait_for(stack, f"{local}_{width}")
    await wait_for_state(store, view["id"], "ready")
    for width, size in expected.items():
        with Image.open(io.BytesIO(stack.blobs.read(f"{local}_{width}"))) as thumb:
            assert thumb.format == "PNG" and thumb.size == size
        status, body, response = await api.call("GET", f"/files/{view['id']}/data?size={width}")
        assert status == 200 and response.headers["Content-Type"] == "image/png"
        assert Image.open(io.BytesIO(body)).size == size
    name = local.rsplit("/", 1)[1]
    assert sorted(n for n in stack.blobs.names() if n.startswith(name)) == [
        name,
        f"{name}_100",
        f"{name}_250",
        f"{name}_500",
    ]


async def test_jpeg_with_exif_rotation_is_upright(api: Api, store: DirectStore, stack: Stack) -> None:
    _, token = await api.new_user()
    # Stored 800x400 with orientation 6 (rotate 90°): displayed as 400x800.
    view = await api.upload(token, "photo.jpg", "image", image_bytes(800, 400, "JPEG", orientation=6))
    local = store.files(id=view["id"])[0]["localPath"]
    await wait_for_state(store, view["id"], "ready")
    with Image.open(io.BytesIO(stack.blobs.read(f"{local}_250"))) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (250, 500)


async def test_undecodable_image_fails_its_job_but_not_the_worker(api: Api, store: DirectStore, stack: Stack) -> None:
    _, token = await api.new_user()
    bad = await api.upload(token, "broken.png", "image", b"this is not an image at all")
    await wait_for_state(store, bad["id"], "failed")
    assert stack.running("thumbnailer")
    good = await api.upload(token, "ok.png", "image", image_bytes(64, 32))
    await wait_for_state(store, good["id"], "ready")
    local = store.files(id=good["id"])[0]["localPath"]
    with Image.open(io.BytesIO(stack.blobs.read(f"{local}_100"))) as thumb:
        assert thumb.size == (100, 50)
    assert not stack.blobs.exists(store.files(id=bad["id"])[0]["localPath"] + "_100")
