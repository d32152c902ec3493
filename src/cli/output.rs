//! How commands talk to a person: plans as a coloured diff on a terminal (plain when piped),
//! confirmation prompts, progress spinners. `--json` output bypasses all of this.

use std::io::{BufRead, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use switchback_api::plan::Plan;
use switchback_api::{Change, RecordSet};

/// Colours only on a terminal, and never with `NO_COLOR` set.
pub fn colours() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
}

fn set_label(rs: &RecordSet) -> String {
    let mut s = format!("{} {}", rs.name, rs.rtype);
    if let Some(id) = &rs.set_identifier {
        s.push_str(&format!(" [{id}]"));
    }
    s
}

fn attrs(rs: &RecordSet) -> String {
    let mut s = format!("ttl {}", rs.ttl);
    if let Some(w) = rs.weight {
        s.push_str(&format!(" weight {w}"));
    }
    for (k, v) in &rs.fields {
        s.push_str(&format!(" {k}={v}"));
    }
    s
}

fn value_line(v: &switchback_api::RecordValue) -> String {
    if v.fields.is_empty() {
        v.data.clone()
    } else {
        let f: Vec<String> = v.fields.iter().map(|(k, x)| format!("{k}={x}")).collect();
        format!("{}  ({})", v.data, f.join(" "))
    }
}

/// The plan as a readable diff.
pub fn render_plan(plan: &Plan, colour: bool) -> String {
    let p = Paint(colour);
    let (c, u, d) = plan.counts();
    let mut out = format!(
        "{} {} {}: {} change{} ({c} create, {u} update, {d} delete) of {} record sets; checksum {}\n",
        p.bold("Plan for"),
        plan.provider,
        plan.zone,
        plan.changes.len(),
        if plan.changes.len() == 1 { "" } else { "s" },
        plan.existing_record_sets,
        plan.checksum()
    );
    let w = plan.writes;
    if w.batches > 1 || (w.operations > 0 && !w.atomic) {
        out.push_str(&p.yellow(&format!(
            "  written as {} operation{} in {} batch{}: {}\n",
            w.operations,
            if w.operations == 1 { "" } else { "s" },
            w.batches,
            if w.batches == 1 { "" } else { "es" },
            if w.batches > 1 {
                "not atomic: a failure part-way leaves the earlier batches applied (resume or rollback finishes it)"
            } else {
                "not atomic: the provider writes one operation at a time"
            }
        )));
    }
    for ch in &plan.changes {
        match ch {
            Change::Create { after } => {
                out.push_str(&p.green(&format!("+ {}  {}\n", set_label(after), attrs(after))));
                for v in &after.values {
                    out.push_str(&p.green(&format!("    + {}\n", value_line(v))));
                }
            }
            Change::Delete { before } => {
                out.push_str(&p.red(&format!("- {}  {}\n", set_label(before), attrs(before))));
                for v in &before.values {
                    out.push_str(&p.red(&format!("    - {}\n", value_line(v))));
                }
            }
            Change::Update { before, after } => {
                let (a, b) = (attrs(before), attrs(after));
                let head = if a == b { a } else { format!("{a} -> {b}") };
                out.push_str(&p.yellow(&format!("~ {}  {}\n", set_label(after), head)));
                for v in &before.values {
                    if !after.values.contains(v) {
                        out.push_str(&p.red(&format!("    - {}\n", value_line(v))));
                    }
                }
                for v in &after.values {
                    if before.values.contains(v) {
                        out.push_str(&format!("      {}\n", value_line(v)));
                    } else {
                        out.push_str(&p.green(&format!("    + {}\n", value_line(v))));
                    }
                }
            }
        }
    }
    out
}

/// Ask `question` at a terminal. `Ok(false)` for anything but y/yes; `Err` when there is no
/// terminal to ask at.
pub fn confirm(question: &str) -> Result<bool, ()> {
    if !std::io::stdin().is_terminal() {
        return Err(());
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return Ok(false);
    }
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// A spinner on stderr for long work; hidden with `--json` or when stderr is not a terminal.
pub fn spinner(json: bool, message: &str) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        pb.set_style(style);
    }
    pb.set_message(message.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

/// Print one JSON document and a newline, serialized straight into stdout (a big plan or
/// zone is never held as a second copy in a string).
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) {
    write_json(value, false);
}

/// [`print_json`], indented.
pub fn print_json_pretty<T: serde::Serialize + ?Sized>(value: &T) {
    write_json(value, true);
}

fn write_json<T: serde::Serialize + ?Sized>(value: &T, pretty: bool) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let written = if pretty {
        serde_json::to_writer_pretty(&mut out, value)
    } else {
        serde_json::to_writer(&mut out, value)
    };
    // Stdout closed early (a pipe into `head`) is not an error of the command.
    let _ = written
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
}

/// How long a CLI change on a provider that serves DNS itself waits to be served.
pub const SERVED_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// One line saying whether a change to `zone` is served (`None`: the provider serves no DNS
/// itself, nothing to say).
pub fn served_line(
    zone: &switchback_api::Name,
    s: &switchback_api::provider::Served,
) -> Option<String> {
    use switchback_api::provider::Served;
    match s {
        Served::NotApplicable => None,
        Served::NoServer => Some(format!(
            "{zone}: no serve is running on this state store; the change is stored and is served when serve starts"
        )),
        Served::Served { node, serial } => Some(format!(
            "{zone}: served by serve on {node} at serial {serial}"
        )),
        Served::Late { node, serial, want } => Some(format!(
            "{zone}: NOT served yet: serve on {node} still serves serial {serial} (the change is serial {want}) after {}s",
            SERVED_WAIT.as_secs()
        )),
    }
}

/// How a zone is printed: as a master file or as the record model's JSON.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Zone,
    Json,
}

/// A zone name given on the command line (a usage error, exit 2, when it does not parse).
pub fn parse_zone(zone: &str) -> Result<switchback_api::Name, super::CliError> {
    zone.parse()
        .map_err(|e| super::CliError::Usage(format!("zone {zone:?}: {e}")))
}

/// A step's measured RTO in one line: seconds from the trigger to each phase, and the worst
/// case against `rto_target`.
pub fn rto_line(r: &crate::planner::rto::Rto) -> String {
    let s = &r.seconds;
    let checked = r.checked;
    let visible = match s.visible {
        Some(v) => format!("visible {v:.3}s at {checked} server(s)"),
        None if checked > 0 => "NOT visible at every server".to_string(),
        None => format!(
            "visibility not checked ({})",
            r.servers
                .iter()
                .find_map(|x| x.error.as_deref())
                .unwrap_or("no authoritative server to ask")
        ),
    };
    let target = match (r.rto_target_seconds, r.met) {
        (Some(t), Some(true)) => format!(" (rto_target {t}s: met)"),
        (Some(t), _) => format!(" (rto_target {t}s: MISSED)"),
        _ => String::new(),
    };
    format!(
        "RTO from the {}: planned {:.3}s, applied {:.3}s, verified {:.3}s, {visible}; worst case for a client {:.3}s (old TTL {}s){target}",
        r.trigger.kind, s.plan, s.applied, s.verified, s.worst_case, r.old_ttl
    )
}
