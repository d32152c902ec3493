//! Shared harness for the root crate's integration tests.
//!
//! - `servers`: free ports, the `Switchback` guard (`switchback -c CONFIG serve` in a temp dir,
//!   ready when it answers SOA over UDP, SIGHUP on demand, stopped on drop) and the `Knot`
//!   guard (knotd with its own config, rundir and database in a temp dir).
//! - `dns`: a blocking client on hickory-proto (UDP, TCP, EDNS, AXFR, raw packets).
//! - `ministack`: the Route 53 emulator (venv under `target/peers/`), killed on drop.
//! - `compare`: responses reduced to rcode, flags, question, EDNS and each section as a set of
//!   records in presentation form, and a readable diff of two of them.

#![allow(dead_code, unused_imports)]

pub mod api;
pub mod cli;
pub mod compare;
pub mod dns;
pub mod ministack;
pub mod servers;

use std::path::PathBuf;

pub use compare::{Normalized, diff};
pub use dns::{Question, Response, Transport, axfr, query};
pub use servers::{Knot, KnotOptions, Switchback, SwitchbackOptions, free_port, require_tool};

/// The repository root (the root crate's manifest dir).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A folder under `tests/data/`.
pub fn test_data(rel: &str) -> PathBuf {
    repo_root().join("tests").join("data").join(rel)
}
