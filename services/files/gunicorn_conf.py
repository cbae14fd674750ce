"""gunicorn settings of the files service, the one place for them (compose and the integration harness use it):

gunicorn --config python:services.files.gunicorn_conf 'services.files.app:create_app()'
"""

from shared.gunicorn import gunicorn_settings

globals().update(gunicorn_settings("files", "FILES_HOST", "127.0.0.1", "FILES_PORT", 5002, workers=2))
proc_name = "files-manager-files"
