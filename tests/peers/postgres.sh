#!/usr/bin/env bash
# A private PostgreSQL server for the tests (the state store on PostgreSQL, several `serve`
# instances on one store), from Debian's server binaries; no system service.
#
#   tests/peers/postgres.sh start   initdb a fresh cluster into target/peers/postgres/data, start
#                                   it on a free loopback port, and write target/peers/postgres/env
#                                   (SWITCHBACK_TEST_POSTGRES=postgres://switchback@127.0.0.1:PORT/postgres
#                                   SWITCHBACK_TEST_PGPASSWORD, and SWITCHBACK_TEST_PG_CA, the CA
#                                   of its TLS certificate for 127.0.0.1) for tests/run to source
#   tests/peers/postgres.sh stop    stop it by the PID in its postmaster.pid
#
# initdb and postgres refuse to run as root: as root they run as the `postgres` user (Debian's
# package creates it). Password authentication (SCRAM) is on, so the tests go through it.
# fsync is off: this server holds test data only.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DIR="$PWD/target/peers/postgres"
DATA="$DIR/data"
ENVFILE="$DIR/env"

log() { printf '==> %s\n' "$*" >&2; }

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$d" ] || [ ! -x "$d/pg_ctl" ]; then
    log "PostgreSQL's server binaries (Debian package postgresql) are not installed" >&2
    exit 1
  fi
  printf '%s\n' "$d"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

stop() {
  local pid
  if [ -f "$DATA/postmaster.pid" ]; then
    pid=$(head -n 1 "$DATA/postmaster.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -INT "$pid" 2>/dev/null || true  # fast shutdown
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$ENVFILE"
}

start() {
  local bin port password
  bin=$(bindir)
  stop
  rm -rf "$DATA"
  mkdir -p "$DATA"
  password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  printf '%s\n' "$password" >"$DIR/pwfile"
  chmod 600 "$DIR/pwfile"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres "$DIR"; fi
  as_owner "$bin/initdb" -D "$DATA" -U switchback --pwfile="$DIR/pwfile" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
  rm -f "$DIR/pwfile"
  # TLS: a CA of our own and a server certificate for 127.0.0.1 (the tests verify it).
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=switchback test CA" \
    -keyout "$DIR/ca.key" -out "$DIR/ca.pem" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$DATA/server.key" -out "$DIR/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$DIR/ext"
  openssl x509 -req -in "$DIR/server.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" -CAcreateserial \
    -days 2 -extfile "$DIR/ext" -out "$DATA/server.crt" >/dev/null 2>&1
  chmod 600 "$DATA/server.key"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$DATA/server.key" "$DATA/server.crt"; fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_owner "$bin/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$DIR \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
        -c ssl=on" \
    start >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
  umask 077
  {
    printf 'export SWITCHBACK_TEST_POSTGRES=%q\n' "postgres://switchback@127.0.0.1:$port/postgres"
    printf 'export SWITCHBACK_TEST_PGPASSWORD=%q\n' "$password"
    printf 'export SWITCHBACK_TEST_PG_CA=%q\n' "$DIR/ca.pem"
  } >"$ENVFILE"
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $DATA)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
