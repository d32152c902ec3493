//! `switchback health` with no checks configured: an empty table (a note on stderr) or an
//! empty JSON document, and exit 0.

mod common;

#[test]
fn no_checks_is_all_up() {
    let cli = common::cli::env(&[], "");
    let doc = cli.json(&["health"]);
    assert_eq!(doc, serde_json::json!({"all_up": true, "checks": []}));

    let out = cli.run(&["health"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::cli::text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no health checks configured"));
}
