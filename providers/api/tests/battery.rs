#![cfg(feature = "testkit")]
//! The conformance battery against the in-memory reference provider: checks the battery itself
//! and the one-line opt-in that every provider uses.

use switchback_api::Name;
use switchback_api::testkit::{Fixture, MemoryProvider};

async fn memory_provider() -> Fixture {
    let zone: Name = "battery.example.".parse().unwrap();
    let provider = MemoryProvider::with_empty_zone("memory", &zone);
    // A guard is dropped after the provider; a temp dir is the usual one.
    Fixture::new(provider, zone).with_guard(tempfile::tempdir().unwrap())
}

switchback_api::conformance_battery!(memory_provider);

/// The tuple form, in a module of its own name.
async fn boxed_provider() -> (Box<dyn switchback_api::Provider>, Name) {
    let zone: Name = "boxed.example.".parse().unwrap();
    (
        Box::new(MemoryProvider::with_empty_zone("memory", &zone)),
        zone,
    )
}

switchback_api::conformance_battery!(boxed, boxed_provider);
