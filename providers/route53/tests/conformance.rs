//! The provider conformance battery against ministack (the primary Route 53 peer): one
//! emulator process and one hosted zone per battery test.

mod common;

use common::Kind;
use switchback_api::testkit::Fixture;

switchback_api::conformance_battery!(ministack);

/// `None` when ministack is missing and `SWITCHBACK_SKIP_PEERS` names it.
async fn ministack() -> Option<Fixture> {
    let (emu, provider, zone, _id) = common::setup(Kind::Ministack, 200).await?;
    Some(Fixture::new(provider, zone).with_guard(emu))
}
