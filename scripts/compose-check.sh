#!/usr/bin/env bash
# Validate docker-compose.yml (no Docker engine needed), with .env.example standing in for .env.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
log() { printf 'compose-check: %s\n' "$*" >&2; }
command -v docker-compose >/dev/null || apt_install docker-compose
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$ROOT/docker-compose.yml" "$work/"
cp "$ROOT/.env.example" "$work/.env"
ln -s "$ROOT/Dockerfile" "$work/Dockerfile"
(cd "$work" && docker-compose config -q)
echo "docker-compose.yml: valid ($(docker-compose version --short))"
