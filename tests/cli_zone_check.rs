//! `switchback zone check` as a user runs it: `file:line: message` per error and exit 1, or a
//! one-line summary per zone and exit 0.

mod common;

use std::path::Path;
use std::process::Command;

fn check(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(common::BIN)
        .current_dir(dir)
        .args(["zone", "check"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const HEAD: &str = "$ORIGIN example.org.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\n";

#[test]
fn shipped_zones_are_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = check(root, &["zones"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("zones/example.com.zone: ok: zone example.com."),
        "{out}"
    );
}

#[test]
fn each_error_kind_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, String, &str)] = &[
        ("cname.example.org.zone", format!("{HEAD}www A 192.0.2.1\nwww CNAME ns\n"), ":7: "),
        ("badrdata.example.org.zone", format!("{HEAD}www A 192.0.2.300\n"), ":6: "),
        ("outside.example.org.zone", format!("{HEAD}www.example.net. A 192.0.2.1\n"), ":6: "),
        ("dupsoa.example.org.zone", format!("{HEAD}@ SOA ns hostmaster 2 3600 600 86400 60\n"), ":6: "),
        ("nosoa.example.org.zone", "$ORIGIN example.org.\n$TTL 300\n@ NS ns\nns A 192.0.2.53\n".into(), ":0: "),
        ("nons.example.org.zone", "$ORIGIN example.org.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\nns A 192.0.2.53\n".into(), ":3: "),
    ];
    for (file, text, line) in cases {
        // Each file is the zone its name gives: point $ORIGIN at it.
        let body = text.replace(
            "example.org.",
            &format!("{}.", file.trim_end_matches(".zone")),
        );
        std::fs::write(dir.path().join(file), body).unwrap();
        let (code, out, _) = check(dir.path(), &[file]);
        assert_eq!(code, 1, "{file}: {out}");
        let first = out.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("{file}{line}")),
            "{file}: got {out:?}"
        );
    }
    // All at once: every error printed, exit 1; the message names the problem.
    let (code, out, _) = check(dir.path(), &["."]);
    assert_eq!(code, 1);
    assert!(out.contains("CNAME and other data"), "{out}");
    assert!(out.contains("duplicate SOA"), "{out}");
    assert!(out.contains("outside the zone"), "{out}");
    assert!(out.contains("no NS records at the zone apex"), "{out}");
    assert!(out.contains("no SOA record"), "{out}");
    assert!(out.to_lowercase().contains("ipv4"), "{out}");
}

#[test]
fn json_output_and_origin_flag() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("db.example"), HEAD).unwrap();
    let (code, out, _) = check(
        dir.path(),
        &["--origin", "example.org", "db.example", "--json"],
    );
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["zone"], "example.org.");
    assert_eq!(v[0]["record_sets"], 3);
}
