//! Differential test: the zone files in tests/data/diff/ are served by Switchback and by Knot DNS
//! (knotd, the reference) on loopback; both get the same queries and must give the same rcode,
//! flags, question, EDNS and sections (compared as sets, see `common::compare`).
//!
//! Queries are generated from the zones themselves: every owner name (read back from Knot by
//! AXFR) and every empty non-terminal, each with a core set of types and its own types; names
//! below wildcards and delegations; NXDOMAIN names; mixed-case (0x20) names; EDNS payload sizes
//! 512/1232/4096, DO, EDNS version 1 (BADVERS); big answers without EDNS (TC over UDP) and the
//! same over TCP; names outside every zone (REFUSED); CHAOS; unknown opcodes and malformed
//! packets; AXFR over TCP (the full record set compared).
//!
//! # Knot 3.2 behaviour, as found with kdig against these zones
//!
//! - Positive answers carry no NS/SOA in the authority section (minimal responses).
//! - NXDOMAIN and NODATA: the zone SOA in authority with TTL min(SOA TTL, SOA MINIMUM).
//! - CNAME chains are followed inside the zone (3 hops and loops included; a loop stops after
//!   each CNAME was given once). A chain that leaves the zone stops at the last CNAME, even when
//!   the target is in another zone served by the same server (to-org.example.com). A chain into a
//!   delegation (to-deleg) ends in the delegation's NS in authority plus glue, AA still set. A
//!   chain ending at an NXDOMAIN name gives rcode NXDOMAIN with the CNAMEs and the SOA (RFC 6604).
//! - Referrals: no AA, NS in authority, in-bailiwick glue (A and AAAA) in additional, including
//!   sibling glue from another delegation of the same zone; no glue for out-of-zone NS names.
//! - DS is answered by the parent side of a cut (RFC 4035 §3.1.4.1), also when the child zone is
//!   served too (child.example.com DS comes from example.com: NODATA with the parent SOA).
//! - ANY (RFC 8482): one RRset over UDP and TCP alike (the lowest type at the name: A at
//!   example.com), NODATA/NXDOMAIN as usual; at a delegation the referral.
//! - Additional section processing for MX/SRV/NS/SVCB/HTTPS targets in the zone (A and AAAA);
//!   for an HTTPS/SVCB record whose target is its owner, Knot even repeats the HTTPS RRset there.
//! - EDNS: the answer's OPT advertises 1232 (udp-max-payload), never the query's size; a query
//!   payload below 512 counts as 512; over UDP Knot caps answers at min(query payload, 1232), so
//!   a 4096-byte payload still truncates at 1232. TC answers carry an empty answer section.
//! - EDNS version 1: BADVERS (ext-rcode 1), no AA, empty sections, OPT version 0.
//! - REFUSED for names outside its zones, no AA, with an Extended DNS Error (20) option when the
//!   query had EDNS. CHAOS queries: REFUSED (identity/version switched off in our Knot config,
//!   since Switchback has no CHAOS answers).
//! - The CD and AD query bits are not copied to the answer; RA is never set; RD is copied.
//! - AXFR: allowed per ACL over TCP; over UDP NOTIMP; AXFR of a non-apex or unserved name NOTAUTH.
//! - Names: Knot lower-cases every owner and RDATA name it loads; the answer's owner echoes the
//!   query name's case (compression pointer to the question).
//!
//! # Allowed differences
//!
//! See `ALLOWANCES`: each names the RFC that allows it. Everything else is a failure.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;

use common::compare::{self, Normalized, rr_owner, rr_type};
use common::dns::{self, Question, Response, Transport};
use common::{Knot, Switchback, test_data};
use hickory_proto::op::{OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, RData, RecordType};

/// An allowed difference and the RFC text that allows it.
struct Allowance {
    id: &'static str,
    rfc: &'static str,
    what: &'static str,
}

const TC_CONTENT: Allowance = Allowance {
    id: "tc-content",
    rfc: "RFC 2181 §9, RFC 1035 §7.3",
    what: "when both answers set TC, the records inside may differ: a truncated answer is \
           discarded and the question asked again over TCP (Knot sends an empty answer, a \
           server may keep the RRsets that fit)",
};

const MINIMAL_ANY: Allowance = Allowance {
    id: "minimal-any",
    rfc: "RFC 8482 §4.1",
    what: "ANY may be answered with any non-empty subset of the RRsets at the name; accepted \
           when every RRset given is complete and equal to the answer for that type",
};

const ADDITIONAL_OPTIONAL: Allowance = Allowance {
    id: "additional-optional",
    rfc: "RFC 1034 §4.3.2 step 6, RFC 2181 §9",
    what: "outside referrals, the additional section holds records that 'may be useful'; \
           Switchback may give fewer of them than Knot (a subset of Knot's), never others. \
           Referral glue is compared exactly, and so are the A/AAAA records of SVCB/HTTPS \
           targets, which RFC 9460 §4.1 says SHOULD be there",
};

const CD_COPIED: Allowance = Allowance {
    id: "cd-copied",
    rfc: "RFC 6895 §2, RFC 4035 §3.1.6",
    what: "the CD bit of the query may be copied into the answer: 'only the RD and CD bits are \
           expected to be copied from the query to the response' (RFC 6895 §2); Knot clears it \
           as RFC 4035 §3.1.6 asks of security-aware servers (Switchback does not sign)",
};

const AXFR_OVER_UDP: Allowance = Allowance {
    id: "axfr-over-udp",
    rfc: "RFC 5936 §4.2",
    what: "AXFR over UDP is left undefined, so any refusal (NOTIMP from Knot, FORMERR or \
           REFUSED) with no records is acceptable",
};

const MALFORMED_FORMERR: Allowance = Allowance {
    id: "malformed-formerr",
    rfc: "RFC 1035 §4.1.1, RFC 9619 §4",
    what: "a query the server cannot interpret (no or a cut question, a pointer loop, \
           QDCOUNT > 1) may get FORMERR with no records where Knot stays silent",
};

const MALFORMED_OPT: Allowance = Allowance {
    id: "malformed-opt",
    rfc: "RFC 6891 §6.1.2, §7",
    what: "an OPT record with an owner other than the root is malformed; FORMERR is allowed \
           where Knot ignores the problem, but then the answer MUST carry an OPT record",
};

const ALLOWANCES: &[&Allowance] = &[
    &TC_CONTENT,
    &MINIMAL_ANY,
    &ADDITIONAL_OPTIONAL,
    &CD_COPIED,
    &AXFR_OVER_UDP,
    &MALFORMED_FORMERR,
    &MALFORMED_OPT,
];

/// One query, or one raw packet, of the differential run.
#[derive(Clone, Debug)]
enum Probe {
    Q(Question),
    Raw {
        label: String,
        wire: Vec<u8>,
        transport: Transport,
    },
}

impl Probe {
    fn label(&self) -> String {
        match self {
            Probe::Q(q) => q.to_string(),
            Probe::Raw {
                label, transport, ..
            } => format!("raw packet: {label} {transport}"),
        }
    }
}

/// What came back for a probe.
#[derive(Clone, Debug)]
enum Outcome {
    Answer(Box<Response>),
    NoAnswer,
    Unparsable(Vec<u8>),
    Error(String),
}

impl Outcome {
    fn summary(&self) -> String {
        match self {
            Outcome::Answer(r) => Normalized::from_message(&r.msg).to_string(),
            Outcome::NoAnswer => "no answer (dropped)\n".into(),
            Outcome::Unparsable(raw) => format!(
                "unparsable answer ({} bytes): {}\n",
                raw.len(),
                dns::hex(&raw[..raw.len().min(64)])
            ),
            Outcome::Error(e) => format!("error: {e}\n"),
        }
    }
}

fn run_probe(addr: SocketAddr, p: &Probe) -> Outcome {
    match p {
        Probe::Q(q) => match dns::query(addr, q) {
            Ok(r) => Outcome::Answer(Box::new(r)),
            Err(e) if e.contains("no UDP answer") => Outcome::NoAnswer,
            Err(e) => Outcome::Error(e),
        },
        Probe::Raw {
            wire, transport, ..
        } => {
            let got = match transport {
                Transport::Udp => {
                    dns::exchange_udp_with(addr, wire, 1, std::time::Duration::from_millis(700))
                }
                Transport::Tcp => {
                    dns::exchange_tcp_opt(addr, wire, std::time::Duration::from_millis(700))
                }
            };
            match got {
                Ok(None) => Outcome::NoAnswer,
                Ok(Some(raw)) => match Response::parse(raw.clone()) {
                    Ok(r) => Outcome::Answer(Box::new(r)),
                    Err(_) => Outcome::Unparsable(raw),
                },
                Err(e) => Outcome::Error(e),
            }
        }
    }
}

/// The zones' contents as Knot serves them, from AXFR.
struct ZoneData {
    /// zone apex -> records (presentation form, lower-case owners).
    records: BTreeMap<String, Vec<String>>,
    /// owner -> types present there.
    types_at: BTreeMap<String, BTreeSet<String>>,
}

fn zone_dir() -> std::path::PathBuf {
    test_data("diff")
}

fn zones() -> Vec<String> {
    common::servers::zones_in(&zone_dir())
}

fn axfr_records(addr: SocketAddr, zone: &str) -> Result<Vec<String>, String> {
    let msgs = dns::axfr(addr, zone)?;
    let first = &msgs[0];
    if first.rcode() != ResponseCode::NoError {
        return Err(format!("AXFR {zone}: {}", first.rcode()));
    }
    let mut v: Vec<String> = msgs
        .iter()
        .flat_map(|m| m.msg.answers.iter().map(compare::record_to_string))
        .collect();
    v.sort();
    Ok(v)
}

fn load_zone_data(knot: &Knot) -> ZoneData {
    let mut records = BTreeMap::new();
    let mut types_at: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for z in zones() {
        let recs = axfr_records(knot.addr, &z).unwrap_or_else(|e| panic!("Knot AXFR {z}: {e}"));
        for r in &recs {
            types_at
                .entry(rr_owner(r).to_string())
                .or_default()
                .insert(rr_type(r).to_string());
        }
        records.insert(z, recs);
    }
    ZoneData { records, types_at }
}

fn rtype(s: &str) -> RecordType {
    if let Some(n) = s.strip_prefix("TYPE") {
        return RecordType::from(n.parse::<u16>().expect("TYPEnnn"));
    }
    s.parse().unwrap_or_else(|_| panic!("record type {s}"))
}

/// wWw.ExAmPlE.cOm.-style case, deterministic.
fn mixed_case(name: &str) -> String {
    let mut up = false;
    name.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                up = !up;
                if up { c.to_ascii_uppercase() } else { c }
            } else {
                c
            }
        })
        .collect()
}

fn parent(name: &str) -> Option<&str> {
    let i = name.find('.')?;
    let rest = &name[i + 1..];
    if rest.is_empty() { None } else { Some(rest) }
}

fn zone_of<'a>(name: &str, zones: &'a [String]) -> Option<&'a String> {
    zones
        .iter()
        .filter(|z| name == z.as_str() || name.ends_with(&format!(".{z}")))
        .max_by_key(|z| z.len())
}

/// Every query of the differential run.
fn build_probes(zd: &ZoneData) -> Vec<Probe> {
    let zones: Vec<String> = zd.records.keys().cloned().collect();
    let core = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "ANY"];
    let extra = [
        "SRV",
        "PTR",
        "CAA",
        "SSHFP",
        "TLSA",
        "HTTPS",
        "SVCB",
        "NAPTR",
        "DS",
        "DNSKEY",
        "HINFO",
        "TYPE65280",
        "TYPE731",
    ];

    // Names: owners, their empty non-terminal parents, and synthesized names.
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut delegations: BTreeSet<String> = BTreeSet::new();
    let mut wildcards: BTreeSet<String> = BTreeSet::new();
    for (owner, types) in &zd.types_at {
        names.insert(owner.clone());
        let zone = zone_of(owner, &zones).expect("owner in a zone");
        let mut p = parent(owner);
        while let Some(n) = p {
            if n.len() < zone.len() {
                break;
            }
            names.insert(n.to_string());
            p = parent(n);
        }
        if types.contains("NS") && !zones.contains(owner) {
            delegations.insert(owner.clone());
        }
        if let Some(rest) = owner.strip_prefix("*.") {
            wildcards.insert(rest.to_string());
        }
    }
    for w in &wildcards {
        names.insert(format!("foo.{w}"));
        names.insert(format!("a.b.{w}"));
        names.insert(format!("exists.{w}"));
    }
    for d in &delegations {
        names.insert(format!("host.{d}"));
        names.insert(format!("a.b.{d}"));
    }
    for z in &zones {
        names.insert(format!("nonexistent.{z}"));
        names.insert(format!("a.b.nonexistent.{z}"));
    }
    // RFC 4592 §2.2.1's own examples, plus the child-zone / parent-zone boundary.
    for n in [
        "host3.example.",
        "foo.bar.example.",
        "ghost.*.example.",
        "_telnet._tcp.host1.example.",
        "_ssh._tcp.host3.example.",
        "host.subdel.example.",
        "x.deep.example.com.",
        "a.ent-wild.deep.example.com.",
        "a.b.ent-wild.deep.example.com.",
        "www.child.example.com.",
        "nope.child.example.com.",
        "ns1.child.example.com.",
        "sub.example.com.",
        "www.sub.example.com.",
        "a.x.y.example.com.",
    ] {
        names.insert(n.to_string());
    }

    let mut probes = Vec::new();
    let mut add = |q: Question| probes.push(Probe::Q(q));

    // 1. Every name x core types, plus the name's own types (plain UDP, no EDNS).
    for n in &names {
        let mut types: BTreeSet<String> = core.iter().map(|s| s.to_string()).collect();
        if let Some(own) = zd.types_at.get(n) {
            types.extend(own.iter().cloned());
        }
        for t in &types {
            add(Question::new(n, rtype(t)));
        }
    }
    // 2. Less common types at names where they matter, and at a few where they do not.
    for n in [
        "example.com.",
        "www.example.com.",
        "_sip._tcp.example.com.",
        "ptr.example.com.",
        "1.2.0.192.example.com.",
        "ssh.example.com.",
        "_443._tcp.www.example.com.",
        "svc.example.com.",
        "alias-https.example.com.",
        "_dns.example.com.",
        "unknown.example.com.",
        "secure.example.com.",
        "sub.example.com.",
        "child.example.com.",
        "dnskey.example.com.",
        "foo.wild.example.com.",
        "foo.wc.example.com.",
        "nonexistent.example.com.",
        "alias1.example.com.",
    ] {
        for t in extra {
            add(Question::new(n, rtype(t)));
        }
    }
    // 3. Mixed case (0x20): the question must come back as sent.
    for n in &names {
        let t = zd
            .types_at
            .get(n)
            .and_then(|t| t.iter().next().cloned())
            .unwrap_or_else(|| "A".into());
        add(Question::new(&mixed_case(n), rtype(&t)));
        add(Question::new(&n.to_uppercase(), RecordType::A).edns(1232));
    }
    // 4. EDNS sizes, DO, RD, TC and TCP on answers of every size.
    let sized = [
        ("www.example.com.", "A"),
        ("example.com.", "TXT"),
        ("example.com.", "MX"),
        ("example.com.", "NS"),
        ("big.example.com.", "TXT"),
        ("medium.example.com.", "TXT"),
        ("many.example.com.", "A"),
        ("sub.example.com.", "A"),
        ("host.sub.example.com.", "AAAA"),
        ("nonexistent.example.com.", "A"),
        ("alias3.example.com.", "A"),
        ("example.com.", "ANY"),
        ("example.com.", "HTTPS"),
    ];
    for (n, t) in sized {
        let base = Question::new(n, rtype(t));
        add(base.clone());
        add(base.clone().rd());
        add(base.clone().tcp());
        add(base.clone().edns(512));
        add(base.clone().edns(1232));
        add(base.clone().edns(4096));
        add(base.clone().edns(100));
        add(base.clone().edns(4096).tcp());
        add(base.clone().edns(1232).dnssec_ok());
        add(base.clone().edns(1232).rd().cd());
        add(base.clone().ad());
    }
    // 5. TCP and EDNS for every owner name's A query.
    for n in zd.types_at.keys() {
        add(Question::new(n, RecordType::A).tcp());
        add(Question::new(n, RecordType::A).edns(1232).rd());
    }
    // 6. EDNS version 1 (BADVERS), in and out of zone.
    for (n, t) in [
        ("www.example.com.", "A"),
        ("nonexistent.example.com.", "A"),
        ("example.com.", "SOA"),
        ("www.example.net.", "A"),
        ("sub.example.com.", "NS"),
    ] {
        add(Question::new(n, rtype(t)).edns_version(1));
        add(Question::new(n, rtype(t)).edns_version(1).tcp());
    }
    add(Question::new("www.example.com.", RecordType::A).edns_version(255));
    // 7. Outside every zone: REFUSED.
    for n in [
        ".",
        "com.",
        "net.",
        "org.",
        "example.net.",
        "www.example.net.",
        "test.",
        "localhost.",
        "1.0.0.127.in-addr.arpa.",
        "xexample.com.",
        "www.xexample.com.",
    ] {
        for t in ["A", "SOA", "NS"] {
            add(Question::new(n, rtype(t)));
        }
        add(Question::new(n, RecordType::A).edns(1232));
        add(Question::new(n, RecordType::A).tcp());
    }
    // 8. Other classes.
    for (n, t) in [
        ("version.bind.", "TXT"),
        ("id.server.", "TXT"),
        ("hostname.bind.", "TXT"),
        ("www.example.com.", "A"),
        ("example.com.", "SOA"),
    ] {
        add(Question::new(n, rtype(t)).class(DNSClass::CH));
    }
    add(Question::new("www.example.com.", RecordType::A).class(DNSClass::HS));
    // 9. Zone transfers that must fail: over UDP, for a non-apex name, for a foreign zone.
    add(Question::new("example.com.", RecordType::AXFR));
    add(Question::new("www.example.com.", RecordType::AXFR).tcp());
    add(Question::new("example.net.", RecordType::AXFR).tcp());

    // 10. Raw packets: opcodes and malformed queries.
    let q = Question::new("www.example.com.", RecordType::A);
    for opcode in [1u8, 2, 3, 6, 15] {
        let mut qq = q.clone();
        qq.opcode = OpCode::from_u8(opcode);
        probes.push(Probe::Q(qq.clone()));
        probes.push(Probe::Q(qq.tcp()));
    }
    let good = q.to_wire(0x1234);
    let good_edns = q.clone().edns(1232).to_wire(0x1235);
    let mut raws: Vec<(String, Vec<u8>)> = Vec::new();
    {
        // QDCOUNT 0.
        let mut w = good[..12].to_vec();
        w[5] = 0;
        raws.push(("no question".into(), w));
        // QDCOUNT 2, the same question twice.
        let mut w = good.clone();
        w[5] = 2;
        w.extend_from_slice(&good[12..]);
        raws.push(("two questions".into(), w));
        // Question cut short.
        raws.push(("truncated question".into(), good[..good.len() - 3].to_vec()));
        // Two OPT records.
        let mut w = good_edns.clone();
        let opt = good_edns[good.len()..].to_vec();
        w[11] = 2;
        w.extend_from_slice(&opt);
        raws.push(("two OPT records".into(), w));
        // OPT with a bad RDLENGTH.
        let mut w = good_edns.clone();
        let n = w.len();
        w[n - 1] = 4;
        raws.push(("OPT rdlength past the end".into(), w));
        // OPT with an owner name other than the root.
        let mut w = good[..good.len()].to_vec();
        w[11] = 1;
        w.extend_from_slice(&[1, b'x', 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
        raws.push(("OPT owner not root".into(), w));
        // Trailing garbage after the question.
        let mut w = good.clone();
        w.extend_from_slice(&[0xde, 0xad]);
        raws.push(("trailing bytes".into(), w));
        // A response sent as a query (QR=1): must be ignored.
        let mut w = good.clone();
        w[2] |= 0x80;
        raws.push(("QR set".into(), w));
        // A header only, 12 bytes of zeros but the id.
        let mut w = vec![0u8; 12];
        w[0] = 0x12;
        w[1] = 0x36;
        raws.push(("empty header".into(), w));
        // EDNS details a server must ignore (RFC 6891 §6.1.2, §6.1.4): an unknown option, Z bits.
        // The OPT record is the last 11 bytes (no options): name, type, class, ttl, rdlength.
        let opt_at = good_edns.len() - 11;
        let mut w = good_edns.clone();
        w[opt_at + 9] = 0;
        w[opt_at + 10] = 6;
        w.extend_from_slice(&[0xfd, 0xe9, 0, 2, 0xab, 0xcd]);
        raws.push(("EDNS unknown option 65001".into(), w));
        let mut w = good_edns.clone();
        w[opt_at + 7] = 0x7f;
        w[opt_at + 8] = 0xff;
        raws.push(("EDNS Z bits set".into(), w));
        let mut w = good_edns.clone();
        w[opt_at + 3] = 0xff;
        w[opt_at + 4] = 0xff;
        raws.push(("EDNS payload 65535".into(), w));
        // Compression pointer loop in the question.
        let mut w = good[..12].to_vec();
        w.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        raws.push(("name pointer loop".into(), w));
    }
    for (label, wire) in raws {
        for transport in [Transport::Udp, Transport::Tcp] {
            probes.push(Probe::Raw {
                label: label.clone(),
                wire: wire.clone(),
                transport,
            });
        }
    }
    // The same question can come from two of the groups above; ask it once.
    let mut seen = std::collections::HashSet::new();
    probes.retain(|p| seen.insert(p.label()));
    probes
}

/// Knot's answer to (name, type), cached, for the ANY rule.
struct KnotOracle<'a> {
    knot: &'a Knot,
    cache: HashMap<(String, String), Option<Normalized>>,
}

impl KnotOracle<'_> {
    fn answer(&mut self, name: &str, t: &str) -> Option<Normalized> {
        let key = (name.to_string(), t.to_string());
        if let Some(v) = self.cache.get(&key) {
            return v.clone();
        }
        let q = Question::new(name, rtype(t)).tcp();
        let v = self
            .knot
            .query(&q)
            .ok()
            .map(|r| Normalized::from_message(&r.msg));
        self.cache.insert(key, v.clone());
        v
    }
}

/// Applies the allowances to Switchback's answer; returns the ids of those used.
fn apply_allowances(
    q: &Question,
    knot: &Normalized,
    ours: &mut Normalized,
    oracle: &mut KnotOracle<'_>,
) -> Vec<&'static str> {
    let mut used = Vec::new();
    if q.cd && ours.flags.cd && !knot.flags.cd {
        ours.flags.cd = false;
        used.push(CD_COPIED.id);
    }
    let refusal = ["NOTIMP", "FORMERR", "REFUSED"];
    if matches!(q.qtype, RecordType::AXFR | RecordType::IXFR)
        && q.transport == Transport::Udp
        && ours.rcode != knot.rcode
        && refusal.contains(&knot.rcode.as_str())
        && refusal.contains(&ours.rcode.as_str())
        && no_records(ours)
        && no_records(knot)
    {
        ours.rcode = knot.rcode.clone();
        used.push(AXFR_OVER_UDP.id);
    }
    if knot.flags.tc && ours.flags.tc && knot.rcode == ours.rcode {
        if (&ours.answer, &ours.authority, &ours.additional)
            != (&knot.answer, &knot.authority, &knot.additional)
        {
            ours.answer = knot.answer.clone();
            ours.authority = knot.authority.clone();
            ours.additional = knot.additional.clone();
            used.push(TC_CONTENT.id);
        }
        return used;
    }
    if q.qtype == RecordType::ANY
        && knot.rcode == ours.rcode
        && !ours.answer.is_empty()
        && !knot.answer.is_empty()
        && ours.answer != knot.answer
    {
        // Group our answer into RRsets by (owner, type); each must equal Knot's answer for that
        // type at the name, restricted to that owner and type.
        let mut sets: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for r in &ours.answer {
            sets.entry((rr_owner(r).to_string(), rr_type(r).to_string()))
                .or_default()
                .insert(r.clone());
        }
        let qname = q.name.to_ascii_lowercase();
        let mut ok = true;
        let mut extra_allowed: BTreeSet<String> = BTreeSet::new();
        for ((owner, t), set) in &sets {
            let Some(k) = oracle.answer(&qname, t) else {
                ok = false;
                break;
            };
            let want: BTreeSet<String> = k
                .answer
                .iter()
                .filter(|r| rr_owner(r) == owner && rr_type(r) == t)
                .cloned()
                .collect();
            if &want != set {
                ok = false;
                break;
            }
            extra_allowed.extend(k.additional.iter().cloned());
        }
        if ok {
            ours.answer = knot.answer.clone();
            if ours.additional.is_subset(&extra_allowed) {
                ours.additional = knot.additional.clone();
            }
            used.push(MINIMAL_ANY.id);
        }
    }
    // RFC 9460 §4.1: for SVCB/HTTPS answers the A/AAAA records of in-zone TargetNames SHOULD
    // be in the additional section, so those may not be left out.
    let svcb_answer = knot
        .answer
        .iter()
        .any(|r| matches!(rr_type(r), "SVCB" | "HTTPS"));
    let required_missing = svcb_answer
        && knot
            .additional
            .iter()
            .any(|r| matches!(rr_type(r), "A" | "AAAA") && !ours.additional.contains(r));
    if !knot.is_referral()
        && !required_missing
        && ours.additional != knot.additional
        && ours.additional.is_subset(&knot.additional)
    {
        ours.additional = knot.additional.clone();
        used.push(ADDITIONAL_OPTIONAL.id);
    }
    used
}

fn no_records(n: &Normalized) -> bool {
    n.answer.is_empty() && n.authority.is_empty() && n.additional.is_empty()
}

/// Allowances for raw (malformed) packets: `Some(id)` when the pair of outcomes is allowed.
fn raw_allowance(label: &str, knot: &Outcome, ours: &Outcome) -> Option<&'static str> {
    let Outcome::Answer(o) = ours else {
        return None;
    };
    let on = Normalized::from_message(&o.msg);
    if on.rcode != "FORMERR" || !no_records(&on) {
        return None;
    }
    if label.starts_with("OPT owner") {
        return on.edns.is_some().then_some(MALFORMED_OPT.id);
    }
    matches!(knot, Outcome::NoAnswer).then_some(MALFORMED_FORMERR.id)
}

fn write_report_header(out: &mut String) {
    let _ = writeln!(
        out,
        "Allowed differences (each needs the RFC that allows it):"
    );
    for a in ALLOWANCES {
        let _ = writeln!(out, "  - {} ({}): {}", a.id, a.rfc, a.what);
    }
}

/// Knot alone: checks the harness (client, comparator, Knot guard) and the test zones against
/// the answers RFC 1034/4592 predict. Runs even before `switchback serve` exists.
#[test]
fn knot_answers_the_test_zones() {
    let Some(knot) = Knot::start(&zone_dir()) else {
        return;
    };
    let ask = |name: &str, t: RecordType| {
        let r = knot
            .query(&Question::new(name, t))
            .unwrap_or_else(|e| panic!("{e}"));
        Normalized::from_message(&r.msg)
    };

    let www = ask("www.example.com.", RecordType::A);
    assert_eq!(www.rcode, "NOERROR");
    assert!(www.flags.aa);
    assert_eq!(
        www.answer.iter().cloned().collect::<Vec<_>>(),
        ["www.example.com. 3600 IN A 192.0.2.80"]
    );

    let nx = ask("nonexistent.example.com.", RecordType::A);
    assert_eq!(nx.rcode, "NXDOMAIN");
    assert_eq!(
        nx.authority.iter().cloned().collect::<Vec<_>>(),
        [
            "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"
        ]
    );

    let txt = knot
        .query(&Question::new("example.com.", RecordType::TXT).tcp())
        .unwrap();
    let txt = Normalized::from_message(&txt.msg);
    assert!(
        txt.answer.contains(
            "example.com. 3600 IN TXT \"multi\" \"string\" \"with \\\"escaped quotes\\\"\" \"and\\\\backslash\" \"semi;colon\""
        ),
        "{txt}"
    );

    let refer = ask("host.sub.example.com.", RecordType::A);
    assert!(refer.is_referral(), "{refer}");
    assert_eq!(refer.additional.len(), 3, "{refer}");

    // RFC 4592 §2.2.1.
    let host3 = ask("host3.example.", RecordType::MX);
    assert_eq!(
        host3.answer.iter().cloned().collect::<Vec<_>>(),
        ["host3.example. 3600 IN MX 10 host1.example."]
    );
    assert_eq!(ask("ghost.*.example.", RecordType::MX).rcode, "NXDOMAIN");
    assert_eq!(
        ask("_telnet._tcp.host1.example.", RecordType::SRV).rcode,
        "NXDOMAIN"
    );

    let unknown = ask("unknown.example.com.", RecordType::from(65280));
    assert!(
        unknown
            .answer
            .contains("unknown.example.com. 3600 IN TYPE65280 \\# 4 0A000001"),
        "{unknown}"
    );

    // TC without EDNS; the full answer over TCP.
    let big = knot
        .query(&Question::new("big.example.com.", RecordType::TXT))
        .unwrap();
    assert!(big.msg.metadata.truncation);
    assert!(big.raw.len() <= 512);
    let big = knot
        .query(&Question::new("big.example.com.", RecordType::TXT).tcp())
        .unwrap();
    assert_eq!(big.msg.answers.len(), 25);

    let badvers = knot
        .query(&Question::new("www.example.com.", RecordType::A).edns_version(1))
        .unwrap();
    assert_eq!(compare::rcode_name(badvers.rcode()), "BADVERS");

    let refused = ask("www.example.net.", RecordType::A);
    assert_eq!(refused.rcode, "REFUSED");

    // 0x20: the question comes back as sent.
    let mixed = knot
        .query(&Question::new("wWw.ExAmPlE.cOm.", RecordType::A))
        .unwrap();
    assert_eq!(mixed.msg.queries[0].name().to_ascii(), "wWw.ExAmPlE.cOm.");

    // AXFR: SOA first and last.
    let msgs = dns::axfr(knot.addr, "example.org.").unwrap();
    let recs: Vec<&hickory_proto::rr::Record> =
        msgs.iter().flat_map(|m| m.msg.answers.iter()).collect();
    assert!(matches!(recs.first().unwrap().data, RData::SOA(_)));
    assert!(matches!(recs.last().unwrap().data, RData::SOA(_)));
    assert_eq!(recs.len(), 8);

    let zd = load_zone_data(&knot);
    let probes = build_probes(&zd);
    assert!(probes.len() >= 300, "only {} probes", probes.len());
}

/// Sends every probe to Knot and to the server at `sut`; panics listing every difference that
/// no allowance explains, and every UDP answer from `sut` larger than the query allows.
fn differential(knot: &Knot, sut: SocketAddr, sut_name: &str) {
    let zd = load_zone_data(knot);
    let probes = build_probes(&zd);

    let mut report = String::new();
    let mut failures: Vec<String> = Vec::new();
    let mut identical = 0usize;
    let mut allowed: BTreeMap<String, usize> = BTreeMap::new();
    let mut allowed_probes: Vec<String> = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut oracle = KnotOracle {
        knot,
        cache: HashMap::new(),
    };

    // AXFR: the same record sets.
    for z in zones() {
        let k = zd.records.get(&z).cloned().unwrap_or_default();
        match axfr_records(sut, &z) {
            Ok(s) if s == k => identical += 1,
            Ok(s) => {
                let ks: BTreeSet<&String> = k.iter().collect();
                let ss: BTreeSet<&String> = s.iter().collect();
                let mut d = format!(
                    "AXFR {z} tcp: record sets differ ({} records from knot, {} from {sut_name})",
                    k.len(),
                    s.len()
                );
                for x in ks.difference(&ss) {
                    let _ = write!(d, "\n      only knot: {x}");
                }
                for x in ss.difference(&ks) {
                    let _ = write!(d, "\n      only {sut_name}: {x}");
                }
                *kinds.entry("axfr".into()).or_default() += 1;
                failures.push(d);
            }
            Err(e) => {
                *kinds.entry("axfr".into()).or_default() += 1;
                failures.push(format!("AXFR {z} tcp: {sut_name} failed: {e}"));
            }
        }
    }

    // TCP pipelining (RFC 7766 §6.2.1.1): several queries on one connection.
    {
        let qs: Vec<Question> = [
            "www.example.com.",
            "mail.example.com.",
            "nonexistent.example.com.",
        ]
        .iter()
        .map(|n| Question::new(n, RecordType::A).tcp())
        .collect();
        let norm = |v: Result<Vec<Response>, String>| {
            v.map(|v| {
                let mut v: Vec<(u16, Normalized)> = v
                    .iter()
                    .map(|r| (r.msg.metadata.id, Normalized::from_message(&r.msg)))
                    .collect();
                v.sort_by_key(|x| x.0);
                v
            })
        };
        let k = norm(dns::pipeline_tcp(knot.addr, &qs));
        let s = norm(dns::pipeline_tcp(sut, &qs));
        match (k, s) {
            (Ok(k), Ok(s)) if k == s => identical += 1,
            (k, s) => {
                *kinds.entry("tcp-pipelining".into()).or_default() += 1;
                failures.push(format!(
                    "3 pipelined TCP queries on one connection:\n      knot: {k:?}\n      {sut_name}: {s:?}"
                ));
            }
        }
    }

    let verbose = std::env::var("KNOT_DIFF_VERBOSE").is_ok_and(|v| v == "1");
    let mut oversize: Vec<String> = Vec::new();
    for p in &probes {
        let k = run_probe(knot.addr, p);
        let s = run_probe(sut, p);
        if verbose {
            eprintln!("PROBE {}\n{}", p.label(), indent(&k.summary(), 4));
        }

        // Our UDP answers never exceed what the query allows (RFC 1035 §4.2.1, RFC 6891 §7).
        if let (Probe::Q(q), Outcome::Answer(r)) = (p, &s) {
            if q.transport == Transport::Udp && r.raw.len() > q.udp_limit() {
                oversize.push(format!(
                    "{q}: {}-byte UDP answer, limit {}",
                    r.raw.len(),
                    q.udp_limit()
                ));
            }
        }

        match (&k, &s) {
            (Outcome::NoAnswer, Outcome::NoAnswer) => identical += 1,
            (_, _)
                if matches!(p, Probe::Raw { label, .. }
                    if raw_allowance(label, &k, &s).is_some()) =>
            {
                if let Probe::Raw { label, .. } = p {
                    let id = raw_allowance(label, &k, &s).unwrap_or("?");
                    *allowed.entry(id.to_string()).or_default() += 1;
                    allowed_probes.push(format!("{id}: {}", p.label()));
                }
            }
            (Outcome::Unparsable(a), Outcome::Unparsable(b)) if a[2..4] == b[2..4] => {
                identical += 1
            }
            (Outcome::Answer(kr), Outcome::Answer(sr)) => {
                let kn = Normalized::from_message(&kr.msg);
                let sn = Normalized::from_message(&sr.msg);
                let d = compare::diff("knot", &kn, sut_name, &sn);
                if d.is_empty() {
                    identical += 1;
                    continue;
                }
                let mut adjusted = sn.clone();
                let used = match p {
                    Probe::Q(q) => apply_allowances(q, &kn, &mut adjusted, &mut oracle),
                    Probe::Raw { .. } => Vec::new(),
                };
                let residual = compare::diff("knot", &kn, sut_name, &adjusted);
                if residual.is_empty() {
                    for u in &used {
                        *allowed.entry(u.to_string()).or_default() += 1;
                    }
                    allowed_probes.push(format!("{}: {}", used.join("+"), p.label()));
                    continue;
                }
                for line in &residual {
                    let kind = line.split(':').next().unwrap_or("?").to_string();
                    *kinds.entry(kind).or_default() += 1;
                }
                let mut f = format!("{}\n", p.label());
                for line in &residual {
                    let _ = writeln!(f, "    {line}");
                }
                if !used.is_empty() {
                    let _ = writeln!(f, "    (after allowances {used:?})");
                }
                failures.push(f);
            }
            _ => {
                *kinds.entry("answered/not".into()).or_default() += 1;
                failures.push(format!(
                    "{}\n    knot:\n{}    {sut_name}:\n{}",
                    p.label(),
                    indent(&k.summary(), 6),
                    indent(&s.summary(), 6)
                ));
            }
        }
    }

    let total = probes.len() + zones().len() + 1;
    let allowed_n: usize = allowed.values().sum();
    write_report_header(&mut report);
    let _ = writeln!(
        report,
        "\n{total} probes: {identical} identical, {allowed_n} allowed differences, {} different, {} oversize UDP answers",
        failures.len(),
        oversize.len()
    );
    for (id, n) in &allowed {
        let _ = writeln!(report, "  allowed {id}: {n}");
    }
    for a in &allowed_probes {
        let _ = writeln!(report, "    {a}");
    }
    for (kind, n) in &kinds {
        let _ = writeln!(report, "  differing {kind}: {n}");
    }
    if failures.is_empty() && oversize.is_empty() {
        eprintln!("{report}");
    } else {
        let mut msg = String::new();
        for o in &oversize {
            let _ = writeln!(msg, "OVERSIZE {o}");
        }
        let limit = std::env::var("KNOT_DIFF_SHOW")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(150usize);
        for f in failures.iter().take(limit) {
            let _ = writeln!(msg, "DIFF {f}");
        }
        if failures.len() > limit {
            let _ = writeln!(
                msg,
                "... and {} more (KNOT_DIFF_SHOW=N shows more)",
                failures.len() - limit
            );
        }
        panic!(
            "{sut_name}: {} differences from Knot and {} oversize UDP answers\n{msg}\n{report}",
            failures.len(),
            oversize.len()
        );
    }
}

#[test]
fn differential_against_knot() {
    let Some(knot) = Knot::start(&zone_dir()) else {
        return;
    };
    let sb = Switchback::start(&zone_dir());
    differential(&knot, sb.addr, "switchback");
}

/// The harness itself: a second knotd on the same zones must show no difference at all, so
/// every difference the test reports comes from the server under test, not from the probes.
#[test]
fn differential_harness_knot_against_knot() {
    let Some(knot) = Knot::start(&zone_dir()) else {
        return;
    };
    let Some(other) = Knot::start(&zone_dir()) else {
        return;
    };
    differential(&knot, other.addr, "knot2");
}

fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines().map(|l| format!("{pad}{l}\n")).collect()
}
