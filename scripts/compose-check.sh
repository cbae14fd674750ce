#!/usr/bin/env bash
# Validate docker-compose.yml, alone and with docker-compose.s3.yml (no Docker engine needed), with
# .env.example standing in for .env.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
log() { printf 'compose-check: %s\n' "$*" >&2; }
command -v docker-compose >/dev/null || apt_install docker-compose
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$ROOT/docker-compose.yml" "$ROOT/docker-compose.s3.yml" "$work/"
cp "$ROOT/.env.example" "$work/.env"
ln -s "$ROOT/Dockerfile" "$work/Dockerfile"
(cd "$work" && docker-compose config -q)
echo "docker-compose.yml: valid ($(docker-compose version --short))"
# With S3, the files service, the thumbnailer and the gateway must share no volume.
shared="$(cd "$work" && docker-compose -f docker-compose.yml -f docker-compose.s3.yml config \
  | awk '/^  (files|thumbnailer|gateway):/{s=1;next} /^  [a-z]/{s=0} s && /- (app-data|files):/')"
if [ -n "$shared" ]; then echo "docker-compose.s3.yml leaves shared volumes: $shared" >&2; exit 1; fi
echo "docker-compose.yml with docker-compose.s3.yml: valid, no shared volume"
