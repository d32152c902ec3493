#![allow(non_snake_case)] // test names say `what we check__what the emulator gets wrong`

//! The emulator gaps of ../shared/PEERS.md ("Route 53"), each against the provider's own
//! checks. Every `presend_rejects_…` test first shows (with a plain SDK call) that the emulator
//! accepts the thing real Route 53 refuses, then that the provider refuses it before sending
//! anything (no ChangeResourceRecordSets call counted), with a message naming the record set.

mod common;

use aws_sdk_route53::types::{AliasTarget, ChangeAction, RrType};
use common::{Kind, raw, rrs};
use serde_json::json;
use switchback_api::{Change, Name, Provider, ProviderError, RType, RecordSet, RecordValue};
use switchback_route53::Route53;

fn set(zone: &Name, label: &str, t: RType, ttl: u32, values: &[&str]) -> RecordSet {
    RecordSet::new(
        Name::parse(label, Some(zone)).unwrap(),
        t,
        ttl,
        values.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
    )
}

fn creates(sets: &[RecordSet]) -> Vec<Change> {
    sets.iter()
        .map(|s| Change::Create { after: s.clone() })
        .collect()
}

/// Apply through the provider: must fail before any change batch, naming `record`.
async fn refused(p: &Route53, zone: &Name, changes: &[Change], record: &str, why: &str) {
    let before = p.stats().change_batches;
    let e = p
        .apply(zone, changes)
        .await
        .expect_err("the provider must refuse this change set");
    let text = e.to_string();
    assert!(
        matches!(e, ProviderError::Invalid { .. }),
        "not an Invalid error: {text}"
    );
    assert!(
        text.contains(record),
        "the message does not name {record}: {text}"
    );
    assert!(
        text.contains(why),
        "the message does not say {why:?}: {text}"
    );
    assert_eq!(
        p.stats().change_batches,
        before,
        "a change batch was sent for a change set that must be refused first"
    );
}

fn fq(zone: &Name, label: &str) -> String {
    format!("{label}.{zone}")
}

#[tokio::test]
async fn presend_rejects_bad_rdata__ministack_accepts_it() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Ministack, 100).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    for (t, v) in [
        (RrType::A, "999.0.2.1"),
        (RrType::Mx, "mail.example.net."),
        (RrType::Aaaa, "192.0.2.1"),
    ] {
        raw(
            &sdk,
            &id,
            vec![(
                ChangeAction::Create,
                rrs(
                    &fq(&zone, &format!("raw-{}", t.as_str().to_lowercase())),
                    t,
                    Some(300),
                    &[v],
                ),
            )],
        )
        .await
        .expect("ministack accepts bad RDATA");
    }
    for (t, v) in [
        (RType::A, "999.0.2.1"),
        (RType::MX, "mail.example.net."),
        (RType::AAAA, "192.0.2.1"),
    ] {
        let rs = set(&zone, "bad", t, 300, &[v]);
        refused(
            &p,
            &zone,
            &creates(&[rs]),
            &format!("bad.{zone}/{t}"),
            "bad",
        )
        .await;
    }
}

#[tokio::test]
async fn presend_rejects_cname_beside_a__ministack_accepts_it() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Ministack, 100).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    let www = fq(&zone, "raw-www");
    raw(
        &sdk,
        &id,
        vec![(
            ChangeAction::Create,
            rrs(&www, RrType::A, Some(300), &["192.0.2.1"]),
        )],
    )
    .await
    .unwrap();
    raw(
        &sdk,
        &id,
        vec![(
            ChangeAction::Create,
            rrs(&www, RrType::Cname, Some(300), &["x.example.net."]),
        )],
    )
    .await
    .expect("ministack accepts a CNAME beside an A");

    // In one change set.
    let a = set(&zone, "www", RType::A, 300, &["192.0.2.1"]);
    let c = set(&zone, "www", RType::CNAME, 300, &["x.example.net."]);
    refused(
        &p,
        &zone,
        &creates(&[a.clone(), c.clone()]),
        &format!("www.{zone}/CNAME"),
        "CNAME cannot share",
    )
    .await;
    // Against the zone as last read: the A exists, a later change set adds the CNAME.
    p.apply(&zone, &creates(std::slice::from_ref(&a)))
        .await
        .unwrap();
    p.read_zone(&zone).await.unwrap();
    refused(
        &p,
        &zone,
        &creates(std::slice::from_ref(&c)),
        &format!("www.{zone}/CNAME"),
        "CNAME cannot share",
    )
    .await;
    // And the other way round: an A beside an existing CNAME.
    let c2 = set(&zone, "alias", RType::CNAME, 300, &["x.example.net."]);
    p.apply(&zone, &creates(&[c2])).await.unwrap();
    p.read_zone(&zone).await.unwrap();
    let t2 = set(&zone, "alias", RType::TXT, 300, &["\"x\""]);
    refused(
        &p,
        &zone,
        &creates(&[t2]),
        &format!("alias.{zone}/TXT"),
        "CNAME cannot share",
    )
    .await;
    // A CNAME with two values.
    let two = set(
        &zone,
        "two",
        RType::CNAME,
        300,
        &["a.example.net.", "b.example.net."],
    );
    refused(
        &p,
        &zone,
        &creates(&[two]),
        &format!("two.{zone}/CNAME"),
        "exactly one value",
    )
    .await;
    // The planner's order (delete A, then create CNAME) passes.
    let live = p.read_zone(&zone).await.unwrap();
    let a_live = live.get(&a.key()).unwrap().clone();
    p.apply(
        &zone,
        &[
            Change::Delete { before: a_live },
            Change::Create { after: c },
        ],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn presend_rejects_weighted_set_without_weight__ministack_accepts_it() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Ministack, 100).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    let mut n = rrs(&fq(&zone, "raw-w"), RrType::A, Some(60), &["192.0.2.1"]);
    n.set_identifier = Some("blue".into());
    raw(&sdk, &id, vec![(ChangeAction::Create, n)])
        .await
        .expect("ministack accepts a set identifier without a routing policy");
    let mut rs = set(&zone, "w", RType::A, 60, &["192.0.2.1"]);
    rs.set_identifier = Some("blue".into());
    refused(
        &p,
        &zone,
        &creates(&[rs.clone()]),
        &format!("w.{zone}/A/blue"),
        "needs a weight",
    )
    .await;
    // A weight without a set identifier, two policies at once.
    let mut w = set(&zone, "w2", RType::A, 60, &["192.0.2.1"]);
    w.weight = Some(10);
    refused(
        &p,
        &zone,
        &creates(&[w]),
        &format!("w2.{zone}/A"),
        "without a set identifier",
    )
    .await;
    let mut both = rs.clone();
    both.weight = Some(10);
    both.fields.insert("failover".into(), json!("PRIMARY"));
    refused(
        &p,
        &zone,
        &creates(&[both]),
        &format!("w.{zone}/A/blue"),
        "more than one routing policy",
    )
    .await;
}

#[tokio::test]
async fn presend_rejects_mixed_routing_policies__ministack_accepts_it() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Ministack, 100).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    let name = fq(&zone, "raw-mix");
    let mut a = rrs(&name, RrType::A, Some(60), &["192.0.2.1"]);
    a.set_identifier = Some("a".into());
    a.weight = Some(10);
    let plain = rrs(&name, RrType::A, Some(60), &["192.0.2.3"]);
    raw(
        &sdk,
        &id,
        vec![(ChangeAction::Create, a), (ChangeAction::Create, plain)],
    )
    .await
    .expect("ministack accepts a plain set beside weighted ones");

    let mut w = set(&zone, "mix", RType::A, 60, &["192.0.2.1"]);
    w.set_identifier = Some("a".into());
    w.weight = Some(10);
    let mut f = set(&zone, "mix", RType::A, 60, &["192.0.2.2"]);
    f.set_identifier = Some("b".into());
    f.fields.insert("failover".into(), json!("SECONDARY"));
    refused(
        &p,
        &zone,
        &creates(&[w.clone(), f]),
        &format!("mix.{zone}/A"),
        "one routing policy",
    )
    .await;
    let plain = set(&zone, "mix", RType::A, 60, &["192.0.2.3"]);
    refused(
        &p,
        &zone,
        &creates(&[w, plain]),
        &format!("mix.{zone}/A"),
        "without a set identifier",
    )
    .await;
}

#[tokio::test]
async fn presend_rejects_alias_with_ttl__ministack_accepts_it() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Ministack, 100).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    let mut n = rrs(&fq(&zone, "raw-alias"), RrType::A, Some(300), &[]);
    n.alias_target = Some(
        AliasTarget::builder()
            .hosted_zone_id("Z2FDTNDATAQYW2")
            .dns_name("d111.cloudfront.net.")
            .evaluate_target_health(false)
            .build()
            .unwrap(),
    );
    raw(&sdk, &id, vec![(ChangeAction::Create, n)])
        .await
        .expect("ministack accepts an alias with a TTL");
    let mut rs = set(&zone, "alias", RType::A, 300, &[]);
    rs.fields.insert(
        "alias".into(),
        json!({"hosted_zone_id": "Z2FDTNDATAQYW2", "dns_name": "d111.cloudfront.net.", "evaluate_target_health": false}),
    );
    refused(
        &p,
        &zone,
        &creates(&[rs.clone()]),
        &format!("alias.{zone}/A"),
        "ttl = 0",
    )
    .await;
    // With TTL 0 it goes through and reads back exactly.
    rs.ttl = 0;
    p.apply(&zone, &creates(&[rs.clone()])).await.unwrap();
    let live = p.read_zone(&zone).await.unwrap();
    assert_eq!(live.get(&rs.key()), Some(&rs));
    // An alias with values.
    let mut v = rs.clone();
    v.name = Name::parse("alias2", Some(&zone)).unwrap();
    v.values.push(RecordValue::new("192.0.2.1"));
    refused(
        &p,
        &zone,
        &creates(&[v]),
        &format!("alias2.{zone}/A"),
        "no values",
    )
    .await;
}

#[tokio::test]
async fn presend_rejects_txt_string_over_255__ministack_accepts_it() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Ministack, 100).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    let long = format!("\"{}\"", "x".repeat(300));
    raw(
        &sdk,
        &id,
        vec![(
            ChangeAction::Create,
            rrs(&fq(&zone, "raw-txt"), RrType::Txt, Some(300), &[&long]),
        )],
    )
    .await
    .expect("ministack accepts a 300-character TXT string");
    let rs = set(&zone, "txt", RType::TXT, 300, &[&long]);
    refused(
        &p,
        &zone,
        &creates(&[rs]),
        &format!("txt.{zone}/TXT"),
        "longer than 255",
    )
    .await;
    // Split into strings of at most 255, it is fine.
    let ok = format!("\"{}\" \"{}\"", "x".repeat(255), "x".repeat(45));
    p.apply(
        &zone,
        &creates(&[set(&zone, "txt", RType::TXT, 300, &[&ok])]),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn presend_rejects_oversize_record_set_change__ministack_accepts_it() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Ministack, 100).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    let values: Vec<String> = (0..1001)
        .map(|i| format!("10.0.{}.{}", i / 256, i % 256))
        .collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    raw(
        &sdk,
        &id,
        vec![(
            ChangeAction::Create,
            rrs(&fq(&zone, "raw-big"), RrType::A, Some(300), &refs),
        )],
    )
    .await
    .expect("ministack accepts 1,001 ResourceRecord elements in one batch");
    let big = set(&zone, "big", RType::A, 300, &refs);
    refused(
        &p,
        &zone,
        &creates(&[big]),
        &format!("big.{zone}/A"),
        "more than one Route 53 change batch",
    )
    .await;
    // 600 values fit in a create, but an update sends the old and the new set: 1,200.
    let six: Vec<&str> = refs[..600].to_vec();
    let s600 = set(&zone, "six", RType::A, 300, &six);
    p.apply(&zone, &creates(std::slice::from_ref(&s600)))
        .await
        .unwrap();
    let mut next = s600.clone();
    next.ttl = 60;
    refused(
        &p,
        &zone,
        &[Change::Update {
            before: s600,
            after: next,
        }],
        &format!("six.{zone}/A"),
        "1200 ResourceRecord",
    )
    .await;
}

#[tokio::test]
async fn presend_rejects_over_32000_value_characters__ministack_accepts_it() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Ministack, 100).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    // 130 values of 257 characters: 33,410 characters.
    let values: Vec<String> = (0..130)
        .map(|i| format!("\"{:03}{}\"", i, "y".repeat(252)))
        .collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    raw(
        &sdk,
        &id,
        vec![(
            ChangeAction::Create,
            rrs(&fq(&zone, "raw-chars"), RrType::Txt, Some(300), &refs),
        )],
    )
    .await
    .expect("ministack accepts over 32,000 value characters");
    let rs = set(&zone, "chars", RType::TXT, 300, &refs);
    refused(
        &p,
        &zone,
        &creates(&[rs]),
        &format!("chars.{zone}/TXT"),
        "32000 characters",
    )
    .await;
    // Several sets that together pass the limit are split into batches instead.
    let sets: Vec<RecordSet> = (0..4)
        .map(|i| set(&zone, &format!("chars{i}"), RType::TXT, 300, &refs[..40]))
        .collect();
    p.reset_stats();
    p.apply(&zone, &creates(&sets)).await.unwrap();
    // 40 x 257 = 10,280 characters a set: three fit in 32,000, the fourth goes in a second batch.
    assert_eq!(p.stats().change_batches, 2);
}

#[tokio::test]
async fn presend_rejects_bad_health_check_id__ministack_accepts_it() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Ministack, 100).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    let mut n = rrs(&fq(&zone, "raw-hc"), RrType::A, Some(60), &["192.0.2.1"]);
    n.health_check_id = Some("no-such-check".into());
    raw(&sdk, &id, vec![(ChangeAction::Create, n)])
        .await
        .expect("ministack accepts any health check id");
    let mut rs = set(&zone, "hc", RType::A, 60, &["192.0.2.1"]);
    rs.fields
        .insert("health_check_id".into(), json!("no-such-check"));
    refused(
        &p,
        &zone,
        &creates(&[rs]),
        &format!("hc.{zone}/A"),
        "health_check_id",
    )
    .await;
}

#[tokio::test]
async fn presend_rejects_name_outside_zone__ministack_accepts_it() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Ministack, 100).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    raw(
        &sdk,
        &id,
        vec![(
            ChangeAction::Create,
            rrs(
                "www.elsewhere.example.",
                RrType::A,
                Some(60),
                &["192.0.2.1"],
            ),
        )],
    )
    .await
    .expect("ministack accepts a name outside the zone");
    let rs = RecordSet::new(
        "www.elsewhere.example.".parse().unwrap(),
        RType::A,
        60,
        ["192.0.2.1".to_string()],
    );
    refused(
        &p,
        &zone,
        &creates(&[rs]),
        "www.elsewhere.example./A",
        "outside the zone",
    )
    .await;
}

#[tokio::test]
async fn presend_refuses_deleting_apex_soa_and_ns() {
    let Some((_emu, p, zone, _id)) = common::setup(Kind::Ministack, 100).await else {
        return;
    };
    let live = p.read_zone(&zone).await.unwrap();
    let soa = live.soa().unwrap().clone();
    let ns = live
        .record_sets
        .iter()
        .find(|r| r.rtype == RType::NS && r.name == zone)
        .unwrap()
        .clone();
    refused(
        &p,
        &zone,
        &[Change::Delete {
            before: soa.clone(),
        }],
        &format!("{zone}/SOA"),
        "cannot be deleted",
    )
    .await;
    refused(
        &p,
        &zone,
        &[Change::Delete { before: ns.clone() }],
        &format!("{zone}/NS"),
        "cannot be deleted",
    )
    .await;
    // Updating the apex NS goes through (as an UPSERT).
    let mut ns2 = ns.clone();
    ns2.ttl = 3600;
    p.apply(
        &zone,
        &[Change::Update {
            before: ns,
            after: ns2.clone(),
        }],
    )
    .await
    .unwrap();
    assert_eq!(
        p.read_zone(&zone).await.unwrap().get(&ns2.key()),
        Some(&ns2)
    );
}
