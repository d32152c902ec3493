#!/usr/bin/env bash
# Status reads against DNS over TCP: TCP DNS latency of `switchback serve` with 2,700 runs in
# its state store, unloaded, under one client reading `GET /` and `/metrics` at 13/s, and
# under four clients reading flat out (tests/bench/status_load.py says how).
#
#   tests/bench/status_load.sh                        # RUNS=2700 QUERIES=3000 RATE=13
#   RUNS=20000 tests/bench/status_load.sh             # a store ten times the finding's
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if [ "${NO_BUILD:-0}" != 1 ]; then
  cargo build --release -q
fi
BIN="${SWITCHBACK_BIN:-$PWD/target/release/switchback}"
work="$PWD/target/bench/status_load"
rm -rf "$work"
mkdir -p "$work"
python3 tests/bench/status_load.py "$BIN" "$work"
