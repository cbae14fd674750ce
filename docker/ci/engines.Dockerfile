# Stand-ins for the official engine images, for machines that cannot pull them (CI): Debian's Redis and
# RabbitMQ, and FerretDB (the MongoDB wire protocol) and MinIO (S3) built from source. docker/compose.ci.yml uses them;
# scripts/docker.sh builds them on the local base image. Never used by a plain `docker compose up`.
ARG BASE_IMAGE

FROM ${BASE_IMAGE} AS redis
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /data
EXPOSE 6379
CMD ["redis-server"]

FROM ${BASE_IMAGE} AS rabbitmq
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/*
EXPOSE 5672
CMD ["rabbitmq-server"]

FROM ${BASE_IMAGE} AS ferretdb
COPY ferretdb /usr/local/bin/ferretdb
ENV FERRETDB_HANDLER=sqlite \
    FERRETDB_SQLITE_URL=file:/data/db/ \
    FERRETDB_STATE_DIR=/state \
    FERRETDB_LISTEN_ADDR=:27017 \
    FERRETDB_DEBUG_ADDR=127.0.0.1:8088 \
    FERRETDB_TELEMETRY=disable
RUN mkdir -p /data/db /state
EXPOSE 27017
CMD ["ferretdb"]

FROM ${BASE_IMAGE} AS minio
COPY minio /usr/local/bin/minio
ENV MINIO_BROWSER=off MINIO_UPDATE=off
RUN mkdir -p /data
EXPOSE 9000
ENTRYPOINT ["minio"] # as the official image: docker-compose.s3.yml's command is `server /data`
CMD ["server", "/data"]
