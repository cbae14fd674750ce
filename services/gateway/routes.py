"""The whole public route table."""

from aiohttp import web

from services.gateway.handlers import Access, get_stats, get_status, proxy_to


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/status", get_status)
    app.router.add_get("/stats", get_stats)
    app.router.add_route("*", "/users", proxy_to("auth", Access.REQUIRED, public_methods=frozenset({"POST"})))
    app.router.add_route("*", "/connect", proxy_to("auth", Access.PUBLIC))
    app.router.add_route("*", "/disconnect", proxy_to("auth", Access.REQUIRED, keep_token=True))
    app.router.add_route("*", "/users/me", proxy_to("auth", Access.REQUIRED))
    app.router.add_route("*", "/files", proxy_to("files", Access.REQUIRED))
    app.router.add_route("*", "/files/{id}", proxy_to("files", Access.REQUIRED))
    app.router.add_route("*", "/files/{id}/publish", proxy_to("files", Access.REQUIRED))
    app.router.add_route("*", "/files/{id}/unpublish", proxy_to("files", Access.REQUIRED))
    app.router.add_route("*", "/files/{id}/data", proxy_to("files", Access.OPTIONAL, sendfile=True))
