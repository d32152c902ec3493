//! RFC 2136 UPDATE into `switchback serve`, as the tools that speak it send it (`nsupdate -y`):
//! accepted only with a key listed in `allow_update`, prerequisites evaluated (NXRRSET,
//! YXRRSET), applied through the path every change takes (served at once, serial bumped, the
//! audit log names the key), and REFUSED for a record set of a cutover in progress.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::cli::text;
use common::{Question, Switchback, SwitchbackOptions};
use hickory_proto::rr::RecordType;

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\n";
const SECRET: &str = "YWNtZS1jaGFsbGVuZ2Uta2V5LXNlY3JldC0zMmJ5dGVz";

struct Env {
    sb: Switchback,
    _zones: tempfile::TempDir,
}

fn env() -> Option<Env> {
    common::require_tool("nsupdate")?;
    let zones = tempfile::tempdir().unwrap();
    std::fs::write(zones.path().join("example.com.zone"), ZONE).unwrap();
    let mut opts = SwitchbackOptions::new(zones.path());
    opts.extra_server_toml = "allow_update = [\"key:acme\"]\n".into();
    opts.extra_toml = "[tsig.acme]\nalgorithm = \"hmac-sha256\"\nsecret_env = \"SB_TSIG_ACME\"\n\n\
         [[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
         steering = \"failover\"\nsoak = \"0s\"\n\n\
         [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n"
        .into();
    opts.env = vec![("SB_TSIG_ACME".into(), SECRET.into())];
    Some(Env {
        sb: Switchback::start_with(opts),
        _zones: zones,
    })
}

impl Env {
    /// `nsupdate` (with `-y KEY` when given) sending `lines` then `send`; its output.
    fn nsupdate(&self, key: Option<&str>, tcp: bool, lines: &[&str]) -> (bool, String) {
        let nsupdate = common::require_tool("nsupdate").unwrap();
        let mut c = Command::new(nsupdate);
        if tcp {
            c.arg("-v");
        }
        if let Some(k) = key {
            c.args(["-y", k]);
        }
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut script = format!("server 127.0.0.1 {}\nzone example.com.\n", self.sb.port);
        for l in lines {
            script.push_str(l);
            script.push('\n');
        }
        script.push_str("send\n");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        (o.status.success(), text(&o))
    }

    fn txt(&self, name: &str) -> Vec<String> {
        let q = Question::new(name, RecordType::TXT);
        self.sb.query(&q).unwrap().answer_rdata(RecordType::TXT)
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(common::BIN)
            .arg("-c")
            .arg(&self.sb.config)
            .args(args)
            .env("SB_TSIG_ACME", SECRET)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

const KEY: &str = "hmac-sha256:acme:YWNtZS1jaGFsbGVuZ2Uta2V5LXNlY3JldC0zMmJ5dGVz";

#[test]
fn nsupdate_with_the_key_adds_and_removes_an_acme_challenge() {
    let Some(e) = env() else { return };
    for tcp in [false, true] {
        let (ok, out) = e.nsupdate(
            Some(KEY),
            tcp,
            &["update add _acme-challenge.example.com. 60 TXT \"token-1\""],
        );
        assert!(ok, "tcp={tcp}: {out}");
        assert_eq!(
            e.txt("_acme-challenge.example.com."),
            ["\"token-1\""],
            "served at once"
        );
        let (ok, out) = e.nsupdate(
            Some(KEY),
            tcp,
            &["update delete _acme-challenge.example.com. TXT \"token-1\""],
        );
        assert!(ok, "tcp={tcp}: {out}");
        assert!(e.txt("_acme-challenge.example.com.").is_empty());
    }
    // The serial rose with every change (four updates).
    let q = Question::new("example.com.", RecordType::SOA);
    let soa = e.sb.query(&q).unwrap().answer_rdata(RecordType::SOA);
    assert!(soa[0].contains(" 5 "), "{soa:?}");
    // The audit log names the key.
    let store = switchback::store::Store::open(e.sb.dir.path().join("state.db")).unwrap();
    let log = store.audit_log(10).unwrap();
    assert!(
        log.iter()
            .any(|r| r.entry.actor == "update:key:acme." && r.entry.action == "update"),
        "{log:?}"
    );
}

#[test]
fn refusals_as_rfc_2136_and_8945_say() {
    let Some(e) = env() else { return };
    let add = ["update add x.example.com. 60 A 192.0.2.9"];
    // No key: REFUSED.
    let (ok, out) = e.nsupdate(None, true, &add);
    assert!(!ok && out.contains("REFUSED"), "{out}");
    // A wrong secret: NOTAUTH (BADSIG).
    let (ok, out) = e.nsupdate(
        Some("hmac-sha256:acme:d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=="),
        true,
        &add,
    );
    assert!(
        !ok && (out.contains("NOTAUTH") || out.contains("BADSIG")),
        "{out}"
    );
    // Prerequisites: www must not exist (it does): YXRRSET; x must exist (it does not): NXRRSET.
    let (ok, out) = e.nsupdate(
        Some(KEY),
        true,
        &["prereq nxrrset www.example.com. A", add[0]],
    );
    assert!(!ok && out.contains("YXRRSET"), "{out}");
    let (ok, out) = e.nsupdate(
        Some(KEY),
        true,
        &["prereq yxrrset x.example.com. A", add[0]],
    );
    assert!(!ok && out.contains("NXRRSET"), "{out}");
    // A name outside the zone: NOTZONE.
    let (ok, out) = e.nsupdate(
        Some(KEY),
        true,
        &["update add x.example.org. 60 A 192.0.2.9"],
    );
    assert!(!ok, "{out}");
    let q = Question::new("x.example.com.", RecordType::A);
    assert!(
        e.sb.query(&q)
            .unwrap()
            .answer_rdata(RecordType::A)
            .is_empty(),
        "nothing applied"
    );
}

#[test]
fn a_record_set_of_a_cutover_in_progress_is_refused() {
    let Some(e) = env() else { return };
    let www = [
        "update delete www.example.com. A",
        "update add www.example.com. 60 A 203.0.113.1",
    ];
    let o = e.cli(&["failover", "web", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let (ok, out) = e.nsupdate(Some(KEY), true, &www);
    assert!(!ok && out.contains("REFUSED"), "{out}");
    let q = Question::new("www.example.com.", RecordType::A);
    assert_eq!(
        e.sb.query(&q).unwrap().answer_rdata(RecordType::A),
        ["198.51.100.80"]
    );
    // Other record sets of the zone are not held.
    let (ok, out) = e.nsupdate(
        Some(KEY),
        true,
        &["update add other.example.com. 60 A 192.0.2.7"],
    );
    assert!(ok, "{out}");
    // Half way back (a weighted stage): still held.
    let o = e.cli(&["failback", "web", "--stage", "next", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let (ok, out) = e.nsupdate(Some(KEY), true, &www);
    assert!(!ok && out.contains("REFUSED"), "{out}");
    // Once the cutover is restored, www may be updated again.
    for _ in 0..5 {
        let st = e.cli(&["--json", "cutover", "status", "web"]);
        let st: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap();
        if st["state"] == "restored" {
            break;
        }
        let o = e.cli(&["failback", "web", "--stage", "next", "--yes"]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let (ok, out) = e.nsupdate(Some(KEY), true, &www);
    assert!(ok, "{out}");
    assert_eq!(
        e.sb.query(&q).unwrap().answer_rdata(RecordType::A),
        ["203.0.113.1"]
    );
}

/// certbot's RFC 2136 plugin (certbot-dns-rfc2136, from PyPI): its own client class, the one
/// certbot calls for a DNS-01 challenge, adds and removes the `_acme-challenge` TXT record
/// (finding the zone with a TSIG-signed SOA query first, `sign_query`).
#[test]
fn certbots_rfc2136_plugin_adds_and_removes_the_challenge() {
    let Some(python) = switchback_testsupport::peers::installed("certbot", "bin/python") else {
        return;
    };
    let Some(e) = env() else { return };
    let script = format!(
        "import sys, dns.tsig\n\
         from certbot_dns_rfc2136._internal.dns_rfc2136 import _RFC2136Client\n\
         c = _RFC2136Client('127.0.0.1', {port}, 'acme', '{SECRET}', dns.tsig.HMAC_SHA256, True)\n\
         if sys.argv[1] == 'add':\n    c.add_txt_record('_acme-challenge.www.example.com', 'tok-5f3a', 60)\n\
         else:\n    c.del_txt_record('_acme-challenge.www.example.com', 'tok-5f3a')\n\
         print('ok')\n",
        port = e.sb.port
    );
    let run = |what: &str| {
        let o = Command::new(&python)
            .args(["-c", &script, what])
            .output()
            .unwrap();
        assert!(o.status.success(), "certbot plugin {what}: {}", text(&o));
    };
    run("add");
    assert_eq!(
        e.txt("_acme-challenge.www.example.com."),
        ["\"tok-5f3a\""],
        "the challenge is served"
    );
    run("del");
    assert!(e.txt("_acme-challenge.www.example.com.").is_empty());
}

/// A zone with its own updaters (`[server.zone."corp.example"] allow_update`): the
/// server-wide key may not update it, its own key may, and not the other zone.
#[test]
fn a_zone_can_have_its_own_updaters() {
    if common::require_tool("nsupdate").is_none() {
        return;
    }
    let zones = tempfile::tempdir().unwrap();
    std::fs::write(zones.path().join("example.com.zone"), ZONE).unwrap();
    std::fs::write(
        zones.path().join("corp.example.zone"),
        "$ORIGIN corp.example.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 10.0.0.53\n",
    )
    .unwrap();
    let mut opts = SwitchbackOptions::new(zones.path());
    opts.extra_server_toml = "allow_update = [\"key:acme\"]\n".into();
    opts.extra_toml = "[server.zone.\"corp.example\"]\nallow_update = [\"key:dhcp\"]\n\n\
         [tsig.acme]\nsecret_env = \"SB_TSIG_ACME\"\n\n[tsig.dhcp]\nsecret_env = \"SB_TSIG_DHCP\"\n"
        .into();
    opts.env = vec![
        ("SB_TSIG_ACME".into(), SECRET.into()),
        (
            "SB_TSIG_DHCP".into(),
            "ZGhjcC1zZXJ2ZXIta2V5LXNlY3JldC0zMi1ieXRlcw==".into(),
        ),
    ];
    let e = Env {
        sb: Switchback::start_with(opts),
        _zones: zones,
    };
    let dhcp = "hmac-sha256:dhcp:ZGhjcC1zZXJ2ZXIta2V5LXNlY3JldC0zMi1ieXRlcw==";
    let corp = |e: &Env, key: &str| {
        let nsupdate = common::require_tool("nsupdate").unwrap();
        let mut child = Command::new(nsupdate)
            .args(["-v", "-y", key])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        write!(
            child.stdin.take().unwrap(),
            "server 127.0.0.1 {}\nzone corp.example.\nupdate add pc1.corp.example. 60 A 10.0.0.21\nsend\n",
            e.sb.port
        )
        .unwrap();
        let o = child.wait_with_output().unwrap();
        (o.status.success(), text(&o))
    };
    let (ok, out) = corp(&e, KEY);
    assert!(
        !ok && out.contains("REFUSED"),
        "the server-wide key on corp.example: {out}"
    );
    let (ok, out) = corp(&e, dhcp);
    assert!(ok, "corp.example's own key: {out}");
    let (ok, out) = e.nsupdate(
        Some(dhcp),
        true,
        &["update add y.example.com. 60 A 192.0.2.8"],
    );
    assert!(
        !ok && out.contains("REFUSED"),
        "corp.example's key on example.com: {out}"
    );
    let (ok, out) = e.nsupdate(
        Some(KEY),
        true,
        &["update add y.example.com. 60 A 192.0.2.8"],
    );
    assert!(ok, "{out}");
}

/// An UPDATE of a cutover's record set while a step holds the cutover's lease (the failover is
/// slowed at its fault points) is refused once the lease wait runs out, and the failover, not
/// disturbed, lands.
#[test]
fn an_update_during_a_step_waits_for_the_lease_then_is_refused() {
    let Some(e) = env() else { return };
    let child = Command::new(common::BIN)
        .arg("-c")
        .arg(&e.sb.config)
        .args(["failover", "web", "--yes"])
        .env("SB_TSIG_ACME", SECRET)
        .env("SWITCHBACK_FAULT_DELAY_MS", "1500")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let (ok, out) = e.nsupdate(
        Some(KEY),
        true,
        &[
            "update delete www.example.com. A",
            "update add www.example.com. 60 A 203.0.113.1",
        ],
    );
    assert!(!ok && out.contains("REFUSED"), "{out}");
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "the failover was disturbed: {}",
        text(&o)
    );
    let q = Question::new("www.example.com.", RecordType::A);
    assert_eq!(
        e.sb.query(&q).unwrap().answer_rdata(RecordType::A),
        ["198.51.100.80"]
    );
}
