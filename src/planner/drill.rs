//! Drills (DESIGN.md "Drills"): the whole cutover — failover, every failback stage, the exact
//! restore — on shadow record sets (`_drill.` + each record's name, the same type, TTL,
//! values and routing fields, in the same zones on the same providers), each phase's RTO
//! measured as for a real step, and a report with findings. Production records are never
//! touched: every plan of a drill is checked to name only `_drill.` sets before it runs.
//! `--live` runs the same on the real records (a planned test).
//!
//! A drill's steps run on a cutover of their own, `drill:NAME` (its own state row and lease),
//! so a real failover during a drill is never blocked by it.

use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use switchback_api::plan::Selector;
use switchback_api::{Change, Name, RecordSet, Zone};
use tracing::{Instrument, info, info_span, warn};

use super::cutover::{
    Action, ActorKind, Ctx, CutoverError, Holder, Lease, Outcome, StageSel, State, StepOptions,
    execute, prepare, stage_count,
};
use super::prepare::selected;
use super::rto::{self, Rto, Trigger};
use super::targets::selectors;
use super::{RunInfo, apply_noted, plan_from};
use crate::config::{Cutover, ZoneKey};
use crate::store::DrillRow;

/// The first label of every shadow record set.
pub const SHADOW_LABEL: &str = "_drill";
/// What a propagation delay longer than this is reported as (an authoritative server slow).
const SLOW_SERVER: Duration = Duration::from_secs(1);

/// How a drill runs.
#[derive(Debug, Clone, Default)]
pub struct DrillOptions {
    /// On the real records (a planned test), not on shadow sets.
    pub live: bool,
    /// Start the failback stages although the primary's check is down.
    pub ignore_health: bool,
    /// Who runs it (`user@host`, `auto:drill@NODE`).
    pub actor: String,
    pub actor_kind: ActorKind,
}

/// One phase of a drill.
#[derive(Debug, Clone, Serialize)]
pub struct DrillPhase {
    /// `setup`, `failover`, `stage 1` …, `abort`, `cleanup`.
    pub name: String,
    pub started_at: String,
    pub seconds: f64,
    pub changes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto: Option<Rto>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Something a drill found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `ttl`, `recovery_unhealthy`, `primary_unhealthy`, `ns_slow`, `ns_never`,
    /// `ns_unchecked`, `throttled`, `restore_mismatch`, `production_changed`, `error`,
    /// `interrupted`.
    pub kind: &'static str,
    pub detail: String,
}

/// One health check as the drill saw it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckSeen {
    /// `primary` or `recovery`.
    pub role: &'static str,
    pub check: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The report of one drill (`drill --json`, stored, listed by `drill list`).
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    pub cutover: String,
    pub id: String,
    pub live: bool,
    /// `passed`, `failed`, or `stopped` (before the failover).
    pub result: String,
    pub actor: String,
    pub started_at: String,
    pub seconds: f64,
    /// The failover's worst case for a client: visible everywhere + the old TTL.
    pub rto_seconds: Option<f64>,
    /// The failover's visible-everywhere time (from the drill's trigger).
    pub visible_seconds: Option<f64>,
    pub rto_target_seconds: Option<f64>,
    pub rto_met: Option<bool>,
    pub phases: Vec<DrillPhase>,
    pub checks: Vec<CheckSeen>,
    pub findings: Vec<Finding>,
    /// The production record sets are byte for byte as before (shadow drills).
    pub production_untouched: Option<bool>,
    /// The shadow sets are gone again.
    pub shadows_removed: Option<bool>,
}

fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

/// `_drill.` + `name`.
pub fn shadow_name(name: &Name) -> Result<Name, CutoverError> {
    name.prepend(SHADOW_LABEL.as_bytes())
        .map_err(|e| CutoverError::refused(&name.to_string(), format!("no shadow name: {e}")))
}

/// Whether `name` is a shadow set's (its first label is `_drill`).
pub fn is_shadow(name: &Name) -> bool {
    name.labels()
        .next()
        .is_some_and(|l| l.eq_ignore_ascii_case(SHADOW_LABEL.as_bytes()))
}

/// The cutover a shadow drill runs: `drill:NAME`, every record on its shadow name, the
/// drill's soak between stages, no automation; health from the real cutover's check.
pub fn shadow_cutover(c: &Cutover) -> Result<Cutover, CutoverError> {
    let mut d = c.clone();
    d.name = format!("drill:{}", c.name);
    d.check = c.check.clone();
    d.soak = c.drill_soak;
    d.auto_failover = false;
    d.auto_failback = false;
    for r in &mut d.records {
        r.name = shadow_name(&r.name)?;
    }
    Ok(d)
}

fn change_name(c: &Change) -> &Name {
    match c {
        Change::Create { after } => &after.name,
        Change::Update { before, .. } | Change::Delete { before } => &before.name,
    }
}

/// The check every shadow plan passes before it runs.
fn only_shadows(name: &str, changes: &[Change]) -> Result<(), CutoverError> {
    match changes.iter().map(change_name).find(|n| !is_shadow(n)) {
        None => Ok(()),
        Some(n) => Err(CutoverError::refused(
            name,
            format!("a drill plan named {n}, which is not a {SHADOW_LABEL}. record set: refused"),
        )),
    }
}

/// The production sets of every zone, as read now.
async fn production(
    ctx: &Ctx,
    c: &Cutover,
) -> Result<Vec<(ZoneKey, Vec<RecordSet>)>, CutoverError> {
    let mut out = Vec::new();
    for z in c.zones() {
        let p = ctx.providers.get(&z.provider)?;
        let live = p.read_zone(&z.zone).await?;
        let mut sets = selected(&selectors(c, &z), &live);
        for s in &mut sets {
            s.normalize();
        }
        sets.sort_by_key(RecordSet::key);
        out.push((z, sets));
    }
    Ok(out)
}

/// Make the shadow sets of every zone equal `want` (the production sets renamed, or none),
/// journaled as runs of kind `drill`; returns the changes made.
async fn put_shadows(
    ctx: &Ctx,
    lease: &Lease,
    d: &Cutover,
    prod: &[(ZoneKey, Vec<RecordSet>)],
    remove: bool,
) -> Result<usize, CutoverError> {
    let mut changes = 0;
    for (z, sets) in prod {
        let provider = ctx.providers.get(&z.provider)?;
        let live = provider.read_zone(&z.zone).await?;
        let mut want = Vec::new();
        if !remove {
            for s in sets {
                let mut s = s.clone();
                s.name = shadow_name(&s.name)?;
                want.push(s);
            }
        }
        let sels: Vec<Selector> = selectors(d, z);
        let desired = Zone::new(z.zone.clone(), want);
        let plan = plan_from(provider.as_ref(), &live, &desired, sels.clone())?;
        only_shadows(&d.name, &plan.changes)?;
        if plan.is_empty() {
            continue;
        }
        lease.check()?;
        changes += plan.changes.len();
        apply_noted(
            &ctx.store,
            provider.as_ref(),
            &plan,
            &desired,
            sels,
            RunInfo {
                kind: "drill",
                subject: &d.name,
                actor: "drill",
            },
            &[],
        )
        .await?;
    }
    Ok(changes)
}

/// One step of the drill's cutover, under the drill's lease; shadow drills check the plan
/// first.
async fn step(
    ctx: &Ctx,
    lease: &Lease,
    action: Action,
    opts: &StepOptions,
    shadow: bool,
) -> Result<(Outcome, Option<Rto>), CutoverError> {
    let p = prepare(ctx, &action, opts).await?;
    if shadow {
        for z in &p.zones {
            only_shadows(ctx.name(), &z.plan.changes)?;
        }
    }
    let o = execute(ctx, p, opts, lease).await?;
    let rto = rto::observe(ctx, &o).await;
    Ok((o, rto))
}

struct Run<'a> {
    report: DrillReport,
    clock: Instant,
    ctx: &'a Ctx,
}

impl Run<'_> {
    fn finding(&mut self, kind: &'static str, detail: impl Into<String>) {
        let f = Finding {
            kind,
            detail: detail.into(),
        };
        if !self.report.findings.contains(&f) {
            self.report.findings.push(f);
        }
    }

    /// Run one phase: its time, its RTO's findings.
    async fn phase<F, T>(&mut self, name: &str, f: F) -> Result<T, CutoverError>
    where
        F: std::future::Future<Output = Result<(T, usize, Option<Rto>), CutoverError>>,
    {
        let started = SystemTime::now();
        let t0 = Instant::now();
        let r = f.instrument(info_span!("drill_phase", phase = name)).await;
        let mut phase = DrillPhase {
            name: name.to_string(),
            started_at: stamp(started),
            seconds: t0.elapsed().as_secs_f64(),
            changes: 0,
            rto: None,
            error: None,
        };
        let out = match r {
            Ok((v, changes, rto)) => {
                phase.changes = changes;
                if let Some(rto) = &rto {
                    self.rto_findings(name, rto);
                }
                phase.rto = rto;
                Ok(v)
            }
            Err(e) => {
                phase.error = Some(e.to_string());
                Err(e)
            }
        };
        self.report.phases.push(phase);
        out
    }

    fn rto_findings(&mut self, phase: &str, rto: &Rto) {
        for s in &rto.servers {
            match (s.after_verify_seconds, &s.error) {
                (Some(d), _) if d > SLOW_SERVER.as_secs_f64() => self.finding(
                    "ns_slow",
                    format!(
                        "{phase}: {} showed the change in {} {d:.3}s after the provider had it",
                        s.server, s.zone
                    ),
                ),
                (None, Some(e)) if rto::is_unchecked(s) => {
                    self.finding("ns_unchecked", format!("{}: {e}", s.zone))
                }
                (None, Some(e)) => self.finding(
                    "ns_never",
                    format!(
                        "{phase}: {} never showed the change in {}: {e}",
                        s.server, s.zone
                    ),
                ),
                _ => {}
            }
        }
    }
}

/// Run a drill of cutover `c` with the context's providers and store; the report is stored
/// (and told to `[[notify]]` targets) whatever the result. `Err` only when the drill could
/// not start: its lease is held (busy), or the store failed before the first report.
pub async fn run(ctx: &Ctx, opts: &DrillOptions) -> Result<DrillReport, CutoverError> {
    let c = ctx.cutover.clone();
    let span = info_span!("drill", cutover = %c.name, live = opts.live);
    async {
        // One lease for the whole drill (its own cutover's, `drill:NAME`; a live drill's the
        // real one's): no other drill, and for a live drill no other actor, interleaves with
        // it. A drill refused for that leaves no report.
        let lease_name = if opts.live {
            c.name.clone()
        } else {
            format!("drill:{}", c.name)
        };
        let holder = Holder::me(&ctx.node, opts.actor_kind, &opts.actor);
        let lease = Lease::acquire(&ctx.store, &lease_name, &holder, None).await?;
        let id = ctx.store.new_drill_id()?;
        let started = SystemTime::now();
        let mut run = Run {
            report: DrillReport {
                cutover: c.name.clone(),
                id,
                live: opts.live,
                result: "running".into(),
                actor: opts.actor.clone(),
                started_at: stamp(started),
                seconds: 0.0,
                rto_seconds: None,
                visible_seconds: None,
                rto_target_seconds: c.rto_target.map(|d| d.as_secs_f64()),
                rto_met: None,
                phases: Vec::new(),
                checks: Vec::new(),
                findings: Vec::new(),
                production_untouched: None,
                shadows_removed: None,
            },
            clock: Instant::now(),
            ctx,
        };
        // Stored at once: a drill killed half-way leaves a `running` report, which the next
        // drill of the cutover (holding its lease, so that one is dead) marks `interrupted`.
        store_row(ctx, &run.report);
        let r = drive(&mut run, &lease, &c, opts).await;
        drop(lease);
        if let Err(e) = &r {
            run.finding("error", e.to_string());
        }
        let mut report = run.report;
        report.seconds = run.clock.elapsed().as_secs_f64();
        report.result = match (&r, report.result.as_str()) {
            (_, "stopped") => "stopped".into(),
            (Ok(()), _)
                if !report.findings.iter().any(|f| {
                    matches!(
                        f.kind,
                        "ns_never" | "restore_mismatch" | "production_changed" | "error"
                    )
                }) =>
            {
                "passed".into()
            }
            _ => "failed".into(),
        };
        store_report(ctx, &report);
        info!(id = %report.id, result = %report.result, rto = ?report.rto_seconds, "drill done");
        // A drill that failed is a result (its error is a finding), not an error of the
        // command: the report says what happened.
        Ok(report)
    }
    .instrument(span)
    .await
}

fn store_row(ctx: &Ctx, report: &DrillReport) {
    let row = DrillRow {
        id: report.id.clone(),
        cutover: report.cutover.clone(),
        live: report.live,
        result: report.result.clone(),
        started_at: report.started_at.clone(),
        report: serde_json::to_value(report).unwrap_or_default(),
    };
    if let Err(e) = ctx.store.put_drill(&row) {
        warn!(error = %e, "the drill's report was not stored");
    }
}

fn store_report(ctx: &Ctx, report: &DrillReport) {
    store_row(ctx, report);
    crate::notify::emit(
        ctx.providers.config(),
        &ctx.store,
        &ctx.node,
        crate::notify::Event {
            kind: "drill",
            cutover: report.cutover.clone(),
            text: format!(
                "switchback: drill of {} {}: RTO {} (target {}), {} finding(s)",
                report.cutover,
                report.result.to_uppercase(),
                report
                    .rto_seconds
                    .map_or("not measured".into(), |s| format!("{s:.3}s")),
                report
                    .rto_target_seconds
                    .map_or("none".into(), |s| format!("{s}s")),
                report.findings.len()
            ),
            fields: serde_json::json!({
                "drill": report.id,
                "result": report.result,
                "live": report.live,
                "rto_seconds": report.rto_seconds,
                "rto_target_seconds": report.rto_target_seconds,
                "findings": report.findings,
            }),
        },
    );
}

async fn drive(
    run: &mut Run<'_>,
    lease: &Lease,
    c: &Cutover,
    opts: &DrillOptions,
) -> Result<(), CutoverError> {
    let ctx = run.ctx;
    // Never while the cutover is not idle.
    let st = ctx.state()?;
    if let Some(s) = st.as_ref().filter(|s| {
        s.intent.is_some() || !matches!(s.state, State::Idle | State::Ready | State::Restored)
    }) {
        run.finding(
            "not_idle",
            format!(
                "the cutover is {} (stage {}); drills run on an idle cutover",
                s.state, s.stage
            ),
        );
        run.report.result = "stopped".into();
        return Ok(());
    }
    readiness(run, c).await;
    if run
        .report
        .findings
        .iter()
        .any(|f| f.kind == "recovery_unhealthy")
    {
        run.report.result = "stopped".into();
        return Ok(());
    }
    let stats_before = client_retries(ctx, c);
    let (d, shadow) = if opts.live {
        // The real cutover, with the drill's soak between its stages.
        let mut d = c.clone();
        d.soak = c.drill_soak;
        (d, false)
    } else {
        (shadow_cutover(c)?, true)
    };
    let dctx = Ctx {
        store: ctx.store.clone(),
        providers: ctx.providers.clone(),
        cutover: d.clone(),
        health: ctx.health.clone(),
        node: ctx.node.clone(),
        notify: opts.live,
    };
    let step_opts = |ignore_health: bool| StepOptions {
        ignore_health,
        actor: opts.actor.clone(),
        actor_kind: opts.actor_kind,
        trigger: Some(Trigger::now("drill")),
        ..StepOptions::default()
    };
    let dead: Vec<DrillRow> = ctx
        .store
        .drills(Some(&c.name), 20)?
        .into_iter()
        .filter(|r| r.result == "running" && r.id != run.report.id)
        .collect();
    for mut r in dead {
        r.result = "interrupted".into();
        if let Some(o) = r.report.as_object_mut() {
            o.insert("result".into(), "interrupted".into());
        }
        run.finding(
            "interrupted",
            format!("drill {} stopped half-way (its process died)", r.id),
        );
        ctx.store.put_drill(&r)?;
    }
    let prod = production(ctx, c).await?;
    if shadow {
        // A drill that died half-way left its cutover cut over: restore it first.
        if let Some(s) = dctx.state()?.filter(|s| {
            s.intent.is_some() || !matches!(s.state, State::Idle | State::Ready | State::Restored)
        }) {
            run.finding(
                "interrupted",
                format!(
                    "an earlier drill stopped at {} stage {}; restored first",
                    s.state, s.stage
                ),
            );
            step(&dctx, lease, Action::Abort, &step_opts(true), true).await?;
        }
        run.phase("setup", async {
            Ok(((), put_shadows(&dctx, lease, &d, &prod, false).await?, None))
        })
        .await?;
    }
    let shadow_sets = if shadow {
        Some(production(ctx, &d).await?)
    } else {
        None
    };
    let r = stages(run, &dctx, lease, &d, opts, shadow).await;
    if let Err(e) = &r {
        // Whatever failed, the drill's records go back to their snapshot.
        warn!(error = %e, "drill step failed; restoring its records");
        let _ = run
            .phase("abort", async {
                let (o, rto) = step(&dctx, lease, Action::Abort, &step_opts(true), shadow).await?;
                Ok(((), o.changes, rto))
            })
            .await;
    }
    if let Some(want) = &shadow_sets {
        let now = production(ctx, &d).await?;
        if &now != want && r.is_ok() {
            run.finding(
                "restore_mismatch",
                "after the last stage the shadow record sets differ from their snapshot",
            );
        }
        let removed = run
            .phase("cleanup", async {
                Ok(((), put_shadows(&dctx, lease, &d, &prod, true).await?, None))
            })
            .await;
        let gone = removed.is_ok()
            && production(ctx, &d)
                .await
                .map(|z| z.iter().all(|(_, s)| s.is_empty()))
                .unwrap_or(false);
        run.report.shadows_removed = Some(gone);
        let after = production(ctx, c).await?;
        let same = after == prod;
        run.report.production_untouched = Some(same);
        if !same {
            run.finding(
                "production_changed",
                "the production record sets changed during the drill (by another actor?)",
            );
        }
    }
    let retries = client_retries(ctx, c).saturating_sub(stats_before);
    if retries > 0 {
        run.finding(
            "throttled",
            format!("the providers' APIs were retried {retries} time(s) (throttling or errors)"),
        );
    }
    r
}

/// The failover and every failback stage, the drill's soak between stages.
async fn stages(
    run: &mut Run<'_>,
    dctx: &Ctx,
    lease: &Lease,
    d: &Cutover,
    opts: &DrillOptions,
    shadow: bool,
) -> Result<(), CutoverError> {
    let o = |ignore_health: bool| StepOptions {
        ignore_health,
        actor: opts.actor.clone(),
        actor_kind: opts.actor_kind,
        trigger: Some(Trigger::now("drill")),
        ..StepOptions::default()
    };
    let failover = Action::Failover {
        targets: Default::default(),
    };
    let rto = run
        .phase("failover", async {
            let (out, rto) = step(dctx, lease, failover, &o(false), shadow).await?;
            Ok((rto.clone(), out.changes, rto))
        })
        .await?;
    crate::fault::point("drill:after-failover");
    if let Some(r) = &rto {
        run.report.rto_seconds = Some(r.seconds.worst_case);
        run.report.visible_seconds = r.seconds.visible;
        run.report.rto_met = r.met;
    }
    for i in 1..=stage_count(d) {
        if !d.soak.is_zero() {
            tokio::time::sleep(d.soak).await;
        }
        let r = run
            .phase(&format!("stage {i}"), async {
                let a = Action::Failback {
                    stage: StageSel::Next,
                };
                let (out, rto) = step(dctx, lease, a, &o(opts.ignore_health), shadow).await?;
                Ok(((), out.changes, rto))
            })
            .await;
        if let Err(CutoverError::Unhealthy { detail, .. }) = &r {
            run.finding(
                "primary_unhealthy",
                format!("failback stage {i} not started: the primary is not healthy ({detail})"),
            );
        }
        r?;
    }
    Ok(())
}

/// The health checks and TTLs before the failover.
async fn readiness(run: &mut Run<'_>, c: &Cutover) {
    for (role, spec) in [("primary", &c.health), ("recovery", &c.recovery_health)] {
        let Some(spec) = spec else { continue };
        let r = crate::health::probe_once(spec).await;
        run.report.checks.push(CheckSeen {
            role,
            check: spec.check.clone(),
            ok: r.ok,
            detail: r.error.clone(),
        });
        if role == "recovery" && !r.ok {
            run.finding(
                "recovery_unhealthy",
                format!(
                    "the recovery target's check {} failed{}: the drill stops before the failover",
                    spec.check,
                    r.error.map(|e| format!(" ({e})")).unwrap_or_default()
                ),
            );
        }
    }
    if let Some(target) = c.rto_target {
        let ctx = run.ctx;
        if let Ok(prod) = production(ctx, c).await {
            for (_, sets) in prod {
                for s in sets.iter().filter(|s| u64::from(s.ttl) > target.as_secs()) {
                    run.finding(
                        "ttl",
                        format!(
                            "{} has TTL {}s, longer than rto_target {}s: resolvers may keep the old answer that long",
                            s.key(),
                            s.ttl,
                            target.as_secs()
                        ),
                    );
                }
            }
        }
        if u64::from(c.ttl) > target.as_secs() {
            run.finding(
                "ttl",
                format!(
                    "the cutover's ttl {}s (the TTL while failed over) is longer than rto_target {}s",
                    c.ttl,
                    target.as_secs()
                ),
            );
        }
    }
}

/// Retries of the providers' API clients so far (throttling shows here).
fn client_retries(ctx: &Ctx, c: &Cutover) -> u64 {
    c.zones()
        .iter()
        .filter_map(|z| ctx.providers.get(&z.provider).ok())
        .filter_map(|p| p.client_stats())
        .map(|s| s.retries)
        .sum()
}

/// How often `serve` looks for a drill that is due (one store read per scheduled cutover).
const SCHEDULE_TICK: Duration = Duration::from_secs(1);

/// `drill_every`: the leader runs a shadow drill of each cutover whose last drill is older
/// than its `drill_every`, never while the cutover is not idle (the drill checks, and reports
/// a stop).
pub async fn schedule(
    providers: std::sync::Arc<crate::registry::Providers>,
    store: std::sync::Arc<crate::store::Store>,
    monitor: std::sync::Arc<crate::health::HealthMonitor>,
    leadership: std::sync::Arc<super::leader::Leadership>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let due: Vec<Cutover> = providers
        .config()
        .all_cutovers()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.drill_every.is_some())
        .collect();
    if due.is_empty() {
        return;
    }
    let mut tick = tokio::time::interval(SCHEDULE_TICK);
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
        for c in &due {
            let Some(every) = c.drill_every else { continue };
            let last = store
                .drills(Some(&c.name), 1)
                .ok()
                .and_then(|d| d.into_iter().next())
                .and_then(|d| humantime::parse_rfc3339(&d.started_at).ok());
            if last.is_some_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() < every)
            {
                continue;
            }
            let idle = ctx_state_idle(&store, &c.name);
            if !idle {
                continue;
            }
            let gate = super::gates::HealthGate::monitor(monitor.clone());
            let ctx = match Ctx::open(&providers, &store, &c.name, gate) {
                Ok(ctx) => ctx,
                Err(e) => {
                    warn!(cutover = %c.name, error = %e, "scheduled drill not started");
                    continue;
                }
            };
            let opts = DrillOptions {
                live: false,
                ignore_health: false,
                actor: format!("auto:drill@{}", leadership.node()),
                actor_kind: ActorKind::Automation,
            };
            info!(cutover = %c.name, "scheduled drill");
            if let Err(e) = run(&ctx, &opts).await {
                warn!(cutover = %c.name, error = %e, "scheduled drill failed");
            }
        }
    }
}

fn ctx_state_idle(store: &crate::store::Store, name: &str) -> bool {
    match store.cutover_state(name) {
        Ok(None) => true,
        Ok(Some(row)) => {
            row.intent.is_none() && matches!(row.state.as_str(), "idle" | "ready" | "restored")
        }
        Err(_) => false,
    }
}
