"""gunicorn settings of the gateway service: the one place for them (compose and the integration harness use it).

gunicorn --config python:services.gateway.gunicorn_conf 'services.gateway.app:create_app()'
"""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"
worker_class = "aiohttp.GunicornWebWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# SIGTERM: stop accepting, let in-flight requests (a long download) finish for up to this long.
# The aiohttp worker gives its handlers 95% of it.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))
timeout = 60  # worker heartbeat; an event loop blocked this long is restarted
# Longer than the idle timeout of the load balancer or gateway pool in front, so it closes first.
keepalive = 75
# No access log: request lines carry query strings, and nothing about a request may leak a token.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# gunicorn's control socket defaults to one path under $HOME, shared by every master on the host.
control_socket_disable = True
proc_name = "files-manager-gateway"
