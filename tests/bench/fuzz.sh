#!/usr/bin/env bash
# Coverage-guided fuzzing of the five parsers that take outside input (fuzz/src/*.rs says what
# each target feeds and which properties it checks): libFuzzer through `cargo fuzz`, on the
# stable toolchain, no sanitizer (-s none: the parsers hold no unsafe code), debug assertions
# and overflow checks off as in the release build.
#
#   tests/bench/fuzz.sh                    # dns 20,000,000 runs, the others 2,000,000 each
#   DNS_RUNS=1000000 RUNS=100000 tests/bench/fuzz.sh dns webhook   # a quick look at two
#   MERGE=1 tests/bench/fuzz.sh            # then fold what the run found into fuzz/corpus/
#                                          # (inputs of at most 1 KiB)
#
# Each target starts from the committed seeds (fuzz/corpus/TARGET) plus the working corpus of
# earlier runs (target/fuzz/corpus/TARGET). A failing input is copied to
# fuzz/regressions/TARGET/ (replayed by `cargo test -p switchback-fuzz` from then on, so it
# stays fixed) and the script exits 1. cargo-fuzz is installed into target/tools when missing
# (crates.io); the first build takes ~8 minutes on 2 cores (one codegen unit, as cargo fuzz
# builds).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DNS_RUNS="${DNS_RUNS:-20000000}"
RUNS="${RUNS:-2000000}"
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(dns zonefile config webhook update)

if ! command -v cargo-fuzz >/dev/null; then
  export PATH="$PWD/target/tools/bin:$PATH"
  command -v cargo-fuzz >/dev/null ||
    cargo install --locked --quiet --root target/tools cargo-fuzz
fi
cargo fuzz build -s none --features libfuzzer 2>&1 | grep -v '^ *Compiling' || true
triple="$(rustc -vV | sed -n 's/^host: //p')"
bins="target/$triple/release"

printf '%-9s %12s %10s %9s %10s %8s\n' target runs exec/s seconds "new units" crashes
status=0
for t in "${TARGETS[@]}"; do
  runs="$RUNS"
  [ "$t" = dns ] && runs="$DNS_RUNS"
  work="target/fuzz/corpus/$t"
  art="target/fuzz/artifacts/$t"
  mkdir -p "$work" "$art"
  log="target/fuzz/$t.log"
  set +e
  "$bins/$t" "$work" "fuzz/corpus/$t" -runs="$runs" -max_len=4096 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" >"$log" 2>&1
  rc=$?
  set -e
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  done_line="$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1 || true)"
  secs="$(echo "$done_line" | sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p')"
  crashes=0
  if [ $rc -ne 0 ]; then
    status=1
    mkdir -p "fuzz/regressions/$t"
    for f in "$art"/*; do
      [ -f "$f" ] || continue
      crashes=$((crashes + 1))
      cp "$f" "fuzz/regressions/$t/"
    done
    echo "--- $t failed (exit $rc); the input is in fuzz/regressions/$t/; log: $log" >&2
    grep -E "panicked|ERROR|SUMMARY" "$log" | head -5 >&2
  fi
  printf '%-9s %12s %10s %9s %10s %8s\n' "$t" "$(stat number_of_executed_units)" \
    "$(stat average_exec_per_sec)" "${secs:-?}" "$(stat new_units_added)" "$crashes"
  if [ "${MERGE:-0}" = 1 ] && [ $rc -eq 0 ]; then
    # The inputs that add coverage to the committed corpus; only those of at most 1 KiB are
    # committed (the repository stays small, the replay takes about 2 s), the rest stay in
    # the working corpus.
    merged="target/fuzz/merged/$t"
    rm -rf "$merged"
    mkdir -p "$merged"
    cp fuzz/corpus/"$t"/* "$merged"/
    "$bins/$t" -merge=1 -max_len=4096 "$merged" "$work" >"target/fuzz/$t.merge.log" 2>&1
    find "$merged" -type f -size -1025c -exec cp -n {} "fuzz/corpus/$t/" \;
  fi
done
exit $status
