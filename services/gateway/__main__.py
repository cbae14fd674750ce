from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.runner import run

if __name__ == "__main__":
    settings = GatewaySettings.from_env()
    run("gateway", lambda: create_app(settings), settings.host, settings.port)
