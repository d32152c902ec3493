//! The recovery webhooks.
//!
//! Each hook: parse (400/422 naming the field) → replay? (same `event_id`: the same body gets
//! the first answer, another body 409) → the cutover (404) → its in-flight lock (a second hook
//! for the same cutover while one runs gets 409: never a double apply) → the work, in a task
//! of its own that keeps the lock until it ends → the answer within `hook_wait`: the result
//! (200), or `202` with the `run_id` to follow at `GET /v1/cutovers/{name}`. Successful
//! answers (200/202) are stored with the event; error answers are not (the event may be sent
//! again).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tracing::{Instrument, info, info_span, warn};

use super::error::{ApiError, deny_rest, parse_object, take};
use super::{ApiState, auth};
use crate::config::Cutover;
use crate::health::HealthState;
use crate::planner::cutover::{
    self, Action, BoxFuture, Ctx, HealthGate, StageSel, StepOptions, Targets,
};

/// The health gate of the API: the running monitor's state; a cutover without a health check
/// passes (as on the command line).
pub struct ApiGate(pub Option<Arc<crate::health::HealthMonitor>>);

impl HealthGate for ApiGate {
    fn primary_healthy<'a>(&'a self, c: &'a Cutover) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            if c.health.is_none() {
                return Ok(true);
            }
            match self.0.as_ref().and_then(|m| m.state(&c.name)) {
                Some(s) => Ok(s == HealthState::Up),
                None => Err(format!("cutover {}: no health state yet", c.name)),
            }
        })
    }
}

#[derive(Clone)]
enum Work {
    Snapshot,
    Step(Action),
}

struct Hook {
    route: &'static str,
    event_id: String,
    cutover: String,
    digest: String,
    work: Work,
}

fn parse(route: &'static str, body: &[u8]) -> Result<Hook, ApiError> {
    let mut m: Map<String, Value> = parse_object(body)?;
    // The digest of the request as a value (key order and spacing do not matter).
    let digest = auth::hex(&auth::sha256(
        format!("{route}\n{}", Value::Object(m.clone())).as_bytes(),
    ));
    let event_id: String = take(&mut m, "event_id", true, "a string")?.unwrap_or_default();
    if event_id.trim().is_empty() || event_id.len() > 200 {
        return Err(ApiError::unprocessable(
            "field `event_id`: expected a non-empty string of at most 200 bytes",
        ));
    }
    let cutover: String = take(&mut m, "cutover", true, "a string")?.unwrap_or_default();
    let work = match route {
        "pre-recovery" => Work::Snapshot,
        "post-recovery" => {
            let targets: Targets = take(
                &mut m,
                "targets",
                false,
                "an object of \"NAME/TYPE\": [\"value\", ...]",
            )?
            .unwrap_or_default();
            Work::Step(Action::Failover { targets })
        }
        _ => {
            let stage = match m.remove("stage") {
                None | Some(Value::Null) => StageSel::Next,
                Some(Value::String(s)) => s.parse().map_err(|_| {
                    ApiError::unprocessable(format!(
                        "field `stage`: expected \"next\", \"all\" or a stage number, got {s:?}"
                    ))
                })?,
                Some(Value::Number(n)) => n
                    .as_u64()
                    .filter(|n| *n >= 1)
                    .and_then(|n| u32::try_from(n).ok())
                    .map(StageSel::N)
                    .ok_or_else(|| {
                        ApiError::unprocessable(format!(
                            "field `stage`: expected a stage number 1, 2, ..., got {n}"
                        ))
                    })?,
                Some(_) => {
                    return Err(ApiError::unprocessable(
                        "field `stage`: expected \"next\", \"all\" or a stage number",
                    ));
                }
            };
            Work::Step(Action::Failback { stage })
        }
    };
    deny_rest(&m)?;
    Ok(Hook {
        route,
        event_id,
        cutover,
        digest,
        work,
    })
}

fn replay(h: &Hook, ev: crate::store::WebhookEvent) -> Result<Response, ApiError> {
    if ev.body_digest != h.digest {
        return Err(ApiError::conflict(format!(
            "event {:?} was already received with another body ({} hook, {})",
            h.event_id, ev.route, ev.created_at
        )));
    }
    let body: Value = serde_json::from_str(&ev.answer).unwrap_or(Value::Null);
    let status = StatusCode::from_u16(ev.status).unwrap_or(StatusCode::OK);
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(
        "idempotent-replay",
        axum::http::HeaderValue::from_static("true"),
    );
    Ok(r)
}

async fn handle(
    s: Arc<ApiState>,
    route: &'static str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let h = parse(route, &body)?;
    if let Some(ev) = s.store.webhook_event(&h.event_id)? {
        return replay(&h, ev);
    }
    let c = cutover::find(&s.cfg, &h.cutover)?;
    let mut h = h;
    // Targets must name the cutover's record sets (a typo must not fall back to the config).
    if let Work::Step(Action::Failover { targets }) = &mut h.work {
        let mut canon = Targets::new();
        for (k, vs) in targets.iter() {
            if vs.iter().any(|v| v.contains(',')) {
                return Err(ApiError::unprocessable(format!(
                    "field `targets`: {k}: a value holds a comma"
                )));
            }
            let (k, vs) = cutover::parse_target(&c, &format!("{k}={}", vs.join(","))).map_err(
                |e| match e {
                    cutover::CutoverError::Refused { message, .. } => {
                        ApiError::unprocessable(format!("field `targets`: {message}"))
                    }
                    e => ApiError::from(e),
                },
            )?;
            canon.insert(k, vs);
        }
        *targets = canon;
    }
    let lock = s.cutover_lock(&c.name);
    let Ok(guard) = lock.try_lock_owned() else {
        return Err(ApiError::conflict(format!(
            "cutover {}: another hook is in progress; try again when it is done",
            c.name
        )));
    };
    // The first request of this event may have finished while we waited for nothing.
    if let Some(ev) = s.store.webhook_event(&h.event_id)? {
        return replay(&h, ev);
    }
    let run_id = s.new_job(&c.name, route, &h.event_id);
    info!(hook = route, cutover = %c.name, event_id = %h.event_id, %run_id, "hook received");
    // The task hands the cutover lock back with its result: the handler keeps it until the
    // event is stored, so a second request of the same event cannot slip in between the end
    // of the work and the record of its answer (and apply the step again).
    type Done = (Result<Value, ApiError>, tokio::sync::OwnedMutexGuard<()>);
    let (tx, rx) = tokio::sync::oneshot::channel::<Done>();
    let task_state = s.clone();
    let task_run = run_id.clone();
    let actor = format!("webhook:{route}");
    let event_id = h.event_id.clone();
    let span = info_span!("hook", hook = route, cutover = %c.name, run_id = %run_id);
    let work = h.work.clone();
    let cname = c.name.clone();
    tokio::spawn(
        async move {
            let r = match work {
                Work::Snapshot => snapshot(&task_state, &c, &event_id).await,
                Work::Step(action) => step(&task_state, &cname, action, actor).await,
            };
            match &r {
                Ok(v) => {
                    info!("hook done");
                    task_state.finish_job(&task_run, Ok(v.clone()));
                }
                Err(e) => {
                    warn!(error = %e.detail, "hook failed");
                    task_state.finish_job(&task_run, Err(e));
                }
            }
            // If the handler already answered 202 the send fails and the lock goes with it.
            let _ = tx.send((r, guard));
        }
        .instrument(span),
    );
    let mut held = None;
    let (status, answer) = match tokio::time::timeout(s.opts.hook_wait, rx).await {
        Ok(Ok((Ok(result), guard))) => {
            held = Some(guard);
            let mut a = json!({"run_id": run_id, "cutover": h.cutover, "state": "done"});
            if let (Value::Object(a), Value::Object(r)) = (&mut a, result) {
                a.extend(r);
            }
            (StatusCode::OK, a)
        }
        Ok(Ok((Err(e), _guard))) => return Err(e),
        Ok(Err(_)) => {
            return Err(ApiError::internal(
                "the hook's task ended without an answer",
            ));
        }
        Err(_) => (
            StatusCode::ACCEPTED,
            json!({
                "run_id": run_id,
                "cutover": h.cutover,
                "state": "running",
                "status": format!("/v1/cutovers/{}", h.cutover),
            }),
        ),
    };
    let text = answer.to_string();
    if let Some(first) = s.store.put_webhook_event(
        &h.event_id,
        h.route,
        &h.cutover,
        &h.digest,
        status.as_u16(),
        &text,
    )? {
        return replay(&h, first);
    }
    drop(held);
    Ok((status, axum::Json(answer)).into_response())
}

async fn snapshot(s: &ApiState, c: &Cutover, event_id: &str) -> Result<Value, ApiError> {
    let provider = crate::registry::provider(&s.cfg, &c.provider)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let zone = provider
        .read_zone(&c.zone)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "provider", e.to_string()))?;
    let label = format!("pre-recovery {event_id}");
    let store = s.store.clone();
    let name = provider.name().to_string();
    let meta =
        tokio::task::spawn_blocking(move || store.create_snapshot(&name, &zone, Some(&label)))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(json!({"snapshot_id": meta.id, "snapshot": meta}))
}

async fn step(s: &ApiState, name: &str, action: Action, actor: String) -> Result<Value, ApiError> {
    let gate = ApiGate(s.monitor.clone());
    let ctx = Ctx::open(&s.cfg, &s.store, name, &gate)?;
    let opts = StepOptions {
        force: false,
        ignore_health: false,
        actor,
    };
    let out = cutover::run(&ctx, &action, &opts).await?;
    Ok(json!({"outcome": out}))
}

pub async fn pre_recovery(
    State(s): State<Arc<ApiState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    handle(s, "pre-recovery", body).await
}

pub async fn post_recovery(
    State(s): State<Arc<ApiState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    handle(s, "post-recovery", body).await
}

pub async fn failback(
    State(s): State<Arc<ApiState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    handle(s, "failback", body).await
}
