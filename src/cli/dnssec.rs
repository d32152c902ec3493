//! `switchback dnssec ds|export ZONE`: a signed zone's keys, for the parent (DS) and for the
//! operator's own safekeeping (the key files in BIND's formats, on stdout only).

use clap::Subcommand;
use switchback_api::Name;
use switchback_builtin::dnssec;
use switchback_builtin::store::{StoredKey, ZoneStore};

use super::CliError;
use crate::registry::Providers;

#[derive(Debug, Subcommand)]
pub enum DnssecCommand {
    /// The DS records (SHA-256) of the zone's KSK, for the parent zone. The zone's keys are
    /// made first if it has none yet.
    Ds { zone: String },
    /// The zone's keys as BIND's key files (`K….key` and `K….private`, each after a `; K…`
    /// line), private halves included: on stdout only, never written anywhere by Switchback.
    Export { zone: String },
}

pub fn run(providers: &Providers, cmd: DnssecCommand, json: bool) -> Result<u8, CliError> {
    match cmd {
        DnssecCommand::Ds { zone } => {
            let (zone, keys) = keys(providers, &zone)?;
            let ds = dnssec::ds_records(&zone, &keys);
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "zone": zone.to_string(), "ds": ds })
                );
            } else {
                for line in ds {
                    println!("{line}");
                }
            }
        }
        DnssecCommand::Export { zone } => {
            let (zone, keys) = keys(providers, &zone)?;
            print!("{}", dnssec::export(&zone, &keys));
        }
    }
    Ok(0)
}

/// The keys of `zone`, a zone of `[server] dnssec`, made now if it has none.
fn keys(providers: &Providers, zone: &str) -> Result<(Name, Vec<StoredKey>), CliError> {
    let cfg = providers.config();
    let zone: Name = zone
        .parse()
        .map_err(|e| CliError::Usage(format!("{zone:?} is not a zone name: {e}")))?;
    if !cfg.dnssec_zones()?.contains(&zone) {
        return Err(CliError::Usage(format!(
            "{zone} is not signed: add it to [server] dnssec"
        )));
    }
    let algorithm = cfg.dnssec_algorithm()?;
    let store =
        ZoneStore::open(cfg.server.state.clone()).map_err(|e| CliError::Usage(e.to_string()))?;
    let keys = store
        .write(|tx| dnssec::ensure_keys(tx, &zone, algorithm))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok((zone, keys))
}
