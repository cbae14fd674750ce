#!/usr/bin/env bash
# A private Docker engine and the local images that `make compose-test` runs docker-compose.yml with, on a
# machine that cannot pull from Docker Hub. Nothing here is needed where Docker Hub is reachable.
#
#   scripts/docker.sh start     install docker.io, docker-compose and debootstrap if missing, start a
#                               private dockerd (its own socket, data root and pid file)
#   scripts/docker.sh images    build what is missing: the base image (Debian bookworm by debootstrap, with
#                               Python 3.11, standing in for python:3.11-slim) and the stand-in engine images
#   scripts/docker.sh stop      stop the dockerd this script started (by its recorded pid)
#   scripts/docker.sh env       print the environment that points docker and docker-compose at it
#
# The data root lives under FM_DOCKER_CACHE (default ~/.cache/files-manager-docker), so images and build
# layers are kept between runs on the same machine. Images are tagged by a digest of their recipe: a
# changed recipe builds anew, an unchanged one is reused.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FM_DOCKER_CACHE:-${HOME:-/root}/.cache/files-manager-docker}"
RUN_DIR="${FM_DOCKER_RUN:-/run/files-manager-docker}"
SOCKET="$RUN_DIR/docker.sock"
PIDFILE="$RUN_DIR/dockerd.pid"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE_PACKAGES="ca-certificates,python3,python3-venv,python3-pip,python-is-python3"
BASE_RECIPE=1 # raise it when base_image() below changes what goes into the image
# The build machine's trust store: where TLS to the package registries is inspected, builds need it.
HOST_CA_BUNDLE="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
FERRETDB_BIN="${FERRETDB_BIN:-$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin/ferretdb}"
ENGINE_TARGETS="redis rabbitmq ferretdb minio"

# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

log() { printf 'docker: %s\n' "$*" >&2; }

export DOCKER_HOST="unix://$SOCKET"
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0 # the classic builder: BuildKit would pull its frontend

answering() { docker version >/dev/null 2>&1; }

start() {
  apt_install docker.io docker-compose debootstrap
  if answering; then log "dockerd already answering on $SOCKET"; return; fi
  mkdir -p "$CACHE/data" "$RUN_DIR/exec"
  nohup dockerd --data-root "$CACHE/data" --exec-root "$RUN_DIR/exec" --host "$DOCKER_HOST" \
    --pidfile "$PIDFILE" --log-level warn >"$CACHE/dockerd.log" 2>&1 &
  for _ in $(seq 120); do
    answering && { log "dockerd $(docker version -f '{{.Server.Version}}') on $SOCKET"; return; }
    sleep 0.5
  done
  log "dockerd did not answer; its log:"
  tail -n 30 "$CACHE/dockerd.log" >&2
  return 1
}

stop() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then log "no dockerd of ours is running"; return; fi
  kill "$pid"
  for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || { log "dockerd stopped"; return; }; sleep 0.5; done
  log "dockerd $pid still running after 60 s"
  return 1
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# Earlier recipes' images of REPOSITORY, all but TAG: the cache keeps what the next run uses, no more.
drop_other_tags() {
  local repository=$1 keep=$2 tag
  for tag in $(docker image ls --format '{{.Tag}}' "$repository"); do
    [ "$tag" = "$keep" ] || docker image rm "$repository:$tag" >/dev/null
  done
}

base_image() {
  local digest
  digest="$SUITE-$(printf '%s %s %s %s' "$BASE_RECIPE" "$SUITE" "$BASE_PACKAGES" "$MIRROR" \
    | cat - "$HOST_CA_BUNDLE" | sha256sum | cut -c1-12)"
  local tag="files-manager-base:$digest"
  if have_image "$tag"; then echo "$tag"; return; fi
  local rootfs="$CACHE/rootfs-$SUITE"
  as_root rm -rf "$rootfs"
  log "debootstrap $SUITE (minbase, $BASE_PACKAGES)"
  as_root debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$rootfs" "$MIRROR" \
    >"$CACHE/debootstrap.log" 2>&1 || { tail -n 30 "$CACHE/debootstrap.log" >&2; return 1; }
  # What the official Debian images carry: no service starts during an install, no package caches kept.
  printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod +x "$rootfs/usr/sbin/policy-rc.d"
  as_root chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  mkdir -p "$rootfs/etc/ssl/build-host"
  cp "$HOST_CA_BUNDLE" "$rootfs/etc/ssl/build-host/ca-certificates.crt"
  printf 'Acquire::https::CAInfo "/etc/ssl/build-host/ca-certificates.crt";\n' \
    >"$rootfs/etc/apt/apt.conf.d/90build-host-ca"
  # The registries' proxy serves a fixed snapshot, whose Release files are past their validity date.
  printf 'Acquire::Check-Valid-Until "false";\n' >"$rootfs/etc/apt/apt.conf.d/90snapshot"
  local bundle=/etc/ssl/build-host/ca-certificates.crt
  as_root tar -C "$rootfs" -c . | docker import \
    --change "ENV PIP_CERT=$bundle SSL_CERT_FILE=$bundle REQUESTS_CA_BUNDLE=$bundle LANG=C.UTF-8" \
    --change 'CMD ["python3"]' - "$tag" >/dev/null
  as_root rm -rf "$rootfs"
  drop_other_tags files-manager-base "$digest"
  log "built $tag"
  echo "$tag"
}

engine_images() {
  local base=$1 context digest minio target missing=no
  [ -x "$FERRETDB_BIN" ] || bash "$ROOT/scripts/services.sh" build-ferretdb
  minio="$(bash "$ROOT/scripts/services.sh" build-s3)"
  digest="$(printf '%s %s' "$base" "$minio" | cat - "$ROOT/docker/ci/engines.Dockerfile" "$FERRETDB_BIN" \
    | sha256sum | cut -c1-12)"
  for target in $ENGINE_TARGETS; do have_image "files-manager-ci-$target:$digest" || missing=yes; done
  if [ "$missing" = no ]; then echo "$digest"; return; fi
  context="$(mktemp -d)"
  cp "$FERRETDB_BIN" "$context/ferretdb"
  cp "$minio" "$context/minio"
  for target in $ENGINE_TARGETS; do
    log "building the stand-in $target image"
    docker build -q -f "$ROOT/docker/ci/engines.Dockerfile" --build-arg "BASE_IMAGE=$base" \
      --target "$target" -t "files-manager-ci-$target:$digest" "$context" >"$CACHE/build-$target.log" 2>&1 \
      || { tail -n 30 "$CACHE/build-$target.log" >&2; rm -rf "$context"; return 1; }
    drop_other_tags "files-manager-ci-$target" "$digest"
  done
  rm -rf "$context"
  echo "$digest"
}

# The variables docker/compose.ci.yml reads: which base and stand-in images to use.
images() {
  local base engines
  base="$(base_image)"
  engines="$(engine_images "$base")"
  printf 'BASE_IMAGE=%s\nCI_ENGINES_TAG=%s\n' "$base" "$engines"
}

print_env() {
  cat <<EOF
export DOCKER_HOST='$DOCKER_HOST'
export DOCKER_BUILDKIT=0
export COMPOSE_DOCKER_CLI_BUILD=0
EOF
}

case "${1:-}" in
  start) start; print_env ;;
  stop) stop ;;
  images) images ;;
  env) print_env ;;
  *) echo "usage: $0 start|images|stop|env" >&2; exit 2 ;;
esac
