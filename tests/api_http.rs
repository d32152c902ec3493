//! The HTTP API in-process on a bound port (port 0), with a real HTTP client: auth (bearer,
//! HMAC), idempotency, concurrency, robustness, status and metrics, and the whole
//! pre-recovery -> post-recovery -> failback x3 sequence on the built-in provider.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchback::config::Config;
use switchback::http::{self, ApiOptions, ApiState, Secrets, auth};
use switchback::store::Store;
use switchback_api::{Name, Zone};

const ZONE: &str = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.80\napi A 192.0.2.90\nmail A 192.0.2.25\n";
const TOKEN: &str = "test-token-123";
const SECRET: &str = "webhook-secret-456";

struct Api {
    _dir: tempfile::TempDir,
    cfg: Arc<Config>,
    store: Arc<Store>,
    base: String,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

fn config(dir: &Path, soak: &str) -> Config {
    std::fs::create_dir_all(dir.join("zones")).unwrap();
    std::fs::write(dir.join("zones/example.com.zone"), ZONE).unwrap();
    let text = format!(
        "[server]\nzones = \"zones\"\nstate = \"state/state.db\"\n\n\
        [[cutover]]\nname = \"web\"\nprovider = \"builtin\"\nzone = \"example.com\"\n\
        steering = \"weighted\"\nsoak = \"{soak}\"\nfailback_stages = [10, 50, 100]\n\
        [[cutover.record]]\nname = \"www.example.com.\"\ntype = \"A\"\nrecovery = [\"198.51.100.80\"]\n"
    );
    let path = dir.join("switchback.toml");
    std::fs::write(&path, &text).unwrap();
    Config::parse(&text, &path).unwrap()
}

impl Api {
    async fn start() -> Api {
        Api::start_with(ApiOptions::default(), true).await
    }

    async fn start_with(opts: ApiOptions, secrets: bool) -> Api {
        Api::start_full(opts, secrets, "0s").await
    }

    async fn start_full(opts: ApiOptions, secrets: bool, soak: &str) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Arc::new(config(dir.path(), soak));
        // Seed the built-in provider's live zone from the zone folder.
        switchback::registry::open_builtin(&cfg, "builtin", false).unwrap();
        let store = Arc::new(Store::open(&cfg.server.state).unwrap());
        let secrets = if secrets {
            Secrets {
                token: Some(TOKEN.as_bytes().to_vec()),
                webhook_secret: Some(SECRET.as_bytes().to_vec()),
            }
        } else {
            Secrets::default()
        };
        let state = Arc::new(ApiState::new(
            Arc::new(switchback::registry::Providers::new(cfg.clone())),
            store.clone(),
            None,
            secrets,
            opts,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(http::serve(listener, state, async move {
            let _ = rx.await;
        }));
        Api {
            _dir: dir,
            cfg,
            store,
            base,
            client: reqwest::Client::new(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let r = tokio::time::timeout(Duration::from_secs(5), self.task.take().unwrap())
            .await
            .expect("graceful shutdown within 5 s");
        r.unwrap().unwrap();
    }

    fn url(&self, p: &str) -> String {
        format!("{}{p}", self.base)
    }

    async fn get(&self, p: &str) -> (StatusCode, Value) {
        let r = self
            .client
            .get(self.url(p))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn post_raw(&self, p: &str, body: &str, auth: Auth<'_>) -> (StatusCode, Value, Duration) {
        let mut rb = self
            .client
            .post(self.url(p))
            .header("content-type", "application/json")
            .body(body.to_string());
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => rb = rb.bearer_auth(t),
            Auth::Sig(h) => rb = rb.header("X-Switchback-Signature", h),
        }
        let t0 = Instant::now();
        let r = rb.send().await.unwrap();
        let took = t0.elapsed();
        let s = r.status();
        let text = r.text().await.unwrap();
        (
            s,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            took,
        )
    }

    async fn hook(&self, route: &str, body: Value) -> (StatusCode, Value, Duration) {
        self.post_raw(
            &format!("/v1/hooks/{route}"),
            &body.to_string(),
            Auth::Bearer(TOKEN),
        )
        .await
    }

    async fn zone(&self) -> Zone {
        let p = switchback::registry::Providers::new(self.cfg.clone())
            .get("builtin")
            .unwrap();
        p.read_zone(&"example.com.".parse::<Name>().unwrap())
            .await
            .unwrap()
    }

    /// The live zone equals `desired` (the provider keeps its own SOA serial).
    async fn zone_equals(&self, desired: &Zone) -> bool {
        let p = switchback::registry::Providers::new(self.cfg.clone())
            .get("builtin")
            .unwrap();
        let (_, plan) = switchback::planner::plan_to(p.as_ref(), desired, vec![])
            .await
            .unwrap();
        plan.is_empty()
    }

    /// Poll the cutover until its hook run `run_id` is no longer running.
    async fn wait_run(&self, run_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (s, v) = self.get("/v1/cutovers/web").await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let run = v["hook_runs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|j| j["run_id"] == run_id)
                .cloned()
                .unwrap_or_else(|| panic!("run {run_id} not in {v}"));
            if run["state"] != "running" {
                return run;
            }
            assert!(Instant::now() < deadline, "run {run_id} still running: {v}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    Sig(&'a str),
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn assert_error(s: StatusCode, v: &Value, want: StatusCode, detail_has: &str) {
    assert_eq!(s, want, "{v}");
    assert!(v["error"].is_string(), "no error field: {v}");
    let d = v["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("no detail: {v}"));
    assert!(d.contains(detail_has), "detail {d:?} lacks {detail_has:?}");
    assert!(!d.contains(TOKEN) && !d.contains(SECRET), "secret in {d}");
}

/// A hook's answer is 200 (done in time) or 202 (poll); either way its run ends done.
async fn settle(api: &Api, s: StatusCode, v: &Value) -> Value {
    assert!(s == StatusCode::OK || s == StatusCode::ACCEPTED, "{s} {v}");
    let run = api.wait_run(v["run_id"].as_str().unwrap()).await;
    assert_eq!(run["state"], "done", "{run}");
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sequence_through_the_api_restores_the_first_snapshot() {
    let api = Api::start().await;
    let before = api.zone().await;
    let mut times = Vec::new();

    let (s, v, t) = api
        .hook("pre-recovery", json!({"event_id": "e1", "cutover": "web"}))
        .await;
    times.push(t);
    let run = settle(&api, s, &v).await;
    let snap_id = run["result"]["snapshot_id"].as_str().unwrap().to_string();
    if s == StatusCode::OK {
        assert_eq!(v["snapshot_id"], snap_id.as_str());
    }
    let snap = api.store.snapshot(&snap_id).unwrap();
    assert_eq!(snap.zone, before);

    let (s, v, t) = api
        .hook(
            "post-recovery",
            json!({"event_id": "e2", "cutover": "web",
                   "targets": {"www.example.com./A": ["198.51.100.77"]}}),
        )
        .await;
    times.push(t);
    settle(&api, s, &v).await;
    let (_, c) = api.get("/v1/cutovers/web").await;
    assert_eq!(c["state"], "failed-over", "{c}");
    let live = api.zone().await;
    let www: Vec<_> = live
        .record_sets
        .iter()
        .filter(|r| r.name.to_string() == "www.example.com.")
        .flat_map(|r| r.values.iter().map(|v| v.data.clone()))
        .collect();
    assert!(www.contains(&"198.51.100.77".to_string()), "{www:?}");

    for (i, stage) in [json!("next"), json!(2), json!("all")]
        .into_iter()
        .enumerate()
    {
        let (s, v, t) = api
            .hook(
                "failback",
                json!({"event_id": format!("f{i}"), "cutover": "web", "stage": stage}),
            )
            .await;
        times.push(t);
        settle(&api, s, &v).await;
        let (_, c) = api.get("/v1/cutovers/web").await;
        assert_eq!(c["stage"], i + 1, "{c}");
    }
    let (_, c) = api.get("/v1/cutovers/web").await;
    assert_eq!(c["state"], "restored", "{c}");
    assert!(c["last_runs"].as_array().unwrap().len() >= 4, "{c}");
    assert!(
        api.zone_equals(&snap.zone).await,
        "the zone is not the first snapshot"
    );
    for t in &times {
        assert!(*t < Duration::from_secs(2), "a hook took {t:?}");
    }
    eprintln!("hook answer times: {times:?}");

    // Status routes.
    let (s, v) = api.get("/v1/cutovers").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["cutovers"][0]["name"], "web");
    let (s, v) = api.get("/v1/snapshots").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == snap_id.as_str()),
        "{v}"
    );
    let (s, v) = api.get("/v1/health").await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["checks"].is_array());
    let (s, v) = api.get("/v1/cutovers/nope").await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "nope");
    let r = api.client.get(api.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = api.client.get(api.url("/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("web"));
    let r = api.client.get(api.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let m = r.text().await.unwrap();
    for needle in [
        "switchback_cutover_state{cutover=\"web\",state=\"restored\"} 1",
        "switchback_api_requests_total{route=\"/v1/hooks/failback\",status=",
        "switchback_provider_api_calls_total{provider=\"builtin\"}",
    ] {
        assert!(m.contains(needle), "{needle} not in\n{m}");
    }
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_bearer_and_hmac() {
    let api = Api::start().await;
    let before = api.zone().await;
    let body = json!({"event_id": "a1", "cutover": "web",
                      "targets": {"www.example.com./A": ["198.51.100.77"]}})
    .to_string();
    let p = "/v1/hooks/post-recovery";
    let (s, v, _) = api.post_raw(p, &body, Auth::None).await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, "Bearer");
    let (s, v, _) = api.post_raw(p, &body, Auth::Bearer("wrong")).await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, "not valid");
    let wrong = auth::sign(b"other-secret", now(), p, body.as_bytes());
    let (s, v, _) = api.post_raw(p, &body, Auth::Sig(&wrong)).await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, "does not match");
    let old = auth::sign(SECRET.as_bytes(), now() - 301, p, body.as_bytes());
    let (s, v, _) = api.post_raw(p, &body, Auth::Sig(&old)).await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, "away from now");
    let future = auth::sign(SECRET.as_bytes(), now() + 400, p, body.as_bytes());
    let (s, v, _) = api.post_raw(p, &body, Auth::Sig(&future)).await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, "away from now");
    let good = auth::sign(SECRET.as_bytes(), now(), p, body.as_bytes());
    let tampered = body.replace("198.51.100.77", "198.51.100.66");
    let (s, v, _) = api.post_raw(p, &tampered, Auth::Sig(&good)).await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, "does not match");
    let (s, v, _) = api.post_raw(p, &body, Auth::Sig("t=abc")).await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, "t=UNIX_SECONDS");
    // GET routes take the bearer only.
    let r = api
        .client
        .get(api.url("/v1/cutovers"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = api
        .client
        .get(api.url("/v1/cutovers"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Nothing changed so far.
    assert_eq!(api.zone().await, before);
    assert!(api.store.webhook_event("a1").unwrap().is_none());
    // A body signed for another hook (pre-recovery: a snapshot) is refused by this one (a
    // failover): the signature covers the path.
    let other_route = auth::sign(
        SECRET.as_bytes(),
        now(),
        "/v1/hooks/pre-recovery",
        body.as_bytes(),
    );
    let (s, v, _) = api.post_raw(p, &body, Auth::Sig(&other_route)).await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, "does not match");
    assert_eq!(api.zone().await, before);
    // A valid signature goes through.
    let (s, v, t) = api.post_raw(p, &body, Auth::Sig(&good)).await;
    settle(&api, s, &v).await;
    assert!(t < Duration::from_secs(2));
    assert_ne!(api.zone().await, before);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_conflicts_and_concurrent_duplicates() {
    let api = Api::start().await;
    let body = json!({"event_id": "r1", "cutover": "web",
                      "targets": {"www.example.com./A": ["198.51.100.77"]}});
    let (s, first, _) = api.hook("post-recovery", body.clone()).await;
    settle(&api, s, &first).await;
    let after = api.zone().await;
    let runs = api.store.runs(100).unwrap().len();
    // The same body (other key order and spacing) gets the first answer, changes nothing.
    let same = r#"{ "targets": {"www.example.com./A": ["198.51.100.77"]}, "cutover": "web", "event_id": "r1" }"#;
    let (s2, again, _) = api
        .post_raw("/v1/hooks/post-recovery", same, Auth::Bearer(TOKEN))
        .await;
    assert_eq!(s2, s);
    assert_eq!(again, first);
    assert_eq!(api.zone().await, after);
    assert_eq!(api.store.runs(100).unwrap().len(), runs);
    // The same id with another body: 409, nothing changes.
    let other = json!({"event_id": "r1", "cutover": "web",
                       "targets": {"www.example.com./A": ["198.51.100.99"]}});
    let (s, v, _) = api.hook("post-recovery", other).await;
    assert_error(s, &v, StatusCode::CONFLICT, "another body");
    assert_eq!(api.zone().await, after);
    // The same id on another hook: 409.
    let (s, v, _) = api
        .hook("failback", json!({"event_id": "r1", "cutover": "web"}))
        .await;
    assert_error(s, &v, StatusCode::CONFLICT, "another body");

    // Ten concurrent failback hooks with distinct ids: one applies, the others get 409.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let client = api.client.clone();
        let url = api.url("/v1/hooks/failback");
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(TOKEN)
                .json(&json!({"event_id": format!("c{i}"), "cutover": "web", "stage": "all"}))
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }));
    }
    let mut ok = Vec::new();
    for t in tasks {
        let (s, v) = t.await.unwrap();
        if s == StatusCode::CONFLICT {
            assert!(v["detail"].is_string());
        } else {
            ok.push((s, v));
        }
    }
    assert!(!ok.is_empty());
    for (s, v) in &ok {
        settle(&api, *s, v).await;
    }
    let failbacks = api
        .store
        .cutover_runs("web")
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "failback" && r.state == switchback::store::RunState::Done)
        .count();
    assert_eq!(failbacks, 1, "a double apply");

    // Concurrent duplicates of one event: one apply, every answer the same or 409.
    let dup = json!({"event_id": "d1", "cutover": "web", "targets": {"www.example.com./A": ["198.51.100.78"]}});
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = api.client.clone();
        let url = api.url("/v1/hooks/post-recovery");
        let dup = dup.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(TOKEN)
                .json(&dup)
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        let (s, v) = t.await.unwrap();
        if s != StatusCode::CONFLICT {
            answers.push((s, v));
        }
    }
    assert!(!answers.is_empty());
    settle(&api, answers[0].0, &answers[0].1).await;
    let failovers = api
        .store
        .cutover_runs("web")
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "failover")
        .count();
    assert_eq!(failovers, 2, "r1 and d1, each once");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_are_busy_while_another_actor_holds_the_lease_and_skip_soak_skips_only_the_soak() {
    use switchback::planner::cutover::{ActorKind, Holder, Lease};
    let api = Api::start_full(ApiOptions::default(), true, "1h").await;
    // A person at a terminal (or another node) holds the cutover: the hook is 409 busy,
    // naming the holder, and nothing changes.
    let me = Holder::me("a", ActorKind::Cli, "ops@host");
    let lease = Lease::acquire(&api.store, "web", &me, None).await.unwrap();
    let before = api.zone().await;
    let (s, v, _) = api
        .hook("post-recovery", json!({"event_id": "b1", "cutover": "web"}))
        .await;
    assert_error(s, &v, StatusCode::CONFLICT, "held by cli ops@host (pid ");
    assert_eq!(v["error"], "busy", "{v}");
    assert_eq!(api.zone().await, before);
    // The event was not recorded: sent again once the holder is done, it applies.
    drop(lease);
    let (s, v, _) = api
        .hook("post-recovery", json!({"event_id": "b1", "cutover": "web"}))
        .await;
    settle(&api, s, &v).await;
    // The first stage may follow the failover at once (no soak before it).
    let (s, v, _) = api
        .hook("failback", json!({"event_id": "f1", "cutover": "web"}))
        .await;
    settle(&api, s, &v).await;
    // The second waits for the soak (1 h) ...
    let (s, v, _) = api
        .hook("failback", json!({"event_id": "f2", "cutover": "web"}))
        .await;
    assert_error(s, &v, StatusCode::CONFLICT, "soaked");
    assert_eq!(v["error"], "soak", "{v}");
    // ... unless the caller skips it; `skip_soak` must be a boolean.
    let (s, v, _) = api
        .hook(
            "failback",
            json!({"event_id": "f3", "cutover": "web", "skip_soak": "yes"}),
        )
        .await;
    assert_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY, "skip_soak");
    let (s, v, _) = api
        .hook(
            "failback",
            json!({"event_id": "f4", "cutover": "web", "skip_soak": true}),
        )
        .await;
    let done = settle(&api, s, &v).await;
    let st = switchback::planner::cutover::status(
        &api.cfg,
        &api.store,
        &switchback::planner::cutover::find(&api.cfg, "web").unwrap(),
    )
    .unwrap();
    assert_eq!(st.stage, 2, "{done}");
    let journal = serde_json::to_string(&st.runs.last().unwrap().journal).unwrap();
    assert!(journal.contains("soak skipped"), "{journal}");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_refused_and_change_nothing() {
    let api = Api::start().await;
    let before = api.zone().await;
    let p = "/v1/hooks/post-recovery";
    let big = format!(
        "{{\"event_id\":\"b\",\"cutover\":\"web\",\"pad\":\"{}\"}}",
        "x".repeat(70 * 1024)
    );
    let (s, v, _) = api.post_raw(p, &big, Auth::Bearer(TOKEN)).await;
    assert_error(s, &v, StatusCode::PAYLOAD_TOO_LARGE, "65536");
    let sig = auth::sign(SECRET.as_bytes(), now(), p, big.as_bytes());
    let (s, v, _) = api.post_raw(p, &big, Auth::Sig(&sig)).await;
    assert_error(s, &v, StatusCode::PAYLOAD_TOO_LARGE, "65536");
    let (s, v, _) = api
        .post_raw(p, "{\"event_id\": ", Auth::Bearer(TOKEN))
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "not valid JSON");
    let (s, v, _) = api.post_raw(p, "[1,2]", Auth::Bearer(TOKEN)).await;
    assert_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY, "JSON object");
    let cases = [
        (json!({"cutover": "web"}), "`event_id`"),
        (json!({"event_id": 5, "cutover": "web"}), "`event_id`"),
        (json!({"event_id": "x"}), "`cutover`"),
        (json!({"event_id": "x", "cutover": ["web"]}), "`cutover`"),
        (
            json!({"event_id": "x", "cutover": "web", "targets": ["a"]}),
            "`targets`",
        ),
        (
            json!({"event_id": "x", "cutover": "web", "targets": {"www.example.com./A": "198.51.100.1"}}),
            "`targets`",
        ),
        (
            json!({"event_id": "x", "cutover": "web", "target": {}}),
            "`target`",
        ),
    ];
    for (body, field) in cases {
        let (s, v, _) = api.hook("post-recovery", body).await;
        assert_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    for stage in [json!("soon"), json!(0), json!(true)] {
        let (s, v, _) = api
            .hook(
                "failback",
                json!({"event_id": "x", "cutover": "web", "stage": stage}),
            )
            .await;
        assert_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY, "`stage`");
    }
    let (s, v, _) = api
        .hook("post-recovery", json!({"event_id": "x", "cutover": "nope"}))
        .await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "nope");
    // A failback before any failover: refused by the engine; the event is recorded as failed,
    // so it may be sent again (and is refused again, not replayed).
    let (s, v, _) = api
        .hook("failback", json!({"event_id": "fb0", "cutover": "web"}))
        .await;
    assert_error(s, &v, StatusCode::CONFLICT, "web");
    let ev = api.store.webhook_event("fb0").unwrap().unwrap();
    assert_eq!(ev.state, "failed", "{ev:?}");
    let (s2, v2, _) = api
        .hook("failback", json!({"event_id": "fb0", "cutover": "web"}))
        .await;
    assert_eq!((s2, &v2), (s, &v), "run again, with the same outcome");
    // A target outside the cutover.
    let (s, v, _) = api
        .hook(
            "post-recovery",
            json!({"event_id": "t0", "cutover": "web", "targets": {"mail.example.com./A": ["198.51.100.1"]}}),
        )
        .await;
    assert_error(
        s,
        &v,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not a record of this cutover",
    );
    let (s, v, _) = api
        .hook(
            "post-recovery",
            json!({"event_id": "t1", "cutover": "web", "targets": {"www.example.com./A": ["not-an-ip"]}}),
        )
        .await;
    assert_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY, "`targets`");
    let r = api.client.get(api.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"].is_string());
    let r = api
        .client
        .get(api.url("/v1/hooks/failback"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        api.zone().await,
        before,
        "a refused request changed the zone"
    );
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after() {
    let opts = ApiOptions {
        rate_per_second: 1,
        burst: 3,
        ..ApiOptions::default()
    };
    let api = Api::start_with(opts, true).await;
    let mut limited = None;
    for _ in 0..10 {
        let r = api
            .client
            .get(api.url("/v1/cutovers"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("no 429 after 10 requests with a burst of 3");
    let ra: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&ra), "{ra}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "rate_limited");
    // /healthz is exempt.
    let r = api.client.get(api.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    api.stop().await;
}

/// The status routes read a bounded number of runs (the last 10, by index), however many a
/// cutover has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_only_the_last_runs() {
    let api = Api::start().await;
    let zone: Name = "example.com.".parse().unwrap();
    for i in 0..300 {
        let r = api
            .store
            .start_run("failback", "web", "builtin", &zone, &json!({"n": i}))
            .unwrap();
        api.store
            .finish_run(r, switchback::store::RunState::Done, &json!({}))
            .unwrap();
    }
    let (s, v) = api.get("/v1/cutovers/web").await;
    assert_eq!(s, StatusCode::OK);
    let runs = v["last_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 10, "{v}");
    assert_eq!(runs.last().unwrap()["id"], 300, "the newest last");
    let last = api.store.cutover_runs_last("web", 10).unwrap();
    assert_eq!(last.first().map(|r| r.id.0), Some(291));
    let page = api.client.get(api.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    api.stop().await;
}

/// The open status page shows states and stages; event ids, snapshot ids, hook runs and
/// errors only with the token (as `/v1` does).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_status_page_hides_ids_and_errors() {
    let api = Api::start().await;
    let (s, v, _) = api
        .hook(
            "post-recovery",
            json!({"event_id": "evt-private-77", "cutover": "web"}),
        )
        .await;
    let done = settle(&api, s, &v).await;
    let snap = done["result"]["outcome"]["snapshot_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{done}"))
        .to_string();
    // A refused step leaves an error text behind.
    let (s, _, _) = api
        .hook(
            "post-recovery",
            json!({"event_id": "evt-private-78", "cutover": "web"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let page = |token: Option<&str>| {
        let mut rb = api.client.get(api.url("/"));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        async move { rb.send().await.unwrap().text().await.unwrap() }
    };
    let open = page(None).await;
    assert!(open.contains("failed-over"), "{open}");
    for secret in [
        snap.as_str(),
        "evt-private-77",
        "evt-private-78",
        "fail back or abort",
    ] {
        assert!(
            !open.contains(secret),
            "the open page shows {secret:?}:\n{open}"
        );
    }
    let wrong = page(Some("not-the-token")).await;
    assert!(!wrong.contains(&snap));
    let full = page(Some(TOKEN)).await;
    assert!(
        full.contains(&snap) && full.contains("evt-private-77"),
        "{full}"
    );
    api.stop().await;
}

/// Unfinished request heads from one client: it gets its share of the connections and no
/// more, each is closed after the header-read timeout, and other clients are served all along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_request_heads_are_capped_and_timed_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let opts = ApiOptions {
        conn: switchback::http::conn::ConnLimits {
            per_client: 8,
            total: 16,
            header_timeout: Duration::from_millis(500),
            ..Default::default()
        },
        ..ApiOptions::default()
    };
    let api = Api::start_with(opts, true).await;
    let addr: std::net::SocketAddr = api.base.trim_start_matches("http://").parse().unwrap();
    let mut slow = Vec::new();
    for _ in 0..50 {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind("127.0.0.5:0".parse().unwrap()).unwrap();
        let mut c = s.connect(addr).await.unwrap();
        let _ = c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
        slow.push(c);
    }
    // Another client is served meanwhile (from 127.0.0.1).
    let (s, _) = api.get("/v1/cutovers").await;
    assert_eq!(s, StatusCode::OK);
    // Every slow connection is closed: the ones over the share at once, the others after the
    // header timeout.
    let t = std::time::Instant::now();
    for (i, c) in slow.iter_mut().enumerate() {
        let mut buf = [0u8; 256];
        let r = tokio::time::timeout(Duration::from_secs(3), c.read(&mut buf)).await;
        assert!(
            matches!(r, Ok(Ok(_)) | Ok(Err(_))),
            "connection {i} still open after {:?}",
            t.elapsed()
        );
    }
    assert!(t.elapsed() < Duration::from_secs(3));
    let (s, _) = api.get("/v1/cutovers").await;
    assert_eq!(s, StatusCode::OK);
    api.stop().await;
}

/// Anonymous and authenticated requests have separate buckets: a flood of the open routes (or
/// of requests with bad credentials) from an address never makes that address's next signed
/// hook a 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_flood_never_starves_a_signed_hook() {
    let opts = ApiOptions {
        rate_per_second: 1,
        burst: 5,
        ..ApiOptions::default()
    };
    let api = Api::start_with(opts, true).await;
    let mut limited = 0;
    for i in 0..130 {
        let url = match i % 3 {
            0 => api.url("/"),
            1 => api.url("/metrics"),
            _ => api.url("/v1/nope"),
        };
        let r = api.client.get(url).send().await.unwrap();
        limited += usize::from(r.status() == StatusCode::TOO_MANY_REQUESTS);
    }
    assert!(
        limited > 100,
        "the anonymous bucket limits: {limited} of 130"
    );
    // Wrong credentials count as anonymous too (no budget to spend by guessing).
    let r = api
        .client
        .get(api.url("/v1/cutovers"))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The signed hook from the same address goes through.
    let p = "/v1/hooks/pre-recovery";
    let body = json!({"event_id": "flood-1", "cutover": "web"}).to_string();
    let sig = auth::sign(SECRET.as_bytes(), now(), p, body.as_bytes());
    let (s, v, _) = api.post_raw(p, &body, Auth::Sig(&sig)).await;
    assert!(s == StatusCode::OK || s == StatusCode::ACCEPTED, "{s} {v}");
    // And a bearer request.
    let (s, _) = api.get("/v1/cutovers").await;
    assert_eq!(s, StatusCode::OK);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token() {
    let api = Api::start_with(ApiOptions::default(), false).await;
    let (s, v) = api.get("/v1/cutovers").await;
    assert_error(
        s,
        &v,
        StatusCode::UNAUTHORIZED,
        "no API token is configured",
    );
    let r = api
        .client
        .get(api.url("/v1/cutovers"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    api.stop().await;
    // Not on a non-loopback address.
    let e = http::check_listen("0.0.0.0:8053".parse().unwrap(), &Secrets::default()).unwrap_err();
    assert!(e.to_string().contains("no API token"), "{e}");
    let with = Secrets {
        token: Some(b"x".to_vec()),
        webhook_secret: None,
    };
    assert!(http::check_listen("0.0.0.0:8053".parse().unwrap(), &with).is_ok());
    assert!(http::check_listen("127.0.0.1:8053".parse().unwrap(), &Secrets::default()).is_ok());
}
