//! The CLI runner of `switchback-testsupport` on this crate's binary: `cli::env(zones, rest)`
//! and `cli::at(dir, config)` are `CliEnv::new`/`CliEnv::at` with [`super::BIN`].

use std::path::PathBuf;

pub use switchback_testsupport::cli::{CliEnv, Endpoint, text, values_in};

/// `zones/NAME.zone` for each `(NAME, text)` and a config of `[server] zones, state` + `rest`.
pub fn env(zones: &[(&str, &str)], rest: &str) -> CliEnv {
    CliEnv::new(super::BIN, zones, rest)
}

/// Commands against an existing folder and config (a running `serve`'s).
pub fn at(dir: tempfile::TempDir, config: PathBuf) -> CliEnv {
    CliEnv::at(super::BIN, dir, config)
}
