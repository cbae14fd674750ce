#!/usr/bin/env bash
# Validate docker-compose.yml (no Docker engine needed), with .env.example standing in for .env.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v docker-compose >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  else
    echo "compose-check: docker-compose is not installed (Debian package docker-compose)" >&2; exit 1
  fi
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$ROOT/docker-compose.yml" "$work/"
cp "$ROOT/.env.example" "$work/.env"
ln -s "$ROOT/Dockerfile" "$work/Dockerfile"
(cd "$work" && docker-compose config -q)
echo "docker-compose.yml: valid ($(docker-compose version --short))"
