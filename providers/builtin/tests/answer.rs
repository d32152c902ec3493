//! The answer engine on its own (no sockets): RFC behaviour on small zones, the precomputed
//! fast path against the full resolver, and malformed packets (fuzzed) never panicking.

use std::path::Path;
use std::sync::Arc;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use proptest::prelude::*;
use switchback_api::{Name, zonefile};
use switchback_builtin::answer::{self, Catalog, Disposition, ServedZone, Transport};
use switchback_builtin::wire::counts_match;
use switchback_builtin::zone::CompiledZone;

/// RFC 4592 §2.2.1's example zone, plus CNAME chains, glue and a big RRset.
const RFC4592: &str = r#"$ORIGIN example.
$TTL 3600
example.                 SOA   ns.example.com. hostmaster.example. 1 2 3 4 300
example.                 NS    ns.example.com.
example.                 NS    ns.example.net.
*.example.               TXT   "this is a wildcard"
*.example.               MX    10 host1.example.
sub.*.example.           TXT   "this is not a wildcard"
host1.example.           A     192.0.2.1
_ssh._tcp.host1.example. SRV   0 0 22 host1.example.
_ssh._tcp.host2.example. SRV   0 0 22 host2.example.
subdel.example.          NS    ns.subdel.example.
subdel.example.          NS    ns.example.net.
ns.subdel.example.       A     192.0.2.53
c1                       CNAME c2
c2                       CNAME host1
c-out                    CNAME www.example.org.
c-nx                     CNAME missing.host1
big                      TXT   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
big                      TXT   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
big                      TXT   "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
big                      TXT   "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
big                      TXT   "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
big                      TXT   "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
"#;

fn catalog() -> Catalog {
    let origin: Name = "example.".parse().unwrap();
    let zone = zonefile::load_str(RFC4592, Path::new("example.zone"), &origin, Path::new("."))
        .unwrap_or_else(|e| panic!("{e:?}"));
    Catalog::new([Arc::new(ServedZone::new(
        CompiledZone::compile(&zone).unwrap(),
    ))])
}

/// A query packet: id, flags word, name (presentation, may be mixed case), type, EDNS.
fn query(id: u16, flags: u16, name: &str, qtype: u16, edns: Option<(u16, u8, bool)>) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&flags.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, u8::from(edns.is_some())]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    if let Some((size, version, dnssec_ok)) = edns {
        p.extend_from_slice(&[0, 0, 41]);
        p.extend_from_slice(&size.to_be_bytes());
        p.extend_from_slice(&[0, version, if dnssec_ok { 0x80 } else { 0 }, 0, 0, 0]);
    }
    p
}

fn ask_raw(cat: &Catalog, pkt: &[u8], t: Transport) -> Vec<u8> {
    let mut out = Vec::new();
    assert_eq!(answer::answer(cat, pkt, t, &mut out), Disposition::Respond);
    out
}

fn ask(cat: &Catalog, name: &str, qtype: RecordType) -> Message {
    let pkt = query(7, 0, name, u16::from(qtype), Some((1232, 0, false)));
    Message::from_vec(&ask_raw(cat, &pkt, Transport::Udp)).unwrap()
}

fn shown(records: &[hickory_proto::rr::Record]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(|r| r.to_string()).collect();
    v.sort();
    v
}

#[test]
fn rfc4592_wildcard_examples() {
    let cat = catalog();
    // §2.2.1: host3.example. MX is synthesized from *.example.
    let m = ask(&cat, "host3.example.", RecordType::MX);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(
        shown(&m.answers),
        ["host3.example. 3600 IN MX 10 host1.example."]
    );
    // host3.example. A: the wildcard matches but has no A: NODATA.
    let m = ask(&cat, "host3.example.", RecordType::A);
    assert_eq!(
        (
            m.metadata.response_code,
            m.answers.len(),
            m.authorities.len()
        ),
        (ResponseCode::NoError, 0, 1)
    );
    // foo.bar.example. TXT: synthesized.
    let m = ask(&cat, "foo.bar.example.", RecordType::TXT);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].name.to_string(), "foo.bar.example.");
    // host1.example. MX: host1 exists, so no synthesis: NODATA.
    let m = ask(&cat, "host1.example.", RecordType::MX);
    assert_eq!(
        (m.metadata.response_code, m.answers.len()),
        (ResponseCode::NoError, 0)
    );
    // sub.*.example. MX: exists: NODATA; its TXT is not a wildcard answer.
    let m = ask(&cat, "sub.*.example.", RecordType::MX);
    assert_eq!(
        (m.metadata.response_code, m.answers.len()),
        (ResponseCode::NoError, 0)
    );
    // _telnet._tcp.host1.example. SRV: closest encloser _tcp.host1.example. (empty
    // non-terminal) has no wildcard: NXDOMAIN.
    let m = ask(&cat, "_telnet._tcp.host1.example.", RecordType::SRV);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    // _tcp.host1.example. (empty non-terminal) A: NODATA, not NXDOMAIN.
    let m = ask(&cat, "_tcp.host1.example.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    // ghost.*.example. MX: closest encloser *.example. has no *.*.example.: NXDOMAIN.
    let m = ask(&cat, "ghost.*.example.", RecordType::MX);
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
}

#[test]
fn negative_answers_carry_soa_with_negative_ttl() {
    let cat = catalog();
    let m = ask(&cat, "_telnet._tcp.host1.example.", RecordType::A);
    assert_eq!(m.authorities.len(), 1);
    // min(SOA TTL 3600, SOA minimum 300)
    assert_eq!(m.authorities[0].ttl, 300);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
}

#[test]
fn referral_with_glue_and_no_aa() {
    let cat = catalog();
    let m = ask(&cat, "www.host.subdel.example.", RecordType::A);
    assert!(!m.metadata.authoritative);
    assert_eq!(m.answers.len(), 0);
    assert_eq!(
        shown(&m.authorities),
        [
            "subdel.example. 3600 IN NS ns.example.net.",
            "subdel.example. 3600 IN NS ns.subdel.example."
        ]
    );
    assert_eq!(
        shown(&m.additionals),
        ["ns.subdel.example. 3600 IN A 192.0.2.53"]
    );
}

#[test]
fn cname_chains() {
    let cat = catalog();
    let m = ask(&cat, "c1.example.", RecordType::A);
    assert_eq!(
        shown(&m.answers),
        [
            "c1.example. 3600 IN CNAME c2.example.",
            "c2.example. 3600 IN CNAME host1.example.",
            "host1.example. 3600 IN A 192.0.2.1"
        ]
    );
    // Out of zone: the chain stops, NOERROR.
    let m = ask(&cat, "c-out.example.", RecordType::A);
    assert_eq!(
        (m.metadata.response_code, m.answers.len()),
        (ResponseCode::NoError, 1)
    );
    // Ends at a missing name: NXDOMAIN (RFC 6604) with the CNAME kept.
    let m = ask(&cat, "c-nx.example.", RecordType::A);
    assert_eq!(
        (m.metadata.response_code, m.answers.len()),
        (ResponseCode::NXDomain, 1)
    );
    // Asking for the CNAME itself does not follow it.
    let m = ask(&cat, "c1.example.", RecordType::CNAME);
    assert_eq!(m.answers.len(), 1);
}

#[test]
fn refused_notimp_formerr_badvers() {
    let cat = catalog();
    let m = ask(&cat, "www.example.org.", RecordType::A);
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    assert!(!m.metadata.authoritative);
    // Opcode 2 (STATUS): NOTIMP.
    let pkt = query(9, 2 << 11, "host1.example.", 1, None);
    let m = Message::from_vec(&ask_raw(&cat, &pkt, Transport::Udp)).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::NotImp);
    // Two questions: FORMERR.
    let mut pkt = query(9, 0, "host1.example.", 1, None);
    pkt[5] = 2;
    let m = Message::from_vec(&ask_raw(&cat, &pkt, Transport::Udp)).unwrap();
    assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
    // EDNS version 1: BADVERS, with an OPT of version 0.
    let pkt = query(9, 0, "host1.example.", 1, Some((1232, 1, false)));
    let out = ask_raw(&cat, &pkt, Transport::Udp);
    let m = Message::from_vec(&out).unwrap();
    // 16 is BADVERS in an OPT (hickory names the code BADSIG, its TSIG meaning).
    assert_eq!(u16::from(m.metadata.response_code), 16);
    assert_eq!(m.edns.as_ref().map(|e| e.version()), Some(0));
    assert_eq!(m.answers.len(), 0);
    // A response (QR set) is dropped, as is a runt.
    let mut pkt = query(9, 0x8000, "host1.example.", 1, None);
    let mut out = Vec::new();
    assert_eq!(
        answer::answer(&cat, &pkt, Transport::Udp, &mut out),
        Disposition::Drop
    );
    pkt.truncate(5);
    assert_eq!(
        answer::answer(&cat, &pkt, Transport::Udp, &mut out),
        Disposition::Drop
    );
}

#[test]
fn truncation_over_udp_and_tcp_fallback() {
    let cat = catalog();
    // ~600 octets of TXT: over 512 without EDNS -> TC, no records.
    let pkt = query(3, 0x0100, "big.example.", 16, None);
    let out = ask_raw(&cat, &pkt, Transport::Udp);
    assert!(out.len() <= 512);
    let m = Message::from_vec(&out).unwrap();
    assert!(m.metadata.truncation);
    assert!(m.metadata.recursion_desired, "RD is copied");
    assert_eq!(m.answers.len(), 0);
    // With EDNS 1232 it fits.
    let pkt = query(3, 0, "big.example.", 16, Some((1232, 0, false)));
    let m = Message::from_vec(&ask_raw(&cat, &pkt, Transport::Udp)).unwrap();
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 6);
    // Over TCP without EDNS it fits too.
    let pkt = query(3, 0, "big.example.", 16, None);
    let m = Message::from_vec(&ask_raw(&cat, &pkt, Transport::Tcp)).unwrap();
    assert_eq!(m.answers.len(), 6);
}

#[test]
fn case_is_preserved_and_compression_points_at_it() {
    let cat = catalog();
    let pkt = query(5, 0, "HoSt1.ExAmPlE.", 1, None);
    let out = ask_raw(&cat, &pkt, Transport::Udp);
    assert_eq!(&out[12..12 + 15], &pkt[12..12 + 15]);
    let m = Message::from_vec(&out).unwrap();
    assert_eq!(m.answers[0].name.to_string(), "HoSt1.ExAmPlE.");
}

/// Every precomputed response equals what the full resolver writes for the same query, for
/// any id, flags, case and EDNS variant.
#[test]
fn fast_path_equals_resolver() {
    let cat = catalog();
    let names = [
        "example.",
        "host1.example.",
        "c1.example.",
        "c2.example.",
        "big.example.",
        "sub.*.example.",
        "*.example.",
        "_ssh._tcp.host1.example.",
        "subdel.example.",
        "ns.subdel.example.",
        "c-out.example.",
    ];
    let types = [1u16, 2, 5, 6, 15, 16, 28, 33, 43, 255];
    let mut n = 0;
    for name in names {
        for &t in &types {
            for (flags, edns) in [
                (0, None),
                (0x0110, Some((4096, 0, true))),
                (0x0100, Some((512, 0, false))),
                (0, Some((1232, 0, false))),
            ] {
                let mixed: String = name
                    .chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if i % 2 == 0 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect();
                let pkt = query(0xBEEF, flags, &mixed, t, edns);
                let fast = ask_raw(&cat, &pkt, Transport::Udp);
                let q = switchback_builtin::wire::parse_query(&pkt).unwrap();
                let zone = cat.find_zone(q.qname()).unwrap();
                let limit = match edns {
                    None => 512,
                    Some((s, _, _)) => usize::from(s.clamp(512, 1232)),
                };
                let mut slow = Vec::new();
                answer::resolve(&zone.zone, &pkt, &q, &mut slow, limit);
                assert_eq!(
                    fast, slow,
                    "{mixed} type {t} flags {flags:#x} edns {edns:?}"
                );
                n += 1;
            }
        }
    }
    assert_eq!(n, names.len() * types.len() * 4);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// Random bytes: never a panic; any response parses and echoes the id.
    #[test]
    fn random_packets_never_panic(pkt in proptest::collection::vec(any::<u8>(), 0..600)) {
        let cat = catalog_once();
        let mut out = Vec::new();
        for t in [Transport::Udp, Transport::Tcp] {
            if answer::answer(cat, &pkt, t, &mut out) == Disposition::Respond {
                prop_assert!(out.len() >= 12);
                prop_assert_eq!(&out[..2], &pkt[..2]);
                prop_assert!(out[2] & 0x80 != 0, "QR set");
                prop_assert!(Message::from_vec(&out).is_ok(), "unparseable response to {:?}", pkt);
                prop_assert!(counts_match(&out), "counts and sections disagree: {:?} -> {:?}", pkt, out);
            }
        }
    }

    /// Valid queries with a few bytes flipped, cut or appended.
    #[test]
    fn mutated_queries_never_panic(
        name in prop::sample::select(vec!["host1.example.", "c1.example.", "x.y.example.", "big.example.", "www.host.subdel.example."]),
        qtype in any::<u16>(),
        edns in any::<bool>(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in any::<usize>(),
        tail in proptest::collection::vec(any::<u8>(), 0..20),
    ) {
        let cat = catalog_once();
        let mut pkt = query(1, 0, name, qtype, edns.then_some((1232, 0, false)));
        for (at, b) in flips {
            let i = at % pkt.len();
            pkt[i] ^= b;
        }
        pkt.truncate(cut % (pkt.len() + 1));
        pkt.extend(tail);
        let mut out = Vec::new();
        if answer::answer(cat, &pkt, Transport::Udp, &mut out) == Disposition::Respond {
            prop_assert!(Message::from_vec(&out).is_ok(), "unparseable response to {:?}", pkt);
            prop_assert!(counts_match(&out), "counts and sections disagree: {:?} -> {:?}", pkt, out);
            prop_assert!(out.len() <= 1232);
        }
    }

    /// IXFR queries (the client's SOA in authority) with an OPT, a few bytes flipped, cut or
    /// appended: every reply's counts match its sections.
    #[test]
    fn mutated_ixfr_queries_answer_consistently(
        root in any::<bool>(),
        options in proptest::collection::vec(any::<u8>(), 0..12),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        tail in proptest::collection::vec(any::<u8>(), 0..6),
    ) {
        let cat = catalog_once();
        let mut pkt = ixfr_query(root, &options, &tail);
        for (at, b) in flips {
            let i = 12 + at % (pkt.len() - 12);
            pkt[i] ^= b;
        }
        let mut out = Vec::new();
        for t in [Transport::Udp, Transport::Tcp] {
            if answer::answer(cat, &pkt, t, &mut out) == Disposition::Respond {
                prop_assert!(counts_match(&out), "counts and sections disagree: {:?} -> {:?}", pkt, out);
            }
        }
    }
}

/// An IXFR query with the client's SOA in the authority section and an OPT.
fn ixfr_query(opt_owner_root: bool, options: &[u8], trailing: &[u8]) -> Vec<u8> {
    let mut p = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1];
    p.extend_from_slice(b"\x07example\x00");
    p.extend_from_slice(&251u16.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    // SOA example. (compressed owner), serial 1.
    p.extend_from_slice(&[0xC0, 12, 0, 6, 0, 1, 0, 0, 0, 60]);
    let rdata: Vec<u8> = [&[0xC0, 12, 0xC0, 12][..], &[0, 0, 0, 1], &[0; 16]].concat();
    p.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    p.extend_from_slice(&rdata);
    if opt_owner_root {
        p.push(0);
    } else {
        p.extend_from_slice(b"\x01x\x00");
    }
    p.extend_from_slice(&[0, 41, 4, 0xd0, 0, 0, 0, 0]);
    p.extend_from_slice(&(options.len() as u16).to_be_bytes());
    p.extend_from_slice(options);
    p.extend_from_slice(trailing);
    p
}

#[test]
fn a_formerr_to_an_ixfr_with_a_bad_opt_echoes_the_question_only() {
    let cat = catalog_once();
    for (root, options, trailing) in [
        (false, &[][..], &[][..]),
        (true, &[0, 10, 0, 3, 1][..], &[][..]),
        (true, &[][..], &[1, 2, 3][..]),
    ] {
        let pkt = ixfr_query(root, options, trailing);
        let mut out = Vec::new();
        assert_eq!(
            answer::answer(cat, &pkt, Transport::Tcp, &mut out),
            Disposition::Respond
        );
        assert_eq!(out[3] & 0xF, 1, "FORMERR");
        assert!(counts_match(&out), "counts and sections disagree: {out:?}");
        let m = Message::from_vec(&out).unwrap();
        assert!(
            m.authorities.is_empty() && m.additionals.is_empty(),
            "{m:?}"
        );
    }
}

fn catalog_once() -> &'static Catalog {
    static CAT: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CAT.get_or_init(catalog)
}
