#!/usr/bin/env python3
"""Deterministic zone and dnsperf query generator for tests/bench/dns.sh.

    gen.py --records 1200 --queries 10000 --seed 1 --out DIR

writes DIR/bench.example.zone (an RFC 1035 master file for `bench.example.`),
DIR/queries.txt (dnsperf input, one "name TYPE" a line) and DIR/checks.txt
(a few "name TYPE RCODE first-rdata" lines the benchmark uses to make sure a
server really serves the zone before its figures are trusted).

Zone shape for --records N (N = 1200 gives the benchmark zone): SOA, NS x2
with A/AAAA glue, a delegation with glue, MX/TXT/SRV/CNAME/CAA sets, a
wildcard `*.wild.bench.example.` (A + TXT), ~N*0.83 A and ~N*0.083 AAAA
records (some names with several A records).

Query mix: 80% A on existing A names, 10% AAAA on existing AAAA names,
5% NXDOMAIN, 5% other (MX, TXT, SRV, SOA, NS, CNAME chains, wildcard).
Only the standard library; the same seed gives byte-identical files.
"""

import argparse
import os
import random
import sys

ORIGIN = "bench.example."
WORDS = (
    "api app auth cdn db edge files gw img mail media mx node ns proxy "
    "shop sso static store vpn web www build ci docs git status blog cache "
    "queue search stream login admin portal assets video chat pay"
).split()


def label(rng, i):
    """A realistic-looking, unique host label for index i."""
    w = WORDS[rng.randrange(len(WORDS))]
    style = rng.randrange(4)
    if style == 0:
        return f"{w}{i}"
    if style == 1:
        return f"{w}-{i}"
    if style == 2:
        return f"{w}{i}.{WORDS[rng.randrange(len(WORDS))]}"  # two labels
    return f"h{i:05d}-{w}"


def gen(records, nqueries, seed):
    rng = random.Random(seed)
    lines = []  # zone file lines (relative to $ORIGIN)
    a_names = []  # names that own A records (for queries)
    aaaa_names = []
    first_a = {}  # name -> first A rdata (for checks)
    count = 0
    per_type = {}

    def rr(owner, rtype, rdata, ttl=None):
        nonlocal count
        t = f"{ttl} " if ttl is not None else ""
        lines.append(f"{owner:<28} {t}IN {rtype:<5} {rdata}")
        count += 1
        per_type[rtype] = per_type.get(rtype, 0) + 1

    # Apex
    lines.append(f"$ORIGIN {ORIGIN}")
    lines.append("$TTL 3600")
    lines.append("@ IN SOA ns1 hostmaster (")
    lines.append("        2024010101 ; serial")
    lines.append("        7200       ; refresh")
    lines.append("        900        ; retry")
    lines.append("        1209600    ; expire")
    lines.append("        300 )      ; minimum / negative TTL")
    count += 1
    rr("@", "NS", "ns1")
    rr("@", "NS", "ns2")
    rr("ns1", "A", "192.0.2.1")
    rr("ns1", "AAAA", "2001:db8::1")
    rr("ns2", "A", "192.0.2.2")
    rr("ns2", "AAAA", "2001:db8::2")
    rr("@", "A", "192.0.2.10")
    rr("@", "AAAA", "2001:db8::10")
    rr("@", "MX", "10 mx1")
    rr("@", "MX", "20 mx2")
    rr("mx1", "A", "192.0.2.25")
    rr("mx2", "A", "192.0.2.26")
    rr("@", "TXT", '"v=spf1 mx ip4:192.0.2.0/24 -all"')
    rr("@", "TXT", '"google-site-verification=bench0123456789abcdef"')
    rr("@", "CAA", '0 issue "letsencrypt.org"')
    rr("_dmarc", "TXT", '"v=DMARC1; p=reject; rua=mailto:dmarc@bench.example"')
    a_names += ["bench.example.", "ns1.bench.example.", "ns2.bench.example.",
                "mx1.bench.example.", "mx2.bench.example."]
    aaaa_names += ["bench.example.", "ns1.bench.example.", "ns2.bench.example."]
    first_a["bench.example."] = "192.0.2.10"

    # Delegation with glue (answers are referrals, no AA)
    rr("dept", "NS", "ns1.dept")
    rr("dept", "NS", "ns2.dept")
    rr("ns1.dept", "A", "198.51.100.53")
    rr("ns2.dept", "A", "198.51.100.54")

    # Wildcard
    rr("*.wild", "A", "192.0.2.99")
    rr("*.wild", "TXT", '"wildcard"')

    # Scale the bulk to the requested size: ~83% A, ~8.3% AAAA, the rest fixed
    # sets plus ~4% CNAME, ~1.5% TXT, ~1% SRV, ~0.5% MX.
    fixed = count
    bulk = max(records - fixed, 60)
    n_a = int(bulk * 0.855)
    n_aaaa = int(bulk * 0.086)
    n_cname = max(int(bulk * 0.03), 5)
    n_txt = max(int(bulk * 0.015), 3)
    n_srv = max(int(bulk * 0.01), 3)
    n_mx = max(bulk - n_a - n_aaaa - n_cname - n_txt - n_srv, 2)

    # A records: most names have one, every 10th has two (round robin).
    hosts = []
    i = 0
    made = 0
    seen = {"ns1", "ns2", "mx1", "mx2"}  # names the fixed part already uses
    while made < n_a:
        name = label(rng, i)
        i += 1
        if name in seen:
            continue
        seen.add(name)
        hosts.append(name)
        k = 2 if (len(hosts) % 10 == 0 and made + 2 <= n_a) else 1
        for _ in range(k):
            ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            rr(name, "A", ip)
            first_a.setdefault(f"{name}.{ORIGIN}", ip)
            made += 1
        a_names.append(f"{name}.{ORIGIN}")

    # AAAA on a subset of the A hosts (dual-stack).
    v6 = rng.sample(hosts, min(n_aaaa, len(hosts)))
    for n in v6:
        rr(n, "AAAA", f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(1, 65536):x}")
        aaaa_names.append(f"{n}.{ORIGIN}")

    # CNAMEs: in-zone, a third of them chained through another CNAME.
    cnames = []
    cname_target = {}
    for j in range(n_cname):
        name = f"alias{j}"
        if cnames and j % 3 == 2:
            target = cnames[rng.randrange(len(cnames))]
        else:
            target = hosts[rng.randrange(len(hosts))]
        rr(name, "CNAME", target)
        cnames.append(name)
        cname_target[name] = f"{target}.{ORIGIN}"

    # TXT
    txt_names = []
    for j in range(n_txt):
        name = f"_acme-challenge.{hosts[j]}" if j % 2 else f"txt{j}"
        rr(name, "TXT", f'"bench-{rng.getrandbits(64):016x}"')
        txt_names.append(name)

    # SRV
    services = ["_sip._udp", "_sip._tcp", "_xmpp-client._tcp", "_ldap._tcp",
                "_imaps._tcp", "_submission._tcp", "_caldavs._tcp"]
    srv_names = []
    for j in range(n_srv):
        svc = services[j % len(services)]
        owner = svc if j < len(services) else f"{svc}.site{j}"
        rr(owner, "SRV", f"{j % 3} 5 {5000 + j} {hosts[rng.randrange(len(hosts))]}")
        srv_names.append(owner)

    # MX on hosts (mail to a host name)
    mx_names = []
    for j in range(n_mx):
        h = hosts[(j * 7) % len(hosts)]
        rr(h, "MX", f"10 mx{1 + j % 2}")
        mx_names.append(h)

    zone = "\n".join(lines) + "\n"

    # Queries
    def fq(n):
        return n if n.endswith(".") else f"{n}.{ORIGIN}"

    other = []
    other += [(ORIGIN, "MX"), (ORIGIN, "SOA"), (ORIGIN, "NS"), (ORIGIN, "TXT")]
    other += [(fq(n), "MX") for n in mx_names[:20]]
    other += [(fq(n), "TXT") for n in txt_names[:20]]
    other += [(fq(n), "SRV") for n in srv_names[:20]]
    other += [(fq(n), "A") for n in cnames[:20]]  # CNAME chains to A
    other += [(fq(n), "CNAME") for n in cnames[20:30]]
    other += [(f"w{k}.wild.{ORIGIN}", "A") for k in range(20)]
    other += [(f"w{k}.wild.{ORIGIN}", "TXT") for k in range(5)]
    other += [(f"host{k}.dept.{ORIGIN}", "A") for k in range(3)]  # referral

    queries = []
    n_aq = nqueries * 80 // 100
    n_aaaaq = nqueries * 10 // 100
    n_nx = nqueries * 5 // 100
    n_other = nqueries - n_aq - n_aaaaq - n_nx
    queries += [(rng.choice(a_names), "A") for _ in range(n_aq)]
    queries += [(rng.choice(aaaa_names), "AAAA") for _ in range(n_aaaaq)]
    for _ in range(n_nx):
        # not under wild. (wildcard) nor dept. (delegation): a real NXDOMAIN
        t = "A" if rng.random() < 0.8 else "AAAA"
        queries.append((f"nx{rng.getrandbits(32):08x}.{ORIGIN}", t))
    queries += [other[k % len(other)] for k in range(n_other)]
    rng.shuffle(queries)
    qtext = "".join(f"{n} {t}\n" for n, t in queries)

    h0 = f"{hosts[0]}.{ORIGIN}"
    checks = [
        (ORIGIN, "SOA", "NOERROR", "ns1.bench.example."),
        (h0, "A", "NOERROR", first_a[h0]),
        ("ns1." + ORIGIN, "AAAA", "NOERROR", "2001:db8::1"),
        ("nx-check." + ORIGIN, "A", "NXDOMAIN", "-"),
        ("anything.wild." + ORIGIN, "A", "NOERROR", "192.0.2.99"),
        ("alias0." + ORIGIN, "A", "NOERROR", cname_target["alias0"]),
        ("dept." + ORIGIN, "NS", "NOERROR", "-"),
    ]
    ctext = "".join(f"{n} {t} {r} {d}\n" for n, t, r, d in checks)
    stats = {
        "records": count,
        "types": " ".join(f"{k}={v}" for k, v in sorted(per_type.items())),
        "queries": len(queries), "nxdomain_pct": 100.0 * n_nx / len(queries),
    }
    return zone, qtext, ctext, stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=1200)
    ap.add_argument("--queries", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="output directory")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    zone, q, c, s = gen(a.records, a.queries, a.seed)
    with open(os.path.join(a.out, "bench.example.zone"), "w") as f:
        f.write(zone)
    with open(os.path.join(a.out, "queries.txt"), "w") as f:
        f.write(q)
    with open(os.path.join(a.out, "checks.txt"), "w") as f:
        f.write(c)
    print(f"zone bench.example.: {s['records']} records (SOA=1 {s['types']}); "
          f"{s['queries']} queries ({s['nxdomain_pct']:.1f}% NXDOMAIN)", file=sys.stderr)


if __name__ == "__main__":
    main()
