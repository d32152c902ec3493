//! TSIG (RFC 8945) on `switchback serve`, checked by the clients people use: `kdig -y` and
//! `dig -y` transfer a zone allowed by key only (AXFR of several messages, every one signed and
//! verified by the client; IXFR), a signed query over UDP gets a signed answer, and a wrong
//! secret, an unknown key or no key at all is refused as the RFC says.

mod common;

use std::path::PathBuf;

use common::{Switchback, SwitchbackOptions};

const SECRET: &str = "c3dpdGNoYmFjay10c2lnLXRlc3Qtc2VjcmV0LTMyYnl0ZXMh";
const OLD_SECRET: &str = "b2xkLXNlcnZlci1zaGExLXNlY3JldA==";

/// A zone big enough that its AXFR takes several messages (each at most 16 KiB).
fn zone() -> String {
    let mut z = String::from(
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n",
    );
    for i in 0..3000 {
        z.push_str(&format!(
            "host{i} A 10.{}.{}.{}\n",
            i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    z
}

struct Env {
    sb: Switchback,
    _zones: tempfile::TempDir,
    kdig: PathBuf,
    dig: PathBuf,
}

fn env() -> Option<Env> {
    let kdig = common::require_tool("kdig")?;
    let dig = common::require_tool("dig")?;
    let zones = tempfile::tempdir().unwrap();
    std::fs::write(zones.path().join("example.com.zone"), zone()).unwrap();
    let mut opts = SwitchbackOptions::new(zones.path());
    // By key only: no address may transfer unsigned.
    opts.allow_transfer = vec!["key:xfr".into(), "key:old".into()];
    opts.extra_toml = "[tsig.xfr]\nalgorithm = \"hmac-sha256\"\nsecret_env = \"SB_TSIG_XFR\"\n\n\
                       [tsig.old]\nalgorithm = \"hmac-sha1\"\nsecret_env = \"SB_TSIG_OLD\"\n"
        .into();
    opts.env = vec![
        ("SB_TSIG_XFR".into(), SECRET.into()),
        ("SB_TSIG_OLD".into(), OLD_SECRET.into()),
    ];
    let sb = Switchback::start_with(opts);
    Some(Env {
        sb,
        _zones: zones,
        kdig,
        dig,
    })
}

impl Env {
    fn kdig(&self, key: Option<&str>, args: &[&str]) -> String {
        let mut a = vec![
            "@127.0.0.1".to_string(),
            "-p".into(),
            self.sb.port.to_string(),
            "+time=3".into(),
            "+retry=0".into(),
        ];
        if let Some(k) = key {
            a.push("-y".into());
            a.push(k.into());
        }
        a.extend(args.iter().map(|s| s.to_string()));
        common::peers::run(&self.kdig, &a)
    }

    fn dig(&self, key: Option<&str>, args: &[&str]) -> String {
        let mut a = vec![
            "@127.0.0.1".to_string(),
            "-p".into(),
            self.sb.port.to_string(),
            "+time=3".into(),
            "+tries=1".into(),
        ];
        if let Some(k) = key {
            a.push("-y".into());
            a.push(k.into());
        }
        a.extend(args.iter().map(|s| s.to_string()));
        common::peers::run(&self.dig, &a)
    }
}

/// Records in a transfer's output (lines that are neither comments, empty, nor the TSIG
/// records the tools print).
fn records(out: &str) -> usize {
    out.lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty() && !l.contains("TSIG"))
        .count()
}

#[test]
fn transfers_by_key_signed_in_every_message() {
    let Some(e) = env() else { return };
    let key = format!("hmac-sha256:xfr:{SECRET}");
    // 3,000 hosts + ns1 + NS + SOA twice: several messages, each verified by the client.
    let want = 3000 + 1 + 1 + 2;
    let out = e.kdig(Some(&key), &["example.com.", "AXFR"]);
    assert_eq!(records(&out), want, "kdig AXFR:\n{}", tail(&out));
    assert!(
        !out.contains(";; ERROR") && !out.contains(";; WARNING"),
        "{}",
        tail(&out)
    );
    // ";; Received 74531 B (5 messages, 3004 records)": each message's TSIG verified.
    let messages: usize = out
        .lines()
        .find_map(|l| l.strip_prefix(";; Received "))
        .and_then(|l| l.split(" (").nth(1))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(messages > 1, "a multi-message transfer: {}", tail(&out));
    let out = e.dig(Some(&key), &["example.com.", "AXFR"]);
    assert_eq!(records(&out), want, "dig AXFR:\n{}", tail(&out));
    assert!(
        !out.contains("Transfer failed") && !out.contains("tsig"),
        "{}",
        tail(&out)
    );
    // hmac-sha1, for old servers.
    let old = format!("hmac-sha1:old:{OLD_SECRET}");
    let out = e.kdig(Some(&old), &["example.com.", "AXFR"]);
    assert_eq!(
        records(&out),
        want,
        "kdig AXFR with hmac-sha1:\n{}",
        tail(&out)
    );
    // IXFR from the current serial: the SOA alone, signed.
    let out = e.dig(Some(&key), &["example.com.", "IXFR=1"]);
    assert_eq!(records(&out), 1, "dig IXFR=1:\n{}", tail(&out));
    assert!(!out.contains("Transfer failed"), "{}", tail(&out));
}

#[test]
fn refusals_without_a_key_with_a_wrong_one_or_an_unknown_one() {
    let Some(e) = env() else { return };
    // No key: the ACL lists keys only.
    let out = e.kdig(None, &["example.com.", "AXFR"]);
    assert!(out.contains("REFUSED"), "unsigned AXFR:\n{}", tail(&out));
    assert_eq!(records(&out), 0);
    // The right name, another secret: NOTAUTH, BADSIG (the answer is unsigned, as the RFC says).
    let wrong = "hmac-sha256:xfr:d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==";
    let out = e.kdig(Some(wrong), &["example.com.", "AXFR"]);
    assert!(
        out.contains("NOTAUTH") || out.contains("BADSIG"),
        "wrong secret:\n{}",
        tail(&out)
    );
    assert_eq!(records(&out), 0);
    let out = e.dig(Some(wrong), &["example.com.", "SOA"]);
    assert!(
        out.contains("NOTAUTH") || out.contains("BADSIG"),
        "dig, wrong secret:\n{}",
        tail(&out)
    );
    // A key the server does not know: BADKEY.
    let out = e.kdig(
        Some(&format!("hmac-sha256:nobody:{SECRET}")),
        &["example.com.", "SOA"],
    );
    assert!(
        out.contains("NOTAUTH") || out.contains("BADKEY"),
        "unknown key:\n{}",
        tail(&out)
    );
    // The key under another algorithm than configured: BADKEY too.
    let out = e.kdig(
        Some(&format!("hmac-sha512:xfr:{SECRET}")),
        &["example.com.", "SOA"],
    );
    assert!(
        out.contains("NOTAUTH") || out.contains("BADKEY"),
        "another algorithm:\n{}",
        tail(&out)
    );
    // IXFR with a wrong secret: refused the same way.
    let out = e.kdig(Some(wrong), &["example.com.", "IXFR=1"]);
    assert!(
        out.contains("NOTAUTH") || out.contains("BADSIG"),
        "IXFR, wrong secret:\n{}",
        tail(&out)
    );
    assert_eq!(records(&out), 0);
    // A client clock an hour behind (libfaketime): BADTIME, answered signed with the
    // server's time, which kdig verifies and reports.
    if let Some(faketime) = common::require_tool("faketime") {
        let key = format!("hmac-sha256:xfr:{SECRET}");
        let mut args = vec!["-f".to_string(), "-1h".into(), e.kdig.display().to_string()];
        args.extend(
            [
                "@127.0.0.1",
                "-p",
                &e.sb.port.to_string(),
                "+time=3",
                "+retry=0",
                "-y",
                &key,
                "example.com.",
                "SOA",
            ]
            .map(String::from),
        );
        let out = common::peers::run(&faketime, &args);
        assert!(out.contains("BADTIME"), "a skewed clock:\n{out}");
    }
    // The server says why in its log, naming the key, never the secret.
    let log = e.sb.log_text();
    assert!(log.contains("TSIG verification failed"), "{log}");
    assert!(!log.contains(SECRET), "the secret is in the log");
}

#[test]
fn a_signed_query_gets_a_signed_answer_over_udp_and_tcp() {
    let Some(e) = env() else { return };
    let key = format!("hmac-sha256:xfr:{SECRET}");
    for transport in ["+notcp", "+tcp"] {
        let out = e.dig(Some(&key), &["example.com.", "SOA", transport]);
        assert!(out.contains("status: NOERROR"), "{transport}:\n{out}");
        assert!(
            out.contains("TSIG PSEUDOSECTION"),
            "{transport}: no TSIG:\n{out}"
        );
        assert!(
            !out.contains("tsig verify failure") && !out.contains("expected a TSIG"),
            "{transport}: the answer's TSIG did not verify:\n{out}"
        );
        let out = e.kdig(Some(&key), &["host7.example.com.", "A", transport]);
        assert!(out.contains("10.0.0.7"), "{transport}:\n{out}");
        assert!(
            !out.contains(";; WARNING") && !out.contains(";; ERROR"),
            "{transport}:\n{out}"
        );
    }
}

fn tail(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    let head = lines.iter().take(5).copied().collect::<Vec<_>>().join("\n");
    let end = lines[lines.len().saturating_sub(8)..].join("\n");
    format!("{head}\n...\n{end}")
}
