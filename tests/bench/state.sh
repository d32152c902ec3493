#!/usr/bin/env bash
# State benchmark: snapshot, diff and rollback of a big zone on the built-in provider, through
# the CLI as an operator runs them, with wall time and peak RSS (GNU time's "Maximum resident
# set size") of each command.
#
#   tests/bench/state.sh                 # 100,000 records
#   RECORDS=20000 tests/bench/state.sh   # a quicker look
#
# Steps (each one `switchback` process, release build, state store on local disk):
#   seed      first `zone export`: opens the store and seeds it from the zone file
#   snapshot  `snapshot create builtin bench.example`
#   apply     `apply ... --yes --force` of a copy with every A record moved (a failover-sized edit)
#   diff      `diff ID`: the live zone against the snapshot
#   rollback  `rollback ID --yes --force`: plan, journal, apply, verify
#   verify    `diff ID` again (must report identical)
# Goal (issue 17): snapshot, diff and rollback each under 1 s and 150 MB (issue 3 had 2 s, 300 MB).
# Needs python3 and GNU time (/usr/bin/time, Debian package `time`; installed when missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

RECORDS="${RECORDS:-100000}"
if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
  else
    echo "needs /usr/bin/time (apt-get install time)" >&2
    exit 1
  fi
fi
if [ "${NO_BUILD:-0}" != 1 ]; then
  cargo build --release -q
fi
BIN="${SWITCHBACK_BIN:-$PWD/target/release/switchback}"

work="$PWD/target/bench/state"
rm -rf "$work"
mkdir -p "$work/zones" "$work/gen"
python3 tests/bench/gen.py --records "$RECORDS" --queries 10 --seed 1 --out "$work/gen" >/dev/null
cp "$work/gen/bench.example.zone" "$work/zones/"
# Every A record moved to 198.18.0.0/15: the edit a failover of the whole zone would make.
sed -E 's/([[:space:]]A[[:space:]]+)192\.0\.[0-9]+\.[0-9]+/\1198.18.0.1/; s/([[:space:]]A[[:space:]]+)(10|172|203)\.[0-9.]+/\1198.18.0.2/' \
  "$work/gen/bench.example.zone" >"$work/moved.zone"
printf '[server]\nzones = "zones"\nstate = "state/state.db"\n' >"$work/switchback.toml"

results=()
step() {
  local name="$1"
  shift
  local t0 t1 rss
  t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/$name.rss" "$BIN" -c "$work/switchback.toml" "$@" >"$work/$name.out" 2>"$work/$name.err" || {
    echo "step $name failed:" >&2
    tail -5 "$work/$name.err" >&2
    exit 1
  }
  t1=$(date +%s.%N)
  rss=$(tail -1 "$work/$name.rss")
  results+=("$(printf '%-9s %8.2f s %8.1f MiB' "$name" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$rss / 1024" | bc -l)")")
}

records=$(grep -cvE '^\s*(;|\$|$)' "$work/zones/bench.example.zone" || true)
step seed zone export builtin bench.example --format json
step snapshot --json snapshot create builtin bench.example --label bench
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/snapshot.out")
step apply --json apply builtin bench.example "$work/moved.zone" --yes --force
step diff --json diff "$id"
step rollback --json rollback "$id" --yes --force
step verify --json diff "$id"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
d = json.load(open(f"{w}/diff.out"))
v = json.load(open(f"{w}/verify.out"))
r = json.load(open(f"{w}/rollback.out"))
assert not d["identical"] and d["changes"], "diff found the edit"
assert v["identical"], "rollback restored the snapshot"
print(f"diff: {len(d['changes'])} changed record sets; rollback plan: {len(r['plan']['changes'])} changes, run {r['run']}")
PY
echo "state benchmark: zone bench.example. with ~$records records, $(nproc) CPUs, $(date -u +%FT%TZ)"
printf '%-9s %10s %12s\n' step time "peak RSS"
for r in "${results[@]}"; do echo "$r"; done
