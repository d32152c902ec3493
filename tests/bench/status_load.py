#!/usr/bin/env python3
"""Status reads against DNS over TCP (issue 11, finding 5): `switchback serve` with RUNS runs
in its state store; TCP DNS latency over one connection with no HTTP load, then with one
client reading `GET /` and `GET /metrics` at RATE requests/s (the finding's load), then with
four clients reading as fast as the rate limit lets them. Prints median, p99 and max of each
phase and the ratio to the unloaded median. Run by tests/bench/status_load.sh."""

import json, os, socket, sqlite3, statistics, struct, subprocess, sys, threading, time
import urllib.request, urllib.error

BIN, WORK = sys.argv[1], sys.argv[2]
RUNS = int(os.environ.get("RUNS", "2700"))
QUERIES = int(os.environ.get("QUERIES", "3000"))
RATE = float(os.environ.get("RATE", "13"))


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


dns_port, api_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_STREAM)
os.makedirs(f"{WORK}/zones", exist_ok=True)
with open(f"{WORK}/zones/example.com.zone", "w") as f:
    f.write("$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n"
            "@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi A 192.0.2.90\n")
cfg = f"{WORK}/switchback.toml"
with open(cfg, "w") as f:
    f.write(f"""[server]
dns = ["127.0.0.1:{dns_port}"]
api = "127.0.0.1:{api_port}"
zones = "zones"
state = "state.db"

[api]
rate_per_second = 1000
burst = 1000

[[cutover]]
name = "web"
provider = "builtin"
zone = "example.com."
steering = "failover"
failback_stages = [50, 100]
soak = "0s"

[[cutover.record]]
name = "www.example.com."
type = "A"
recovery = ["198.51.100.80"]
""")


def cli(*args):
    subprocess.run([BIN, "-c", cfg, *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


# Real runs with their journals, then copies of them up to RUNS (the shape the finding saw).
cli("failover", "web", "--yes")
cli("failback", "web", "--stage", "1", "--yes")
cli("failback", "web", "--stage", "all", "--yes", "--skip-soak")
db = sqlite3.connect(f"{WORK}/state.db")
runs = db.execute("SELECT * FROM runs ORDER BY id").fetchall()
journal = db.execute("SELECT * FROM journal ORDER BY run_id, seq").fetchall()
next_id = max(r[0] for r in runs) + 1
with db:
    while next_id <= RUNS:
        for r in runs:
            if next_id > RUNS:
                break
            db.execute(f"INSERT INTO runs VALUES ({','.join('?' * len(r))})", (next_id, *r[1:]))
            for j in journal:
                if j[0] == r[0]:
                    db.execute(f"INSERT INTO journal VALUES ({','.join('?' * len(j))})",
                               (next_id, *j[1:]))
            next_id += 1
total_runs = db.execute("SELECT count(*) FROM runs").fetchone()[0]
total_journal = db.execute("SELECT count(*) FROM journal").fetchone()[0]
db.close()

serve = subprocess.Popen([BIN, "-c", cfg, "serve"], cwd=WORK, stdout=subprocess.DEVNULL,
                         stderr=open(f"{WORK}/serve.log", "w"))


def http_get(path):
    with urllib.request.urlopen(f"http://127.0.0.1:{api_port}{path}", timeout=10) as r:
        return r.status, len(r.read())


for _ in range(200):
    try:
        http_get("/healthz")
        break
    except OSError:
        time.sleep(0.05)

QUERY = (struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
         + b"\x03www\x07example\x03com\x00" + struct.pack(">HH", 1, 1))


def tcp_latencies(n):
    s = socket.create_connection(("127.0.0.1", dns_port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    msg = struct.pack(">H", len(QUERY)) + QUERY
    for _ in range(n):
        t0 = time.perf_counter()
        s.sendall(msg)
        hdr = b""
        while len(hdr) < 2:
            hdr += s.recv(2 - len(hdr))
        need = struct.unpack(">H", hdr)[0]
        body = b""
        while len(body) < need:
            body += s.recv(need - len(body))
        out.append(time.perf_counter() - t0)
        time.sleep(0.001)
    s.close()
    return out


def reader(stop, rate, counts):
    paths = ["/", "/metrics"]
    i = 0
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            status, size = http_get(paths[i % 2])
            counts[status] = counts.get(status, 0) + 1
            counts["bytes"] = max(counts.get("bytes", 0), size)
        except urllib.error.HTTPError as e:
            counts[e.code] = counts.get(e.code, 0) + 1
        i += 1
        if rate:
            time.sleep(max(0.0, 1.0 / rate - (time.perf_counter() - t0)))


def phase(name, readers, rate):
    stop, counts = threading.Event(), {}
    threads = [threading.Thread(target=reader, args=(stop, rate, counts)) for _ in range(readers)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    lat = sorted(tcp_latencies(QUERIES))
    secs = time.perf_counter() - t0
    stop.set()
    for t in threads:
        t.join()
    reads = sum(v for k, v in counts.items() if k != "bytes")
    return {"phase": name, "median_ms": statistics.median(lat) * 1e3,
            "p99_ms": lat[int(len(lat) * 0.99)] * 1e3, "max_ms": lat[-1] * 1e3,
            "http_reads_per_s": reads / secs, "http_status": {str(k): v for k, v in counts.items() if k != "bytes"},
            "largest_page_bytes": counts.get("bytes", 0)}


try:
    results = [phase("no HTTP load", 0, 0), phase(f"1 reader at {RATE:g}/s", 1, RATE),
               phase("4 readers flat out", 4, 0)]
finally:
    serve.terminate()
    serve.wait(timeout=10)

base = results[0]["median_ms"]
print(f"runs in the store: {total_runs} (journal rows: {total_journal}); "
      f"{QUERIES} TCP queries a phase over one connection")
print(f"{'phase':<22} {'median ms':>10} {'p99 ms':>8} {'max ms':>8} {'x median':>9} {'reads/s':>8}  statuses")
for r in results:
    print(f"{r['phase']:<22} {r['median_ms']:>10.3f} {r['p99_ms']:>8.3f} {r['max_ms']:>8.3f} "
          f"{r['median_ms'] / base:>9.2f} {r['http_reads_per_s']:>8.1f}  {r['http_status']}")
with open(f"{WORK}/status_load.json", "w") as f:
    json.dump(results, f, indent=1)
