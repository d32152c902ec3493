//! `switchback store migrate --to postgres://...`: move the state store from its SQLite file
//! into PostgreSQL (then point `[server] state` at the URL).

use clap::Subcommand;
use switchback_sql::Location;

use super::{CliError, exit};
use crate::registry::Providers;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy this config's SQLite state store into an empty PostgreSQL database, verified by
    /// row counts and checksums (the password: PGPASSWORD, a password file, or the URL).
    Migrate {
        /// The PostgreSQL database, `postgres://user@host:port/database`.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

pub fn run(providers: &Providers, cmd: StoreCommand, json: bool) -> Result<u8, CliError> {
    let cfg = providers.config();
    match cmd {
        StoreCommand::Migrate { to } => {
            let target = Location::parse(&to, |k| std::env::var(k).ok())
                .map_err(|e| CliError::Usage(format!("--to: {e}")))?;
            if !matches!(target, Location::Postgres(_)) {
                return Err(CliError::Usage(
                    "--to: a postgres:// URL (the store is copied into PostgreSQL)".into(),
                ));
            }
            let from = cfg.server.state.clone();
            let copies = crate::store::migrate::migrate(&from, &target)?;
            if json {
                let doc = serde_json::json!({
                    "from": from.display(),
                    "to": target.display(),
                    "tables": copies,
                });
                println!("{doc}");
            } else {
                println!("copied {} into {}:", from.display(), target.display());
                for c in &copies {
                    println!(
                        "  {:<16} {:>8} rows  sha256 {}",
                        c.table,
                        c.rows,
                        &c.checksum[..16]
                    );
                }
                println!(
                    "verified: every table's row count and checksum match. Set [server] state = \"{}\" to use it.",
                    target.display()
                );
            }
            Ok(exit::OK)
        }
    }
}
