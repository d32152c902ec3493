//! `switchback serve`: the built-in authoritative DNS server and the HTTP API.

use std::sync::Arc;

use switchback_builtin::{Builtin, Listeners, ServerOptions};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use super::{CliError, exit, runtime};
use crate::registry::{self, Providers};

pub fn run(providers: &Arc<Providers>) -> Result<u8, CliError> {
    let rt = runtime()?;
    rt.block_on(serve(providers))?;
    Ok(exit::OK)
}

/// Raise the soft limit of open files to the hard one (a server's listeners and probes must
/// not run out where the system allows more); the limits before and after.
pub fn raise_fd_limit() -> Option<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return None;
        }
        let before: u64 = r.rlim_cur;
        if r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                return Some((before, before));
            }
        }
        Some((before, r.rlim_cur))
    }
}

async fn serve(providers: &Arc<Providers>) -> Result<(), CliError> {
    let cfg = providers.config().as_ref();
    let fd_limit = raise_fd_limit().map(|(before, after)| {
        info!(before, after, "open-file limit");
        after
    });
    // The HTTP API: refuse early (before anything listens) when it may not run where asked.
    let secrets = crate::http::Secrets::from_env(
        cfg.api.token_env.as_deref(),
        cfg.api.webhook_secret_env.as_deref(),
    );
    crate::http::check_listen(cfg.server.api, &secrets)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    // TSIG keys, secrets read now: a missing one stops the start, naming the key.
    let tsig_keys = cfg.tsig_keys()?;
    let notify_key = match &cfg.server.notify_key {
        Some(name) => Some(
            crate::config::tsig::key_name(name)
                .ok()
                .and_then(|n| tsig_keys.by_name(&n).cloned())
                .ok_or_else(|| CliError::Usage(format!("server.notify_key: no key {name:?}")))?,
        ),
        None => None,
    };
    let mut opts = ServerOptions {
        udp_workers: cfg
            .server
            .udp_workers
            .unwrap_or_else(|| ServerOptions::default().udp_workers),
        allow_transfer: cfg.allow_transfer()?,
        allow_update: cfg.allow_update()?,
        allow_update_zones: cfg.allow_update_zones()?,
        tsig: Arc::new(tsig_keys.clone()),
        rrl: cfg.rrl()?,
        tcp_per_client: cfg.server.tcp_per_client,
        tcp_max: cfg.server.tcp_max,
        ..ServerOptions::default()
    };
    let dns_metrics = opts.metrics.clone();
    // The built-in provider on the state store, seeded from the zone folder.
    let builtin: Arc<Builtin> = {
        let cfg = cfg.clone();
        let b = tokio::task::spawn_blocking(move || {
            let b = registry::open_builtin(&cfg, registry::BUILTIN, true)?;
            // The signed zones' keys, made the first time (a zone keeps its keys).
            let algorithm = cfg.dnssec_algorithm()?;
            for zone in cfg.dnssec_zones()? {
                b.store()
                    .write(|tx| switchback_builtin::dnssec::ensure_keys(tx, &zone, algorithm))
                    .map_err(|e| CliError::Usage(e.to_string()))?;
            }
            Ok::<_, CliError>(b)
        })
        .await
        .map_err(|e| CliError::Usage(format!("zone load failed: {e}")))??;
        Arc::new(b)
    };
    // The serving provider is the one every actor of this process changes: an API or
    // automation change is served without a reload.
    providers.insert(registry::BUILTIN, builtin.clone());
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
    // RFC 2136 UPDATE: decided by the planner, applied through the serving provider.
    opts.updates = Some(Arc::new(crate::planner::dynamic_update::UpdateGate::new(
        providers.config().clone(),
        store.clone(),
        builtin.clone(),
    )));
    // DNS is what must keep running: an API address already in use is an error in the log,
    // not a reason to stop answering queries.
    let api_listener = tokio::net::TcpListener::bind(cfg.server.api)
        .await
        .inspect_err(|e| {
            tracing::error!(listen = %cfg.server.api, error = %e, "HTTP API not started: cannot listen")
        })
        .ok();
    let mut api_opts = crate::http::ApiOptions::default();
    api_opts.rate_per_second = cfg.api.rate_per_second.unwrap_or(api_opts.rate_per_second);
    api_opts.burst = cfg.api.burst.unwrap_or(api_opts.burst);
    // Checked when the config was read.
    if let Ok(Some(wait)) = cfg.api.hook_wait() {
        api_opts.hook_wait = wait;
    }
    // Inbound caps stay well below the descriptor limit: a flood of connections never takes
    // the descriptors the probes, the store and DNS need (invariant 7).
    if let Some(limit) = fd_limit {
        let share = usize::try_from(limit / 4).unwrap_or(usize::MAX).max(16);
        api_opts.conn.total = api_opts.conn.total.min(share);
        // One client never takes more than a quarter of them.
        api_opts.conn.per_client = api_opts
            .conn
            .per_client
            .min((api_opts.conn.total / 4).max(1));
    }
    let api_state = crate::http::ApiState::new(
        providers.clone(),
        store.clone(),
        Some(monitor.clone()),
        secrets,
        api_opts,
    )
    .with_dns_metrics(dns_metrics);
    let api = api_listener.map(|l| {
        tokio::spawn(crate::http::serve(
            l,
            Arc::new(api_state),
            stopped(stop_rx.clone()),
        ))
    });
    // One leader among the instances on the store acts; every one writes its heartbeat and
    // its view of the health checks.
    let leadership = Arc::new(crate::planner::leader::Leadership::new(&store, &cfg.node()));
    tokio::spawn(crate::planner::leader::heartbeat(
        store.clone(),
        leadership.clone(),
        monitor.clone(),
        stopped(stop_rx.clone()),
    ));
    // Notifications out (the leader delivers; health transitions become events), and
    // drills on their schedule.
    let shared_cfg = providers.config().clone();
    tokio::spawn(crate::notify::deliver::run(
        shared_cfg.clone(),
        store.clone(),
        leadership.clone(),
        stopped(stop_rx.clone()),
    ));
    tokio::spawn(crate::notify::deliver::health_events(
        shared_cfg,
        store.clone(),
        leadership.clone(),
        monitor.subscribe(),
        stopped(stop_rx.clone()),
    ));
    tokio::spawn(crate::planner::drill::schedule(
        providers.clone(),
        store.clone(),
        monitor.clone(),
        leadership.clone(),
        stopped(stop_rx.clone()),
    ));
    let automation = tokio::spawn(crate::planner::automation::run(
        providers.clone(),
        store,
        monitor.clone(),
        transitions,
        leadership,
        stopped(stop_rx.clone()),
    ));
    // Changes committed to the state store by other processes (CLI, webhooks) are picked up
    // and swapped in; secondaries get a NOTIFY on every serial change.
    let watcher = tokio::spawn(builtin.clone().watch(
        switchback_builtin::watch::Notify {
            targets: cfg.server.notify.clone(),
            key: notify_key,
        },
        stopped(stop_rx.clone()),
    ));
    // What this process serves, after each swap: a CLI change waits for it.
    let reporter = tokio::spawn(
        builtin
            .clone()
            .report_served(cfg.node(), stopped(stop_rx.clone())),
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
    let _ = reporter.await;
    if let Some(api) = api {
        match api.await {
            Ok(Err(e)) => warn!(error = %e, "HTTP API failed"),
            Err(e) => warn!(error = %e, "HTTP API task failed"),
            Ok(Ok(())) => {}
        }
    }
    monitor.stop();
    let _ = automation.await;
    info!("stopped");
    Ok(())
}
