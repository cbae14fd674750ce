"""Thin handlers: parse, call the library rules, respond."""

from __future__ import annotations

from aiohttp import web

from services.files.library import Library
from services.files.uploads import parse_upload
from shared.errors import AuthenticationError
from shared.identity import caller_of
from shared.jsonbody import read_json_object

LIBRARY_KEY = web.AppKey("library", Library)


async def upload_file(request: web.Request) -> web.Response:
    caller = caller_of(request)
    if caller.anonymous:  # the contract checks the token before anything in the body
        raise AuthenticationError()
    upload = parse_upload(await read_json_object(request))
    view = await request.app[LIBRARY_KEY].upload(caller, upload)
    return web.json_response(view, status=201)


async def show_file(request: web.Request) -> web.Response:
    return web.json_response(await request.app[LIBRARY_KEY].show(caller_of(request), request.match_info["id"]))


async def list_files(request: web.Request) -> web.Response:
    views = await request.app[LIBRARY_KEY].list(
        caller_of(request), request.query.get("parentId"), request.query.get("page")
    )
    return web.json_response(views)


async def publish_file(request: web.Request) -> web.Response:
    view = await request.app[LIBRARY_KEY].set_public(caller_of(request), request.match_info["id"], True)
    return web.json_response(view)


async def unpublish_file(request: web.Request) -> web.Response:
    view = await request.app[LIBRARY_KEY].set_public(caller_of(request), request.match_info["id"], False)
    return web.json_response(view)


async def download_file(request: web.Request) -> web.StreamResponse:
    download = await request.app[LIBRARY_KEY].download(
        caller_of(request), request.match_info["id"], request.query.get("size")
    )
    return web.FileResponse(download.path, headers={"Content-Type": download.content_type})
