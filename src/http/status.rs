//! `GET /v1/cutovers`, `/v1/cutovers/{name}`, `/v1/snapshots`, `/v1/health`, and the
//! [`StatusView`] they share with the status page.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Serialize;
use serde_json::{Value, json};

use super::{ApiError, ApiState, Job};
use crate::planner::cutover;

/// A snapshot of everything an operator looks at: the cutovers and the health checks.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    /// RFC 3339.
    pub generated_at: String,
    pub cutovers: Vec<CutoverView>,
    pub health: Vec<HealthView>,
    /// The `serve` instances on the store (a shared PostgreSQL), each with its own view of
    /// the health checks; empty when this instance is alone.
    pub nodes: Vec<crate::store::NodeRow>,
}

impl StatusView {
    /// The view for a reader without the API token (the open status page): states, stages and
    /// weights stay; event ids, snapshot ids, who holds a lease, hook runs and error texts
    /// (which `/v1` protects) go.
    pub fn redacted(mut self) -> StatusView {
        const HIDDEN: &str = "hidden: send the API token to see errors";
        for c in &mut self.cutovers {
            c.snapshot_id = None;
            c.snapshots.clear();
            c.held_by = c.held_by.as_ref().map(|_| "another actor".to_string());
            c.hook_runs.clear();
            c.notify_error = c.notify_error.as_ref().map(|_| HIDDEN.into());
            if c.error.is_some() {
                c.error = Some(HIDDEN.into());
            }
            for r in &mut c.last_runs {
                if r.error.is_some() {
                    r.error = Some(HIDDEN.into());
                }
            }
        }
        for h in &mut self.health {
            for p in &mut h.history {
                if p.error.is_some() {
                    p.error = Some("failed".into());
                }
            }
        }
        self
    }
}

/// One cutover.
#[derive(Debug, Clone, Serialize)]
pub struct CutoverView {
    pub name: String,
    pub provider: String,
    pub zone: String,
    /// `idle`, `ready`, `failed-over`, `failing-back`, `restored` (`unknown` when the stored
    /// state cannot be read; see `error`).
    pub state: String,
    pub stage: u32,
    pub stages: u32,
    /// Traffic share on the primary (percent), when weighted.
    pub primary_weight: Option<u32>,
    pub snapshot_id: Option<String>,
    /// The snapshot set: one per (provider, zone).
    pub snapshots: Vec<crate::planner::cutover::SnapshotRef>,
    /// Who holds the cutover's lease now ("actor who (pid, node, since)").
    pub held_by: Option<String>,
    /// The node whose automation acts, and the node answering.
    pub leader: String,
    pub node: String,
    /// The measured RTO of the last step, when there was one.
    pub last_rto: Option<RtoView>,
    pub rto_target_seconds: Option<f64>,
    /// The last drill.
    pub last_drill: Option<DrillView>,
    /// Events not delivered yet to the `[[notify]]` targets, and the last delivery error.
    pub notify_pending: u64,
    pub notify_error: Option<String>,
    /// A step was interrupted (`resume` or `abort` it).
    pub step_in_progress: bool,
    pub stage_started_at: Option<String>,
    /// The last runs of the engine (failover, failback stages, abort, resume), oldest first.
    pub last_runs: Vec<RunView>,
    /// The hook runs of this process (pre-recovery, post-recovery, failback), oldest first.
    pub hook_runs: Vec<Job>,
    pub error: Option<String>,
}

/// The measured RTO of a step (seconds from its trigger).
#[derive(Debug, Clone, Serialize)]
pub struct RtoView {
    pub step: String,
    pub stage: u32,
    pub trigger: String,
    pub at: String,
    pub applied: f64,
    pub verified: f64,
    pub visible: Option<f64>,
    pub worst_case: f64,
    /// Servers asked for the change (0: none could be, `visible` is not measured).
    pub checked: u64,
    pub met: Option<bool>,
}

/// A drill's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct DrillView {
    pub id: String,
    pub result: String,
    pub live: bool,
    pub started_at: String,
    pub rto_seconds: Option<f64>,
    pub findings: u64,
}

fn rto_view(v: &Value) -> Option<RtoView> {
    let secs = v.get("seconds")?;
    let f = |k: &str| secs.get(k).and_then(Value::as_f64);
    Some(RtoView {
        step: v.get("step")?.as_str()?.to_string(),
        stage: v.get("stage").and_then(Value::as_u64).unwrap_or(0) as u32,
        trigger: v
            .pointer("/trigger/kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        at: v
            .pointer("/trigger/at")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        applied: f("applied")?,
        verified: f("verified")?,
        visible: f("visible"),
        worst_case: f("worst_case")?,
        checked: v.get("checked").and_then(Value::as_u64).unwrap_or(0),
        met: v.get("met").and_then(Value::as_bool),
    })
}

fn drill_view(v: &Value) -> Option<DrillView> {
    Some(DrillView {
        id: v.get("id")?.as_str()?.to_string(),
        result: v.get("result")?.as_str()?.to_string(),
        live: v.get("live").and_then(Value::as_bool).unwrap_or(false),
        started_at: v.get("started_at")?.as_str()?.to_string(),
        rto_seconds: v.get("rto_seconds").and_then(Value::as_f64),
        findings: v.get("findings").and_then(Value::as_u64).unwrap_or(0),
    })
}

/// One run of the cutover engine.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub id: i64,
    pub kind: String,
    /// `running`, `done`, `failed`, `aborted`.
    pub state: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub error: Option<String>,
}

/// One health check.
#[derive(Debug, Clone, Serialize)]
pub struct HealthView {
    pub name: String,
    pub check: String,
    /// `unknown`, `up`, `down`.
    pub state: String,
    /// When the state last changed.
    pub since: Option<String>,
    pub probes: u64,
    pub last_latency_ms: Option<f64>,
    /// The last probes, oldest first.
    pub history: Vec<ProbeView>,
}

/// One probe.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeView {
    pub at: String,
    pub up: bool,
    pub latency_ms: f64,
    pub error: Option<String>,
}

/// How many engine runs a cutover shows.
const LAST_RUNS: usize = 10;

fn time(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

fn cutover_view(s: &ApiState, c: &crate::config::Cutover) -> CutoverView {
    let mut v = CutoverView {
        name: c.name.clone(),
        provider: c.provider.clone(),
        zone: c.zone.to_string(),
        state: "unknown".into(),
        stage: 0,
        stages: cutover::stage_count(c),
        primary_weight: None,
        snapshot_id: None,
        snapshots: Vec::new(),
        held_by: None,
        leader: s.cfg.node(),
        node: s.cfg.node(),
        last_rto: None,
        rto_target_seconds: c.rto_target.map(|d| d.as_secs_f64()),
        last_drill: None,
        notify_pending: 0,
        notify_error: None,
        step_in_progress: false,
        stage_started_at: None,
        last_runs: Vec::new(),
        hook_runs: s.jobs(&c.name),
        error: None,
    };
    match cutover::summary(&s.cfg, &s.store, c, LAST_RUNS) {
        Ok(st) => {
            v.snapshots = st.snapshots.clone();
            v.held_by = st.lease.as_ref().map(cutover::describe_lease);
            v.leader = st.leader.clone();
            v.last_rto = st.last_rto.as_ref().and_then(rto_view);
            v.last_drill = st.last_drill.as_ref().and_then(drill_view);
            v.notify_pending = st.notifications.iter().map(|n| n.pending).sum();
            v.notify_error = st.notifications.iter().find_map(|n| n.last_error.clone());
            v.state = st.state.as_str().to_string();
            v.stage = st.stage;
            v.primary_weight = st.primary_weight;
            v.snapshot_id = st.snapshot_id;
            v.step_in_progress = st.intent.is_some();
            v.stage_started_at = st.stage_started_at;
            let skip = st.runs.len().saturating_sub(LAST_RUNS);
            v.last_runs = st
                .runs
                .into_iter()
                .skip(skip)
                .map(|r| RunView {
                    id: r.run.id.0,
                    kind: r.run.kind,
                    state: r.run.state.as_str().to_string(),
                    started_at: r.run.started_at,
                    finished_at: r.run.finished_at,
                    error: r
                        .run
                        .result
                        .as_ref()
                        .and_then(|x| x.get("error"))
                        .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string)),
                })
                .collect();
        }
        Err(e) => v.error = Some(e.to_string()),
    }
    v
}

fn health_views(s: &ApiState) -> Vec<HealthView> {
    let Some(m) = &s.monitor else {
        return Vec::new();
    };
    m.statuses()
        .into_iter()
        .map(|st| HealthView {
            name: st.name.to_string(),
            check: st.check.clone(),
            state: st.state.as_str().to_string(),
            since: st.since.map(time),
            probes: st.probes,
            last_latency_ms: st.last().map(|r| r.latency.as_secs_f64() * 1e3),
            history: st
                .history
                .iter()
                .map(|r| ProbeView {
                    at: time(r.at),
                    up: r.ok,
                    latency_ms: r.latency.as_secs_f64() * 1e3,
                    error: r.error.clone(),
                })
                .collect(),
        })
        .collect()
}

/// The whole picture, from the store and the monitor (no provider call).
pub fn view(s: &ApiState) -> Result<StatusView, ApiError> {
    let cutovers = s
        .cfg
        .all_cutovers()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(StatusView {
        generated_at: super::now_text(),
        cutovers: cutovers.iter().map(|c| cutover_view(s, c)).collect(),
        health: health_views(s),
        nodes: match crate::planner::leader::live_nodes(&s.store) {
            n if n.len() > 1 => n,
            _ => Vec::new(),
        },
    })
}

pub async fn cutovers(State(s): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    let v = super::off_runtime(move || view(&s))
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(json!({"cutovers": v.cutovers})))
}

pub async fn cutover(
    State(s): State<Arc<ApiState>>,
    Path(name): Path<String>,
) -> Result<Json<CutoverView>, ApiError> {
    let c = cutover::find(&s.cfg, &name)?;
    let v = super::off_runtime(move || cutover_view(&s, &c))
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(v))
}

pub async fn snapshots(
    State(s): State<Arc<ApiState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let zone = q
        .get("zone")
        .map(|z| z.parse::<switchback_api::Name>())
        .transpose()
        .map_err(|e| ApiError::unprocessable(format!("query `zone`: {e}")))?;
    let list = s
        .store
        .list_snapshots(q.get("provider").map(String::as_str), zone.as_ref())?;
    Ok(Json(json!({"snapshots": list})))
}

pub async fn health(State(s): State<Arc<ApiState>>) -> Json<Value> {
    Json(json!({"checks": health_views(&s)}))
}

/// `GET /v1/nodes`: the `serve` instances on this store, who leads, and each one's own view of
/// every health check (a row older than the expiry is an instance that is gone: not listed).
pub async fn nodes(State(s): State<Arc<ApiState>>) -> Json<Value> {
    let store = s.store.clone();
    let me = s.cfg.node();
    let (leader, nodes) = tokio::task::spawn_blocking(move || {
        (
            crate::planner::leader::current_leader(&store, &me),
            crate::planner::leader::live_nodes(&store),
        )
    })
    .await
    .unwrap_or_else(|_| ("none".into(), Vec::new()));
    Json(json!({"leader": leader, "node": s.cfg.node(), "nodes": nodes}))
}
