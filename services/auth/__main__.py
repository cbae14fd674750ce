from services.auth.app import create_app
from services.auth.settings import AuthSettings
from shared.runner import run

if __name__ == "__main__":
    run("auth", AuthSettings.from_env, create_app)
