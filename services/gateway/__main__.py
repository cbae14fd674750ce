from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.runner import run

if __name__ == "__main__":
    run("gateway", GatewaySettings.from_env, create_app)
