//! The cutover engine (DESIGN.md "The cutover"), one concept per file: [`super::state`]
//! (states, steps, intents), [`super::targets`], [`super::steering`], [`super::stages`],
//! [`super::drift`], [`super::gates`], [`super::lease`], [`super::snapshot_set`],
//! [`super::step`] (prepare / execute) and [`super::status`]. This module gathers their
//! public names for the callers (CLI, HTTP API, automation).

pub use super::drift::{DriftEntry, DriftReport, LeftAlone};
pub use super::error::CutoverError;
pub use super::gates::HealthGate;
pub use super::lease::{Holder, Lease, describe as describe_lease};
pub use super::state::{
    Action, ActorKind, CutoverState, Intent, SnapshotRef, StageSel, State, StepKind, StepOptions,
    Targets, ZoneSets,
};
pub use super::status::{RunWithJournal, Status, next_action, status, summary};
pub use super::steering::{PRIMARY, RECOVERY, primary_weight, stage_count, steered};
pub use super::step::{
    Ctx, Outcome, Prepared, ZoneOutcome, ZonePlan, execute, prepare, refused, run, run_confirmed,
};
pub use super::targets::{find, parse_target, resolve_targets, selectors};
