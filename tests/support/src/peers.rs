//! Where the third-party peers are, and the one skip policy.
//!
//! A missing peer fails the test with a hint: `tests/run` installs every peer (Debian packages,
//! and the PyPI/npm peers under `target/peers/`), so a missing one is a broken set-up, not a
//! reason to pass. A developer without some peer can name it in `SWITCHBACK_SKIP_PEERS`
//! (comma- or space-separated, e.g. `SWITCHBACK_SKIP_PEERS=knotd,nsd`, or `all`): then the
//! lookup says `SKIP` on stderr and returns `None`, and the test returns early.

use std::path::PathBuf;

use crate::workspace_root;

/// The variable that names the peers a test may skip for.
pub const SKIP_VAR: &str = "SWITCHBACK_SKIP_PEERS";

/// Whether `SWITCHBACK_SKIP_PEERS` names `peer` (or says `all`).
pub fn skipped(peer: &str) -> bool {
    std::env::var(SKIP_VAR).is_ok_and(|v| {
        v.split([',', ' '])
            .map(str::trim)
            .any(|p| p == peer || p == "all")
    })
}

/// An executable on PATH or in the sbin directories (knotd and nsd live in /usr/sbin).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A Debian-packaged tool (knotd, kdig, dig, nsd, dnsperf, chromium, ...): its path, or `None`
/// when it is missing and skipped; panics when it is missing and not skipped.
pub fn tool(name: &str) -> Option<PathBuf> {
    match find_tool(name) {
        Some(p) => Some(p),
        None => missing(name, "run tests/run, which installs it"),
    }
}

/// A peer installed by `tests/peers/*.sh` under `target/peers/VENV/` (`bin` relative to it):
/// its path, or `None` when it is missing and skipped; panics when missing and not skipped.
/// The skip name is `venv` (ministack, moto, prism).
pub fn installed(venv: &str, bin: &str) -> Option<PathBuf> {
    let path = workspace_root().join("target/peers").join(venv).join(bin);
    if path.exists() {
        return Some(path);
    }
    missing(
        venv,
        &format!(
            "{} is missing: run tests/run (or tests/peers/*.sh) first",
            path.display()
        ),
    )
}

/// A peer that is not a file (a Python module, say) was found missing: returns when
/// `SWITCHBACK_SKIP_PEERS` names it (the caller skips that check), else panics with `hint`.
pub fn unavailable(peer: &str, hint: &str) {
    missing(peer, hint);
}

fn missing(peer: &str, hint: &str) -> Option<PathBuf> {
    if skipped(peer) {
        eprintln!("SKIP: the test peer `{peer}` is not installed ({SKIP_VAR} names it)");
        return None;
    }
    panic!(
        "the test peer `{peer}` is not installed ({hint}); set {SKIP_VAR}={peer} to skip the \
         tests that need it"
    );
}

/// Whether this process runs as root (knotd then needs `user: root:root`, named `-u root`).
pub fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// Runs a peer tool to completion: its stdout and stderr, one after the other.
pub fn run(tool: &std::path::Path, args: &[String]) -> String {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", tool.display()));
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    s
}
