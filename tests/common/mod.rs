//! The root crate's test harness: what only these tests need, on top of the workspace's one
//! harness, `switchback-testsupport` (free ports, peer lookup and its skip policy, the peer
//! processes, the CLI runner, the DNS client, response comparison), re-exported here.
//!
//! - `servers`: the `Switchback` guard (`switchback -c CONFIG serve` in a temp dir, ready when
//!   it answers SOA over UDP, SIGHUP on demand, stopped on drop) and the `Knot` guard (knotd
//!   with its own config, rundir and database in a temp dir).
//! - `cli`: the support crate's CLI runner on this crate's `switchback` binary.
//! - `api`: `serve` with its HTTP API, and signed webhook calls.
//! - `ministack`: the Route 53 emulator and the plain SDK calls.

#![allow(dead_code, unused_imports)]

pub mod api;
pub mod cli;
pub mod ministack;
pub mod servers;

use std::path::PathBuf;

pub use servers::{Knot, KnotOptions, Switchback, SwitchbackOptions, require_tool};
pub use switchback_testsupport::compare::{self, Normalized, diff};
pub use switchback_testsupport::dns::{self, Question, Response, Transport, axfr, query};
pub use switchback_testsupport::{free_port, peers, test_data};

/// The `switchback` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_switchback");

/// The repository root (the root crate's manifest dir).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
