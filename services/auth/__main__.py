from services.auth.app import create_app
from services.auth.settings import AuthSettings
from shared.runner import run

if __name__ == "__main__":
    settings = AuthSettings.from_env()
    run("auth", lambda: create_app(settings), settings.host, settings.port)
