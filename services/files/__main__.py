from services.files.app import create_app
from services.files.settings import FilesSettings
from shared.runner import run

if __name__ == "__main__":
    settings = FilesSettings.from_env()
    run("files", lambda: create_app(settings), settings.host, settings.port)
