from services.thumbnailer.app import create_app
from services.thumbnailer.settings import ThumbnailerSettings
from shared.runner import run

if __name__ == "__main__":
    settings = ThumbnailerSettings.from_env()
    run("thumbnailer", lambda: create_app(settings), settings.host, settings.port)
