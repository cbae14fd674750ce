from aiohttp import web

from services.files import handlers


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/files", handlers.upload_file)
    app.router.add_get("/files", handlers.list_files)
    app.router.add_get("/files/{id}", handlers.show_file)
    app.router.add_patch("/files/{id}", handlers.change_file)
    app.router.add_delete("/files/{id}", handlers.delete_file)
    app.router.add_put("/files/{id}/publish", handlers.publish_file)
    app.router.add_put("/files/{id}/unpublish", handlers.unpublish_file)
    app.router.add_get("/files/{id}/data", handlers.download_file)  # HEAD too
