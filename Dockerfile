# One multi-stage file, one target per service:
#   docker build --target gateway -t files-manager-gateway .
# BASE_IMAGE: any Debian-based image with Python 3.11 as `python` (and its venv module); machines that cannot
# reach Docker Hub build one locally (scripts/docker.sh images) and pass it with --build-arg.
# Runtime images hold the virtualenv and the code only: no compiler, no pip cache, a non-root user.

ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install -c constraints.txt .

FROM ${BASE_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --home-dir /nonexistent --shell /usr/sbin/nologin app \
 && mkdir -p /data /files \
 && chown app:app /data /files
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/data \
    FOLDER_PATH=/files
WORKDIR /app
USER app

FROM runtime AS gateway
EXPOSE 5000
CMD ["gunicorn", "--config", "python:services.gateway.gunicorn_conf", "services.gateway.app:serve"]

FROM runtime AS auth
EXPOSE 5001
CMD ["gunicorn", "--config", "python:services.auth.gunicorn_conf", "services.auth.app:create_app()"]

FROM runtime AS files
EXPOSE 5002
CMD ["gunicorn", "--config", "python:services.files.gunicorn_conf", "services.files.app:create_app()"]

FROM runtime AS thumbnailer
EXPOSE 5003
CMD ["python", "-m", "services.thumbnailer"]
