//! The provider conformance battery against Knot DNS and BIND 9 as RFC 2136 primaries: one
//! server process and zone per battery item, updates and transfers signed with TSIG.

mod common;

use common::{Primary, Server, provider, zone};
use switchback_api::testkit::Fixture;

switchback_api::conformance_battery!(knot, knot_primary);
switchback_api::conformance_battery!(bind, bind_primary);

async fn start(server: Server) -> Option<Fixture> {
    let p = tokio::task::spawn_blocking(move || Primary::start(server))
        .await
        .unwrap()?;
    let prov = provider(&p, 100);
    Some(Fixture::new(prov, zone()).with_guard(p))
}

/// `None` when knotd is missing and `SWITCHBACK_SKIP_PEERS` names it.
async fn knot_primary() -> Option<Fixture> {
    start(Server::Knot).await
}

/// `None` when named is missing and `SWITCHBACK_SKIP_PEERS` names it.
async fn bind_primary() -> Option<Fixture> {
    start(Server::Bind).await
}
