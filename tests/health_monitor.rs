//! The monitor: rise/fall through fake probes, transitions pushed to subscribers (and the
//! time from the deciding probe result to the subscriber seeing it), checks that never block
//! each other, timeouts recorded in the history, and real TCP checks going down and up.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchback::health::{
    CheckDef, HealthMonitor, HealthSpec, HealthState, Probe, ProbeFuture, Timing,
};

/// A probe whose outcome the test sets; it remembers when it last returned.
#[derive(Default)]
struct Fake {
    fail: AtomicBool,
    hang: AtomicBool,
    calls: AtomicU64,
    returned: Mutex<Option<Instant>>,
}

impl Probe for Fake {
    fn probe(&self) -> ProbeFuture<'_> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.hang.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            let fail = self.fail.load(Ordering::SeqCst);
            *self.returned.lock().unwrap() = Some(Instant::now());
            if fail {
                Err("fake failure".to_string())
            } else {
                Ok(())
            }
        })
    }
}

fn def(name: &str, probe: Arc<Fake>, interval_ms: u64, fall: u32, rise: u32) -> CheckDef {
    CheckDef {
        name: name.to_string(),
        check: format!("fake://{name}"),
        timing: Timing {
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(interval_ms / 2),
            fall,
            rise,
        },
        probe,
    }
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fall_rise_and_transition_latency() {
    let fake = Arc::new(Fake::default());
    let m = HealthMonitor::with_probes(vec![def("web", fake.clone(), 10, 3, 2)]).unwrap();
    let mut rx = m.subscribe();
    // The synchronous listener: the DNS server's path.
    let sync_lat: Arc<Mutex<Vec<Duration>>> = Arc::default();
    {
        let fake = fake.clone();
        let sync_lat = sync_lat.clone();
        m.on_transition(move |_t| {
            let r = fake.returned.lock().unwrap().unwrap();
            sync_lat.lock().unwrap().push(r.elapsed());
        });
    }
    assert_eq!(m.state("web"), Some(HealthState::Unknown));
    assert_eq!(m.state("nope"), None);
    m.start();

    let t = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((t.from, t.to), (HealthState::Unknown, HealthState::Up));
    let st = m.handle("web").unwrap().status();
    assert_eq!(st.ok_streak, 2, "Up after exactly rise = 2 successes");
    assert_eq!(st.history.len(), 2);
    assert_eq!(m.state("web"), Some(HealthState::Up));

    // Flip 40 times; each crossing is seen by the subscriber task.
    let mut lat = Vec::new();
    for i in 0..40 {
        let going_down = i % 2 == 0;
        let calls_before = fake.calls.load(Ordering::SeqCst);
        fake.fail.store(going_down, Ordering::SeqCst);
        let t = tokio::time::timeout(Duration::from_secs(2), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let seen = Instant::now();
        let returned = fake.returned.lock().unwrap().unwrap();
        lat.push(seen - returned);
        let want = if going_down {
            HealthState::Down
        } else {
            HealthState::Up
        };
        assert_eq!(t.to, want);
        assert_eq!(
            m.state("web"),
            Some(want),
            "the state is stored before the notification"
        );
        // It took exactly fall (3) or rise (2) probes of the new kind (the flag may have
        // been flipped during a probe, hence the +1).
        let needed = if going_down { 3 } else { 2 };
        let calls = fake.calls.load(Ordering::SeqCst) - calls_before;
        assert!(
            calls == needed || calls == needed + 1,
            "{i}: {calls} probes"
        );
        if going_down {
            assert_eq!(t.result.error.as_deref(), Some("fake failure"));
        }
    }
    let mut sync = sync_lat.lock().unwrap().clone();
    let (p50, p99, max) = (
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.99),
        *lat.iter().max().unwrap(),
    );
    let (s50, smax) = (percentile(&mut sync, 0.5), *sync.iter().max().unwrap());
    eprintln!(
        "probe result crossing fall/rise -> subscriber task: p50 {p50:?}, p99 {p99:?}, max {max:?} (n={}); \
         -> synchronous listener: p50 {s50:?}, max {smax:?} (n={})",
        lat.len(),
        sync.len()
    );
    assert!(p50 < Duration::from_millis(1), "p50 {p50:?}");
    assert!(s50 < Duration::from_millis(1), "sync p50 {s50:?}");

    // The history holds every result with its error text.
    let st = m.handle("web").unwrap().status();
    assert!(st.history.len() <= switchback::health::HISTORY);
    assert!(
        st.history
            .iter()
            .any(|h| h.error.as_deref() == Some("fake failure"))
    );
    assert!(st.since.is_some());
}

/// On tokio's paused clock: the second of probing is simulated, so the counts are exact and
/// the test takes no wall time.
#[tokio::test(start_paused = true)]
async fn a_hung_probe_blocks_nothing() {
    let slow = Arc::new(Fake::default());
    slow.hang.store(true, Ordering::SeqCst);
    let fast = Arc::new(Fake::default());
    let m = HealthMonitor::with_probes(vec![
        def("slow", slow.clone(), 400, 1, 1),
        def("fast", fast.clone(), 20, 1, 1),
    ])
    .unwrap();
    let mut rx = m.subscribe();
    m.start();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let fast_calls = fast.calls.load(Ordering::SeqCst);
    let slow_calls = slow.calls.load(Ordering::SeqCst);
    eprintln!(
        "in 1 s: fast check probed {fast_calls} times (20 ms interval), hung check {slow_calls} times (400 ms interval, 200 ms timeout)"
    );
    // Ticks at 0, 20, ..., 1000 ms (the last one at the same instant as the wake-up, so it
    // may or may not have run); the hung check at 0, 400 and 800 ms.
    assert!(
        (50..=51).contains(&fast_calls),
        "fast check kept its pace: {fast_calls}"
    );
    assert_eq!(slow_calls, 3, "hung check: one probe per interval");

    // The hung probe was cut at its timeout and recorded as such.
    let st = m.handle("slow").unwrap().status();
    assert_eq!(st.state, HealthState::Down);
    let last = st.last().unwrap();
    assert_eq!(last.error.as_deref(), Some("timed out after 200ms"));
    assert_eq!(
        last.latency,
        Duration::from_millis(200),
        "cut at its timeout"
    );
    let mut seen = Vec::new();
    while let Ok(t) = rx.try_recv() {
        seen.push((t.name.to_string(), t.to));
    }
    assert!(seen.contains(&("fast".to_string(), HealthState::Up)));
    assert!(seen.contains(&("slow".to_string(), HealthState::Down)));
    m.stop();
    let c = fast.calls.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        fast.calls.load(Ordering::SeqCst),
        c,
        "stop ends the probe tasks"
    );
}

#[tokio::test]
async fn watch_and_duplicates() {
    let fake = Arc::new(Fake::default());
    let m = HealthMonitor::with_probes(vec![def("a", fake.clone(), 20, 2, 2)]).unwrap();
    let h = m.handle("a").unwrap().clone();
    let mut w = h.watch();
    m.start();
    for n in 1..=3u64 {
        w.changed().await.unwrap();
        assert_eq!(
            w.borrow_and_update().probes,
            n,
            "the watch wakes on every result"
        );
    }
    assert_eq!(h.state(), HealthState::Up);
    assert_eq!(m.statuses().len(), 1);

    let dup = HealthMonitor::with_probes(vec![
        def("x", fake.clone(), 20, 1, 1),
        def("x", fake, 20, 1, 1),
    ]);
    assert_eq!(
        dup.err().unwrap().to_string(),
        "health check \"x\" is defined twice"
    );
}

/// Real TCP checks from specs: up while a listener accepts, down when it goes away, up again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_tcp_check_goes_down_and_up() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let spec = HealthSpec::from_toml(&format!(
        r#"check = "tcp://{addr}", interval = "100ms", timeout = "50ms", fall = 2, rise = 2"#
    ))
    .unwrap();
    let m = HealthMonitor::new(vec![("db".to_string(), spec)]).unwrap();
    let mut rx = m.subscribe();
    m.start();
    let t = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((t.from, t.to), (HealthState::Unknown, HealthState::Up));

    let closed = Instant::now();
    drop(l);
    let t = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((t.from, t.to), (HealthState::Up, HealthState::Down));
    let took = closed.elapsed();
    eprintln!("tcp listener closed -> Down in {took:?} (interval 100ms, fall 2)");
    assert!(took <= Duration::from_millis(350), "{took:?}");
    assert!(
        t.result.error.as_deref().unwrap().contains("refused"),
        "{:?}",
        t.result.error
    );

    let l = std::net::TcpListener::bind(addr).unwrap();
    let t = tokio::time::timeout(Duration::from_secs(2), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((t.from, t.to), (HealthState::Down, HealthState::Up));
    drop(l);
    let st = m.handle("db").unwrap().status();
    assert_eq!(st.check, format!("tcp://{addr}"));
    assert!(st.history.iter().all(|h| h.ok == h.error.is_none()));
}
