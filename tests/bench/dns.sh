#!/usr/bin/env bash
# DNS benchmark: Switchback's built-in server against Knot DNS and NSD
#
#   tests/bench/dns.sh                         # Switchback, Knot, NSD, floor (~5 min)
#   SERVERS="knot nsd" tests/bench/dns.sh      # without Switchback
#   RUNS=1 SECONDS_PER_RUN=5 tests/bench/dns.sh   # a quick look
#   tests/bench/dns.sh rss                     # peak RSS, 100,000-record zone
#
# Needs knot, nsd, dnsperf, bind9-dnsutils (apt-get), python3, a C compiler (cc) and
# 2 CPUs.
# Switchback is built first with `cargo build --release` (NO_BUILD=1, or
# SWITCHBACK_BIN=path, to skip that).
#
# What it does. tests/bench/gen.py writes, with a fixed seed, the zone
# bench.example. (~1,200 records: SOA, NS with glue, ~1,000 A, ~100 AAAA,
# MX, TXT, SRV, CAA, CNAME chains, a delegation with glue, a wildcard
# *.wild.bench.example.) and a 10,000-line dnsperf query file (80% A, 10%
# AAAA, 5% NXDOMAIN, 5% MX/TXT/SRV/SOA/NS/CNAME/wildcard/referral) into
# target/bench/. Each server in turn serves that zone on a free 127.0.0.1
# port with 2 UDP workers (Knot udp-workers: 2; NSD server-count: 2,
# reuseport: yes, rrl-ratelimit: 0; Switchback udp_workers = 2), every
# thread pinned to CPU 1 (knotd pins one UDP worker to CPU 0 by itself; the
# script moves it back), while dnsperf -c 4 runs pinned to CPU 0. A few dig
# queries first check that the server answers the zone right, and dnsperf's
# rcode mix is checked on every run: a fast wrong answer is not a result.
# Then RUNS runs of SECONDS_PER_RUN s at full speed, one run at a steady
# 20,000 qps, and the server's peak RSS. Only one benchmark runs at a time
# on a machine (a lock in /tmp); each run first waits for both CPUs to be
# idle, and is run again if other processes used more than 0.2 core during
# it.
#
# The socket floor (row "floor"): tests/bench/floor.c, built by the script with cc -O2,
# answers each query with the query itself (QR set) through the loop the built-in server
# runs (SO_REUSEPORT sockets, 2 worker threads, recvmmsg/sendmmsg of up to 64): no DNS work
# at all, so its qps per core is the most any server can get from the kernel here. It is
# not checked for right answers (it has none: every rcode is NOERROR).
#
# Reading the table (one row per server):
#   qps       median of dnsperf's "Queries per second". dnsperf on its one
#             core is the ceiling (about 130-150k qps on the 2-core VM this
#             was written on), so raw qps cannot rank two fast servers.
#   CPU       the server's CPU share during those runs: utime+stime of all
#             its threads and processes (/proc/PID/stat) over the run's wall
#             time. 1.00 = its one core busy all the time.
#   qps/core  median over the runs of qps / CPU: the throughput per core of
#             server CPU. The figure to compare; the goal is
#             Switchback/NSD >= 1.20 and Switchback/floor >= 0.95.
#   CPU@20k   server CPU, in % of one core, under a steady 20,000 qps
#             (dnsperf -Q 20000): the cost at a realistic load; lower is
#             better.
#   p50@20k, p99@20k
#             median and 99th percentile of the answers' latencies in that
#             same 20k run (dnsperf -v prints each; timeouts left out), in
#             microseconds, client-side. The goal: Switchback's p99 no worse
#             than NSD's.
#   VmHWM     peak resident memory after the runs (/proc/PID/status; for
#             NSD the sum over its 4 processes, shared pages counted in each).
#   lost, lost@20k
#             queries with no answer, in % of those sent, in the full-speed
#             runs and in the 20k run. Above ~0.1% the server drops packets
#             and its qps is suspect.
#   others    the most CPU (in cores) that anything else used on CPUs 0-1
#             during one of the server's runs: wall time - idle time
#             (/proc/stat) - server - dnsperf. About 0.02 at full speed and
#             0.1 at 20k qps on an idle machine (kernel network work); above
#             0.2 the row says "busy machine!": do not trust it, run again.
# Below the table: qps/core of Switchback / NSD, / Knot and / floor (the share of the
# socket floor).
# From one run of the script to the next, qps/core moves by up to +-10% on a
# VM: compare servers within one run, not across runs. Per-run details are
# printed on stderr; dnsperf outputs and server logs are kept in
# target/bench/peak/logs/.
#
# `dns.sh rss` (or RSS_ZONE=N) does the same with a zone of RSS_ZONE records
# (100,000 by default) for Switchback and Knot: time to answer after start,
# VmHWM after the load, VmHWM and VmRSS after RSS_SECONDS of queries, and
# the ratio of Switchback's VmHWM to Knot's. Its row switchback-restart is Switchback started
# again on the state store the switchback row filled (a restart: the zone comes from the
# store, the file it holds unchanged is not parsed).
#
# Environment, defaults in brackets:
#   SERVERS ["switchback knot nsd floor"; rss: "switchback switchback-restart knot"]; add
#     switchback-rrl for a row with every answer accounted by RRL (see below)
#   RUNS [3]  SECONDS_PER_RUN [15]  FIXED_QPS [20000]
#   FIXED_SECONDS [SECONDS_PER_RUN]  CLIENTS [4] (dnsperf -c)
#   RECORDS [1200]  QUERIES [10000]  SEED [1]  RSS_ZONE [100000]
#   RSS_SECONDS [5]  SERVER_CPU [1]  CLIENT_CPU [0]  STARTUP_TIMEOUT [60]
#   BENCH_DIR [target/bench]  DNSPERF_ARGS [] (added to every dnsperf)
#   NSD_MINIMAL [no]: NSD's minimal-responses. By default NSD puts the apex
#     NS set and glue in every answer (~180-byte responses, against ~60 for
#     Knot); "yes" makes its answers minimal too.
#   NOISE_MAX [0.2]  RETRIES [3]: a run during which other processes used
#     more than NOISE_MAX cores is redone, at most RETRIES times per server
#   QUIET_WAIT [60]: how long each run may wait for idle CPUs
#   SWITCHBACK_BIN [target/release/switchback]  NO_BUILD []
#   BENCH_LOCK [/tmp/switchback-dns-bench.lock]  LOCK_WAIT [900]
# Exit status: 0 ok; 1 a server failed to start, the build or dnsperf
# failed; 3 a server gave a wrong answer or an unexpected rcode mix.
set -euo pipefail
set +m # no job control: `setsid` must exec in place so that $! is the server

MODE=${1:-peak}
case "$MODE" in
peak | rss) ;;
-h | --help | help)
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: $0 [peak|rss]" >&2
	exit 2
	;;
esac
if [[ -n ${RSS_ZONE:-} ]]; then MODE=rss; fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/tests/bench"
if [[ $MODE == rss ]]; then
	SERVERS=${SERVERS:-"switchback switchback-restart knot"}
else
	SERVERS=${SERVERS:-"switchback knot nsd floor"}
fi
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
CLIENTS=${CLIENTS:-4}
FIXED_QPS=${FIXED_QPS:-20000}
FIXED_SECONDS=${FIXED_SECONDS:-$SECONDS_PER_RUN}
RECORDS=${RECORDS:-1200}
QUERIES=${QUERIES:-10000}
SEED=${SEED:-1}
RSS_ZONE=${RSS_ZONE:-100000}
RSS_SECONDS=${RSS_SECONDS:-5}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-60}
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}
DNSPERF_ARGS=${DNSPERF_ARGS:-}
SWITCHBACK_BIN=${SWITCHBACK_BIN:-$ROOT/target/release/switchback}
ZONE=bench.example.
CLK_TCK=$(getconf CLK_TCK)

log() { printf '%s\n' "$*" >&2; }
die() {
	log "dns.sh: $*"
	exit 1
}

# ---------------------------------------------------------------- clean-up
STARTED=() # pids of servers we started (each the leader of its own session)
stop_server() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || {
		wait "$pid" 2>/dev/null || true
		kill -KILL -- "-$pid" 2>/dev/null || true
		return 0
	}
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	# anything left in the server's own process group (NSD's children, or a
	# server that ignored TERM) is killed; the group holds only what we started
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	local pid
	if [[ -n ${DNSPERF_PID:-} ]]; then
		kill -TERM "$DNSPERF_PID" 2>/dev/null || true
		wait "$DNSPERF_PID" 2>/dev/null || true
		DNSPERF_PID=
	fi
	for pid in "${STARTED[@]}"; do stop_server "$pid"; done
	STARTED=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- checks
for tool in dnsperf dig taskset python3 getconf flock ss; do
	command -v "$tool" >/dev/null || die "$tool not found (apt-get install dnsperf bind9-dnsutils util-linux python3)"
done
for s in $SERVERS; do
	case $s in
	knot) command -v knotd >/dev/null || die "knotd not found (apt-get install knot)" ;;
	nsd) command -v nsd >/dev/null || die "nsd not found (apt-get install nsd)" ;;
	floor) command -v cc >/dev/null || die "cc not found (apt-get install gcc)" ;;
	switchback | switchback-rrl | switchback-restart) ;;
	*) die "unknown server '$s' in SERVERS (switchback switchback-rrl knot nsd floor)" ;;
	esac
done
NCPU=$(nproc --all)
((NCPU > SERVER_CPU && NCPU > CLIENT_CPU && SERVER_CPU != CLIENT_CPU)) || die "needs CPUs $CLIENT_CPU and $SERVER_CPU; this machine has $NCPU"

if [[ " $SERVERS " == *" switchback"* && -z ${NO_BUILD:-} ]]; then
	log "building switchback (cargo build --release) ..."
	(cd "$ROOT" && timeout 1800 cargo build --release) >&2 || die "cargo build --release failed"
fi
if [[ " $SERVERS " == *" switchback"* ]]; then
	[[ -x $SWITCHBACK_BIN ]] || die "no switchback binary at $SWITCHBACK_BIN"
fi

# ---------------------------------------------------------------- lock
# one benchmark at a time on this machine: two would share the CPUs (and the
# work folder) and both sets of figures would be wrong
BENCH_LOCK=${BENCH_LOCK:-/tmp/switchback-dns-bench.lock}
exec 9>>"$BENCH_LOCK"
if ! flock -n 9; then
	log "another dns.sh run holds $BENCH_LOCK; waiting up to ${LOCK_WAIT:-900}s ..."
	flock -w "${LOCK_WAIT:-900}" 9 || die "gave up waiting for $BENCH_LOCK"
fi

# ---------------------------------------------------------------- data
WORK="$BENCH_DIR/$MODE"
rm -rf "$WORK"
mkdir -p "$WORK/zones" "$WORK/logs"
if [[ $MODE == rss ]]; then RECORDS=$RSS_ZONE; fi
python3 "$HERE/gen.py" --records "$RECORDS" --queries "$QUERIES" --seed "$SEED" --out "$WORK/data" 2>"$WORK/logs/gen.txt" ||
	die "gen.py failed: $(cat "$WORK/logs/gen.txt")"
log "$(cat "$WORK/logs/gen.txt")"
mv "$WORK/data/bench.example.zone" "$WORK/zones/"
ZONEDIR="$WORK/zones"
QFILE="$WORK/data/queries.txt"
CHECKS="$WORK/data/checks.txt"
# the NXDOMAIN share the query file should produce (dnsperf loops over it)
NX_EXPECT=$(awk '$1 ~ /^nx[0-9a-f]+\./ {n++} END {printf "%.2f", 100 * n / NR}' "$QFILE")

# ---------------------------------------------------------------- helpers
free_port() {
	python3 - <<'EOF'
import socket
for _ in range(100):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p))
    except OSError:
        t.close()
        continue
    print(p)
    break
EOF
}

# the server pid and all its descendants (NSD forks its server processes)
tree_pids() {
	local p=$1 c
	[[ -d /proc/$p ]] || return 0
	echo "$p"
	for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_pids "$c"; done
}

# utime+stime (clock ticks) of a process tree; /proc/PID/stat of a process
# sums all its threads, live and exited
cpu_ticks() {
	local total=0 p s
	local -a f
	for p in $(tree_pids "$1"); do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*) } # drop "pid (comm) ", comm may hold spaces
		read -r -a f <<<"$s"
		total=$((total + f[11] + f[12])) # fields 14 and 15: utime, stime
	done
	echo "$total"
}

# a /proc/PID/status field (kB) summed over the process tree
status_kb() {
	local total=0 p v
	for p in $(tree_pids "$1"); do
		v=$(awk -v k="$2:" '$1 == k {print $2}' "/proc/$p/status" 2>/dev/null) || true
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

now_ns() { date +%s%N; }

# idle+iowait ticks of the client and server CPUs. Under NO_HZ the kernel
# measures idle time exactly, while the busy fields of /proc/stat are only
# sampled at each tick; /proc/PID/stat is exact too (scaled to the
# scheduler's run time), so busy = wall time - idle is what compares with it
cpus_idle() {
	awk -v a="cpu$CLIENT_CPU" -v b="cpu$SERVER_CPU" \
		'$1 == a || $1 == b {t += $5 + $6} END {print t}' /proc/stat
}

# user+sys ticks of this shell's reaped children, from a `times` output file
children_ticks() {
	awk -v hz="$CLK_TCK" 'NR == 2 {
		for (i = 1; i <= 2; i++) {split($i, a, "m"); sub(/s/, "", a[2]); t += a[1] * 60 + a[2]}
		printf "%d\n", t * hz + 0.5
	}' "$1"
}

# start_server NAME: writes its config, starts it pinned to SERVER_CPU in its
# own session, waits until it answers SOA. Sets PID and PORT.
start_server() {
	local name=$1 run="$WORK/$1" t0 out
	if [[ $name == switchback-restart ]]; then
		# the same server again on the store the switchback row filled
		run="$WORK/switchback"
		[[ -f $run/switchback.toml ]] || {
			log "switchback-restart needs the switchback row first"
			return 1
		}
	else
		rm -rf "$run"
		mkdir -p "$run"
	fi
	PORT=$(free_port)
	[[ -n $PORT ]] || die "no free port"
	local -a cmd
	case $name in
	knot)
		mkdir -p "$run/storage"
		cat >"$run/knot.conf" <<EOF
server:
    rundir: "$run"
    user: root:root
    listen: 127.0.0.1@$PORT
    udp-workers: 2
    tcp-workers: 1
    background-workers: 1

log:
  - target: stderr
    any: warning

database:
    storage: "$run/storage"

template:
  - id: default
    storage: "$ZONEDIR"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none

zone:
  - domain: ${ZONE%.}
EOF
		cmd=(knotd -c "$run/knot.conf")
		;;
	nsd)
		cat >"$run/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$PORT
    do-ip4: yes
    do-ip6: no
    server-count: 2
    reuseport: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    zonesdir: "$ZONEDIR"
    pidfile: "$run/nsd.pid"
    username: ""
    chroot: ""
    database: ""
    zonelistfile: "$run/zone.list"
    xfrdfile: "$run/xfrd.state"
    xfrdir: "$run"
    verbosity: 0
    hide-version: yes
    tcp-count: 16
    minimal-responses: ${NSD_MINIMAL:-no}

remote-control:
    control-enable: no

zone:
    name: $ZONE
    zonefile: "$ZONEDIR/bench.example.zone"
EOF
		nsd-checkconf "$run/nsd.conf" >"$run/checkconf.txt" 2>&1 ||
			{
				log "nsd-checkconf rejected the config: $(cat "$run/checkconf.txt")"
				return 1
			}
		cmd=(nsd -d -c "$run/nsd.conf")
		;;
	switchback | switchback-rrl)
		# RRL is on by default with loopback exempt: the plain row answers every query
		# past the exemption check. switchback-rrl takes loopback out of the exemption and
		# sets a limit no run reaches, so every answer is accounted in the RRL table.
		rrl=""
		[[ $name == switchback-rrl ]] &&
			rrl='rrl = { responses_per_second = 4000000000, exempt = [] }'
		cat >"$run/switchback.toml" <<EOF
[server]
dns = ["127.0.0.1:$PORT"]
zones = "$ZONEDIR"
state = "$run/state.db"
udp_workers = 2
$rrl
EOF
		cmd=("$SWITCHBACK_BIN" -c "$run/switchback.toml" serve)
		;;
	switchback-restart)
		sed -i "s/^dns = .*/dns = [\"127.0.0.1:$PORT\"]/" "$run/switchback.toml"
		cmd=("$SWITCHBACK_BIN" -c "$run/switchback.toml" serve)
		;;
	floor)
		cc -O2 -pthread -o "$run/floor" "$HERE/floor.c" 2>"$run/cc.txt" ||
			{
				log "cannot build the socket floor: $(cat "$run/cc.txt")"
				return 1
			}
		cmd=("$run/floor" 127.0.0.1 "$PORT" 2)
		;;
	esac
	t0=$(now_ns)
	# no job control here, so setsid execs in place: $! is the server itself,
	# the leader of a new session and process group
	RUST_LOG=${RUST_LOG:-warn} setsid taskset -c "$SERVER_CPU" "${cmd[@]}" \
		</dev/null >"$WORK/logs/$name.log" 2>&1 9>&- &
	PID=$!
	STARTED+=("$PID")
	while :; do
		if ! kill -0 "$PID" 2>/dev/null; then
			log "$name exited during start-up; last lines of $WORK/logs/$name.log:"
			tail -n 20 "$WORK/logs/$name.log" >&2
			return 1
		fi
		if [[ $name == floor ]]; then
			# an echo: the question back with NOERROR, no answer
			out=$(dig +time=1 +tries=1 -p "$PORT" @127.0.0.1 "$ZONE" SOA 2>/dev/null) || true
			[[ $out == *"status: NOERROR"* ]] && break
		else
			out=$(dig +short +time=1 +tries=1 -p "$PORT" @127.0.0.1 "$ZONE" SOA 2>/dev/null) || true
			[[ $out == *"$ZONE"* ]] && break
		fi
		if (($(now_ns) - t0 > STARTUP_TIMEOUT * 1000000000)); then
			log "$name did not answer SOA on 127.0.0.1:$PORT within ${STARTUP_TIMEOUT}s; see $WORK/logs/$name.log"
			tail -n 20 "$WORK/logs/$name.log" >&2
			return 1
		fi
		sleep 0.1
	done
	LOAD_S=$(awk -v a="$t0" -v b="$(now_ns)" 'BEGIN {printf "%.2f", (b - a) / 1e9}')
	log "$name: pid $PID on 127.0.0.1:$PORT, answering after ${LOAD_S}s"
	pin_server "$name"
	# bound only to loopback?
	local bad
	bad=$(ss -Hlnup 2>/dev/null | grep -E "pid=($(tree_pids "$PID" | paste -sd'|'))," | awk '$4 !~ /^127\.0\.0\.1:/ {print $4}' | sort -u | paste -sd' ') || true
	[[ -z $bad ]] || log "WARNING: $name also listens on $bad"
}

# threads of the server (all its processes) not allowed on SERVER_CPU alone
unpinned_threads() {
	local p t
	for p in $(tree_pids "$PID"); do
		for t in /proc/"$p"/task/*; do
			[[ $(awk '$1 == "Cpus_allowed_list:" {print $2}' "$t/status" 2>/dev/null) == "$SERVER_CPU" ]] ||
				echo "${t##*/}"
		done
	done
}

# taskset at exec is not enough: a server may set its threads' affinity
# itself (knotd pins UDP worker i to CPU i mod the online CPUs, which puts
# one worker on dnsperf's CPU). Pin every thread back to SERVER_CPU.
pin_server() {
	local name=$1 p bad
	bad=$(unpinned_threads | wc -l)
	((bad == 0)) && return 0
	for p in $(tree_pids "$PID"); do
		taskset -a -p -c "$SERVER_CPU" "$p" >/dev/null 2>&1 || true
	done
	log "$name: $bad thread(s) had set their own CPU affinity; pinned back to CPU $SERVER_CPU"
	bad=$(unpinned_threads | wc -l)
	((bad == 0)) || log "WARNING: $name: $bad thread(s) still not pinned to CPU $SERVER_CPU"
}

# sanity: the answers must be right before the speed means anything
check_answers() {
	local name=$1 q t rc want out status first bad=0
	while read -r q t rc want; do
		out=$(dig +norec +time=2 +tries=2 -p "$PORT" @127.0.0.1 "$q" "$t" 2>&1) || true
		status=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out")
		first=$(awk '/^;; ANSWER SECTION:/ {a = 1; next} a && NF >= 5 {print $5; exit}' <<<"$out")
		if [[ $status != "$rc" || ($want != - && $first != "$want") ]]; then
			log "WRONG ANSWER from $name: $q $t -> ${status:-no answer} ${first:-} (want $rc $want)"
			bad=1
		fi
	done <"$CHECKS"
	return $bad
}

# run_dnsperf NAME LABEL SECONDS [extra dnsperf args]: one dnsperf run against
# PID/PORT; sets RESULT to "qps share lost sent nx_pct other_rcodes wall_s
# client_share noise", noise being the CPU (in cores) that neither the server
# nor dnsperf used on their two CPUs during the run: other processes.
# dnsperf runs in the background and is waited for, so that INT/TERM stop
# the script (and, through the EXIT trap, dnsperf and the server) at once.
DNSPERF_PID=
run_dnsperf() {
	local name=$1 label=$2 secs=$3
	shift 3
	local out="$WORK/logs/$name-$label.dnsperf" c0 c1 t0 t1 b0 b1 d0 d1 rc=0
	RESULT=
	b0=$(cpus_idle)
	c0=$(cpu_ticks "$PID")
	t0=$(now_ns)
	times >"$out.times0"
	# shellcheck disable=SC2086
	timeout --foreground -k 5 $((secs + 30)) taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" \
		-d "$QFILE" -l "$secs" -c "$CLIENTS" "$@" $DNSPERF_ARGS </dev/null >"$out" 2>&1 9>&- &
	DNSPERF_PID=$!
	wait "$DNSPERF_PID" || rc=$?
	DNSPERF_PID=
	times >"$out.times1"
	t1=$(now_ns)
	c1=$(cpu_ticks "$PID")
	b1=$(cpus_idle)
	if ((rc != 0)); then
		log "dnsperf failed (exit $rc) against $name ($label); see $out"
		tail -n 5 "$out" >&2
		return 1
	fi
	d0=$(children_ticks "$out.times0")
	d1=$(children_ticks "$out.times1")
	RESULT=$(awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$CLK_TCK" \
		-v idle=$((b1 - b0)) -v client=$((d1 - d0)) '
		/Queries sent:/ {sent = $3}
		/Queries lost:/ {lost = $3}
		/Run time \(s\):/ {rt = $4}
		/Queries per second:/ {qps = $4}
		/Response codes:/ {
			sub(/.*Response codes: */, "")
			n = split($0, parts, /, */)
			for (i = 1; i <= n; i++) {
				split(parts[i], w, " ")
				tot += w[2]; cnt[w[1]] = w[2]
				if (w[1] != "NOERROR" && w[1] != "NXDOMAIN") other = other w[1] ":" w[2] ","
			}
		}
		END {
			if (qps == "") exit 1
			wall = (t1 - t0) / 1e9
			share = (c1 - c0) / (hz * wall)
			nx = tot ? 100 * cnt["NXDOMAIN"] / tot : 0
			cshare = client / (hz * wall)
			noise = (2 * hz * wall - idle - (c1 - c0) - client) / (hz * wall)
			printf "%.1f %.3f %d %d %.2f %s %.3f %.3f %.3f\n", qps, share, lost, sent, nx, (other == "" ? "-" : other), wall, cshare, noise
		}' "$out") || {
		log "could not parse dnsperf output $out"
		return 1
	}
}

# latency_percentiles FILE: the median and the 99th percentile of the answers' latencies
# in dnsperf -v output, in microseconds ("- -" when there are none).
latency_percentiles() {
	awk '/^> / && NF == 5 && $2 != "T" {print $5 * 1e6}' "$1" | sort -g | awk '
		{v[NR] = $1}
		END {
			if (!NR) {print "- -"; exit}
			p50 = int(NR * 0.50); p99 = int(NR * 0.99)
			if (p50 < 1) p50 = 1
			if (p99 < 1) p99 = 1
			printf "%.0f %.0f\n", v[p50], v[p99]
		}'
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
kfmt() { awk -v v="$1" 'BEGIN {if (v >= 1e6) printf "%.2fM", v / 1e6; else printf "%.1fk", v / 1e3}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

# ---------------------------------------------------------------- run
STATUS=0
log "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg) (should be near 0); CLK_TCK=$CLK_TCK; $NCPU CPUs"
log "server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU; expected NXDOMAIN share ${NX_EXPECT}%"
declare -A R_QPS R_SHARE R_QPC R_CPU20 R_P50 R_P99 R_Q20 R_HWM R_LOST R_LOST20 R_NOTE R_LOAD R_HWM_LOAD R_RSS R_NOISE

# wait_quiet: up to QUIET_WAIT seconds for the two CPUs to be idle (other
# than the server) over a second, so that a run does not start in the middle
# of somebody's build
wait_quiet() {
	local deadline=$((SECONDS + ${QUIET_WAIT:-60})) i0 i1 c0 c1 busy waited=0
	while :; do
		i0=$(cpus_idle)
		c0=$(cpu_ticks "$PID")
		sleep 1
		i1=$(cpus_idle)
		c1=$(cpu_ticks "$PID")
		busy=$((2 * CLK_TCK - (i1 - i0) - (c1 - c0)))
		((busy <= CLK_TCK / 20)) && break
		if ((SECONDS >= deadline)); then
			log "  (the machine is still busy, $busy ticks/s besides the server; running anyway)"
			return 0
		fi
		((waited)) || log "  (waiting for the machine to be idle: $busy ticks/s besides the server)"
		waited=1
	done
}

# one_run NAME LABEL SECONDS [dnsperf args]: run_dnsperf after wait_quiet,
# redone (at most RETRIES times per server) when others used > NOISE_MAX
one_run() {
	local name=$1 label=$2
	while :; do
		wait_quiet
		run_dnsperf "$@" || return 1
		read -r _ _ _ _ _ _ _ _ noise <<<"$RESULT"
		if awk -v n="$noise" -v m="${NOISE_MAX:-0.2}" 'BEGIN {exit !(n > m)}' && ((RETRIES_LEFT > 0)); then
			RETRIES_LEFT=$((RETRIES_LEFT - 1))
			log "  $name $label: other processes used $noise of a core during the run; running it again"
			continue
		fi
		return 0
	done
}

bench_peak() {
	local name=$1 r line qps share lost sent nx other wall cshare noise qpc
	local qpss="" shares="" qpcs="" lost_sum=0 sent_sum=0 noisemax=0
	RETRIES_LEFT=${RETRIES:-3}
	for ((r = 1; r <= RUNS; r++)); do
		one_run "$name" "run$r" "$SECONDS_PER_RUN" || return 1
		read -r qps share lost sent nx other wall cshare noise <<<"$RESULT"
		noisemax=$(awk -v a="$noise" -v b="$noisemax" 'BEGIN {print (a > b ? a : b)}')
		qpc=$(awk -v q="$qps" -v s="$share" 'BEGIN {print (s > 0 ? q / s : 0)}')
		qpss+="$qps "
		shares+="$share "
		qpcs+="$qpc "
		lost_sum=$((lost_sum + lost))
		sent_sum=$((sent_sum + sent))
		log "  $name run $r/$RUNS: $(kfmt "$qps") qps, CPU $share, $(kfmt "$qpc") qps/core, lost $lost/$sent, NXDOMAIN ${nx}%${other/#-/}, ${wall}s, dnsperf CPU $cshare, others' CPU $noise"
		if [[ $name != floor ]] && { [[ $other != - ]] || awk -v a="$nx" -v b="$NX_EXPECT" 'BEGIN {d = a - b; exit !(d > 1 || d < -1)}'; }; then
			log "  WARNING: $name's rcode mix is off (NXDOMAIN ${nx}%, expected ${NX_EXPECT}%; other: $other)"
			R_NOTE[$name]+="rcodes! "
			((STATUS == 1)) || STATUS=3
		fi
	done
	R_QPS[$name]=$(median <<<"$qpss")
	R_SHARE[$name]=$(median <<<"$shares")
	R_QPC[$name]=$(median <<<"$qpcs")
	R_LOST[$name]=$(awk -v l="$lost_sum" -v s="$sent_sum" 'BEGIN {printf "%.3f%%", s ? 100 * l / s : 0}')
	# -v: one line per answer with its latency ("> RCODE NAME TYPE SECONDS"; "> T ..." a
	# timeout, left out), for the percentiles at this fixed load.
	one_run "$name" "fixed" "$FIXED_SECONDS" -Q "$FIXED_QPS" -v || return 1
	read -r qps share lost sent nx other wall cshare noise <<<"$RESULT"
	read -r R_P50["$name"] R_P99["$name"] <<<"$(latency_percentiles "$WORK/logs/$name-fixed.dnsperf")"
	noisemax=$(awk -v a="$noise" -v b="$noisemax" 'BEGIN {print (a > b ? a : b)}')
	R_NOISE[$name]=$noisemax
	if awk -v n="$noisemax" -v m="${NOISE_MAX:-0.2}" 'BEGIN {exit !(n > m)}'; then
		log "  WARNING: other processes used up to $noisemax of a core on CPUs $CLIENT_CPU,$SERVER_CPU during $name's runs: figures unreliable"
		R_NOTE[$name]+="busy machine! "
	fi
	R_CPU20[$name]=$(awk -v s="$share" 'BEGIN {printf "%.1f%%", 100 * s}')
	R_Q20[$name]=$qps
	R_LOST20[$name]=$(awk -v l="$lost" -v s="$sent" 'BEGIN {printf "%.3f%%", s ? 100 * l / s : 0}')
	log "  $name at -Q $FIXED_QPS: $(kfmt "$qps") qps, CPU ${R_CPU20[$name]}, latency p50 ${R_P50[$name]} us p99 ${R_P99[$name]} us, lost $lost/$sent, others' CPU $noise"
	R_HWM[$name]=$(status_kb "$PID" VmHWM)
	if [[ -n $(unpinned_threads) ]]; then
		log "  WARNING: $name has threads off CPU $SERVER_CPU after the runs (set their affinity later?)"
		R_NOTE[$name]+="unpinned! "
	fi
}

bench_rss() {
	local name=$1 line qps share lost sent nx other wall cshare noise
	R_HWM_LOAD[$name]=$(status_kb "$PID" VmHWM)
	RETRIES_LEFT=0
	one_run "$name" "rss" "$RSS_SECONDS" || return 1
	line=$RESULT
	read -r qps share lost sent nx other wall cshare noise <<<"$line"
	R_QPS[$name]=$qps
	R_HWM[$name]=$(status_kb "$PID" VmHWM)
	R_RSS[$name]=$(status_kb "$PID" VmRSS)
	log "  $name: VmHWM $(mib "${R_HWM_LOAD[$name]}") after load, $(mib "${R_HWM[$name]}") after ${RSS_SECONDS}s of queries, VmRSS then $(mib "${R_RSS[$name]}") ($(kfmt "$qps") qps, lost $lost/$sent)"
}

for name in $SERVERS; do
	log "== $name"
	if ! start_server "$name"; then
		R_NOTE[$name]="FAILED TO START"
		STATUS=1
		cleanup
		continue
	fi
	R_LOAD[$name]=$LOAD_S
	if [[ $name != floor ]] && ! check_answers "$name"; then
		R_NOTE[$name]+="wrong answers! "
		((STATUS == 1)) || STATUS=3
	fi
	if [[ $MODE == peak ]]; then
		bench_peak "$name" || {
			R_NOTE[$name]+="dnsperf failed "
			STATUS=1
		}
	else
		bench_rss "$name" || {
			R_NOTE[$name]+="dnsperf failed "
			STATUS=1
		}
	fi
	cleanup # stop this server before the next starts
done

# ---------------------------------------------------------------- report
ratio() { # ratio A B of two numbers, or "-"
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "-"}'
}
echo
if [[ $MODE == peak ]]; then
	echo "DNS benchmark: zone $ZONE ($RECORDS records), $(wc -l <"$QFILE") queries, dnsperf -c $CLIENTS on CPU $CLIENT_CPU, server on CPU $SERVER_CPU,"
	echo "median of $RUNS x ${SECONDS_PER_RUN}s; CPU@$((FIXED_QPS / 1000))k over ${FIXED_SECONDS}s at -Q $FIXED_QPS; $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r)"
	k=$((FIXED_QPS / 1000))
	printf '%-14s %10s %6s %10s %9s %9s %9s %10s %9s %9s %6s  %s\n' server qps CPU qps/core "CPU@${k}k" "p50@${k}k" "p99@${k}k" VmHWM lost "lost@${k}k" others notes
	for name in $SERVERS; do
		if [[ -z ${R_QPS[$name]:-} || -z ${R_CPU20[$name]:-} ]]; then
			printf '%-14s %10s %6s %10s %9s %9s %9s %10s %9s %9s %6s  %s\n' "$name" - - - - - - - - - - "${R_NOTE[$name]:-}"
			continue
		fi
		printf '%-14s %10s %6.2f %10s %9s %9s %9s %10s %9s %9s %6.2f  %s\n' "$name" "$(kfmt "${R_QPS[$name]}")" "${R_SHARE[$name]}" \
			"$(kfmt "${R_QPC[$name]}")" "${R_CPU20[$name]}" "${R_P50[$name]}us" "${R_P99[$name]}us" "$(mib "${R_HWM[$name]}")" "${R_LOST[$name]}" \
			"${R_LOST20[$name]}" "${R_NOISE[$name]}" "${R_NOTE[$name]:-}"
	done
	if [[ -n ${R_QPC[switchback]:-} ]]; then
		echo
		echo "qps/core Switchback/NSD:   $(ratio "${R_QPC[switchback]}" "${R_QPC[nsd]:-}")   (goal >= 1.20x)"
		echo "qps/core Switchback/Knot:  $(ratio "${R_QPC[switchback]}" "${R_QPC[knot]:-}")"
		echo "qps/core Switchback/floor: $(ratio "${R_QPC[switchback]}" "${R_QPC[floor]:-}")   (the share of the socket floor; goal >= 0.95x)"
		echo "p99 latency at $((FIXED_QPS / 1000))k qps Switchback/NSD: $(ratio "${R_P99[switchback]:-}" "${R_P99[nsd]:-}")   (goal <= 1.00x)"
		[[ -n ${R_QPC[switchback-rrl]:-} ]] &&
			echo "qps/core Switchback with every answer through RRL / without: $(ratio "${R_QPC[switchback-rrl]}" "${R_QPC[switchback]}")"
	fi
else
	echo "Peak RSS: zone $ZONE with $RECORDS records, then ${RSS_SECONDS}s of dnsperf; $(date -u +%Y-%m-%dT%H:%MZ)"
	printf '%-18s %8s %16s %18s %14s %10s  %s\n' server load "VmHWM after load" "VmHWM after query" "VmRSS at end" qps notes
	for name in $SERVERS; do
		if [[ -z ${R_HWM[$name]:-} ]]; then
			printf '%-18s %8s %16s %18s %14s %10s  %s\n' "$name" - - - - - "${R_NOTE[$name]:-}"
			continue
		fi
		printf '%-18s %7ss %16s %18s %14s %10s  %s\n' "$name" "${R_LOAD[$name]}" "$(mib "${R_HWM_LOAD[$name]}")" \
			"$(mib "${R_HWM[$name]}")" "$(mib "${R_RSS[$name]}")" "$(kfmt "${R_QPS[$name]}")" "${R_NOTE[$name]:-}"
	done
	if [[ -n ${R_HWM[switchback]:-} ]]; then
		echo
		echo "VmHWM Switchback/Knot: $(ratio "${R_HWM[switchback]}" "${R_HWM[knot]:-}")   (goal <= 1.00x at 100,000 records, <= 1.30x at 1,000,000)"
		[[ -n ${R_HWM[switchback-restart]:-} ]] &&
			echo "VmHWM Switchback restarted/Knot: $(ratio "${R_HWM[switchback-restart]}" "${R_HWM[knot]:-}"); first answer after a restart / Knot's start: $(ratio "${R_LOAD[switchback-restart]}" "${R_LOAD[knot]:-}")   (goal <= 2.00x at 1,000,000)"
	fi
fi
echo "(logs and dnsperf outputs: $WORK/logs)"
exit "$STATUS"
