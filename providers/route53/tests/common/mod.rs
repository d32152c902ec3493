//! Test harness: the Route 53 emulators (ministack, moto) and the plain SDK calls come from
//! `switchback-testsupport`; here are the provider on an emulator, with fast tuning, and a
//! fresh zone per test.

#![allow(dead_code, unused_imports)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_route53::types::{ChangeAction, RrType};
use switchback_api::Name;
use switchback_route53::{Route53, Route53Config, Tuning};
pub use switchback_testsupport::emulators::{Emulator, Kind};
pub use switchback_testsupport::free_port;
pub use switchback_testsupport::http::request as http;
pub use switchback_testsupport::route53::{create_zone, credentials, raw, rrs, sdk};
/// Short waits for emulators (they answer at once).
pub fn fast_tuning() -> Tuning {
    Tuning {
        page_size: 300,
        attempt_timeout: Duration::from_secs(10),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(500),
        retry_budget: Duration::from_secs(30),
        poll_initial: Duration::from_millis(10),
        poll_max: Duration::from_millis(100),
        poll_budget: Duration::from_secs(30),
    }
}

pub fn config(endpoint: &str, rate: u32) -> Route53Config {
    Route53Config {
        endpoint: Some(endpoint.to_string()),
        region: Some("us-east-1".into()),
        rate,
        ..Route53Config::default()
    }
}

/// The provider on an endpoint, with static test credentials and fast tuning.
pub fn provider(endpoint: &str, rate: u32) -> Route53 {
    Route53::with_credentials("r53", config(endpoint, rate), credentials())
        .unwrap()
        .with_tuning(fast_tuning())
}

static ZONES: AtomicUsize = AtomicUsize::new(0);

/// A fresh zone name for this process.
pub fn unique_zone(prefix: &str) -> Name {
    let n = ZONES.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}-{}-{n}.test.", std::process::id())
        .parse()
        .unwrap()
}

/// An emulator, a provider on it and a fresh zone in it; `None` when the emulator is missing
/// and `SWITCHBACK_SKIP_PEERS` names it.
pub async fn setup(kind: Kind, rate: u32) -> Option<(Emulator, Route53, Name, String)> {
    let emu = Emulator::start(kind)?;
    let zone = unique_zone("sb");
    let id = create_zone(&sdk(&emu.endpoint()), &zone, None).await;
    if kind == Kind::Moto {
        fix_moto_soa(&sdk(&emu.endpoint()), &zone, &id).await;
    }
    let p = provider(&emu.endpoint(), rate);
    Some((emu, p, zone, id))
}
/// moto 5.2.5 answers a new zone's SOA value as a Python dict repr
/// (`{'Value': 'ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 ...'}`), which the
/// provider's lossless read refuses (see `moto_soa_value_is_refused_loudly` in moto.rs):
/// write a real SOA value over it.
pub async fn fix_moto_soa(client: &aws_sdk_route53::Client, zone: &Name, id: &str) {
    raw(
        client,
        id,
        vec![(
            ChangeAction::Upsert,
            rrs(
                &zone.to_string(),
                RrType::Soa,
                Some(900),
                &["ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400"],
            ),
        )],
    )
    .await
    .expect("fix moto's SOA");
}
