#![allow(non_snake_case)] // test names say `what we check__what the emulator gets wrong`

//! Against moto, for what it models well (the 1,000-ResourceRecord limit with UPSERT counting
//! twice, names outside the zone), and the moto gaps of ../shared/PEERS.md shown next to the
//! provider's answer to each.

mod common;

use aws_sdk_route53::types::{ChangeAction, RrType};
use common::{Kind, raw, rrs};
use switchback_api::{Change, Name, Provider, RType, RecordSet};
use switchback_route53::Tuning;

fn values(n: usize, offset: usize) -> Vec<String> {
    (offset..offset + n)
        .map(|i| format!("10.{}.{}.{}", i / 65536 % 256, i / 256 % 256, i % 256))
        .collect()
}

#[tokio::test]
async fn batches_fit_the_1000_record_limit__moto_enforces_it() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Moto, 200).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    // moto enforces the limit, UPSERT counting twice: the peer really checks our batches.
    let v = values(1001, 0);
    let r: Vec<&str> = v.iter().map(String::as_str).collect();
    let e = raw(
        &sdk,
        &id,
        vec![(
            ChangeAction::Create,
            rrs(&format!("raw.{zone}"), RrType::A, Some(60), &r),
        )],
    )
    .await
    .expect_err("moto refuses 1,001 ResourceRecord elements");
    assert!(e.contains("InvalidChangeBatch"), "{e}");
    let e = raw(
        &sdk,
        &id,
        vec![(
            ChangeAction::Upsert,
            rrs(&format!("raw.{zone}"), RrType::A, Some(60), &r[..501]),
        )],
    )
    .await
    .expect_err("moto counts UPSERT twice");
    assert!(e.contains("InvalidChangeBatch"), "{e}");
    raw(
        &sdk,
        &id,
        vec![(
            ChangeAction::Create,
            rrs(&format!("raw.{zone}"), RrType::A, Some(60), &r[..1000]),
        )],
    )
    .await
    .expect("1,000 is fine");

    // The battery's large change set (1,500 creates, then 1,500 deletes).
    switchback_api::testkit::large_change_set(&p, &zone)
        .await
        .unwrap();

    // 700 sets of 3 values, then all updated: 2,100 creates, 4,200 DELETE+CREATE elements.
    let sets: Vec<RecordSet> = (0..700)
        .map(|i| {
            RecordSet::new(
                Name::parse(&format!("m{i:03}"), Some(&zone)).unwrap(),
                RType::A,
                60,
                values(3, i * 3),
            )
        })
        .collect();
    p.reset_stats();
    let creates: Vec<Change> = sets
        .iter()
        .map(|s| Change::Create { after: s.clone() })
        .collect();
    let report = p.apply(&zone, &creates).await.unwrap();
    // 333 sets (999 elements) a batch: ceil(700 / 333) = 3.
    assert_eq!(report.batches, 3);
    let updates: Vec<Change> = sets
        .iter()
        .map(|s| {
            let mut a = s.clone();
            a.ttl = 120;
            Change::Update {
                before: s.clone(),
                after: a,
            }
        })
        .collect();
    let report = p.apply(&zone, &updates).await.unwrap();
    // 6 elements a set: 166 sets (996) a batch: ceil(700 / 166) = 5.
    assert_eq!(report.batches, 5);
    let live = p.read_zone(&zone).await.unwrap();
    assert_eq!(
        live.record_sets.iter().filter(|r| r.ttl == 120).count(),
        700
    );
}

#[tokio::test]
async fn presend_rejects_names_outside_the_zone__as_moto_does() {
    let Some((emu, p, zone, id)) = common::setup(Kind::Moto, 200).await else {
        return;
    };
    let sdk = common::sdk(&emu.endpoint());
    let e = raw(
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
    .expect_err("moto refuses a name outside the zone");
    assert!(e.contains("InvalidChangeBatch"), "{e}");
    let rs = RecordSet::new(
        "www.elsewhere.example.".parse().unwrap(),
        RType::A,
        60,
        ["192.0.2.1".to_string()],
    );
    let e = p
        .apply(&zone, &[Change::Create { after: rs }])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("www.elsewhere.example./A") && e.contains("outside the zone"),
        "{e}"
    );
    assert_eq!(p.stats().change_batches, 0);
}

#[tokio::test]
async fn paging_guard_stops_a_repeated_page__moto_repeats_weighted_pages_for_ever() {
    let Some((_emu, p, zone, _id)) = common::setup(Kind::Moto, 500).await else {
        return;
    };
    let sets: Vec<Change> = (0..6)
        .map(|i| {
            let mut rs = RecordSet::new(
                Name::parse("w", Some(&zone)).unwrap(),
                RType::A,
                60,
                [format!("192.0.2.{i}")],
            );
            rs.set_identifier = Some(format!("id{i}"));
            rs.weight = Some(10);
            Change::Create { after: rs }
        })
        .collect();
    p.apply(&zone, &sets).await.unwrap();
    let small = p.with_tuning(Tuning {
        page_size: 2,
        ..common::fast_tuning()
    });
    let e = tokio::time::timeout(std::time::Duration::from_secs(60), small.read_zone(&zone))
        .await
        .expect("the read must stop, not loop")
        .expect_err("moto repeats the page: the read must fail loudly");
    assert!(e.to_string().contains("same page twice"), "{e}");
    assert!(small.stats().list_pages < 10, "{:?}", small.stats());
}

#[tokio::test]
async fn get_change_polled_until_insync__moto_is_always_insync() {
    // moto answers INSYNC at once (one poll a batch); ministack answers PENDING first, as
    // Route 53 does: the provider polls again until INSYNC (two polls a batch).
    for (kind, polls) in [(Kind::Moto, 1), (Kind::Ministack, 2)] {
        let Some((_emu, p, zone, _id)) = common::setup(kind, 500).await else {
            return;
        };
        let rs = RecordSet::new(
            Name::parse("x", Some(&zone)).unwrap(),
            RType::A,
            60,
            ["192.0.2.1".to_string()],
        );
        p.reset_stats();
        p.apply(&zone, &[Change::Create { after: rs }])
            .await
            .unwrap();
        let s = p.stats();
        assert_eq!(
            (s.change_batches, s.get_change_polls),
            (1, polls),
            "{kind:?}: {s:?}"
        );
    }
}

/// moto accepts a CREATE over an existing set and checks a DELETE against its history: a stale
/// plan would pass there. ministack refuses both with Route 53's wording, so the battery's
/// `stale_before_fails` runs against ministack.
#[tokio::test]
async fn stale_changes_refused_on_ministack__moto_accepts_create_over_existing() {
    for (kind, refuses) in [(Kind::Moto, false), (Kind::Ministack, true)] {
        let Some((emu, _p, zone, id)) = common::setup(kind, 500).await else {
            return;
        };
        let sdk = common::sdk(&emu.endpoint());
        let name = format!("dup.{zone}");
        raw(
            &sdk,
            &id,
            vec![(
                ChangeAction::Create,
                rrs(&name, RrType::A, Some(60), &["192.0.2.1"]),
            )],
        )
        .await
        .unwrap();
        let r = raw(
            &sdk,
            &id,
            vec![(
                ChangeAction::Create,
                rrs(&name, RrType::A, Some(60), &["192.0.2.2"]),
            )],
        )
        .await;
        assert_eq!(r.is_err(), refuses, "{kind:?}: {r:?}");
    }
}

/// moto 5.2.5 answers a new hosted zone's SOA value as a Python dict repr; the lossless read
/// refuses it, naming the record, instead of keeping garbage (the other moto tests write a real
/// SOA first, `common::fix_moto_soa`).
#[tokio::test]
async fn read_refuses_unparsable_values_loudly__moto_mangles_the_soa() {
    let Some(emu) = common::Emulator::start(Kind::Moto) else {
        return;
    };
    let zone = common::unique_zone("soa");
    common::create_zone(&common::sdk(&emu.endpoint()), &zone, None).await;
    let p = common::provider(&emu.endpoint(), 500);
    let e = p.read_zone(&zone).await.unwrap_err().to_string();
    assert!(
        e.contains(&format!("{zone}/SOA")) && e.contains("{'Value'"),
        "{e}"
    );
}
