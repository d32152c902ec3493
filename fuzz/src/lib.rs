//! Switchback's coverage-guided fuzz targets. Each module's `run` takes any bytes, feeds them
//! to one parser the way the program does, and panics when a property fails:
//!
//! - [`dns`]: a DNS packet over UDP or TCP into the answer path and the zone-transfer writer;
//!   every reply's header counts match its sections, it echoes the id and question and fits
//!   the transport.
//! - [`zonefile`]: master-file text into the reader; an error names a line of the file, a
//!   zone read without error is written out and read back to the same zone.
//! - [`config`]: `switchback.toml` text into the loader; an error names the file, a config
//!   that loads resolves every cutover, ACL and limit without error.
//! - [`webhook`]: a recovery hook's signature header and body; a 4xx JSON error or a body
//!   read, and a signature holds for its own path only.
//! - [`update`]: an RFC 2136 UPDATE (TSIG-signed or not) into the built-in server's reader
//!   and evaluator, and a server's answer into the `rfc2136` provider's reader; the changes an
//!   UPDATE evaluates to apply to the zone they came from.
//!
//! `tests/bench/fuzz.sh` runs them under libFuzzer (`cargo fuzz`, stable toolchain, no
//! sanitizer); `tests/corpus.rs` replays `corpus/TARGET/*` and `regressions/TARGET/*` in
//! every test run.

pub mod config;
pub mod dns;
pub mod update;
pub mod webhook;
pub mod zonefile;

/// A target: any bytes in, a panic when a property fails.
pub type Target = fn(&[u8]);

/// The targets by name, for the corpus replay.
pub const TARGETS: [(&str, Target); 5] = [
    ("dns", dns::run),
    ("zonefile", zonefile::run),
    ("config", config::run),
    ("webhook", webhook::run),
    ("update", update::run),
];
