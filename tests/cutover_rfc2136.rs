//! A cutover on an RFC 2136 primary (Knot DNS, BIND 9) through the `switchback` binary, signed
//! with TSIG: snapshot, failover, a change someone else makes with `nsupdate` (drift: the
//! failback refuses to clobber it, exit 3, until `--force`), the exact restore; and an
//! `nsupdate` racing a failover between its plan and its apply, which the failover refuses
//! instead of overwriting.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::cli::{CliEnv, text};
use hickory_proto::rr::RecordType;
use switchback_testsupport::dns::{Question, query};
use switchback_testsupport::primary::{KEY_NAME, Primary, SECRET_B64, Server, ZONE};

fn env(p: &Primary) -> CliEnv {
    let config = format!(
        "[tsig.\"xfr.example\"]\nalgorithm = \"hmac-sha256\"\nsecret_env = \"SB_TSIG\"\n\n\
         [providers.ns]\ntype = \"rfc2136\"\nserver = \"{}\"\nzones = [\"{ZONE}\"]\nkey = \"xfr.example\"\n\n\
         [[cutover]]\nname = \"web\"\nprovider = \"ns\"\nzone = \"{ZONE}\"\nsteering = \"failover\"\nsoak = \"0s\"\n\n\
         [[cutover.record]]\nname = \"www.example.test.\"\ntype = \"A\"\nrecovery = [\"198.51.100.1\"]\n",
        p.addr()
    );
    common::cli::env(&[], &config).with_env("SB_TSIG", SECRET_B64)
}

/// www's A values as the primary answers them.
fn www(p: &Primary) -> Vec<String> {
    let q = Question::new("www.example.test.", RecordType::A).tcp();
    let mut v = query(p.addr(), &q).unwrap().answer_rdata(RecordType::A);
    v.sort();
    v
}

/// Someone else's change, as an operator makes it: `nsupdate -y` replacing www's A set.
fn nsupdate_www(p: &Primary, value: &str) {
    let nsupdate = common::require_tool("nsupdate").expect("nsupdate (bind9-dnsutils)");
    let mut child = Command::new(nsupdate)
        .args(["-v", "-y", &format!("hmac-sha256:{KEY_NAME}:{SECRET_B64}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = p.addr();
    write!(
        child.stdin.take().unwrap(),
        "server {} {}\nzone {ZONE}\nupdate delete www.{ZONE} A\nupdate add www.{ZONE} 300 A {value}\nsend\n",
        addr.ip(),
        addr.port()
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "nsupdate: {}", text(&out));
}

fn cutover_on(server: Server) {
    let Some(p) = Primary::start(server) else {
        return;
    };
    let env = env(&p);
    let snap = env.snapshot("ns", ZONE);
    assert_eq!(www(&p), ["192.0.2.1"]);
    env.ok(&["failover", "web", "--yes"]);
    assert_eq!(www(&p), ["198.51.100.1"], "{server:?}: failed over");
    // The server bumped the serial itself: no plan noise from it, the failover is the only
    // difference from the snapshot.
    let d = env.json(&["diff", &snap]);
    let changes = d["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{server:?}: {d}");
    assert!(changes[0].to_string().contains("www.example.test."), "{d}");

    // Someone else changes www: the failback refuses (drift, exit 3) and changes nothing.
    nsupdate_www(&p, "203.0.113.9");
    let o = env.run(&["failback", "web", "--stage", "next", "--yes"]);
    assert_eq!(o.status.code(), Some(3), "{server:?}: drift: {}", text(&o));
    assert_eq!(www(&p), ["203.0.113.9"], "{server:?}: not clobbered");
    // With --force it restores the snapshot exactly.
    env.ok(&["failback", "web", "--stage", "next", "--yes", "--force"]);
    assert_eq!(www(&p), ["192.0.2.1"]);
    assert!(
        env.identical_to(&snap),
        "{server:?}: the zone is the snapshot again"
    );
    assert_eq!(env.status("web")["state"], "restored");
}

#[test]
fn cutover_with_drift_and_exact_restore_on_knot() {
    cutover_on(Server::Knot);
}

#[test]
fn cutover_with_drift_and_exact_restore_on_bind() {
    cutover_on(Server::Bind);
}

/// An `nsupdate` lands between the failover's plan and its apply (the step is slowed at its
/// fault points): the apply is refused (the record is not what was planned against) and the
/// other change stays.
#[test]
fn a_concurrent_nsupdate_during_the_failover_is_not_clobbered() {
    for server in [Server::Knot, Server::Bind] {
        let Some(p) = Primary::start(server) else {
            continue;
        };
        let env = env(&p);
        let child = env
            .cmd(&["failover", "web", "--yes"])
            .env("SWITCHBACK_FAULT_DELAY_MS", "1500")
            .spawn()
            .unwrap();
        // The plan is made at once; the step then sleeps 1.5 s at its first fault point.
        std::thread::sleep(Duration::from_millis(700));
        nsupdate_www(&p, "203.0.113.7");
        let o = child.wait_with_output().unwrap();
        assert!(
            !o.status.success(),
            "{server:?}: the stale failover applied: {}",
            text(&o)
        );
        assert_eq!(
            www(&p),
            ["203.0.113.7"],
            "{server:?}: the other change stays"
        );
        let err = String::from_utf8_lossy(&o.stderr).to_lowercase();
        assert!(
            err.contains("conflict") || err.contains("changed"),
            "{server:?}: the refusal says why: {}",
            text(&o)
        );
    }
}

/// `snapshot` and `rollback` on each primary: whatever `nsupdate` changed since the snapshot is
/// put back exactly (values, TTLs, the added record removed).
#[test]
fn rollback_restores_the_snapshot_on_knot_and_bind() {
    for server in [Server::Knot, Server::Bind] {
        let Some(p) = Primary::start(server) else {
            continue;
        };
        let env = env(&p);
        let snap = env.snapshot("ns", ZONE);
        nsupdate_www(&p, "203.0.113.5");
        assert!(!env.identical_to(&snap));
        let o = env.run(&["rollback", &snap, "--yes"]);
        assert!(o.status.success(), "{server:?}: {}", text(&o));
        assert!(env.identical_to(&snap), "{server:?}: rolled back exactly");
        assert_eq!(www(&p), ["192.0.2.1"]);
    }
}
