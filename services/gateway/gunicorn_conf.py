"""gunicorn settings of the gateway service, the one place for them (compose and the integration harness use it):

gunicorn --config python:services.gateway.gunicorn_conf 'services.gateway.app:create_app()'
"""

from shared.gunicorn import gunicorn_settings

globals().update(gunicorn_settings("HOST", "0.0.0.0", "PORT", 5000, workers=2))
proc_name = "files-manager-gateway"
