//! The cutover engine (DESIGN.md "The cutover"): failover, staged failback with an exact
//! restore, drift detection, and crash safety (resume / abort).
//!
//! ```text
//! idle --snapshot--> ready --failover--> failed-over --failback stage 1..n--> restored
//!                                   \--abort--> restored (from the snapshot)
//! ```
//!
//! Every step goes through [`super::apply_noted`] (plan, journal, apply, audit, verify) and
//! touches only the cutover's record sets (a diff restricted by selectors, invariant 3). The
//! step's intent (what it will write) is stored in `cutover_state` before its apply; the new
//! state after its verify. A crash in between leaves the intent: [`Action::Resume`] finishes it,
//! [`Action::Abort`] restores the snapshot.
//!
//! The API for automation (`serve`, webhooks):
//! - [`Ctx::open`] (config + cutover name -> cutover, provider, store);
//! - [`prepare`] (`Action::Failover { targets }`, `Action::Failback { stage }`,
//!   `Action::Abort`, `Action::Resume`) computes the step, checks state, soak, health, drift,
//!   and gives the plan; nothing changes;
//! - [`execute`] carries it out; [`run`] is both in one call;
//! - [`status`] for `GET /v1/cutovers/{name}`.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::json;
use switchback_api::plan::{self, DiffOptions, Plan, PlanError, Safety, Selector};
use switchback_api::{
    ApplyReport, Name, Provider, ProviderError, RType, RecordSet, RecordSetKey, RecordValue, Zone,
};
use tracing::{Instrument, info, info_span, warn};

use super::{PlannerError, RunInfo};
use crate::config::{Config, ConfigError, Cutover, Steering};
use crate::store::{CutoverRow, Phase, Run, RunId, RunState, Store, StoreError};

/// The `set_identifier` of the primary side of a weighted pair.
pub const PRIMARY: &str = "primary";
/// The `set_identifier` of the recovery side of a weighted pair.
pub const RECOVERY: &str = "recovery";

/// A boxed future (the health gate is used as a trait object).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Whether the primary of a cutover is healthy: the gate a failback stage must pass.
pub trait HealthGate: Send + Sync {
    /// `Ok(true)` healthy, `Ok(false)` unhealthy, `Err` could not tell (counts as unhealthy).
    fn primary_healthy<'a>(&'a self, cutover: &'a Cutover) -> BoxFuture<'a, Result<bool, String>>;
}

/// The gate of the command line: one probe of the cutover's `health` check now (the health
/// module's probe, with the check's timeout). A cutover without `health` passes. `serve`
/// should use a gate reading its running monitor's state instead.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProbeGate;

impl HealthGate for ProbeGate {
    fn primary_healthy<'a>(&'a self, cutover: &'a Cutover) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let Some(spec) = &cutover.health else {
                return Ok(true);
            };
            let r = crate::health::probe_once(spec).await;
            match (r.ok, r.error) {
                (true, _) => Ok(true),
                (false, Some(e)) => Err(format!("{}: {e}", spec.check)),
                (false, None) => Ok(false),
            }
        })
    }
}

/// Errors of the cutover engine.
#[derive(Debug, thiserror::Error)]
pub enum CutoverError {
    #[error("unknown cutover {name:?} (configured: {known})")]
    Unknown { name: String, known: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error(transparent)]
    Planner(#[from] PlannerError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The step is not possible in the cutover's state, or its input is wrong; nothing changed.
    #[error("cutover {name}: {message}")]
    Refused { name: String, message: String },
    #[error(
        "cutover {name}: the primary is not healthy ({detail}); failback refused \
         (--ignore-health overrides, loudly)"
    )]
    Unhealthy { name: String, detail: String },
    #[error("cutover {name}: stage {stage} has soaked {elapsed} of {soak}; wait, or use --force")]
    Soak {
        name: String,
        stage: u32,
        elapsed: String,
        soak: String,
    },
    #[error("cutover {}: drift: {} cutover record set(s) changed by someone else since the last step (use --force to overwrite)\n{}", .0.cutover, .0.conflicts.len(), .0.render())]
    Drift(Box<DriftReport>),
    #[error("cutover {name}: stored state is damaged: {detail}")]
    Corrupt { name: String, detail: String },
}

impl CutoverError {
    fn refused(name: &str, message: impl Into<String>) -> CutoverError {
        CutoverError::Refused {
            name: name.to_string(),
            message: message.into(),
        }
    }
}

/// Where a cutover stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Idle,
    Ready,
    FailedOver,
    FailingBack,
    Restored,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Ready => "ready",
            State::FailedOver => "failed-over",
            State::FailingBack => "failing-back",
            State::Restored => "restored",
        }
    }

    fn parse(s: &str) -> Option<State> {
        Some(match s {
            "idle" => State::Idle,
            "ready" => State::Ready,
            "failed-over" => State::FailedOver,
            "failing-back" => State::FailingBack,
            "restored" => State::Restored,
            _ => return None,
        })
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step of a cutover (also the kind of its run in the journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Failover,
    Failback,
    Abort,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Failover => "failover",
            StepKind::Failback => "failback",
            StepKind::Abort => "abort",
        }
    }
}

/// Which failback stage to go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StageSel {
    /// The stage after the current one.
    Next,
    /// Stage N (1-based); straight there, in one step.
    N(u32),
    /// The last stage (the exact restore), in one step.
    All,
}

impl std::str::FromStr for StageSel {
    type Err = String;
    fn from_str(s: &str) -> Result<StageSel, String> {
        match s.trim() {
            "next" => Ok(StageSel::Next),
            "all" => Ok(StageSel::All),
            n => n
                .parse::<u32>()
                .ok()
                .filter(|n| *n >= 1)
                .map(StageSel::N)
                .ok_or_else(|| {
                    format!("--stage {s:?}: expected next, all or a stage number (1, 2, ...)")
                }),
        }
    }
}

/// Recovery targets: `"NAME/TYPE"` -> values (canonical form).
pub type Targets = BTreeMap<String, Vec<String>>;

/// What to do.
#[derive(Debug, Clone)]
pub enum Action {
    /// Snapshot, then steer to the recovery targets. `targets` override the config's.
    Failover { targets: Targets },
    /// Walk traffic back to stage `stage`; the last stage restores the snapshot exactly.
    Failback { stage: StageSel },
    /// Restore the snapshot (from any state after the snapshot).
    Abort,
    /// Finish the step that was interrupted.
    Resume,
}

/// Overrides and who asks.
#[derive(Debug, Clone, Default)]
pub struct StepOptions {
    /// Override the soak and a drift conflict (never the health gate).
    pub force: bool,
    /// Override the health gate (loudly: stderr, log and journal).
    pub ignore_health: bool,
    /// `user@host`, `webhook:…`, `auto:health`.
    pub actor: String,
}

/// The stored intent of a step in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub kind: StepKind,
    pub to_state: State,
    pub to_stage: u32,
    /// The cutover's record sets as the step makes them.
    pub desired: Vec<RecordSet>,
    pub started_at: String,
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One cutover record set whose live version is not what the last step wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftEntry {
    pub key: String,
    pub snapshot: Option<RecordSet>,
    pub written: Option<RecordSet>,
    pub live: Option<RecordSet>,
}

/// A record set outside the cutover that changed since the snapshot: never touched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeftAlone {
    pub key: String,
    /// `added`, `changed` or `removed` since the snapshot.
    pub change: String,
    pub snapshot: Option<RecordSet>,
    pub live: Option<RecordSet>,
}

/// The three-way comparison before a failback step or an abort.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    pub cutover: String,
    pub conflicts: Vec<DriftEntry>,
    pub left_alone: Vec<LeftAlone>,
}

fn describe(rs: Option<&RecordSet>) -> String {
    match rs {
        None => "(absent)".into(),
        Some(rs) => {
            let mut s = format!("ttl {}", rs.ttl);
            if let Some(id) = &rs.set_identifier {
                s.push_str(&format!(" [{id}]"));
            }
            if let Some(w) = rs.weight {
                s.push_str(&format!(" weight {w}"));
            }
            for (k, v) in &rs.fields {
                s.push_str(&format!(" {k}={v}"));
            }
            let vals: Vec<&str> = rs.values.iter().map(|v| v.data.as_str()).collect();
            s.push_str(&format!("  {}", vals.join(", ")));
            s
        }
    }
}

impl DriftReport {
    /// The report as text: each conflict as snapshot / written / live, then what is left alone.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.conflicts {
            out.push_str(&format!("conflict {}:\n", c.key));
            out.push_str(&format!("  snapshot: {}\n", describe(c.snapshot.as_ref())));
            out.push_str(&format!("  written:  {}\n", describe(c.written.as_ref())));
            out.push_str(&format!("  live:     {}\n", describe(c.live.as_ref())));
        }
        for l in &self.left_alone {
            out.push_str(&format!(
                "left alone: {} ({} since the snapshot, outside the cutover; not touched)\n",
                l.key, l.change
            ));
        }
        out
    }
}

/// What [`prepare`] computed: the step, its plan, and the checks it passed.
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
    pub desired: Vec<RecordSet>,
    pub plan: Plan,
    pub drift: Option<DriftReport>,
    pub notes: Vec<String>,
    #[serde(skip)]
    targets: Targets,
}

/// What a step did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub cutover: String,
    pub kind: StepKind,
    pub resume: bool,
    pub state: State,
    pub stage: u32,
    pub snapshot_id: String,
    pub run: RunId,
    pub changes: usize,
    /// What the provider did: batches and API calls.
    pub report: ApplyReport,
    pub drift: Option<DriftReport>,
    pub notes: Vec<String>,
}

/// The cutover, its provider and the store: what every step works with.
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub provider: Arc<dyn Provider>,
    pub cutover: Cutover,
    pub health: &'a dyn HealthGate,
}

impl<'a> Ctx<'a> {
    /// The cutover called `name` in `cfg`, with its provider.
    pub fn open(
        cfg: &Config,
        store: &'a Store,
        name: &str,
        health: &'a dyn HealthGate,
    ) -> Result<Ctx<'a>, CutoverError> {
        let cutover = find(cfg, name)?;
        let provider = crate::registry::provider(cfg, &cutover.provider)?;
        Ok(Ctx {
            store,
            provider,
            cutover,
            health,
        })
    }

    fn name(&self) -> &str {
        &self.cutover.name
    }

    fn selectors(&self) -> Vec<Selector> {
        selectors(&self.cutover)
    }

    fn opts(&self) -> DiffOptions {
        super::diff_options(self.provider.as_ref(), Vec::new())
    }
}

/// The resolved cutover called `name`.
pub fn find(cfg: &Config, name: &str) -> Result<Cutover, CutoverError> {
    cfg.cutover(name)?.ok_or_else(|| CutoverError::Unknown {
        name: name.to_string(),
        known: if cfg.cutovers.is_empty() {
            "none".into()
        } else {
            cfg.cutovers
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        },
    })
}

/// The selectors of a cutover's record sets (`NAME/TYPE`, every set identifier).
pub fn selectors(c: &Cutover) -> Vec<Selector> {
    c.records
        .iter()
        .map(|r| Selector::name_type(r.name.clone(), r.rtype))
        .collect()
}

/// Parse `--target NAME/TYPE=V1,V2` against the cutover; values canonicalized.
pub fn parse_target(c: &Cutover, text: &str) -> Result<(String, Vec<String>), CutoverError> {
    let bad = |m: String| CutoverError::refused(&c.name, format!("--target {text:?}: {m}"));
    let (key, values) = text
        .split_once('=')
        .ok_or_else(|| bad("expected NAME/TYPE=V1,V2".into()))?;
    let sel: Selector = key.parse().map_err(|e| bad(format!("{e}")))?;
    let rtype = sel
        .rtype
        .ok_or_else(|| bad("the type is missing (NAME/TYPE=...)".into()))?;
    if !c
        .records
        .iter()
        .any(|r| r.name == sel.name && r.rtype == rtype)
    {
        return Err(bad(format!(
            "{}/{rtype} is not a record of this cutover",
            sel.name
        )));
    }
    let mut out = Vec::new();
    for v in values.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let canon = switchback_api::rdata::canonicalize(rtype, v, &c.zone)
            .map_err(|e| bad(format!("{v:?} is not a valid {rtype} value: {e}")))?;
        out.push(canon);
    }
    if out.is_empty() {
        return Err(bad("no values".into()));
    }
    Ok((format!("{}/{rtype}", sel.name), out))
}

/// The targets of a failover: the config's, overridden per record set by `overrides`. Every
/// record set must have some.
pub fn resolve_targets(c: &Cutover, overrides: &Targets) -> Result<Targets, CutoverError> {
    let mut out = Targets::new();
    for r in &c.records {
        let key = format!("{}/{}", r.name, r.rtype);
        let v = overrides
            .get(&key)
            .cloned()
            .unwrap_or_else(|| r.recovery.clone());
        if v.is_empty() {
            return Err(CutoverError::refused(
                &c.name,
                format!(
                    "no recovery target for {key}: set recovery = [...] in its [[cutover.record]] \
                     or pass --target {key}=VALUE"
                ),
            ));
        }
        out.insert(key, v);
    }
    Ok(out)
}

/// How many failback stages the cutover has on its provider.
pub fn stage_count(c: &Cutover) -> u32 {
    if c.weighted_provider {
        c.failback_stages.len() as u32
    } else {
        1
    }
}

/// The primary's traffic share after `stage` (0 = failed over).
pub fn primary_weight(c: &Cutover, stage: u32) -> Option<u32> {
    let n = stage_count(c);
    if stage >= n {
        Some(100)
    } else if stage == 0 {
        match c.steering {
            Steering::Weighted => Some(0),
            Steering::Failover => None,
        }
    } else {
        c.failback_stages.get(stage as usize - 1).copied()
    }
}

/// The cutover's record sets steered with the primary at `weight` (`None`: the recovery
/// targets replace the values), built from the original sets in `base` (the snapshot).
pub fn steered(
    c: &Cutover,
    base: &Zone,
    targets: &Targets,
    weight: Option<u32>,
) -> Result<Vec<RecordSet>, CutoverError> {
    let mut out = Vec::new();
    for r in &c.records {
        let key = format!("{}/{}", r.name, r.rtype);
        let orig: Vec<&RecordSet> = base
            .record_sets
            .iter()
            .filter(|rs| rs.name == r.name && rs.rtype == r.rtype)
            .collect();
        let o = match orig.as_slice() {
            [o] if o.set_identifier.is_none() && o.weight.is_none() => *o,
            [] => {
                return Err(CutoverError::refused(
                    &c.name,
                    format!("{key} is not in zone {} of {}", c.zone, c.provider),
                ));
            }
            _ => {
                return Err(CutoverError::refused(
                    &c.name,
                    format!(
                        "{key} must be one plain record set before a failover (found {} set(s) \
                         with set identifiers or weights)",
                        orig.len()
                    ),
                ));
            }
        };
        let tv = targets.get(&key).filter(|v| !v.is_empty()).ok_or_else(|| {
            CutoverError::refused(&c.name, format!("no recovery target for {key}"))
        })?;
        let recovery_values: Vec<RecordValue> =
            tv.iter().map(|v| RecordValue::new(v.clone())).collect();
        match weight {
            None => {
                let mut rs = o.clone();
                rs.values = recovery_values;
                rs.ttl = c.ttl;
                rs.normalize();
                out.push(rs);
            }
            Some(w) => {
                let mut p = o.clone();
                p.set_identifier = Some(PRIMARY.into());
                p.weight = Some(w);
                p.ttl = c.ttl;
                if c.provider_kind == "builtin" {
                    p.fields.insert(
                        switchback_builtin::steer::HEALTH_FIELD.into(),
                        json!(c.name),
                    );
                }
                let mut rec = o.clone();
                rec.set_identifier = Some(RECOVERY.into());
                rec.weight = Some(100 - w.min(100));
                rec.ttl = c.ttl;
                rec.values = recovery_values;
                rec.normalize();
                out.push(p);
                out.push(rec);
            }
        }
    }
    Ok(out)
}

fn selected<'z>(sels: &[Selector], zone: &'z Zone) -> Vec<&'z RecordSet> {
    zone.record_sets
        .iter()
        .filter(|rs| sels.iter().any(|s| s.matches(&rs.key())))
        .collect()
}

fn normalized(rs: Option<&RecordSet>) -> Option<RecordSet> {
    rs.map(|r| {
        let mut r = r.clone();
        r.normalize();
        r
    })
}

fn find_key<'r>(sets: &'r [RecordSet], key: &RecordSetKey) -> Option<&'r RecordSet> {
    sets.iter().find(|rs| rs.key() == *key)
}

/// The three-way comparison: per cutover record set, the snapshot, what the last step wrote
/// (or what an interrupted step meant to write) and the live zone; plus what changed outside
/// the cutover.
pub fn drift(
    c: &Cutover,
    opts: &DiffOptions,
    snapshot: &Zone,
    written: &[RecordSet],
    intended: Option<&[RecordSet]>,
    live: &Zone,
) -> DriftReport {
    let sels = selectors(c);
    let mut keys: BTreeSet<RecordSetKey> = BTreeSet::new();
    keys.extend(selected(&sels, snapshot).iter().map(|rs| rs.key()));
    keys.extend(selected(&sels, live).iter().map(|rs| rs.key()));
    keys.extend(written.iter().map(RecordSet::key));
    if let Some(i) = intended {
        keys.extend(i.iter().map(RecordSet::key));
    }
    let mut conflicts = Vec::new();
    for key in keys {
        let l = normalized(live.get(&key));
        let w = normalized(find_key(written, &key));
        if l == w {
            continue;
        }
        if let Some(i) = intended {
            if l == normalized(find_key(i, &key)) {
                continue;
            }
        }
        conflicts.push(DriftEntry {
            key: key.to_string(),
            snapshot: snapshot.get(&key).cloned(),
            written: w,
            live: l,
        });
    }
    let left_alone = plan::diff(snapshot, live, opts)
        .into_iter()
        .filter(|ch| !sels.iter().any(|s| s.matches(&ch.key())))
        .filter(|ch| ch.key().rtype != RType::SOA || ch.before().is_none() || ch.after().is_none())
        .map(|ch| LeftAlone {
            key: ch.key().to_string(),
            change: match ch.op() {
                "create" => "added",
                "delete" => "removed",
                _ => "changed",
            }
            .into(),
            snapshot: ch.before().cloned(),
            live: ch.after().cloned(),
        })
        .collect();
    DriftReport {
        cutover: c.name.clone(),
        conflicts,
        left_alone,
    }
}

/// Cutover steps change only declared record sets: the percentage threshold does not apply,
/// the apex NS/SOA rule does.
fn cutover_safety() -> Safety {
    Safety {
        max_change_percent: u32::MAX,
    }
}

fn now_text() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

fn row_state(name: &str, row: Option<&CutoverRow>) -> Result<State, CutoverError> {
    match row {
        None => Ok(State::Idle),
        Some(r) => State::parse(&r.state).ok_or_else(|| CutoverError::Corrupt {
            name: name.to_string(),
            detail: format!("unknown state {:?}", r.state),
        }),
    }
}

fn row_intent(name: &str, row: &CutoverRow) -> Result<Option<Intent>, CutoverError> {
    row.intent
        .clone()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| CutoverError::Corrupt {
            name: name.to_string(),
            detail: format!("intent: {e}"),
        })
}

fn row_written(name: &str, row: &CutoverRow) -> Result<Vec<RecordSet>, CutoverError> {
    serde_json::from_value(row.written.clone()).map_err(|e| CutoverError::Corrupt {
        name: name.to_string(),
        detail: format!("written record sets: {e}"),
    })
}

fn row_targets(name: &str, row: &CutoverRow) -> Result<Targets, CutoverError> {
    serde_json::from_value(row.targets.clone()).map_err(|e| CutoverError::Corrupt {
        name: name.to_string(),
        detail: format!("targets: {e}"),
    })
}

/// Compute the next step: check the state, the soak, the health gate and drift; plan it.
/// Nothing changes.
pub async fn prepare(
    ctx: &Ctx<'_>,
    action: &Action,
    opts: &StepOptions,
) -> Result<Prepared, CutoverError> {
    let c = &ctx.cutover;
    let name = ctx.name();
    let row = ctx.store.cutover_state(name)?;
    let state = row_state(name, row.as_ref())?;
    let intent = row
        .as_ref()
        .map(|r| row_intent(name, r))
        .transpose()?
        .flatten();
    let stage = row.as_ref().map_or(0, |r| r.stage);
    let n = stage_count(c);
    let sels = ctx.selectors();
    if let (Some(i), false) = (&intent, matches!(action, Action::Resume | Action::Abort)) {
        return Err(CutoverError::refused(
            name,
            format!(
                "a {} step was interrupted (started {}); run `switchback resume {name}` to finish \
                 it or `switchback abort {name}` to restore the snapshot",
                i.kind.as_str(),
                i.started_at
            ),
        ));
    }
    let mut notes = Vec::new();
    let mut drift_report = None;
    let (kind, resume, to_state, to_stage, desired, targets) = match action {
        Action::Failover { targets } => {
            if !matches!(state, State::Idle | State::Restored) {
                return Err(CutoverError::refused(
                    name,
                    format!(
                        "is {state} (stage {stage}); fail back or abort before another failover"
                    ),
                ));
            }
            let targets = resolve_targets(c, targets)?;
            let live = ctx.provider.read_zone(&c.zone).await?;
            let w = primary_weight(c, 0);
            let desired = steered(c, &live, &targets, w)?;
            (
                StepKind::Failover,
                false,
                State::FailedOver,
                0,
                desired,
                targets,
            )
        }
        Action::Failback { stage: sel } => {
            if !matches!(state, State::FailedOver | State::FailingBack) {
                return Err(CutoverError::refused(
                    name,
                    format!("is {state}; only a failed-over cutover fails back"),
                ));
            }
            let row = row.as_ref().ok_or_else(|| CutoverError::Corrupt {
                name: name.into(),
                detail: "no state row".into(),
            })?;
            let to = match sel {
                StageSel::Next => stage + 1,
                StageSel::All => n,
                StageSel::N(k) => *k,
            };
            if to <= stage || to > n {
                return Err(CutoverError::refused(
                    name,
                    format!(
                        "cannot go to stage {to}: at stage {stage} of {n} (stages {:?}{})",
                        c.failback_stages,
                        if c.weighted_provider {
                            ""
                        } else {
                            "; one stage on a provider without weights"
                        }
                    ),
                ));
            }
            // Soak of the previous step.
            if !c.soak.is_zero() {
                let since = row
                    .stage_started_at
                    .as_deref()
                    .and_then(|t| humantime::parse_rfc3339(t).ok())
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .unwrap_or_default();
                if since < c.soak {
                    if opts.force {
                        notes.push(format!(
                            "soak overridden with --force: stage {stage} soaked {} of {}",
                            humantime::format_duration(Duration::from_secs(since.as_secs())),
                            humantime::format_duration(c.soak)
                        ));
                    } else {
                        return Err(CutoverError::Soak {
                            name: name.into(),
                            stage,
                            elapsed: humantime::format_duration(Duration::from_secs(
                                since.as_secs(),
                            ))
                            .to_string(),
                            soak: humantime::format_duration(c.soak).to_string(),
                        });
                    }
                }
            }
            // Health gate.
            let health = ctx.health.primary_healthy(c).await;
            let unhealthy = match health {
                Ok(true) => None,
                Ok(false) => Some("its health check is down".to_string()),
                Err(e) => Some(format!("probe failed: {e}")),
            };
            if let Some(detail) = unhealthy {
                if opts.ignore_health {
                    let note = format!(
                        "HEALTH GATE OVERRIDDEN with --ignore-health: the primary is NOT healthy \
                         ({detail}); failing back to stage {to} anyway"
                    );
                    warn!(cutover = %name, "{note}");
                    notes.push(note);
                } else {
                    return Err(CutoverError::Unhealthy {
                        name: name.into(),
                        detail,
                    });
                }
            }
            let snap = ctx.store.snapshot(&row.snapshot_id)?;
            let targets = row_targets(name, row)?;
            let desired = if to >= n {
                selected(&sels, &snap.zone).into_iter().cloned().collect()
            } else {
                steered(c, &snap.zone, &targets, primary_weight(c, to))?
            };
            let to_state = if to >= n {
                State::Restored
            } else {
                State::FailingBack
            };
            (StepKind::Failback, false, to_state, to, desired, targets)
        }
        Action::Abort => {
            let Some(row) = row
                .as_ref()
                .filter(|_| state != State::Restored || intent.is_some())
            else {
                return Err(CutoverError::refused(
                    name,
                    format!("is {state}; nothing to abort"),
                ));
            };
            let snap = ctx.store.snapshot(&row.snapshot_id)?;
            let desired = selected(&sels, &snap.zone).into_iter().cloned().collect();
            (
                StepKind::Abort,
                false,
                State::Restored,
                n,
                desired,
                row_targets(name, row)?,
            )
        }
        Action::Resume => {
            let (Some(row), Some(i)) = (row.as_ref(), intent.clone()) else {
                return Err(CutoverError::refused(
                    name,
                    format!("is {state}; no interrupted step to resume"),
                ));
            };
            notes.push(format!(
                "resuming the {} step interrupted after {}",
                i.kind.as_str(),
                i.started_at
            ));
            (
                i.kind,
                true,
                i.to_state,
                i.to_stage,
                i.desired,
                row_targets(name, row)?,
            )
        }
    };
    // Drift before a failback step and an abort (not before a resume: it finishes what was
    // intended).
    if let (Some(row), StepKind::Failback | StepKind::Abort, false) = (&row, kind, resume) {
        let snap = ctx.store.snapshot(&row.snapshot_id)?;
        let live = ctx.provider.read_zone(&c.zone).await?;
        let written = row_written(name, row)?;
        let report = drift(
            c,
            &ctx.opts(),
            &snap.zone,
            &written,
            intent.as_ref().map(|i| i.desired.as_slice()),
            &live,
        );
        if !report.conflicts.is_empty() {
            if !opts.force {
                return Err(CutoverError::Drift(Box::new(report)));
            }
            notes.push(format!(
                "drift overridden with --force: {} conflicting record set(s) overwritten: {}",
                report.conflicts.len(),
                report
                    .conflicts
                    .iter()
                    .map(|c| c.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        drift_report = Some(report);
    }
    let desired_zone = Zone::new(c.zone.clone(), desired.clone());
    let (_, plan) = super::plan_to(ctx.provider.as_ref(), &desired_zone, sels).await?;
    plan.check_safety(&cutover_safety())?;
    Ok(Prepared {
        cutover: name.to_string(),
        kind,
        resume,
        from_state: state,
        to_state,
        from_stage: stage,
        to_stage,
        primary_weight: if to_state == State::Restored {
            Some(100)
        } else {
            primary_weight(c, to_stage)
        },
        desired: desired_zone.record_sets,
        plan,
        drift: drift_report,
        notes,
        targets,
    })
}

/// Carry out a prepared step: (failover: snapshot first), store the intent, apply and verify
/// through the planner, store the new state.
pub async fn execute(
    ctx: &Ctx<'_>,
    p: Prepared,
    opts: &StepOptions,
) -> Result<Outcome, CutoverError> {
    let span = info_span!(
        "cutover_step",
        cutover = %ctx.cutover.name,
        step = p.kind.as_str(),
        resume = p.resume,
        to_stage = p.to_stage
    );
    execute_inner(ctx, p, opts).instrument(span).await
}

async fn execute_inner(
    ctx: &Ctx<'_>,
    p: Prepared,
    opts: &StepOptions,
) -> Result<Outcome, CutoverError> {
    let c = &ctx.cutover;
    let name = ctx.name();
    let store = ctx.store;
    let provider = ctx.provider.as_ref();
    let sels = ctx.selectors();
    let fault_kind = if p.resume { "resume" } else { p.kind.as_str() };
    let intent = Intent {
        kind: p.kind,
        to_state: p.to_state,
        to_stage: p.to_stage,
        desired: p.desired.clone(),
        started_at: now_text(),
        notes: p.notes.clone(),
    };
    let intent_json = serde_json::to_value(&intent).map_err(StoreError::Json)?;
    let mut row = match (p.kind, p.resume) {
        (StepKind::Failover, false) => {
            // Snapshot first, always, from the zone as it is now; the steered sets are built
            // from that very snapshot.
            let live = provider.read_zone(&c.zone).await?;
            let desired = steered(c, &live, &p.targets, primary_weight(c, 0))?;
            if Zone::new(c.zone.clone(), desired) != Zone::new(c.zone.clone(), p.desired.clone()) {
                return Err(CutoverError::refused(
                    name,
                    "the live zone changed since the plan was made; run the failover again",
                ));
            }
            let meta = store.create_snapshot(
                provider.name(),
                &live,
                Some(&format!("cutover {name}: before failover")),
            )?;
            // Refuse to go on without the snapshot just taken, read back.
            let snap = store.snapshot(&meta.id)?;
            if snap.zone != live {
                return Err(CutoverError::refused(
                    name,
                    format!(
                        "snapshot {} does not read back as taken; not failing over",
                        meta.id
                    ),
                ));
            }
            info!(snapshot = %meta.id, "snapshot taken before failover");
            crate::fault::point("failover:after-snapshot");
            CutoverRow {
                name: name.to_string(),
                state: State::Ready.as_str().into(),
                stage: 0,
                provider: provider.name().to_string(),
                zone: c.zone.clone(),
                snapshot_id: meta.id,
                targets: json!(p.targets),
                // Before the failover has written anything, the live sets are the snapshot's.
                written: json!(selected(&sels, &live)),
                intent: Some(intent_json),
                stage_started_at: None,
                created_at: String::new(),
                updated_at: String::new(),
            }
        }
        _ => {
            let mut row = store
                .cutover_state(name)?
                .ok_or_else(|| CutoverError::Corrupt {
                    name: name.into(),
                    detail: "no state row".into(),
                })?;
            if !p.resume {
                row.intent = Some(intent_json);
            }
            row
        }
    };
    if !p.resume {
        store.put_cutover_state(&row)?;
    }
    // Runs a crash left unfinished: closed as aborted, kept in the journal.
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
    let desired_zone = Zone::new(c.zone.clone(), p.desired.clone());
    let (_, plan) = super::plan_to(provider, &desired_zone, sels.clone()).await?;
    if !p.resume && plan.checksum() != p.plan.checksum() {
        // Keep the intent: nothing was applied; the next command sees it and can resume/abort.
        return Err(CutoverError::refused(
            name,
            format!(
                "the live zone changed since the plan was shown (checksum {} -> {}); \
                 run `switchback resume {name}` to apply the new plan or `switchback abort {name}`",
                p.plan.checksum(),
                plan.checksum()
            ),
        ));
    }
    plan.check_safety(&cutover_safety())?;
    let kind = p.kind.as_str();
    let (run, report) = if plan.is_empty() {
        let run = store.start_run(
            kind,
            name,
            provider.name(),
            &c.zone,
            &json!({ "plan": plan, "checksum": plan.checksum(), "resumed": p.resume }),
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
        (run, ApplyReport::default())
    } else {
        let applied = super::apply_noted(
            store,
            provider,
            &plan,
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
        (applied.run, applied.report)
    };
    crate::fault::point(&format!("{fault_kind}:after-apply"));
    // What the step wrote, as the provider reads it back (the base of the next drift check).
    let live = provider.read_zone(&c.zone).await?;
    let written: Vec<RecordSet> = selected(&sels, &live).into_iter().cloned().collect();
    row.state = p.to_state.as_str().into();
    row.stage = p.to_stage;
    row.written = json!(written);
    row.intent = None;
    row.stage_started_at = Some(now_text());
    store.put_cutover_state(&row)?;
    info!(run = %run, state = %p.to_state, stage = p.to_stage, "cutover step done");
    Ok(Outcome {
        cutover: name.to_string(),
        kind: p.kind,
        resume: p.resume,
        state: p.to_state,
        stage: p.to_stage,
        snapshot_id: row.snapshot_id,
        run,
        changes: plan.changes.len(),
        report,
        drift: p.drift,
        notes: p.notes,
    })
}

/// [`prepare`] then [`execute`]: for automation (`serve`, webhooks), which has no one to
/// show the plan to.
pub async fn run(
    ctx: &Ctx<'_>,
    action: &Action,
    opts: &StepOptions,
) -> Result<Outcome, CutoverError> {
    let p = prepare(ctx, action, opts).await?;
    execute(ctx, p, opts).await
}

/// A run of a cutover with its journal.
#[derive(Debug, Clone, Serialize)]
pub struct RunWithJournal {
    #[serde(flatten)]
    pub run: Run,
    pub journal: Vec<crate::store::JournalEntry>,
}

/// `cutover status`: the state, the stage, the snapshot, the intent, the runs.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub name: String,
    pub provider: String,
    pub zone: Name,
    pub steering: Steering,
    pub state: State,
    pub stage: u32,
    pub stages: u32,
    pub failback_stages: Vec<u32>,
    pub primary_weight: Option<u32>,
    pub snapshot_id: Option<String>,
    pub targets: Option<Targets>,
    pub intent: Option<Intent>,
    pub stage_started_at: Option<String>,
    pub records: Vec<String>,
    pub runs: Vec<RunWithJournal>,
}

/// The status of cutover `c` from the store (no provider call).
pub fn status(store: &Store, c: &Cutover) -> Result<Status, CutoverError> {
    let row = store.cutover_state(&c.name)?;
    let state = row_state(&c.name, row.as_ref())?;
    let stage = row.as_ref().map_or(0, |r| r.stage);
    let mut runs = Vec::new();
    for run in store.cutover_runs(&c.name)? {
        let journal = store.journal_entries(run.id)?;
        runs.push(RunWithJournal { run, journal });
    }
    Ok(Status {
        name: c.name.clone(),
        provider: c.provider.clone(),
        zone: c.zone.clone(),
        steering: c.steering,
        state,
        stage,
        stages: stage_count(c),
        failback_stages: c.failback_stages.clone(),
        primary_weight: match state {
            State::Idle | State::Restored => Some(100),
            State::Ready => Some(100),
            _ => primary_weight(c, stage),
        },
        snapshot_id: row.as_ref().map(|r| r.snapshot_id.clone()),
        targets: row.as_ref().map(|r| row_targets(&c.name, r)).transpose()?,
        intent: row
            .as_ref()
            .map(|r| row_intent(&c.name, r))
            .transpose()?
            .flatten(),
        stage_started_at: row.and_then(|r| r.stage_started_at),
        records: c
            .records
            .iter()
            .map(|r| format!("{}/{}", r.name, r.rtype))
            .collect(),
        runs,
    })
}

/// The action `cutover plan NAME` shows: resume an interrupted step, the next failback stage,
/// or a failover (with the config's targets).
pub fn next_action(store: &Store, c: &Cutover) -> Result<Action, CutoverError> {
    let row = store.cutover_state(&c.name)?;
    let state = row_state(&c.name, row.as_ref())?;
    if let Some(r) = &row {
        if r.intent.is_some() {
            return Ok(Action::Resume);
        }
    }
    Ok(match state {
        State::FailedOver | State::FailingBack => Action::Failback {
            stage: StageSel::Next,
        },
        _ => Action::Failover {
            targets: Targets::new(),
        },
    })
}
