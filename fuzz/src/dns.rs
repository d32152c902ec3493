//! The DNS target: the first byte picks the transport (bit 0: TCP) and, for a zone transfer,
//! whether the client is allowed (bit 1: refused); the rest is the packet. The zones hold every
//! record type the built-in server knows, RFC 4592's wildcards, CNAME chains, a delegation with
//! glue, weighted variants (answered per query) and an IXFR history.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use switchback_api::tsig;
use switchback_api::{Name, RType, RecordSet, Zone, testkit, zonefile};
use switchback_builtin::answer::{self, Catalog, Disposition, ServedZone, Transport};
use switchback_builtin::history;
use switchback_builtin::signed;
use switchback_builtin::transfer;
use switchback_builtin::wire::{self, OUR_UDP_PAYLOAD, counts_match};
use switchback_builtin::zone::CompiledZone;

const ZONE: &str = r#"$ORIGIN example.
$TTL 3600
@                        SOA   ns.example.com. hostmaster.example. 1 2 3 4 300
@                        NS    ns.example.com.
@                        NS    ns.example.net.
@                        MX    10 host1
*                        TXT   "this is a wildcard"
*                        MX    10 host1.example.
sub.*                    TXT   "this is not a wildcard"
*.deep.below             A     192.0.2.99
host1                    A     192.0.2.1
host1                    AAAA  2001:db8::1
_ssh._tcp.host1          SRV   0 0 22 host1.example.
_ssh._tcp.host2          SRV   0 0 22 host2.example.
subdel                   NS    ns.subdel.example.
subdel                   NS    ns.example.net.
ns.subdel                A     192.0.2.53
ns.subdel                AAAA  2001:db8::53
c1                       CNAME c2
c2                       CNAME host1
c-out                    CNAME www.example.org.
c-nx                     CNAME missing.host1
c-loop1                  CNAME c-loop2
c-loop2                  CNAME c-loop1
c-del                    CNAME x.subdel
MiXeD                    A     192.0.2.7
big                      TXT   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
big                      TXT   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
big                      TXT   "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
big                      TXT   "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
big                      TXT   "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
big                      TXT   "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
"#;

const OTHER: &str = "$ORIGIN other.test.\n$TTL 60\n@ SOA ns hostmaster 7 3600 600 86400 60\n@ NS ns\nns A 192.0.2.54\n";

pub fn run(data: &[u8]) {
    let Some((&sel, pkt)) = data.split_first() else {
        return;
    };
    let cat = catalog();
    let transport = if sel & 1 == 0 {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let mut out = Vec::with_capacity(512);
    match answer::answer(cat, pkt, transport, &mut out) {
        Disposition::Drop => assert!(
            wire::parse_query(pkt).is_err(),
            "a query that parses was dropped: {pkt:?}"
        ),
        Disposition::Respond => check_reply(pkt, &out, transport),
        Disposition::Transfer => {
            assert_eq!(transport, Transport::Tcp, "a transfer over UDP: {pkt:?}");
            let t = transfer::transfer(cat, pkt, sel & 2 == 0);
            assert!(
                !t.messages.is_empty(),
                "a transfer with no message: {pkt:?}"
            );
            for m in &t.messages {
                check_reply(pkt, m, Transport::Tcp);
            }
        }
        // A TSIG record: verified (it cannot be, without the secret; a malformed one is
        // FORMERR, an unknown key BADKEY), answered NOTAUTH or FORMERR, never a panic.
        Disposition::Signed => match signed::answer(cat, keyring(), pkt, transport, &mut out) {
            signed::Signed::Respond => check_reply(pkt, &out, transport),
            signed::Signed::Drop => {}
            signed::Signed::Transfer { message, .. } => {
                assert_eq!(transport, Transport::Tcp, "a transfer over UDP: {pkt:?}");
                for m in &transfer::transfer(cat, &message, true).messages {
                    check_reply(&message, m, Transport::Tcp);
                }
            }
        },
    }
}

/// The keys the fuzzed server knows (one; the fuzzer cannot sign with it).
fn keyring() -> &'static tsig::Keyring {
    static KEYS: std::sync::OnceLock<tsig::Keyring> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        tsig::Keyring::new([tsig::Key::new(
            &"xfr.example.com.".parse().expect("a key name"),
            tsig::Algorithm::HmacSha256,
            b"fuzz secret",
        )])
    })
}

/// The properties every reply has, whatever the query.
fn check_reply(pkt: &[u8], out: &[u8], transport: Transport) {
    assert!(
        out.len() >= wire::HEADER_LEN,
        "a short reply {out:?} to {pkt:?}"
    );
    assert!(
        counts_match(out),
        "counts and sections disagree: {pkt:?} -> {out:?}"
    );
    assert_eq!(
        out[..2],
        pkt[..2],
        "the id is not echoed: {pkt:?} -> {out:?}"
    );
    assert!(out[2] & 0x80 != 0, "QR clear: {pkt:?} -> {out:?}");
    let q = wire::parse_query(pkt);
    let limit = match (transport, &q) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, Ok(q)) => match q.edns {
            Some(e) => usize::from(e.payload.clamp(512, OUR_UDP_PAYLOAD)),
            None => 512,
        },
        (Transport::Udp, Err(_)) => 512,
    };
    assert!(
        out.len() <= limit,
        "{} octets over a limit of {limit}: {pkt:?}",
        out.len()
    );
    if let Ok(q) = q {
        // A query that parses gets its question back as asked (case kept).
        let asked = &pkt[wire::HEADER_LEN..q.question_end];
        assert_eq!(
            out.get(wire::HEADER_LEN..wire::HEADER_LEN + asked.len()),
            Some(asked),
            "the question is not echoed: {pkt:?} -> {out:?}"
        );
    }
}

fn catalog() -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(|| {
        let origin: Name = "example.".parse().unwrap();
        let mut model = load(ZONE, &origin);
        for t in testkit::sampled_types() {
            if let Some((label, values)) = testkit::sample(t) {
                let name: Name = format!("{label}.example.").parse().unwrap();
                model.record_sets.push(RecordSet::new(
                    name,
                    t,
                    300,
                    values.into_iter().map(String::from),
                ));
            }
        }
        for (id, weight, addr) in [
            ("a", 3, "192.0.2.10"),
            ("b", 1, "192.0.2.20"),
            ("c", 0, "192.0.2.30"),
        ] {
            let mut rs = RecordSet::new(
                "w.example.".parse().unwrap(),
                RType::A,
                60,
                [addr.to_string()],
            );
            rs.set_identifier = Some(id.into());
            rs.weight = Some(weight);
            model.record_sets.push(rs);
        }
        let model = Zone::new(origin.clone(), model.record_sets);
        let old = CompiledZone::compile(&model).expect("the fuzz zone compiles");
        // Version 2: serial 2 and one changed record, with the delta from 1 in the history.
        let mut v2 = model.clone();
        history::set_serial(&mut v2, 2).unwrap();
        v2.record_sets.push(RecordSet::new(
            "new.example.".parse().unwrap(),
            RType::A,
            60,
            ["192.0.2.2".to_string()],
        ));
        let v2 = Zone::new(origin, v2.record_sets);
        let new = CompiledZone::compile(&v2).expect("version 2 compiles");
        let delta = history::diff(&old, &new, None);
        let history = history::appended(&history::empty(), Arc::new(delta), 16);
        let other: Name = "other.test.".parse().unwrap();
        Catalog::new([
            Arc::new(ServedZone::with_history(new, history, 0, true)),
            Arc::new(ServedZone::new(
                CompiledZone::compile(&load(OTHER, &other)).unwrap(),
            )),
        ])
    })
}

fn load(text: &str, origin: &Name) -> Zone {
    zonefile::load_str(text, Path::new("fuzz.zone"), origin, Path::new("."))
        .unwrap_or_else(|e| panic!("{e:?}"))
}
