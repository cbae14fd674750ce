"""Thin handlers: parse, call the library rules, respond."""

from __future__ import annotations

from aiohttp import web

from services.files.blobs import BlobStorage, StoredBlob
from services.files.jsonupload import read_json_upload
from services.files.library import FileView, Library, contract_view
from services.files.multipart import read_multipart
from services.files.serving import send_file
from services.files.uploads import form_to_body, parse_patch, parse_upload
from shared.errors import AuthenticationError, UnsupportedMediaError, ValidationError
from shared.http import json_response
from shared.identity import caller_of
from shared.internal import THUMBNAIL_OUTCOMES, FileCount, SourceView, ThumbnailState
from shared.jsonbody import read_json_object

LIBRARY_KEY = web.AppKey("library", Library)
BLOBS_KEY = web.AppKey("blobs", BlobStorage)
MAX_UPLOAD_KEY = web.AppKey("max_upload", int)
MAX_JSON_UPLOAD_KEY = web.AppKey("max_json_upload", int)


CONTRACT_VIEWS_KEY = web.AppKey("contract_views", bool)


def present(request: web.Request, view: FileView, status: int = 200) -> web.Response:
    """A file view as JSON: the richer view, or with STRICT_CONTRACT exactly the contract's six fields."""
    return json_response(contract_view(view) if request.app[CONTRACT_VIEWS_KEY] else view, status=status)


async def upload_file(request: web.Request) -> web.Response:
    caller = caller_of(request)
    if caller.anonymous:  # the contract checks the token before anything in the body
        raise AuthenticationError()
    library, blobs = request.app[LIBRARY_KEY], request.app[BLOBS_KEY]
    if request.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        raise UnsupportedMediaError("Unsupported Content-Encoding")
    if request.content_type == "multipart/form-data":
        form = await read_multipart(request, blobs, request.app[MAX_UPLOAD_KEY])
        try:
            upload = parse_upload(form_to_body(form.fields), data_present=form.data is not None)
            staged = form.data
            view = await library.upload(caller, upload, staged.commit if staged and upload.type != "folder" else None)
        finally:
            await form.discard()  # a committed writer has nothing left to remove
        return present(request, view, status=201)
    streamed = await read_json_upload(request, blobs, request.app[MAX_JSON_UPLOAD_KEY], request.app[MAX_UPLOAD_KEY])
    try:
        upload = parse_upload(streamed.body)

        async def stage() -> StoredBlob:
            if not streamed.data_valid:
                raise ValidationError("Invalid data")
            if streamed.data is None:  # a data string of spaces only: an empty file
                return await blobs.write(b"")
            return await streamed.data.commit()

        view = await library.upload(caller, upload, stage if upload.type != "folder" else None)
    finally:
        await streamed.discard()  # a committed writer has nothing left to remove
    return present(request, view, status=201)


async def show_file(request: web.Request) -> web.Response:
    return present(request, await request.app[LIBRARY_KEY].show(caller_of(request), request.match_info["id"]))


async def list_files(request: web.Request) -> web.Response:
    views = await request.app[LIBRARY_KEY].list_children(
        caller_of(request), request.query.get("parentId"), request.query.get("page")
    )
    if request.app[CONTRACT_VIEWS_KEY]:
        return json_response([contract_view(view) for view in views])
    return json_response(views)


async def publish_file(request: web.Request) -> web.Response:
    view = await request.app[LIBRARY_KEY].set_public(caller_of(request), request.match_info["id"], True)
    return present(request, view)


async def unpublish_file(request: web.Request) -> web.Response:
    view = await request.app[LIBRARY_KEY].set_public(caller_of(request), request.match_info["id"], False)
    return present(request, view)


async def change_file(request: web.Request) -> web.Response:
    caller = caller_of(request)
    if caller.anonymous:
        raise AuthenticationError()
    patch = parse_patch(await read_json_object(request))
    return present(request, await request.app[LIBRARY_KEY].change(caller, request.match_info["id"], patch))


async def delete_file(request: web.Request) -> web.Response:
    await request.app[LIBRARY_KEY].delete(caller_of(request), request.match_info["id"])
    return web.Response(status=204)


async def download_file(request: web.Request) -> web.StreamResponse:
    download = await request.app[LIBRARY_KEY].download(
        caller_of(request), request.match_info["id"], request.query.get("size")
    )
    return await send_file(request, download, request.app[BLOBS_KEY].objects)


# Internal routes (shared/internal.py): the gateway's /stats and the thumbnailer's jobs.


async def count_files(request: web.Request) -> web.Response:
    count: FileCount = {"files": await request.app[LIBRARY_KEY].count()}
    return json_response(count)


async def thumbnail_source(request: web.Request) -> web.Response:
    record = await request.app[LIBRARY_KEY].thumbnail_source(caller_of(request), request.match_info["id"])
    view: SourceView = {"id": record.id, "type": record.type, "localPath": record.local_path}
    return json_response(view)


async def record_thumbnail(request: web.Request) -> web.Response:
    state = (await read_json_object(request)).get("thumbnail")
    if state not in THUMBNAIL_OUTCOMES:
        raise ValidationError(f"thumbnail must be one of {', '.join(THUMBNAIL_OUTCOMES)}")
    assert isinstance(state, str)
    file_id = request.match_info["id"]
    await request.app[LIBRARY_KEY].record_thumbnail(caller_of(request), file_id, state)
    view: ThumbnailState = {"id": file_id, "thumbnail": state}
    return json_response(view)
