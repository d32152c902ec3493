//! `switchback serve`: the built-in authoritative DNS server.

use std::sync::Arc;

use switchback_builtin::{Builtin, Listeners, ServerOptions};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use super::{CliError, exit, runtime};
use crate::config::Config;
use crate::registry;

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
    // The built-in provider on the state store, seeded from the zone folder.
    let builtin: Arc<Builtin> = {
        let cfg = cfg.clone();
        let b = tokio::task::spawn_blocking(move || {
            registry::open_builtin(&cfg, registry::BUILTIN, true)
        })
        .await
        .map_err(|e| CliError::Usage(format!("zone load failed: {e}")))??;
        Arc::new(b)
    };
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
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    // Health checks of the cutovers: every transition reaches the built-in server's answers
    // at once (a down primary leaves them), then the automation.
    let monitor = Arc::new(
        crate::health::HealthMonitor::new(cfg.health_checks())
            .map_err(|e| CliError::Usage(format!("health checks: {e}")))?,
    );
    let table = builtin.health().clone();
    monitor.on_transition(move |t| table.set(&t.name, t.to != crate::health::HealthState::Down));
    let transitions = monitor.subscribe();
    monitor.start();
    let store = Arc::new(crate::store::Store::open(&cfg.server.state)?);
    let automation = tokio::spawn(crate::planner::automation::run(
        Arc::new(cfg.clone()),
        store,
        monitor.clone(),
        transitions,
        stopped(stop_rx.clone()),
    ));
    // Changes committed to the state store by other processes (CLI, webhooks) are picked up
    // and swapped in; secondaries get a NOTIFY on every serial change.
    let watcher = tokio::spawn(
        builtin
            .clone()
            .watch(cfg.server.notify.clone(), stopped(stop_rx.clone())),
    );
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        info!("shutting down");
        let _ = stop_tx.send(true);
    });
    switchback_builtin::serve(builtin.catalog(), listeners, opts, stopped(stop_rx))
        .await
        .map_err(CliError::io("DNS server failed"))?;
    let _ = watcher.await;
    monitor.stop();
    let _ = automation.await;
    info!("stopped");
    Ok(())
}
