//! The status page at `GET /`: what an operator looks at during an incident.
//!
//! One self-contained HTML document (inline CSS, no JavaScript; the browser reloads it every
//! 5 s): a banner that says whether anything needs attention, each cutover with its state (one
//! colour per state), stage and traffic share, each health check with its up/down timeline
//! (one cell per probe, oldest to newest), and the last runs with their result. Every text that
//! comes from config, the store or a probe is HTML-escaped.

use std::fmt::Write;

use super::StatusView;
use super::status::{CutoverView, HealthView, ProbeView};

/// Probes shown in a check's timeline (the newest ones).
const TIMELINE: usize = 60;
/// Runs shown in "Last runs" (newest first, all cutovers together).
const RUNS_SHOWN: usize = 15;

/// The page for `view`.
pub fn render(view: &StatusView) -> String {
    let mut body = String::new();
    banner(&mut body, view);
    cutovers(&mut body, view);
    super::status_rto::render(&mut body, view);
    health(&mut body, view);
    nodes(&mut body, view);
    runs(&mut body, view);
    let title = match attention(view).len() {
        0 => "Switchback status".to_string(),
        n => format!("({n}) Switchback status"),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"refresh\" content=\"5\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>Switchback</h1><span class=\"muted\">status at \
         <time datetime=\"{at}\">{at_short}</time> · refreshes every 5 s</span></header>\n\
         <main>\n{body}</main>\n</body>\n</html>\n",
        title = esc(&title),
        at = esc(&view.generated_at),
        at_short = esc(&short_time(&view.generated_at)),
    )
}

const STYLE: &str = "
:root{--idle:#6b7280;--ready:#2563eb;--failedover:#dc2626;--failingback:#d97706;
--restored:#16a34a;--unknown:#7c3aed;--up:#16a34a;--down:#dc2626;--none:#d1d5db;
--line:#e5e7eb;--muted:#6b7280;--bg:#f3f4f6}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;
color:#111827;background:var(--bg)}
header{display:flex;align-items:baseline;gap:16px;padding:12px 24px;background:#111827;color:#f9fafb}
header h1{margin:0;font-size:20px;letter-spacing:.02em}
header .muted{color:#9ca3af}
main{padding:16px 24px;max-width:1400px}
h2{font-size:15px;margin:18px 0 8px;text-transform:uppercase;letter-spacing:.06em;color:#374151}
.banner{padding:10px 14px;border-radius:6px;font-weight:600;border-left:6px solid}
.banner ul{margin:4px 0 0;padding-left:20px;font-weight:400}
.banner.ok{background:#dcfce7;border-color:var(--up);color:#14532d}
.banner.warn{background:#fee2e2;border-color:var(--down);color:#7f1d1d}
table{width:100%;border-collapse:collapse;background:#fff;border-radius:6px;overflow:hidden;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:middle}
th{font-size:12px;color:var(--muted);font-weight:600;background:#f9fafb}
tr:last-child td{border-bottom:0}
td.name{font-weight:700;font-size:15px}
.sub{display:block;font-size:12px;color:var(--muted);font-weight:400}
.mono{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12px}
.muted{color:var(--muted)}
time{white-space:nowrap}
.badge{display:inline-block;min-width:88px;text-align:center;padding:3px 10px;border-radius:999px;
color:#fff;font-weight:700;font-size:12px;letter-spacing:.03em;text-transform:uppercase}
.s-idle{background:var(--idle)}.s-ready{background:var(--ready)}
.s-failed-over{background:var(--failedover)}.s-failing-back{background:var(--failingback)}
.s-restored{background:var(--restored)}.s-unknown{background:var(--unknown)}
.s-up,.s-done{background:var(--up)}.s-down,.s-failed{background:var(--down)}
.s-running{background:var(--ready)}.s-aborted{background:var(--failingback)}
tr.s-row-failed-over td:first-child{box-shadow:inset 5px 0 var(--failedover)}
tr.s-row-failing-back td:first-child{box-shadow:inset 5px 0 var(--failingback)}
tr.s-row-down td:first-child{box-shadow:inset 5px 0 var(--down)}
.stages{display:inline-flex;gap:3px;vertical-align:middle;margin-right:8px}
.stages i{display:inline-block;width:22px;height:10px;border-radius:2px;background:var(--none)}
.stages i.on{background:var(--restored)}
.tl{display:inline-flex;gap:1px;vertical-align:middle}
.tl i{display:inline-block;width:7px;height:20px;border-radius:1px;background:#fff;
outline:1px solid var(--line);outline-offset:-1px}
.tl i.u{background:var(--up);outline:0}.tl i.d{background:var(--down);outline:0}
.legend{font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:9px;height:9px;margin:0 3px 0 8px;border-radius:1px}
.warn-text{color:#b91c1c;font-weight:600}
.empty{padding:12px;background:#fff;border-radius:6px;color:var(--muted)}
";

/// HTML-escape text for element content and quoted attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A CSS class suffix for a state: only `[a-z-]`, anything else is `unknown`.
fn state_class(state: &str) -> &str {
    match state {
        "idle" | "ready" | "failed-over" | "failing-back" | "restored" | "up" | "down" | "done"
        | "failed" | "running" | "aborted" => state,
        _ => "unknown",
    }
}

fn badge(state: &str) -> String {
    format!(
        "<span class=\"badge s-{}\">{}</span>",
        state_class(state),
        esc(state)
    )
}

/// `2026-11-25T18:45:26.123Z` as `2026-11-25 18:45:26Z`; anything else as is.
fn short_time(t: &str) -> String {
    match t.split_once('T') {
        Some((date, rest)) if date.len() == 10 => {
            let time: String = rest.chars().take(8).collect();
            let zone = if rest.ends_with('Z') { "Z" } else { "" };
            format!("{date} {time}{zone}")
        }
        _ => t.to_string(),
    }
}

pub(super) fn time_tag(t: &str) -> String {
    format!(
        "<time datetime=\"{}\" title=\"{}\">{}</time>",
        esc(t),
        esc(t),
        esc(&short_time(t))
    )
}

/// What needs attention: cutovers away from the primary, checks down, interrupted steps,
/// unreadable state.
fn attention(view: &StatusView) -> Vec<String> {
    let mut out = Vec::new();
    for c in &view.cutovers {
        match c.state.as_str() {
            "failed-over" => out.push(format!("cutover {} is failed over", c.name)),
            "failing-back" => out.push(format!(
                "cutover {} is failing back (stage {} of {})",
                c.name, c.stage, c.stages
            )),
            "idle" | "ready" | "restored" => {}
            other => out.push(format!("cutover {} is in state {other}", c.name)),
        }
        if c.step_in_progress {
            out.push(format!(
                "cutover {}: a step was interrupted (resume or abort it)",
                c.name
            ));
        }
        if let Some(e) = &c.error {
            out.push(format!("cutover {}: {e}", c.name));
        }
    }
    for h in &view.health {
        if h.state == "down" {
            out.push(format!("health check {} is down", h.name));
        }
    }
    out
}

fn banner(out: &mut String, view: &StatusView) {
    let items = attention(view);
    if items.is_empty() {
        out.push_str(
            "<div class=\"banner ok\">All clear: no cutover is away from its primary and no \
             health check is down.</div>\n",
        );
        return;
    }
    let _ = write!(
        out,
        "<div class=\"banner warn\">{} need{} attention<ul>",
        items.len(),
        if items.len() == 1 { "s" } else { "" }
    );
    for i in &items {
        let _ = write!(out, "<li>{}</li>", esc(i));
    }
    out.push_str("</ul></div>\n");
}

fn stage_cell(c: &CutoverView) -> String {
    let mut s = String::from("<span class=\"stages\">");
    for i in 0..c.stages {
        s.push_str(if i < c.stage {
            "<i class=\"on\"></i>"
        } else {
            "<i></i>"
        });
    }
    let _ = write!(s, "</span>stage {} of {}", c.stage, c.stages);
    match (c.primary_weight, c.state.as_str()) {
        (Some(w), _) => {
            let _ = write!(
                s,
                "<span class=\"sub\">{w}% of traffic on the primary</span>"
            );
        }
        (None, "failed-over") => {
            s.push_str("<span class=\"sub\">all traffic on the recovery targets</span>");
        }
        _ => {}
    }
    s
}

fn cutovers(out: &mut String, view: &StatusView) {
    out.push_str("<h2>Cutovers</h2>\n");
    if view.cutovers.is_empty() {
        out.push_str("<div class=\"empty\">No cutover is configured.</div>\n");
        return;
    }
    out.push_str(
        "<table class=\"cutovers\"><thead><tr><th>Cutover</th><th>State</th><th>Stage</th>\
         <th>Primary check</th><th>Snapshot</th><th>Last step</th></tr></thead><tbody>\n",
    );
    for c in &view.cutovers {
        let check = view.health.iter().find(|h| h.name == c.name).map_or_else(
            || "<span class=\"muted\">none</span>".to_string(),
            |h| badge(&h.state),
        );
        let mut notes = String::new();
        if c.step_in_progress {
            notes
                .push_str("<span class=\"sub warn-text\">step interrupted: resume or abort</span>");
        }
        if let Some(e) = &c.error {
            let _ = write!(notes, "<span class=\"sub warn-text\">{}</span>", esc(e));
        }
        let _ = writeln!(
            out,
            "<tr class=\"s-row-{cls}\"><td class=\"name\">{name}<span class=\"sub\">{provider} · \
             {zone}</span></td><td>{badge}{notes}</td><td>{stage}</td><td>{check}</td>\
             <td class=\"mono\">{snap}</td><td>{last}</td></tr>",
            cls = state_class(&c.state),
            name = esc(&c.name),
            provider = esc(&c.provider),
            zone = esc(&c.zone),
            badge = badge(&c.state),
            stage = stage_cell(c),
            snap = c
                .snapshot_id
                .as_deref()
                .map_or_else(|| "<span class=\"muted\">–</span>".into(), esc),
            last = c
                .stage_started_at
                .as_deref()
                .map_or_else(|| "<span class=\"muted\">–</span>".into(), time_tag),
        );
    }
    out.push_str("</tbody></table>\n");
}

/// A latency: one decimal below 10 ms, none above.
fn ms(l: f64) -> String {
    if l < 10.0 {
        format!("{l:.1} ms")
    } else {
        format!("{l:.0} ms")
    }
}

fn probe_cell(p: &ProbeView) -> String {
    let mut title = format!(
        "{} {} {}",
        short_time(&p.at),
        if p.up { "up" } else { "down" },
        ms(p.latency_ms)
    );
    if let Some(e) = &p.error {
        let _ = write!(title, ": {e}");
    }
    format!(
        "<i class=\"{}\" title=\"{}\"></i>",
        if p.up { "u" } else { "d" },
        esc(&title)
    )
}

fn timeline(h: &HealthView) -> String {
    let shown = &h.history[h.history.len().saturating_sub(TIMELINE)..];
    let mut s = String::from("<span class=\"tl\">");
    // Empty cells first, so that the newest probe is always at the right edge.
    for _ in shown.len()..TIMELINE {
        s.push_str("<i></i>");
    }
    for p in shown {
        s.push_str(&probe_cell(p));
    }
    s.push_str("</span>");
    s
}

fn health(out: &mut String, view: &StatusView) {
    out.push_str("<h2>Health checks</h2>\n");
    if view.health.is_empty() {
        out.push_str("<div class=\"empty\">No health check is running.</div>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<table class=\"health\"><thead><tr><th>Check</th><th>State</th><th>Since</th>\
         <th>Latency</th><th>Last {TIMELINE} probes (newest right) \
         <span class=\"legend\"><i style=\"background:var(--up)\"></i>up\
         <i style=\"background:var(--down)\"></i>down</span></th></tr></thead><tbody>"
    );
    for h in &view.health {
        let last_error = h
            .history
            .last()
            .and_then(|p| p.error.as_deref())
            .map(|e| format!("<span class=\"sub warn-text\">{}</span>", esc(e)))
            .unwrap_or_default();
        let latency = h.last_latency_ms.map_or_else(|| "–".to_string(), ms);
        let _ = writeln!(
            out,
            "<tr class=\"s-row-{cls}\"><td class=\"name\">{name}<span class=\"sub mono\">{check}\
             </span></td><td>{badge}{last_error}</td><td>{since}</td><td>{latency}\
             <span class=\"sub\">{probes} probes</span></td><td>{tl}</td></tr>",
            cls = state_class(&h.state),
            name = esc(&h.name),
            check = esc(&h.check),
            badge = badge(&h.state),
            since = h
                .since
                .as_deref()
                .map_or_else(|| "<span class=\"muted\">–</span>".into(), time_tag),
            probes = h.probes,
            tl = timeline(h),
        );
    }
    out.push_str("</tbody></table>\n");
}

/// One line of "Last runs", engine runs and hook runs together.
struct RunLine<'a> {
    cutover: &'a str,
    what: String,
    id: String,
    state: &'a str,
    started_at: &'a str,
    finished_at: Option<&'a str>,
    error: Option<String>,
}

/// The instances on a shared store: which one leads, and what each one sees.
fn nodes(out: &mut String, view: &StatusView) {
    if view.nodes.is_empty() {
        return;
    }
    out.push_str("<h2>Instances</h2>\n<table>\n<tr><th>Node</th><th>Role</th><th>Health checks as it sees them</th><th>Last heartbeat</th></tr>\n");
    for n in &view.nodes {
        let checks: Vec<String> = n
            .health
            .iter()
            .map(|(c, s)| format!("{} {}", esc(c), badge(s)))
            .collect();
        out.push_str(&format!(
            "<tr><td class=\"name\">{}<span class=\"sub\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&n.node),
            esc(&n.host),
            if n.leader { "<b>leader</b>" } else { "<span class=\"muted\">follower</span>" },
            checks.join(" "),
            time_tag(&n.heartbeat_at),
        ));
    }
    out.push_str("</table>\n");
}

fn runs(out: &mut String, view: &StatusView) {
    out.push_str("<h2>Last runs</h2>\n");
    let mut lines: Vec<RunLine> = Vec::new();
    for c in &view.cutovers {
        for r in &c.last_runs {
            lines.push(RunLine {
                cutover: &c.name,
                what: r.kind.clone(),
                id: format!("run {}", r.id),
                state: &r.state,
                started_at: &r.started_at,
                finished_at: r.finished_at.as_deref(),
                error: r.error.clone(),
            });
        }
        for j in &c.hook_runs {
            lines.push(RunLine {
                cutover: &c.name,
                what: format!("hook {}", j.hook),
                id: format!("{} (event {})", j.run_id, j.event_id),
                state: j.state,
                started_at: &j.started_at,
                finished_at: j.finished_at.as_deref(),
                error: j.error.as_ref().map(|e| match e {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Object(o) => {
                        o.get("detail").or_else(|| o.get("error")).map_or_else(
                            || e.to_string(),
                            |d| d.as_str().map_or_else(|| d.to_string(), str::to_string),
                        )
                    }
                    other => other.to_string(),
                }),
            });
        }
    }
    if lines.is_empty() {
        out.push_str("<div class=\"empty\">No run yet.</div>\n");
        return;
    }
    // Newest first (RFC 3339 times in one zone sort as text).
    lines.sort_by(|a, b| b.started_at.cmp(a.started_at));
    lines.truncate(RUNS_SHOWN);
    out.push_str(
        "<table class=\"runs\"><thead><tr><th>Started</th><th>Cutover</th><th>Run</th>\
         <th>Result</th><th>Finished</th><th>Error</th></tr></thead><tbody>\n",
    );
    for l in &lines {
        let _ = writeln!(
            out,
            "<tr><td>{started}</td><td><b>{cutover}</b></td><td>{what}<span class=\"sub mono\">\
             {id}</span></td><td>{badge}</td><td>{finished}</td><td class=\"warn-text\">{error}\
             </td></tr>",
            started = time_tag(l.started_at),
            cutover = esc(l.cutover),
            what = esc(&l.what),
            id = esc(&l.id),
            badge = badge(l.state),
            finished = l
                .finished_at
                .map_or_else(|| "<span class=\"muted\">–</span>".into(), time_tag),
            error = l.error.as_deref().map(esc).unwrap_or_default(),
        );
    }
    out.push_str("</tbody></table>\n");
}

#[cfg(test)]
mod tests {
    use super::super::Job;
    use super::super::status::RunView;
    use super::*;

    fn cutover(name: &str, state: &str, stage: u32) -> CutoverView {
        CutoverView {
            name: name.into(),
            provider: "builtin".into(),
            zone: "example.com.".into(),
            state: state.into(),
            stage,
            stages: 3,
            primary_weight: Some(match stage {
                0 => 0,
                1 => 10,
                2 => 50,
                _ => 100,
            }),
            snapshot_id: Some("snap-1".into()),
            snapshots: Vec::new(),
            held_by: None,
            leader: "a".into(),
            node: "a".into(),
            last_rto: None,
            rto_target_seconds: None,
            last_drill: None,
            notify_pending: 0,
            notify_error: None,
            step_in_progress: false,
            stage_started_at: Some("2026-11-25T18:40:00.000Z".into()),
            last_runs: Vec::new(),
            hook_runs: Vec::new(),
            error: None,
        }
    }

    fn probe(sec: u32, up: bool) -> ProbeView {
        ProbeView {
            at: format!("2026-11-25T18:40:{sec:02}.000Z"),
            up,
            latency_ms: 3.5,
            error: (!up).then(|| "connection refused <&>".to_string()),
        }
    }

    fn check(name: &str, state: &str, history: Vec<ProbeView>) -> HealthView {
        HealthView {
            name: name.into(),
            check: format!("tcp://{name}.example:443"),
            state: state.into(),
            since: Some("2026-11-25T18:39:00.000Z".into()),
            probes: history.len() as u64,
            last_latency_ms: Some(3.5),
            history,
        }
    }

    fn every_state() -> StatusView {
        let mut web = cutover("web", "failed-over", 0);
        web.last_runs.push(RunView {
            id: 7,
            kind: "failover".into(),
            state: "done".into(),
            started_at: "2026-11-25T18:40:00.000Z".into(),
            finished_at: Some("2026-11-25T18:40:01.000Z".into()),
            error: None,
        });
        web.last_runs.push(RunView {
            id: 8,
            kind: "failback".into(),
            state: "failed".into(),
            started_at: "2026-11-25T18:41:00.000Z".into(),
            finished_at: Some("2026-11-25T18:41:02.000Z".into()),
            error: Some("primary not healthy".into()),
        });
        web.hook_runs.push(Job {
            run_id: "hook-1".into(),
            cutover: "web".into(),
            hook: "post-recovery",
            event_id: "evt-1".into(),
            state: "running",
            started_at: "2026-11-25T18:42:00.000Z".into(),
            finished_at: None,
            result: None,
            error: None,
        });
        let mut unknown = cutover("broken", "unknown", 0);
        unknown.error = Some("state row unreadable".into());
        unknown.step_in_progress = true;
        StatusView {
            generated_at: "2026-11-25T18:45:00.123Z".into(),
            cutovers: vec![
                cutover("idle-one", "idle", 0),
                cutover("ready-one", "ready", 0),
                web,
                cutover("api", "failing-back", 1),
                cutover("mail", "restored", 3),
                unknown,
            ],
            health: vec![
                check("web", "down", (0..5).map(|i| probe(i, i < 2)).collect()),
                check("api", "up", (0..80).map(|i| probe(i % 60, true)).collect()),
                check("mail", "unknown", Vec::new()),
            ],
            nodes: ["site-a", "site-b"]
                .iter()
                .enumerate()
                .map(|(i, n)| crate::store::NodeRow {
                    node: n.to_string(),
                    host: format!("host-{i}"),
                    pid: 100 + i as i64,
                    leader: i == 0,
                    health: [("web".to_string(), ["down", "up"][i].to_string())].into(),
                    started_at: "2026-11-25T18:00:00.000000Z".into(),
                    heartbeat_at: "2026-11-25T18:44:59.500000Z".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn every_state_has_its_colour_and_text() {
        let html = render(&every_state());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"));
        assert!(!html.contains("<script"));
        for state in [
            "idle",
            "ready",
            "failed-over",
            "failing-back",
            "restored",
            "unknown",
        ] {
            assert!(
                html.contains(&format!("<span class=\"badge s-{state}\">{state}</span>")),
                "{state}"
            );
            assert!(
                STYLE.contains(&format!(".s-{state}{{")),
                "no colour for {state}"
            );
        }
        for state in ["up", "down", "done", "failed", "running"] {
            assert!(
                html.contains(&format!("badge s-{state}\">{state}<")),
                "{state}"
            );
        }
        assert!(html.contains("stage 1 of 3"));
        assert!(html.contains("10% of traffic on the primary"));
        assert!(html.contains("cutover web is failed over"));
        assert!(html.contains("cutover api is failing back (stage 1 of 3)"));
        assert!(html.contains("health check web is down"));
        assert!(html.contains("step interrupted"));
        assert!(
            html.contains("<title>(6) Switchback status</title>"),
            "{html}"
        );
        // Runs, newest first: the hook, then the failed failback with its error, then the
        // failover.
        let hook = html.find("hook post-recovery").unwrap();
        let failback = html.find("primary not healthy").unwrap();
        let failover = html.find("run 7").unwrap();
        assert!(hook < failback && failback < failover);
    }

    #[test]
    fn instances_show_the_leader_and_each_ones_view() {
        let html = render(&every_state());
        let at = html
            .find("<h2>Instances</h2>")
            .expect("an instances section");
        let section = &html[at..];
        assert!(section.contains("site-a<span class=\"sub\">host-0</span></td><td><b>leader</b>"));
        assert!(section.contains(
            "site-b<span class=\"sub\">host-1</span></td><td><span class=\"muted\">follower</span>"
        ));
        assert!(
            section.contains("web <span class=\"badge s-down\">"),
            "{section}"
        );
        assert!(
            !render(&StatusView {
                nodes: Vec::new(),
                ..every_state()
            })
            .contains("Instances")
        );
    }

    #[test]
    fn timeline_has_a_cell_per_probe_newest_right() {
        let v = every_state();
        // web: 5 probes, 55 empty cells first, then up, up, down, down, down.
        let tl = timeline(&v.health[0]);
        assert_eq!(tl.matches("<i></i>").count(), TIMELINE - 5);
        assert_eq!(tl.matches("<i class=\"u\"").count(), 2);
        assert_eq!(tl.matches("<i class=\"d\"").count(), 3);
        assert!(tl.rfind("class=\"u\"").unwrap() < tl.find("class=\"d\"").unwrap());
        assert!(tl.contains(
            "title=\"2026-11-25 18:40:04Z down 3.5 ms: connection refused &lt;&amp;&gt;\""
        ));
        // api: 80 probes, only the newest 60 shown.
        let tl = timeline(&v.health[1]);
        assert_eq!(tl.matches("<i class=\"u\"").count(), TIMELINE);
        assert!(!tl.contains("<i></i>"));
        // mail: none yet.
        assert_eq!(timeline(&v.health[2]).matches("<i></i>").count(), TIMELINE);
    }

    #[test]
    fn everything_is_escaped() {
        let evil = "<script>alert('x')</script>&\"";
        let mut v = every_state();
        let c = &mut v.cutovers[0];
        c.name = evil.into();
        c.provider = evil.into();
        c.zone = evil.into();
        c.state = evil.into();
        c.snapshot_id = Some(evil.into());
        c.stage_started_at = Some(evil.into());
        c.error = Some(evil.into());
        c.last_runs.push(RunView {
            id: 1,
            kind: evil.into(),
            state: evil.into(),
            started_at: evil.into(),
            finished_at: Some(evil.into()),
            error: Some(evil.into()),
        });
        v.cutovers[2].hook_runs[0].error = Some(serde_json::json!({"detail": evil}));
        v.cutovers[2].hook_runs[0].event_id = evil.into();
        let h = &mut v.health[0];
        h.name = evil.into();
        h.check = evil.into();
        h.state = evil.into();
        h.since = Some(evil.into());
        h.history[0].at = evil.into();
        h.history[0].error = Some(evil.into());
        v.generated_at = evil.into();
        let html = render(&v);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("'x'"));
        assert!(!html.contains("&\""));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"));
        // An unknown state never becomes a class name.
        assert!(!html.contains("s-&lt;"));
        assert!(!html.contains("s-<"));
    }

    #[test]
    fn quiet_and_empty_pages() {
        let v = StatusView {
            generated_at: "2026-11-25T18:45:00.123Z".into(),
            cutovers: vec![cutover("web", "idle", 0)],
            health: vec![check("web", "up", vec![probe(1, true)])],
            nodes: Vec::new(),
        };
        let html = render(&v);
        assert!(html.contains("All clear"));
        assert!(html.contains("<title>Switchback status</title>"));
        assert!(html.contains("No run yet."));
        let html = render(&StatusView {
            generated_at: String::new(),
            cutovers: Vec::new(),
            health: Vec::new(),
            nodes: Vec::new(),
        });
        assert!(html.contains("No cutover is configured."));
        assert!(html.contains("No health check is running."));
    }

    #[test]
    fn short_times() {
        assert_eq!(
            short_time("2026-11-25T18:45:00.123Z"),
            "2026-11-25 18:45:00Z"
        );
        assert_eq!(short_time("yesterday"), "yesterday");
    }
}
