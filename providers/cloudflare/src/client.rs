//! A thin client for Cloudflare API v4: paced (governor), retried where that is safe, recorded
//! on request (for the contract tests), and careful with the token.
//!
//! - Every request waits for the rate limiter (`rate` per 5 minutes).
//! - 429: wait `retry-after` (seconds; 1 s when absent), at most `throttle_budget` in total.
//! - 5xx, timeouts, connection failures: retried with jittered exponential backoff, at most
//!   `budget` in total. A timed-out POST is not retried (it may have been applied): the error
//!   says to read the zone first.
//! - 4xx: never retried; Cloudflare's `errors[].code` and `message` are kept in [`ClientError`].
//! - The token lives only in a sensitive header value; [`Secret`]'s `Debug` hides it, no log
//!   line or error carries it.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde_json::Value;
use tracing::{debug, warn};

/// A secret string (the API token). `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One request as sent (path relative to the endpoint, with its query; JSON body). Never holds
/// the token. Used by the contract tests to replay every request against Cloudflare's schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub body: Option<Value>,
}

/// Where a client records its requests (see [`crate::Cloudflare::with_recorder`]).
pub type Recorder = Arc<Mutex<Vec<RecordedRequest>>>;

/// Retry limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total time spent waiting between retries of 5xx answers, timeouts and connection errors.
    pub budget: Duration,
    /// Total time spent waiting on 429 `retry-after`.
    pub throttle_budget: Duration,
    /// First backoff (doubled on each retry, capped at 10 s, with jitter).
    pub base: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            budget: Duration::from_secs(60),
            throttle_budget: Duration::from_secs(600),
            base: Duration::from_millis(500),
            timeout: Duration::from_secs(60),
        }
    }
}

/// One entry of Cloudflare's `errors` array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiMessage {
    pub code: i64,
    pub message: String,
}

impl fmt::Display for ApiMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

fn show_messages(m: &[ApiMessage]) -> String {
    if m.is_empty() {
        return "no error details".into();
    }
    m.iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Cloudflare answered with an error (4xx, `success: false`, or 5xx after the retries).
    #[error("Cloudflare refused {method} {path} (HTTP {status}): {}", show_messages(.errors))]
    Api {
        method: String,
        path: String,
        status: u16,
        errors: Vec<ApiMessage>,
    },
    /// Still throttled after waiting `throttle_budget`.
    #[error("Cloudflare kept answering 429 to {method} {path}: gave up after waiting {waited:?}")]
    Throttled {
        method: String,
        path: String,
        waited: Duration,
        /// What the last 429 asked for (`Retry-After`, clamped; 1 s when it said nothing).
        retry_after: Duration,
    },
    /// No answer (timeout, connection), after the retries where retrying was safe.
    #[error("{method} {path}: {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
    },
    /// An answer that is not Cloudflare's JSON envelope.
    #[error("{method} {path}: unreadable answer: {message}")]
    Decode {
        method: String,
        path: String,
        message: String,
    },
    /// A request that is not idempotent (POST) got no answer, or a 5xx: it may have been
    /// applied, so it was not sent again. The caller reads the zone and decides.
    #[error(
        "{method} {path}: {message}; not sent again: it may have been applied (the zone is read \
         to find out)"
    )]
    MaybeApplied {
        method: String,
        path: String,
        message: String,
    },
}

impl ClientError {
    /// The request may or may not have been applied ([`ClientError::MaybeApplied`]).
    pub fn maybe_applied(&self) -> bool {
        matches!(self, ClientError::MaybeApplied { .. })
    }

    /// The batch endpoint is not available to this account or API (no route, method not
    /// allowed, not entitled): fall back to single-record calls.
    pub fn is_batch_refusal(&self) -> bool {
        match self {
            ClientError::Api { status, errors, .. } => {
                matches!(status, 404 | 405 | 501)
                    || (*status == 403
                        && errors.iter().any(|e| {
                            let m = e.message.to_ascii_lowercase();
                            m.contains("entitle") || m.contains("not available")
                        }))
            }
            _ => false,
        }
    }

    /// Cloudflare's error messages, when it sent some.
    pub fn api_messages(&self) -> &[ApiMessage] {
        match self {
            ClientError::Api { errors, .. } => errors,
            _ => &[],
        }
    }
}

/// The API v4 client.
pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: HeaderValue,
    limiter: DefaultDirectRateLimiter,
    retry: RetryPolicy,
    recorder: Option<Recorder>,
    calls: AtomicUsize,
    /// Requests sent again (after a timeout, a 5xx or a 429), included in `calls`.
    retries: AtomicUsize,
    /// Requests that ended in an error (after their retries).
    errors: AtomicUsize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("auth", &"Bearer <redacted>")
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Percent-encode a query value (RFC 3986 unreserved characters stay).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// `rate` requests per `window`, in a bucket of `rate`.
    pub fn new(
        endpoint: &str,
        token: &Secret,
        rate: u32,
        window: Duration,
        retry: RetryPolicy,
    ) -> Result<Client, String> {
        let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
        let period = window / rate.get();
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .ok_or("rate: the period between requests is zero")?
            .allow_burst(rate);
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| "the API token holds characters a header cannot carry".to_string())?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .user_agent(concat!("switchback-cloudflare/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client {
            http,
            base: endpoint.trim_end_matches('/').to_string(),
            auth,
            limiter: RateLimiter::direct(quota),
            retry,
            recorder: None,
            calls: AtomicUsize::new(0),
            retries: AtomicUsize::new(0),
            errors: AtomicUsize::new(0),
        })
    }

    /// New retry limits (and request timeout).
    pub fn set_retry(&mut self, retry: RetryPolicy) {
        if let Ok(http) = reqwest::Client::builder()
            .timeout(retry.timeout)
            .user_agent(concat!("switchback-cloudflare/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            self.http = http;
        }
        self.retry = retry;
    }

    pub fn set_recorder(&mut self, r: Recorder) {
        self.recorder = Some(r);
    }

    /// Requests sent so far (each retry counts).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Requests sent again so far (included in [`Client::calls`]).
    pub fn retries(&self) -> usize {
        self.retries.load(Ordering::Relaxed)
    }

    /// Requests that failed so far (after their retries).
    pub fn errors(&self) -> usize {
        self.errors.load(Ordering::Relaxed)
    }

    fn record(&self, method: &Method, path: &str, body: Option<&Value>) {
        if let Some(r) = &self.recorder {
            r.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(RecordedRequest {
                    method: method.to_string(),
                    path: path.to_string(),
                    body: body.cloned(),
                });
        }
    }

    fn backoff(&self, attempt: u32, waited: Duration) -> Option<Duration> {
        let exp = self
            .retry
            .base
            .saturating_mul(1u32 << attempt.min(16))
            .min(Duration::from_secs(10));
        let jitter: f64 = rand::rng().random_range(0.5..=1.0);
        let d = exp.mul_f64(jitter);
        (waited.saturating_add(d) <= self.retry.budget).then_some(d)
    }

    /// Send one request and return Cloudflare's JSON envelope (`success: true`).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let r = self.call_with_retries(method, path, body).await;
        if r.is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    async fn call_with_retries(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let m = method.to_string();
        let mut first = true;
        let retry_timeouts = method != Method::POST;
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        let mut throttled = Duration::ZERO;
        loop {
            self.limiter.until_ready().await;
            self.record(&method, path, body);
            self.calls.fetch_add(1, Ordering::SeqCst);
            if !std::mem::take(&mut first) {
                self.retries.fetch_add(1, Ordering::Relaxed);
            }
            let started = Instant::now();
            let mut req = self
                .http
                .request(method.clone(), format!("{}{}", self.base, path))
                .header(AUTHORIZATION, self.auth.clone());
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    let what = if e.is_timeout() {
                        "timed out"
                    } else if e.is_connect() {
                        "could not connect"
                    } else {
                        "failed"
                    };
                    let safe = e.is_connect() || retry_timeouts;
                    if safe {
                        if let Some(d) = self.backoff(attempt, waited) {
                            warn!(method = %m, path, attempt, delay_ms = d.as_millis() as u64,
                                "Cloudflare request {what}; retrying");
                            tokio::time::sleep(d).await;
                            waited += d;
                            attempt += 1;
                            continue;
                        }
                    }
                    let message = format!("request {what}: {}", e.without_url());
                    if !safe {
                        return Err(ClientError::MaybeApplied {
                            method: m,
                            path: path.to_string(),
                            message,
                        });
                    }
                    return Err(ClientError::Transport {
                        method: m,
                        path: path.to_string(),
                        message: format!("{message} (gave up after {attempt} retries)"),
                    });
                }
            };
            let status = resp.status();
            debug!(method = %m, path, status = status.as_u16(),
                elapsed_ms = started.elapsed().as_millis() as u64, "Cloudflare request");
            if status.as_u16() == 429 {
                let wait = retry_after(resp.headers()).unwrap_or(Duration::from_secs(1));
                if throttled.saturating_add(wait) > self.retry.throttle_budget {
                    return Err(ClientError::Throttled {
                        method: m,
                        path: path.to_string(),
                        waited: throttled,
                        retry_after: wait,
                    });
                }
                warn!(method = %m, path, retry_after_ms = wait.as_millis() as u64,
                    "Cloudflare rate limit (429); waiting retry-after");
                tokio::time::sleep(wait).await;
                throttled += wait;
                continue;
            }
            let bytes = match resp.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    if retry_timeouts {
                        if let Some(d) = self.backoff(attempt, waited) {
                            tokio::time::sleep(d).await;
                            waited += d;
                            attempt += 1;
                            continue;
                        }
                    } else {
                        return Err(ClientError::MaybeApplied {
                            method: m,
                            path: path.to_string(),
                            message: format!("reading the answer failed: {}", e.without_url()),
                        });
                    }
                    return Err(ClientError::Transport {
                        method: m,
                        path: path.to_string(),
                        message: format!("reading the answer failed: {}", e.without_url()),
                    });
                }
            };
            let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
            if status.is_server_error() && !retry_timeouts {
                // A POST (batch or create) answered 5xx may have been applied: never resent.
                return Err(ClientError::MaybeApplied {
                    method: m,
                    path: path.to_string(),
                    message: format!("Cloudflare answered HTTP {}", status.as_u16()),
                });
            }
            if status.is_server_error() {
                if let Some(d) = self.backoff(attempt, waited) {
                    warn!(method = %m, path, status = status.as_u16(), attempt,
                        delay_ms = d.as_millis() as u64, "Cloudflare server error; retrying");
                    tokio::time::sleep(d).await;
                    waited += d;
                    attempt += 1;
                    continue;
                }
            }
            let Some(v) = parsed else {
                let text = String::from_utf8_lossy(&bytes);
                let snippet: String = text.chars().take(200).collect();
                if status.is_success() {
                    return Err(ClientError::Decode {
                        method: m,
                        path: path.to_string(),
                        message: format!("not JSON: {snippet:?}"),
                    });
                }
                return Err(ClientError::Api {
                    method: m,
                    path: path.to_string(),
                    status: status.as_u16(),
                    errors: vec![ApiMessage {
                        code: 0,
                        message: snippet,
                    }],
                });
            };
            if !status.is_success() || v.get("success") == Some(&Value::Bool(false)) {
                return Err(ClientError::Api {
                    method: m,
                    path: path.to_string(),
                    status: status.as_u16(),
                    errors: messages(&v),
                });
            }
            return Ok(v);
        }
    }

    /// GET every page of a collection (`page`/`per_page`, stopping by `result_info`).
    /// Returns the items and the number of pages fetched.
    pub async fn get_all(
        &self,
        path: &str,
        per_page: usize,
    ) -> Result<(Vec<Value>, usize), ClientError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut page = 1usize;
        let mut last_first: Option<Value> = None;
        loop {
            let p = format!("{path}{sep}per_page={per_page}&page={page}");
            let v = self.call(Method::GET, &p, None).await?;
            let items = match v.get("result") {
                Some(Value::Array(a)) => a.clone(),
                Some(Value::Null) | None => Vec::new(),
                Some(_) => {
                    return Err(ClientError::Decode {
                        method: "GET".into(),
                        path: p,
                        message: "`result` is not a list".into(),
                    });
                }
            };
            let n = items.len();
            let first = items.first().and_then(|i| i.get("id")).cloned();
            if n > 0 && first.is_some() && first == last_first {
                return Err(ClientError::Decode {
                    method: "GET".into(),
                    path: p,
                    message: format!("page {page} repeats the previous page; stopping"),
                });
            }
            last_first = first;
            out.extend(items);
            let info = v.get("result_info").cloned().unwrap_or(Value::Null);
            let total_pages = info.get("total_pages").and_then(Value::as_u64);
            let total_count = info.get("total_count").and_then(Value::as_u64);
            if n == 0 {
                break;
            }
            if let Some(tp) = total_pages {
                if page as u64 >= tp {
                    break;
                }
            } else if let Some(tc) = total_count {
                if out.len() as u64 >= tc {
                    break;
                }
            } else if n < per_page {
                break;
            }
            page += 1;
        }
        Ok((out, page))
    }
}

fn messages(v: &Value) -> Vec<ApiMessage> {
    let mut out = Vec::new();
    for key in ["errors", "messages"] {
        if let Some(Value::Array(a)) = v.get(key) {
            for e in a {
                let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
                let message = e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if !message.is_empty() || code != 0 {
                    out.push(ApiMessage { code, message });
                }
            }
        }
        if !out.is_empty() {
            break;
        }
    }
    out
}

/// The longest `retry-after` honoured: a larger one (or a nonsense one) waits this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// `retry-after` in seconds (integer or decimal), clamped to [`MAX_RETRY_AFTER`]; `None`
/// when absent or not a non-negative number (then 1 s is waited).
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_RETRY_AFTER.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_clamped_and_never_panics() {
        let at = |v: &str| {
            let mut h = reqwest::header::HeaderMap::new();
            h.insert(RETRY_AFTER, v.parse().unwrap());
            retry_after(&h)
        };
        assert_eq!(at("5"), Some(Duration::from_secs(5)));
        assert_eq!(at("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(at("1e30"), Some(MAX_RETRY_AFTER));
        assert_eq!(at("18446744073709551616"), Some(MAX_RETRY_AFTER), "2^64");
        assert_eq!(
            at("18446744073709551615"),
            Some(MAX_RETRY_AFTER),
            "u64::MAX"
        );
        assert_eq!(at("-1"), None);
        assert_eq!(at("NaN"), None);
        assert_eq!(at("inf"), None);
        assert_eq!(at("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn secrets_and_encoding() {
        let s = Secret::new("tok-123");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        let c = Client::new(
            "http://127.0.0.1:1/client/v4/",
            &s,
            1200,
            Duration::from_secs(300),
            RetryPolicy::default(),
        )
        .unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("tok-123"), "{d}");
        assert_eq!(c.base, "http://127.0.0.1:1/client/v4");
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
