//! `switchback failover|failback|resume|abort NAME`: one cutover step, shown as its plan,
//! confirmed, then carried out by the cutover engine.

use clap::Args as ClapArgs;
use serde::Serialize;

use super::{CliError, exit, output, runtime};
use crate::config::Config;
use crate::planner::cutover::{
    self, Action, Ctx, CutoverError, Outcome, Prepared, ProbeGate, StageSel, StepOptions, Targets,
};
use crate::store::{self, Store};

/// `failover NAME`.
#[derive(Debug, Clone, ClapArgs)]
pub struct FailoverArgs {
    pub name: String,
    /// Recovery values of one record set (overrides the config): NAME/TYPE=V1,V2. Repeatable.
    #[arg(long = "target", value_name = "NAME/TYPE=V1,V2")]
    pub targets: Vec<String>,
    /// Only print the plan.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking.
    #[arg(long)]
    pub yes: bool,
}

/// `failback NAME`.
#[derive(Debug, Clone, ClapArgs)]
pub struct FailbackArgs {
    pub name: String,
    /// next, a stage number (1, 2, ...), or all (straight to the exact restore).
    #[arg(long, default_value = "next", value_name = "next|N|all")]
    pub stage: String,
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub yes: bool,
    /// Go on although the previous stage has not soaked, or a cutover record drifted.
    #[arg(long)]
    pub force: bool,
    /// Go on although the primary is NOT healthy (recorded loudly in the journal).
    #[arg(long)]
    pub ignore_health: bool,
}

/// `abort NAME`.
#[derive(Debug, Clone, ClapArgs)]
pub struct AbortArgs {
    pub name: String,
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub yes: bool,
    /// Restore although a cutover record drifted.
    #[arg(long)]
    pub force: bool,
}

struct Flags {
    dry_run: bool,
    yes: bool,
    force: bool,
    ignore_health: bool,
}

pub fn failover(cfg: &Config, a: &FailoverArgs, json: bool) -> Result<u8, CliError> {
    let c = cutover::find(cfg, &a.name)?;
    let mut targets = Targets::new();
    for t in &a.targets {
        let (k, v) = cutover::parse_target(&c, t)?;
        targets.insert(k, v);
    }
    step(
        cfg,
        &a.name,
        Action::Failover { targets },
        Flags {
            dry_run: a.dry_run,
            yes: a.yes,
            force: false,
            ignore_health: false,
        },
        json,
    )
}

pub fn failback(cfg: &Config, a: &FailbackArgs, json: bool) -> Result<u8, CliError> {
    let stage: StageSel = a.stage.parse().map_err(CliError::Usage)?;
    step(
        cfg,
        &a.name,
        Action::Failback { stage },
        Flags {
            dry_run: a.dry_run,
            yes: a.yes,
            force: a.force,
            ignore_health: a.ignore_health,
        },
        json,
    )
}

pub fn abort(cfg: &Config, a: &AbortArgs, json: bool) -> Result<u8, CliError> {
    step(
        cfg,
        &a.name,
        Action::Abort,
        Flags {
            dry_run: a.dry_run,
            yes: a.yes,
            force: a.force,
            ignore_health: false,
        },
        json,
    )
}

/// `resume NAME`: finishes a step that was already confirmed; does not ask again.
pub fn resume(cfg: &Config, name: &str, json: bool) -> Result<u8, CliError> {
    step(
        cfg,
        name,
        Action::Resume,
        Flags {
            dry_run: false,
            yes: true,
            force: false,
            ignore_health: false,
        },
        json,
    )
}

/// The `--json` document of a step.
#[derive(Serialize)]
struct StepOutput<'a> {
    prepared: Option<&'a Prepared>,
    checksum: Option<String>,
    applied: bool,
    outcome: Option<&'a Outcome>,
    refused: Option<&'a str>,
}

fn print_json(p: Option<&Prepared>, outcome: Option<&Outcome>, refused: Option<&str>) {
    let out = StepOutput {
        prepared: p,
        checksum: p.map(|p| p.plan.checksum()),
        applied: outcome.is_some(),
        outcome,
        refused,
    };
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
}

/// Print what a prepared step will do (plan, drift, notes).
pub(super) fn show(p: &Prepared) {
    let weight = match p.primary_weight {
        Some(w) => format!("primary {w}% / recovery {}%", 100 - w.min(100)),
        None => "all traffic on the recovery targets".into(),
    };
    println!(
        "{}{} {}: {} stage {} -> {} stage {} ({weight})",
        if p.resume { "resume " } else { "" },
        p.kind.as_str(),
        p.cutover,
        p.from_state,
        p.from_stage,
        p.to_state,
        p.to_stage
    );
    if let Some(d) = &p.drift {
        print!("{}", d.render());
    }
    print!("{}", output::render_plan(&p.plan, output::colours()));
}

fn step(cfg: &Config, name: &str, action: Action, f: Flags, json: bool) -> Result<u8, CliError> {
    let store = Store::open(&cfg.server.state)?;
    let gate = ProbeGate;
    let ctx = Ctx::open(cfg, &store, name, &gate)?;
    let opts = StepOptions {
        force: f.force,
        ignore_health: f.ignore_health,
        actor: store::default_actor(),
    };
    let rt = runtime()?;
    let pb = output::spinner(json, &format!("planning cutover {name}"));
    let prepared = rt.block_on(cutover::prepare(&ctx, &action, &opts));
    pb.finish_and_clear();
    let p = match prepared {
        Ok(p) => p,
        Err(e) => {
            if json {
                let why = match &e {
                    CutoverError::Drift(_) => "drift",
                    CutoverError::Unhealthy { .. } => "unhealthy",
                    CutoverError::Soak { .. } => "soak",
                    _ => "error",
                };
                if let CutoverError::Drift(r) = &e {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({
                            "applied": false, "refused": why, "drift": r
                        }))
                        .unwrap_or_default()
                    );
                } else {
                    print_json(None, None, Some(why));
                }
            }
            return Err(e.into());
        }
    };
    for note in &p.notes {
        // Overrides are said loudly, whatever the output format.
        eprintln!("switchback: WARNING: {note}");
    }
    if !json {
        show(&p);
    }
    if f.dry_run {
        if json {
            print_json(Some(&p), None, Some("dry-run"));
        }
        return Ok(exit::OK);
    }
    if !f.yes && !p.plan.is_empty() {
        match output::confirm(&format!(
            "Apply {} change(s) for {} {}?",
            p.plan.changes.len(),
            p.kind.as_str(),
            name
        )) {
            Ok(true) => {}
            Ok(false) => {
                if json {
                    print_json(Some(&p), None, Some("declined"));
                }
                return Err(CliError::Refused("not applied".into()));
            }
            Err(()) => {
                if json {
                    print_json(Some(&p), None, Some("no-terminal"));
                }
                return Err(CliError::Refused(
                    "not applied: no terminal to confirm at; pass --yes to apply (or --dry-run)"
                        .into(),
                ));
            }
        }
    }
    let pb = output::spinner(json, &format!("{} {name}", p.kind.as_str()));
    let outcome = rt.block_on(cutover::execute(&ctx, p.clone(), &opts));
    pb.finish_and_clear();
    let outcome = outcome?;
    if json {
        print_json(Some(&p), Some(&outcome), None);
    } else {
        println!(
            "{} {name}: applied {} change(s) in run {}; verified; now {} (stage {}); snapshot {}",
            outcome.kind.as_str(),
            outcome.changes,
            outcome.run,
            outcome.state,
            outcome.stage,
            outcome.snapshot_id
        );
    }
    Ok(exit::OK)
}
