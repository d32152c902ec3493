//! The status page's "Recovery time" table: per cutover, the measured RTO of its last step
//! against `rto_target` (a clear met / MISSED), its last drill, and the notifications not
//! delivered yet.

use std::fmt::Write;

use super::status::StatusView;
use super::status_page::{esc, time_tag};

fn secs(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.3} s")
    } else {
        format!("{s:.1} s")
    }
}

/// Append the table (nothing when no cutover has a target, an RTO, a drill or a queue).
pub fn render(out: &mut String, view: &StatusView) {
    let shown: Vec<_> = view
        .cutovers
        .iter()
        .filter(|c| {
            c.last_rto.is_some()
                || c.rto_target_seconds.is_some()
                || c.last_drill.is_some()
                || c.notify_pending > 0
        })
        .collect();
    if shown.is_empty() {
        return;
    }
    out.push_str(
        "<h2>Recovery time</h2>\n<table class=\"rto\"><thead><tr><th>Cutover</th>\
         <th>Last step</th><th>Applied</th><th>Visible</th><th>Worst case (+TTL)</th>\
         <th>Target</th><th>Last drill</th><th>Notifications</th></tr></thead><tbody>\n",
    );
    let none = "<span class=\"muted\">–</span>";
    for c in shown {
        let (step, applied, visible, worst) = match &c.last_rto {
            Some(r) => (
                format!(
                    "{} {}<span class=\"sub\">{} {}</span>",
                    esc(&r.step),
                    if r.step == "failback" {
                        format!("stage {}", r.stage)
                    } else {
                        String::new()
                    },
                    esc(&r.trigger),
                    time_tag(&r.at)
                ),
                secs(r.applied),
                match (r.visible, r.checked) {
                    (Some(v), n) => format!("{}<span class=\"sub\">{n} server(s)</span>", secs(v)),
                    (None, 0) => "<span class=\"muted\">not checked</span>".to_string(),
                    (None, _) => "<span class=\"warn-text\">not everywhere</span>".to_string(),
                },
                secs(r.worst_case),
            ),
            None => (none.into(), none.into(), none.into(), none.into()),
        };
        let target = match (
            c.rto_target_seconds,
            c.last_rto.as_ref().and_then(|r| r.met),
        ) {
            (Some(t), Some(true)) => format!("{} <span class=\"badge s-up\">met</span>", secs(t)),
            (Some(t), Some(false)) => {
                format!("{} <span class=\"badge s-down\">MISSED</span>", secs(t))
            }
            (Some(t), None) => secs(t),
            (None, _) => "<span class=\"muted\">none set</span>".into(),
        };
        let drill = match &c.last_drill {
            Some(d) => {
                let cls = match d.result.as_str() {
                    "passed" => "up",
                    "running" => "running",
                    "stopped" => "aborted",
                    _ => "down",
                };
                format!(
                    "<span class=\"badge s-{cls}\">{}</span><span class=\"sub\">{}{} · RTO {} · \
                     {} finding(s)</span>",
                    esc(&d.result),
                    if d.live { "live · " } else { "" },
                    time_tag(&d.started_at),
                    d.rto_seconds.map_or_else(|| "–".into(), secs),
                    d.findings
                )
            }
            None => "<span class=\"muted\">never</span>".into(),
        };
        let notes = match (&c.notify_error, c.notify_pending) {
            (_, 0) => "<span class=\"muted\">all delivered</span>".to_string(),
            (Some(e), n) => format!(
                "<span class=\"warn-text\">{n} pending</span><span class=\"sub\">{}</span>",
                esc(e)
            ),
            (None, n) => format!("{n} pending"),
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"name\">{}</td><td>{step}</td><td>{applied}</td><td>{visible}</td>\
             <td>{worst}</td><td>{target}</td><td>{drill}</td><td>{notes}</td></tr>",
            esc(&c.name)
        );
    }
    out.push_str("</tbody></table>\n");
}
