"""POST /files streamed to disk: multipart/form-data, and JSON whose base64 data is decoded as it arrives."""

import base64
import hashlib
import io
import socket
from collections.abc import Iterator

import aiohttp
import pytest

from shared.tempfiles import THUMBNAIL_PREFIX, UPLOAD_PREFIX
from shared.thumbnails import THUMBNAIL_SUFFIXES
from tests.conftest import Api
from tests.support.direct import DirectStore
from tests.support.engines import Backends
from tests.support.inprocess import eventually
from tests.support.stack import Stack


def all_entries(stack: Stack) -> set[str]:
    """Every upload artefact the stack stores, temp files and multipart uploads in progress included
    (thumbnails of earlier tests may still land, so they are left out)."""
    return {
        name
        for name in stack.blobs.names()
        if not name.startswith(THUMBNAIL_PREFIX) and not name.endswith(THUMBNAIL_SUFFIXES)
    }


def form(data: bytes | None = None, **fields: str) -> aiohttp.FormData:
    payload = aiohttp.FormData(default_to_multipart=True)
    for key, value in fields.items():
        payload.add_field(key, value)
    if data is not None:
        payload.add_field("data", io.BytesIO(data), filename="upload.bin", content_type="application/octet-stream")
    return payload


async def test_multipart_upload_streams_bytes_and_answers_like_json(api: Api, stack: Stack, store: DirectStore) -> None:
    user_id, token = await api.new_user()
    content = bytes(range(256)) * 4096  # 1 MiB, binary
    before = all_entries(stack)
    status, view, _ = await api.call("POST", "/files", token=token, data=form(content, name="blob.bin", type="file"))
    assert status == 201
    assert {k: view[k] for k in ("userId", "name", "type", "isPublic", "parentId")} == {
        "userId": user_id,
        "name": "blob.bin",
        "type": "file",
        "isPublic": False,
        "parentId": 0,
    }
    assert view["size"] == len(content) and view["sha256"] == hashlib.sha256(content).hexdigest()
    added = all_entries(stack) - before
    assert len(added) == 1
    assert stack.blobs.read(added.pop()) == content
    [doc] = store.files(id=view["id"])
    assert doc["localPath"] and stack.blobs.read(doc["localPath"]) == content


async def test_multipart_fields_public_parent_and_image(api: Api, store: DirectStore) -> None:
    _, token = await api.new_user()
    folder = await api.upload(token, "pics", "folder")
    from tests.support.images import image_bytes

    status, view, _ = await api.call(
        "POST",
        "/files",
        token=token,
        data=form(image_bytes(40, 20), name="p.png", type="image", parentId=folder["id"], isPublic="true"),
    )
    assert status == 201 and view["isPublic"] is True and view["parentId"] == folder["id"]
    assert view["thumbnail"] == "pending" and view["mimeType"] == "image/png"


@pytest.mark.parametrize(
    ("fields", "with_data", "error"),
    [
        ({"type": "file"}, True, "Missing name"),
        ({"name": "a"}, True, "Missing type"),
        ({"name": "a", "type": "nope"}, True, "Missing type"),
        ({"name": "a", "type": "file"}, False, "Missing data"),
        ({"name": "a", "type": "file", "parentId": "5f1e7cda04a394508232559d"}, True, "Parent not found"),
        ({"name": "a", "type": "file", "parentId": "bad"}, True, "Parent not found"),
        ({"name": "a", "type": "file", "isPublic": "maybe"}, True, "Invalid isPublic"),
        ({"type": "nope", "parentId": "bad"}, False, "Missing name"),
    ],
)
async def test_multipart_errors_in_order_leave_nothing(
    api: Api, stack: Stack, store: DirectStore, fields: dict, with_data: bool, error: str
) -> None:
    _, token = await api.new_user()
    files_before, disk_before = len(store.files()), all_entries(stack)
    status, body, _ = await api.call(
        "POST", "/files", token=token, data=form(b"x" * 1000 if with_data else None, **fields)
    )
    assert (status, body) == (400, {"error": error})
    assert len(store.files()) == files_before and all_entries(stack) == disk_before


async def test_empty_data_part_is_missing_data(api: Api, stack: Stack) -> None:
    _, token = await api.new_user()
    before = all_entries(stack)
    status, body, _ = await api.call("POST", "/files", token=token, data=form(b"", name="e", type="file"))
    assert (status, body) == (400, {"error": "Missing data"})
    assert all_entries(stack) == before


async def test_malformed_multipart_is_400(api: Api, stack: Stack) -> None:
    _, token = await api.new_user()
    before = all_entries(stack)
    status, body, _ = await api.call(
        "POST",
        "/files",
        token=token,
        data=b"--nope\r\ngarbage",
        headers={"Content-Type": "multipart/form-data; boundary=zzz"},
    )
    assert status == 400 and body == {"error": "Malformed multipart body"}
    assert all_entries(stack) == before


@pytest.fixture(scope="module")
def capped_stack(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(
        backends, tmp_path_factory.mktemp("capped"), extra_env={"MAX_UPLOAD_MB": "1", "MAX_JSON_UPLOAD_MB": "1"}
    )
    running.start()
    yield running
    running.stop()


async def test_upload_over_the_cap_is_413_and_leaves_nothing(capped_stack: Stack, http: aiohttp.ClientSession) -> None:
    api = Api(http, capped_stack.url)
    _, token = await api.new_user()
    before = all_entries(capped_stack)

    async def chunked_body():  # no Content-Length: the cap is enforced while streaming
        for _ in range(40):
            yield b"z" * 65536

    payload = aiohttp.FormData()
    payload.add_field("name", "big")
    payload.add_field("type", "file")
    payload.add_field("data", chunked_body(), filename="big.bin")
    status, body, _ = await api.call("POST", "/files", token=token, data=payload)
    assert (status, body) == (413, {"error": "Payload too large"})
    status, body, _ = await api.call(
        "POST", "/files", token=token, data=form(b"y" * (3 * 1024 * 1024), name="b", type="file")
    )
    assert (status, body) == (413, {"error": "Payload too large"})  # refused on Content-Length, before reading

    async def nothing_left() -> bool:  # the streamed one's temp file goes as its request ends
        return all_entries(capped_stack) == before

    await eventually(nothing_left, timeout=5)
    status, view, _ = await api.call("POST", "/files", token=token, data=form(b"small", name="ok", type="file"))
    assert status == 201


async def test_json_upload_over_the_caps_is_413_and_leaves_nothing(
    capped_stack: Stack, http: aiohttp.ClientSession
) -> None:
    api = Api(http, capped_stack.url)
    _, token = await api.new_user()
    before = all_entries(capped_stack)
    json_headers = {"Content-Type": "application/json"}
    over = b'{"name":"a","type":"file","data":"' + b"QUJD" * 300_000 + b'"}'  # 1.2 MB body, 0.9 MB of bytes
    status, body, _ = await api.call("POST", "/files", token=token, data=io.BytesIO(over), headers=json_headers)
    assert (status, body) == (413, {"error": "Payload too large"})  # on Content-Length, before reading

    async def chunked_json():  # no Content-Length: the body cap is enforced while streaming
        yield b'{"name":"a","type":"file","data":"'
        for _ in range(40):
            yield b"QUJD" * 16384

    status, body, _ = await api.call("POST", "/files", token=token, data=chunked_json(), headers=json_headers)
    assert (status, body) == (413, {"error": "Payload too large"})

    async def nothing_left() -> bool:
        return all_entries(capped_stack) == before

    await eventually(nothing_left, timeout=5)


async def test_json_upload_is_streamed_whatever_the_chunks(api: Api, stack: Stack, store: DirectStore) -> None:
    """Data before the name, JSON escapes and wrapped lines inside it, chunks that split every token."""
    _, token = await api.new_user()
    content = hashlib.sha256(b"seed").digest() * 200_000  # 6.4 MB
    encoded = base64.encodebytes(content).replace(b"\n", b"\\n").replace(b"/", b"\\/")
    body = b'{"data": "' + encoded + b'", "type": "file", "name": "streamed.bin", "isPublic": true}'

    async def in_odd_chunks():
        for start in range(0, len(body), 65_537):
            yield body[start : start + 65_537]

    before = all_entries(stack)
    status, view, _ = await api.call(
        "POST", "/files", token=token, data=in_odd_chunks(), headers={"Content-Type": "application/json"}
    )
    assert status == 201, view
    assert (view["name"], view["isPublic"], view["size"]) == ("streamed.bin", True, len(content))
    assert view["sha256"] == hashlib.sha256(content).hexdigest()
    added = all_entries(stack) - before
    assert len(added) == 1 and stack.blobs.read(added.pop()) == content
    status, raw, _ = await api.call("GET", f"/files/{view['id']}/data", token=token)
    assert status == 200 and raw == content

    invalid = b'{"data": "' + encoded + b'!", "type": "file", "name": "x"}'
    status, answer, _ = await api.call(
        "POST", "/files", token=token, data=io.BytesIO(invalid), headers={"Content-Type": "application/json"}
    )
    assert (status, answer) == (400, {"error": "Invalid data"})
    nameless = b'{"data": "' + encoded + b'!", "type": "file"}'  # the contract's order: name first
    status, answer, _ = await api.call(
        "POST", "/files", token=token, data=io.BytesIO(nameless), headers={"Content-Type": "application/json"}
    )
    assert (status, answer) == (400, {"error": "Missing name"})
    assert len(store.files(name="x")) == 0

    async def only_the_first_is_left() -> bool:
        return len(all_entries(stack) - before) == 1

    await eventually(only_the_first_is_left, timeout=5)


async def test_interrupted_upload_leaves_nothing_visible(api: Api, stack: Stack, store: DirectStore) -> None:
    _, token = await api.new_user()
    files_before, disk_before = len(store.files()), all_entries(stack)
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\ncut.bin\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\nfile\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="data"; filename="cut.bin"\r\n\r\n'
    ).encode()
    request = (
        f"POST /files HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Token: {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(head) + 20_000_000}\r\n\r\n"
    ).encode()

    async def writing() -> bool:  # the bytes have reached a temp file (or the bucket's first part: 8 MiB)
        return any(name.startswith(UPLOAD_PREFIX) for name in all_entries(stack) - disk_before)

    async def nothing_left() -> bool:  # the service notices the cut and removes its temp file
        return all_entries(stack) == disk_before

    with socket.create_connection(("127.0.0.1", stack.ports["gateway"])) as sock:
        # Well past one 8 MiB part, since the buffers of every hop (gateway, balancer, sockets) hold some of
        # what was sent (9 MB reached the files service short of a part once, in CI); still short of the 20 MB
        # announced.
        sock.sendall(request + head + b"q" * 16_000_000)
        await eventually(writing, timeout=10)
    await eventually(nothing_left, timeout=10)
    assert len(store.files()) == files_before


async def test_encoded_upload_bodies_are_refused_not_inflated(api: Api, stack: Stack, store: DirectStore) -> None:
    import gzip

    _, token = await api.new_user()
    files_before, disk_before = len(store.files()), all_entries(stack)
    bomb = gzip.compress(b'{"name": "a", "type": "file", "data": "' + b"A" * 10_000_000 + b'"}')
    status, body, _ = await api.call(
        "POST",
        "/files",
        token=token,
        data=bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert (status, body) == (415, {"error": "Unsupported Content-Encoding"})
    assert len(store.files()) == files_before and all_entries(stack) == disk_before
