//! The lease under crashes (DESIGN.md invariants 4 and 6): the holder killed with SIGKILL at a
//! random moment of a step is replaced at once by the next actor on the same host, which
//! resumes (or aborts) the step; a holder on another node is replaced only after 10 s without
//! a heartbeat; a live holder's heartbeat keeps its lease.

mod common;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use common::cli::{CliEnv, text};
use switchback::store::{LeaseRow, Store};

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi A 192.0.2.90\n";
const ORIGINAL: &str = "192.0.2.80";

const CUTOVER: &str = "[[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
     steering = \"weighted\"\nsoak = \"0s\"\nfailback_stages = [10, 50, 100]\n\
     [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n\
     [[cutover.record]]\nname = \"api.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.90\"]\n";

fn env() -> CliEnv {
    CliEnv::new(common::BIN, &[("example.com", ZONE)], CUTOVER)
}

fn store(env: &CliEnv) -> Store {
    Store::open(env.dir.path().join("state/state.db")).unwrap()
}

/// A pseudo-random number in `0..n` (no RNG crate: std's randomly keyed hasher).
fn random_below(n: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish() % n.max(1)
}

#[test]
fn kill_9_at_random_moments_then_the_next_actor_resumes_at_once() {
    let env = env();
    let first = env.snapshot("builtin", "example.com");
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for round in 0..12 {
        // The step: a failover from idle/restored, a failback stage when failed over.
        let st = env.status("web");
        let args: &[&str] = match st["state"].as_str().unwrap() {
            "failed-over" | "failing-back" => &["failback", "web", "--yes"],
            _ => &["failover", "web", "--yes"],
        };
        // Every fault point sleeps 60 ms, so a kill at a random moment lands between any two.
        let mut child = env
            .cmd(args)
            .env("SWITCHBACK_FAULT_DELAY_MS", "60")
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(random_below(300)));
        let killed = child.kill().is_ok();
        let o = child.wait_with_output().unwrap();
        let st = env.status("web");
        let interrupted = !st["intent"].is_null();
        let label = format!(
            "{} {}",
            args[0],
            if !killed || o.status.success() {
                "finished before the kill"
            } else if interrupted {
                "killed mid-step"
            } else {
                "killed before or after the step"
            }
        );
        *outcomes.entry(label).or_default() += 1;
        // The next actor, at once, without --wait: the dead holder's lease is no obstacle.
        let t = Instant::now();
        if interrupted {
            let o = env.run(&["resume", "web"]);
            assert!(o.status.success(), "round {round}: resume: {}", text(&o));
        } else if st["state"] == "idle" || st["state"] == "restored" {
            let o = env.run(&["failover", "web", "--yes"]);
            assert!(o.status.success(), "round {round}: failover: {}", text(&o));
        }
        assert!(
            t.elapsed() < Duration::from_secs(8),
            "round {round}: the next actor waited for the dead holder ({:?})",
            t.elapsed()
        );
        let st = env.status("web");
        assert!(st["intent"].is_null(), "round {round}: {st}");
        assert!(st["lease"].is_null(), "round {round}: lease left: {st}");
        // The snapshot of the cutover holds the original records.
        let id = st["snapshots"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(
            env.snapshot_values(&id, "www.example.com.", "A"),
            [ORIGINAL],
            "round {round}"
        );
        // Every third round ends with an abort: the zone is exactly as before the failover.
        if round % 3 == 2 && st["state"] != "restored" {
            env.ok(&["abort", "web", "--yes"]);
            assert_eq!(
                env.json(&["diff", &first])["identical"],
                true,
                "round {round}"
            );
        }
        if st["state"] == "restored" {
            assert_eq!(
                env.json(&["diff", &first])["identical"],
                true,
                "round {round}"
            );
        }
    }
    // No run is left running.
    let st = env.status("web");
    for r in st["runs"].as_array().unwrap() {
        assert_ne!(r["state"], "running", "{r}");
    }
    eprintln!("12 rounds: {outcomes:?}");
}

fn lease_row(host: &str, node: &str, pid: i64, heartbeat: SystemTime) -> LeaseRow {
    let t = humantime::format_rfc3339_micros(heartbeat).to_string();
    LeaseRow {
        name: "web".into(),
        token: "someone-elses-token".into(),
        node: node.into(),
        host: host.into(),
        pid,
        pid_start: String::new(),
        actor: "cli".into(),
        who: "ops@b".into(),
        acquired_at: t.clone(),
        heartbeat_at: t,
    }
}

#[test]
fn a_holder_on_another_node_expires_after_10_s_without_heartbeat() {
    let env = env();
    let store = store(&env);
    // Node b took the lease 9.3 s ago and has not beaten since: still its.
    let beat = SystemTime::now() - Duration::from_millis(9300);
    store
        .put_lease_row(&lease_row("host-b.example", "b", 4242, beat))
        .unwrap();
    let o = env.run(&["failover", "web", "--yes"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("busy: held by cli ops@b (pid 4242 on node b"),
        "{}",
        text(&o)
    );
    assert_eq!(env.status("web")["state"], "idle");
    // `cutover status` names the holder.
    let st = env.status("web");
    assert_eq!(st["lease"]["node"], "b", "{st}");
    // Past 10 s without a heartbeat: taken over.
    let left = (beat + Duration::from_millis(10_300))
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    std::thread::sleep(left);
    let o = env.run(&["failover", "web", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(env.status("web")["state"], "failed-over");
    assert!(
        env.status("web")["lease"].is_null(),
        "released after the step"
    );
    // A holder on another node that keeps beating keeps its lease; --wait waits for it.
    store
        .put_lease_row(&lease_row("host-b.example", "b", 4242, SystemTime::now()))
        .unwrap();
    let t = Instant::now();
    let o = env.run(&["failback", "web", "--yes", "--wait", "1s"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(t.elapsed() >= Duration::from_secs(1), "--wait waited");
    assert_eq!(env.status("web")["stage"], 0);
}

#[test]
fn a_dead_holder_on_this_host_is_replaced_at_once() {
    let env = env();
    let store = store(&env);
    // A process of this host that has exited (reaped): its pid is gone.
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = i64::from(gone.id());
    gone.wait().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    store
        .put_lease_row(&lease_row(&host, "a", pid, SystemTime::now()))
        .unwrap();
    let o = env.run(&["failover", "web", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    // A live process of this host (this test) with a fresh heartbeat: busy.
    store
        .put_lease_row(&lease_row(
            &host,
            "a",
            i64::from(std::process::id()),
            SystemTime::now(),
        ))
        .unwrap();
    let o = env.run(&["failback", "web", "--yes"]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_holder_keeps_its_lease_by_heartbeat() {
    use switchback::planner::cutover::{ActorKind, Holder, Lease};
    let env = env();
    let store = std::sync::Arc::new(store(&env));
    let me = Holder::me("a", ActorKind::Automation, "auto:health");
    let lease = Lease::acquire(&store, "web", &me, None).await.unwrap();
    let first = store.lease("web").unwrap().unwrap();
    assert_eq!(first.actor, "automation");
    // Another actor of this process is refused while it is held.
    let other = Holder::me("a", ActorKind::Webhook, "webhook:post-recovery");
    let e = Lease::acquire(&store, "web", &other, None)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("held by automation auto:health"),
        "{e}"
    );
    // The heartbeat moves on (every 2 s).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = store.lease("web").unwrap().unwrap();
    assert!(
        later.heartbeat_at > first.heartbeat_at,
        "{} -> {}",
        first.heartbeat_at,
        later.heartbeat_at
    );
    assert!(lease.check().is_ok());
    // Dropped: released; the other actor gets it.
    drop(lease);
    assert!(store.lease("web").unwrap().is_none());
    let _l = Lease::acquire(&store, "web", &other, None).await.unwrap();
    // Taken over behind its back (the row replaced): the holder notices at its next beat.
    store
        .put_lease_row(&lease_row("elsewhere", "z", 1, SystemTime::now()))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(_l.check().is_err(), "a lost lease is noticed");
}
