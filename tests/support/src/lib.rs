//! The one test harness of the workspace: every integration test of the root crate and of the
//! provider crates takes its helpers from here, so each exists once.
//!
//! - [`ports`]: loopback ports free for UDP and TCP, never handed out twice in one process.
//! - [`peers`]: where a third-party peer (knotd, kdig, dig, nsd, dnsperf, chromium, the
//!   ministack/moto/Prism installs under `target/peers/`) is, with one skip policy: a missing
//!   peer fails the test, unless `SWITCHBACK_SKIP_PEERS` names it (`tests/run` installs them
//!   all, so CI never skips).
//! - [`daemon`]: a peer process on a free port, in its own temp dir with its log, started again
//!   on another port when the first is taken, ready when a probe says so, killed on drop.
//! - [`emulators`]: the Route 53 emulators (ministack, moto) and Prism on Cloudflare's schema,
//!   each a [`daemon::Daemon`].
//! - [`primary`]: Knot and BIND as RFC 2136 primaries (TSIG-signed updates and transfers).
//! - [`postgres`]: a fresh PostgreSQL database per test on the server `tests/run` starts.
//! - [`wait`]: waiting with a limit, and the top of a knotd config.
//! - [`http`]: a tiny blocking HTTP/1.1 client for peers' health and reset endpoints.
//! - `route53` (feature `route53`): a plain SDK client on an emulator, hosted zones, raw change
//!   batches, for setting up what the provider then reads.
//! - `cloudflare_fake` (feature `cloudflare`): the project's own stateful fake of Cloudflare's
//!   API v4 zones and DNS records (its module documentation lists what it models).
//! - [`cli`]: the `switchback` binary as a user runs it (a folder with zones and a config).
//! - [`dns`]: a blocking DNS client on hickory-proto's wire format (UDP, TCP, EDNS, AXFR, raw
//!   packets).
//! - [`compare`]: DNS responses reduced to rcode, flags, question, EDNS and each section as a
//!   set of records in presentation form, and a readable diff of two (the Knot differential).

#![allow(clippy::new_without_default)]

pub mod cli;
#[cfg(feature = "cloudflare")]
pub mod cloudflare_fake;
pub mod compare;
pub mod daemon;
pub mod dns;
pub mod emulators;
pub mod http;
pub mod knot;
pub mod peers;
pub mod ports;
pub mod postgres;
pub mod primary;
#[cfg(feature = "route53")]
pub mod route53;
pub mod wait;

use std::path::PathBuf;

pub use ports::free_port;

/// The workspace root (where `target/peers/` and `tests/data/` are).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root")
}

/// A path under `tests/data/`.
pub fn test_data(rel: &str) -> PathBuf {
    workspace_root().join("tests").join("data").join(rel)
}
