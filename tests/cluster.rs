//! Several `serve` instances on one PostgreSQL state store (the server `tests/run` starts):
//! a change through any instance is answered by all of them at once; one leader acts, and when
//! it is killed (-9) while its primary's health check is failing, exactly one automatic
//! failover happens, by the next leader; an instance cut off from the database stops leading
//! and keeps answering from its last zones.

mod common;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cli::Endpoint;
use common::{Question, Switchback, SwitchbackOptions, free_port};
use hickory_proto::rr::RecordType;
use serde_json::Value;
use switchback::store::Store;
use switchback_testsupport::postgres::TestDatabase;
use switchback_testsupport::wait::wait_for;

const TOKEN: &str = "cluster-test-token";

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\n";

/// How instance `node` starts: the test database as its store (password in PGPASSWORD), its
/// own DNS port and API on `api` (token [`TOKEN`]), unsigned UPDATEs from loopback.
fn node_options(
    zones: &std::path::Path,
    pg: &TestDatabase,
    node: &str,
    api: u16,
) -> SwitchbackOptions {
    let mut opts = SwitchbackOptions::new(zones);
    opts.state = Some(pg.url.clone());
    opts.env = vec![
        ("PGPASSWORD".into(), pg.password.clone()),
        ("SB_API_TOKEN".into(), TOKEN.into()),
    ];
    opts.extra_server_toml =
        format!("node = \"{node}\"\napi = \"127.0.0.1:{api}\"\nallow_update = [\"127.0.0.0/8\"]\n");
    opts.extra_toml = "[api]\ntoken_env = \"SB_API_TOKEN\"\n".into();
    opts
}

/// One instance: node `node` on the test database, its own DNS and API ports.
fn instance(zones: &std::path::Path, pg: &TestDatabase, node: &str, extra: &str) -> Switchback {
    instance_api(zones, pg, node, extra, free_port())
}

fn instance_api(
    zones: &std::path::Path,
    pg: &TestDatabase,
    node: &str,
    extra: &str,
    api: u16,
) -> Switchback {
    let mut opts = node_options(zones, pg, node, api);
    opts.extra_toml = format!("{extra}\n{}", opts.extra_toml);
    Switchback::start_with(opts)
}

fn zones_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("example.com.zone"), ZONE).unwrap();
    d
}

fn a(sb: &Switchback, name: &str) -> Vec<String> {
    sb.query(&Question::new(name, RecordType::A))
        .map(|r| r.answer_rdata(RecordType::A))
        .unwrap_or_default()
}

/// `cutover status --json` through instance `sb`'s config.
fn status(sb: &Switchback, pg: &TestDatabase) -> Value {
    let o = Command::new(common::BIN)
        .arg("-c")
        .arg(&sb.config)
        .args(["--json", "cutover", "status", "web"])
        .env("PGPASSWORD", &pg.password)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// An unsigned RFC 2136 UPDATE (the instances allow 127.0.0.0/8) with nsupdate.
fn nsupdate(sb: &Switchback, script: &str) {
    let Some(tool) = common::peers::tool("nsupdate") else {
        return;
    };
    let mut child = Command::new(tool)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let full = format!(
        "server 127.0.0.1 {}\nzone example.com.\n{script}\nsend\n",
        sb.port
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(full.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "nsupdate: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_change_through_any_instance_is_answered_by_all_within_100_ms() {
    let Some(pg) = TestDatabase::create() else {
        return;
    };
    let zones = zones_dir();
    let nodes: Vec<Switchback> = ["a", "b", "c"]
        .iter()
        .map(|n| instance(zones.path(), &pg, n, ""))
        .collect();
    let mut lags = Vec::new();
    for round in 0..9 {
        let via = &nodes[round % 3];
        let value = format!("198.51.100.{}", round + 1);
        nsupdate(
            via,
            &format!("update delete www.example.com. A\nupdate add www.example.com. 300 A {value}"),
        );
        // The instance that took the UPDATE serves it when it answers; the others follow.
        assert_eq!(
            a(via, "www.example.com."),
            [value.as_str()],
            "round {round}"
        );
        let t = Instant::now();
        for other in &nodes {
            wait_for(
                "the change on every instance",
                Duration::from_secs(5),
                || a(other, "www.example.com.") == [value.as_str()],
            );
        }
        lags.push(t.elapsed());
        // One serial per change, whichever instance made it: all three agree.
        let serials: Vec<Vec<String>> = nodes
            .iter()
            .map(|n| {
                n.query(&Question::new("example.com.", RecordType::SOA))
                    .unwrap()
                    .answer_rdata(RecordType::SOA)
            })
            .collect();
        assert!(serials.windows(2).all(|w| w[0] == w[1]), "{serials:?}");
    }
    lags.sort();
    let median = lags[lags.len() / 2];
    eprintln!(
        "pickup by all three instances: median {median:?}, max {:?}",
        lags[lags.len() - 1]
    );
    assert!(
        median <= Duration::from_millis(100),
        "median pickup {median:?}"
    );
    // One history: a store reader sees exactly the nine serial changes, in order.
    let store = Store::open(pg.location()).unwrap();
    assert_eq!(store.nodes().unwrap().len(), 3);
}

fn web_cutover(port: u16) -> String {
    format!(
        "[[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
         steering = \"failover\"\nhold_down = \"1m\"\nauto_failover = true\n\
         health = {{ check = \"tcp://127.0.0.1:{port}\", interval = \"300ms\", timeout = \"200ms\", fall = 4, rise = 1 }}\n\
         [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n"
    )
}

fn leader_of(nodes: &[Switchback], pg: &TestDatabase) -> String {
    let mut leader = String::new();
    wait_for("a leader", Duration::from_secs(10), || {
        leader = status(&nodes[0], pg)["leader"]
            .as_str()
            .unwrap_or("")
            .to_string();
        ["a", "b", "c"].contains(&leader.as_str())
    });
    leader
}

#[test]
fn killing_the_leader_while_its_primary_fails_gives_exactly_one_failover_by_the_next() {
    let Some(pg) = TestDatabase::create() else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let primary = Endpoint::start(listener);
    let zones = zones_dir();
    let names = ["a", "b", "c"];
    let mut nodes: Vec<Switchback> = names
        .iter()
        .map(|n| instance(zones.path(), &pg, n, &web_cutover(port)))
        .collect();
    let leader = leader_of(&nodes, &pg);
    let li = names.iter().position(|n| *n == leader).unwrap();
    // Every node sees the primary up first.
    let store = Store::open(pg.location()).unwrap();
    wait_for("every node's view: up", Duration::from_secs(10), || {
        let rows = store.nodes().unwrap();
        rows.len() == 3
            && rows
                .iter()
                .all(|r| r.health.get("web").is_some_and(|s| s == "up"))
    });

    // The primary dies; the leader is killed before its check can fall (4 x 300 ms).
    drop(primary);
    nodes[li].kill9();
    let killed = Instant::now();
    let others: Vec<usize> = (0..3).filter(|i| *i != li).collect();
    let took = wait_for("the automatic failover", Duration::from_secs(10), || {
        status(&nodes[others[0]], &pg)["state"] == "failed-over"
    });
    let since_kill = killed.elapsed();
    eprintln!("failover by the next leader {since_kill:?} after the kill -9 ({took:?} polled)");
    assert!(since_kill <= Duration::from_secs(10));
    for &i in &others {
        wait_for("the recovery answer", Duration::from_secs(5), || {
            a(&nodes[i], "www.example.com.") == ["198.51.100.80"]
        });
    }
    // Exactly one failover, and never again (the lease and the run journal say so).
    std::thread::sleep(Duration::from_secs(3));
    let runs = store.cutover_runs("web").unwrap();
    let failovers: Vec<_> = runs.iter().filter(|r| r.kind == "failover").collect();
    assert_eq!(failovers.len(), 1, "{runs:#?}");
    let new_leader = leader_of(&nodes[others[0]..=others[0]], &pg);
    assert_ne!(new_leader, leader);
    let audit = store.audit_log(50).unwrap();
    let by: Vec<&str> = audit
        .iter()
        .filter(|e| e.entry.actor.starts_with("auto:health@"))
        .map(|e| e.entry.actor.as_str())
        .collect();
    assert!(!by.is_empty(), "{audit:#?}");
    assert!(
        by.iter().all(|a| *a == format!("auto:health@{new_leader}")),
        "acted by {by:?}, leader {new_leader}, killed {leader}"
    );
}

#[test]
fn an_instance_cut_off_from_the_database_stops_leading_and_keeps_serving() {
    let Some(pg) = TestDatabase::create() else {
        return;
    };
    // The primary stays up: nothing fails over here.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _primary = Endpoint::start(listener);
    let zones = zones_dir();
    let names = ["a", "b", "c"];
    let apis: Vec<u16> = names.iter().map(|_| free_port()).collect();
    let nodes: Vec<Switchback> = names
        .iter()
        .zip(&apis)
        .map(|(n, api)| instance_api(zones.path(), &pg, n, &web_cutover(port), *api))
        .collect();
    let leader = leader_of(&nodes, &pg);
    let li = names.iter().position(|n| *n == leader).unwrap();
    let other = (li + 1) % 3;
    // Every instance shows the same leader and the others' views: /v1/nodes and /metrics.
    for port in &apis {
        let (code, body) =
            switchback_testsupport::http::request_with(*port, "GET", "/v1/nodes", Some(TOKEN))
                .unwrap();
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["leader"], leader.as_str(), "{v}");
        assert_eq!(v["nodes"].as_array().unwrap().len(), 3, "{v}");
        let (_, metrics) = switchback_testsupport::http::request(*port, "GET", "/metrics").unwrap();
        assert!(
            metrics.contains(&format!("switchback_leader{{node=\"{leader}\"}} 1")),
            "{metrics}"
        );
    }
    // Cut: every connection of the leader's is ended, again and again, for 4 s.
    let cut = Instant::now();
    let mut ended = 0;
    let mut moved = None;
    while cut.elapsed() < Duration::from_secs(4) {
        ended += pg.cut_off(&format!("switchback {leader}"));
        // It answers from its last zones all the while.
        assert_eq!(a(&nodes[li], "www.example.com."), ["192.0.2.80"]);
        if moved.is_none() {
            let now = status(&nodes[other], &pg)["leader"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if now != leader && names.contains(&now.as_str()) {
                moved = Some((now, cut.elapsed()));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(ended > 0, "no connection of {leader} was found to cut");
    let (now, after) = moved.expect("another instance took the lead during the cut");
    eprintln!(
        "lead moved from {leader} to {now} {after:?} after the cut ({ended} connections ended)"
    );
    assert!(after <= Duration::from_secs(10));
    let log = std::fs::read_to_string(&nodes[li].log).unwrap();
    assert!(log.contains("no longer the leader"), "{log}");
}

/// `quorum = 2`: one instance that sees the primary down is not enough, whoever leads; when a
/// second one sees it down too, the leader fails it over.
#[test]
fn a_failover_waits_for_the_quorum_of_health_views() {
    let Some(pg) = TestDatabase::create() else {
        return;
    };
    // Node a probes a primary that is down from the start; b and c probe one that is up.
    let dead = free_port();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let up = listener.local_addr().unwrap().port();
    let primary = Endpoint::start(listener);
    let zones = zones_dir();
    let nodes: Vec<Switchback> = [("a", dead), ("b", up), ("c", up)]
        .iter()
        .map(|(n, port)| {
            let mut opts = node_options(zones.path(), &pg, n, free_port());
            opts.extra_server_toml.push_str("quorum = 2\n");
            opts.extra_toml = format!("{}\n{}", web_cutover(*port), opts.extra_toml);
            Switchback::start_with(opts)
        })
        .collect();
    let store = Store::open(pg.location()).unwrap();
    wait_for("a down, b and c up", Duration::from_secs(10), || {
        let rows = store.nodes().unwrap();
        let view = |n: &str| {
            rows.iter()
                .find(|r| r.node == n)
                .and_then(|r| r.health.get("web").cloned())
                .unwrap_or_default()
        };
        view("a") == "down" && view("b") == "up" && view("c") == "up"
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        status(&nodes[1], &pg)["state"],
        "idle",
        "one view of three acted"
    );
    assert!(store.cutover_runs("web").unwrap().is_empty());
    // Now b and c see it down too.
    drop(primary);
    let took = wait_for(
        "the failover on the quorum",
        Duration::from_secs(10),
        || status(&nodes[1], &pg)["state"] == "failed-over",
    );
    eprintln!("failover {took:?} after the primary fell for the quorum");
    let failovers = store
        .cutover_runs("web")
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "failover")
        .count();
    assert_eq!(failovers, 1);
}

/// The leader dies half-way through an automatic failover (a fault point aborts it after the
/// intent is stored, as kill -9 would): the next leader finishes that step (`resume`), and no
/// second failover starts.
#[test]
fn an_automatic_failover_cut_short_by_the_leaders_death_is_finished_by_the_next() {
    let Some(pg) = TestDatabase::create() else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let primary = Endpoint::start(listener);
    let zones = zones_dir();
    let names = ["a", "b", "c"];
    let mut nodes: Vec<Switchback> = names
        .iter()
        .map(|n| {
            let mut opts = node_options(zones.path(), &pg, n, free_port());
            opts.env
                .push(("SWITCHBACK_FAULT".into(), "failover:after-intent".into()));
            opts.extra_toml = format!("{}\n{}", web_cutover(port), opts.extra_toml);
            Switchback::start_with(opts)
        })
        .collect();
    let leader = leader_of(&nodes, &pg);
    let li = names.iter().position(|n| *n == leader).unwrap();
    drop(primary);
    wait_for(
        "the leader to die half-way",
        Duration::from_secs(10),
        || !nodes[li].is_running(),
    );
    let other = (li + 1) % 3;
    // Someone tries a failover meanwhile: refused (a step is interrupted), it takes the dead
    // holder's lease and gives it back. The next leader still knows the step is automation's.
    let o = Command::new(common::BIN)
        .arg("-c")
        .arg(&nodes[other].config)
        .args(["failover", "web", "--yes"])
        .env("PGPASSWORD", &pg.password)
        .env_remove("SWITCHBACK_FAULT")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let took = wait_for(
        "the next leader to finish it",
        Duration::from_secs(20),
        || status(&nodes[other], &pg)["state"] == "failed-over",
    );
    eprintln!("the interrupted failover was finished {took:?} after the leader died");
    assert_eq!(a(&nodes[other], "www.example.com."), ["198.51.100.80"]);
    std::thread::sleep(Duration::from_secs(2));
    let store = Store::open(pg.location()).unwrap();
    let runs = store.cutover_runs("web").unwrap();
    let kinds: Vec<&str> = runs.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "failover").count(),
        1,
        "one failover, never a second: {kinds:?}"
    );
    // The one run was finished by the resume, which its journal records.
    let run = &runs[0];
    assert_eq!(run.state, switchback::store::RunState::Done, "{run:#?}");
    let journal = store.journal_entries(run.id).unwrap();
    assert!(
        journal.iter().any(|e| e
            .detail
            .to_string()
            .contains("resuming the failover step interrupted")),
        "{journal:#?}"
    );
    let st = status(&nodes[other], &pg);
    assert_eq!(st["snapshots"].as_array().unwrap().len(), 1, "{st}");
    assert!(st["intent"].is_null(), "{st}");
}

/// Each instance reconciles its own zone folder: one that starts with an empty folder drops
/// nothing the others serve; a file removed where it was seen removes its zone everywhere.
#[test]
fn zone_folders_of_several_instances_do_not_fight() {
    let Some(pg) = TestDatabase::create() else {
        return;
    };
    let zones = zones_dir();
    let a_node = instance(zones.path(), &pg, "a", "");
    let empty = tempfile::tempdir().unwrap();
    let mut opts = node_options(empty.path(), &pg, "b", free_port());
    opts.ready_zones = Some(vec!["example.com.".into()]);
    let b_node = Switchback::start_with(opts);
    b_node.hup();
    std::thread::sleep(Duration::from_millis(500));
    for n in [&a_node, &b_node] {
        assert_eq!(a(n, "www.example.com."), ["192.0.2.80"]);
    }
    // Removed where it was seen: gone from both.
    std::fs::remove_file(zones.path().join("example.com.zone")).unwrap();
    a_node.hup();
    wait_for("the zone to leave both", Duration::from_secs(5), || {
        a(&a_node, "www.example.com.").is_empty() && a(&b_node, "www.example.com.").is_empty()
    });
}
