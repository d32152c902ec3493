//! ministack (a Route 53 emulator) for the root crate's tests, and the plain SDK calls that set
//! up its zones: both from `switchback-testsupport`.

pub use switchback_testsupport::emulators::{Emulator as Ministack, Kind};
pub use switchback_testsupport::route53::{create_zone, raw, rrs, sdk};

/// A running ministack; `None` when it is missing and `SWITCHBACK_SKIP_PEERS` names it.
pub fn start() -> Option<Ministack> {
    Ministack::start(Kind::Ministack)
}
