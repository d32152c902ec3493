//! The deliverer: `serve`'s leader takes the due events from the queue (the oldest
//! undelivered one of each target and cutover), POSTs them, each pair on its own so a dead
//! receiver holds back only its own events, and marks them delivered on a 2xx or due again
//! after an exponential backoff. Health transitions become `health` events here too.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{Instrument, debug, info, info_span, warn};

use super::{Event, emit};
use crate::config::Config;
use crate::config::notify::{NotifyFormat, NotifyTarget};
use crate::health::{HealthState, Transition};
use crate::planner::leader::Leadership;
use crate::store::{QueuedNotification, Store};

/// How often the queue is looked at.
const TICK: Duration = Duration::from_millis(200);
/// One attempt's timeout (the claim lasts longer, so no one else sends it meanwhile).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const CLAIM: Duration = Duration::from_secs(30);
/// The first retry's wait; doubled after every failure, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The wait before attempt `attempts + 1`.
pub fn backoff(attempts: u32) -> Duration {
    let exp = attempts.saturating_sub(1).min(20);
    FIRST_BACKOFF.saturating_mul(1u32 << exp).min(MAX_BACKOFF)
}

/// The body sent to `target` for a queued event.
pub fn body_for(target: &NotifyTarget, stored: &str) -> String {
    match target.format {
        NotifyFormat::Json => stored.to_string(),
        NotifyFormat::Slack => {
            let v: Value = serde_json::from_str(stored).unwrap_or(Value::Null);
            let text = v
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("switchback event")
                .to_string();
            json!({ "text": text }).to_string()
        }
    }
}

/// Deliver until `shutdown`, acting only while this instance leads.
pub async fn run(
    cfg: Arc<Config>,
    store: Arc<Store>,
    leadership: Arc<Leadership>,
    shutdown: impl Future<Output = ()>,
) {
    let targets = match cfg.notify_targets() {
        Ok(t) if !t.is_empty() => t,
        Ok(_) => return,
        Err(e) => {
            warn!(error = %e, "notifications off");
            return;
        }
    };
    info!(targets = targets.len(), "notifications on");
    let client = match reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "notifications off: no HTTP client");
            return;
        }
    };
    let targets = Arc::new(targets);
    let names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {}
        }
        if !leadership.is_leader() {
            continue;
        }
        let st = store.clone();
        let names = names.clone();
        let claimed = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            st.claim_notifications(&refs, CLAIM)
        })
        .await;
        let claimed = match claimed {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                debug!(error = %e, "notification queue not read");
                continue;
            }
            Err(_) => continue,
        };
        for q in claimed {
            let Some(target) = targets.iter().find(|t| t.name == q.target).cloned() else {
                continue;
            };
            let span = info_span!("notify", target = %q.target, kind = %q.kind, cutover = %q.cutover, event_id = %q.event_id, attempt = q.attempts);
            tokio::spawn(attempt(client.clone(), store.clone(), target, q).instrument(span));
        }
    }
}

async fn attempt(
    client: reqwest::Client,
    store: Arc<Store>,
    t: NotifyTarget,
    q: QueuedNotification,
) {
    if t.url.is_empty() {
        let var = t.url_env.as_deref().unwrap_or("url_env");
        let e = format!("the environment variable {var} (url_env) is not set for serve");
        failed(&store, &q, e).await;
        return;
    }
    let body = body_for(&t, &q.body);
    let mut req = client
        .post(&t.url)
        .header("content-type", "application/json")
        .header("x-switchback-event", q.kind.as_str())
        .header("x-switchback-event-id", q.event_id.as_str());
    if let Some(var) = &t.secret_env {
        match std::env::var(var) {
            Ok(secret) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0);
                let sig =
                    crate::http::auth::sign(secret.as_bytes(), now, t.path(), body.as_bytes());
                req = req.header("x-switchback-signature", sig);
            }
            Err(_) => {
                let e = format!("the environment variable {var} (secret_env) is not set");
                failed(&store, &q, e).await;
                return;
            }
        }
    }
    let r = req.body(body).send().await;
    match r {
        Ok(resp) if resp.status().is_success() => {
            let st = store.clone();
            let id = q.id;
            match tokio::task::spawn_blocking(move || st.notification_delivered(id)).await {
                Ok(Ok(())) => debug!(status = resp.status().as_u16(), "notification delivered"),
                // Sent, not marked: it is sent again (at least once), with the same event_id.
                _ => warn!("notification delivered but not marked; it will be sent again"),
            }
        }
        Ok(resp) => failed(&store, &q, format!("HTTP {}", resp.status().as_u16())).await,
        // The error names the host, never the URL's path or query (they may hold a token).
        Err(e) => {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            failed(&store, &q, format!("{kind} ({})", t.redacted_url())).await
        }
    }
}

async fn failed(store: &Arc<Store>, q: &QueuedNotification, error: String) {
    let wait = backoff(q.attempts);
    info!(error = %error, retry_in = ?wait, "notification not delivered; retrying later");
    let st = store.clone();
    let id = q.id;
    let _ = tokio::task::spawn_blocking(move || st.notification_failed(id, wait, &error)).await;
}

/// Health transitions to `health` events, queued while this instance leads (every instance
/// sees the transitions; one tells).
pub async fn health_events(
    cfg: Arc<Config>,
    store: Arc<Store>,
    leadership: Arc<Leadership>,
    mut transitions: UnboundedReceiver<Transition>,
    shutdown: impl Future<Output = ()>,
) {
    if cfg.notify.is_empty() {
        return;
    }
    tokio::pin!(shutdown);
    loop {
        let t = tokio::select! {
            _ = &mut shutdown => break,
            t = transitions.recv() => match t { Some(t) => t, None => break },
        };
        if !leadership.is_leader() || t.from == HealthState::Unknown && t.to == HealthState::Up {
            continue;
        }
        let to = match t.to {
            HealthState::Up => "up",
            HealthState::Down => "down",
            HealthState::Unknown => continue,
        };
        let ev = Event {
            kind: "health",
            cutover: t.name.to_string(),
            text: format!(
                "switchback: health check {} is {}",
                t.name,
                to.to_uppercase()
            ),
            fields: json!({
                "check": &*t.name,
                "from": t.from.as_str(),
                "to": to,
                "changed_at": humantime::format_rfc3339_micros(t.at).to_string(),
                "error": t.result.error,
            }),
        };
        let (cfg, store, node) = (cfg.clone(), store.clone(), leadership.node().to_string());
        let _ = tokio::task::spawn_blocking(move || emit(&cfg, &store, &node, ev)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_gets_the_text_json_gets_the_event() {
        let stored = r#"{"event_id":"n-1","kind":"failover","text":"switchback: web FAILED OVER"}"#;
        let mut t = NotifyTarget {
            name: "ops".into(),
            url: "http://127.0.0.1:9/x".into(),
            events: vec!["failover".into()],
            secret_env: None,
            url_env: None,
            format: NotifyFormat::Json,
        };
        assert_eq!(body_for(&t, stored), stored);
        t.format = NotifyFormat::Slack;
        assert_eq!(
            body_for(&t, stored),
            r#"{"text":"switchback: web FAILED OVER"}"#
        );
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(4), Duration::from_secs(4));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
