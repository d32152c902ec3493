//! `switchback failover|failback|resume|abort NAME`: one cutover step, shown as its plan,
//! confirmed, then carried out by the cutover engine.

use std::sync::Arc;
use std::time::Duration;

use clap::Args as ClapArgs;
use serde::Serialize;

use super::{CliError, exit, output, runtime};
use crate::planner::confirm::{self, Decision};
use crate::planner::cutover::{
    self, Action, ActorKind, Ctx, CutoverError, HealthGate, Outcome, Prepared, StageSel,
    StepOptions, Targets,
};
use crate::registry::Providers;
use crate::store::Store;

/// `--wait DURATION`: how long to wait for the cutover's lease.
#[derive(Debug, Clone, ClapArgs)]
pub struct WaitArg {
    /// Wait this long for the cutover when another actor holds it (default: do not wait).
    #[arg(long, value_name = "DURATION", value_parser = parse_wait)]
    pub wait: Option<Duration>,
}

fn parse_wait(s: &str) -> Result<Duration, String> {
    crate::duration::parse_duration(s)
}

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
    #[command(flatten)]
    pub wait: WaitArg,
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
    /// Overwrite cutover records someone else changed (drift), past the safety thresholds.
    #[arg(long)]
    pub force: bool,
    /// Start the stage although the previous stage has not soaked yet.
    #[arg(long)]
    pub skip_soak: bool,
    /// Go on although the primary is NOT healthy (recorded loudly in the journal).
    #[arg(long)]
    pub ignore_health: bool,
    #[command(flatten)]
    pub wait: WaitArg,
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
    #[command(flatten)]
    pub wait: WaitArg,
}

#[derive(Default)]
struct Flags {
    dry_run: bool,
    yes: bool,
    force: bool,
    skip_soak: bool,
    ignore_health: bool,
    wait: Option<Duration>,
}

pub fn failover(providers: &Arc<Providers>, a: &FailoverArgs, json: bool) -> Result<u8, CliError> {
    let c = cutover::find(providers.config(), &a.name)?;
    let mut targets = Targets::new();
    for t in &a.targets {
        let (k, v) = cutover::parse_target(&c, t)?;
        targets.insert(k, v);
    }
    step(
        providers,
        &a.name,
        Action::Failover { targets },
        Flags {
            dry_run: a.dry_run,
            yes: a.yes,
            wait: a.wait.wait,
            ..Flags::default()
        },
        json,
    )
}

pub fn failback(providers: &Arc<Providers>, a: &FailbackArgs, json: bool) -> Result<u8, CliError> {
    let stage: StageSel = a.stage.parse().map_err(CliError::Usage)?;
    step(
        providers,
        &a.name,
        Action::Failback { stage },
        Flags {
            dry_run: a.dry_run,
            yes: a.yes,
            force: a.force,
            skip_soak: a.skip_soak,
            ignore_health: a.ignore_health,
            wait: a.wait.wait,
        },
        json,
    )
}

pub fn abort(providers: &Arc<Providers>, a: &AbortArgs, json: bool) -> Result<u8, CliError> {
    step(
        providers,
        &a.name,
        Action::Abort,
        Flags {
            dry_run: a.dry_run,
            yes: a.yes,
            force: a.force,
            wait: a.wait.wait,
            ..Flags::default()
        },
        json,
    )
}

/// `resume NAME`: finishes a step that was already confirmed; does not ask again.
pub fn resume(
    providers: &Arc<Providers>,
    name: &str,
    wait: Option<Duration>,
    json: bool,
) -> Result<u8, CliError> {
    step(
        providers,
        name,
        Action::Resume,
        Flags {
            yes: true,
            wait,
            ..Flags::default()
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
    /// Per zone applied on a provider that serves DNS itself: whether the change is served.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    served: &'a [ServedZone],
    #[serde(skip_serializing_if = "Option::is_none")]
    rto: Option<&'a crate::planner::rto::Rto>,
    refused: Option<&'a str>,
}

/// Whether the change to one zone is served yet.
#[derive(Serialize)]
struct ServedZone {
    provider: String,
    zone: switchback_api::Name,
    #[serde(flatten)]
    served: switchback_api::provider::Served,
}

fn print_json(p: Option<&Prepared>, outcome: Option<&Outcome>, refused: Option<&str>) {
    print_json_served(p, outcome, &[], None, refused);
}

fn print_json_served(
    p: Option<&Prepared>,
    outcome: Option<&Outcome>,
    served: &[ServedZone],
    rto: Option<&crate::planner::rto::Rto>,
    refused: Option<&str>,
) {
    let out = StepOutput {
        prepared: p,
        checksum: p.map(Prepared::checksum),
        applied: outcome.is_some(),
        outcome,
        served,
        rto,
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
    for z in &p.zones {
        if p.zones.len() > 1 {
            println!(
                "zone {} on {}{}:",
                z.zone,
                z.provider,
                if z.done {
                    " (done before the interruption)"
                } else {
                    ""
                }
            );
        }
        print!("{}", output::render_plan(&z.plan, output::colours()));
    }
}

fn refused_json(e: &CutoverError) {
    let why = match e {
        CutoverError::Drift(_) => "drift",
        CutoverError::Unhealthy { .. } => "unhealthy",
        CutoverError::Soak { .. } => "soak",
        CutoverError::Busy { .. } => "busy",
        CutoverError::Changed { .. } => "changed",
        _ => "error",
    };
    if let CutoverError::Drift(r) = e {
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

fn step(
    providers: &Arc<Providers>,
    name: &str,
    action: Action,
    f: Flags,
    json: bool,
) -> Result<u8, CliError> {
    let cfg = providers.config();
    let store = Arc::new(Store::open(&cfg.server.state)?);
    let ctx = Ctx::open(providers, &store, name, HealthGate::probe())?;
    let opts = StepOptions {
        force: f.force,
        skip_soak: f.skip_soak,
        ignore_health: f.ignore_health,
        actor: crate::host::actor(),
        actor_kind: ActorKind::Cli,
        wait: f.wait,
        trigger: Some(crate::planner::rto::Trigger::now("command")),
    };
    let rt = runtime()?;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
    let r = if f.yes && !f.dry_run {
        // Nothing to confirm: the lease first, then one plan made under it.
        let pb = output::spinner(json, &format!("cutover {name}"));
        let r = rt.block_on(async {
            let lease = cutover::Lease::acquire(
                &ctx.store,
                name,
                &cutover::Holder::me(&ctx.node, opts.actor_kind, &opts.actor),
                opts.wait,
            )
            .await?;
            let p = cutover::prepare(&ctx, &action, &opts).await?;
            pb.finish_and_clear();
            announce(&p, json);
            let o = cutover::execute(&ctx, p.clone(), &opts, &lease).await?;
            Ok::<_, CutoverError>((p, o))
        });
        pb.finish_and_clear();
        r.map(|(p, o)| (p, Some(o)))
    } else {
        let pb = output::spinner(json, &format!("planning cutover {name}"));
        let prepared = rt.block_on(cutover::prepare(&ctx, &action, &opts));
        pb.finish_and_clear();
        match prepared {
            Err(e) => Err(e),
            Ok(p) => {
                announce(&p, json);
                match confirm::decide(f.dry_run, f.yes, terminal, p.changes()) {
                    Decision::PrintOnly => {
                        if json {
                            print_json(Some(&p), None, Some("dry-run"));
                        }
                        return Ok(exit::OK);
                    }
                    Decision::Refuse => {
                        if json {
                            print_json(Some(&p), None, Some("no-terminal"));
                        }
                        return Err(CliError::Refused(
                            "not applied: no terminal to confirm at; pass --yes to apply (or --dry-run)"
                                .into(),
                        ));
                    }
                    Decision::Ask => {
                        let q = format!(
                            "Apply {} change(s) for {} {}?",
                            p.changes(),
                            p.kind.as_str(),
                            name
                        );
                        if output::confirm(&q) != Ok(true) {
                            if json {
                                print_json(Some(&p), None, Some("declined"));
                            }
                            return Err(CliError::Refused("not applied".into()));
                        }
                    }
                    Decision::Apply | Decision::NothingToDo => {}
                }
                // The prompt held no lease: take it now, and refuse if the cutover changed.
                let pb = output::spinner(json, &format!("{} {name}", p.kind.as_str()));
                let o = rt.block_on(cutover::run_confirmed(&ctx, &action, &opts, &p));
                pb.finish_and_clear();
                o.map(|o| (p, Some(o)))
            }
        }
    };
    let (p, outcome) = match r {
        Ok(x) => x,
        Err(e) => {
            if !f.dry_run {
                cutover::refused(&ctx, &opts, &e);
            }
            if json {
                refused_json(&e);
            }
            return Err(e.into());
        }
    };
    let Some(outcome) = outcome else {
        return Ok(exit::OK);
    };
    // The RTO first: its watchers must be asking every server while the change propagates.
    let rto = rt.block_on(crate::planner::rto::observe(&ctx, &outcome));
    // A change to a provider that serves DNS itself is done when it is served.
    let mut served = Vec::new();
    for z in &outcome.zones {
        if z.changes == 0 {
            continue;
        }
        if let Ok(pr) = providers.get(&z.provider) {
            let s = rt.block_on(pr.wait_served(&z.zone, output::SERVED_WAIT));
            if s != switchback_api::provider::Served::NotApplicable {
                served.push(ServedZone {
                    provider: z.provider.clone(),
                    zone: z.zone.clone(),
                    served: s,
                });
            }
        }
    }
    if json {
        print_json_served(Some(&p), Some(&outcome), &served, rto.as_ref(), None);
    } else {
        println!(
            "{} {name}: applied {} change(s) in {} zone(s), last run {}; verified; now {} (stage {}); snapshot {}",
            outcome.kind.as_str(),
            outcome.changes,
            outcome.zones.len(),
            outcome.run,
            outcome.state,
            outcome.stage,
            outcome
                .snapshots
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for s in &served {
            if let Some(line) = output::served_line(&s.zone, &s.served) {
                println!("{line}");
            }
        }
        if let Some(r) = &rto {
            println!("{}", output::rto_line(r));
        }
    }
    Ok(exit::OK)
}

/// The notes (loudly, whatever the output format) and the plan (unless `--json`).
fn announce(p: &Prepared, json: bool) {
    for note in &p.notes {
        eprintln!("switchback: WARNING: {note}");
    }
    if !json {
        show(p);
    }
}
