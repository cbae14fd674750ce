from aiohttp import web

from services.auth import handlers
from shared.internal import STATS_PATH


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/users", handlers.create_user)
    app.router.add_get("/connect", handlers.connect)
    app.router.add_get("/disconnect", handlers.disconnect)
    app.router.add_get("/users/me", handlers.get_me)
    app.router.add_get(STATS_PATH, handlers.count_users)
