"""The whole public route table."""

from aiohttp import web
from swagger_ui import api_doc

from services.gateway.handlers import Access, get_stats, get_status, proxy_to
from services.gateway.openapi import SPEC
from services.gateway.proxy import defer_expect
from services.gateway.webapp import setup_webapp
from shared.errors import Handler
from shared.http import json_response


async def get_openapi(request: web.Request) -> web.Response:
    return json_response(SPEC)


def setup_routes(app: web.Application) -> None:
    def add(path: str, handler: Handler) -> None:
        app.router.add_route("*", path, handler, expect_handler=defer_expect)

    app.router.add_get("/openapi.json", get_openapi)
    # The API browser: Swagger UI's files from the swagger-ui-py package, never a CDN.
    api_doc(app, config=SPEC, url_prefix="/docs", title="Files manager API", host_inject=False)
    setup_webapp(app)  # the page for people, at / (ADR 12)
    app.router.add_get("/status", get_status)
    app.router.add_get("/stats", get_stats)
    add("/users", proxy_to("auth", Access.REQUIRED, public_methods=frozenset({"POST"})))
    add("/connect", proxy_to("auth", Access.PUBLIC))
    add("/disconnect", proxy_to("auth", Access.REQUIRED, keep_token=True))
    add("/users/me", proxy_to("auth", Access.REQUIRED))
    add("/files", proxy_to("files", Access.REQUIRED, transfer_methods=frozenset({"POST"})))
    add("/files/{id}", proxy_to("files", Access.REQUIRED))
    add("/files/{id}/publish", proxy_to("files", Access.REQUIRED))
    add("/files/{id}/unpublish", proxy_to("files", Access.REQUIRED))
    add("/files/{id}/data", proxy_to("files", Access.OPTIONAL, sendfile=True))
