//! Test harness: the primaries (Knot, BIND) from `switchback-testsupport`, and a provider on
//! one.

#![allow(dead_code)]

use std::time::Duration;

use switchback_api::Name;
use switchback_api::tsig::{Algorithm, Key};
use switchback_rfc2136::{Rfc2136, Rfc2136Config};
pub use switchback_testsupport::primary::*;

pub fn key(alg: Algorithm) -> Key {
    let secret = switchback_api::rdata::codec::unbase64(SECRET_B64).unwrap();
    Key::new(&KEY_NAME.parse().unwrap(), alg, &secret)
}

/// A provider on `p` with the key (hmac-sha256).
pub fn provider(p: &Primary, batch_size: usize) -> Rfc2136 {
    let config = Rfc2136Config {
        server: p.addr(),
        zones: vec![ZONE.into()],
        key: Some("xfr".into()),
        transfer_key: None,
        batch_size,
        timeout: Duration::from_secs(10),
        manages_soa_serial: true,
    };
    Rfc2136::new("ns", config, Some(key(Algorithm::HmacSha256)), None).unwrap()
}

pub fn zone() -> Name {
    ZONE.parse().unwrap()
}
