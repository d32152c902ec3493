//! Knot DNS as a secondary of the built-in server: it AXFRs the zone at start; a change
//! committed by another `Builtin` on the same state file (as `switchback rollback` would) is
//! picked up by the serving process, which NOTIFYs Knot, which pulls it by IXFR.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use switchback_api::tsig::{Algorithm, Key, Keyring};
use switchback_api::{Change, Provider};
use switchback_builtin::ServerOptions;
use switchback_builtin::acl::Acl;
use switchback_builtin::watch::Notify;
use switchback_testsupport::free_port;

use switchback_testsupport::knot::KnotProcess as Knot;

/// A TSIG key as Knot's config writes it: (name, algorithm, base64 secret).
type KnotKey<'a> = (&'a str, &'a str, &'a str);

/// Knot as a secondary of `primary`, listening on `port`; with `key`, transfers and NOTIFY
/// are signed with it (Knot refuses an unsigned NOTIFY and signs its requests).
fn start_knot(
    knotd: &Path,
    dir: &Path,
    primary: SocketAddr,
    port: u16,
    key: Option<KnotKey<'_>>,
) -> Knot {
    let (keys, key_line) = match key {
        Some((name, alg, secret)) => (
            format!("key:\n  - id: {name}\n    algorithm: {alg}\n    secret: {secret}\n"),
            format!("    key: {name}\n"),
        ),
        None => (String::new(), String::new()),
    };
    let rest = format!(
        "{keys}{remote}\
         template:\n  - id: default\n    storage: \"{zones}\"\n    zonefile-sync: -1\n    \
         zonefile-load: none\n    journal-content: changes\n\
         zone:\n  - domain: example.test.\n    master: switchback\n    acl: notify_from_switchback\n",
        remote = switchback_testsupport::knot::primary_remote(primary, &key_line),
        zones = dir.join("zones").display(),
    );
    switchback_testsupport::knot::spawn(knotd, dir, port, &rest)
}

/// Wait until Knot answers `name` A with `want`.
async fn wait_knot(
    knot: SocketAddr,
    name: &'static str,
    want: &'static str,
    log: &Path,
) -> Duration {
    let t = Instant::now();
    loop {
        let got = tokio::task::spawn_blocking(move || {
            a_answer_within(knot, name, Duration::from_millis(200))
        })
        .await
        .unwrap();
        if got == [want] {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "Knot never answered {name} A {want} (last: {got:?}); its log:\n{}",
            read(log)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_follows_by_notify_and_ixfr() {
    follow(None).await;
}

/// The same over TSIG: transfers are allowed by key only (no address is listed, so an
/// unsigned request is refused), NOTIFY is signed with the key (Knot's ACL wants it), and Knot
/// signs its SOA, AXFR and IXFR requests; every message of our answers is signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_follows_over_tsig() {
    for (alg, knot_alg) in [
        (Algorithm::HmacSha256, "hmac-sha256"),
        (Algorithm::HmacSha512, "hmac-sha512"),
    ] {
        follow(Some((alg, knot_alg))).await;
    }
}

const SECRET_B64: &str = "c3dpdGNoYmFjay10c2lnLXRlc3Qtc2VjcmV0LTMyYnl0ZXMh";

async fn follow(tsig: Option<(Algorithm, &str)>) {
    let Some(knotd) = program("knotd") else {
        return;
    };
    let d = Dirs::new();
    let knot_dir = d.tmp.path().join("knot");
    let server = Arc::new(d.open());
    // Knot's port is chosen before our server starts so that NOTIFY can name it.
    let port = free_port();
    let knot_addr = SocketAddr::from(([127, 0, 0, 1], port));
    let srv = match tsig {
        None => Serving::start(server.clone(), vec![knot_addr]).await,
        Some((alg, _)) => {
            let name: switchback_api::Name = "xfr.example.".parse().unwrap();
            let secret = switchback_api::rdata::codec::unbase64(SECRET_B64).unwrap();
            let key = Key::new(&name, alg, &secret);
            let opts = ServerOptions {
                udp_workers: 1,
                allow_transfer: Acl {
                    nets: Vec::new(),
                    keys: vec![name],
                },
                tsig: Arc::new(Keyring::new([key.clone()])),
                ..ServerOptions::default()
            };
            let notify = Notify {
                targets: vec![knot_addr],
                key: Some(key),
            };
            Serving::start_with(server.clone(), opts, notify).await
        }
    };
    if tsig.is_some() {
        // Without the key: refused (no address is listed).
        let addr = srv.addr;
        let (rc, records) = tokio::task::spawn_blocking(move || {
            tcp_transfer(addr, &query(7, "example.test.", 252))
        })
        .await
        .unwrap();
        assert_eq!(
            (rc, records.len()),
            (5, 0),
            "an unsigned AXFR must be REFUSED"
        );
    }
    let knot_key = tsig.map(|(_, a)| ("xfr.example.", a, SECRET_B64));
    let knot = start_knot(&knotd, &knot_dir, srv.addr, port, knot_key);
    let log = knot_dir.join("knot.log");

    // The first transfer (AXFR).
    let t = wait_knot(knot_addr, "www.example.test.", "192.0.2.1", &log).await;
    println!("Knot loaded the zone by AXFR after {t:?}");

    // A change from another "process".
    let cli = d.open();
    let t0 = Instant::now();
    cli.apply(
        &name("example.test."),
        &[
            Change::Update {
                before: a_set("www.example.test.", &["192.0.2.1"]),
                after: a_set("www.example.test.", &["198.51.100.7"]),
            },
            Change::Create {
                after: a_set("new.example.test.", &["198.51.100.8"]),
            },
        ],
    )
    .await
    .unwrap();
    wait_knot(knot_addr, "new.example.test.", "198.51.100.8", &log).await;
    let took = t0.elapsed();
    wait_knot(knot_addr, "www.example.test.", "198.51.100.7", &log).await;
    println!("Knot answered the new record {took:?} after the commit");
    assert!(
        took < Duration::from_secs(3),
        "Knot took {took:?}: NOTIFY did not trigger the refresh?"
    );
    let text = read(&log);
    let ixfr: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("IXFR, incoming"))
        .collect();
    assert!(
        ixfr.iter().any(|l| l.contains("finished")),
        "Knot's log shows no finished IXFR:\n{text}"
    );
    assert!(
        !text.contains("AXFR-style"),
        "Knot got the whole zone instead of an increment:\n{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.to_ascii_lowercase().contains("notify, incoming") && l.contains("serial 2")),
        "Knot's log shows no NOTIFY for serial 2:\n{text}"
    );
    assert!(
        text.contains("serial 1 -> 2"),
        "Knot's log shows no update from 1 to 2:\n{text}"
    );
    // Knot serves serial 2, like us.
    let m = tokio::task::spawn_blocking(move || udp_ask(knot_addr, 3, "example.test.", 6))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(soa_serial(&m.answers[0].to_string()), Some(2));
    println!(
        "Knot's log:\n{}",
        text.lines()
            .filter(|l| l.contains("[example.test.]"))
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    );
    drop(knot);
    srv.stop().await;
}
