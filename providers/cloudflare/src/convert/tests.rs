//! Round trips of every type, the fields' defaults and checks, per-object TTLs.

use super::*;

fn rs(t: RType, data: &str) -> RecordSet {
    RecordSet::new(
        "x.example.com.".parse().unwrap(),
        t,
        300,
        [data.to_string()],
    )
}

/// model -> body -> (as Cloudflare stores it) -> model, for every type.
#[test]
fn round_trip_every_type() {
    let cases: Vec<(RType, String)> = vec![
        (RType::A, "192.0.2.1".into()),
        (RType::AAAA, "2001:db8::1".into()),
        (RType::CNAME, "target.example.net.".into()),
        (RType::MX, "10 mx.example.net.".into()),
        (RType::TXT, r#""a \"b\" c" "caf\195\169""#.into()),
        (RType::SRV, "10 60 5060 sip.example.net.".into()),
        (RType::CAA, "0 issue \"letsencrypt.org; validationmethods=dns-01\"".into()),
        (RType::NS, "ns1.example.net.".into()),
        (RType::PTR, "host.example.net.".into()),
        (RType::DS, "12345 13 2 E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766".into()),
        (RType::DNSKEY, "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==".into()),
        (RType::HTTPS, "1 . alpn=\"h3,h2\" port=8443".into()),
        (RType::SVCB, "1 dns.example.net. alpn=\"dot\" port=853".into()),
        (RType::TLSA, "3 1 1 E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766".into()),
        (RType::SMIMEA, "3 1 1 E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766".into()),
        (RType::SSHFP, "4 2 E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766".into()),
        (RType::URI, "10 1 \"https://example.net/\"".into()),
        (RType::NAPTR, "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.net!\" .".into()),
        (RType::LOC, "52 22 23.000 N 4 53 32.000 E -2.00m 1.00m 10000.00m 10.00m".into()),
        (RType::CERT, format!("\\# 9 0001 0002 03 {}", codec::hex(b"cert"))),
    ];
    for (t, data) in cases {
        let set = rs(t, &data);
        let want = canon(t, &data).unwrap();
        let mut body =
            to_native(&set, &set.values[0], false).unwrap_or_else(|e| panic!("{t}: {e}"));
        let o = body.as_object_mut().unwrap();
        o.insert("id".into(), json!("0123"));
        let p = from_native(&body).unwrap_or_else(|e| panic!("{t} {body}: {e}"));
        assert_eq!(p.data, want, "{t}: {body}");
        assert_eq!(p.name.to_string(), "x.example.com.");
        assert_eq!(p.ttl, 300);
    }
}

#[test]
fn fields_defaults_and_checks() {
    let o = json!({"id":"1","name":"www.example.com","type":"A","content":"192.0.2.1",
        "ttl":1,"proxied":true,"comment":"c","tags":["a:b"],"settings":{"ipv4_only":true},
        "proxiable":true,"created_on":"x"});
    let p = from_native(&o).unwrap();
    assert_eq!(p.ttl, 1);
    assert_eq!(p.fields.len(), 4);
    let o = json!({"id":"1","name":"www.example.com","type":"A","content":"192.0.2.1",
        "ttl":300,"proxied":false,"comment":null,"tags":[],"settings":{}});
    assert!(from_native(&o).unwrap().fields.is_empty());
    // Bare TXT longer than 255 octets: split like Cloudflare does.
    let long = "x".repeat(300);
    let o = json!({"name":"t.example.com","type":"TXT","content":long,"ttl":1});
    let p = from_native(&o).unwrap();
    assert_eq!(
        p.data,
        format!("\"{}\" \"{}\"", "x".repeat(255), "x".repeat(45))
    );
    // Checks before sending.
    let mut s = rs(RType::A, "192.0.2.1");
    s.ttl = 5;
    assert!(check_set(&s).unwrap_err().contains("TTL 5"));
    let mut s = rs(RType::MX, "10 mx.example.net.");
    s.values[0].fields.insert("proxied".into(), json!(true));
    assert!(check_set(&s).unwrap_err().contains("cannot be proxied"));
    let mut s = rs(RType::A, "192.0.2.1");
    s.weight = Some(10);
    assert!(check_set(&s).unwrap_err().contains("weighted"));
    assert_eq!(
        codec::unbase64(&codec::base64(b"hello!?")).unwrap(),
        b"hello!?"
    );
}

#[test]
fn grouping_keeps_per_object_ttls() {
    let mk = |c: &str, ttl: u32| Parsed {
        id: c.into(),
        name: "a.example.com.".parse().unwrap(),
        rtype: RType::A,
        ttl,
        data: c.into(),
        fields: Fields::new(),
    };
    let sets = group(&[
        mk("192.0.2.1", 300),
        mk("192.0.2.2", 300),
        mk("192.0.2.3", 60),
    ]);
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].ttl, 300);
    assert_eq!(sets[0].values[2].fields.get("ttl"), Some(&json!(60)));
    let (ttl, f) = expected(&sets[0], &sets[0].values[2]).unwrap();
    assert_eq!((ttl, f.len()), (60, 0));
}
