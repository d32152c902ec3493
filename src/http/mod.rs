//! The HTTP API (DESIGN.md "HTTP API"): recovery webhooks, status, metrics and the status page.
//!
//! - `POST /v1/hooks/{pre-recovery,post-recovery,failback}`: see [`webhook`]. A hook answers
//!   within [`ApiOptions::hook_wait`] (1 s): with the result when the work is done by then,
//!   else `202` with the `run_id` to follow at `GET /v1/cutovers/{name}`.
//! - `GET /v1/cutovers`, `/v1/cutovers/{name}`, `/v1/snapshots`, `/v1/health`: see [`status`].
//! - `GET /healthz` (liveness), `GET /metrics` (Prometheus text) and `GET /` (the status page)
//!   need no authentication: they are meant for an internal listener (the default is
//!   loopback). Every `/v1` route does (see [`auth`]).
//! - No token configured: the API refuses to start on a non-loopback address; on loopback it
//!   runs, and `/v1` answers 401 saying that no token is configured (signed hooks still work
//!   when a webhook secret is configured).
//! - Every error is `{"error", "detail"}`; bodies over 64 KiB get 413; a per-client (IP) rate
//!   limit answers 429 with `Retry-After`; a request taking longer than
//!   [`ApiOptions::request_timeout`] gets 503.

pub mod auth;
pub mod conn;
pub mod error;
pub mod metrics;
pub mod status;
pub mod status_page;
mod status_rto;
pub mod webhook;

use std::collections::VecDeque;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use governor::clock::Clock;
use tracing::{info, warn};

pub use auth::Secrets;
pub use error::ApiError;
pub use status::StatusView;

use crate::config::Config;
use crate::health::HealthMonitor;
use crate::store::Store;

/// Request bodies larger than this get 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Tunables (defaults: 20 requests/s per client with bursts of 100, 10 s per request, hooks
/// answer within 1 s).
#[derive(Debug, Clone)]
pub struct ApiOptions {
    pub rate_per_second: u32,
    pub burst: u32,
    pub request_timeout: Duration,
    pub hook_wait: Duration,
    /// Connection caps and the header-read timeout.
    pub conn: conn::ConnLimits,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            rate_per_second: 20,
            burst: 100,
            request_timeout: Duration::from_secs(10),
            hook_wait: Duration::from_secs(1),
            conn: conn::ConnLimits::default(),
        }
    }
}

/// Why the API does not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiStartError {
    #[error(
        "refusing to serve the HTTP API on {addr}: it is not a loopback address and no API token \
         is configured (set [api] token_env to the name of an environment variable holding the \
         token, and set that variable), or listen on 127.0.0.1"
    )]
    NoToken { addr: SocketAddr },
}

/// Check that the API may listen on `addr` with `secrets`.
pub fn check_listen(addr: SocketAddr, secrets: &Secrets) -> Result<(), ApiStartError> {
    if secrets.token.is_none() && !addr.ip().is_loopback() {
        return Err(ApiStartError::NoToken { addr });
    }
    Ok(())
}

/// A hook's work, as `GET /v1/cutovers/{name}` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Job {
    pub run_id: String,
    pub cutover: String,
    pub hook: &'static str,
    pub event_id: String,
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub result: Option<serde_json::Value>,
    pub error: Option<serde_json::Value>,
}

/// How many finished hook runs are kept in memory.
const JOBS_KEPT: usize = 200;

/// The API's shared state.
pub struct ApiState {
    pub cfg: Arc<Config>,
    /// The process's providers (serve's serving built-in among them).
    pub providers: Arc<crate::registry::Providers>,
    pub store: Arc<Store>,
    pub monitor: Option<Arc<HealthMonitor>>,
    pub dns: Option<Arc<switchback_builtin::DnsMetrics>>,
    pub opts: ApiOptions,
    secrets: Secrets,
    jobs: Mutex<VecDeque<Job>>,
    next_job: std::sync::atomic::AtomicU64,
    /// Anonymous requests (the open routes, and `/v1` requests that fail authentication), per
    /// client address.
    limiter: governor::DefaultKeyedRateLimiter<IpAddr>,
    /// Authenticated requests, per client address: charged only after authentication, so a
    /// flood of the open routes never starves a hook.
    auth_limiter: governor::DefaultKeyedRateLimiter<IpAddr>,
    pub metrics: metrics::ApiMetrics,
}

impl ApiState {
    pub fn new(
        providers: Arc<crate::registry::Providers>,
        store: Arc<Store>,
        monitor: Option<Arc<HealthMonitor>>,
        secrets: Secrets,
        opts: ApiOptions,
    ) -> ApiState {
        let rate = NonZeroU32::new(opts.rate_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(opts.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = governor::Quota::per_second(rate).allow_burst(burst);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        ApiState {
            cfg: providers.config().clone(),
            providers,
            store,
            monitor,
            dns: None,
            opts,
            secrets,
            jobs: Mutex::default(),
            next_job: std::sync::atomic::AtomicU64::new(started * 1000),
            limiter: governor::RateLimiter::keyed(quota),
            auth_limiter: governor::RateLimiter::keyed(quota),
            metrics: metrics::ApiMetrics::default(),
        }
    }

    /// With the built-in DNS server's counters (for `/metrics`).
    pub fn with_dns_metrics(mut self, dns: Arc<switchback_builtin::DnsMetrics>) -> ApiState {
        self.dns = Some(dns);
        self
    }

    fn new_job(&self, cutover: &str, hook: &'static str, event_id: &str) -> String {
        let n = self
            .next_job
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("h-{n}");
        let job = Job {
            run_id: id.clone(),
            cutover: cutover.to_string(),
            hook,
            event_id: event_id.to_string(),
            state: "running",
            started_at: now_text(),
            finished_at: None,
            result: None,
            error: None,
        };
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if jobs.len() >= JOBS_KEPT {
            if let Some(i) = jobs.iter().position(|j| j.state != "running") {
                jobs.remove(i);
            }
        }
        jobs.push_back(job);
        id
    }

    fn finish_job(&self, id: &str, result: Result<serde_json::Value, &ApiError>) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(j) = jobs.iter_mut().find(|j| j.run_id == id) {
            j.finished_at = Some(now_text());
            match result {
                Ok(v) => {
                    j.state = "done";
                    j.result = Some(v);
                }
                Err(e) => {
                    j.state = "failed";
                    j.error = Some(e.body());
                }
            }
        }
    }

    /// The hook runs of cutover `name`, oldest first.
    pub fn jobs(&self, name: &str) -> Vec<Job> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.iter().filter(|j| j.cutover == name).cloned().collect()
    }
}

/// Run `f` (store reads) on the blocking pool: the runtime that also serves TCP DNS never
/// waits on SQLite.
pub(crate) async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("status task failed: {e}"))
}

pub(crate) fn now_text() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// The routes, with authentication, rate limit, timeout, body limit and metrics.
pub fn router(state: Arc<ApiState>) -> Router {
    let v1 = Router::new()
        .route("/v1/hooks/pre-recovery", post(webhook::pre_recovery))
        .route("/v1/hooks/post-recovery", post(webhook::post_recovery))
        .route("/v1/hooks/failback", post(webhook::failback))
        .route("/v1/cutovers", get(status::cutovers))
        .route("/v1/cutovers/{name}", get(status::cutover))
        .route("/v1/snapshots", get(status::snapshots))
        .route("/v1/health", get(status::health))
        .route("/v1/nodes", get(status::nodes))
        .route_layer(from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .merge(v1)
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"ok": true})) }),
        )
        .route("/metrics", get(metrics::handler))
        .route("/", get(status_page_handler))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(state.clone(), timeout))
        .layer(from_fn_with_state(state.clone(), rate_limit))
        .layer(from_fn_with_state(state.clone(), count))
        .with_state(state)
}

async fn status_page_handler(
    State(s): State<Arc<ApiState>>,
    headers: axum::http::HeaderMap,
) -> Response {
    // Open to all: states and stages. Ids and errors only with the token (as on /v1).
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| auth::check_bearer(&s.secrets, v).is_ok());
    let view = match off_runtime(move || status::view(&s)).await {
        Ok(v) => v.map(|v| if authorized { v } else { v.redacted() }),
        Err(e) => Err(ApiError::internal(e)),
    };
    match view {
        Ok(v) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            status_page::render(&v),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Serve on `listener` until `shutdown` (graceful: requests in progress are finished).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<ApiState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    check_listen(addr, &state.secrets).map_err(std::io::Error::other)?;
    info!(
        listen = %addr,
        bearer = state.secrets.token.is_some(),
        signed_hooks = state.secrets.webhook_secret.is_some(),
        "switchback serving the HTTP API"
    );
    let limits = state.opts.conn;
    conn::serve(listener, router(state), limits, shutdown).await
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn peer(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

/// Charge one request of `ip` to `limiter`: 429 with `Retry-After` when over.
fn charge(
    s: &ApiState,
    limiter: &governor::DefaultKeyedRateLimiter<IpAddr>,
    ip: IpAddr,
) -> Result<(), ApiError> {
    if let Err(not_until) = limiter.check_key(&ip) {
        let wait = not_until.wait_time_from(limiter.clock().now());
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "more than {} requests per second from this client; retry later",
                s.opts.rate_per_second
            ),
        );
        e.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        return Err(e);
    }
    if limiter.len() > 10_000 {
        limiter.retain_recent();
    }
    Ok(())
}

/// Authentication of `/v1`: the bearer token, or (hooks only) the body's signature. A request
/// that fails it is charged to the anonymous bucket; one that passes, to the authenticated
/// bucket (after the check, so nobody can spend another's budget).
async fn authenticate(State(s): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    let ip = peer(&req);
    let denied = |s: &ApiState, e: ApiError| match charge(s, &s.limiter, ip) {
        Ok(()) => e.into_response(),
        Err(limited) => limited.into_response(),
    };
    let admitted = |s: &ApiState| charge(s, &s.auth_limiter, ip);
    let headers = req.headers();
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v.to_str().unwrap_or("");
        return match auth::check_bearer(&s.secrets, v) {
            Ok(()) => match admitted(&s) {
                Ok(()) => next.run(req).await,
                Err(e) => e.into_response(),
            },
            Err(d) => denied(&s, ApiError::unauthorized(d.to_string())),
        };
    }
    let sig = headers
        .get(auth::SIGNATURE_HEADER)
        .map(|v| v.to_str().unwrap_or("").to_string());
    let Some(sig) = sig else {
        let detail = if s.secrets.token.is_none() {
            "no API token is configured ([api] token_env names an unset or empty variable): \
             the /v1 routes need one (signed hooks excepted)"
                .to_string()
        } else {
            auth::Denied::NoCredentials.to_string()
        };
        return denied(&s, ApiError::unauthorized(detail));
    };
    if !req.uri().path().starts_with("/v1/hooks/") {
        return denied(
            &s,
            ApiError::unauthorized("a signature authenticates hooks only: send a bearer token"),
        );
    }
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is over {BODY_LIMIT} bytes"),
            )
            .into_response();
        }
    };
    match auth::check_signature(&s.secrets, &sig, &path, &bytes, unix_now()) {
        Ok(()) => match admitted(&s) {
            Ok(()) => {
                next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                    .await
            }
            Err(e) => e.into_response(),
        },
        Err(d) => denied(&s, ApiError::unauthorized(d.to_string())),
    }
}

/// The per-client rate limit of anonymous requests (by peer IP); `/healthz` is exempt and
/// `/v1` is charged by [`authenticate`] (to the bucket its authentication decides).
async fn rate_limit(State(s): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    let route = route_label(req.uri().path());
    if route != "/healthz" && !route.starts_with("/v1/") {
        if let Err(e) = charge(&s, &s.limiter, peer(&req)) {
            return e.into_response();
        }
    }
    next.run(req).await
}

/// A request that takes too long gets 503 (the hooks' own work continues in the background).
async fn timeout(State(s): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(s.opts.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            warn!("API request timed out");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the request took longer than {} s",
                    s.opts.request_timeout.as_secs_f64()
                ),
            )
            .into_response()
        }
    }
}

/// Count requests by route and status.
async fn count(State(s): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    let route = route_label(req.uri().path());
    let r = next.run(req).await;
    s.metrics.count_request(route, r.status().as_u16());
    r
}

/// The route a path belongs to (a bounded set of label values).
fn route_label(path: &str) -> &'static str {
    const ROUTES: &[&str] = &[
        "/v1/hooks/pre-recovery",
        "/v1/hooks/post-recovery",
        "/v1/hooks/failback",
        "/v1/cutovers",
        "/v1/snapshots",
        "/v1/health",
        "/healthz",
        "/metrics",
        "/",
    ];
    if let Some(r) = ROUTES.iter().find(|r| **r == path) {
        return r;
    }
    match path.strip_prefix("/v1/cutovers/") {
        Some(rest) if !rest.is_empty() && !rest.contains('/') => "/v1/cutovers/{name}",
        _ => "other",
    }
}
