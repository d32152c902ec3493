//! Notifications out (DESIGN.md "Notifications"): every event becomes one row per interested
//! `[[notify]]` target in the state store's queue, written in the step's process right after
//! the step (one store write, no network: a dead receiver never delays a step), and
//! [`deliver`] sends them from `serve`'s leader, with backoff, at least once, in order per
//! cutover, with the same `event_id` on every attempt.

use serde_json::{Value, json};
use tracing::warn;

pub mod deliver;

use crate::config::Config;
use crate::planner::cutover::{CutoverError, Outcome, State, StepKind};
use crate::store::{NewNotification, Store};

/// An event: its kind, cutover, and kind-specific fields (merged into the JSON body).
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: &'static str,
    pub cutover: String,
    /// One line for people (Slack's `text`).
    pub text: String,
    pub fields: Value,
}

/// A new event id: 128 random bits, hex.
pub fn new_event_id() -> String {
    format!(
        "n-{:016x}{:016x}",
        crate::store::random_u64(0),
        crate::store::random_u64(1)
    )
}

/// Queue `event` for every target that wants its kind. A failure is logged, never returned:
/// a notification must not fail the step it reports.
pub fn emit(cfg: &Config, store: &Store, node: &str, event: Event) {
    let targets = match cfg.notify_targets() {
        Ok(t) => t,
        Err(e) => {
            warn!(error = %e, "notifications off: bad [[notify]]");
            return;
        }
    };
    let wanted: Vec<_> = targets.iter().filter(|t| t.wants(event.kind)).collect();
    if wanted.is_empty() {
        return;
    }
    let event_id = new_event_id();
    let mut body = json!({
        "event_id": event_id,
        "kind": event.kind,
        "cutover": event.cutover,
        "at": humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
        "node": node,
        "text": event.text,
    });
    if let (Value::Object(b), Value::Object(f)) = (&mut body, event.fields) {
        for (k, v) in f {
            b.entry(k).or_insert(v);
        }
    }
    let body = body.to_string();
    let rows: Vec<NewNotification> = wanted
        .iter()
        .map(|t| NewNotification {
            event_id: event_id.clone(),
            target: t.name.clone(),
            cutover: event.cutover.clone(),
            kind: event.kind.to_string(),
            body: body.clone(),
        })
        .collect();
    if let Err(e) = store.enqueue_notifications(&rows) {
        warn!(kind = event.kind, cutover = %event.cutover, error = %e, "notification not queued");
    }
}

/// The event of a step done: `failover`, `stage`, `restored` (the last failback stage) or
/// `abort`.
pub fn step_event(o: &Outcome, actor: &str) -> Event {
    let kind = match (o.kind, o.state) {
        (StepKind::Failover, _) => "failover",
        (StepKind::Abort, _) => "abort",
        (StepKind::Failback, State::Restored) => "restored",
        (StepKind::Failback, _) => "stage",
    };
    let text = match kind {
        "failover" => format!(
            "switchback: {} FAILED OVER to the recovery targets ({} change(s), by {actor})",
            o.cutover, o.changes
        ),
        "stage" => format!(
            "switchback: {} failback stage {} done ({} change(s), by {actor})",
            o.cutover, o.stage, o.changes
        ),
        "restored" => format!(
            "switchback: {} RESTORED from its snapshot ({} change(s), by {actor})",
            o.cutover, o.changes
        ),
        _ => format!(
            "switchback: {} ABORTED: restored from its snapshot ({} change(s), by {actor})",
            o.cutover, o.changes
        ),
    };
    Event {
        kind,
        cutover: o.cutover.clone(),
        text,
        fields: json!({
            "actor": actor,
            "step": o.kind.as_str(),
            "resume": o.resume,
            "state": o.state,
            "stage": o.stage,
            "run": o.run,
            "changes": o.changes,
            "snapshots": o.snapshots,
            "zones": o.zones.iter().map(|z| json!({
                "provider": z.provider, "zone": z.zone, "run": z.run, "changes": z.changes
            })).collect::<Vec<_>>(),
            "notes": o.notes,
        }),
    }
}

/// The event of a refusal worth telling: `drift` (exit 3) or `busy` (exit 5).
pub fn refusal_event(cutover: &str, e: &CutoverError, actor: &str) -> Option<Event> {
    match e {
        CutoverError::Drift(r) => Some(Event {
            kind: "drift",
            cutover: cutover.to_string(),
            text: format!(
                "switchback: {cutover}: failback REFUSED: {} record set(s) changed by someone else \
                 during the failover ({actor}); --force overwrites them",
                r.conflicts.len()
            ),
            fields: json!({ "actor": actor, "drift": r }),
        }),
        CutoverError::Busy { holder, .. } => Some(Event {
            kind: "busy",
            cutover: cutover.to_string(),
            text: format!("switchback: {cutover}: {actor} refused: the cutover is busy ({holder})"),
            fields: json!({ "actor": actor, "holder": holder }),
        }),
        _ => None,
    }
}

/// Queue the event of a step's outcome or refusal (nothing for other errors).
pub fn after_step(
    cfg: &Config,
    store: &Store,
    node: &str,
    cutover: &str,
    actor: &str,
    r: Result<&Outcome, &CutoverError>,
) {
    let ev = match r {
        Ok(o) => Some(step_event(o, actor)),
        Err(e) => refusal_event(cutover, e, actor),
    };
    if let Some(ev) = ev {
        emit(cfg, store, node, ev);
    }
}
