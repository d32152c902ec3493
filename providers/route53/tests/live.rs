//! A smoke test against real AWS Route 53, run only when `SWITCHBACK_LIVE_ROUTE53_ZONE` names a
//! hosted zone (by name or id) that the standard AWS credential chain may change; otherwise it
//! prints why it is skipped. It creates, reads back and deletes one TXT record set
//! `_switchback-smoke-PID.ZONE` (optional `SWITCHBACK_LIVE_ROUTE53_PROFILE`,
//! `SWITCHBACK_LIVE_ROUTE53_ROLE_ARN`).

use std::time::Instant;

use switchback_api::plan::{self, DiffOptions};
use switchback_api::{Change, Name, Provider, RType, RecordSet, Zone};
use switchback_route53::{Route53, Route53Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_route53_smoke() {
    let Ok(zone_text) = std::env::var("SWITCHBACK_LIVE_ROUTE53_ZONE") else {
        eprintln!(
            "live_route53_smoke: skipped: SWITCHBACK_LIVE_ROUTE53_ZONE is not set (set it to a \
             hosted zone name or id, with AWS credentials in the environment or a profile)"
        );
        return;
    };
    let cfg = Route53Config {
        profile: std::env::var("SWITCHBACK_LIVE_ROUTE53_PROFILE").ok(),
        assume_role_arn: std::env::var("SWITCHBACK_LIVE_ROUTE53_ROLE_ARN").ok(),
        ..Route53Config::default()
    };
    let p = Route53::new("live", cfg).await.unwrap();
    let (id, origin) = p.resolve(&zone_text).await.unwrap();
    let zone: Name = format!("{id}.").parse().unwrap();
    eprintln!("live_route53_smoke: hosted zone {origin} ({id})");

    let t = Instant::now();
    let live = p.read_zone(&zone).await.unwrap();
    eprintln!(
        "read {} record sets in {:?}",
        live.record_sets.len(),
        t.elapsed()
    );
    assert!(live.soa().is_some());

    let name = Name::parse(
        &format!("_switchback-smoke-{}", std::process::id()),
        Some(&origin),
    )
    .unwrap();
    let rs = RecordSet::new(
        name,
        RType::TXT,
        60,
        ["\"switchback smoke test\" \"caf\\195\\169\"".to_string()],
    );
    let t = Instant::now();
    p.apply(&zone, &[Change::Create { after: rs.clone() }])
        .await
        .unwrap();
    eprintln!("created {} (INSYNC) in {:?}", rs.key(), t.elapsed());
    let after = p.read_zone(&zone).await.unwrap();
    let got = after.get(&rs.key()).cloned();
    // Clean up before asserting.
    if let Some(g) = &got {
        p.apply(&zone, &[Change::Delete { before: g.clone() }])
            .await
            .unwrap();
    }
    assert_eq!(got.as_ref(), Some(&rs), "read back exactly");
    let end = p.read_zone(&zone).await.unwrap();
    let back = Zone::new(origin.clone(), live.record_sets.clone());
    assert!(
        plan::diff(&end, &back, &DiffOptions::default()).is_empty(),
        "the zone is as it was"
    );
    eprintln!("calls: {:?}", p.stats());
}
