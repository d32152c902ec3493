//! A zone signed whole by `dnssec::sign_zone` (RRSIGs over canonical RRsets, a classic NSEC
//! chain, the DNSKEY set signed by the KSK) is a valid signed zone to BIND 9's
//! `dnssec-verify` and to ldns's `ldns-verify-zone`, for both algorithms; one flipped bit in
//! one signature makes both refuse it.

use std::path::Path;
use std::process::Command;

use switchback_api::{Name, zonefile};
use switchback_builtin::dnssec::{Algorithm, KeyPair, Role, Validity, sign_zone};

/// A delegation with glue, a wildcard, an empty non-terminal (`c` above `b.c`), a CNAME, and
/// names in mixed case (the model folds them).
const ZONE: &str = "$ORIGIN example.test.\n$TTL 300\n\
@ SOA ns hostmaster 7 3600 600 86400 60\n\
@ NS ns\n\
@ MX 10 Mail\n\
ns A 192.0.2.53\n\
Mail A 192.0.2.25\n\
www A 192.0.2.1\n\
www A 192.0.2.2\n\
www AAAA 2001:db8::1\n\
*.wild TXT \"any name\"\n\
b.c TXT \"below an empty non-terminal\"\n\
alias CNAME www\n\
sub NS ns.sub\n\
sub DS 12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n\
ns.sub A 192.0.2.99\n";

fn tool(dir: &Path, name: &str, args: &[&str]) -> (bool, String) {
    let o = Command::new(name)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name}: {e} (tests/run installs it)"));
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

fn signed_zone_file(algorithm: Algorithm) -> String {
    let origin: Name = "example.test.".parse().unwrap();
    let zone = zonefile::load_str(
        ZONE,
        Path::new("example.test.zone"),
        &origin,
        Path::new("."),
    )
    .unwrap();
    let ksk = KeyPair::generate(algorithm, Role::Ksk).unwrap();
    let zsk = KeyPair::generate(algorithm, Role::Zsk).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let records = sign_zone(&zone, &[&ksk, &zsk], Validity::from_now(now)).unwrap();
    let mut text = String::new();
    for r in &records {
        text.push_str(&r.to_line());
        text.push('\n');
    }
    text
}

fn verify(dir: &Path, file: &str) -> [(bool, String); 2] {
    [
        tool(dir, "dnssec-verify", &["-o", "example.test.", file]),
        tool(dir, "ldns-verify-zone", &[file]),
    ]
}

fn a_signed_zone_verifies(algorithm: Algorithm) {
    let dir = tempfile::tempdir().unwrap();
    let text = signed_zone_file(algorithm);
    std::fs::write(dir.path().join("signed.zone"), &text).unwrap();
    for (ok, out) in verify(dir.path(), "signed.zone") {
        assert!(ok, "{out}\n{text}");
    }
    // Glue and the delegation's NS are not signed; the DS and the NSEC at the cut are.
    let mut at_cut: Vec<u16> = rrsigs(&text, "sub.example.test.")
        .iter()
        .map(|(t, _)| *t)
        .collect();
    at_cut.sort();
    assert_eq!(at_cut, [43, 47], "DS and NSEC: {text}");
    assert!(rrsigs(&text, "ns.sub.example.test.").is_empty(), "{text}");
    // A wildcard's RRSIG counts its labels without the `*` (RFC 4034 §3.1.3).
    // (Its NSEC's too: that record's owner is the wildcard name itself.)
    assert_eq!(
        rrsigs(&text, "*.wild.example.test."),
        [(16, 3), (47, 3)],
        "{text}"
    );

    // One flipped bit in the signature of www's A set.
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| {
            l.starts_with("www.example.test. ") && rdata_of(l).is_some_and(|r| r[..2] == [0, 1])
        })
        .unwrap();
    let mut bytes = rdata_of(lines[i]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let head: Vec<&str> = lines[i].split_whitespace().take(4).collect();
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    let tampered = format!("{} \\# {} {hex}", head.join(" "), bytes.len());
    let mut bad = lines.clone();
    bad[i] = &tampered;
    std::fs::write(dir.path().join("tampered.zone"), bad.join("\n") + "\n").unwrap();
    for (ok, out) in verify(dir.path(), "tampered.zone") {
        assert!(!ok, "a tampered signature was accepted: {out}");
    }
}

/// The RDATA of an RRSIG line, which the model's codec writes in the RFC 3597 form.
fn rdata_of(line: &str) -> Option<Vec<u8>> {
    let mut w = line.split_whitespace().skip(3);
    if w.next()? != "RRSIG" || w.next()? != "\\#" {
        return None;
    }
    let hex: String = w.skip(1).collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// (type covered, labels) of each RRSIG at `owner`.
fn rrsigs(text: &str, owner: &str) -> Vec<(u16, u8)> {
    text.lines()
        .filter(|l| l.split_whitespace().next() == Some(owner))
        .filter_map(rdata_of)
        .map(|r| (u16::from_be_bytes([r[0], r[1]]), r[3]))
        .collect()
}

#[test]
fn an_ecdsa_signed_zone_verifies() {
    a_signed_zone_verifies(Algorithm::EcdsaP256Sha256);
}

#[test]
fn an_ed25519_signed_zone_verifies() {
    a_signed_zone_verifies(Algorithm::Ed25519);
}
