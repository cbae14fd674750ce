"""gunicorn settings of the auth service, the one place for them (compose and the integration harness use it):

gunicorn --config python:services.auth.gunicorn_conf 'services.auth.app:create_app()'

One worker by default (WEB_CONCURRENCY overrides it): Argon2id, its only heavy work, runs in a thread pool.
"""

from shared.gunicorn import gunicorn_settings

globals().update(gunicorn_settings("auth", "AUTH_HOST", "127.0.0.1", "AUTH_PORT", 5001, cores_per_worker=None))
proc_name = "files-manager-auth"
