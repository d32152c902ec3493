//! `switchback health`: one round of every configured health check, all at once; a table (or
//! `--json`); exit 0 when every check is up, 1 otherwise.
//!
//! One round decides: a check whose probe succeeded is shown `up`, else `down` (the rise/fall
//! counting belongs to the long-running monitor in `serve`).

use std::time::Duration;

use serde_json::json;

use super::{CliError, exit, output, runtime};
use crate::config::Config;
use crate::health::{HealthSpec, ProbeResult, probe_once};

pub fn run(cfg: &Config, json: bool) -> Result<u8, CliError> {
    let checks = cfg.health_checks();
    let rt = runtime()?;
    let results = rt.block_on(probe_all(&checks));
    let all_up = results.iter().all(|r| r.ok);
    if json {
        let items: Vec<_> = checks
            .iter()
            .zip(&results)
            .map(|((name, spec), r)| {
                json!({
                    "name": name,
                    "check": spec.check,
                    "state": if r.ok { "up" } else { "down" },
                    "latency_ms": ms(r.latency),
                    "error": r.error,
                })
            })
            .collect();
        let doc = json!({ "all_up": all_up, "checks": items });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if checks.is_empty() {
        eprintln!("no health checks configured (health = {{...}} in [[cutover]] sections)");
    } else {
        print!("{}", table(&checks, &results, output::colours()));
    }
    Ok(if all_up { exit::OK } else { exit::ERROR })
}

/// Probe every check concurrently; results in the order of `checks`.
async fn probe_all(checks: &[(String, HealthSpec)]) -> Vec<ProbeResult> {
    let tasks: Vec<_> = checks
        .iter()
        .map(|(_, spec)| {
            let spec = spec.clone();
            tokio::spawn(async move { probe_once(&spec).await })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap_or_else(|e| ProbeResult {
            at: std::time::SystemTime::now(),
            latency: Duration::ZERO,
            ok: false,
            error: Some(format!("probe task failed: {e}")),
            local: true,
        }));
    }
    out
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

fn table(checks: &[(String, HealthSpec)], results: &[ProbeResult], colour: bool) -> String {
    let rows: Vec<[String; 5]> = checks
        .iter()
        .zip(results)
        .map(|((name, spec), r)| {
            [
                name.clone(),
                spec.check.clone(),
                if r.ok { "up" } else { "down" }.to_string(),
                format!("{:.1}ms", ms(r.latency)),
                r.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let head = ["NAME", "CHECK", "STATE", "LATENCY", "ERROR"];
    let mut width = head.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5], state_colour: Option<&str>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(width[i].saturating_sub(cell.chars().count()));
            let text = match (i, state_colour) {
                (2, Some(code)) => format!("\x1b[{code}m{cell}\x1b[0m"),
                _ => cell.to_string(),
            };
            if i == 4 {
                s.push_str(&text);
            } else {
                s.push_str(&format!("{text}{pad}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head, None);
    for row in &rows {
        let code = colour.then_some(if row[2] == "up" { "32" } else { "31" });
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]], code));
    }
    out
}
