//! `switchback serve`: the built-in authoritative DNS server.

use std::sync::Arc;

use switchback_builtin::{Builtin, Listeners, ServerOptions};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use super::{CliError, exit, runtime};
use crate::config::Config;

pub fn run(cfg: &Config) -> Result<u8, CliError> {
    let rt = runtime()?;
    rt.block_on(serve(cfg))?;
    Ok(exit::OK)
}

async fn serve(cfg: &Config) -> Result<(), CliError> {
    let opts = ServerOptions {
        udp_workers: cfg
            .server
            .udp_workers
            .unwrap_or_else(|| ServerOptions::default().udp_workers),
        allow_transfer: cfg.allow_transfer()?,
        rrl: cfg.rrl()?,
        ..ServerOptions::default()
    };
    let builtin = Arc::new(Builtin::new("builtin", &cfg.server.zones));
    {
        let b = builtin.clone();
        tokio::task::spawn_blocking(move || b.reload())
            .await
            .map_err(|e| CliError::Usage(format!("zone load failed: {e}")))?;
    }
    let listeners = Listeners::bind(&cfg.server.dns, opts.udp_workers).map_err(CliError::io(
        format!("cannot listen on {:?}", cfg.server.dns),
    ))?;
    info!(
        listen = ?listeners.local_addrs(),
        udp_workers = opts.udp_workers,
        rrl = opts.rrl.is_some(),
        "switchback serving DNS"
    );
    let mut hup = signal(SignalKind::hangup()).map_err(CliError::io("cannot watch SIGHUP"))?;
    let reloader = builtin.clone();
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            info!("SIGHUP: reloading zones");
            let b = reloader.clone();
            if let Err(e) = tokio::task::spawn_blocking(move || b.reload()).await {
                warn!(error = %e, "reload task failed");
            }
        }
    });
    let mut term = signal(SignalKind::terminate()).map_err(CliError::io("cannot watch SIGTERM"))?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        info!("shutting down");
    };
    switchback_builtin::serve(builtin.catalog(), listeners, opts, shutdown)
        .await
        .map_err(CliError::io("DNS server failed"))?;
    info!("stopped");
    Ok(())
}
