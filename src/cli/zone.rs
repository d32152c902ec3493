//! `switchback zone check|export`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use switchback_api::Name;
use switchback_api::zonefile::{self, ZoneError};

use super::output::Format;
use super::{CliError, exit, runtime};
use crate::registry::Providers;

#[derive(Debug, Subcommand)]
pub enum ZoneCommand {
    /// Validate zone files: prints `file:line: message` for each error and exits 1.
    Check {
        /// Zone files, or folders of `*.zone` files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The zone's name, when the file is not named ZONE.zone.
        #[arg(long)]
        origin: Option<String>,
    },
    /// Print a provider's live zone.
    Export {
        provider: String,
        zone: String,
        #[arg(long, value_enum, default_value = "zone")]
        format: Format,
    },
}

pub fn run(providers: &Providers, cmd: ZoneCommand, json: bool) -> Result<u8, CliError> {
    match cmd {
        ZoneCommand::Check { paths, origin } => check(&paths, origin.as_deref(), json),
        ZoneCommand::Export {
            provider,
            zone,
            format,
        } => export(providers, &provider, &zone, format, json),
    }
}

fn check(paths: &[PathBuf], origin: Option<&str>, json: bool) -> Result<u8, CliError> {
    let origin = origin
        .map(|o| {
            o.parse::<Name>()
                .map_err(|e| CliError::Usage(format!("--origin: {e}")))
        })
        .transpose()?;
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(CliError::io(format!("cannot read {}", p.display())))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|e| e == "zone") && f.is_file())
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    let mut failed = false;
    let mut results = Vec::new();
    for file in &files {
        let zone_name = match &origin {
            Some(o) => Ok(o.clone()),
            None => origin_from_file(file),
        };
        let result = zone_name.and_then(|o| {
            let root = file.parent().unwrap_or(Path::new("."));
            zonefile::load_file(file, &o, root)
        });
        match result {
            Ok(zone) => {
                let serial = zone
                    .soa()
                    .and_then(|s| s.values.first())
                    .and_then(|v| v.data.split_whitespace().nth(2))
                    .unwrap_or("?")
                    .to_string();
                let records: usize = zone.record_sets.iter().map(|r| r.values.len()).sum();
                if !json {
                    println!(
                        "{}: ok: zone {} serial {}, {} record sets, {} records",
                        file.display(),
                        zone.origin,
                        serial,
                        zone.record_sets.len(),
                        records
                    );
                }
                results.push(serde_json::json!({
                    "file": file, "zone": zone.origin, "ok": true, "serial": serial,
                    "record_sets": zone.record_sets.len(), "records": records,
                }));
            }
            Err(errs) => {
                failed = true;
                for e in &errs {
                    if !json {
                        println!("{e}");
                    }
                }
                results.push(serde_json::json!({
                    "file": file, "ok": false,
                    "errors": errs.iter().map(|e| serde_json::json!({
                        "file": e.file, "line": e.line, "message": e.message,
                    })).collect::<Vec<_>>(),
                }));
            }
        }
    }
    if json {
        println!("{}", serde_json::Value::Array(results));
    }
    Ok(if failed { exit::ERROR } else { exit::OK })
}

/// `example.com.zone` is the zone `example.com.`; any other file name is taken as the name.
fn origin_from_file(file: &Path) -> Result<Name, Vec<ZoneError>> {
    let fname = file.file_name().and_then(|f| f.to_str()).unwrap_or("");
    let stem = fname.strip_suffix(".zone").unwrap_or(fname);
    stem.parse::<Name>().map_err(|e| {
        vec![ZoneError::new(
            file,
            0,
            format!("cannot tell the zone's name from the file name ({e}); name it ZONE.zone or pass --origin"),
        )]
    })
}

fn export(
    providers: &Providers,
    provider: &str,
    zone: &str,
    format: Format,
    json: bool,
) -> Result<u8, CliError> {
    let zone = super::output::parse_zone(zone)?;
    let p = providers.get(provider)?;
    let z = runtime()?.block_on(p.read_zone(&zone))?;
    match (format, json) {
        (Format::Json, _) | (_, true) => {
            super::output::print_json_pretty(&z);
        }
        (Format::Zone, false) => print!("{}", zonefile::write_zone(&z)),
    }
    Ok(exit::OK)
}
