//! Faults: a small HTTP proxy in front of ministack answers chosen requests with `Throttling`,
//! `PriorRequestNotComplete`, a 500, or a stalled connection (before or after passing the
//! request on). The apply still completes, every change batch reaches ministack exactly once
//! (a batch whose answer was lost is found applied by reading the zone, not sent again), and
//! the requests respect `rate`.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Kind;
use switchback_api::plan::{self, DiffOptions};
use switchback_api::{Name, Provider, RType, RecordSet, Zone};
use switchback_route53::{Route53, Tuning};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Throttling,
    PriorRequestNotComplete,
    /// 500 without passing the request on.
    Status500,
    /// Pass the request on, answer 500: applied, but the client cannot know.
    ForwardThen500,
    /// Never answer, without passing the request on.
    Stall,
    /// Pass the request on, then never answer.
    ForwardThenStall,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Change,
    List,
    GetChange,
    Other,
}

#[derive(Default)]
struct State {
    /// (op, nth request of that op from 1) -> fault
    faults: HashMap<(Op, usize), Fault>,
    seen: HashMap<Op, usize>,
    /// Every request: (op, fault, forwarded to ministack)
    log: Vec<(Op, Option<Fault>, bool)>,
}

struct Proxy {
    port: u16,
    state: Arc<Mutex<State>>,
}

fn op_of(method: &str, path: &str) -> Op {
    let p = path.split('?').next().unwrap_or(path).trim_end_matches('/');
    if p.ends_with("/rrset") {
        if method == "POST" {
            Op::Change
        } else {
            Op::List
        }
    } else if p.contains("/change/") {
        Op::GetChange
    } else {
        Op::Other
    }
}

fn error_body(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
    )
}

fn response(status: u16, reason: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nx-amzn-RequestId: fault-proxy\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Read one HTTP/1.1 request (headers + Content-Length body); `None` at end of stream.
async fn read_request(s: &mut TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let first = lines.next()?.to_string();
    let mut parts = first.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    // Ask ministack to close after answering, so reading to the end gives the response.
    let mut out = Vec::new();
    for (i, line) in head.split("\r\n").enumerate() {
        if line.is_empty() {
            continue;
        }
        if i > 0 && line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&buf[head_end..head_end + len]);
    Some((method, path, out))
}

async fn forward(upstream: u16, request: &[u8]) -> Vec<u8> {
    let mut u = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
    u.write_all(request).await.unwrap();
    let mut resp = Vec::new();
    u.read_to_end(&mut resp).await.unwrap();
    resp
}

impl Proxy {
    async fn start(upstream: u16, faults: &[(Op, usize, Fault)]) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            faults: faults.iter().map(|(o, n, f)| ((*o, *n), *f)).collect(),
            ..State::default()
        }));
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    while let Some((method, path, request)) = read_request(&mut conn).await {
                        let op = op_of(&method, &path);
                        let fault = {
                            let mut s = st.lock().unwrap();
                            let n = s.seen.entry(op).or_default();
                            *n += 1;
                            let n = *n;
                            s.faults.get(&(op, n)).copied()
                        };
                        let forwarded = matches!(
                            fault,
                            None | Some(Fault::ForwardThen500 | Fault::ForwardThenStall)
                        );
                        let upstream_answer = if forwarded {
                            Some(forward(upstream, &request).await)
                        } else {
                            None
                        };
                        st.lock().unwrap().log.push((op, fault, forwarded));
                        let answer = match fault {
                            None => upstream_answer.unwrap(),
                            Some(Fault::Throttling) => response(
                                400,
                                "Bad Request",
                                &error_body("Throttling", "Rate exceeded"),
                            ),
                            Some(Fault::PriorRequestNotComplete) => response(
                                400,
                                "Bad Request",
                                &error_body(
                                    "PriorRequestNotComplete",
                                    "The request was rejected because Route 53 was still processing a prior request.",
                                ),
                            ),
                            Some(Fault::Status500 | Fault::ForwardThen500) => response(
                                500,
                                "Internal Server Error",
                                &error_body("InternalFailure", "fault proxy"),
                            ),
                            Some(Fault::Stall | Fault::ForwardThenStall) => {
                                tokio::time::sleep(Duration::from_secs(120)).await;
                                return;
                            }
                        };
                        if conn.write_all(&answer).await.is_err() {
                            return;
                        }
                        // The upstream answer says `Connection: close`; keep the client's
                        // connection open all the same (it may send the next request on it).
                    }
                });
            }
        });
        Proxy { port, state }
    }

    fn log(&self) -> Vec<(Op, Option<Fault>, bool)> {
        self.state.lock().unwrap().log.clone()
    }
}

fn sets(zone: &Name, n: usize) -> Vec<RecordSet> {
    (0..n)
        .map(|i| {
            RecordSet::new(
                Name::parse(&format!("f{i:04}"), Some(zone)).unwrap(),
                RType::A,
                60,
                [format!("10.1.{}.{}", i / 256, i % 256)],
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_are_retried_nothing_is_applied_twice_and_rate_holds() {
    let Some(emu) = common::Emulator::start(Kind::Ministack) else {
        return;
    };
    let zone = common::unique_zone("faults");
    common::create_zone(&common::sdk(&emu.endpoint()), &zone, None).await;
    use Fault::*;
    let proxy = Proxy::start(
        emu.port,
        &[
            (Op::Other, 1, Throttling), // ListHostedZonesByName
            (Op::List, 1, Throttling),
            (Op::List, 2, Status500),
            (Op::List, 3, Stall),
            // Batch 1: refused twice, then applied with the answer lost (500).
            (Op::Change, 1, PriorRequestNotComplete),
            (Op::Change, 2, Throttling),
            (Op::Change, 3, ForwardThen500),
            // Batch 2: stalled before ministack (not applied: sent again), then applied with
            // the connection stalled (found applied by reading, not sent again).
            (Op::Change, 4, Stall),
            (Op::Change, 5, ForwardThenStall),
            // Batch 3 goes through; its first GetChange fails.
            (Op::GetChange, 1, Status500),
        ],
    )
    .await;
    let rate = 10;
    let p = Route53::with_credentials(
        "r53",
        common::config(&format!("http://127.0.0.1:{}", proxy.port), rate),
        common::credentials(),
    )
    .unwrap()
    .with_tuning(Tuning {
        attempt_timeout: Duration::from_millis(1500),
        ..common::fast_tuning()
    });

    let t = Instant::now();
    let live = p.read_zone(&zone).await.unwrap();
    let desired = Zone::new(
        zone.clone(),
        live.record_sets
            .iter()
            .cloned()
            .chain(sets(&zone, 2500))
            .collect(),
    );
    let plan = plan::plan(
        p.name(),
        p.capabilities(),
        &live,
        &desired,
        &DiffOptions::default(),
    )
    .unwrap();
    let report = p.apply(&zone, &plan.changes).await.unwrap();
    assert_eq!(report.batches, 3);
    let elapsed = t.elapsed();

    let log = proxy.log();
    let forwarded_changes = log
        .iter()
        .filter(|(o, _, f)| *o == Op::Change && *f)
        .count();
    assert_eq!(
        forwarded_changes, 3,
        "each batch reaches ministack exactly once: {log:?}"
    );
    let stats = p.stats();
    eprintln!(
        "faults: {stats:?} in {elapsed:?}; proxy saw {} requests",
        log.len()
    );
    // Retried: the zone lookup (1), list pages (3), batch 1 (2), batch 2 (1, the stall before
    // ministack), GetChange (1). Batches whose answer was lost after ministack applied them
    // are found applied by reading the zone (2 reads of 9 pages) and not sent again; only
    // batch 3's change id is polled (500, PENDING, INSYNC).
    assert_eq!(stats.retries, 8, "{stats:?}");
    assert_eq!(stats.change_batches, 6, "{stats:?}");
    assert_eq!(stats.get_change_polls, 3, "{stats:?}");
    assert_eq!(
        stats.total(),
        log.len(),
        "every request the proxy saw was counted"
    );
    // Paced: n requests at `rate` per second take at least (n - 1) / rate seconds.
    let min = Duration::from_millis(1000 * (log.len() as u64 - 1) / rate as u64);
    assert!(elapsed >= min, "{elapsed:?} < {min:?}");

    // Direct read (no proxy): the zone is exactly as planned.
    let direct = common::provider(&emu.endpoint(), 200);
    let after = direct.read_zone(&zone).await.unwrap();
    assert_eq!(after, desired);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_change_batch_is_not_retried_and_names_the_record() {
    let Some(emu) = common::Emulator::start(Kind::Ministack) else {
        return;
    };
    let zone = common::unique_zone("icb");
    common::create_zone(&common::sdk(&emu.endpoint()), &zone, None).await;
    let proxy = Proxy::start(emu.port, &[]).await;
    let p = common::provider(&format!("http://127.0.0.1:{}", proxy.port), 200);
    let rs = sets(&zone, 1).remove(0);
    p.apply(
        &zone,
        &[switchback_api::Change::Create { after: rs.clone() }],
    )
    .await
    .unwrap();
    // Created again behind the provider's back? No: a stale create (the set exists).
    let changes_before = p.stats().change_batches;
    let e = p
        .apply(
            &zone,
            &[switchback_api::Change::Create { after: rs.clone() }],
        )
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("InvalidChangeBatch"), "{text}");
    assert!(
        text.contains(&rs.key().to_string()),
        "names the record: {text}"
    );
    assert!(
        text.contains("already exists"),
        "Route 53's message: {text}"
    );
    assert_eq!(
        p.stats().change_batches,
        changes_before + 1,
        "sent once, not retried"
    );
    assert_eq!(p.stats().retries, 0);
}
