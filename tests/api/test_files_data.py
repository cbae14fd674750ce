"""GET /files/:id/data: the public/private matrix, folders, sizes, Content-Type."""

import asyncio

import pytest

from services.files.mime import FALLBACK
from tests.conftest import Api
from tests.files.test_mime import MIME_DB_ANSWERS
from tests.support.direct import DirectStore
from tests.support.stack import Stack


async def test_private_file_owner_anonymous_other_then_published(api: Api) -> None:
    _, owner = await api.new_user()
    _, other = await api.new_user()
    view = await api.upload(owner, "hello.txt", "file", b"Hello Webstack!\n")
    path = f"/files/{view['id']}/data"
    status, body, response = await api.call("GET", path, token=owner)
    assert (status, body) == (200, b"Hello Webstack!\n")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    for token in (None, other, "invalid-token-is-anonymous"):
        status, body, _ = await api.call("GET", path, token=token)
        assert (status, body) == (404, {"error": "Not found"})
    await api.call("PUT", f"/files/{view['id']}/publish", token=owner)
    for token in (None, other, "invalid-token-is-anonymous", owner):
        status, body, _ = await api.call("GET", path, token=token)
        assert (status, body) == (200, b"Hello Webstack!\n")


@pytest.mark.parametrize(
    ("who", "folder", "expected"),
    [
        ("anonymous", "private", (404, {"error": "Not found"})),
        ("other", "private", (404, {"error": "Not found"})),
        ("owner", "private", (400, {"error": "A folder doesn't have content"})),
        ("anonymous", "public", (400, {"error": "A folder doesn't have content"})),
        ("other", "public", (400, {"error": "A folder doesn't have content"})),
        ("owner", "public", (400, {"error": "A folder doesn't have content"})),
    ],
)
async def test_folder_matrix(api: Api, who: str, folder: str, expected: tuple) -> None:
    _, owner = await api.new_user()
    _, other = await api.new_user()
    view = await api.upload(owner, folder, "folder", isPublic=folder == "public")
    token = {"anonymous": None, "other": other, "owner": owner}[who]
    status, body, _ = await api.call("GET", f"/files/{view['id']}/data", token=token)
    assert (status, body) == expected


@pytest.mark.parametrize("file_id", ["nope", "5f1e7cda04a394508232559d", "0" * 24])
async def test_unknown_ids_are_not_found(api: Api, file_id: str) -> None:
    status, body, _ = await api.call("GET", f"/files/{file_id}/data")
    assert (status, body) == (404, {"error": "Not found"})


async def test_missing_bytes_on_disk_are_not_found(api: Api, store: DirectStore, stack: Stack) -> None:
    user_id, token = await api.new_user()
    file_id = store.insert_file(
        user_id, "ghost.txt", "file", parent_id="0", is_public=True, local_path=stack.blobs.location("does-not-exist")
    )
    status, body, _ = await api.call("GET", f"/files/{file_id}/data", token=token)
    assert (status, body) == (404, {"error": "Not found"})


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("image.png", "image/png"),
        ("photo.JPG", "image/jpeg"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("noextension", "application/octet-stream"),
        ("doc.pdf", "application/pdf"),
        ("chapter_titles.md", "text/markdown; charset=utf-8"),  # the original's answer (mime-db)
        ("config.yaml", "text/yaml; charset=utf-8"),
        ("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("song.flac", "audio/x-flac"),
        ("png", "image/png"),  # a name that is only an extension, as mime-types reads it
    ],
)
async def test_content_type_from_the_name(api: Api, name: str, content_type: str) -> None:
    _, token = await api.new_user()
    view = await api.upload(token, name, "file", b"\x00\x01bytes")
    status, body, response = await api.call("GET", f"/files/{view['id']}/data", token=token)
    assert status == 200 and body == b"\x00\x01bytes"
    assert response.headers["Content-Type"] == content_type


async def test_every_extension_of_the_mime_db_table_is_sent_as_mime_types_answers(api: Api) -> None:
    """The whole table of tests/files/test_mime.py through the gateway: what the running service (in
    containers: its image) answers, not only the module on this machine."""
    _, token = await api.new_user()
    views = await asyncio.gather(*(api.upload(token, f"sample.{ext}", "file", b"x") for ext, _ in MIME_DB_ANSWERS))
    sent = {}
    for (extension, _), view in zip(MIME_DB_ANSWERS, views, strict=True):
        url = f"{api.base}/files/{view['id']}/data"
        async with api.session.get(url, headers={"X-Token": token}) as response:  # raw: some are JSON types
            assert (response.status, await response.read()) == (200, b"x"), extension
            sent[extension] = response.headers["Content-Type"]
    assert sent == {extension: expected or FALLBACK for extension, expected in MIME_DB_ANSWERS}


@pytest.mark.parametrize("size", ["0", "50", "abc", "-100", "500x", "1e3", "../../etc/passwd", ""])
async def test_unknown_sizes_are_not_found(api: Api, size: str) -> None:
    _, token = await api.new_user()
    view = await api.upload(token, "a.txt", "file", b"x", isPublic=True)
    status, body, _ = await api.call("GET", f"/files/{view['id']}/data", params={"size": size})
    assert (status, body) == (404, {"error": "Not found"})


async def test_size_of_a_non_image_without_thumbnail_is_not_found(api: Api) -> None:
    _, token = await api.new_user()
    view = await api.upload(token, "a.txt", "file", b"x")
    status, body, _ = await api.call("GET", f"/files/{view['id']}/data?size=100", token=token)
    assert (status, body) == (404, {"error": "Not found"})
