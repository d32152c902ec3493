//! `switchback health` with no checks configured: an empty table (a note on stderr) or an
//! empty JSON document, and exit 0.

use std::process::Command;

#[test]
fn no_checks_is_all_up() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("switchback.toml");
    std::fs::write(&cfg, "").unwrap();
    let bin = env!("CARGO_BIN_EXE_switchback");

    let out = Command::new(bin)
        .arg("-c")
        .arg(&cfg)
        .args(["health", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc, serde_json::json!({"all_up": true, "checks": []}));

    let out = Command::new(bin)
        .arg("-c")
        .arg(&cfg)
        .arg("health")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no health checks configured"));
}
