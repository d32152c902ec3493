//! `switchback drill NAME [--live] [--yes]`, `drill list [NAME]` and `check NAME`: prove a
//! cutover before the disaster.

use std::sync::Arc;

use clap::Args as ClapArgs;

use super::{CliError, exit, output, runtime};
use crate::planner::cutover::{ActorKind, Ctx, HealthGate};
use crate::planner::drill::{self, DrillOptions, DrillReport};
use crate::registry::Providers;
use crate::store::Store;

/// `drill NAME` or `drill list [NAME]`.
#[derive(Debug, Clone, ClapArgs)]
pub struct DrillArgs {
    /// The cutover to drill, or `list` (the stored reports).
    pub name: String,
    /// With `list`: only this cutover's drills.
    pub cutover: Option<String>,
    /// On the real records (a planned test of the real cutover), after a confirmation.
    #[arg(long)]
    pub live: bool,
    /// Confirm `--live` without asking.
    #[arg(long)]
    pub yes: bool,
    /// Start the failback stages although the primary's check is down.
    #[arg(long)]
    pub ignore_health: bool,
}

pub fn run(providers: &Arc<Providers>, a: &DrillArgs, json: bool) -> Result<u8, CliError> {
    let cfg = providers.config();
    let store = Arc::new(Store::open(&cfg.server.state)?);
    if a.name == "list" && cfg.cutover("list")?.is_none() {
        return list(&store, a.cutover.as_deref(), json);
    }
    if a.cutover.is_some() {
        return Err(CliError::Usage(format!(
            "drill {}: one cutover at a time (`drill list NAME` lists one cutover's drills)",
            a.name
        )));
    }
    let ctx = Ctx::open(providers, &store, &a.name, HealthGate::probe())?;
    if a.live && !a.yes {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
        if !terminal {
            return Err(CliError::Refused(
                "drill --live changes the real records: pass --yes (no terminal to confirm at)"
                    .into(),
            ));
        }
        let q = format!(
            "Drill {} LIVE: fail over the real records, fail back every stage and restore?",
            a.name
        );
        if output::confirm(&q) != Ok(true) {
            return Err(CliError::Refused("not started".into()));
        }
    }
    let opts = DrillOptions {
        live: a.live,
        ignore_health: a.ignore_health,
        actor: crate::host::actor(),
        actor_kind: ActorKind::Cli,
    };
    let pb = output::spinner(json, &format!("drill {}", a.name));
    let r = runtime()?.block_on(drill::run(&ctx, &opts));
    pb.finish_and_clear();
    let report = r?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", render(&report));
    }
    Ok(match report.result.as_str() {
        "passed" => exit::OK,
        _ => exit::ERROR,
    })
}

fn list(store: &Store, cutover: Option<&str>, json: bool) -> Result<u8, CliError> {
    let rows = store.drills(cutover, 100)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
        return Ok(exit::OK);
    }
    if rows.is_empty() {
        println!("no drills yet");
    }
    for d in &rows {
        let rto = d
            .report
            .get("rto_seconds")
            .and_then(serde_json::Value::as_f64)
            .map_or("-".into(), |s| format!("{s:.3}s"));
        let findings = d
            .report
            .get("findings")
            .and_then(serde_json::Value::as_array)
            .map_or(0, Vec::len);
        println!(
            "{}  {:<16} {:<7} {}{}  RTO {rto}  {findings} finding(s)",
            d.started_at,
            d.cutover,
            d.result,
            d.id,
            if d.live { " (live)" } else { "" }
        );
    }
    Ok(exit::OK)
}

/// The text form of a report.
pub fn render(r: &DrillReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "drill {} of {}{}: {} in {:.3}s",
        r.id,
        r.cutover,
        if r.live {
            " (LIVE)"
        } else {
            " (shadow records)"
        },
        r.result.to_uppercase(),
        r.seconds
    );
    for p in &r.phases {
        let _ = write!(
            out,
            "  {:<10} {:>8.3}s  {} change(s)",
            p.name, p.seconds, p.changes
        );
        if let Some(rto) = &p.rto {
            let _ = write!(out, "  {}", output::rto_line(rto));
        }
        if let Some(e) = &p.error {
            let _ = write!(out, "  FAILED: {e}");
        }
        out.push('\n');
    }
    match (r.rto_seconds, r.rto_target_seconds, r.rto_met) {
        (Some(s), Some(t), Some(met)) => {
            let _ = writeln!(
                out,
                "  RTO {s:.3}s against rto_target {t}s: {}",
                if met { "met" } else { "MISSED" }
            );
        }
        (Some(s), _, _) => {
            let _ = writeln!(out, "  RTO {s:.3}s (no rto_target set)");
        }
        _ => {}
    }
    for c in &r.checks {
        let _ = writeln!(
            out,
            "  check {} {}: {}{}",
            c.role,
            c.check,
            if c.ok { "up" } else { "DOWN" },
            c.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        );
    }
    if let Some(u) = r.production_untouched {
        let _ = writeln!(
            out,
            "  production records {}",
            if u { "untouched" } else { "CHANGED" }
        );
    }
    for f in &r.findings {
        let _ = writeln!(out, "  finding [{}] {}", f.kind, f.detail);
    }
    out
}

/// `check NAME`: readiness; exit 0 when nothing fails.
pub fn check(providers: &Arc<Providers>, name: &str, json: bool) -> Result<u8, CliError> {
    let cfg = providers.config();
    let store = Arc::new(Store::open(&cfg.server.state)?);
    let ctx = Ctx::open(providers, &store, name, HealthGate::probe())?;
    let checks = runtime()?.block_on(crate::planner::readiness::check(&ctx));
    let ready = checks.iter().all(|c| c.status != "fail");
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "cutover": name, "ready": ready, "checks": checks
            }))
            .unwrap_or_default()
        );
    } else {
        for c in &checks {
            println!("{:<4} {:<20} {}", c.status, c.name, c.detail);
        }
        println!(
            "cutover {name}: {}",
            if ready { "ready" } else { "NOT READY" }
        );
    }
    Ok(if ready { exit::OK } else { exit::ERROR })
}
