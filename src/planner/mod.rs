//! The core that decides: plans are computed by the one diff engine, checked, journaled,
//! applied in the provider's own batches and verified by reading back (invariant 2).

use serde::Serialize;
use serde_json::json;
use switchback_api::plan::{self, DiffOptions, Plan, PlanError};
use switchback_api::{ApplyReport, Change, Provider, ProviderError, Zone};
use tracing::{Instrument, info, info_span};

pub mod automation;
pub mod confirm;
pub mod cutover;
pub mod drift;
pub mod drill;
pub mod dynamic_update;
pub mod error;
pub mod gates;
pub mod leader;
pub mod lease;
pub mod prepare;
pub mod readiness;
pub mod rto;
pub mod runbook;
pub mod snapshot_set;
pub mod stages;
pub mod state;
pub mod status;
pub mod steering;
pub mod step;
pub mod targets;

use crate::store::{AuditEntry, Phase, RunId, RunState, Store, StoreError};

/// Errors of the planning layer.
#[derive(Debug, thiserror::Error)]
pub enum PlannerError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "verification failed: after applying, {remaining} change(s) still differ from the desired zone (run {run})"
    )]
    Verify { run: RunId, remaining: usize },
}

/// Read the live zone and plan the changes that make it `desired`.
pub async fn plan_to(
    provider: &dyn Provider,
    desired: &Zone,
    only: Vec<plan::Selector>,
) -> Result<(Zone, Plan), PlannerError> {
    let live = provider
        .read_zone(&desired.origin)
        .instrument(info_span!("read_zone", provider = provider.name(), zone = %desired.origin))
        .await?;
    let p = plan_from(provider, &live, desired, only)?;
    Ok((live, p))
}

/// Plan the changes that make `live` (just read from `provider`) `desired`.
pub fn plan_from(
    provider: &dyn Provider,
    live: &Zone,
    desired: &Zone,
    only: Vec<plan::Selector>,
) -> Result<Plan, PlannerError> {
    let opts = diff_options(provider, only);
    Ok(plan::plan(
        provider.name(),
        provider.capabilities(),
        live,
        desired,
        &opts,
    )?)
}

/// The safety thresholds of a plan (DESIGN.md "Safety"): refused unless `force`.
pub fn check_thresholds(plan: &Plan, force: bool) -> Result<(), PlanError> {
    if force {
        return Ok(());
    }
    plan.check_safety(&plan::Safety::default())
}

/// The diff options a provider needs.
pub fn diff_options(provider: &dyn Provider, only: Vec<plan::Selector>) -> DiffOptions {
    DiffOptions {
        only,
        provider_manages_soa_serial: provider.capabilities().manages_soa_serial,
    }
}

/// The detail of a run's start: the plan it carries out.
#[derive(Serialize)]
struct RunDetail<'a> {
    plan: &'a Plan,
    checksum: String,
}

/// What an apply did.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub run: RunId,
    pub report: ApplyReport,
    pub verified: bool,
    /// The live zone as the verify read it back.
    #[serde(skip)]
    pub live: Zone,
    /// The plan's checksum, as journaled with it.
    #[serde(skip)]
    pub checksum: String,
    /// When the provider had taken the changes, and when the read-back confirmed them.
    #[serde(skip)]
    pub applied_at: std::time::SystemTime,
    #[serde(skip)]
    pub verified_at: std::time::SystemTime,
}

/// What a run is, for the journal and the audit log.
#[derive(Debug, Clone, Copy)]
pub struct RunInfo<'a> {
    /// "apply", "rollback", "failover", …
    pub kind: &'a str,
    /// What it works from: a snapshot id, a file, a cutover name.
    pub subject: &'a str,
    /// Who asked (`user@host`, `webhook:…`).
    pub actor: &'a str,
}

/// Apply `plan` through `provider`, journaled as a run, audited, then verify that the live
/// zone now equals `desired` (a re-plan restricted to `only` is empty).
pub async fn apply(
    store: &Store,
    provider: &dyn Provider,
    plan: &Plan,
    desired: &Zone,
    only: Vec<plan::Selector>,
    info: RunInfo<'_>,
) -> Result<Applied, PlannerError> {
    apply_noted(store, provider, plan, desired, only, info, &[]).await
}

/// [`apply`], with notes journaled (step `note`) before anything is sent: overrides a person
/// asked for (`--ignore-health`), what a resumed step finishes.
pub async fn apply_noted(
    store: &Store,
    provider: &dyn Provider,
    plan: &Plan,
    desired: &Zone,
    only: Vec<plan::Selector>,
    info: RunInfo<'_>,
    notes: &[String],
) -> Result<Applied, PlannerError> {
    let RunInfo {
        kind,
        subject,
        actor,
    } = info;
    let span = info_span!("apply", kind, subject, provider = provider.name(), zone = %plan.zone, changes = plan.changes.len());
    async {
        let checksum = plan.checksum();
        let run = store.start_run(
            kind,
            subject,
            provider.name(),
            &plan.zone,
            &RunDetail {
                checksum: checksum.clone(),
                plan,
            },
        )?;
        for note in notes {
            store.journal(run, "note", Phase::Done, &json!({ "note": note }))?;
        }
        store.journal(
            run,
            "apply",
            Phase::Started,
            &json!({ "changes": plan.changes.len() }),
        )?;
        let applied = provider.apply(&plan.zone, &plan.changes).await;
        let report = match applied {
            Ok(r) => r,
            Err(e) => {
                store.journal(
                    run,
                    "apply",
                    Phase::Failed,
                    &json!({ "error": e.to_string() }),
                )?;
                store.finish_run(run, RunState::Failed, &json!({ "error": e.to_string() }))?;
                return Err(e.into());
            }
        };
        let applied_at = std::time::SystemTime::now();
        crate::fault::point(&format!("{kind}:mid-apply"));
        store.journal(run, "apply", Phase::Done, &json!(report))?;
        // The before and after of every set are in the plan the run journaled (its start's
        // detail): the audit entry points there instead of holding a second copy.
        let sets = |side: fn(&Change) -> Option<&switchback_api::RecordSet>| {
            json!({ "plan_of_run": run.0, "record_sets": plan.changes.iter().filter_map(side).count() })
        };
        store.audit(&AuditEntry {
            actor: actor.to_string(),
            action: kind.to_string(),
            provider: provider.name().to_string(),
            zone: plan.zone.clone(),
            run: Some(run),
            before: sets(Change::before),
            after: sets(Change::after),
        })?;
        store.journal(run, "verify", Phase::Started, &json!({}))?;
        let (live, replan) = plan_to(provider, desired, only).await?;
        if !replan.is_empty() {
            store.journal(
                run,
                "verify",
                Phase::Failed,
                &json!({ "remaining": replan.changes }),
            )?;
            store.finish_run(
                run,
                RunState::Failed,
                &json!({ "remaining": replan.changes.len() }),
            )?;
            return Err(PlannerError::Verify {
                run,
                remaining: replan.changes.len(),
            });
        }
        let verified_at = std::time::SystemTime::now();
        store.journal(run, "verify", Phase::Done, &json!({}))?;
        store.finish_run(run, RunState::Done, &json!(report))?;
        info!(run = %run, batches = report.batches, "applied and verified");
        Ok(Applied {
            run,
            report,
            verified: true,
            live,
            checksum,
            applied_at,
            verified_at,
        })
    }
    .instrument(span)
    .await
}
