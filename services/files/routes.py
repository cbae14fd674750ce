from aiohttp import web

from services.files import handlers
from shared.internal import SOURCE_ROUTE, STATS_PATH, THUMBNAIL_ROUTE


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/files", handlers.upload_file)
    app.router.add_get("/files", handlers.list_files)
    app.router.add_get("/files/{id}", handlers.show_file)
    app.router.add_patch("/files/{id}", handlers.change_file)
    app.router.add_delete("/files/{id}", handlers.delete_file)
    app.router.add_put("/files/{id}/publish", handlers.publish_file)
    app.router.add_put("/files/{id}/unpublish", handlers.unpublish_file)
    app.router.add_get("/files/{id}/data", handlers.download_file)  # HEAD too
    app.router.add_get(STATS_PATH, handlers.count_files)
    app.router.add_get(SOURCE_ROUTE, handlers.thumbnail_source)
    app.router.add_put(THUMBNAIL_ROUTE, handlers.record_thumbnail)
