//! IXFR (RFC 1995) from the change history, and AXFR, with a hand-made client and with
//! kdig/dig.

mod common;

use std::sync::Arc;

use common::*;
use switchback_api::{Change, Provider, RType, RecordSet};

const SOA: &str = "example.test. 300 IN SOA ns.example.test. hostmaster.example.test.";

fn soa(serial: u32) -> String {
    format!("{SOA} {serial} 3600 600 86400 60")
}

/// A server whose zone went through serials 1 -> 2 -> 3 -> 4.
async fn three_changes() -> (Dirs, Arc<switchback_builtin::Builtin>, Serving) {
    three_changes_in(Dirs::new()).await
}

/// The same on the store of `d`.
async fn three_changes_in(d: Dirs) -> (Dirs, Arc<switchback_builtin::Builtin>, Serving) {
    let b = Arc::new(d.open());
    move_www(&b, "192.0.2.2").await;
    b.apply(
        &name("example.test."),
        &[Change::Create {
            after: a_set("mail.example.test.", &["192.0.2.25"]),
        }],
    )
    .await
    .unwrap();
    b.apply(
        &name("example.test."),
        &[Change::Delete {
            before: a_set("mail.example.test.", &["192.0.2.25"]),
        }],
    )
    .await
    .unwrap();
    let srv = Serving::start(b.clone(), Vec::new()).await;
    (d, b, srv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixfr_over_tcp() {
    ixfr_over_tcp_on(Dirs::new()).await;
}

/// The history is the store's: the same deltas from a PostgreSQL store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixfr_over_tcp_on_postgres() {
    if let Some(d) = Dirs::postgres() {
        ixfr_over_tcp_on(d).await;
    }
}

async fn ixfr_over_tcp_on(d: Dirs) {
    let (_d, _b, srv) = three_changes_in(d).await;
    let addr = srv.addr;
    tokio::task::spawn_blocking(move || {
        // Up to date (or newer): the current SOA alone.
        for client in [4, 10] {
            let (rc, recs) = tcp_transfer(addr, &ixfr_query(1, "example.test.", client));
            assert_eq!((rc, recs), (0, vec![soa(4)]), "client at {client}");
        }
        // From 2: two deltas.
        let (rc, recs) = tcp_transfer(addr, &ixfr_query(2, "example.test.", 2));
        assert_eq!(rc, 0);
        assert_eq!(
            recs,
            [
                soa(4),
                soa(2),
                soa(3),
                "mail.example.test. 300 IN A 192.0.2.25".to_string(),
                soa(3),
                "mail.example.test. 300 IN A 192.0.2.25".to_string(),
                soa(4),
                soa(4),
            ]
        );
        // From 1: three deltas, the first moving www.
        let (_, recs) = tcp_transfer(addr, &ixfr_query(3, "example.test.", 1));
        assert_eq!(
            &recs[..5],
            [
                soa(4),
                soa(1),
                "www.example.test. 300 IN A 192.0.2.1".to_string(),
                soa(2),
                "www.example.test. 300 IN A 192.0.2.2".to_string(),
            ]
        );
        assert_eq!(recs.len(), 12);
        // A serial the history does not reach: the whole zone, AXFR style.
        let (rc, recs) = tcp_transfer(addr, &ixfr_query(4, "example.test.", 0));
        assert_eq!(rc, 0);
        assert_eq!(recs.first(), Some(&soa(4)));
        assert_eq!(recs.last(), Some(&soa(4)));
        assert_eq!(recs.len(), 5, "{recs:?}");
        assert!(recs.contains(&"www.example.test. 300 IN A 192.0.2.2".to_string()));
        // AXFR still works.
        let (rc, recs) = tcp_transfer(addr, &query(5, "example.test.", 252));
        assert_eq!(rc, 0);
        assert_eq!(recs.len(), 5);
        // An IXFR without the client's SOA is malformed.
        let (rc, recs) = tcp_transfer(addr, &query(6, "example.test.", 251));
        assert_eq!((rc, recs.len()), (1, 0));
    })
    .await
    .unwrap();
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixfr_over_udp_answers_the_soa() {
    let (_d, _b, srv) = three_changes().await;
    let addr = srv.addr;
    tokio::task::spawn_blocking(move || {
        let m = udp_ask_raw(addr, &ixfr_query(9, "example.test.", 2)).unwrap();
        assert_eq!(m.metadata.id, 9);
        assert!(m.metadata.authoritative);
        let recs: Vec<String> = m.answers.iter().map(|r| r.to_string()).collect();
        assert_eq!(recs, [soa(4)]);
        // Ordinary queries on the same socket path are unaffected.
        assert_eq!(a_answer(addr, "www.example.test."), ["192.0.2.2"]);
    })
    .await
    .unwrap();
    srv.stop().await;
}

/// The history survives a restart: IXFR is still incremental.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixfr_after_a_restart() {
    ixfr_after_a_restart_on(Dirs::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixfr_after_a_restart_on_postgres() {
    if let Some(d) = Dirs::postgres() {
        ixfr_after_a_restart_on(d).await;
    }
}

async fn ixfr_after_a_restart_on(d: Dirs) {
    let (d, b, srv) = three_changes_in(d).await;
    srv.stop().await;
    drop(b);
    let b = Arc::new(d.open());
    let srv = Serving::start(b, Vec::new()).await;
    let addr = srv.addr;
    let (_, recs) =
        tokio::task::spawn_blocking(move || tcp_transfer(addr, &ixfr_query(1, "example.test.", 3)))
            .await
            .unwrap();
    assert_eq!(recs.len(), 5, "{recs:?}");
    assert_eq!(recs[1], soa(3));
    srv.stop().await;
}

/// A change that removes and adds more records than the zone then holds is kept as a gap (as
/// BIND's max-ixfr-ratio of 100 %): IXFR from a serial before it is answered with the whole
/// zone, IXFR from after it with the deltas after it; made by the serving process or by a CLI
/// process whose change the server picks up from the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ixfr_across_a_change_bigger_than_the_zone_sends_the_whole_zone() {
    for by_cli in [false, true] {
        let d = Dirs::new();
        let b = Arc::new(d.open());
        move_www(&b, "192.0.2.2").await; // 1 -> 2: a delta
        let set = |owner: &str, rtype: RType, data: &str| {
            RecordSet::new(name(owner), rtype, 300, [data.to_string()])
        };
        // 2 -> 3: seven records out and in, five in the zone after.
        let big = [
            Change::Update {
                before: a_set("www.example.test.", &["192.0.2.2"]),
                after: a_set("www.example.test.", &["192.0.2.3"]),
            },
            Change::Update {
                before: a_set("ns.example.test.", &["192.0.2.53"]),
                after: a_set("ns.example.test.", &["192.0.2.54"]),
            },
            Change::Update {
                before: set("example.test.", RType::NS, "ns.example.test."),
                after: set("example.test.", RType::NS, "ns2.example.test."),
            },
            Change::Create {
                after: a_set("ns2.example.test.", &["192.0.2.55"]),
            },
        ];
        if by_cli {
            d.open_cli()
                .apply(&name("example.test."), &big)
                .await
                .unwrap();
            let s = b.clone();
            tokio::task::spawn_blocking(move || s.refresh())
                .await
                .unwrap()
                .unwrap();
        } else {
            b.apply(&name("example.test."), &big).await.unwrap();
        }
        move_www(&b, "192.0.2.4").await; // 3 -> 4: a delta again
        let srv = Serving::start(b.clone(), Vec::new()).await;
        let addr = srv.addr;
        tokio::task::spawn_blocking(move || {
            for client in [1, 2] {
                let (rc, recs) = tcp_transfer(addr, &ixfr_query(1, "example.test.", client));
                assert_eq!(rc, 0);
                assert_eq!(
                    recs.len(),
                    6,
                    "the whole zone from {client} ({by_cli}): {recs:?}"
                );
                assert_eq!((recs.first(), recs.last()), (Some(&soa(4)), Some(&soa(4))));
                assert!(recs.contains(&"ns2.example.test. 300 IN A 192.0.2.55".to_string()));
            }
            let (_, recs) = tcp_transfer(addr, &ixfr_query(2, "example.test.", 3));
            assert_eq!(
                recs,
                [
                    soa(4),
                    soa(3),
                    "www.example.test. 300 IN A 192.0.2.3".to_string(),
                    soa(4),
                    "www.example.test. 300 IN A 192.0.2.4".to_string(),
                    soa(4),
                ],
                "incremental after the gap ({by_cli})"
            );
        })
        .await
        .unwrap();
        srv.stop().await;
    }
}

fn run(cmd: &std::path::Path, args: &[String]) -> String {
    let o = std::process::Command::new(cmd).args(args).output().unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Record lines of a dig/kdig listing, whitespace-normalized.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kdig_and_dig_ixfr() {
    let (_d, _b, srv) = three_changes().await;
    let (port, addr) = (srv.addr.port(), srv.addr);
    let kdig = program("kdig");
    let dig = program("dig");
    if kdig.is_none() && dig.is_none() {
        // Both named in SWITCHBACK_SKIP_PEERS (said on stderr by the lookup).
        srv.stop().await;
        return;
    }
    let want_from_2 = vec![
        soa(4),
        soa(2),
        soa(3),
        "mail.example.test. 300 IN A 192.0.2.25".to_string(),
        soa(3),
        "mail.example.test. 300 IN A 192.0.2.25".to_string(),
        soa(4),
        soa(4),
    ];
    tokio::task::spawn_blocking(move || {
        if let Some(kdig) = kdig {
            let out = run(
                &kdig,
                &[
                    "@127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                    "+tcp".into(),
                    "-t".into(),
                    "IXFR=2".into(),
                    "example.test.".into(),
                ],
            );
            assert_eq!(lines(&out), want_from_2, "kdig:\n{out}");
            let out = run(
                &kdig,
                &[
                    "@127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                    "-t".into(),
                    "AXFR".into(),
                    "example.test.".into(),
                ],
            );
            assert_eq!(lines(&out).len(), 5, "kdig AXFR:\n{out}");
        }
        if let Some(dig) = dig {
            let out = run(
                &dig,
                &[
                    "@127.0.0.1".into(),
                    "-p".into(),
                    port.to_string(),
                    "+tcp".into(),
                    "example.test.".into(),
                    "IXFR=2".into(),
                ],
            );
            assert_eq!(lines(&out), want_from_2, "dig:\n{out}");
        }
        let _ = addr;
    })
    .await
    .unwrap();
    srv.stop().await;
}
