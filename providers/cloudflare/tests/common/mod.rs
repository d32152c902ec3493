//! Test harness: the project's own stateful fake Cloudflare (`fake`), Prism serving Cloudflare's
//! schema (`contract`), and an environment that wires a provider to the fake and replays every
//! request it sent through Prism when it is dropped.
#![allow(dead_code)]

pub mod contract;
pub use switchback_testsupport::cloudflare_fake as fake;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use switchback_api::Name;
use switchback_api::testkit::Fixture;
use switchback_cloudflare::{Cloudflare, CloudflareConfig, Recorder, RetryPolicy, Secret};

pub use fake::{Fake, Options};

pub const ZONE: &str = "example.com.";
pub const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";

/// Replays the recorded requests through Prism when dropped (unless the test already failed).
pub struct ContractGuard {
    label: String,
    recorder: Recorder,
}

impl Drop for ContractGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let recorded =
            std::mem::take(&mut *self.recorder.lock().unwrap_or_else(|e| e.into_inner()));
        contract::check_blocking(&self.label, recorded);
    }
}

pub struct Env {
    pub fake: Fake,
    pub zone: Name,
    pub zone_id: String,
    pub provider: Arc<Cloudflare>,
    pub recorder: Recorder,
    guard: ContractGuard,
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        budget: Duration::from_secs(2),
        throttle_budget: Duration::from_secs(10),
        base: Duration::from_millis(20),
        timeout: Duration::from_secs(20),
    }
}

pub fn config(fake: &Fake) -> CloudflareConfig {
    CloudflareConfig {
        endpoint: fake.endpoint(),
        account_id: Some(ACCOUNT.into()),
        rate: 1_000_000,
        ..CloudflareConfig::default()
    }
}

/// A fake with `example.com.` (an apex NS pair and one unrelated record), and a provider on it.
pub async fn env(label: &str, opts: Options, f: impl FnOnce(Cloudflare) -> Cloudflare) -> Env {
    let fake = Fake::start(opts).await;
    let zone_id = fake.add_zone(ZONE, ACCOUNT);
    fake.add_zone("other.example.", "ffffffffffffffffffffffffffffffff");
    fake.seed(
        &zone_id,
        vec![
            json!({"type": "NS", "name": "example.com", "content": "ns1.example.net", "ttl": 86400}),
            json!({"type": "NS", "name": "example.com", "content": "ns2.example.net", "ttl": 86400}),
            json!({"type": "A", "name": "unrelated.example.com", "content": "192.0.2.200", "ttl": 1,
                   "proxied": true, "comment": "not ours", "tags": ["owner:web"]}),
        ],
    );
    let recorder: Recorder = Arc::new(Mutex::new(Vec::new()));
    let p = Cloudflare::with_token("cf", config(&fake), Secret::new(fake::TOKEN))
        .unwrap()
        .with_retry(fast_retry())
        .with_recorder(recorder.clone());
    let provider = Arc::new(f(p));
    Env {
        fake,
        zone: ZONE.parse().unwrap(),
        zone_id,
        provider,
        recorder: recorder.clone(),
        guard: ContractGuard {
            label: label.to_string(),
            recorder,
        },
    }
}

impl Env {
    /// Requests recorded so far (a copy).
    pub fn recorded(&self) -> Vec<switchback_cloudflare::RecordedRequest> {
        self.recorder.lock().unwrap().clone()
    }
}

/// The conformance battery's fixture: a fresh fake per item. The battery has no sample values
/// for LOC and CERT (switchback_api::testkit::sample), so this provider lists every other type;
/// LOC and CERT are round-tripped in tests/cloudflare.rs.
pub async fn battery_fixture() -> Fixture {
    let env = env("conformance battery", Options::default(), |p| {
        let types = p
            .capabilities_types()
            .into_iter()
            .filter(|t| !matches!(t.to_string().as_str(), "LOC" | "CERT"))
            .collect();
        p.with_record_types(types)
    })
    .await;
    let Env {
        fake,
        zone,
        provider,
        guard,
        ..
    } = env;
    Fixture::from_arc(provider, zone).with_guard((guard, fake))
}

/// A Cloudflare object for seeding.
pub fn obj(t: &str, name: &str, content: Value, ttl: u32) -> Value {
    let mut o = json!({"type": t, "name": name, "ttl": ttl});
    match content {
        Value::String(s) => o["content"] = json!(s),
        d => o["data"] = d,
    }
    o
}
