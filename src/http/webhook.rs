//! The recovery webhooks.
//!
//! Each hook: parse (400/422 naming the field) → replay? (same `event_id`: the same body gets
//! the first answer, another body 409) → the cutover (404) → its lease in the state store (held
//! by any other actor — a CLI, the automation, another hook, another `serve` — gets 409
//! `busy`: never a double apply) → the work, in a task of its own that keeps the lease until
//! it ends → the answer within `hook_wait`: the result (200), or `202` with the `run_id` to
//! follow at `GET /v1/cutovers/{name}`. The event is recorded in the transaction that takes the
//! lease, before the work; its outcome is stored before the lease is released: done (the same
//! event gets the first answer again) or failed (the same event may be sent again and runs
//! anew). A request whose actor died mid-work is finished by the event's next request: resumed
//! if the step was interrupted, done if it never started, not repeated if it ran.

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
use crate::planner::lease::EventLease;
use crate::store::{EventClaim, EventStart};

#[derive(Clone)]
enum Work {
    Snapshot,
    Step {
        action: Action,
        skip_soak: bool,
    },
    /// Nothing left to do: the answer's body.
    Done(Value),
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

/// Read a hook's body as the hook `route` (`pre-recovery`, `post-recovery` or `failback`;
/// anything else reads as `failback`) does, and nothing more: the first step of every hook
/// request, and the fuzz target's entry.
pub fn check_body(route: &str, body: &[u8]) -> Result<(), ApiError> {
    let route = match route {
        "pre-recovery" => "pre-recovery",
        "post-recovery" => "post-recovery",
        _ => "failback",
    };
    parse(route, body).map(drop)
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
    let trigger = crate::planner::rto::Trigger::now("webhook");
    let body = body?;
    let h = parse(route, &body)?;
    // A known event answers from the store without touching the lease.
    if let Some(ev) = s.store.webhook_event(&h.event_id)? {
        if ev.body_digest != h.digest || ev.state == "done" {
            return replay(&h, ev);
        }
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
    // The event is recorded in the transaction that takes the lease, before the work: a
    // crash between the work and the answer is resumed, not repeated; one event id sent for
    // two cutovers at once runs once.
    let start = EventStart {
        event_id: &h.event_id,
        route: h.route,
        cutover: &c.name,
        body_digest: &h.digest,
    };
    let acquired = match Lease::acquire_for_event(&s.store, &c.name, &holder, &start) {
        Err(e @ cutover::CutoverError::Busy { .. }) => {
            crate::notify::after_step(&s.cfg, &s.store, &s.cfg.node(), &c.name, &actor, Err(&e));
            return Err(e.into());
        }
        r => r?,
    };
    let (lease, claim) = match acquired {
        EventLease::Known(ev) => return replay(&h, ev),
        EventLease::Taken(lease, claim) => (lease, claim),
    };
    let work = match (claim, h.work.clone()) {
        (EventClaim::Interrupted { base_version }, Work::Step { action, skip_soak }) => {
            interrupted(&s, &c, base_version, action, skip_soak)?
        }
        (_, w) => w,
    };
    let run_id = s.new_job(&c.name, route, &h.event_id);
    info!(hook = route, cutover = %c.name, event_id = %h.event_id, %run_id, "hook received");
    let (tx, rx) = tokio::sync::oneshot::channel::<Result<Value, ApiError>>();
    let task_state = s.clone();
    let task_run = run_id.clone();
    let event_id = h.event_id.clone();
    let span = info_span!("hook", hook = route, cutover = %c.name, run_id = %run_id);
    let cname = c.name.clone();
    tokio::spawn(
        async move {
            let r = match work {
                Work::Snapshot => snapshot(&task_state, &c, &event_id).await,
                Work::Step { action, skip_soak } => {
                    step(
                        &task_state,
                        &cname,
                        action,
                        actor,
                        skip_soak,
                        &lease,
                        trigger,
                    )
                    .await
                }
                Work::Done(v) => Ok(v),
            };
            let r = r.map(|result| {
                let mut a = json!({"run_id": task_run, "cutover": cname, "state": "done"});
                if let (Value::Object(a), Value::Object(r)) = (&mut a, result) {
                    a.extend(r);
                }
                a
            });
            crate::fault::point("hook:after-work");
            // The outcome is stored before the lease goes: a second request of the event
            // finds it (and never applies the step again).
            let stored = match &r {
                Ok(a) => {
                    info!("hook done");
                    task_state.finish_job(&task_run, Ok(a.clone()));
                    task_state
                        .store
                        .finish_webhook_event(&event_id, true, 200, &a.to_string())
                }
                Err(e) => {
                    warn!(error = %e.detail, "hook failed");
                    task_state.finish_job(&task_run, Err(e));
                    task_state.store.finish_webhook_event(
                        &event_id,
                        false,
                        e.status.as_u16(),
                        &e.body().to_string(),
                    )
                }
            };
            if let Err(e) = stored {
                warn!(error = %e, "the hook's outcome was not stored");
            }
            drop(lease);
            let _ = tx.send(r);
        }
        .instrument(span),
    );
    match tokio::time::timeout(s.opts.hook_wait, rx).await {
        Ok(Ok(Ok(answer))) => Ok((StatusCode::OK, axum::Json(answer)).into_response()),
        Ok(Ok(Err(e))) => Err(e),
        Ok(Err(_)) => Err(ApiError::internal(
            "the hook's task ended without an answer",
        )),
        Err(_) => {
            let answer = json!({
                "run_id": run_id,
                "cutover": h.cutover,
                "state": "running",
                "status": format!("/v1/cutovers/{}", h.cutover),
            });
            s.store
                .answer_webhook_event(&h.event_id, 202, &answer.to_string())?;
            Ok((StatusCode::ACCEPTED, axum::Json(answer)).into_response())
        }
    }
}

/// The work of an event whose earlier request died before its outcome was stored: finish the
/// step it left (resume), do it when it never started, or nothing when it ran to the end.
fn interrupted(
    s: &ApiState,
    c: &Cutover,
    base_version: i64,
    action: Action,
    skip_soak: bool,
) -> Result<Work, ApiError> {
    let st = cutover::CutoverState::from_row(&c.name, s.store.cutover_state(&c.name)?.as_ref())?;
    let version = st.as_ref().map_or(0, |s| s.version);
    Ok(match st {
        Some(st) if st.intent.is_some() => Work::Step {
            action: Action::Resume,
            skip_soak,
        },
        _ if version == base_version => Work::Step { action, skip_soak },
        Some(st) => Work::Done(json!({
            "note": "the step of this event was carried out before an interruption; not done again",
            "cutover_state": st.state,
            "stage": st.stage,
        })),
        None => Work::Step { action, skip_soak },
    })
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
    trigger: crate::planner::rto::Trigger,
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
        trigger: Some(trigger),
        ..StepOptions::default()
    };
    let r = match cutover::prepare(&ctx, &action, &opts).await {
        Ok(p) => cutover::execute(&ctx, p, &opts, lease).await,
        Err(e) => Err(e),
    };
    let out = match r {
        Ok(o) => o,
        Err(e) => {
            cutover::refused(&ctx, &opts, &e);
            return Err(e.into());
        }
    };
    crate::planner::rto::spawn_observe(&ctx, &out);
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
