#!/usr/bin/env bash
# Installs the Route 53 test peers, each from PyPI into its own venv under target/peers/:
#   target/peers/ministack  ministack 1.5.33  (bin/ministack)
#   target/peers/moto       moto[server] 5.2.5 (bin/moto_server)
# Idempotent: a venv that already holds the pinned version is left alone. The tests
# (providers/route53/tests) start and stop the emulators themselves, on free loopback ports.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

MINISTACK_VERSION=1.5.33
MOTO_VERSION=5.2.5
ROOT=target/peers
PYTHON="${PYTHON:-python3}"

log() { printf '==> %s\n' "$*" >&2; }

# install NAME SPEC DIST VERSION BINARY
install() {
  local name="$1" spec="$2" dist="$3" version="$4" binary="$5"
  local venv="$ROOT/$name"
  if [ -x "$venv/bin/$binary" ] &&
    [ "$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$dist'))" 2>/dev/null)" = "$version" ]; then
    log "$name $version already installed in $venv"
    return
  fi
  log "installing $spec into $venv"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
  if [ ! -x "$venv/bin/$binary" ]; then
    log "$spec installed but $venv/bin/$binary is missing" >&2
    exit 1
  fi
}

# Debian's python3 leaves venv/ensurepip to the python3-venv package.
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv ||
      { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv; }
  else
    log "$PYTHON cannot create venvs (install python3-venv)" >&2
    exit 1
  fi
fi

mkdir -p "$ROOT"
install ministack "ministack==$MINISTACK_VERSION" ministack "$MINISTACK_VERSION" ministack
install moto "moto[server]==$MOTO_VERSION" moto "$MOTO_VERSION" moto_server
