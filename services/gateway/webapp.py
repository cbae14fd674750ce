"""The web app: a page at `/` and its files under `/app/`, shipped in services/gateway/static (no build step,
no CDN, nothing from another host). It speaks to the public API of the same origin, like any other client.

The few files are read once at start-up and answered from memory with a strong ETag. Every answer carries a
Content-Security-Policy that allows scripts, styles and connections from this origin only (no inline
script), images from this origin and from `blob:` (thumbnails are fetched with the token, then shown), and
no framing.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.helpers import ETag

from shared.errors import NotFoundError
from shared.fileresponse import etag_matches

STATIC = Path(__file__).parent / "static"
APP_PREFIX = "/app/"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    hdrs.CACHE_CONTROL: "no-cache",  # revalidated on each load (ETag): an upgrade shows at once
}
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def load_assets() -> dict[str, Asset]:
    assets = {}
    for path in sorted(STATIC.iterdir()):
        if not path.is_file():
            continue
        body = path.read_bytes()
        kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        assets[path.name] = Asset(body, kind, hashlib.sha256(body).hexdigest()[:32])
    return assets


def asset_response(request: web.Request, asset: Asset) -> web.Response:
    headers = {**SECURITY_HEADERS, hdrs.ETAG: f'"{asset.etag}"'}
    if (tags := request.if_none_match) is not None and etag_matches(tags, ETag(asset.etag), weak=True):
        return web.Response(status=304, headers=headers)
    charset = "utf-8" if asset.content_type.startswith("text/") else None
    return web.Response(body=asset.body, headers=headers, content_type=asset.content_type, charset=charset)


def setup_webapp(app: web.Application) -> None:
    assets = load_assets()
    index, icon = assets["index.html"], assets["icon.svg"]

    async def page(request: web.Request) -> web.Response:
        return asset_response(request, index)

    async def favicon(request: web.Request) -> web.Response:
        return asset_response(request, icon)

    async def asset(request: web.Request) -> web.Response:
        found = assets.get(request.match_info["name"])
        if found is None or found is index:
            raise NotFoundError()
        return asset_response(request, found)

    app.router.add_get("/", page)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get(APP_PREFIX + "{name}", asset)
