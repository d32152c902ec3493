//! Computing a cutover step: [`prepare`] reads each live zone once, checks state, soak,
//! health and drift, and plans every zone. Nothing changes; [`super::step::execute`] carries
//! the result out.

use std::time::SystemTime;

use switchback_api::plan::{Plan, Safety, Selector};
use switchback_api::{RecordSet, Zone};
use tracing::{Instrument, info_span, warn};

use super::drift::{DriftReport, drift_in};
use super::error::CutoverError;
use super::plan_from;
use super::stages::{self, Soak};
use super::state::{Action, State, StepKind, StepOptions};
use super::steering::{primary_weight, stage_count, steered};
use super::step::{Ctx, Prepared, ZonePlan};
use super::targets::{resolve_targets, selectors};

/// Cutover steps change only declared record sets: the percentage threshold does not apply,
/// the apex NS/SOA rule does.
pub(crate) fn cutover_safety() -> Safety {
    Safety {
        max_change_percent: u32::MAX,
    }
}

pub(crate) fn now_text() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

pub(crate) fn selected(sels: &[Selector], zone: &Zone) -> Vec<RecordSet> {
    zone.record_sets
        .iter()
        .filter(|rs| sels.iter().any(|s| s.matches(&rs.key())))
        .cloned()
        .collect()
}

/// Compute the next step: check the state, the soak, the health gate and drift, reading each
/// live zone once; plan it. Nothing changes.
pub async fn prepare(
    ctx: &Ctx,
    action: &Action,
    opts: &StepOptions,
) -> Result<Prepared, CutoverError> {
    let span = info_span!("plan", cutover = %ctx.cutover.name, action = ?action);
    let trigger = opts
        .trigger
        .unwrap_or_else(|| super::rto::Trigger::now("command"));
    let mut p = prepare_inner(ctx, action, opts).instrument(span).await?;
    if p.kind == StepKind::Failover && !p.resume && ctx.notify && ctx.cutover.rto_target.is_some() {
        // Readiness, as warnings in the plan of a cutover with an rto_target: TTLs against
        // it, the last drill.
        let ttls: Vec<(String, u32)> = p
            .zones
            .iter()
            .filter_map(|z| z.live.as_ref().map(|l| (z, l)))
            .flat_map(|(z, l)| selected(&selectors(&ctx.cutover, &z.key()), l))
            .map(|s| (s.key().to_string(), s.ttl))
            .collect();
        p.notes
            .extend(super::readiness::warnings(&ctx.store, &ctx.cutover, &ttls));
    }
    p.trigger = trigger;
    p.planned_at = SystemTime::now();
    Ok(p)
}

async fn prepare_inner(
    ctx: &Ctx,
    action: &Action,
    opts: &StepOptions,
) -> Result<Prepared, CutoverError> {
    let c = &ctx.cutover;
    let name = ctx.name();
    let st = ctx.state()?;
    let state = st.as_ref().map_or(State::Idle, |s| s.state);
    let stage = st.as_ref().map_or(0, |s| s.stage);
    let version = st.as_ref().map_or(0, |s| s.version);
    let intent = st.as_ref().and_then(|s| s.intent.clone());
    let n = stage_count(c);
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
    let zones = c.zones();
    // What each zone becomes, from what: (zone, desired sets, base snapshot zone if any).
    let (kind, resume, to_state, to_stage, targets) = match action {
        Action::Failover { targets } => {
            if !matches!(state, State::Idle | State::Restored) {
                return Err(CutoverError::refused(
                    name,
                    format!(
                        "is {state} (stage {stage}); fail back or abort before another failover"
                    ),
                ));
            }
            (
                StepKind::Failover,
                false,
                State::FailedOver,
                0,
                resolve_targets(c, targets)?,
            )
        }
        Action::Failback { stage: sel } => {
            let Some(st) = st
                .as_ref()
                .filter(|_| matches!(state, State::FailedOver | State::FailingBack))
            else {
                return Err(CutoverError::refused(
                    name,
                    format!("is {state}; only a failed-over cutover fails back"),
                ));
            };
            let to = stages::target_stage(c, stage, *sel)?;
            let since = st
                .stage_started_at
                .as_deref()
                .and_then(|t| humantime::parse_rfc3339(t).ok())
                .and_then(|t| SystemTime::now().duration_since(t).ok());
            match stages::soak(c, stage, since, opts.skip_soak) {
                Soak::Open => {}
                Soak::Skipped(note) => notes.push(note),
                Soak::Closed { elapsed, soak } => {
                    return Err(CutoverError::Soak {
                        name: name.into(),
                        stage,
                        elapsed: humantime::format_duration(elapsed).to_string(),
                        soak: humantime::format_duration(soak).to_string(),
                    });
                }
            }
            let unhealthy = match ctx.health.primary_healthy(c).await {
                Ok(true) => None,
                Ok(false) => Some("its health check is down".to_string()),
                Err(e) => Some(format!("probe failed: {e}")),
            };
            if let Some(detail) = unhealthy {
                if !opts.ignore_health {
                    return Err(CutoverError::Unhealthy {
                        name: name.into(),
                        detail,
                    });
                }
                let note = format!(
                    "HEALTH GATE OVERRIDDEN with --ignore-health: the primary is NOT healthy \
                     ({detail}); failing back to stage {to} anyway"
                );
                warn!(cutover = %name, "{note}");
                notes.push(note);
            }
            let to_state = if to >= n {
                State::Restored
            } else {
                State::FailingBack
            };
            (StepKind::Failback, false, to_state, to, st.targets.clone())
        }
        Action::Abort => {
            let Some(st) = st
                .as_ref()
                .filter(|_| state != State::Restored || intent.is_some())
            else {
                return Err(CutoverError::refused(
                    name,
                    format!("is {state}; nothing to abort"),
                ));
            };
            (
                StepKind::Abort,
                false,
                State::Restored,
                n,
                st.targets.clone(),
            )
        }
        Action::Resume => {
            let (Some(st), Some(i)) = (st.as_ref(), intent.as_ref()) else {
                return Err(CutoverError::refused(
                    name,
                    format!("is {state}; no interrupted step to resume"),
                ));
            };
            notes.push(format!(
                "resuming the {} step interrupted after {} ({} of {} zone(s) done)",
                i.kind.as_str(),
                i.started_at,
                i.done.len(),
                i.desired.len()
            ));
            (i.kind, true, i.to_state, i.to_stage, st.targets.clone())
        }
    };
    let mut drift = DriftReport::new(name);
    let check_drift = matches!(kind, StepKind::Failback | StepKind::Abort) && !resume;
    let mut plans = Vec::new();
    for z in &zones {
        let provider = ctx.provider(z)?;
        let sels = selectors(c, z);
        if resume {
            if let Some(i) = &intent {
                if i.done.contains(z) {
                    let desired = i
                        .desired
                        .iter()
                        .find(|d| d.is(z))
                        .map(|d| d.record_sets.clone())
                        .unwrap_or_default();
                    plans.push(ZonePlan {
                        provider: z.provider.clone(),
                        zone: z.zone.clone(),
                        desired,
                        plan: Plan {
                            provider: z.provider.clone(),
                            zone: z.zone.clone(),
                            changes: Vec::new(),
                            existing_record_sets: 0,
                            first_import: false,
                            writes: Default::default(),
                        },
                        done: true,
                        live: None,
                    });
                    continue;
                }
            }
        }
        let live = provider
            .read_zone(&z.zone)
            .instrument(info_span!("read_zone", zone = %z))
            .await?;
        let health_field = provider.capabilities().health_field;
        let desired = match (kind, resume) {
            (_, true) => intent
                .as_ref()
                .and_then(|i| i.desired.iter().find(|d| d.is(z)))
                .map(|d| d.record_sets.clone())
                .ok_or_else(|| {
                    CutoverError::corrupt(name, format!("the interrupted step has no plan for {z}"))
                })?,
            (StepKind::Failover, false) => {
                steered(c, z, &live, &targets, primary_weight(c, 0), health_field)?
            }
            (StepKind::Failback | StepKind::Abort, false) => {
                let st = st
                    .as_ref()
                    .ok_or_else(|| CutoverError::corrupt(name, "no state row"))?;
                let snap_ref = st.snapshot_of(z).ok_or_else(|| {
                    CutoverError::refused(
                        name,
                        format!(
                            "zone {z} has no snapshot in this cutover's snapshot set (was it \
                             added to the config after the failover?)"
                        ),
                    )
                })?;
                let snap = ctx.store.snapshot(&snap_ref.id)?;
                if check_drift {
                    let intended = intent
                        .as_ref()
                        .and_then(|i| i.desired.iter().find(|d| d.is(z)))
                        .map(|d| d.record_sets.as_slice());
                    drift_in(
                        &mut drift,
                        z,
                        &sels,
                        &super::diff_options(provider.as_ref(), Vec::new()),
                        &snap.zone,
                        st.written_in(z),
                        intended,
                        &live,
                    );
                }
                if kind == StepKind::Abort || to_stage >= n {
                    selected(&sels, &snap.zone)
                } else {
                    steered(
                        c,
                        z,
                        &snap.zone,
                        &targets,
                        primary_weight(c, to_stage),
                        health_field,
                    )?
                }
            }
        };
        let desired_zone = Zone::new(z.zone.clone(), desired);
        let plan = plan_from(provider.as_ref(), &live, &desired_zone, sels)?;
        plan.check_safety(&cutover_safety())?;
        plans.push(ZonePlan {
            provider: z.provider.clone(),
            zone: z.zone.clone(),
            desired: desired_zone.record_sets,
            plan,
            done: false,
            live: Some(live),
        });
    }
    let drift = if check_drift {
        if !drift.conflicts.is_empty() {
            if !opts.force {
                return Err(CutoverError::Drift(Box::new(drift)));
            }
            notes.push(format!(
                "drift overridden with --force: {} conflicting record set(s) overwritten: {}",
                drift.conflicts.len(),
                drift
                    .conflicts
                    .iter()
                    .map(|c| format!("{} in {}", c.key, c.zone))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Some(drift)
    } else {
        None
    };
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
        zones: plans,
        drift,
        notes,
        version,
        targets,
        trigger: super::rto::Trigger::now("command"),
        planned_at: SystemTime::now(),
    })
}
