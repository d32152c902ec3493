//! The catalog zone (RFC 9432, version 2) against a real consumer: Knot configured once, with
//! only `catalog.switchback.` (`catalog-role: interpret`), follows the zones of the built-in
//! server: a zone file added to `zones/` (SIGHUP) is transferred and answered by Knot, a
//! removed one is dropped.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Question, Switchback, SwitchbackOptions, free_port};
use hickory_proto::rr::RecordType;

const EXAMPLE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\n";

fn start_knot(
    knotd: &std::path::Path,
    dir: &std::path::Path,
    port: u16,
    primary: SocketAddr,
) -> switchback_testsupport::knot::KnotProcess {
    let rest = format!(
        "{remote}\
         template:\n  - id: default\n    storage: \"{zones}\"\n    zonefile-sync: -1\n    \
         zonefile-load: none\n    journal-content: all\n  - id: member\n    storage: \"{zones}\"\n    zonefile-sync: -1\n    \
         zonefile-load: none\n    journal-content: all\n    master: switchback\n    \
         acl: notify_from_switchback\n\
         zone:\n  - domain: catalog.switchback.\n    master: switchback\n    \
         acl: notify_from_switchback\n    catalog-role: interpret\n    catalog-template: member\n",
        remote = switchback_testsupport::knot::primary_remote(primary, ""),
        zones = dir.join("zones").display(),
    );
    switchback_testsupport::knot::spawn(knotd, dir, port, &rest)
}

/// Knot's answer to `name` A: the values, or `None` when it does not serve the zone.
fn knot_a(knot: SocketAddr, name: &str) -> Option<Vec<String>> {
    let r = common::query(knot, &Question::new(name, RecordType::A)).ok()?;
    (r.rcode() == hickory_proto::op::ResponseCode::NoError).then(|| r.answer_rdata(RecordType::A))
}

fn wait_for(what: &str, log: &std::path::Path, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}; Knot's log:\n{}\n{}",
            std::fs::read_to_string(log).unwrap_or_default(),
            std::fs::read_to_string(log.with_file_name("knotd.stderr")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    t.elapsed()
}

#[test]
fn knot_follows_the_catalog_zone_as_zones_come_and_go() {
    let Some(knotd) = common::require_tool("knotd") else {
        return;
    };
    let zones = tempfile::tempdir().unwrap();
    std::fs::write(zones.path().join("example.com.zone"), EXAMPLE).unwrap();
    let knot_port = free_port();
    let knot_addr = SocketAddr::from(([127, 0, 0, 1], knot_port));
    let mut opts = SwitchbackOptions::new(zones.path());
    opts.extra_server_toml =
        format!("catalog = \"catalog.switchback.\"\nnotify = [\"{knot_addr}\"]\n");
    let sb = Switchback::start_with(opts);
    let knot_dir = tempfile::tempdir().unwrap();
    let _knot = start_knot(&knotd, knot_dir.path(), knot_port, sb.addr);
    let log = knot_dir.path().join("knot.log");

    // The catalog, then its one member.
    wait_for("Knot to serve example.com. from the catalog", &log, || {
        knot_a(knot_addr, "www.example.com.") == Some(vec!["192.0.2.80".into()])
    });

    // A zone added to the folder: into the catalog (serial + 1, NOTIFY), then into Knot.
    std::fs::write(
        zones.path().join("added.test.zone"),
        EXAMPLE
            .replace("example.com.", "added.test.")
            .replace("192.0.2.80", "198.51.100.9"),
    )
    .unwrap();
    sb.hup();
    let took = wait_for("Knot to serve the added zone", &log, || {
        knot_a(knot_addr, "www.added.test.") == Some(vec!["198.51.100.9".into()])
    });
    eprintln!("Knot served the added zone {took:?} after the SIGHUP");
    let catalog = sb
        .query(&Question::new("catalog.switchback.", RecordType::SOA))
        .unwrap()
        .answer_rdata(RecordType::SOA);
    assert!(
        catalog[0].contains(" 2 "),
        "the catalog's serial rose once: {catalog:?}"
    );

    // Removed: out of the catalog, and Knot drops it.
    std::fs::remove_file(zones.path().join("added.test.zone")).unwrap();
    sb.hup();
    let took = wait_for("Knot to drop the removed zone", &log, || {
        knot_a(knot_addr, "www.added.test.").is_none()
    });
    eprintln!("Knot dropped the removed zone {took:?} after the SIGHUP");
    // The first member is still there.
    assert_eq!(
        knot_a(knot_addr, "www.example.com."),
        Some(vec!["192.0.2.80".into()])
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("catalog"), "{text}");
}
