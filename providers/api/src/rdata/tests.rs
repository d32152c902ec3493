use super::*;

fn origin() -> Name {
    "example.com.".parse().unwrap()
}

fn canon(t: RType, text: &str) -> Result<String> {
    canonicalize(t, text, &origin())
}

fn ok(t: RType, text: &str) -> String {
    match canon(t, text) {
        Ok(s) => s,
        Err(e) => panic!("{t} {text:?}: {e}"),
    }
}

fn bad(t: RType, text: &str) -> String {
    match canon(t, text) {
        Ok(s) => panic!("{t} {text:?} was accepted as {s:?}"),
        Err(e) => e.0,
    }
}

/// Canonical text is a fixed point, and \# of its wire form gives it back too.
fn round_trip(t: RType, text: &str, expect: &str) {
    let c = ok(t, text);
    assert_eq!(c, expect, "{t} {text:?}");
    assert_eq!(ok(t, &c), c, "{t} not stable");
    let wire = parse(t, &tokenize(&c).unwrap(), &origin()).unwrap();
    assert_eq!(format(t, &wire).unwrap(), c);
    let generic = format_generic(&wire);
    assert_eq!(ok(t, &generic), c, "{t} from {generic}");
}

#[test]
fn round_trip_every_type() {
    let cases: &[(RType, &str, &str)] = &[
        (RType::A, "192.0.2.1", "192.0.2.1"),
        (RType::AAAA, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        (RType::AAAA, "::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        (RType::NS, "NS1.Example.COM.", "ns1.example.com."),
        (RType::CNAME, "www", "www.example.com."),
        (RType::PTR, "@", "example.com."),
        (RType::DNAME, "other.ORG.", "other.org."),
        (RType::MX, "10 Mail", "10 mail.example.com."),
        (RType::MX, "0 .", "0 ."),
        (RType::AFSDB, "1 afs", "1 afs.example.com."),
        (RType::KX, "5 kx.example.net.", "5 kx.example.net."),
        (RType::RP, "admin.example.com. .", "admin.example.com. ."),
        (RType::TXT, "hello", "\"hello\""),
        (RType::SPF, "\"v=spf1 -all\"", "\"v=spf1 -all\""),
        (RType::HINFO, "INTEL LINUX", "\"INTEL\" \"LINUX\""),
        (
            RType::SOA,
            "ns1 Hostmaster 2024010101 1h 15m 2w 1d12h",
            "ns1.example.com. hostmaster.example.com. 2024010101 3600 900 1209600 129600",
        ),
        (RType::SRV, "10 60 5060 sip", "10 60 5060 sip.example.com."),
        (
            RType::NAPTR,
            "100 10 S SIP+D2U \"\" _sip._udp",
            "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
        ),
        (
            RType::CAA,
            "0 issue \"letsencrypt.org\"",
            "0 issue \"letsencrypt.org\"",
        ),
        (
            RType::CAA,
            "128 iodef mailto:security@example.com",
            "128 iodef \"mailto:security@example.com\"",
        ),
        (RType::CAA, "0 issue \"\"", "0 issue \"\""),
        (
            RType::DS,
            "60485 RSASHA1 1 2BB183AF5F22588179A53B0A 98631FAD1A292118",
            "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
        ),
        (RType::CDS, "0 0 0 00", "0 0 0 00"),
        (
            RType::DNSKEY,
            "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0d xCjjnopKl+GqJxpVXckHAeF+KkxLbxIL fDLUT0rAK9iUzy1L53eKGQ==",
            "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
        ),
        (RType::CDNSKEY, "0 3 0 AA==", "0 3 0 AA=="),
        (
            RType::SSHFP,
            "4 2 123456789abcdef67890 123456789abcdef67890",
            "4 2 123456789ABCDEF67890123456789ABCDEF67890",
        ),
        (RType::TLSA, "3 1 1 0c72ac70", "3 1 1 0C72AC70"),
        (RType::SMIMEA, "3 0 0 AB CD", "3 0 0 ABCD"),
        (
            RType::URI,
            "10 1 \"https://example.com/\"",
            "10 1 \"https://example.com/\"",
        ),
        (RType::OPENPGPKEY, "AQID BA", "AQIDBA=="),
        (RType::EUI48, "00-00-5E-00-53-2A", "00-00-5e-00-53-2a"),
        (
            RType::EUI64,
            "00-00-5e-ef-10-00-00-2a",
            "00-00-5e-ef-10-00-00-2a",
        ),
        (RType::SVCB, "0 svc.example.net.", "0 svc.example.net."),
        (RType::HTTPS, "1 .", "1 ."),
        (
            RType::HTTPS,
            "1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1",
            "1 . alpn=\"h2,h3\" port=443 ipv4hint=192.0.2.1",
        ),
        (
            RType::SVCB,
            "16 foo key667=hello",
            "16 foo.example.com. key667=\"hello\"",
        ),
        (
            RType::SVCB,
            "1 . ech=AEP+DQA/ ipv6hint=2001:db8::1,2001:db8::53:1 no-default-alpn alpn=h2 mandatory=alpn,ipv4hint ipv4hint=192.0.2.1,192.0.2.2",
            "1 . mandatory=alpn,ipv4hint alpn=\"h2\" no-default-alpn ipv4hint=192.0.2.1,192.0.2.2 ech=AEP+DQA/ ipv6hint=2001:db8::1,2001:db8::53:1",
        ),
        (RType::SVCB, "1 . key9 key65534=\"\"", "1 . key9 key65534"),
        (
            RType::LOC,
            "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
            "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000.00m 10.00m",
        ),
        (
            RType::LOC,
            "42 21 54 N 71 06 18 W -24m 30m",
            "42 21 54.000 N 71 6 18.000 W -24.00m 30.00m 10000.00m 10.00m",
        ),
        (
            RType::LOC,
            "0 S 0 W 0",
            "0 0 0.000 N 0 0 0.000 E 0.00m 1.00m 10000.00m 10.00m",
        ),
        (RType(65534), "\\# 4 0a000001", "\\# 4 0A000001"),
        (RType(65534), "\\# 0", "\\# 0"),
        (RType::NSEC, "\\# 3 00 0001", "\\# 3 000001"),
    ];
    for (t, text, expect) in cases {
        round_trip(*t, text, expect);
    }
}

#[test]
fn names_are_lower_case_absolute() {
    assert_eq!(
        ok(RType::CNAME, "WWW.Example.NET"),
        "www.example.net.example.com."
    );
    assert_eq!(ok(RType::CNAME, "WWW.Example.NET."), "www.example.net.");
    assert_eq!(ok(RType::NS, "a\\.b"), "a\\.b.example.com.");
    assert_eq!(ok(RType::MX, "10 @"), "10 example.com.");
}

#[test]
fn txt_escapes_and_multiple_strings() {
    assert_eq!(
        ok(RType::TXT, r#""a \"quoted\" word" plain "back\\slash""#),
        r#""a \"quoted\" word" "plain" "back\\slash""#
    );
    assert_eq!(
        ok(RType::TXT, r#""tab\009 and \233 and é""#),
        r#""tab\009 and \233 and \195\169""#
    );
    assert_eq!(ok(RType::TXT, r#""\065\066C""#), r#""ABC""#);
    assert_eq!(ok(RType::TXT, r#""""#), r#""""#);
    assert_eq!(ok(RType::TXT, r#"a\ b"#), r#""a b""#);
    assert_eq!(ok(RType::TXT, r#""semi;colon""#), r#""semi;colon""#);
    let long = "x".repeat(255);
    assert_eq!(
        ok(RType::TXT, &format!("\"{long}\"")),
        format!("\"{long}\"")
    );
    let wire = parse(RType::TXT, &tokenize("a bc").unwrap(), &origin()).unwrap();
    assert_eq!(wire, b"\x01a\x02bc");
}

#[test]
fn generic_form_for_known_types() {
    assert_eq!(ok(RType::A, "\\# 4 C0000201"), "192.0.2.1");
    assert_eq!(ok(RType::A, "\\# 4 C000 0201"), "192.0.2.1");
    assert_eq!(ok(RType::TXT, "\\# 6 0568656C6C6F"), "\"hello\"");
    assert_eq!(ok(RType::MX, "\\# 3 000A 00"), "10 .");
    assert_eq!(
        ok(RType::CAA, "\\# 8 00 05 697373756500"),
        "0 issue \"\\000\""
    );
    assert!(bad(RType::A, "\\# 3 C00002").contains("not valid A RDATA"));
    assert!(bad(RType::A, "\\# 4 C00002").contains("says 4 octets"));
    assert!(bad(RType::A, "\\# 4 C000020").contains("odd number"));
    assert!(bad(RType::A, "\\# 4 C00002GG").contains("bad hex digit"));
    assert!(bad(RType::A, "\\#").contains("length"));
    assert!(bad(RType::A, "\\# 0 00").contains("\\# 0"));
    assert!(bad(RType::A, "\\# 70000 00").contains("\\# length"));
    assert!(bad(RType(65534), "hello").contains("RFC 3597"));
    assert_eq!(
        format(RType::TXT, b"").unwrap_err().0,
        "malformed TXT RDATA: no strings"
    );
}

#[test]
fn svcb_params_sorted_and_checked() {
    assert_eq!(
        ok(
            RType::HTTPS,
            "1 . port=8443 alpn=\"h3\" ipv4hint=\"192.0.2.1\""
        ),
        "1 . alpn=\"h3\" port=8443 ipv4hint=192.0.2.1"
    );
    // key3 is port; the generic name of a known key gives the known syntax.
    assert_eq!(
        ok(RType::HTTPS, "1 . key3=53 key1=h2"),
        "1 . alpn=\"h2\" port=53"
    );
    // A comma inside a protocol id (RFC 9460 Appendix A.1).
    assert_eq!(
        ok(RType::SVCB, r#"1 . alpn="f\\\\oo\\,bar,h2""#),
        r#"1 . alpn="f\\\\oo\\,bar,h2""#
    );
    let wire = parse(
        RType::SVCB,
        &tokenize(r#"1 . alpn="f\\\\oo\\,bar,h2""#).unwrap(),
        &origin(),
    )
    .unwrap();
    assert_eq!(&wire[3..], b"\x00\x01\x00\x0c\x08f\\oo,bar\x02h2");
    assert_eq!(
        ok(RType::SVCB, "1 . key65000=\"a b\\\"\""),
        "1 . key65000=\"a b\\\"\""
    );
    assert_eq!(
        ok(RType::SVCB, "1 . dohpath=/q{?dns}"),
        "1 . key7=\"/q{?dns}\""
    );
    assert!(bad(RType::SVCB, "0 . alpn=h2").contains("AliasMode"));
    assert!(bad(RType::SVCB, "1 . port=1 port=2").contains("duplicate SvcParam key port"));
    assert!(bad(RType::SVCB, "1 . port=1 key3=2").contains("duplicate"));
    assert!(bad(RType::SVCB, "1 . mandatory=port").contains("no such SvcParam"));
    assert!(bad(RType::SVCB, "1 . mandatory=mandatory").contains("mandatory itself"));
    assert!(bad(RType::SVCB, "1 . mandatory=port,port port=1").contains("twice"));
    assert!(bad(RType::SVCB, "1 . alpn").contains("needs a value"));
    assert!(bad(RType::SVCB, "1 . alpn=h2,,h3").contains("empty protocol id"));
    assert!(bad(RType::SVCB, "1 . no-default-alpn=x").contains("no value"));
    assert!(bad(RType::SVCB, "1 . port=70000").contains("port"));
    assert!(bad(RType::SVCB, "1 . ipv4hint=1.2.3").contains("bad IPv4 address \"1.2.3\""));
    assert!(bad(RType::SVCB, "1 . ipv6hint=1.2.3.4").contains("IPv6"));
    assert!(bad(RType::SVCB, "1 . ech=!!").contains("base64"));
    assert!(bad(RType::SVCB, "1 . bogus=1").contains("unknown SvcParam key"));
    assert!(bad(RType::SVCB, "1 . key65535").contains("reserved"));
    assert!(bad(RType::SVCB, "1 . \"alpn\"").contains("quoted"));
    assert!(bad(RType::SVCB, "1").contains("at least 2 fields"));
    // Wire with keys out of order is malformed.
    let mut w = vec![0, 1, 0];
    w.extend_from_slice(&[0, 3, 0, 2, 0, 53, 0, 1, 0, 3, 2, b'h', b'2']);
    assert!(
        format(RType::SVCB, &w)
            .unwrap_err()
            .0
            .contains("increasing")
    );
}

#[test]
fn soa_timers() {
    let c = ok(RType::SOA, "ns. h. 1 1W 1D 1H 1M");
    assert_eq!(c, "ns. h. 1 604800 86400 3600 60");
    assert_eq!(
        ok(RType::SOA, "ns. h. 4294967295 1h30m 90s 0 4294967295"),
        "ns. h. 4294967295 5400 90 0 4294967295"
    );
    assert!(bad(RType::SOA, "ns. h. 1 1h30 1 1 1").contains("bad refresh \"1h30\""));
    assert!(bad(RType::SOA, "ns. h. 1 1x 1 1 1").contains("refresh"));
    assert!(bad(RType::SOA, "ns. h. 1 8000w 1 1 1").contains("refresh"));
    assert!(bad(RType::SOA, "ns. h. 1h 1 1 1 1").contains("bad serial"));
    assert!(bad(RType::SOA, "ns. h. 4294967296 1 1 1 1").contains("serial"));
    assert!(bad(RType::SOA, "ns. h. 1 1 1 1").contains("SOA needs 7 fields"));
}

#[test]
fn errors_are_readable() {
    assert_eq!(bad(RType::A, "1.2.3"), "bad IPv4 address \"1.2.3\"");
    assert_eq!(
        bad(RType::A, "1.2.3.4 5.6.7.8"),
        "A needs 1 field (address), got 2"
    );
    assert_eq!(
        bad(RType::MX, "10"),
        "MX needs 2 fields (preference exchange), got 1"
    );
    assert_eq!(
        bad(RType::MX, "10 a b"),
        "MX needs 2 fields (preference exchange), got 3"
    );
    assert!(bad(RType::MX, "-1 a").contains("bad preference \"-1\""));
    assert!(bad(RType::MX, "+1 a").contains("bad preference"));
    assert!(bad(RType::MX, "65536 a").contains("0 to 65535"));
    assert!(bad(RType::AAAA, "2001:db8::g").contains("bad IPv6 address"));
    assert!(bad(RType::A, "01.2.3.4").contains("IPv4"));
    assert!(
        bad(RType::TXT, &format!("\"{}\"", "x".repeat(256)))
            .contains("TXT string longer than 255 octets")
    );
    assert!(bad(RType::TXT, "").contains("at least one string"));
    assert!(bad(RType::TXT, r#""\999""#).contains("bad escape"));
    assert!(bad(RType::TXT, r#""\12""#).contains("bad escape"));
    assert!(bad(RType::TXT, "x\\").contains("backslash"));
    assert!(bad(RType::CNAME, "a..b").contains("bad target name"));
    assert!(bad(RType::CNAME, "\"\"").contains("empty"));
    assert!(bad(RType::CAA, "0 is-sue x").contains("bad CAA tag"));
    assert!(bad(RType::CAA, "0 \"\" x").contains("empty CAA tag"));
    assert!(bad(RType::CAA, "256 issue x").contains("flags"));
    assert!(bad(RType::DS, "1 8 2 ABCD").contains("32-octet"));
    assert!(bad(RType::DS, "1 8 2").contains("at least 4 fields"));
    assert!(bad(RType::DS, "1 BOGUS 2 AB").contains("bad algorithm"));
    assert!(bad(RType::DNSKEY, "256 3 8 A").contains("base64"));
    assert!(bad(RType::DNSKEY, "256 3 8 AA=A").contains("base64"));
    assert!(bad(RType::SSHFP, "1 1 xyz").contains("bad hex digit"));
    assert!(bad(RType::URI, "1 1 \"\"").contains("empty"));
    assert!(bad(RType::HINFO, "x").contains("HINFO needs 2 fields"));
    assert!(bad(RType::NAPTR, &format!("1 1 \"{}\" s r .", "f".repeat(300))).contains("255"));
    assert!(bad(RType::EUI48, "00-00-5e-00-53").contains("EUI48"));
    assert!(bad(RType::LOC, "91 N 0 E 0").contains("degrees"));
    assert!(bad(RType::LOC, "1 2 3 4 N 0 E 0").contains("LOC needs"));
    for meta in [
        RType::OPT,
        RType::ANY,
        RType::AXFR,
        RType::IXFR,
        RType::TSIG,
    ] {
        assert!(bad(meta, "\\# 0").contains("meta"));
        assert!(format(meta, b"").is_err());
    }
    assert!(bad(RType::A, "\"1.2.3.4\" x").contains("got 2"));
}

#[test]
fn malformed_wire_is_rejected() {
    let cases: &[(RType, &[u8])] = &[
        (RType::A, &[1, 2, 3]),
        (RType::A, &[1, 2, 3, 4, 5]),
        (RType::NS, &[3, b'c', b'o']),
        (RType::NS, &[0xc0, 0x0c]),
        (RType::NS, &[0, 0]),
        (RType::MX, &[0]),
        (RType::SOA, &[0, 0, 0, 0, 0, 1]),
        (RType::TXT, &[5, b'a']),
        (RType::CAA, &[0, 0]),
        (RType::CAA, &[0, 2, b'a', b'-']),
        (RType::SVCB, &[0, 0, 0, 0, 1, 0, 0]),
        (RType::SVCB, &[0, 1, 0, 0, 3, 0, 3, 0, 53]),
        (RType::DS, &[0, 1, 8, 2]),
        (
            RType::LOC,
            &[0, 0x12, 0x16, 0x13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        (
            RType::LOC,
            &[
                0, 0xa2, 0x16, 0x13, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0,
            ],
        ),
    ];
    for (t, w) in cases {
        assert!(format(*t, w).is_err(), "{t} {w:?}");
    }
    assert!(format(RType::A, &vec![0; 70000]).is_err());
}

#[test]
fn compressible_name_ranges() {
    let o = origin();
    let p = |t: RType, s: &str| parse(t, &tokenize(s).unwrap(), &o).unwrap();
    let ns = p(RType::NS, "ns1");
    let r = compressible_names(RType::NS, &ns);
    assert_eq!((r.len(), r[0].clone()), (1, 0..ns.len()));
    let mx = p(RType::MX, "10 mail");
    let r = compressible_names(RType::MX, &mx);
    assert_eq!((r.len(), r[0].clone()), (1, 2..mx.len()));
    let soa = p(RType::SOA, "ns1 h 1 2 3 4 5");
    let m = 1 + 3 + o.wire().len();
    assert_eq!(
        compressible_names(RType::SOA, &soa),
        vec![0..m, m..m + 2 + o.wire().len()]
    );
    for (t, s) in [
        (RType::SRV, "1 1 1 x"),
        (RType::DNAME, "x"),
        (RType::SVCB, "1 x"),
        (RType::RP, "a b"),
    ] {
        assert!(compressible_names(t, &p(t, s)).is_empty(), "{t}");
    }
    assert!(compressible_names(RType::NS, &[3, b'a']).is_empty());
    assert!(compressible_names(RType::MX, &[0]).is_empty());
}

#[test]
fn codecs() {
    for n in 0..40usize {
        let data: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
        if n > 0 {
            assert_eq!(base64_decode(&base64_encode(&data), "x").unwrap(), data);
            assert_eq!(
                base64_decode(base64_encode(&data).trim_end_matches('='), "x").unwrap(),
                data
            );
            assert_eq!(hex_decode(&hex_encode(&data), "x").unwrap(), data);
        }
    }
    assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64_encode(b"fo"), "Zm8=");
    assert_eq!(base64_decode("Zg==", "x").unwrap(), b"f");
    assert!(base64_decode("Zg===", "x").is_err());
    assert!(base64_decode("Z", "x").is_err());
}

const TYPES: &[RType] = &[
    RType::A,
    RType::AAAA,
    RType::NS,
    RType::CNAME,
    RType::PTR,
    RType::DNAME,
    RType::MX,
    RType::AFSDB,
    RType::KX,
    RType::RP,
    RType::TXT,
    RType::SPF,
    RType::HINFO,
    RType::SOA,
    RType::SRV,
    RType::NAPTR,
    RType::CAA,
    RType::URI,
    RType::DS,
    RType::CDS,
    RType::DNSKEY,
    RType::CDNSKEY,
    RType::SSHFP,
    RType::TLSA,
    RType::SMIMEA,
    RType::OPENPGPKEY,
    RType::EUI48,
    RType::EUI64,
    RType::SVCB,
    RType::HTTPS,
    RType::LOC,
    RType::NSEC,
    RType::RRSIG,
    RType(65534),
];

const WORDS: &[&str] = &[
    "0",
    "1",
    "3",
    "8",
    "10",
    "13",
    "255",
    "256",
    "65535",
    "4294967295",
    "1h",
    "2w",
    "a",
    "Mail.Example.",
    ".",
    "@",
    "\\#",
    "4",
    "C0000201",
    "00",
    "0a",
    "\"x y\"",
    "\"\\065\\\"\"",
    "issue",
    "\"ca.example\"",
    "alpn=h2,h3",
    "alpn=",
    "\"h3\"",
    "port=53",
    "mandatory=port",
    "ipv4hint=192.0.2.1",
    "ipv6hint=::1",
    "ech=AAAA",
    "no-default-alpn",
    "key999=x",
    "N",
    "S",
    "E",
    "W",
    "-2m",
    "10m",
    "30.5",
    "AA==",
    "AwEAAQ",
    "192.0.2.1",
    "2001:db8::1",
    "00-00-5e-00-53-2a",
    "x\\032y",
    "",
];

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(2000))]

    #[test]
    fn format_never_panics_and_is_stable(
        ti in 0..TYPES.len(),
        wire in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
    ) {
        let t = TYPES[ti];
        if let Ok(text) = format(t, &wire) {
            let again = canonicalize(t, &text, &Name::root());
            proptest::prop_assert_eq!(again, Ok(text.clone()), "{} {:?}", t, wire);
            let back = parse(t, &tokenize(&text).unwrap(), &Name::root()).unwrap();
            proptest::prop_assert_eq!(format(t, &back), Ok(text));
        }
    }

    #[test]
    fn format_of_structured_wire_is_stable(
        ti in 0..TYPES.len(),
        // Small label lengths and counts make names and strings likely to be well-formed.
        wire in proptest::collection::vec(
            proptest::prop_oneof![0u8..8, proptest::prelude::any::<u8>()], 0..48),
    ) {
        let t = TYPES[ti];
        if let Ok(text) = format(t, &wire) {
            proptest::prop_assert_eq!(canonicalize(t, &text, &Name::root()), Ok(text));
        }
    }

    #[test]
    fn parse_of_likely_tokens_is_stable(
        ti in 0..TYPES.len(),
        words in proptest::collection::vec(proptest::sample::select(WORDS), 0..9),
    ) {
        let t = TYPES[ti];
        let text = words.join(" ");
        if let Ok(wire) = parse(t, &tokenize(&text).unwrap(), &origin()) {
            let shown = format(t, &wire).unwrap();
            proptest::prop_assert_eq!(canonicalize(t, &shown, &origin()), Ok(shown));
        }
    }

    #[test]
    fn parse_never_panics(
        ti in 0..TYPES.len(),
        text in "[ -~\\t]{0,60}",
    ) {
        let t = TYPES[ti];
        if let Ok(tokens) = tokenize(&text) {
            if let Ok(wire) = parse(t, &tokens, &origin()) {
                let shown = format(t, &wire).unwrap();
                proptest::prop_assert_eq!(canonicalize(t, &shown, &origin()), Ok(shown));
            }
        }
    }
}
