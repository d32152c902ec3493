//! The command line: one file per subcommand.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigError};

mod change;
mod cutover;
mod dnssec;
mod drill;
mod health;
mod output;
mod serve;
mod snapshot;
mod step;
mod store;
mod zone;

/// Exit codes (DESIGN.md "Command line").
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const DRIFT: u8 = 3;
    pub const SAFETY: u8 = 4;
    pub const BUSY: u8 = 5;
}

/// DNS and traffic-steering cutover service.
#[derive(Debug, Parser)]
#[command(name = "switchback", version, about)]
pub struct Args {
    /// Configuration file (default: ./switchback.toml when present, else built-in defaults).
    #[arg(short = 'c', long = "config", global = true)]
    pub config: Option<PathBuf>,
    /// Print one JSON document on stdout, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the built-in authoritative DNS server on the configured listeners.
    Serve,
    /// Zone files.
    #[command(subcommand)]
    Zone(zone::ZoneCommand),
    /// Snapshots of live zones.
    #[command(subcommand)]
    Snapshot(snapshot::SnapshotCommand),
    /// Show what changed in the live zone since snapshot ID.
    Diff { id: String },
    /// Make a live zone equal to a zone file or a JSON export/snapshot (a sync; also the way
    /// to move a zone between providers).
    Apply {
        provider: String,
        zone: String,
        file: PathBuf,
        #[command(flatten)]
        flags: change::ChangeFlags,
    },
    /// Restore a live zone (or some of its record sets) to snapshot ID.
    Rollback {
        id: String,
        /// Only these record sets: NAME (every type) or NAME/TYPE. Repeatable.
        #[arg(long, value_name = "NAME[/TYPE]")]
        only: Vec<String>,
        #[command(flatten)]
        flags: change::ChangeFlags,
    },
    /// Probe every configured health check once (all at once) and print their state; exit 0
    /// when all are up, 1 otherwise.
    Health,
    /// Cutovers: list, status NAME, plan NAME.
    #[command(subcommand)]
    Cutover(cutover::CutoverCommand),
    /// Snapshot, then steer a cutover's records to the recovery targets.
    Failover(step::FailoverArgs),
    /// Walk a cutover's traffic back to the primary, one stage at a time; the last stage
    /// restores the snapshot exactly.
    Failback(step::FailbackArgs),
    /// Finish a cutover step that was interrupted.
    Resume {
        name: String,
        #[command(flatten)]
        wait: step::WaitArg,
    },
    /// Restore a cutover's snapshot (from any state after the failover began).
    Abort(step::AbortArgs),
    /// Rehearse a cutover end to end on shadow records (`_drill.` + each name) and report
    /// each phase's time, the RTO and findings; `drill list [NAME]` lists stored reports.
    Drill(drill::DrillArgs),
    /// Is the cutover ready to fail over: recovery health, providers, a dry run, TTLs, drills.
    Check { name: String },
    /// The state store: migrate it into PostgreSQL.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// DNSSEC keys of the zones the built-in server signs: ds ZONE, export ZONE.
    #[command(subcommand)]
    Dnssec(dnssec::DnssecCommand),
}

/// Errors of the command line layer.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Plan and provider errors too (one variant for each error, never two).
    #[error(transparent)]
    Planner(#[from] crate::planner::PlannerError),
    #[error(transparent)]
    Cutover(#[from] crate::planner::cutover::CutoverError),
    #[error("{0}")]
    Usage(String),
    /// The command was refused (not confirmed, checksum mismatch, …); nothing changed.
    #[error("{0}")]
    Refused(String),
}

impl From<switchback_api::ProviderError> for CliError {
    fn from(e: switchback_api::ProviderError) -> CliError {
        CliError::Planner(e.into())
    }
}

impl From<switchback_api::plan::PlanError> for CliError {
    /// Plan errors take the planner's path (one variant for each error, never two).
    fn from(e: switchback_api::plan::PlanError) -> CliError {
        CliError::Planner(e.into())
    }
}

impl CliError {
    /// The process exit code for this error (DESIGN.md "Command line").
    pub fn exit_code(&self) -> u8 {
        use switchback_api::plan::PlanError;
        match self {
            CliError::Usage(_) | CliError::Refused(_) | CliError::Registry(_) => exit::USAGE,
            CliError::Store(crate::store::StoreError::NotFound { .. }) => exit::USAGE,
            CliError::Planner(crate::planner::PlannerError::Plan(PlanError::Safety(_))) => {
                exit::SAFETY
            }
            CliError::Planner(crate::planner::PlannerError::Plan(
                PlanError::ChecksumMismatch { .. },
            )) => exit::USAGE,
            CliError::Cutover(e) => cutover_exit_code(e),
            _ => exit::ERROR,
        }
    }
}

fn cutover_exit_code(e: &crate::planner::cutover::CutoverError) -> u8 {
    use crate::planner::cutover::CutoverError as E;
    match e {
        E::Drift(_) => exit::DRIFT,
        E::Busy { .. } => exit::BUSY,
        e if e.is_safety() => exit::SAFETY,
        E::Unknown { .. }
        | E::Refused { .. }
        | E::Changed { .. }
        | E::Unhealthy { .. }
        | E::Soak { .. }
        | E::Config(_)
        | E::Registry(_)
        | E::Store(crate::store::StoreError::NotFound { .. }) => exit::USAGE,
        _ => exit::ERROR,
    }
}

impl CliError {
    /// What the operator can do about this error with the command line's own flags (the
    /// library errors state the fact; the flag that overrides it is the CLI's to name).
    pub fn hint(&self) -> Option<&'static str> {
        use crate::planner::cutover::CutoverError as E;
        use switchback_api::plan::PlanError;
        let safety = "--force applies it anyway";
        match self {
            CliError::Planner(crate::planner::PlannerError::Plan(PlanError::Safety(_))) => {
                Some(safety)
            }
            CliError::Cutover(e) => match e {
                e if e.is_safety() => Some(safety),
                E::Drift(_) => Some("--force overwrites the changed record sets"),
                E::Unhealthy { .. } => {
                    Some("--ignore-health goes on anyway (recorded loudly in the journal)")
                }
                E::Soak { .. } => Some("wait, or start the stage now with --skip-soak"),
                E::Busy { .. } => Some("--wait DURATION waits for the other actor"),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let context = context.into();
        move |source| CliError::Io { context, source }
    }
}

/// `RUST_LOG` decides the level (default `info`); logs go to stderr.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Last, so RUST_LOG cannot turn them off: the AWS SDK logs session tokens at TRACE.
    for d in switchback_route53::LOG_FILTER.split(',') {
        if let Ok(d) = d.parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Run a command; the result is the process exit code.
pub fn run(args: Args) -> Result<u8, CliError> {
    let cfg = std::sync::Arc::new(Config::load(args.config.as_deref())?);
    // The composition root: the providers of this process, built once, handed down.
    let providers = std::sync::Arc::new(crate::registry::Providers::new(cfg.clone()));
    let p = &providers;
    match args.command {
        Command::Serve => serve::run(p),
        Command::Zone(cmd) => zone::run(p, cmd, args.json),
        Command::Snapshot(cmd) => snapshot::run(p, cmd, args.json),
        Command::Diff { id } => snapshot::diff(p, &id, args.json),
        Command::Apply {
            provider,
            zone,
            file,
            flags,
        } => change::apply(p, &provider, &zone, &file, &flags, args.json),
        Command::Rollback { id, only, flags } => change::rollback(p, &id, &only, &flags, args.json),
        Command::Health => health::run(&cfg, args.json),
        Command::Cutover(cmd) => cutover::run(p, cmd, args.json),
        Command::Failover(a) => step::failover(p, &a, args.json),
        Command::Failback(a) => step::failback(p, &a, args.json),
        Command::Resume { name, wait } => step::resume(p, &name, wait.wait, args.json),
        Command::Abort(a) => step::abort(p, &a, args.json),
        Command::Drill(a) => drill::run(p, &a, args.json),
        Command::Check { name } => drill::check(p, &name, args.json),
        Command::Store(cmd) => store::run(p, cmd, args.json),
        Command::Dnssec(cmd) => dnssec::run(p, cmd, args.json),
    }
}

/// A tokio runtime for commands that need one (the DNS workers are threads of their own).
fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::io("cannot start the async runtime"))
}
