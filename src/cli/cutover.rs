//! `switchback cutover list | status NAME | plan NAME`.

use std::sync::Arc;

use clap::Subcommand;

use super::{CliError, exit, runtime};
use crate::planner::cutover::{self, Ctx, HealthGate, StepOptions};
use crate::registry::Providers;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum CutoverCommand {
    /// Every configured cutover and where it stands.
    List,
    /// A cutover's state, stage, snapshot, health and the journal of its runs.
    Status { name: String },
    /// What the next step (failover, failback stage, resume) would do; changes nothing.
    Plan {
        name: String,
        /// The whole cutover as a Markdown runbook (commands, changes, checks, gates, undo).
        #[arg(long)]
        runbook: bool,
    },
}

pub fn run(providers: &Arc<Providers>, cmd: CutoverCommand, json: bool) -> Result<u8, CliError> {
    let cfg = providers.config();
    let store = Arc::new(Store::open(&cfg.server.state)?);
    match cmd {
        CutoverCommand::List => {
            let mut rows = Vec::new();
            for c in cfg.all_cutovers()? {
                rows.push(cutover::status(cfg, &store, &c)?);
            }
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).unwrap_or_default()
                );
            } else if rows.is_empty() {
                println!("no cutovers configured");
            } else {
                println!(
                    "{:<16} {:<12} {:<24} {:<9} {:<13} {:>5}  snapshot",
                    "name", "provider", "zone", "steering", "state", "stage"
                );
                for s in &rows {
                    println!(
                        "{:<16} {:<12} {:<24} {:<9} {:<13} {:>5}  {}",
                        s.name,
                        s.provider,
                        s.zone.to_string(),
                        format!("{:?}", s.steering).to_lowercase(),
                        s.state.as_str(),
                        format!("{}/{}", s.stage, s.stages),
                        s.snapshot_id.as_deref().unwrap_or("-")
                    );
                }
            }
            Ok(exit::OK)
        }
        CutoverCommand::Status { name } => {
            let c = cutover::find(cfg, &name)?;
            let st = cutover::status(cfg, &store, &c)?;
            let health = if c.health.is_some() {
                let r = runtime()?.block_on(HealthGate::probe().primary_healthy(&c));
                Some(match r {
                    Ok(true) => "up".to_string(),
                    Ok(false) => "down".to_string(),
                    Err(e) => format!("down ({e})"),
                })
            } else {
                None
            };
            if json {
                let mut v = serde_json::to_value(&st).unwrap_or_default();
                v["health"] = serde_json::json!(health);
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                return Ok(exit::OK);
            }
            println!(
                "cutover {} ({} {}, steering {:?}): {} stage {}/{}",
                st.name, st.provider, st.zone, st.steering, st.state, st.stage, st.stages
            );
            if let Some(w) = st.primary_weight {
                println!("  traffic on primary: {w}%");
            }
            println!("  records: {}", st.records.join(", "));
            println!("  zones: {}", st.zones.join(", "));
            if st.snapshots.is_empty() {
                println!("  snapshot: -");
            }
            for s in &st.snapshots {
                println!("  snapshot: {} ({} {})", s.id, s.provider, s.zone);
            }
            if let Some(l) = &st.lease {
                println!("  held by: {}", cutover::describe_lease(l));
            }
            if let Some(t) = &st.stage_started_at {
                println!("  last step finished: {t}");
            }
            println!(
                "  health: {}",
                health.as_deref().unwrap_or("no health check configured")
            );
            if let Some(r) = st
                .last_rto
                .as_ref()
                .and_then(|v| serde_json::from_value::<RtoSeen>(v.clone()).ok())
            {
                println!(
                    "  last RTO ({} stage {}, from the {} at {}): applied {:.3}s, visible {}, worst case {:.3}s{}",
                    r.step,
                    r.stage,
                    r.trigger.kind,
                    r.trigger.at,
                    r.seconds.applied,
                    match (r.seconds.visible, r.checked) {
                        (Some(v), n) => format!("{v:.3}s at {n} server(s)"),
                        (None, 0) => "not checked (no authoritative server answered)".into(),
                        (None, _) => "NOT at every server".into(),
                    },
                    r.seconds.worst_case,
                    match (st.rto_target_seconds, r.met) {
                        (Some(t), Some(true)) => format!(" (rto_target {t}s: met)"),
                        (Some(t), _) => format!(" (rto_target {t}s: MISSED)"),
                        _ => String::new(),
                    }
                );
            }
            if let Some(d) = &st.last_drill {
                println!(
                    "  last drill: {} {} at {}",
                    d["id"].as_str().unwrap_or("?"),
                    d["result"].as_str().unwrap_or("?"),
                    d["started_at"].as_str().unwrap_or("?")
                );
            }
            for n in &st.notifications {
                println!(
                    "  notifications to {}: {} delivered, {} pending{}",
                    n.target,
                    n.delivered,
                    n.pending,
                    n.last_error
                        .as_deref()
                        .map(|e| format!(" (last error: {e})"))
                        .unwrap_or_default()
                );
            }
            if let Some(i) = &st.intent {
                println!(
                    "  INTERRUPTED: a {} step to {} stage {} started {}: run `switchback resume {}` or `switchback abort {}`",
                    i.kind.as_str(),
                    i.to_state,
                    i.to_stage,
                    i.started_at,
                    st.name,
                    st.name
                );
            }
            for r in &st.runs {
                println!(
                    "  run {} {} {} started {}{}",
                    r.run.id,
                    r.run.kind,
                    r.run.state,
                    r.run.started_at,
                    r.run
                        .finished_at
                        .as_deref()
                        .map(|f| format!(" finished {f}"))
                        .unwrap_or_default()
                );
                for j in &r.journal {
                    println!("    {} {} {} {}", j.seq, j.at, j.step, j.phase);
                }
            }
            Ok(exit::OK)
        }
        CutoverCommand::Plan {
            name,
            runbook: true,
        } => {
            let ctx = Ctx::open(providers, &store, &name, HealthGate::probe())?;
            print!("{}", runtime()?.block_on(runbook(&ctx))?);
            Ok(exit::OK)
        }
        CutoverCommand::Plan { name, .. } => {
            let ctx = Ctx::open(providers, &store, &name, HealthGate::probe())?;
            let action = cutover::next_action(&store, &ctx.cutover)?;
            let opts = StepOptions {
                actor: crate::host::actor(),
                ..StepOptions::default()
            };
            let p = runtime()?.block_on(cutover::prepare(&ctx, &action, &opts))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
            } else {
                super::step::show(&p);
            }
            Ok(exit::OK)
        }
    }
}

/// The runbook of the context's cutover, planned from the live zones now.
async fn runbook(ctx: &Ctx) -> Result<String, CliError> {
    use crate::planner::runbook::{RunbookInput, render};
    let cfg = ctx.providers.config();
    let c = &ctx.cutover;
    let opts = StepOptions {
        actor: crate::host::actor(),
        ..StepOptions::default()
    };
    let action = cutover::Action::Failover {
        targets: Default::default(),
    };
    let (failover, note) = match cutover::prepare(ctx, &action, &opts).await {
        Ok(p) => (Some(p), None),
        Err(e) => (
            None,
            Some(format!(
                "the failover cannot be planned now ({e}); its changes are not shown"
            )),
        ),
    };
    let mut servers = Vec::new();
    for z in c.zones() {
        let list: Vec<std::net::SocketAddr> = if !c.verify_ns.is_empty() {
            c.verify_ns.clone()
        } else if matches!(
            cfg.provider_settings(&z.provider).as_deref(),
            Some(crate::config::providers::ProviderSettings::Builtin(_))
        ) {
            crate::planner::rto::own_listeners(cfg)
        } else {
            Vec::new()
        };
        for a in list {
            servers.push((z.zone.to_string(), a.ip().to_string(), a.port()));
        }
    }
    let last_drill = ctx
        .store
        .drills(Some(&c.name), 1)?
        .into_iter()
        .next()
        .map(|d| {
            (
                d.id,
                d.result,
                d.report
                    .get("rto_seconds")
                    .and_then(serde_json::Value::as_f64),
                d.started_at,
            )
        });
    // What each failback stage makes of the cutover's sets, from the live zones (the
    // snapshot the failover will take).
    let mut stages = Vec::new();
    if let Some(p) = &failover {
        let n = cutover::stage_count(c);
        for i in 1..=n {
            let mut zones = Vec::new();
            for zp in &p.zones {
                let Some(live) = zp.live.as_ref() else {
                    continue;
                };
                let z = zp.key();
                let sels = cutover::selectors(c, &z);
                let after = if i == n {
                    crate::planner::prepare::selected(&sels, live)
                } else {
                    let field = ctx.providers.get(&z.provider)?.capabilities().health_field;
                    cutover::steered(
                        c,
                        &z,
                        live,
                        &p.targets,
                        cutover::primary_weight(c, i),
                        field,
                    )?
                };
                zones.push((z.provider.clone(), z.zone.to_string(), after));
            }
            stages.push(zones);
        }
    }
    let config_arg = cfg.path.as_ref().and_then(|p| p.file_name()).map_or_else(
        || "switchback.toml".to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    Ok(render(&RunbookInput {
        cfg,
        cutover: c,
        config_arg: &config_arg,
        failover: failover.as_ref(),
        note,
        servers,
        last_drill,
        stages,
    }))
}

/// The fields of a stored RTO that `cutover status` prints.
#[derive(serde::Deserialize)]
struct RtoSeen {
    step: String,
    stage: u32,
    trigger: TriggerSeen,
    seconds: SecondsSeen,
    #[serde(default)]
    checked: usize,
    met: Option<bool>,
}

#[derive(serde::Deserialize)]
struct TriggerSeen {
    kind: String,
    at: String,
}

#[derive(serde::Deserialize)]
struct SecondsSeen {
    applied: f64,
    visible: Option<f64>,
    worst_case: f64,
}
