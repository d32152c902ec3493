//! The wire: every Route 53 call goes through here, paced by governor at `rate`, retried with
//! jittered exponential backoff (bounded in total time) on `Throttling`,
//! `PriorRequestNotComplete`, 5xx and timeouts, and counted.
//!
//! Also here: paging of ListResourceRecordSets with a guard against a repeated page, batching
//! of changes at Route 53's limits, GetChange polling until INSYNC.

use std::collections::HashSet;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_route53::config::http::HttpResponse;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::types::{
    Change as NativeChange, ChangeAction, ChangeBatch, ChangeStatus, HostedZone, ResourceRecordSet,
    RrType,
};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use switchback_api::{RecordSet, RecordSetKey};

use crate::convert;

/// Route 53's limit on the characters of all Value elements in one change request.
pub const MAX_BATCH_VALUE_CHARS: usize = 32_000;

/// Timing knobs. The defaults suit real Route 53; tests shorten them.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// MaxItems of each ListResourceRecordSets page (Route 53 caps it at 300).
    pub page_size: i32,
    /// How long one HTTP attempt may take before it counts as timed out.
    pub attempt_timeout: Duration,
    /// First backoff between attempts (doubled each time, with jitter).
    pub backoff_base: Duration,
    /// Largest backoff between attempts.
    pub backoff_max: Duration,
    /// Total time one call may spend retrying before it gives up.
    pub retry_budget: Duration,
    /// First wait between two GetChange polls (doubled each time).
    pub poll_initial: Duration,
    /// Largest wait between two GetChange polls.
    pub poll_max: Duration,
    /// How long a change may stay PENDING before the apply gives up waiting.
    pub poll_budget: Duration,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            page_size: 300,
            attempt_timeout: Duration::from_secs(30),
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(10),
            retry_budget: Duration::from_secs(120),
            poll_initial: Duration::from_secs(1),
            poll_max: Duration::from_secs(15),
            poll_budget: Duration::from_secs(900),
        }
    }
}

/// API calls made (every HTTP attempt, retries included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    /// ListHostedZones, ListHostedZonesByName, GetHostedZone.
    pub zone_lookups: usize,
    /// ListResourceRecordSets pages.
    pub list_pages: usize,
    /// ChangeResourceRecordSets requests.
    pub change_batches: usize,
    /// GetChange requests.
    pub get_change_polls: usize,
    /// Attempts that were retries (included in the counts above).
    pub retries: usize,
}

impl CallStats {
    pub fn total(&self) -> usize {
        self.zone_lookups + self.list_pages + self.change_batches + self.get_change_polls
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Zone,
    List,
    Change,
    Poll,
}

#[derive(Default)]
struct Counters {
    zone_lookups: AtomicUsize,
    list_pages: AtomicUsize,
    change_batches: AtomicUsize,
    get_change_polls: AtomicUsize,
    retries: AtomicUsize,
}

/// How a failed attempt is handled.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Refused before it was carried out (throttling, a prior request still running): retry.
    Retry(String),
    /// Maybe carried out (5xx, timeout, connection lost): retry when the call is idempotent.
    Ambiguous(String),
    /// Refused for good.
    Fatal {
        code: Option<String>,
        message: String,
    },
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("Route 53 {op}: {code}: {message}")]
    Service {
        op: &'static str,
        code: String,
        message: String,
    },
    #[error("Route 53 {op}: {message}")]
    Other { op: &'static str, message: String },
    #[error("Route 53 {op}: gave up after {attempts} attempts in {elapsed:?}: {last}")]
    GaveUp {
        op: &'static str,
        attempts: usize,
        elapsed: Duration,
        last: String,
    },
}

impl CallError {
    pub fn code(&self) -> Option<&str> {
        match self {
            CallError::Service { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Route 53's answers to credentials it does not take.
const AUTH_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
];

impl From<CallError> for switchback_api::ProviderError {
    /// A failed call, classified: throttled past the retry budget, credentials refused, no
    /// answer, or other.
    fn from(e: CallError) -> switchback_api::ProviderError {
        use switchback_api::ProviderError as P;
        match &e {
            CallError::Service { code, .. } if AUTH_CODES.contains(&code.as_str()) => {
                P::Auth(e.to_string())
            }
            // Route 53 sends no Retry-After: how long to wait is not known.
            CallError::Service { code, .. } if RETRY_CODES.contains(&code.as_str()) => {
                P::RateLimited {
                    retry_after: None,
                    message: e.to_string(),
                }
            }
            CallError::GaveUp { last, .. }
                if last.contains("429") || RETRY_CODES.iter().any(|c| last.contains(c)) =>
            {
                P::RateLimited {
                    retry_after: None,
                    message: e.to_string(),
                }
            }
            CallError::GaveUp { .. } => P::Transport(e.to_string()),
            _ => P::Other(e.to_string()),
        }
    }
}

const RETRY_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "PriorRequestNotComplete",
    "RequestThrottled",
];

pub(crate) fn classify<E>(e: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().map(str::to_string);
            let message = se
                .err()
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP {status}"));
            let text = format!("{}: {message}", code.as_deref().unwrap_or("error"));
            if code.as_deref().is_some_and(|c| RETRY_CODES.contains(&c)) || status == 429 {
                Failure::Retry(text)
            } else if status >= 500 {
                Failure::Ambiguous(format!("HTTP {status}: {text}"))
            } else {
                Failure::Fatal { code, message }
            }
        }
        SdkError::ResponseError(re) => {
            let status = re.raw().status().as_u16();
            if status >= 500 {
                Failure::Ambiguous(format!("HTTP {status} (unreadable body)"))
            } else if status == 429 {
                Failure::Retry("HTTP 429".into())
            } else {
                Failure::Ambiguous(format!(
                    "unreadable response (HTTP {status}): {}",
                    aws_sdk_route53::error::DisplayErrorContext(e)
                ))
            }
        }
        SdkError::TimeoutError(_) => Failure::Ambiguous("timed out".into()),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            Failure::Ambiguous("timed out (connection)".into())
        }
        SdkError::DispatchFailure(d) if d.is_io() => Failure::Ambiguous(format!(
            "connection failed: {}",
            aws_sdk_route53::error::DisplayErrorContext(e)
        )),
        _ => Failure::Fatal {
            code: None,
            message: aws_sdk_route53::error::DisplayErrorContext(e).to_string(),
        },
    }
}

/// The Route 53 client: SDK client, rate limiter, tuning, counters.
pub(crate) struct Client {
    pub(crate) sdk: aws_sdk_route53::Client,
    limiter: DefaultDirectRateLimiter,
    pub(crate) tuning: Tuning,
    counters: Counters,
}

/// The outcome of one change batch.
pub(crate) enum Sent {
    /// Accepted: the change id to poll.
    Accepted(String),
    /// A timed-out attempt turned out to have been applied (checked by reading the zone):
    /// nothing to poll, nothing to send again.
    AlreadyApplied,
}

impl Client {
    pub(crate) fn new(sdk: aws_sdk_route53::Client, rate: u32, tuning: Tuning) -> Client {
        let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
        Client {
            sdk,
            // No burst: requests are spaced 1/rate seconds apart.
            limiter: RateLimiter::direct(Quota::per_second(rate).allow_burst(NonZeroU32::MIN)),
            tuning,
            counters: Counters::default(),
        }
    }

    pub(crate) fn stats(&self) -> CallStats {
        let c = &self.counters;
        CallStats {
            zone_lookups: c.zone_lookups.load(Ordering::Relaxed),
            list_pages: c.list_pages.load(Ordering::Relaxed),
            change_batches: c.change_batches.load(Ordering::Relaxed),
            get_change_polls: c.get_change_polls.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn reset_stats(&self) {
        let c = &self.counters;
        for a in [
            &c.zone_lookups,
            &c.list_pages,
            &c.change_batches,
            &c.get_change_polls,
            &c.retries,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let t = &self.tuning;
        let cap = t
            .backoff_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(t.backoff_max);
        // Equal jitter: half fixed, half random.
        let half = cap / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }

    /// One attempt: wait for the rate limiter, count, send.
    async fn attempt<T, E, Fut>(&self, kind: Kind, fut: Fut) -> Result<T, Failure>
    where
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.limiter.until_ready().await;
        let c = match kind {
            Kind::Zone => &self.counters.zone_lookups,
            Kind::List => &self.counters.list_pages,
            Kind::Change => &self.counters.change_batches,
            Kind::Poll => &self.counters.get_change_polls,
        };
        c.fetch_add(1, Ordering::Relaxed);
        fut.await.map_err(|e| classify(&e))
    }

    /// An idempotent call (reads, GetChange), retried on every transient failure.
    pub(crate) async fn call<T, E, F, Fut>(
        &self,
        kind: Kind,
        op: &'static str,
        mut f: F,
    ) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let start = Instant::now();
        let mut attempt = 0u32;
        loop {
            match self.attempt(kind, f()).await {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal { code, message }) => {
                    return Err(match code {
                        Some(code) => CallError::Service { op, code, message },
                        None => CallError::Other { op, message },
                    });
                }
                Err(Failure::Retry(m) | Failure::Ambiguous(m)) => {
                    self.wait_before_retry(op, &mut attempt, start, m).await?;
                }
            }
        }
    }

    async fn wait_before_retry(
        &self,
        op: &'static str,
        attempt: &mut u32,
        start: Instant,
        last: String,
    ) -> Result<(), CallError> {
        let delay = self.backoff(*attempt);
        *attempt += 1;
        if start.elapsed() + delay > self.tuning.retry_budget {
            return Err(CallError::GaveUp {
                op,
                attempts: *attempt as usize,
                elapsed: start.elapsed(),
                last,
            });
        }
        tracing::warn!(
            op,
            attempt = *attempt,
            ?delay,
            "Route 53 call failed, retrying: {last}"
        );
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(delay).await;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Zones
    // -----------------------------------------------------------------------------------------

    /// Every hosted zone of the account.
    pub(crate) async fn list_hosted_zones(&self) -> Result<Vec<HostedZone>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        let mut seen = HashSet::new();
        loop {
            let resp = self
                .call(Kind::Zone, "ListHostedZones", || {
                    self.sdk
                        .list_hosted_zones()
                        .set_marker(marker.clone())
                        .send()
                })
                .await?;
            out.extend(resp.hosted_zones().iter().cloned());
            match resp.next_marker() {
                Some(m) if resp.is_truncated() => {
                    if !seen.insert(m.to_string()) {
                        return Err(CallError::Other {
                            op: "ListHostedZones",
                            message: format!("the same page came back twice (marker {m:?})"),
                        });
                    }
                    marker = Some(m.to_string());
                }
                _ => return Ok(out),
            }
        }
    }

    /// The hosted zones named exactly `dns_name` (Route 53 form, with the trailing dot).
    pub(crate) async fn zones_named(&self, dns_name: &str) -> Result<Vec<HostedZone>, CallError> {
        let mut out = Vec::new();
        let mut next: Option<(String, Option<String>)> = Some((dns_name.to_string(), None));
        let mut seen = HashSet::new();
        let want = convert::name_from_r53(dns_name).ok();
        while let Some((name, id)) = next.take() {
            let resp = self
                .call(Kind::Zone, "ListHostedZonesByName", || {
                    self.sdk
                        .list_hosted_zones_by_name()
                        .dns_name(name.clone())
                        .set_hosted_zone_id(id.clone())
                        .send()
                })
                .await?;
            let mut past = false;
            for z in resp.hosted_zones() {
                if convert::name_from_r53(z.name()).ok() == want {
                    if !out.iter().any(|o: &HostedZone| o.id() == z.id()) {
                        out.push(z.clone());
                    }
                } else {
                    // Zones come sorted from the name asked for: the first other name ends
                    // the run of equal names.
                    past = true;
                    break;
                }
            }
            if !past && resp.is_truncated() {
                if let Some(n) = resp.next_dns_name() {
                    let token = (
                        n.to_string(),
                        resp.next_hosted_zone_id().map(str::to_string),
                    );
                    if !seen.insert(token.clone()) {
                        return Err(CallError::Other {
                            op: "ListHostedZonesByName",
                            message: format!("the same page came back twice (at {n:?})"),
                        });
                    }
                    next = Some(token);
                }
            }
        }
        Ok(out)
    }

    /// One hosted zone by id (`None` when there is no such zone).
    pub(crate) async fn hosted_zone(&self, id: &str) -> Result<Option<HostedZone>, CallError> {
        match self
            .call(Kind::Zone, "GetHostedZone", || {
                self.sdk.get_hosted_zone().id(id).send()
            })
            .await
        {
            Ok(r) => Ok(r.hosted_zone().cloned()),
            Err(e) if matches!(e.code(), Some("NoSuchHostedZone" | "InvalidInput")) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Record sets
    // -----------------------------------------------------------------------------------------

    /// Every record set of a hosted zone, page by page (`StartRecordName/Type/Identifier`).
    /// Fails when Route 53 hands back a page token it already gave (moto does, for ever, on
    /// weighted sets with a small MaxItems) or a truncated page without a next token.
    pub(crate) async fn list_record_sets(
        &self,
        zone_id: &str,
    ) -> Result<Vec<ResourceRecordSet>, CallError> {
        const OP: &str = "ListResourceRecordSets";
        let mut out = Vec::new();
        let mut start: Option<(String, RrType, Option<String>)> = None;
        let mut seen: HashSet<(String, String, Option<String>)> = HashSet::new();
        loop {
            let resp = self
                .call(Kind::List, OP, || {
                    let mut req = self
                        .sdk
                        .list_resource_record_sets()
                        .hosted_zone_id(zone_id)
                        .max_items(self.tuning.page_size);
                    if let Some((n, t, i)) = &start {
                        req = req
                            .start_record_name(n.clone())
                            .start_record_type(t.clone())
                            .set_start_record_identifier(i.clone());
                    }
                    req.send()
                })
                .await?;
            out.extend(resp.resource_record_sets().iter().cloned());
            if !resp.is_truncated() {
                return Ok(out);
            }
            let (Some(name), Some(t)) = (resp.next_record_name(), resp.next_record_type()) else {
                return Err(CallError::Other {
                    op: OP,
                    message: "a truncated page without NextRecordName/NextRecordType".into(),
                });
            };
            let id = resp.next_record_identifier().map(str::to_string);
            let token = (name.to_string(), t.as_str().to_string(), id.clone());
            if resp.resource_record_sets().is_empty() || !seen.insert(token) {
                return Err(CallError::Other {
                    op: OP,
                    message: format!(
                        "Route 53 returned the same page twice (next record {name} {} {}); \
                         stopping instead of looping for ever",
                        t.as_str(),
                        id.as_deref().unwrap_or("-")
                    ),
                });
            }
            start = Some((name.to_string(), t.clone(), id));
        }
    }

    // -----------------------------------------------------------------------------------------
    // Changes
    // -----------------------------------------------------------------------------------------

    /// Send one change batch once. Throttling and PriorRequestNotComplete are retried here;
    /// an ambiguous failure (timeout, 5xx, lost connection) is returned to the caller, who
    /// checks whether the batch landed before sending it again.
    pub(crate) async fn send_batch(
        &self,
        zone_id: &str,
        changes: &[NativeChange],
        start: Instant,
        attempt: &mut u32,
    ) -> Result<Result<String, String>, CallError> {
        const OP: &str = "ChangeResourceRecordSets";
        let batch = ChangeBatch::builder()
            .set_changes(Some(changes.to_vec()))
            .build()
            .map_err(|e| CallError::Other {
                op: OP,
                message: e.to_string(),
            })?;
        loop {
            let r = self
                .attempt(
                    Kind::Change,
                    self.sdk
                        .change_resource_record_sets()
                        .hosted_zone_id(zone_id)
                        .change_batch(batch.clone())
                        .send(),
                )
                .await;
            match r {
                Ok(out) => {
                    let id = out
                        .change_info()
                        .map(|c| c.id().to_string())
                        .unwrap_or_default();
                    return Ok(Ok(id));
                }
                Err(Failure::Fatal { code, message }) => {
                    return Err(match code {
                        Some(code) => CallError::Service {
                            op: OP,
                            code,
                            message,
                        },
                        None => CallError::Other { op: OP, message },
                    });
                }
                Err(Failure::Retry(m)) => self.wait_before_retry(OP, attempt, start, m).await?,
                Err(Failure::Ambiguous(m)) => return Ok(Err(m)),
            }
        }
    }

    pub(crate) async fn backoff_after_ambiguous(
        &self,
        attempt: &mut u32,
        start: Instant,
        last: String,
    ) -> Result<(), CallError> {
        self.wait_before_retry("ChangeResourceRecordSets", attempt, start, last)
            .await
    }

    /// Poll GetChange until INSYNC, with exponential backoff.
    pub(crate) async fn wait_insync(&self, change_id: &str) -> Result<(), CallError> {
        const OP: &str = "GetChange";
        let start = Instant::now();
        let mut delay = self.tuning.poll_initial;
        loop {
            let r = self
                .call(Kind::Poll, OP, || {
                    self.sdk.get_change().id(change_id).send()
                })
                .await?;
            if r.change_info().map(|c| c.status()) == Some(&ChangeStatus::Insync) {
                return Ok(());
            }
            if start.elapsed() + delay > self.tuning.poll_budget {
                return Err(CallError::Other {
                    op: OP,
                    message: format!(
                        "change {change_id} is still not INSYNC after {:?}",
                        start.elapsed()
                    ),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(self.tuning.poll_max);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Batching
// ---------------------------------------------------------------------------------------------

/// The native changes of one record set (a DELETE and a CREATE for an update; one UPSERT for
/// the apex SOA/NS), which never split across batches.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub key: RecordSetKey,
    /// The set before and after (for the check after an ambiguous failure).
    pub before: Option<RecordSet>,
    pub after: Option<RecordSet>,
    pub changes: Vec<NativeChange>,
    /// ResourceRecord elements (UPSERT counts twice; an alias counts as one).
    pub records: usize,
    /// Characters of the Value elements (UPSERT counts twice).
    pub chars: usize,
}

impl Unit {
    pub(crate) fn new(
        key: RecordSetKey,
        before: Option<RecordSet>,
        after: Option<RecordSet>,
        changes: Vec<(ChangeAction, ResourceRecordSet)>,
    ) -> Result<Unit, switchback_api::ProviderError> {
        let mut records = 0;
        let mut chars = 0;
        let mut native = Vec::with_capacity(changes.len());
        for (action, rrs) in changes {
            let factor = if action == ChangeAction::Upsert { 2 } else { 1 };
            records += factor * convert::record_count(&rrs);
            chars += factor * convert::value_chars(&rrs);
            native.push(
                NativeChange::builder()
                    .action(action)
                    .resource_record_set(rrs)
                    .build()
                    .map_err(|e| {
                        switchback_api::ProviderError::Other(format!(
                            "Route 53 change for {key}: {e}"
                        ))
                    })?,
            );
        }
        Ok(Unit {
            key,
            before,
            after,
            changes: native,
            records,
            chars,
        })
    }
}

/// Split units into batches, in order, each within `max_records` ResourceRecord elements and
/// [`MAX_BATCH_VALUE_CHARS`] characters, never splitting a unit. Greedy in order, which gives
/// the fewest batches that keep the order. A unit over a limit on its own is an error (checked
/// by the caller first).
pub(crate) fn pack(units: Vec<Unit>, max_records: usize) -> Vec<Vec<Unit>> {
    let mut out: Vec<Vec<Unit>> = Vec::new();
    let mut cur: Vec<Unit> = Vec::new();
    let (mut r, mut c) = (0, 0);
    for u in units {
        if !cur.is_empty() && (r + u.records > max_records || c + u.chars > MAX_BATCH_VALUE_CHARS) {
            out.push(std::mem::take(&mut cur));
            r = 0;
            c = 0;
        }
        r += u.records;
        c += u.chars;
        cur.push(u);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub(crate) fn sdk_client(conf: &aws_sdk_route53::Config, t: &Tuning) -> aws_sdk_route53::Client {
    use aws_sdk_route53::config::retry::RetryConfig;
    use aws_sdk_route53::config::timeout::TimeoutConfig;
    let conf = conf
        .to_builder()
        // Retries are ours (client.rs): counted, paced, and safe for change batches.
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(t.attempt_timeout.min(std::time::Duration::from_secs(10)))
                .operation_attempt_timeout(t.attempt_timeout)
                .build(),
        )
        .build();
    aws_sdk_route53::Client::from_conf(conf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_route53::types::ResourceRecord;

    fn unit(name: &str, values: usize, len: usize, action: ChangeAction) -> Unit {
        let mut b = ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Txt)
            .ttl(60);
        for i in 0..values {
            let v = format!("\"{}{}\"", i % 10, "x".repeat(len.saturating_sub(3)));
            b = b.resource_records(ResourceRecord::builder().value(v).build().unwrap());
        }
        let key = RecordSetKey {
            name: name.parse().unwrap(),
            rtype: switchback_api::RType::TXT,
            set_identifier: None,
        };
        Unit::new(key, None, None, vec![(action, b.build().unwrap())]).unwrap()
    }

    #[test]
    fn packs_at_record_and_character_limits() {
        // 3 sets of 400 records: 2 batches (800 + 400), never 1,000 + 200.
        let units: Vec<Unit> = (0..3)
            .map(|i| unit(&format!("s{i}.example."), 400, 3, ChangeAction::Create))
            .collect();
        let b = pack(units, 1000);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
        // UPSERT counts twice: 300 records upserted = 600.
        let u = unit("u.example.", 300, 3, ChangeAction::Upsert);
        assert_eq!(u.records, 600);
        assert_eq!(u.chars, 1800);
        let b = pack(vec![u.clone(), u.clone()], 1000);
        assert_eq!(b.len(), 2);
        // 32,000 characters: 40 sets of 1 value x 1,000 characters = 40,000 -> 2 batches.
        let units: Vec<Unit> = (0..40)
            .map(|i| unit(&format!("c{i}.example."), 1, 1000, ChangeAction::Create))
            .collect();
        let b = pack(units, 1000);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [32, 8]);
        // Smaller configured limit.
        let units: Vec<Unit> = (0..10)
            .map(|i| unit(&format!("m{i}.example."), 1, 3, ChangeAction::Create))
            .collect();
        assert_eq!(pack(units, 3).len(), 4);
    }
}
