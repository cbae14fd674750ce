from services.thumbnailer.app import create_app
from services.thumbnailer.settings import ThumbnailerSettings
from shared.runner import run

if __name__ == "__main__":
    run("thumbnailer", ThumbnailerSettings.from_env, create_app)
