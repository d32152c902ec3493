//! `switchback snapshot create|list|show` and `switchback diff ID`.

use clap::Subcommand;
use switchback_api::plan;
use switchback_api::zonefile;

use super::{CliError, exit, output, runtime};
use crate::registry::Providers;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Read a zone from a provider and store it, losslessly.
    Create {
        provider: String,
        zone: String,
        #[arg(long)]
        label: Option<String>,
    },
    /// List stored snapshots, newest first.
    List {
        #[arg(long)]
        provider: Option<String>,
        #[arg(long)]
        zone: Option<String>,
    },
    /// Print a snapshot as a zone file or as JSON (which `apply` takes back).
    Show {
        id: String,
        #[arg(long, value_enum, default_value = "zone")]
        format: super::output::Format,
    },
}

pub fn run(providers: &Providers, cmd: SnapshotCommand, json: bool) -> Result<u8, CliError> {
    let store = Store::open(&providers.config().server.state)?;
    match cmd {
        SnapshotCommand::Create {
            provider,
            zone,
            label,
        } => {
            let zone = super::output::parse_zone(&zone)?;
            let p = providers.get(&provider)?;
            let pb = output::spinner(json, &format!("reading {zone} from {provider}"));
            let z = runtime()?.block_on(p.read_zone(&zone))?;
            pb.set_message("storing the snapshot");
            let meta = store.create_snapshot(p.name(), &z, label.as_deref())?;
            pb.finish_and_clear();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&meta).unwrap_or_default()
                );
            } else {
                println!(
                    "snapshot {} of {} {}: {} record sets{}",
                    meta.id,
                    meta.provider,
                    meta.zone,
                    meta.record_sets,
                    meta.label
                        .as_deref()
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default()
                );
            }
            Ok(exit::OK)
        }
        SnapshotCommand::List { provider, zone } => {
            let zone = zone.as_deref().map(super::output::parse_zone).transpose()?;
            let list = store.list_snapshots(provider.as_deref(), zone.as_ref())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).unwrap_or_default()
                );
            } else if list.is_empty() {
                println!("no snapshots");
            } else {
                println!(
                    "{:<28} {:<20} {:<12} {:<28} {:>8}  label",
                    "id", "created", "provider", "zone", "sets"
                );
                for m in &list {
                    println!(
                        "{:<28} {:<20} {:<12} {:<28} {:>8}  {}",
                        m.id,
                        m.created_at,
                        m.provider,
                        m.zone.to_string(),
                        m.record_sets,
                        m.label.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(exit::OK)
        }
        SnapshotCommand::Show { id, format } => {
            let snap = store.snapshot(&id)?;
            match (format, json) {
                (super::output::Format::Json, _) | (_, true) => output::print_json_pretty(&snap),
                (super::output::Format::Zone, false) => {
                    println!(
                        "; snapshot {} of {} {} taken {}",
                        snap.meta.id, snap.meta.provider, snap.meta.zone, snap.meta.created_at
                    );
                    print!("{}", zonefile::write_zone(&snap.zone));
                }
            }
            Ok(exit::OK)
        }
    }
}

/// `switchback diff ID`: what changed in the live zone since snapshot ID.
pub fn diff(providers: &Providers, id: &str, json: bool) -> Result<u8, CliError> {
    let store = Store::open(&providers.config().server.state)?;
    let snap = store.snapshot(id)?;
    let p = providers.get(&snap.meta.provider)?;
    let live = runtime()?.block_on(p.read_zone(&snap.meta.zone))?;
    let opts = crate::planner::diff_options(p.as_ref(), Vec::new());
    // From the snapshot to the live zone: what happened since.
    let changes = plan::diff(&snap.zone, &live, &opts);
    let since = plan::Plan {
        provider: snap.meta.provider.clone(),
        zone: snap.meta.zone.clone(),
        changes,
        existing_record_sets: snap.zone.record_sets.len(),
        first_import: false,
        writes: Default::default(),
    };
    if json {
        output::print_json(&DiffOutput {
            snapshot: &snap.meta,
            changes: &since.changes,
            identical: since.is_empty(),
        });
    } else if since.is_empty() {
        println!(
            "{} {} is identical to snapshot {}",
            snap.meta.provider, snap.meta.zone, snap.meta.id
        );
    } else {
        println!(
            "changes in {} {} since snapshot {} ({}):",
            snap.meta.provider, snap.meta.zone, snap.meta.id, snap.meta.created_at
        );
        print!("{}", output::render_plan(&since, output::colours()));
    }
    Ok(exit::OK)
}

/// `diff --json`.
#[derive(serde::Serialize)]
struct DiffOutput<'a> {
    snapshot: &'a crate::store::SnapshotMeta,
    changes: &'a [switchback_api::Change],
    identical: bool,
}
