"""GET/HEAD /files/:id/data as a file server: Range, ETag from the content, safe headers on every response."""

import hashlib
from typing import Any

import pytest

from services.files.library import INLINE_BYTES
from tests.conftest import Api
from tests.support.images import image_bytes
from tests.support.inprocess import eventually

CSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox"


def assert_safe(response) -> None:  # type: ignore[no-untyped-def]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == CSP


async def uploaded(api: Api, name: str, content: bytes, public: bool = True) -> tuple[str, str]:
    _, token = await api.new_user()
    view = await api.upload(token, name, "file", content, isPublic=public)
    return view["id"], token


async def test_full_get_has_validators_length_and_safe_headers(api: Api) -> None:
    content = b"0123456789" * 1000
    file_id, _ = await uploaded(api, "digits.txt", content)
    status, body, response = await api.call("GET", f"/files/{file_id}/data")
    assert status == 200 and body == content
    assert response.headers["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert response.headers["Content-Length"] == str(len(content))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Last-Modified" in response.headers
    assert response.headers["Content-Disposition"].startswith("inline; ")
    assert_safe(response)


async def test_internal_hand_off_headers_never_reach_clients(api: Api) -> None:
    file_id, _ = await uploaded(api, "x.bin", b"abc")
    for method, headers in (("GET", {}), ("HEAD", {}), ("GET", {"Range": "bytes=0-0"})):
        _, _, response = await api.call(method, f"/files/{file_id}/data", headers=headers)
        assert not [name for name in response.headers if name.lower().startswith("x-fm-")]


async def test_a_client_cannot_ask_for_the_hand_off(api: Api) -> None:
    file_id, _ = await uploaded(api, "y.bin", b"abc")
    status, body, response = await api.call("GET", f"/files/{file_id}/data", headers={"X-FM-Accel": "1"})
    assert (status, body) == (200, b"abc") and "X-FM-Sendfile" not in response.headers


async def test_head_has_headers_and_no_body(api: Api) -> None:
    file_id, _ = await uploaded(api, "h.bin", b"x" * 4096)
    status, body, response = await api.call("HEAD", f"/files/{file_id}/data")
    assert status == 200 and body == b""
    assert response.headers["Content-Length"] == "4096"
    assert_safe(response)


async def test_single_range_and_unsatisfiable_range(api: Api) -> None:
    content = bytes(range(256)) * 4
    file_id, _ = await uploaded(api, "r.bin", content)
    status, body, response = await api.call("GET", f"/files/{file_id}/data", headers={"Range": "bytes=10-19"})
    assert status == 206 and body == content[10:20]
    assert response.headers["Content-Range"] == f"bytes 10-19/{len(content)}"
    assert_safe(response)
    status, body, response = await api.call("GET", f"/files/{file_id}/data", headers={"Range": "bytes=-5"})
    assert status == 206 and body == content[-5:]
    status, _, response = await api.call("GET", f"/files/{file_id}/data", headers={"Range": "bytes=5000-6000"})
    assert status == 416 and response.headers["Content-Range"] == f"bytes */{len(content)}"


async def test_if_none_match_gives_304(api: Api) -> None:
    content = b"cache me"
    file_id, _ = await uploaded(api, "c.txt", content)
    etag = f'"{hashlib.sha256(content).hexdigest()}"'
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        status, body, response = await api.call("GET", f"/files/{file_id}/data", headers={"If-None-Match": header})
        assert status == 304 and body == b"" and response.headers["ETag"] == etag
    status, body, _ = await api.call("GET", f"/files/{file_id}/data", headers={"If-None-Match": '"stale"'})
    assert (status, body) == (200, content)
    status, _, _ = await api.call("GET", f"/files/{file_id}/data", headers={"If-Match": '"stale"'})
    assert status == 412


async def test_private_files_keep_their_rules_with_conditional_headers(api: Api) -> None:
    content = b"private"
    file_id, token = await uploaded(api, "p.txt", content, public=False)
    etag = f'"{hashlib.sha256(content).hexdigest()}"'
    status, body, _ = await api.call("GET", f"/files/{file_id}/data", headers={"If-None-Match": etag})
    assert (status, body) == (404, {"error": "Not found"})
    status, _, response = await api.call("GET", f"/files/{file_id}/data", token=token)
    assert status == 200 and response.headers["Cache-Control"] == "private, no-cache"


SMALL, LARGE = 4 * 1024, INLINE_BYTES + 4 * 1024  # answered from memory by files / sent from the volume


def answer_shape(status: int, body: Any, response: Any, content: bytes) -> tuple[Any, ...]:
    """What a client sees, with the body given as the slice of the content it is (or as itself)."""
    if isinstance(body, bytes) and body and body in content:
        where = content.find(body)
        body = ("slice", where, where + len(body))
    # Framing (a length, or chunks for an empty body) may differ between the two senders; the rest may not.
    headers = {name.lower() for name in response.headers} - {"date", "server", "content-length", "transfer-encoding"}
    kept = ("Content-Range", "ETag", "Accept-Ranges", "Cache-Control", "Content-Type", "Content-Disposition")
    return status, body, sorted(headers), {name: response.headers.get(name) for name in kept}


async def test_small_and_large_files_are_answered_alike(api: Api) -> None:
    """Small originals are sent from memory by the files service, larger ones from the volume by the
    gateway (or streamed): a client sees the same rules for both, only sizes differ."""
    _, token = await api.new_user()
    shapes: dict[int, list[tuple[Any, ...]]] = {}
    for size in (SMALL, LARGE):
        content = (bytes(range(256)) * (size // 256 + 1))[:size]
        view = await api.upload(token, "alike.txt", "file", content, isPublic=True)
        path = f"/files/{view['id']}/data"
        etag = f'"{hashlib.sha256(content).hexdigest()}"'
        _, _, first = await api.call("GET", path)
        modified = first.headers["Last-Modified"]
        asks: list[tuple[str, dict[str, str]]] = [
            ("GET", {}),
            ("HEAD", {}),
            ("GET", {"Range": "bytes=10-19"}),
            ("GET", {"Range": "bytes=-5"}),
            ("GET", {"Range": "bytes=100-"}),
            ("HEAD", {"Range": "bytes=10-19"}),
            ("GET", {"Range": f"bytes={size}-"}),
            ("GET", {"Range": "bytes=0-1,4-5"}),
            ("GET", {"Range": "bytes=10-19", "If-Range": etag}),
            ("GET", {"Range": "bytes=10-19", "If-Range": '"other"'}),
            ("GET", {"Range": "bytes=10-19", "If-Range": f"W/{etag}"}),
            ("GET", {"Range": "bytes=10-19", "If-Range": modified}),
            ("GET", {"Range": "bytes=10-19", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"}),
            ("GET", {"If-None-Match": etag}),
            ("GET", {"If-None-Match": '"other"'}),
            ("GET", {"If-Match": '"other"'}),
            ("GET", {"If-Modified-Since": modified}),
            ("GET", {"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}),
            ("GET", {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT", "Range": "bytes=0-3"}),
        ]
        shapes[size] = []
        for method, headers in asks:
            status, body, response = await api.call(method, path, headers=headers)
            shape = answer_shape(status, body, response, content)
            if shape[0] in (200, 206) and method == "GET":
                length = int(response.headers["Content-Length"])
                assert len(body) == length
            shapes[size].append(shape)
        assert shapes[size][0][1] == ("slice", 0, size)  # the whole file, byte for byte
    small_shapes, large_shapes = shapes[SMALL], shapes[LARGE]
    for index, (small, large) in enumerate(zip(small_shapes, large_shapes, strict=True)):
        # Sizes show in Content-Range and in whole-body slices; everything else must match.
        assert small[0] == large[0], (index, small, large)
        assert small[2] == large[2], (index, small, large)
        for name in ("Accept-Ranges", "Cache-Control", "Content-Type", "Content-Disposition"):
            assert small[3][name] == large[3][name], (index, name, small, large)
        assert (small[3]["ETag"] is None) == (large[3]["ETag"] is None), (index, small, large)
        if small[0] == 206:
            assert small[1] == large[1] or index == 3 or index == 4, (index, small, large)


async def test_every_download_answer_carries_the_request_id(api: Api) -> None:
    """Streamed answers too (prepared inside a handler: from S3, from the volume, through the proxy)."""
    _, token = await api.new_user()
    for size in (SMALL, LARGE):
        view = await api.upload(token, "traced.bin", "file", b"t" * size, isPublic=True)
        for method, extra in (
            ("GET", {}),
            ("HEAD", {}),
            ("GET", {"Range": "bytes=0-9"}),
            ("GET", {"Range": "bytes=-0"}),
        ):
            request_id = f"trace-{size}-{method}-{len(extra)}"
            headers = {"X-Request-Id": request_id, **extra}
            status, _, response = await api.call(method, f"/files/{view['id']}/data", headers=headers)
            assert status in (200, 206, 416) and response.headers.get("X-Request-Id") == request_id, (size, method)


@pytest.mark.parametrize(
    ("name", "disposition"),
    [
        ("photo.png", "inline"),
        ("photo.jpg", "inline"),
        ("doc.pdf", "inline"),
        ("notes.txt", "inline"),
        ("clip.mp4", "inline"),
        ("song.mp3", "inline"),
        ("page.html", "attachment"),
        ("page.htm", "attachment"),
        ("logo.svg", "attachment"),
        ("data.xml", "attachment"),
        ("app.js", "attachment"),
        ("page.xhtml", "attachment"),
        ("noextension", "attachment"),
        ("archive.zip", "attachment"),
    ],
)
async def test_inline_only_for_passive_types(api: Api, name: str, disposition: str) -> None:
    file_id, _ = await uploaded(api, name, b"<script>alert(1)</script>")
    status, _, response = await api.call("GET", f"/files/{file_id}/data")
    assert status == 200
    assert response.headers["Content-Disposition"].split(";")[0] == disposition
    assert_safe(response)


async def test_disposition_encodes_any_name_safely(api: Api) -> None:
    name = 'résumé "final"\r\nX-Injected: yes.txt'
    file_id, _ = await uploaded(api, name, b"x")
    status, _, response = await api.call("GET", f"/files/{file_id}/data")
    assert status == 200 and "X-Injected" not in response.headers
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22%0D%0AX-Injected%3A%20yes.txt" in disposition
    assert 'filename="r_sum_ _final___X-Injected_ yes.txt"' in disposition


async def test_thumbnail_responses_are_safe_too(api: Api) -> None:
    _, token = await api.new_user()
    view = await api.upload(token, "t.png", "image", image_bytes(60, 30), isPublic=True)

    async def served() -> Any:  # the thumbnail exists once it is served
        status, _, response = await api.call("GET", f"/files/{view['id']}/data?size=100")
        return response if status == 200 else None

    response = await eventually(served, timeout=20)
    assert response.headers["Content-Type"] == "image/png"
    assert_safe(response)


async def test_thumbnail_polls_are_answered_not_modified(api: Api) -> None:
    """A thumbnail carries a weak entity-tag, the same on every way its bytes leave: sent back in
    If-None-Match it gets 304 (a poll does not download the image again); it never satisfies If-Match
    or If-Range, which compare strongly."""
    _, token = await api.new_user()
    view = await api.upload(token, "t.png", "image", image_bytes(60, 30), isPublic=True)
    path = f"/files/{view['id']}/data?size=100"

    async def served() -> Any:
        status, body, response = await api.call("GET", path)
        return (body, response) if status == 200 else None

    body, response = await eventually(served, timeout=20)
    etag = response.headers["ETag"]
    assert etag.startswith('W/"') and etag != f'W/"{view["sha256"]}"'
    status, again, response = await api.call("GET", path)
    assert (status, again, response.headers["ETag"]) == (200, body, etag)  # stable
    for header in (etag, etag[2:], f'"other", {etag}', "*"):
        status, empty, response = await api.call("GET", path, headers={"If-None-Match": header})
        assert (status, empty, response.headers["ETag"]) == (304, b"", etag), header
        assert_safe(response)
    status, again, _ = await api.call("GET", path, headers={"If-None-Match": '"stale"'})
    assert (status, again) == (200, body)
    status, _, _ = await api.call("GET", path, headers={"If-Match": etag})
    assert status == 412
    status, again, _ = await api.call("GET", path, headers={"If-Match": "*"})
    assert (status, again) == (200, body)
    status, again, _ = await api.call("GET", path, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert (status, again) == (200, body)  # a weak tag never names the content for a range
    status, part, _ = await api.call("GET", path, headers={"Range": "bytes=0-9"})
    assert (status, part) == (206, body[:10])
