//! A stateful fake of Cloudflare API v4's zones and DNS records: the PROJECT'S OWN, written from
//! Cloudflare's documentation (developers.cloudflare.com/api: "List Zones", "List DNS Records",
//! "Create/Update/Overwrite/Delete DNS Record", "Batch DNS Records"), not Cloudflare's code.
//! It models state; Cloudflare's request shapes are checked separately against Cloudflare's own
//! schema through Prism (see `contract.rs`).
//!
//! Documented behaviours it keeps:
//! - `Authorization: Bearer TOKEN` on every request, else 403 `{code 10000, "Authentication
//!   error"}`; every answer is the envelope `{success, errors, messages, result}`; errors are
//!   `{success:false, errors:[{code,message}]}`.
//! - `GET /zones` (`name=`, `account.id=`, `page`, `per_page`), `GET /zones/{id}`.
//! - `GET /zones/{id}/dns_records` paged by `page`/`per_page` with `result_info {page,
//!   per_page, count, total_count, total_pages}`; `per_page` is capped (option) to force paging.
//! - One object per value, each with a 32-hex `id`; POST creates, PATCH merges the given
//!   fields, PUT overwrites, DELETE removes (81044 "Record does not exist." when absent).
//! - Validation: known type; TTL 1 (automatic) or 30..86400 (9021); A/AAAA content an
//!   address (9005/9006); MX priority (9100); structured types need `data` (9101); only A,
//!   AAAA, CNAME can be proxied (9004) and a proxied record's TTL is 1; tags of the form
//!   `name:value` (9300); an identical record (81058); a CNAME beside other records at a name
//!   (81053). `comment: ""` clears a comment; `tags: []` clears tags; `settings` is replaced.
//! - `POST /zones/{id}/dns_records/batch` with `deletes`, `patches`, `puts`, `posts`, run in
//!   that order in one transaction: any failure leaves the zone as it was (400 with the failing
//!   operation named, e.g. `posts[3] www.example.com: An identical record already exists.`);
//!   at most `batch_limit` operations. Option: refuse it (404, 7003 "No route for the URI"), as
//!   accounts without the endpoint do.
//! - 429 with `retry-after: N` once the request count passes a threshold (option), for a given
//!   number of requests; 503 for the next N requests (option); the next N POSTs carried out
//!   and answered 502 (option: a gateway that lost the answer).
//!
//! Not modelled: structured types' `content` is a plain rendering of `data` (the adapter reads
//! `data`); no proxied-record content checks; no plan-specific TTL minimum (60 below
//! Enterprise).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

pub const TOKEN: &str = "fake-cloudflare-token-5f2b9c";

#[derive(Debug, Clone)]
pub struct Options {
    pub token: String,
    /// Largest `per_page` honoured for DNS records.
    pub per_page_max: usize,
    pub refuse_batch: bool,
    pub batch_limit: usize,
    /// After this many requests, answer 429 to the next `throttle_count` requests.
    pub throttle_after: Option<usize>,
    pub throttle_count: usize,
    pub retry_after_secs: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            token: TOKEN.into(),
            per_page_max: 5000,
            refuse_batch: false,
            batch_limit: 3500,
            throttle_after: None,
            throttle_count: 1,
            retry_after_secs: 1,
        }
    }
}

#[derive(Default)]
struct Inner {
    zones: Vec<(String, String, String)>, // id, name, account id
    records: BTreeMap<String, Vec<Value>>,
    next_id: u64,
    requests: usize,
    throttled: usize,
    fail_5xx: usize,
    /// POSTs to carry out and then answer 502 (a gateway that lost the answer).
    applied_then_502: usize,
    /// POSTs to answer 503 without carrying them out.
    post_503: usize,
    log: Vec<(String, String, u16)>,
}

#[derive(Clone)]
struct Shared {
    opts: Arc<Mutex<Options>>,
    inner: Arc<Mutex<Inner>>,
}

pub struct Fake {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Fail = (StatusCode, i64, String);

fn bad(code: i64, msg: impl Into<String>) -> Fail {
    (StatusCode::BAD_REQUEST, code, msg.into())
}

fn envelope_err(status: StatusCode, code: i64, msg: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"success": false, "errors": [{"code": code, "message": msg}],
                          "messages": [], "result": null}),
        ),
    )
        .into_response()
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"success": true, "errors": [], "messages": [], "result": result}))
        .into_response()
}

impl Fake {
    pub async fn start(opts: Options) -> Fake {
        let shared = Shared {
            opts: Arc::new(Mutex::new(opts)),
            inner: Arc::new(Mutex::new(Inner::default())),
        };
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Fake { addr, shared, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}/client/v4", self.addr)
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap()
    }

    pub fn set_options(&self, f: impl FnOnce(&mut Options)) {
        f(&mut self.shared.opts.lock().unwrap());
    }

    /// Add a zone; returns its id.
    pub fn add_zone(&self, name: &str, account: &str) -> String {
        let mut i = self.inner();
        i.next_id += 1;
        let id = format!("{:032x}", 0xabc0_0000_0000u64 + i.next_id);
        i.zones.push((
            id.clone(),
            name.trim_end_matches('.').to_string(),
            account.into(),
        ));
        i.records.insert(id.clone(), Vec::new());
        id
    }

    /// Insert objects directly (as if created in the dashboard), validated like a POST.
    pub fn seed(&self, zone_id: &str, objects: Vec<Value>) {
        let mut i = self.inner();
        let zname = zone_name(&i, zone_id).unwrap();
        let mut recs = i.records.remove(zone_id).unwrap();
        for o in objects {
            i.next_id += 1;
            let id = format!("{:032x}", i.next_id);
            let r = create(&zname, zone_id, &id, &o, &recs)
                .unwrap_or_else(|e| panic!("seed {o}: {e:?}"));
            recs.push(r);
        }
        i.records.insert(zone_id.into(), recs);
    }

    pub fn records(&self, zone_id: &str) -> Vec<Value> {
        self.inner()
            .records
            .get(zone_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.inner().requests
    }

    pub fn throttled(&self) -> usize {
        self.inner().throttled
    }

    /// Answer the next `n` requests with 503.
    pub fn fail_next(&self, n: usize) {
        self.inner().fail_5xx = n;
    }

    /// Answer the next `n` POSTs with 503, without carrying them out.
    pub fn fail_next_post(&self, n: usize) {
        self.inner().post_503 = n;
    }

    /// Carry out the next `n` POSTs, then answer each with 502 (applied, answer lost).
    pub fn apply_then_fail_next(&self, n: usize) {
        self.inner().applied_then_502 = n;
    }

    /// (method, path without query, status) of every request.
    pub fn log(&self) -> Vec<(String, String, u16)> {
        self.inner().log.clone()
    }
}

fn zone_name(i: &Inner, id: &str) -> Option<String> {
    i.zones.iter().find(|z| z.0 == id).map(|z| z.1.clone())
}

fn query(uri: &Uri) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for kv in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
    {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        out.insert(k.to_string(), pct_decode(v));
    }
    out
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn page<T: Clone>(items: &[T], q: &BTreeMap<String, String>, max: usize) -> (Vec<T>, Value) {
    let per_page = q
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, max);
    let page = q
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let start = (page - 1) * per_page;
    let slice: Vec<T> = items.iter().skip(start).take(per_page).cloned().collect();
    let total = items.len();
    let info = json!({"page": page, "per_page": per_page, "count": slice.len(),
        "total_count": total, "total_pages": total.div_ceil(per_page).max(1)});
    (slice, info)
}

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let opts = s.opts.lock().unwrap().clone();
    let mut i = s.inner.lock().unwrap();
    i.requests += 1;
    let path = uri.path().to_string();
    let mut resp = route(&mut i, &opts, &method, &uri, &headers, &body);
    if method == Method::POST && i.applied_then_502 > 0 && resp.status().is_success() {
        i.applied_then_502 -= 1;
        resp = envelope_err(StatusCode::BAD_GATEWAY, 502, "Bad gateway");
    }
    let status = resp.status().as_u16();
    i.log.push((method.to_string(), path, status));
    resp
}

fn route(
    i: &mut Inner,
    opts: &Options,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    if let Some(n) = opts.throttle_after {
        if i.requests > n && i.throttled < opts.throttle_count {
            i.throttled += 1;
            let mut r = envelope_err(
                StatusCode::TOO_MANY_REQUESTS,
                971,
                "Please wait and consider throttling your request speed",
            );
            r.headers_mut().insert(
                "retry-after",
                opts.retry_after_secs.to_string().parse().unwrap(),
            );
            return r;
        }
    }
    if *method == Method::POST && i.post_503 > 0 {
        i.post_503 -= 1;
        return envelope_err(
            StatusCode::SERVICE_UNAVAILABLE,
            10013,
            "Service unavailable",
        );
    }
    if i.fail_5xx > 0 {
        i.fail_5xx -= 1;
        return envelope_err(
            StatusCode::SERVICE_UNAVAILABLE,
            10013,
            "Service unavailable",
        );
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {}", opts.token)) {
        return envelope_err(StatusCode::FORBIDDEN, 10000, "Authentication error");
    }
    let Some(path) = uri.path().strip_prefix("/client/v4") else {
        return envelope_err(StatusCode::NOT_FOUND, 7003, "No route for the URI");
    };
    let q = query(uri);
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let json_body = || -> Result<Value, Fail> {
        serde_json::from_slice(body).map_err(|_| bad(6007, "Malformed JSON in request body"))
    };
    let result: Result<Response, Fail> = match (method.as_str(), parts.as_slice()) {
        ("GET", ["zones"]) => {
            let zones: Vec<Value> = i
                .zones
                .iter()
                .filter(|z| q.get("name").is_none_or(|n| *n == z.1))
                .filter(|z| q.get("account.id").is_none_or(|a| *a == z.2))
                .map(
                    |z| json!({"id": z.0, "name": z.1, "account": {"id": z.2}, "status": "active"}),
                )
                .collect();
            let (slice, info) = page(&zones, &q, 50);
            let mut r = json!({"success": true, "errors": [], "messages": [], "result": slice});
            r["result_info"] = info;
            Ok(axum::Json(r).into_response())
        }
        ("GET", ["zones", id]) => match i.zones.iter().find(|z| z.0 == *id) {
            Some(z) => Ok(ok(json!({"id": z.0, "name": z.1, "account": {"id": z.2}}))),
            None => Err((
                StatusCode::NOT_FOUND,
                7003,
                "Could not route to /zones, perhaps your object identifier is invalid?".into(),
            )),
        },
        (m, ["zones", zid, "dns_records", rest @ ..]) => {
            let Some(zname) = zone_name(i, zid) else {
                return envelope_err(
                    StatusCode::NOT_FOUND,
                    7003,
                    "Could not route to /zones, perhaps your object identifier is invalid?",
                );
            };
            let zid = zid.to_string();
            match (m, rest) {
                ("GET", []) => {
                    let recs = i.records.get(&zid).cloned().unwrap_or_default();
                    let (slice, info) = page(&recs, &q, opts.per_page_max);
                    let mut r =
                        json!({"success": true, "errors": [], "messages": [], "result": slice});
                    r["result_info"] = info;
                    Ok(axum::Json(r).into_response())
                }
                ("POST", []) => {
                    let b = match json_body() {
                        Ok(b) => b,
                        Err(f) => return envelope_err(f.0, f.1, &f.2),
                    };
                    i.next_id += 1;
                    let id = format!("{:032x}", i.next_id);
                    let recs = i.records.get(&zid).cloned().unwrap_or_default();
                    create(&zname, &zid, &id, &b, &recs).map(|r| {
                        i.records.get_mut(&zid).unwrap().push(r.clone());
                        ok(r)
                    })
                }
                ("POST", ["batch"]) => {
                    if opts.refuse_batch {
                        return envelope_err(StatusCode::NOT_FOUND, 7003, "No route for the URI");
                    }
                    let b = match json_body() {
                        Ok(b) => b,
                        Err(f) => return envelope_err(f.0, f.1, &f.2),
                    };
                    batch(i, opts, &zname, &zid, &b).map(ok)
                }
                (m @ ("PATCH" | "PUT"), [rid]) => {
                    let b = match json_body() {
                        Ok(b) => b,
                        Err(f) => return envelope_err(f.0, f.1, &f.2),
                    };
                    let mut recs = i.records.get(&zid).cloned().unwrap_or_default();
                    update(&zname, &zid, rid, &b, m == "PUT", &mut recs).map(|r| {
                        i.records.insert(zid.clone(), recs);
                        ok(r)
                    })
                }
                ("DELETE", [rid]) => {
                    let recs = i.records.get_mut(&zid).unwrap();
                    match recs.iter().position(|r| r["id"] == *rid) {
                        Some(p) => {
                            recs.remove(p);
                            Ok(ok(json!({"id": rid})))
                        }
                        None => Err((
                            StatusCode::NOT_FOUND,
                            81044,
                            "Record does not exist.".into(),
                        )),
                    }
                }
                _ => Err((StatusCode::NOT_FOUND, 7003, "No route for the URI".into())),
            }
        }
        _ => Err((StatusCode::NOT_FOUND, 7003, "No route for the URI".into())),
    };
    match result {
        Ok(r) => r,
        Err((status, code, msg)) => envelope_err(status, code, &msg),
    }
}

const TYPES: &[&str] = &[
    "A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR", "NS",
    "PTR", "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI",
];

fn structured(t: &str) -> bool {
    !matches!(t, "A" | "AAAA" | "CNAME" | "MX" | "NS" | "PTR" | "TXT")
}

fn full_name(zone: &str, name: &str) -> String {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if n == "@" || n.is_empty() {
        zone.to_string()
    } else if n == zone || n.ends_with(&format!(".{zone}")) {
        n
    } else {
        format!("{n}.{zone}")
    }
}

/// Validate and normalize an object (`prev`: the object a PATCH starts from).
fn normalize(
    zone: &str,
    zid: &str,
    id: &str,
    b: &Value,
    prev: Option<&Value>,
) -> Result<Value, Fail> {
    let mut o: Map<String, Value> = match prev {
        Some(Value::Object(p)) => p.clone(),
        _ => Map::new(),
    };
    let Value::Object(given) = b else {
        return Err(bad(9207, "Request body is not an object"));
    };
    for (k, v) in given {
        if k == "id" {
            continue;
        }
        o.insert(k.clone(), v.clone());
    }
    let t = o
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !TYPES.contains(&t.as_str()) {
        return Err(bad(9000, format!("DNS record type {t:?} is invalid.")));
    }
    let name = o
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(9000, "DNS name is invalid."))?;
    let name = full_name(zone, name);
    o.insert("name".into(), json!(name));
    let mut ttl = o.get("ttl").and_then(Value::as_u64).unwrap_or(1);
    if !(ttl == 1 || (30..=86400).contains(&ttl)) {
        return Err(bad(
            9021,
            format!(
                "{name}: Invalid TTL. Must be between 30 and 86400 seconds, or 1 for Automatic."
            ),
        ));
    }
    let proxied = o.get("proxied").and_then(Value::as_bool).unwrap_or(false);
    if proxied && !matches!(t.as_str(), "A" | "AAAA" | "CNAME") {
        return Err(bad(
            9004,
            format!("{name}: This record type cannot be proxied."),
        ));
    }
    if proxied {
        ttl = 1;
    }
    o.insert("ttl".into(), json!(ttl));
    o.insert("proxied".into(), json!(proxied));
    o.insert(
        "proxiable".into(),
        json!(matches!(t.as_str(), "A" | "AAAA" | "CNAME")),
    );
    let content = o.get("content").and_then(Value::as_str).map(str::to_string);
    match t.as_str() {
        "A" if content
            .as_deref()
            .and_then(|c| c.parse::<Ipv4Addr>().ok())
            .is_none() =>
        {
            return Err(bad(
                9005,
                format!("{name}: Content for A record must be a valid IPv4 address."),
            ));
        }
        "AAAA"
            if content
                .as_deref()
                .and_then(|c| c.parse::<Ipv6Addr>().ok())
                .is_none() =>
        {
            return Err(bad(
                9006,
                format!("{name}: Content for AAAA record must be a valid IPv6 address."),
            ));
        }
        "MX" if o.get("priority").and_then(Value::as_u64).is_none() => {
            return Err(bad(9100, format!("{name}: MX records require a priority.")));
        }
        _ => {}
    }
    if structured(&t) {
        let Some(Value::Object(d)) = o.get("data") else {
            return Err(bad(
                9101,
                format!("{name}: {t} records require a data object."),
            ));
        };
        let rendered: Vec<String> = d
            .values()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect();
        o.insert("content".into(), json!(rendered.join(" ")));
    } else if content.is_none() {
        return Err(bad(9002, format!("{name}: DNS record content is missing.")));
    }
    match o.get("comment") {
        Some(Value::String(c)) if c.is_empty() => {
            o.insert("comment".into(), Value::Null);
        }
        Some(Value::String(_)) | Some(Value::Null) => {}
        None => {
            o.insert("comment".into(), Value::Null);
        }
        Some(_) => return Err(bad(9000, "comment must be a string")),
    }
    let tags = o.get("tags").cloned().unwrap_or(json!([]));
    let Value::Array(tag_list) = &tags else {
        return Err(bad(9000, "tags must be a list"));
    };
    let invalid: Vec<String> = tag_list
        .iter()
        .filter(|t| {
            let s = t.as_str().unwrap_or("");
            let (n, _) = s.split_once(':').unwrap_or(("", ""));
            n.is_empty()
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .map(|t| t.to_string())
        .collect();
    if !invalid.is_empty() {
        return Err(bad(
            9300,
            format!(
                "{name}: DNS record has {} invalid tags: {}; tags must have the form name:value.",
                invalid.len(),
                invalid.join(", ")
            ),
        ));
    }
    o.insert("tags".into(), tags);
    if !matches!(o.get("settings"), Some(Value::Object(_))) {
        o.insert("settings".into(), json!({}));
    }
    o.insert("id".into(), json!(id));
    o.insert("zone_id".into(), json!(zid));
    o.insert("zone_name".into(), json!(zone));
    o.insert("meta".into(), json!({}));
    o.entry("created_on")
        .or_insert(json!("2024-08-06T00:00:00.000000Z"));
    o.insert("modified_on".into(), json!("2024-08-06T00:00:00.000000Z"));
    Ok(Value::Object(o))
}

fn same_record(a: &Value, b: &Value) -> bool {
    a["name"] == b["name"]
        && a["type"] == b["type"]
        && a["content"] == b["content"]
        && a["data"] == b["data"]
        && a["priority"] == b["priority"]
}

/// Checks against the other records of the zone (`recs` excludes the object itself).
fn conflicts(o: &Value, recs: &[Value]) -> Result<(), Fail> {
    let name = o["name"].as_str().unwrap_or("");
    if recs.iter().any(|r| same_record(r, o)) {
        return Err(bad(
            81058,
            format!("{name}: An identical record already exists."),
        ));
    }
    let here = recs.iter().filter(|r| r["name"] == o["name"]);
    let is_cname = o["type"] == "CNAME";
    for r in here {
        if is_cname || r["type"] == "CNAME" {
            return Err(bad(
                81053,
                format!(
                    "{name}: An A, AAAA, or CNAME record with that host already exists. (CNAME records cannot share a name with other records.)"
                ),
            ));
        }
    }
    Ok(())
}

fn create(zone: &str, zid: &str, id: &str, b: &Value, recs: &[Value]) -> Result<Value, Fail> {
    let o = normalize(zone, zid, id, b, None)?;
    conflicts(&o, recs)?;
    Ok(o)
}

fn update(
    zone: &str,
    zid: &str,
    rid: &str,
    b: &Value,
    overwrite: bool,
    recs: &mut Vec<Value>,
) -> Result<Value, Fail> {
    let Some(pos) = recs.iter().position(|r| r["id"] == rid) else {
        return Err((
            StatusCode::NOT_FOUND,
            81044,
            format!("Record {rid} does not exist."),
        ));
    };
    let prev = recs.remove(pos);
    let start = if overwrite {
        json!({"created_on": prev["created_on"]})
    } else {
        prev.clone()
    };
    let r = normalize(zone, zid, rid, b, Some(&start)).and_then(|o| {
        conflicts(&o, recs)?;
        Ok(o)
    });
    match r {
        Ok(o) => {
            recs.insert(pos, o.clone());
            Ok(o)
        }
        Err(e) => {
            recs.insert(pos, prev);
            Err(e)
        }
    }
}

fn batch(i: &mut Inner, opts: &Options, zone: &str, zid: &str, b: &Value) -> Result<Value, Fail> {
    let list = |k: &str| {
        b.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (deletes, patches, puts, posts) = (
        list("deletes"),
        list("patches"),
        list("puts"),
        list("posts"),
    );
    let total = deletes.len() + patches.len() + puts.len() + posts.len();
    if total > opts.batch_limit {
        return Err(bad(
            81067,
            format!(
                "Batch of {total} operations exceeds the zone's limit of {}.",
                opts.batch_limit
            ),
        ));
    }
    // One transaction: work on a copy, commit only when everything succeeded.
    let mut recs = i.records.get(zid).cloned().unwrap_or_default();
    let mut next_id = i.next_id;
    let mut out = json!({"deletes": [], "patches": [], "puts": [], "posts": []});
    let named = |what: String, e: Fail| (e.0, e.1, format!("{what}: {}", e.2));
    for (k, d) in deletes.iter().enumerate() {
        let id = d["id"].as_str().unwrap_or("");
        match recs.iter().position(|r| r["id"] == id) {
            Some(p) => {
                let r = recs.remove(p);
                out["deletes"].as_array_mut().unwrap().push(r);
            }
            None => {
                return Err(bad(
                    81044,
                    format!("deletes[{k}] {id}: Record does not exist."),
                ));
            }
        }
    }
    for (key, ops, overwrite) in [("patches", &patches, false), ("puts", &puts, true)] {
        for (k, p) in ops.iter().enumerate() {
            let id = p["id"].as_str().unwrap_or("").to_string();
            let o = update(zone, zid, &id, p, overwrite, &mut recs)
                .map_err(|e| named(format!("{key}[{k}]"), e))?;
            out[key].as_array_mut().unwrap().push(o);
        }
    }
    for (k, p) in posts.iter().enumerate() {
        next_id += 1;
        let id = format!("{next_id:032x}");
        let o = create(zone, zid, &id, p, &recs).map_err(|e| named(format!("posts[{k}]"), e))?;
        recs.push(o.clone());
        out["posts"].as_array_mut().unwrap().push(o);
    }
    i.records.insert(zid.to_string(), recs);
    i.next_id = next_id;
    Ok(out)
}
