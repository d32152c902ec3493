//! The recovery webhooks.
//!
//! Each hook: parse (400/422 naming the field) → replay? (same `event_id`: the same body gets
//! the first answer, another body 409) → the cutover (404) → its lease in the state store (held
//! by any other actor — a CLI, the automation, another hook, another `serve` — gets 409
//! `busy`: never a double apply) → the work, in a task of its own that keeps the lease until
//! it ends → the answer within `hook_wait`: the result (200), or `202` with the `run_id` to
//! follow at `GET /v1/cutovers/{name}`. Successful answers (200/202) are stored with the event
//! while the lease is still held; error answers are not (the event may be sent again).

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
use crate::planner::cutover::{
    self, Action, ActorKind, Ctx, HealthGate, Holder, Lease, StageSel, StepOptions, Targets,
};

#[derive(Clone)]
enum Work {
    Snapshot,
    Step { action: Action, skip_soak: bool },
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
            Work::Step {
                action: Action::Failover { targets },
                skip_soak: false,
            }
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
            let skip_soak: bool =
                take(&mut m, "skip_soak", false, "true or false")?.unwrap_or(false);
            Work::Step {
                action: Action::Failback { stage },
                skip_soak,
            }
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
    if let Work::Step {
        action: Action::Failover { targets },
        ..
    } = &mut h.work
    {
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
    let actor = format!("webhook:{route}");
    let holder = Holder::me(&s.cfg.node(), ActorKind::Webhook, &actor);
    let guard = Lease::acquire(&s.store, &c.name, &holder, None).await?;
    // The first request of this event may have finished while we waited for nothing.
    if let Some(ev) = s.store.webhook_event(&h.event_id)? {
        return replay(&h, ev);
    }
    let run_id = s.new_job(&c.name, route, &h.event_id);
    info!(hook = route, cutover = %c.name, event_id = %h.event_id, %run_id, "hook received");
    // The task hands the lease back with its result: the handler keeps it until the event is
    // stored, so a second request of the same event cannot slip in between the end of the
    // work and the record of its answer (and apply the step again).
    type Done = (Result<Value, ApiError>, Lease);
    let (tx, rx) = tokio::sync::oneshot::channel::<Done>();
    let task_state = s.clone();
    let task_run = run_id.clone();
    let event_id = h.event_id.clone();
    let span = info_span!("hook", hook = route, cutover = %c.name, run_id = %run_id);
    let work = h.work.clone();
    let cname = c.name.clone();
    tokio::spawn(
        async move {
            let r = match work {
                Work::Snapshot => snapshot(&task_state, &c, &event_id).await,
                Work::Step { action, skip_soak } => {
                    step(&task_state, &cname, action, actor, skip_soak, &guard).await
                }
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

/// A snapshot of every zone of the cutover (under its lease).
async fn snapshot(s: &ApiState, c: &Cutover, event_id: &str) -> Result<Value, ApiError> {
    let mut metas = Vec::new();
    for z in c.zones() {
        let provider = s
            .providers
            .get(&z.provider)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let zone = provider
            .read_zone(&z.zone)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "provider", e.to_string()))?;
        let label = format!("pre-recovery {event_id}");
        let store = s.store.clone();
        let name = provider.name().to_string();
        let meta =
            tokio::task::spawn_blocking(move || store.create_snapshot(&name, &zone, Some(&label)))
                .await
                .map_err(|e| ApiError::internal(e.to_string()))??;
        metas.push(meta);
    }
    let first = metas.first().map(|m| m.id.clone());
    Ok(json!({"snapshot_id": first, "snapshot": metas.first(), "snapshots": metas}))
}

async fn step(
    s: &ApiState,
    name: &str,
    action: Action,
    actor: String,
    skip_soak: bool,
    lease: &Lease,
) -> Result<Value, ApiError> {
    let gate = match &s.monitor {
        Some(m) => HealthGate::monitor(m.clone()),
        None => HealthGate::probe(),
    };
    let ctx = Ctx::open(&s.providers, &s.store, name, gate)?;
    let opts = StepOptions {
        skip_soak,
        actor,
        actor_kind: ActorKind::Webhook,
        ..StepOptions::default()
    };
    let p = cutover::prepare(&ctx, &action, &opts).await?;
    let out = cutover::execute(&ctx, p, &opts, lease).await?;
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
