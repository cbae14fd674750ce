"""The files service's routes in process, on its real embedded store and blob folder: every public route,
the internal ones, and the error paths, each checked to change nothing."""

from __future__ import annotations

import base64
from pathlib import Path

import aiohttp

from tests.support.images import image_bytes
from tests.support.inprocess import Signed

OWNER = "5f1e7cda04a394508232559d"
OTHER = "5f1e7cda04a394508232559e"
MISSING = "5f1e879ec7ba06511e683b22"


async def file_count(files: Signed) -> int:
    status, body, _ = await files.call("GET", "/internal/stats")
    assert status == 200, body
    return int(body["files"])


def blobs(root: Path) -> list[str]:
    folder = root / "files"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def test_upload_show_list_publish_download(files_service: Signed, embedded: Path) -> None:
    folder = await files_service.upload(OWNER, "docs", "folder")
    assert folder == {
        "id": folder["id"],
        "userId": OWNER,
        "name": "docs",
        "type": "folder",
        "isPublic": False,
        "parentId": 0,
        "createdAt": folder["createdAt"],
        "updatedAt": folder["updatedAt"],
    }
    text = await files_service.upload(OWNER, "a.txt", data=b"hello", parentId=folder["id"])
    assert text["parentId"] == folder["id"] and text["size"] == 5 and text["mimeType"] == "text/plain"
    status, shown, _ = await files_service.call("GET", f"/files/{text['id']}", OWNER)
    assert (status, shown) == (200, text)
    status, page, _ = await files_service.call("GET", f"/files?parentId={folder['id']}", OWNER)
    assert (status, [v["id"] for v in page]) == (200, [text["id"]])
    status, page, _ = await files_service.call("GET", f"/files?parentId={folder['id']}&page=1", OWNER)
    assert (status, page) == (200, [])
    # Private: only its owner reads it; published: anyone.
    assert (await files_service.call("GET", f"/files/{text['id']}/data", OWNER))[:2] == (200, b"hello")
    status, body, _ = await files_service.call("GET", f"/files/{text['id']}/data")
    assert (status, body) == (404, {"error": "Not found"})
    status, published, _ = await files_service.call("PUT", f"/files/{text['id']}/publish", OWNER)
    assert status == 200 and published["isPublic"] is True
    status, body, response = await files_service.call("GET", f"/files/{text['id']}/data")
    assert (status, body) == (200, b"hello") and response.headers["X-Content-Type-Options"] == "nosniff"
    status, unpublished, _ = await files_service.call("PUT", f"/files/{text['id']}/unpublish", OWNER)
    assert status == 200 and unpublished["isPublic"] is False
    status, body, _ = await files_service.call("GET", f"/files/{folder['id']}/data", OWNER)
    assert (status, body) == (400, {"error": "A folder doesn't have content"})
    assert await file_count(files_service) == 2


async def test_upload_errors_change_nothing(files_service: Signed, embedded: Path) -> None:
    folder = await files_service.upload(OWNER, "docs", "folder")
    text = await files_service.upload(OWNER, "a.txt")
    before = (await file_count(files_service), blobs(embedded))
    cases = [
        ({"type": "file", "data": "aGk="}, "Missing name"),
        ({"name": "x", "data": "aGk="}, "Missing type"),
        ({"name": "x", "type": "dir"}, "Missing type"),
        ({"name": "x", "type": "file"}, "Missing data"),
        ({"name": "x", "type": "file", "data": "not base64!"}, "Invalid data"),
        ({"name": "x", "type": "file", "data": "aGk=", "parentId": MISSING}, "Parent not found"),
        ({"name": "x", "type": "file", "data": "aGk=", "parentId": text["id"]}, "Parent is not a folder"),
        ({"name": "x", "type": "folder", "parentId": {"$ne": 0}}, "Parent not found"),
        ({"name": "x", "type": "folder", "isPublic": "yes"}, "Invalid isPublic"),
    ]
    for body, error in cases:
        status, answer, _ = await files_service.call("POST", "/files", OWNER, json=body)
        assert (status, answer) == (400, {"error": error}), body
    # Someone else's folder does not exist for this caller.
    body = {"name": "x", "type": "folder", "parentId": folder["id"]}
    status, answer, _ = await files_service.call("POST", "/files", OTHER, json=body)
    assert (status, answer) == (400, {"error": "Parent not found"})
    status, answer, _ = await files_service.call("POST", "/files", json={"name": "x", "type": "folder"})
    assert (status, answer) == (401, {"error": "Unauthorized"})
    assert (await file_count(files_service), blobs(embedded)) == before


async def test_multipart_upload_streams_to_the_same_record(files_service: Signed) -> None:
    form = aiohttp.FormData()
    form.add_field("name", "pic.png")
    form.add_field("type", "image")
    form.add_field("data", image_bytes(30, 20), filename="pic.png", content_type="image/png")
    status, view, _ = await files_service.call("POST", "/files", OWNER, data=form)
    assert status == 201 and view["type"] == "image" and view["thumbnail"] == "pending"
    status, body, _ = await files_service.call("GET", f"/files/{view['id']}/data", OWNER)
    assert status == 200 and body == image_bytes(30, 20)


async def test_rename_move_delete(files_service: Signed, embedded: Path) -> None:
    outer = await files_service.upload(OWNER, "outer", "folder")
    inner = await files_service.upload(OWNER, "inner", "folder", parentId=outer["id"])
    text = await files_service.upload(OWNER, "a.txt", parentId=inner["id"])
    status, renamed, _ = await files_service.call("PATCH", f"/files/{text['id']}", OWNER, json={"name": "b.txt"})
    assert status == 200 and renamed["name"] == "b.txt"
    status, body, _ = await files_service.call("PATCH", f"/files/{outer['id']}", OWNER, json={"parentId": inner["id"]})
    assert (status, body) == (409, {"error": "Cannot move a folder into itself or its subtree"})
    status, moved, _ = await files_service.call("PATCH", f"/files/{text['id']}", OWNER, json={"parentId": 0})
    assert status == 200 and moved["parentId"] == 0
    status, body, _ = await files_service.call("PATCH", f"/files/{text['id']}", OWNER, json={"owner": "me"})
    assert (status, body) == (400, {"error": "Unknown field: owner"})
    status, body, _ = await files_service.call("DELETE", f"/files/{outer['id']}", OTHER)
    assert (status, body) == (404, {"error": "Not found"})
    status, _, _ = await files_service.call("DELETE", f"/files/{outer['id']}", OWNER)
    assert status == 204
    for gone in (outer, inner):
        assert (await files_service.call("GET", f"/files/{gone['id']}", OWNER))[0] == 404
    assert await file_count(files_service) == 1 and len(blobs(embedded)) == 1  # the moved file stays


async def test_ids_pages_and_callers(files_service: Signed) -> None:
    for path in ("/files/nope", f"/files/{MISSING}", f"/files/{MISSING}/data", "/files/nope/data"):
        status, body, _ = await files_service.call("GET", path, OWNER)
        assert (status, body) == (404, {"error": "Not found"}), path
    status, body, _ = await files_service.call("GET", "/files?page=-1", OWNER)
    assert (status, body) == (400, {"error": "Invalid page"})
    status, body, _ = await files_service.call("GET", "/files?parentId=nope", OWNER)
    assert (status, body) == (200, [])
    for method, path in (("GET", "/files"), ("GET", f"/files/{MISSING}"), ("PUT", f"/files/{MISSING}/publish")):
        status, body, _ = await files_service.call(method, path)
        assert (status, body) == (401, {"error": "Unauthorized"}), path
    async with files_service.client.get("/files") as response:  # not signed at all
        assert response.status == 401


async def test_the_thumbnailers_internal_routes(files_service: Signed) -> None:
    image = await files_service.upload(OWNER, "p.png", "image", image_bytes(20, 10))
    status, source, _ = await files_service.call("GET", f"/internal/files/{image['id']}/source", OWNER)
    assert status == 200 and source["id"] == image["id"] and source["type"] == "image"
    assert Path(source["localPath"]).read_bytes() == image_bytes(20, 10)
    status, body, _ = await files_service.call("GET", f"/internal/files/{image['id']}/source", OTHER)
    assert (status, body) == (404, {"error": "File not found"})
    path = f"/internal/files/{image['id']}/thumbnail"
    for bad in ({"thumbnail": "pending"}, {"thumbnail": 1}, {}):
        status, body, _ = await files_service.call("PUT", path, OWNER, json=bad)
        assert status == 400 and set(body) == {"error"}, bad
    status, body, _ = await files_service.call("PUT", path, OTHER, json={"thumbnail": "ready"})
    assert (status, body) == (404, {"error": "File not found"})
    status, body, _ = await files_service.call("PUT", path, OWNER, json={"thumbnail": "ready"})
    assert (status, body) == (200, {"id": image["id"], "thumbnail": "ready"})
    assert (await files_service.call("GET", f"/files/{image['id']}", OWNER))[1]["thumbnail"] == "ready"
    await files_service.call("DELETE", f"/files/{image['id']}", OWNER)
    status, body, _ = await files_service.call("PUT", path, OWNER, json={"thumbnail": "ready"})
    assert (status, body) == (404, {"error": "File not found"})


async def test_json_upload_bodies_are_strict(files_service: Signed) -> None:
    raw = base64.b64encode(b"x").decode()
    for data, content_type in ((b"{", "application/json"), (b"[]", "application/json"), (raw.encode(), "text/plain")):
        status, body, _ = await files_service.call(
            "POST", "/files", OWNER, data=data, headers={"Content-Type": content_type}
        )
        assert 400 <= status < 500 and set(body) == {"error"}, data
    assert await file_count(files_service) == 0


async def test_a_part_header_the_parser_refuses_is_a_400_and_leaves_nothing(
    files_service: Signed, embedded: Path
) -> None:
    """Found by schemathesis: a control byte in a part's name made aiohttp's part parser raise past us (500)."""
    body = (
        b'--b\r\nContent-Disposition: form-data; name="bad\x08name"\r\n\r\nx\r\n'
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nkept.txt\r\n'
        b'--b\r\nContent-Disposition: form-data; name="type"\r\n\r\nfile\r\n'
        b'--b\r\nContent-Disposition: form-data; name="data"; filename="d"\r\n\r\nbytes\r\n--b--\r\n'
    )
    before = await file_count(files_service)
    status, response, _ = await files_service.call(
        "POST", "/files", OWNER, data=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert (status, response) == (400, {"error": "Malformed multipart body"})
    assert await file_count(files_service) == before
    assert blobs(embedded) == []
