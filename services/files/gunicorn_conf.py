"""gunicorn settings of the files service, the one place for them (compose and the integration harness use it):

gunicorn --config python:services.files.gunicorn_conf 'services.files.app:create_app()'

One worker per two cores by default (WEB_CONCURRENCY overrides it): every request it serves waits on the
metadata engine, which shares the machine; on two cores a second worker cost a quarter more CPU per
request and served no more of them (ADR 13).
"""

from shared.gunicorn import gunicorn_settings

globals().update(gunicorn_settings("files", "FILES_HOST", "127.0.0.1", "FILES_PORT", 5002, cores_per_worker=2))
proc_name = "files-manager-files"
