//! The contract check: every request the adapter sends in these tests is replayed against
//! Prism serving Cloudflare's own OpenAPI schema (../shared/peers/cloudflare/, PEERS.md) and must
//! validate (2xx). It cannot pass by doing nothing: `replay` returns how many requests Prism
//! validated, callers assert it is not zero, and `contract.rs` (the test) shows Prism answering
//! 422 to deliberately bad requests (a TTL of 5, a bad IPv4 address).
//!
//! What is not sent to Prism, and why (each printed with the count when a check runs):
//! - `GET /zones…`: the schema is the DNS-records subset of Cloudflare's API; zones are not in it.
//! - the `POST …/dns_records/batch` envelope: the 2024-08-06 schema predates `/batch`. Each of
//!   its operations is validated instead as the single-record request it stands for:
//!   `deletes[i]` as `DELETE …/dns_records/{id}`, `patches[i]` as `PATCH …/{id}` (body without
//!   `id`), `puts[i]` as `PUT …/{id}`, `posts[i]` as `POST …/dns_records`. (Cloudflare's later
//!   schemas define the batch items with these same record schemas.)
//!
//! PATCH with a partial body is a known false positive of this schema (PATCH shares the full
//! per-type `oneOf` with POST and PUT, so `{"content": "192.0.2.1"}` is refused although the
//! live API accepts it). The adapter never sends partial PATCH bodies: it sends the full object
//! (type, name, content or data, ttl, proxied, comment, tags, settings), because an exact
//! restore must also reset the fields a partial PATCH would leave behind (a stale comment,
//! tags, `proxied`). So PATCH bodies validate as they are, with no special case here; a test
//! asserts that every PATCH the adapter sent is a full object and that Prism does reject a
//! partial one (so the false positive is still what PEERS.md says it is).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::Value;
use switchback_cloudflare::RecordedRequest;
pub use switchback_testsupport::emulators::Prism;

/// The schema: `$SWITCHBACK_CF_OPENAPI`, else the copy of `../shared/peers/cloudflare/` in
/// `tests/data/peers/cloudflare/` (PEERS.md; `SOURCE.txt` says which commit of Cloudflare's
/// schema repository it was cut from).
pub fn schema() -> PathBuf {
    let p = match std::env::var_os("SWITCHBACK_CF_OPENAPI") {
        Some(p) => PathBuf::from(p),
        None => switchback_testsupport::test_data("peers/cloudflare/dns-subset-2024-08-06.json"),
    };
    assert!(
        p.is_file(),
        "Cloudflare's OpenAPI schema is absent ({}; set SWITCHBACK_CF_OPENAPI)",
        p.display()
    );
    p
}

static SHARED: Mutex<Weak<Prism>> = Mutex::new(Weak::new());

/// The Prism instance of this test process, started on first use; it stops (by PID) when the
/// last user drops it. `None` when Prism is missing and `SWITCHBACK_SKIP_PEERS` names it.
pub fn prism(schema: &Path) -> Option<Arc<Prism>> {
    let mut g = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = g.upgrade() {
        return Some(p);
    }
    let p = Arc::new(Prism::start(schema)?);
    *g = Arc::downgrade(&p);
    Some(p)
}

/// One request for Prism.
#[derive(Debug, Clone)]
pub struct Probe {
    pub method: String,
    pub path: String,
    pub body: Option<Value>,
    pub origin: String,
}

/// What a replay did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub validated: usize,
    pub skipped_zones: usize,
    pub batch_envelopes: usize,
    pub failures: Vec<String>,
    pub patches: usize,
}

/// Expand recorded requests into probes (see the module documentation).
pub fn probes(recorded: &[RecordedRequest], out: &mut Outcome) -> Vec<Probe> {
    let mut v = Vec::new();
    for (n, r) in recorded.iter().enumerate() {
        let path_only = r.path.split('?').next().unwrap_or("");
        if path_only == "/zones"
            || (path_only.starts_with("/zones/") && !path_only.contains("/dns_records"))
        {
            out.skipped_zones += 1;
            continue;
        }
        if r.method == "POST" && path_only.ends_with("/dns_records/batch") {
            out.batch_envelopes += 1;
            let base = path_only.trim_end_matches("/batch");
            let body = r.body.clone().unwrap_or_default();
            let items = |k: &str| {
                body.get(k)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            };
            for (i, d) in items("deletes").iter().enumerate() {
                v.push(Probe {
                    method: "DELETE".into(),
                    path: format!("{base}/{}", d["id"].as_str().unwrap_or("")),
                    body: None,
                    origin: format!("request #{n} batch deletes[{i}]"),
                });
            }
            for (key, m) in [("patches", "PATCH"), ("puts", "PUT")] {
                for (i, p) in items(key).iter().enumerate() {
                    let mut b = p.clone();
                    let id = b["id"].as_str().unwrap_or("").to_string();
                    b.as_object_mut().map(|o| o.remove("id"));
                    v.push(Probe {
                        method: m.into(),
                        path: format!("{base}/{id}"),
                        body: Some(b),
                        origin: format!("request #{n} batch {key}[{i}]"),
                    });
                }
            }
            for (i, p) in items("posts").iter().enumerate() {
                v.push(Probe {
                    method: "POST".into(),
                    path: base.to_string(),
                    body: Some(p.clone()),
                    origin: format!("request #{n} batch posts[{i}]"),
                });
            }
            continue;
        }
        v.push(Probe {
            method: r.method.clone(),
            path: r.path.clone(),
            body: r.body.clone(),
            origin: format!("request #{n}"),
        });
    }
    out.patches = v.iter().filter(|p| p.method == "PATCH").count();
    v
}

/// Send one probe to Prism: (status, body).
pub async fn send(http: &reqwest::Client, base: &str, p: &Probe) -> (u16, String) {
    let method = reqwest::Method::from_bytes(p.method.as_bytes()).unwrap();
    let mut req = http
        .request(method, format!("{base}{}", p.path))
        .header("authorization", "Bearer contract-check-token");
    if let Some(b) = &p.body {
        req = req.json(b);
    }
    match req.send().await {
        Ok(r) => {
            let s = r.status().as_u16();
            (s, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, format!("no answer from Prism: {e}")),
    }
}

/// Replay `recorded` against Prism: every probe must get a 2xx.
pub async fn replay(prism: &Prism, recorded: &[RecordedRequest]) -> Outcome {
    let mut out = Outcome::default();
    let list = probes(recorded, &mut out);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let base = prism.url();
    let sem = Arc::new(tokio::sync::Semaphore::new(8));
    let mut set = tokio::task::JoinSet::new();
    for p in list {
        let (http, base, sem) = (http.clone(), base.clone(), sem.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await.unwrap();
            let (status, body) = send(&http, &base, &p).await;
            (p, status, body)
        });
    }
    while let Some(r) = set.join_next().await {
        let (p, status, body) = r.unwrap();
        if (200..300).contains(&status) {
            out.validated += 1;
        } else {
            let detail: String = body.chars().take(1500).collect();
            out.failures.push(format!(
                "{} {} ({}) -> {status}\n  body: {}\n  Prism: {detail}",
                p.method,
                p.path,
                p.origin,
                p.body.map(|b| b.to_string()).unwrap_or_default()
            ));
        }
    }
    out
}

/// Replay on a thread of its own (callable from `Drop` inside a runtime); panics on failures.
pub fn check_blocking(label: &str, recorded: Vec<RecordedRequest>) {
    let schema = schema();
    if recorded.is_empty() {
        return;
    }
    let label = label.to_string();
    let r = std::thread::spawn(move || {
        let prism = prism(&schema)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let out = rt.block_on(replay(&prism, &recorded));
        Some((label, out))
    })
    .join();
    let (label, out) = match r {
        Ok(Some(x)) => x,
        Ok(None) => return,
        Err(e) => std::panic::resume_unwind(e),
    };
    eprintln!(
        "contract check ({label}): {} requests validated by Prism against Cloudflare's schema; \
         not sent: {} zone requests (zones are not in the DNS-records schema), {} /batch \
         envelopes (the 2024-08-06 schema has no /batch; their operations were validated one by \
         one above)",
        out.validated, out.skipped_zones, out.batch_envelopes
    );
    if !out.failures.is_empty() {
        panic!(
            "contract check ({label}): {} of {} requests do not validate against Cloudflare's \
             schema:\n{}",
            out.failures.len(),
            out.failures.len() + out.validated,
            out.failures
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
