//! The conformance battery every provider runs (feature `testkit`).
//!
//! Each battery item is an async function taking a provider and a zone it serves (an empty-ish
//! zone: its apex SOA and NS, perhaps a few unrelated sets). Every step goes through
//! [`plan::plan`] and [`Provider::apply`], then reads the zone back and checks that a re-plan
//! is empty. Items use names `sb-…` below the zone, leave the zone as they found it when they
//! pass, and return `Err` with a message that names the step, the plan and what differs.
//!
//! A provider opts in with one line in an integration test:
//!
//! ```ignore
//! switchback_api::conformance_battery!(make_provider);
//!
//! // Anything that converts into a `Fixture`: `(Box<dyn Provider>, Name)`,
//! // `(Arc<dyn Provider>, Name)`, `(Box<dyn Provider>, Name, guard)` or a `Fixture`.
//! async fn make_provider() -> Fixture {
//!     let dir = tempfile::tempdir().unwrap();
//!     let provider = MyProvider::open(dir.path()).await.unwrap();
//!     Fixture::new(provider, "example.com.".parse().unwrap()).with_guard(dir)
//! }
//! ```
//!
//! This generates a module `conformance` with one `#[test]` per item (each on its own
//! multi-threaded tokio runtime, and each with a fresh fixture: the factory is called once per
//! test, and tests run in parallel, so each call must return a zone no other test touches —
//! a fresh temp dir, or a zone of its own on a shared emulator). A guard (temp dir, emulator
//! process) is dropped after the provider, inside the runtime.
//! `conformance_battery!(my_module, make_provider)` names the module.

mod battery;
mod helpers;
mod memory;
mod samples;

pub use battery::*;
use helpers::*;
pub use memory::*;
pub use samples::*;

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::plan::{self, DiffOptions, Plan};
use crate::{
    ApplyReport, Capabilities, Change, Name, Provider, ProviderError, RType, RecordSet,
    RecordValue, Support, Zone, ZoneRef,
};

pub use crate::plan::{
    ApplyError, apply_changes, apply_changes_stepwise, cname_conflict, cname_conflicts,
    equal_ignoring_soa_serial,
};

// ---------------------------------------------------------------------------------------------
// Fixtures and the opt-in macro
// ---------------------------------------------------------------------------------------------

/// A provider under test, the zone the battery may use, and whatever must stay alive while the
/// provider runs (temp dirs, emulator processes). The guards drop after the provider.
pub struct Fixture {
    provider: Arc<dyn Provider>,
    zone: Name,
    // Declared last: dropped after the provider.
    guards: Vec<Box<dyn Any + Send>>,
}

impl Fixture {
    pub fn new(provider: impl Provider + 'static, zone: Name) -> Fixture {
        Fixture::from_arc(Arc::new(provider), zone)
    }

    pub fn from_arc(provider: Arc<dyn Provider>, zone: Name) -> Fixture {
        Fixture {
            provider,
            zone,
            guards: Vec::new(),
        }
    }

    /// Keep `guard` alive until the fixture is dropped (after the provider).
    pub fn with_guard(mut self, guard: impl Any + Send) -> Fixture {
        self.guards.push(Box::new(guard));
        self
    }

    pub fn provider(&self) -> &dyn Provider {
        &*self.provider
    }

    pub fn zone(&self) -> &Name {
        &self.zone
    }
}

impl From<(Box<dyn Provider>, Name)> for Fixture {
    fn from((p, zone): (Box<dyn Provider>, Name)) -> Fixture {
        Fixture::from_arc(Arc::from(p), zone)
    }
}

impl From<(Arc<dyn Provider>, Name)> for Fixture {
    fn from((p, zone): (Arc<dyn Provider>, Name)) -> Fixture {
        Fixture::from_arc(p, zone)
    }
}

impl<G: Any + Send> From<(Box<dyn Provider>, Name, G)> for Fixture {
    fn from((p, zone, guard): (Box<dyn Provider>, Name, G)) -> Fixture {
        Fixture::from_arc(Arc::from(p), zone).with_guard(guard)
    }
}

impl<G: Any + Send> From<(Arc<dyn Provider>, Name, G)> for Fixture {
    fn from((p, zone, guard): (Arc<dyn Provider>, Name, G)) -> Fixture {
        Fixture::from_arc(p, zone).with_guard(guard)
    }
}

/// What a battery factory may return: a [`Fixture`], anything that converts into one, or
/// `Option<Fixture>` where `None` means the provider's test peer is missing and the developer
/// chose to skip it (`SWITCHBACK_SKIP_PEERS`; the factory says so on stderr).
pub trait IntoFixture {
    fn into_fixture(self) -> Option<Fixture>;
}

impl<T: Into<Fixture>> IntoFixture for T {
    fn into_fixture(self) -> Option<Fixture> {
        Some(self.into())
    }
}

impl IntoFixture for Option<Fixture> {
    fn into_fixture(self) -> Option<Fixture> {
        self
    }
}

/// Run one battery item on a fresh multi-threaded tokio runtime; panic with the item's name
/// and message when it fails. Used by [`conformance_battery!`](crate::conformance_battery).
pub fn run(item: &str, fut: impl Future<Output = Result<(), String>>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("conformance battery: cannot start a tokio runtime");
    if let Err(e) = rt.block_on(fut) {
        panic!("conformance battery item `{item}` failed: {e}");
    }
}

/// The battery's items, in the order [`all`] runs them.
pub const ITEMS: &[&str] = &[
    "create",
    "update",
    "delete",
    "record_types",
    "txt_edge_cases",
    "weighted",
    "cname_swap",
    "idempotent_replan",
    "snapshot_restore",
    "large_change_set",
    "stale_before_fails",
];

/// Opt a provider into the conformance battery with one line:
/// `switchback_api::conformance_battery!(factory);` where `async fn factory() -> T` and
/// `T:` [`IntoFixture`] (a `Fixture`, a `(provider, zone[, guard])` tuple, or
/// `Option<Fixture>` for a peer that may be skipped). Generates `mod conformance` with one test per
/// item; `conformance_battery!(name, factory)` names the module.
#[macro_export]
macro_rules! conformance_battery {
    ($module:ident, $factory:path) => {
        #[cfg(test)]
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            async fn __switchback_fixture() -> ::core::option::Option<$crate::testkit::Fixture> {
                $crate::testkit::IntoFixture::into_fixture($factory().await)
            }

            $crate::conformance_battery!(
                @tests __switchback_fixture;
                create, update, delete, record_types, txt_edge_cases, weighted, cname_swap,
                idempotent_replan, snapshot_restore, large_change_set, stale_before_fails
            );
        }
    };
    ($factory:path) => {
        $crate::conformance_battery!(conformance, $factory);
    };
    (@tests $fixture:ident; $($item:ident),* $(,)?) => {
        $(
            #[test]
            fn $item() {
                $crate::testkit::run(::core::stringify!($item), async {
                    let ::core::option::Option::Some(fixture) = $fixture().await else {
                        return ::core::result::Result::Ok(());
                    };
                    $crate::testkit::$item(fixture.provider(), fixture.zone()).await
                });
            }
        )*
    };
}

/// Run every item in turn on one provider and zone (each leaves the zone as it found it), and
/// report every failure. For providers that can only offer one zone at a time.
pub async fn all(provider: &dyn Provider, zone: &Name) -> Result<(), String> {
    let mut failures = Vec::new();
    for item in ITEMS {
        let r = match *item {
            "create" => create(provider, zone).await,
            "update" => update(provider, zone).await,
            "delete" => delete(provider, zone).await,
            "record_types" => record_types(provider, zone).await,
            "txt_edge_cases" => txt_edge_cases(provider, zone).await,
            "weighted" => weighted(provider, zone).await,
            "cname_swap" => cname_swap(provider, zone).await,
            "idempotent_replan" => idempotent_replan(provider, zone).await,
            "snapshot_restore" => snapshot_restore(provider, zone).await,
            "large_change_set" => large_change_set(provider, zone).await,
            "stale_before_fails" => stale_before_fails(provider, zone).await,
            other => Err(format!("unknown item {other}")),
        };
        if let Err(e) = r {
            failures.push(format!("{item}: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdata;

    #[test]
    fn samples_are_canonical() {
        let origin: Name = "example.com.".parse().unwrap();
        for t in sampled_types() {
            if t == RType::SOA {
                continue;
            }
            let (_, values) = sample(t).unwrap();
            for v in values {
                let c = rdata::canonicalize(t, v, &origin)
                    .unwrap_or_else(|e| panic!("{t} sample {v:?}: {e}"));
                assert_eq!(c, v, "{t} sample is not canonical");
            }
        }
        for (label, v) in txt_edge_values() {
            let c = rdata::canonicalize(RType::TXT, &v, &origin).unwrap();
            assert_eq!(c, v, "{label} is not canonical");
        }
        let long = &txt_edge_values()[0].1;
        assert_eq!(long.len(), 257);
    }

    #[test]
    fn memory_provider_refuses_cname_conflicts_and_stale_changes() {
        let origin: Name = "example.com.".parse().unwrap();
        let p = MemoryProvider::with_empty_zone("mem", &origin);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let a = set(&origin, "www", RType::A, 300, &["192.0.2.1"]);
            let c = set(&origin, "www", RType::CNAME, 300, &["x.example.net."]);
            p.apply(&origin, &[Change::Create { after: a.clone() }])
                .await
                .unwrap();
            let serial_before = p.zone(&origin).unwrap();
            // Create before delete: refused at the first step, nothing changes.
            let bad = [
                Change::Create { after: c.clone() },
                Change::Delete { before: a.clone() },
            ];
            let e = p.apply(&origin, &bad).await.unwrap_err().to_string();
            assert!(e.contains("CNAME and other data"), "{e}");
            assert_eq!(p.zone(&origin).unwrap(), serial_before);
            // The planner's order works.
            let desired = edit(&serial_before, std::slice::from_ref(&c), &[&a]);
            let plan =
                plan::plan("mem", p.capabilities(), &serial_before, &desired, &opts()).unwrap();
            p.apply(&origin, &plan.changes).await.unwrap();
            assert!(equal_ignoring_soa_serial(
                &p.zone(&origin).unwrap(),
                &desired
            ));
            assert_ne!(p.zone(&origin).unwrap().soa(), desired.soa());
        });
    }
}
