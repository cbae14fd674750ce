from services.files.app import create_app
from services.files.settings import FilesSettings
from shared.runner import run

if __name__ == "__main__":
    run("files", FilesSettings.from_env, create_app)
