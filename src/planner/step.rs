//! A cutover step, zone by zone: [`prepare`] reads each live zone once, checks state, soak,
//! health and drift, and plans; [`execute`] carries the plans out under the lease (failover:
//! the snapshot set first), journaled per zone, so `resume` finishes the zones not done.
//!
//! Every actor goes through [`run`] (automation, webhooks, `--yes`) or [`run_confirmed`] (a
//! person who saw a plan and said yes): both take the lease first and re-read the cutover's
//! state under it, before any snapshot or write (invariant 6).

use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use switchback_api::plan::Plan;
use switchback_api::{ApplyReport, Name, Provider, RecordSet, Zone};
use tracing::{Instrument, info, info_span};

use super::drift::DriftReport;
use super::error::CutoverError;
use super::gates::HealthGate;
use super::lease::{Holder, Lease};
pub use super::prepare::prepare;
use super::prepare::{now_text, selected};
use super::snapshot_set;
use super::state::{
    Action, CutoverState, Intent, SnapshotRef, State, StepKind, StepOptions, Targets, ZoneSets,
};
use super::targets::{find, selectors};
use super::{RunInfo, apply_noted};
use crate::config::{Cutover, ZoneKey};
use crate::registry::Providers;
use crate::store::{Phase, RunId, RunState, Store};

/// The cutover, the providers and the store: what every step works with.
pub struct Ctx {
    pub store: Arc<Store>,
    pub providers: Arc<Providers>,
    pub cutover: Cutover,
    pub health: HealthGate,
    /// This instance's name in the lease.
    pub node: String,
    /// Steps tell `[[notify]]` targets (a drill's inner steps do not: the drill does).
    pub notify: bool,
}

impl Ctx {
    /// The cutover called `name`, with the process's providers and store.
    pub fn open(
        providers: &Arc<Providers>,
        store: &Arc<Store>,
        name: &str,
        health: HealthGate,
    ) -> Result<Ctx, CutoverError> {
        let cfg = providers.config();
        Ok(Ctx {
            store: store.clone(),
            providers: providers.clone(),
            cutover: find(cfg, name)?,
            health,
            node: cfg.node(),
            notify: true,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.cutover.name
    }

    pub(crate) fn provider(&self, z: &ZoneKey) -> Result<Arc<dyn Provider>, CutoverError> {
        Ok(self.providers.get(&z.provider)?)
    }

    pub(crate) fn state(&self) -> Result<Option<CutoverState>, CutoverError> {
        CutoverState::from_row(self.name(), self.store.cutover_state(self.name())?.as_ref())
    }
}

/// The plan of one zone of a step.
#[derive(Debug, Clone, Serialize)]
pub struct ZonePlan {
    pub provider: String,
    pub zone: Name,
    /// The cutover's record sets in this zone as the step makes them.
    pub desired: Vec<RecordSet>,
    pub plan: Plan,
    /// Applied already by the interrupted step that a resume finishes.
    pub done: bool,
    /// The live zone the plan was made from (the failover snapshots exactly this).
    #[serde(skip)]
    pub(crate) live: Option<Zone>,
}

impl ZonePlan {
    pub(crate) fn key(&self) -> ZoneKey {
        ZoneKey {
            provider: self.provider.clone(),
            zone: self.zone.clone(),
        }
    }
}

/// What [`prepare`] computed: the step, its plans per zone, and the checks it passed.
#[derive(Debug, Clone, Serialize)]
pub struct Prepared {
    pub cutover: String,
    pub kind: StepKind,
    /// A resume of an interrupted step.
    pub resume: bool,
    pub from_state: State,
    pub to_state: State,
    pub from_stage: u32,
    pub to_stage: u32,
    /// Traffic share on the primary after the step (None: not weighted, all on recovery).
    pub primary_weight: Option<u32>,
    pub zones: Vec<ZonePlan>,
    pub drift: Option<DriftReport>,
    pub notes: Vec<String>,
    /// The version of the cutover's state the step was prepared from.
    pub version: i64,
    #[serde(skip)]
    pub(crate) targets: Targets,
    /// When the step was asked for (its trigger, else the start of [`prepare`]) and when its
    /// plan was ready.
    #[serde(skip)]
    pub(crate) trigger: super::rto::Trigger,
    #[serde(skip)]
    pub(crate) planned_at: SystemTime,
}

impl Prepared {
    /// Changes in every zone.
    pub fn changes(&self) -> usize {
        self.zones.iter().map(|z| z.plan.changes.len()).sum()
    }

    /// One checksum over every zone's plan (in zone order).
    pub fn checksum(&self) -> String {
        if let [one] = self.zones.as_slice() {
            return one.plan.checksum();
        }
        let mut h = Sha256::new();
        for z in &self.zones {
            h.update(z.plan.checksum().as_bytes());
            h.update(b"\n");
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a step did in one zone.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneOutcome {
    pub provider: String,
    pub zone: Name,
    pub run: Option<RunId>,
    pub changes: usize,
    pub report: ApplyReport,
}

/// What a step did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub cutover: String,
    pub kind: StepKind,
    pub resume: bool,
    pub state: State,
    pub stage: u32,
    /// The first zone's snapshot (the whole set is in `snapshots`).
    pub snapshot_id: String,
    pub snapshots: Vec<SnapshotRef>,
    /// The last run of the step (one run per zone applied; see `zones`).
    pub run: RunId,
    pub changes: usize,
    /// What the providers did, summed over the zones: batches and API calls.
    pub report: ApplyReport,
    pub zones: Vec<ZoneOutcome>,
    pub drift: Option<DriftReport>,
    pub notes: Vec<String>,
    /// The step's times and what its change looks like when served, for [`super::rto`].
    #[serde(skip)]
    pub times: Option<super::rto::StepTimes>,
}

/// The holder this step takes the lease as.
fn holder(ctx: &Ctx, opts: &StepOptions) -> Holder {
    Holder::me(&ctx.node, opts.actor_kind, &opts.actor)
}

/// Take the lease, then [`prepare`] and [`execute`] under it: for actors with no one to show
/// the plan to (automation, webhooks) and for `--yes`.
pub async fn run(ctx: &Ctx, action: &Action, opts: &StepOptions) -> Result<Outcome, CutoverError> {
    let lease = Lease::acquire(&ctx.store, ctx.name(), &holder(ctx, opts), opts.wait).await?;
    let p = prepare(ctx, action, opts).await?;
    execute(ctx, p, opts, &lease).await
}

/// The lease, then prepare again and compare with the plan a person confirmed (`shown`): when
/// the cutover or its records changed meanwhile, refuse ([`CutoverError::Changed`]) with
/// nothing applied and no snapshot taken; else execute.
pub async fn run_confirmed(
    ctx: &Ctx,
    action: &Action,
    opts: &StepOptions,
    shown: &Prepared,
) -> Result<Outcome, CutoverError> {
    let lease = Lease::acquire(&ctx.store, ctx.name(), &holder(ctx, opts), opts.wait).await?;
    let p = match prepare(ctx, action, opts).await {
        Ok(p) => p,
        Err(CutoverError::Refused { message, .. }) => {
            return Err(CutoverError::Changed {
                name: ctx.name().to_string(),
                what: message,
            });
        }
        Err(e) => return Err(e),
    };
    if let Some(what) = changed(shown, &p) {
        return Err(CutoverError::Changed {
            name: ctx.name().to_string(),
            what,
        });
    }
    execute(ctx, p, opts, &lease).await
}

/// What differs between the step that was shown and the one prepared now, if anything.
fn changed(shown: &Prepared, now: &Prepared) -> Option<String> {
    if shown.version != now.version
        || shown.from_state != now.from_state
        || shown.from_stage != now.from_stage
    {
        return Some(format!(
            "it was {} stage {} when the plan was made, and is {} stage {} now (state version \
             {} -> {})",
            shown.from_state,
            shown.from_stage,
            now.from_state,
            now.from_stage,
            shown.version,
            now.version
        ));
    }
    let (a, b) = (shown.checksum(), now.checksum());
    if a != b {
        return Some(format!(
            "its live records changed (plan checksum {a} -> {b})"
        ));
    }
    None
}

/// Carry out a prepared step under `lease`: (failover: the snapshot set first), store the
/// intent, apply and verify zone by zone, store the new state. Each state write is a
/// compare-and-set on the version the step was prepared from.
pub async fn execute(
    ctx: &Ctx,
    p: Prepared,
    opts: &StepOptions,
    lease: &Lease,
) -> Result<Outcome, CutoverError> {
    let span = info_span!(
        "cutover",
        cutover = %ctx.cutover.name,
        step = p.kind.as_str(),
        resume = p.resume,
        to_stage = p.to_stage,
        zones = p.zones.len()
    );
    let r = execute_inner(ctx, p, opts, lease).instrument(span).await;
    if let (true, Ok(o)) = (ctx.notify, &r) {
        crate::notify::after_step(
            ctx.providers.config(),
            &ctx.store,
            &ctx.node,
            ctx.name(),
            &opts.actor,
            Ok(o),
        );
    }
    r
}

/// Tell `[[notify]]` targets that a step was refused (drift, busy; nothing for the rest).
pub fn refused(ctx: &Ctx, opts: &StepOptions, e: &CutoverError) {
    if ctx.notify {
        crate::notify::after_step(
            ctx.providers.config(),
            &ctx.store,
            &ctx.node,
            ctx.name(),
            &opts.actor,
            Err(e),
        );
    }
}

async fn execute_inner(
    ctx: &Ctx,
    p: Prepared,
    opts: &StepOptions,
    lease: &Lease,
) -> Result<Outcome, CutoverError> {
    let c = &ctx.cutover;
    let name = ctx.name();
    let store = ctx.store.as_ref();
    if lease.cutover() != name {
        return Err(CutoverError::refused(
            name,
            "the lease is another cutover's",
        ));
    }
    lease.check()?;
    let fault_kind = if p.resume { "resume" } else { p.kind.as_str() };
    let stored = ctx.state()?;
    if stored.as_ref().map_or(0, |s| s.version) != p.version {
        return Err(CutoverError::Changed {
            name: name.to_string(),
            what: "its state changed after the step was prepared".into(),
        });
    }
    let mut st = match (p.kind, p.resume) {
        (StepKind::Failover, false) => {
            let lives: Vec<(&str, &Zone)> = p
                .zones
                .iter()
                .filter_map(|z| z.live.as_ref().map(|l| (z.provider.as_str(), l)))
                .collect();
            let snapshots = snapshot_set::take(store, name, &lives)?;
            crate::fault::point("failover:after-snapshot");
            CutoverState {
                state: State::Ready,
                stage: 0,
                snapshots,
                targets: p.targets.clone(),
                // Before the failover has written anything, the live sets are the snapshot's.
                written: p
                    .zones
                    .iter()
                    .map(|z| ZoneSets {
                        provider: z.provider.clone(),
                        zone: z.zone.clone(),
                        record_sets: z
                            .live
                            .as_ref()
                            .map(|l| selected(&selectors(c, &z.key()), l))
                            .unwrap_or_default(),
                    })
                    .collect(),
                intent: None,
                stage_started_at: None,
                version: p.version,
            }
        }
        _ => stored.ok_or_else(|| CutoverError::corrupt(name, "no state row"))?,
    };
    if !p.resume {
        st.intent = Some(Intent {
            kind: p.kind,
            to_state: p.to_state,
            to_stage: p.to_stage,
            desired: p
                .zones
                .iter()
                .map(|z| ZoneSets {
                    provider: z.provider.clone(),
                    zone: z.zone.clone(),
                    record_sets: z.desired.clone(),
                })
                .collect(),
            done: Vec::new(),
            started_at: now_text(),
            notes: p.notes.clone(),
            by: Some(opts.actor_kind.as_str().to_string()),
        });
        st.version = store.put_cutover_state(&st.to_row(name)?, lease.token())?;
    }
    // Runs a crash left unfinished: closed as aborted, kept in the journal. Under the lease,
    // a running run of this cutover is one whose actor died.
    for run in store.cutover_runs(name)? {
        if run.state == RunState::Running {
            store.journal(
                run.id,
                "interrupted",
                Phase::Failed,
                &json!({ "by": fault_kind, "note": "the process stopped during this run" }),
            )?;
            store.finish_run(run.id, RunState::Aborted, &json!({ "interrupted": true }))?;
        }
    }
    crate::fault::point(&format!("{fault_kind}:after-intent"));
    let kind = p.kind.as_str();
    let mut outcomes = Vec::new();
    let mut expects = Vec::new();
    let (mut applied_at, mut verified_at) = (p.planned_at, p.planned_at);
    let mut total = ApplyReport::default();
    let mut last_run = None;
    let zone_count = p.zones.len();
    for (i, zp) in p.zones.into_iter().enumerate() {
        if zp.done {
            continue;
        }
        lease.check()?;
        let z = zp.key();
        let provider = ctx.provider(&z)?;
        let sels = selectors(c, &z);
        let desired_zone = Zone::new(z.zone.clone(), zp.desired.clone());
        let (run, report, live) = if zp.plan.is_empty() {
            let run = store.start_run(
                kind,
                name,
                provider.name(),
                &z.zone,
                &json!({ "plan": zp.plan, "checksum": zp.plan.checksum(), "resumed": p.resume }),
            )?;
            for note in &p.notes {
                store.journal(run, "note", Phase::Done, &json!({ "note": note }))?;
            }
            store.journal(
                run,
                "apply",
                Phase::Done,
                &json!({ "changes": 0, "note": "nothing to apply: the live zone already matches" }),
            )?;
            store.finish_run(run, RunState::Done, &json!({ "changes": 0 }))?;
            (
                run,
                ApplyReport::default(),
                zp.live.clone().unwrap_or_else(|| desired_zone.clone()),
            )
        } else {
            let applied = apply_noted(
                store,
                provider.as_ref(),
                &zp.plan,
                &desired_zone,
                sels.clone(),
                RunInfo {
                    kind,
                    subject: name,
                    actor: &opts.actor,
                },
                &p.notes,
            )
            .await?;
            applied_at = applied_at.max(applied.applied_at);
            verified_at = verified_at.max(applied.verified_at);
            (applied.run, applied.report, applied.live)
        };
        expects.push(super::rto::ZoneExpect::new(
            &z.provider,
            &zp.plan.changes,
            &desired_zone,
            zp.live.as_ref(),
            &live,
        ));
        total.batches += report.batches;
        total.api_calls += report.api_calls;
        last_run = Some(run);
        // What the step wrote in this zone, as the provider reads it back (the base of the
        // next drift check); the zone is done.
        let written = selected(&sels, &live);
        match st.written.iter_mut().find(|w| w.is(&z)) {
            Some(w) => w.record_sets = written,
            None => st.written.push(ZoneSets {
                provider: z.provider.clone(),
                zone: z.zone.clone(),
                record_sets: written,
            }),
        }
        if let Some(intent) = st.intent.as_mut() {
            intent.done.push(z.clone());
        }
        if i + 1 < zone_count {
            st.version = store.put_cutover_state(&st.to_row(name)?, lease.token())?;
            crate::fault::point(&format!("{fault_kind}:after-zone"));
        }
        outcomes.push(ZoneOutcome {
            provider: z.provider.clone(),
            zone: z.zone.clone(),
            run: Some(run),
            changes: zp.plan.changes.len(),
            report,
        });
    }
    crate::fault::point(&format!("{fault_kind}:after-apply"));
    st.state = p.to_state;
    st.stage = p.to_stage;
    st.intent = None;
    st.stage_started_at = Some(now_text());
    st.version = store.put_cutover_state(&st.to_row(name)?, lease.token())?;
    let run = match last_run {
        Some(r) => r,
        None => store
            .start_run(
                kind,
                name,
                &c.provider,
                &c.zone,
                &json!({ "note": "every zone was done" }),
            )
            .and_then(|r| {
                store
                    .finish_run(r, RunState::Done, &json!({ "changes": 0 }))
                    .map(|_| r)
            })?,
    };
    info!(run = %run, state = %p.to_state, stage = p.to_stage, "cutover step done");
    Ok(Outcome {
        cutover: name.to_string(),
        kind: p.kind,
        resume: p.resume,
        state: p.to_state,
        stage: p.to_stage,
        snapshot_id: st
            .snapshots
            .first()
            .map(|s| s.id.clone())
            .unwrap_or_default(),
        snapshots: st.snapshots.clone(),
        run,
        changes: outcomes.iter().map(|o| o.changes).sum(),
        report: total,
        zones: outcomes,
        drift: p.drift,
        notes: p.notes,
        times: Some(super::rto::StepTimes {
            trigger: p.trigger,
            planned_at: p.planned_at,
            applied_at,
            verified_at,
            zones: expects,
        }),
    })
}
