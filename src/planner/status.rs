//! `cutover status`: where a cutover stands, from the store alone (no provider call).

use serde::Serialize;
use switchback_api::Name;

use super::error::CutoverError;
use super::state::{Action, CutoverState, Intent, SnapshotRef, StageSel, State, Targets};
use super::steering::{primary_weight, stage_count};
use crate::config::{Config, Cutover, Steering};
use crate::store::{LeaseRow, Run, Store};

/// A run of a cutover with its journal.
#[derive(Debug, Clone, Serialize)]
pub struct RunWithJournal {
    #[serde(flatten)]
    pub run: Run,
    pub journal: Vec<crate::store::JournalEntry>,
}

/// `cutover status`: the state, the stage, the snapshot set, the intent, the lease, the runs.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub name: String,
    /// The cutover's default provider and zone (each record's own are in `zones`).
    pub provider: String,
    pub zone: Name,
    /// Every zone the cutover's records live in, `provider/zone`, in config order.
    pub zones: Vec<String>,
    pub steering: Steering,
    pub state: State,
    pub stage: u32,
    pub stages: u32,
    pub failback_stages: Vec<u32>,
    pub primary_weight: Option<u32>,
    /// The first zone's snapshot.
    pub snapshot_id: Option<String>,
    pub snapshots: Vec<SnapshotRef>,
    pub targets: Option<Targets>,
    pub intent: Option<Intent>,
    pub stage_started_at: Option<String>,
    pub records: Vec<String>,
    /// Who holds the cutover's lease now, if anyone.
    pub lease: Option<LeaseRow>,
    /// The node whose automation acts (one store, one node: this one).
    pub leader: String,
    /// The node answering.
    pub node: String,
    /// The measured RTO of the last step ([`super::rto::Rto`]), when there was one.
    pub last_rto: Option<serde_json::Value>,
    /// The recovery time objective, when configured.
    pub rto_target_seconds: Option<f64>,
    /// The last drill: `{"id", "result", "started_at", "rto_seconds", "live"}`.
    pub last_drill: Option<serde_json::Value>,
    /// Delivery of its events to each `[[notify]]` target.
    pub notifications: Vec<crate::store::NotifyStat>,
    pub runs: Vec<RunWithJournal>,
}

/// The status of cutover `c` from the store (no provider call), every run with its journal
/// (`cutover status`).
pub fn status(cfg: &Config, store: &Store, c: &Cutover) -> Result<Status, CutoverError> {
    let mut runs = Vec::new();
    for run in store.cutover_runs(&c.name)? {
        let journal = store.journal_entries(run.id)?;
        runs.push(RunWithJournal { run, journal });
    }
    status_with(cfg, store, c, runs)
}

/// The status of cutover `c` with its last `last` runs only, without their journals: a
/// bounded read for the status page and `/metrics`, however many runs there are.
pub fn summary(
    cfg: &Config,
    store: &Store,
    c: &Cutover,
    last: usize,
) -> Result<Status, CutoverError> {
    let runs = if last == 0 {
        Vec::new()
    } else {
        store
            .cutover_runs_last(&c.name, last)?
            .into_iter()
            .map(|run| RunWithJournal {
                run,
                journal: Vec::new(),
            })
            .collect()
    };
    status_with(cfg, store, c, runs)
}

fn status_with(
    cfg: &Config,
    store: &Store,
    c: &Cutover,
    runs: Vec<RunWithJournal>,
) -> Result<Status, CutoverError> {
    let st = CutoverState::from_row(&c.name, store.cutover_state(&c.name)?.as_ref())?;
    let state = st.as_ref().map_or(State::Idle, |s| s.state);
    let stage = st.as_ref().map_or(0, |s| s.stage);
    let node = cfg.node();
    Ok(Status {
        name: c.name.clone(),
        provider: c.provider.clone(),
        zone: c.zone.clone(),
        zones: c.zones().iter().map(ToString::to_string).collect(),
        steering: c.steering,
        state,
        stage,
        stages: stage_count(c),
        failback_stages: c.failback_stages.clone(),
        primary_weight: match state {
            State::Idle | State::Restored | State::Ready => Some(100),
            _ => primary_weight(c, stage),
        },
        snapshot_id: st
            .as_ref()
            .and_then(|s| s.snapshots.first())
            .map(|s| s.id.clone()),
        snapshots: st.as_ref().map(|s| s.snapshots.clone()).unwrap_or_default(),
        targets: st.as_ref().map(|s| s.targets.clone()),
        intent: st.as_ref().and_then(|s| s.intent.clone()),
        stage_started_at: st.and_then(|s| s.stage_started_at),
        records: c
            .records
            .iter()
            .map(|r| format!("{}/{}", r.name, r.rtype))
            .collect(),
        // A holder that died is no holder (the next actor replaces it at once).
        lease: store.lease(&c.name)?.filter(|l| {
            let me = super::lease::Holder::me(&node, super::state::ActorKind::Cli, "status");
            !super::lease::replaceable(l, &me, std::time::SystemTime::now())
        }),
        leader: super::leader::current_leader(store, &node),
        node,
        last_rto: store.step_timings(&c.name, 1)?.into_iter().next(),
        rto_target_seconds: c.rto_target.map(|d| d.as_secs_f64()),
        last_drill: store.drills(Some(&c.name), 1)?.into_iter().next().map(|d| {
            serde_json::json!({
                "id": d.id,
                "result": d.result,
                "live": d.live,
                "started_at": d.started_at,
                "rto_seconds": d.report.get("rto_seconds"),
                "findings": d.report.get("findings").and_then(|f| f.as_array()).map_or(0, Vec::len),
            })
        }),
        notifications: store.notify_stats(Some(&c.name))?,
        runs,
    })
}

/// The action `cutover plan NAME` shows: resume an interrupted step, the next failback stage,
/// or a failover (with the config's targets).
pub fn next_action(store: &Store, c: &Cutover) -> Result<Action, CutoverError> {
    let st = CutoverState::from_row(&c.name, store.cutover_state(&c.name)?.as_ref())?;
    if st.as_ref().is_some_and(|s| s.intent.is_some()) {
        return Ok(Action::Resume);
    }
    Ok(match st.map_or(State::Idle, |s| s.state) {
        State::FailedOver | State::FailingBack => Action::Failback {
            stage: StageSel::Next,
        },
        _ => Action::Failover {
            targets: Targets::new(),
        },
    })
}
