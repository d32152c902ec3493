#!/usr/bin/env bash
# Installs the Cloudflare test peer from npm into target/peers/prism:
#   target/peers/prism/node_modules/.bin/prism   @stoplight/prism-cli 5.14.2
# Prism serves Cloudflare's own OpenAPI schema (../shared/peers/cloudflare/, see PEERS.md) and
# validates every request the adapter sends in providers/cloudflare/tests (the contract check).
# Idempotent and quiet: a folder that already holds the pinned version is left alone. The tests
# start and stop Prism themselves, on free loopback ports.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PRISM_VERSION=5.14.2
DIR=target/peers/prism

log() { printf '==> %s\n' "$*" >&2; }

installed_version() {
  node -e "console.log(require('./$DIR/node_modules/@stoplight/prism-cli/package.json').version)" 2>/dev/null || true
}

if ! command -v npm >/dev/null 2>&1; then
  log "npm is missing: install Node.js and npm (Debian: apt-get install nodejs npm) to run the Cloudflare contract tests" >&2
  exit 1
fi

if [ -x "$DIR/node_modules/.bin/prism" ] && [ "$(installed_version)" = "$PRISM_VERSION" ]; then
  log "prism $PRISM_VERSION already installed in $DIR"
  exit 0
fi

log "installing @stoplight/prism-cli@$PRISM_VERSION into $DIR"
rm -rf "$DIR"
mkdir -p "$DIR"
printf '{"name":"switchback-peers-prism","private":true}\n' >"$DIR/package.json"
npm install --prefix "$DIR" --no-audit --no-fund --no-update-notifier --loglevel=error \
  --save-exact "@stoplight/prism-cli@$PRISM_VERSION" >/dev/null
if [ ! -x "$DIR/node_modules/.bin/prism" ]; then
  log "@stoplight/prism-cli installed but $DIR/node_modules/.bin/prism is missing" >&2
  exit 1
fi
