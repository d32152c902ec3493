//! The provider conformance battery against the project's own fake Cloudflare (tests/common/
//! fake.rs); every request the provider sends is also validated by Prism against Cloudflare's
//! schema when each item's fixture is dropped (tests/common/contract.rs).

mod common;

switchback_api::conformance_battery!(common::battery_fixture);
