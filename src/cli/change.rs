//! `switchback apply` and `switchback rollback`: make a live zone equal to a desired one through
//! the one plan, threshold, journal and verification path.

use std::path::{Path, PathBuf};

use clap::Args as ClapArgs;
use switchback_api::plan::Selector;
use switchback_api::{Name, Provider, Zone, zonefile};

use super::{CliError, exit, output, runtime};
use crate::planner;
use crate::planner::confirm::{self, Decision};
use crate::registry::Providers;
use crate::store::Store;

/// Flags shared by the commands that change records.
#[derive(Debug, Clone, ClapArgs)]
pub struct ChangeFlags {
    /// Only print the plan.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking.
    #[arg(long)]
    pub yes: bool,
    /// Apply even when the plan crosses a safety threshold.
    #[arg(long)]
    pub force: bool,
    /// Refuse unless the plan's checksum is this one (the plan that was reviewed).
    #[arg(long, value_name = "SUM")]
    pub plan_checksum: Option<String>,
}

/// `apply PROVIDER ZONE FILE`.
pub fn apply(
    providers: &Providers,
    provider: &str,
    zone: &str,
    file: &Path,
    flags: &ChangeFlags,
    json: bool,
) -> Result<u8, CliError> {
    let zone = super::output::parse_zone(zone)?;
    let desired = read_desired(file, &zone)?;
    let p = providers.get(provider)?;
    let store = Store::open(&providers.config().server.state)?;
    let subject = file.display().to_string();
    execute(
        &store,
        p.as_ref(),
        &desired,
        Vec::new(),
        "apply",
        &subject,
        flags,
        json,
    )
}

/// `rollback ID [--only NAME[/TYPE]]...`.
pub fn rollback(
    providers: &Providers,
    id: &str,
    only: &[String],
    flags: &ChangeFlags,
    json: bool,
) -> Result<u8, CliError> {
    let store = Store::open(&providers.config().server.state)?;
    let snap = store.snapshot(id)?;
    let selectors = only
        .iter()
        .map(|s| {
            s.parse::<Selector>()
                .map_err(|e| CliError::Usage(format!("--only {s:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for s in &selectors {
        let known = snap
            .zone
            .record_sets
            .iter()
            .any(|rs| rs.name == s.name && s.rtype.is_none_or(|t| t == rs.rtype));
        if !known {
            return Err(CliError::Usage(format!(
                "--only {s}: snapshot {} has no such record set (in zone {})",
                snap.meta.id, snap.meta.zone
            )));
        }
    }
    let p = providers.get(&snap.meta.provider)?;
    execute(
        &store,
        p.as_ref(),
        &snap.zone,
        selectors,
        "rollback",
        id,
        flags,
        json,
    )
}

/// A desired zone from an RFC 1035 zone file or the JSON of `zone export --format json` /
/// `snapshot show ID --format json`.
fn read_desired(file: &Path, zone: &Name) -> Result<Zone, CliError> {
    let text = std::fs::read_to_string(file)
        .map_err(CliError::io(format!("cannot read {}", file.display())))?;
    let z = if text.trim_start().starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| CliError::Usage(format!("{}: not valid JSON: {e}", file.display())))?;
        let inner = if v.get("zone").is_some_and(|z| z.is_object()) {
            v["zone"].clone()
        } else {
            v
        };
        let z: Zone = serde_json::from_value(inner).map_err(|e| {
            CliError::Usage(format!(
                "{}: not a zone export or snapshot: {e}",
                file.display()
            ))
        })?;
        Zone::new(z.origin, z.record_sets)
    } else {
        let root = file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        zonefile::load_str(&text, file, zone, &root).map_err(|errs| {
            CliError::Usage(
                errs.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?
    };
    if z.origin != *zone {
        return Err(CliError::Usage(format!(
            "{} holds zone {}, not {zone}",
            file.display(),
            z.origin
        )));
    }
    Ok(z)
}

#[allow(clippy::too_many_arguments)]
fn execute(
    store: &Store,
    provider: &dyn Provider,
    desired: &Zone,
    only: Vec<Selector>,
    kind: &str,
    subject: &str,
    flags: &ChangeFlags,
    json: bool,
) -> Result<u8, CliError> {
    let rt = runtime()?;
    let pb = output::spinner(
        json,
        &format!("reading {} from {}", desired.origin, provider.name()),
    );
    let (_, plan) = rt.block_on(planner::plan_to(provider, desired, only.clone()))?;
    pb.finish_and_clear();
    let report = |applied: Option<&planner::Applied>,
                  served: Option<&switchback_api::provider::Served>,
                  refused: Option<&str>| {
        if json {
            let out = ChangeOutput {
                plan: &plan,
                checksum: applied.map_or_else(|| plan.checksum(), |a| a.checksum.clone()),
                applied: applied.is_some(),
                run: applied.map(|a| a.run),
                report: applied.map(|a| &a.report),
                served,
                refused,
            };
            output::print_json(&out);
        }
    };
    if !json {
        print!("{}", output::render_plan(&plan, output::colours()));
    }
    if plan.is_empty() {
        report(None, None, None);
        if !json {
            println!(
                "nothing to do: {} {} already matches",
                provider.name(),
                plan.zone
            );
        }
        return Ok(exit::OK);
    }
    if let Some(sum) = &flags.plan_checksum {
        if let Err(e) = plan.verify_checksum(sum) {
            report(None, None, Some("checksum"));
            return Err(CliError::Refused(e.to_string()));
        }
    }
    if let Err(e) = planner::check_thresholds(&plan, flags.force) {
        report(None, None, Some("safety"));
        return Err(e.into());
    }
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdin());
    match confirm::decide(flags.dry_run, flags.yes, terminal, plan.changes.len()) {
        Decision::PrintOnly => {
            report(None, None, Some("dry-run"));
            return Ok(exit::OK);
        }
        Decision::Refuse => {
            report(None, None, Some("no-terminal"));
            return Err(CliError::Refused(
                "not applied: no terminal to confirm at; pass --yes to apply (or --dry-run)".into(),
            ));
        }
        Decision::Ask => {
            let q = format!(
                "Apply {} change(s) to {} {}?",
                plan.changes.len(),
                provider.name(),
                plan.zone
            );
            if output::confirm(&q) != Ok(true) {
                report(None, None, Some("declined"));
                return Err(CliError::Refused("not applied".into()));
            }
        }
        Decision::Apply | Decision::NothingToDo => {}
    }
    let pb = output::spinner(json, &format!("applying {} change(s)", plan.changes.len()));
    let applied = rt.block_on(planner::apply(
        store,
        provider,
        &plan,
        desired,
        only,
        planner::RunInfo {
            kind,
            subject,
            actor: &crate::host::actor(),
        },
    ));
    pb.finish_and_clear();
    let applied = applied?;
    let served = rt.block_on(provider.wait_served(&plan.zone, output::SERVED_WAIT));
    report(Some(&applied), Some(&served), None);
    if !json {
        println!(
            "applied {} change(s) in run {}; verified",
            plan.changes.len(),
            applied.run
        );
        if let Some(line) = output::served_line(&plan.zone, &served) {
            println!("{line}");
        }
    }
    Ok(exit::OK)
}

/// `apply --json` and `rollback --json`: the plan and what was done with it.
#[derive(serde::Serialize)]
struct ChangeOutput<'a> {
    plan: &'a switchback_api::plan::Plan,
    checksum: String,
    applied: bool,
    run: Option<crate::store::RunId>,
    report: Option<&'a switchback_api::ApplyReport>,
    /// Whether the change is served (providers that serve DNS themselves).
    served: Option<&'a switchback_api::provider::Served>,
    refused: Option<&'a str>,
}
