//! Prerequisites and updates per RFC 2136 §3.2 and §3.4, on a model zone.

use super::*;
use switchback_api::Change;

fn n(s: &str) -> Name {
    s.parse().unwrap()
}

fn live() -> Zone {
    let z = n("example.test.");
    Zone::new(
        z.clone(),
        vec![
            RecordSet::new(
                z.clone(),
                RType::SOA,
                300,
                ["ns.example.test. h.example.test. 1 3600 600 86400 60".to_string()],
            ),
            RecordSet::new(z.clone(), RType::NS, 300, ["ns.example.test.".to_string()]),
            RecordSet::new(
                n("ns.example.test."),
                RType::A,
                300,
                ["192.0.2.53".to_string()],
            ),
            RecordSet::new(
                n("www.example.test."),
                RType::A,
                300,
                ["192.0.2.1".to_string(), "192.0.2.2".to_string()],
            ),
            RecordSet::new(
                n("alias.example.test."),
                RType::CNAME,
                300,
                ["www.example.test.".to_string()],
            ),
        ],
    )
}

fn rr(owner: &str, t: RType, class: u16, ttl: u32, data: Option<&str>) -> Record {
    let rdata = data
        .map(|d| {
            let tokens = switchback_api::token::tokenize(d).unwrap();
            rdata::parse(t, &tokens, &n("example.test.")).unwrap()
        })
        .unwrap_or_default();
    Record {
        owner: n(owner),
        rtype: t.0,
        class,
        ttl,
        rdata,
    }
}

/// The changes an UPDATE makes: the shared diff from the live zone to the evaluated one.
fn changes(z: &Zone, u: &Update) -> Result<Vec<switchback_api::Change>, u8> {
    let desired = evaluate(z, u)?;
    Ok(switchback_api::plan::diff(z, &desired, &Default::default()))
}

fn upd(pre: Vec<Record>, ups: Vec<Record>) -> Update {
    Update {
        id: 1,
        zone: n("example.test."),
        prerequisites: pre,
        updates: ups,
    }
}

#[test]
fn prerequisites_answer_the_rfc_rcodes() {
    let z = live();
    let www = "www.example.test.";
    let cases = [
        (rr(www, RType::A, CLASS_ANY, 0, None), Ok(())),
        (
            rr("nope.example.test.", RType::A, CLASS_ANY, 0, None),
            Err(NXRRSET),
        ),
        (
            rr("nope.example.test.", RType(255), CLASS_ANY, 0, None),
            Err(rcode::NXDOMAIN),
        ),
        (rr(www, RType(255), CLASS_NONE, 0, None), Err(YXDOMAIN)),
        (rr(www, RType::A, CLASS_NONE, 0, None), Err(YXRRSET)),
        (
            rr(www, RType::A, CLASS_IN, 0, Some("192.0.2.1")),
            Err(NXRRSET),
        ),
        (
            rr(www, RType::A, CLASS_IN, 300, Some("192.0.2.1")),
            Err(rcode::FORMERR),
        ),
        (
            rr("www.other.test.", RType::A, CLASS_ANY, 0, None),
            Err(NOTZONE),
        ),
    ];
    for (p, want) in cases {
        let got = changes(&z, &upd(vec![p.clone()], vec![])).map(|_| ());
        assert_eq!(got, want, "{p:?}");
    }
    // Value-dependent: the whole set, in any order.
    let both = vec![
        rr(www, RType::A, CLASS_IN, 0, Some("192.0.2.2")),
        rr(www, RType::A, CLASS_IN, 0, Some("192.0.2.1")),
    ];
    assert_eq!(changes(&z, &upd(both, vec![])), Ok(vec![]));
}

#[test]
fn updates_become_changes() {
    let z = live();
    // Replace www's set, add a TXT, delete one value of nothing (ignored).
    let u = upd(
        vec![],
        vec![
            rr("www.example.test.", RType::A, CLASS_ANY, 0, None),
            rr(
                "www.example.test.",
                RType::A,
                CLASS_IN,
                60,
                Some("198.51.100.1"),
            ),
            rr(
                "_acme-challenge.example.test.",
                RType::TXT,
                CLASS_IN,
                60,
                Some("\"token\""),
            ),
            rr(
                "gone.example.test.",
                RType::A,
                CLASS_NONE,
                0,
                Some("192.0.2.9"),
            ),
        ],
    );
    let c = changes(&z, &u).unwrap();
    assert_eq!(c.len(), 2, "{c:?}");
    // In whatever order the diff gives them.
    assert!(
        c.iter()
            .any(|c| matches!(c, Change::Create { after } if after.rtype == RType::TXT)),
        "{c:?}"
    );
    assert!(
        c.iter().any(
            |c| matches!(c, Change::Update { after, .. } if after.ttl == 60 && after.values.len() == 1)
        ),
        "{c:?}"
    );
    // Adding beside a CNAME is ignored; the apex NS and SOA are not deleted by ANY.
    let u = upd(
        vec![],
        vec![
            rr(
                "alias.example.test.",
                RType::A,
                CLASS_IN,
                60,
                Some("192.0.2.7"),
            ),
            rr("example.test.", RType(255), CLASS_ANY, 0, None),
            rr(
                "example.test.",
                RType::NS,
                CLASS_NONE,
                0,
                Some("ns.example.test."),
            ),
        ],
    );
    assert_eq!(changes(&z, &u), Ok(vec![]));
    // Deleting one value of two.
    let u = upd(
        vec![],
        vec![rr(
            "www.example.test.",
            RType::A,
            CLASS_NONE,
            0,
            Some("192.0.2.2"),
        )],
    );
    let c = changes(&z, &u).unwrap();
    assert!(matches!(&c[..], [Change::Update { after, .. }] if after.values.len() == 1));
}

#[test]
fn weighted_sets_are_not_updated_by_rfc_2136() {
    let mut z = live();
    let mut blue = RecordSet::new(
        n("w.example.test."),
        RType::A,
        60,
        ["192.0.2.10".to_string()],
    );
    blue.set_identifier = Some("blue".into());
    blue.weight = Some(50);
    z.record_sets.push(blue);
    let u = upd(
        vec![],
        vec![rr("w.example.test.", RType::A, CLASS_ANY, 0, None)],
    );
    assert_eq!(changes(&z, &u), Err(rcode::REFUSED));
}

#[test]
fn the_answer_echoes_the_zone_and_carries_an_ede_when_the_client_sent_edns() {
    // An UPDATE for example.test. with an OPT record.
    let mut msg = vec![0x12, 0x34, 0x28, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
    msg.extend_from_slice(b"\x07example\x04test\x00\x00\x06\x00\x01");
    msg.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
    assert!(is_update(&msg));
    let mut out = Vec::new();
    let a = UpdateAnswer {
        rcode: rcode::REFUSED,
        ede: Some((18, "www.example.test./A belongs to cutover web".into())),
    };
    answer(&msg, &a, &mut out);
    let m = message::parse(&out).unwrap();
    assert_eq!(
        (m.id, m.opcode(), m.rcode()),
        (0x1234, OPCODE_UPDATE, rcode::REFUSED)
    );
    assert_eq!(m.questions[0].name, n("example.test."));
    let opt = &m.additional[0];
    assert_eq!(opt.rtype, 41);
    assert_eq!(&opt.rdata[0..2], &15u16.to_be_bytes(), "the EDE option");
    assert_eq!(&opt.rdata[4..6], &18u16.to_be_bytes(), "Prohibited");
    assert!(String::from_utf8_lossy(&opt.rdata[6..]).contains("cutover web"));
    // Without EDNS: no OPT.
    let mut plain = msg[..msg.len() - 11].to_vec();
    plain[11] = 0;
    answer(&plain, &a, &mut out);
    assert!(message::parse(&out).unwrap().additional.is_empty());
}
