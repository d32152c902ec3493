#!/usr/bin/env bash
# Installs certbot's RFC 2136 DNS plugin from PyPI into its own venv:
#   target/peers/certbot  certbot-dns-rfc2136 5.8.0 (bin/python imports certbot_dns_rfc2136)
# No ACME server runs offline, so tests/dynamic_update.rs drives the plugin's own RFC 2136 client
# class (the one certbot calls to add and remove the _acme-challenge TXT record) from a small
# Python script against `switchback serve`. Idempotent: a venv with the pinned version is kept.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

VERSION=5.8.0
VENV=target/peers/certbot
PYTHON="${PYTHON:-python3}"

log() { printf '==> %s\n' "$*" >&2; }

if [ -x "$VENV/bin/python" ] &&
  [ "$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('certbot-dns-rfc2136'))" 2>/dev/null)" = "$VERSION" ]; then
  log "certbot-dns-rfc2136 $VERSION already installed in $VENV"
  exit 0
fi
log "installing certbot-dns-rfc2136==$VERSION into $VENV"
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "certbot-dns-rfc2136==$VERSION"
"$VENV/bin/python" -c "import certbot_dns_rfc2136._internal.dns_rfc2136" ||
  { log "certbot-dns-rfc2136 installed but does not import" >&2; exit 1; }
