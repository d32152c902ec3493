//! The keys of a signed zone (`[server] dnssec`) as BIND 9's tools see them: the DS that
//! `switchback dnssec ds` prints is the one `dnssec-dsfromkey` computes from the exported
//! DNSKEY, and the exported private keys sign the zone with `dnssec-signzone` into a zone
//! that `dnssec-verify` accepts (so each private half is the one of its DNSKEY).

mod common;

use std::path::Path;
use std::process::Command;

use common::cli;

const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n@ SOA ns hostmaster 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.53\nwww A 192.0.2.1\n";

/// Run a BIND tool in `dir`; it must succeed; its stdout.
fn bind(dir: &Path, tool: &str, args: &[&str]) -> String {
    let o = Command::new(tool)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e} (Debian package bind9-utils)"));
    assert!(
        o.status.success(),
        "{tool} {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// `dnssec export`'s text split into its files (`; K….key` / `; K….private` headers), written
/// into `dir`; the file names.
fn write_key_files(export: &str, dir: &Path) -> Vec<String> {
    let mut files: Vec<(String, String)> = Vec::new();
    for line in export.lines() {
        if let Some(name) = line.strip_prefix("; K") {
            files.push((format!("K{name}"), String::new()));
        } else {
            let (_, body) = files.last_mut().expect("a file header first");
            body.push_str(line);
            body.push('\n');
        }
    }
    for (name, body) in &files {
        std::fs::write(dir.join(name), body).unwrap();
    }
    files.into_iter().map(|(n, _)| n).collect()
}

fn words(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

fn keys_as_bind_sees_them(algorithm: &str, number: &str) {
    let env = cli::env(
        &[("example.test", ZONE)],
        &format!("dnssec = [\"example.test\"]\ndnssec_algorithm = \"{algorithm}\"\n"),
    );
    let out = env.run(&["dnssec", "ds", "example.test"]);
    assert!(out.status.success(), "{}", cli::text(&out));
    let ds = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(ds.lines().count(), 1, "one KSK, one DS: {ds}");
    assert!(
        ds.contains(" DS ") && ds.contains(&format!(" {number} 2 ")),
        "{ds}"
    );
    // The keys are made once: asked again, the same DS.
    assert_eq!(env.ok(&["dnssec", "ds", "example.test"]), ds);
    let doc = env.json(&["dnssec", "ds", "example.test."]);
    assert_eq!(doc["ds"][0].as_str().unwrap(), ds.trim_end());

    let export = env.ok(&["dnssec", "export", "example.test"]);
    let dir = tempfile::tempdir().unwrap();
    let files = write_key_files(&export, dir.path());
    assert_eq!(files.len(), 4, "{files:?}");
    // No private key in what `ds` printed or logged.
    for line in export.lines().filter(|l| l.starts_with("PrivateKey: ")) {
        let secret = line.trim_start_matches("PrivateKey: ");
        assert!(!ds.contains(secret) && !stderr.contains(secret));
    }
    let ksk = files
        .iter()
        .find(|f| {
            f.ends_with(".key")
                && std::fs::read_to_string(dir.path().join(f))
                    .unwrap()
                    .contains(" DNSKEY 257 ")
        })
        .expect("a KSK");
    let zsk = files
        .iter()
        .find(|f| f.ends_with(".key") && *f != ksk)
        .expect("a ZSK");
    assert!(
        ksk.starts_with(&format!("Kexample.test.+0{number}+")),
        "{ksk}"
    );

    // BIND computes the same DS from the DNSKEY.
    let theirs = bind(dir.path(), "dnssec-dsfromkey", &["-2", ksk]);
    assert_eq!(words(&theirs), words(&ds), "dnssec-dsfromkey: {theirs}");

    // The private halves sign the zone, and BIND verifies every signature with the DNSKEYs.
    // The classic way: the zone includes its DNSKEY records.
    std::fs::write(
        dir.path().join("example.test.zone"),
        format!("{ZONE}$INCLUDE {ksk}\n$INCLUDE {zsk}\n"),
    )
    .unwrap();
    bind(
        dir.path(),
        "dnssec-signzone",
        &[
            "-o",
            "example.test.",
            "-f",
            "signed.zone",
            "-k",
            ksk.trim_end_matches(".key"),
            "example.test.zone",
            zsk.trim_end_matches(".key"),
        ],
    );
    // dnssec-verify exits non-zero on any signature its DNSKEYs do not verify.
    bind(
        dir.path(),
        "dnssec-verify",
        &["-o", "example.test.", "signed.zone"],
    );
    let signed = std::fs::read_to_string(dir.path().join("signed.zone")).unwrap();
    let tag = ksk.rsplit('+').next().unwrap().trim_end_matches(".key");
    let tag = tag.trim_start_matches('0');
    assert!(
        signed.contains("RRSIG") && signed.contains(&format!(" {number} 2 300 ")),
        "{signed}"
    );
    assert!(
        signed.contains(&format!(" {tag} example.test.")),
        "no RRSIG by the KSK {tag}: {signed}"
    );

    // The state file that holds the private keys is its owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("state/state.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "state file mode {mode:o}");
    }
}

#[test]
fn ecdsa_keys_as_bind_sees_them() {
    keys_as_bind_sees_them("ecdsap256sha256", "13");
}

#[test]
fn ed25519_keys_as_bind_sees_them() {
    keys_as_bind_sees_them("ed25519", "15");
}

#[test]
fn only_configured_zones_have_keys_and_bad_algorithms_are_refused() {
    let env = cli::env(&[("example.test", ZONE)], "dnssec = [\"example.test\"]\n");
    let out = env.run(&["dnssec", "ds", "other.test"]);
    assert!(!out.status.success());
    assert!(
        cli::text(&out).contains("other.test. is not signed"),
        "{}",
        cli::text(&out)
    );
    let env = cli::env(
        &[("example.test", ZONE)],
        "dnssec = [\"example.test\"]\ndnssec_algorithm = \"rsasha1\"\n",
    );
    let out = env.run(&["dnssec", "ds", "example.test"]);
    assert!(!out.status.success());
    assert!(
        cli::text(&out).contains("server.dnssec_algorithm"),
        "{}",
        cli::text(&out)
    );
}

/// Processes that first see a signed zone at the same moment make one set of keys between
/// them: every one prints the same DS, and the store holds one KSK and one ZSK.
#[test]
fn processes_racing_for_the_first_keys_make_one_set() {
    for round in 0..5 {
        let env = cli::env(&[("example.test", ZONE)], "dnssec = [\"example.test\"]\n");
        let children: Vec<_> = (0..6)
            .map(|_| env.cmd(&["dnssec", "ds", "example.test"]).spawn().unwrap())
            .collect();
        let outputs: Vec<String> = children
            .into_iter()
            .map(|c| {
                let o = c.wait_with_output().unwrap();
                assert!(o.status.success(), "round {round}: {}", cli::text(&o));
                String::from_utf8(o.stdout).unwrap()
            })
            .collect();
        assert!(
            outputs
                .iter()
                .all(|o| *o == outputs[0] && o.lines().count() == 1),
            "round {round}: {outputs:?}"
        );
        let export = env.ok(&["dnssec", "export", "example.test"]);
        assert_eq!(
            export.matches("PrivateKey: ").count(),
            2,
            "round {round}: {export}"
        );
    }
}
