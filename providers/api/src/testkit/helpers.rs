//! What the battery items share: building sets, planning, converging, restoring.

use super::*;

/// Options for every diff of the battery: the provider may own the SOA serial (the battery
/// never changes the SOA, so this only hides serial bumps).
pub(super) fn opts() -> DiffOptions {
    DiffOptions {
        only: Vec::new(),
        provider_manages_soa_serial: true,
    }
}

pub(super) fn rel(zone: &Name, label: &str) -> Name {
    Name::parse(label, Some(zone)).expect("battery names are valid")
}

pub(super) fn set(zone: &Name, label: &str, t: RType, ttl: u32, values: &[&str]) -> RecordSet {
    RecordSet::new(
        rel(zone, label),
        t,
        ttl,
        values.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
    )
}

/// A TTL the provider accepts, close to `want`.
pub(super) fn ttl(caps: &Capabilities, want: u32) -> u32 {
    want.max(caps.min_ttl)
}

pub(super) fn supports(caps: &Capabilities, t: RType) -> bool {
    caps.record_types.contains(&t)
}

pub(super) fn require(caps: &Capabilities, t: RType) -> Result<(), String> {
    if supports(caps, t) {
        Ok(())
    } else {
        Err(format!(
            "the provider's capabilities do not list {t}; the battery needs it"
        ))
    }
}

pub(super) fn skip(item: &str, why: &str) -> Result<(), String> {
    eprintln!("conformance battery: {item}: skipped ({why})");
    Ok(())
}

/// `zone` with the sets of `add` added (replacing sets with the same key) and the sets whose
/// key is in `remove` removed.
pub(super) fn edit(zone: &Zone, add: &[RecordSet], remove: &[&RecordSet]) -> Zone {
    let mut sets: Vec<RecordSet> = zone
        .record_sets
        .iter()
        .filter(|rs| {
            !add.iter().any(|a| a.key() == rs.key()) && !remove.iter().any(|r| r.key() == rs.key())
        })
        .cloned()
        .collect();
    sets.extend(add.iter().cloned());
    Zone::new(zone.origin.clone(), sets)
}

pub(super) fn describe(changes: &[Change]) -> String {
    let mut out = String::new();
    for (i, c) in changes.iter().enumerate() {
        if i == 12 {
            out.push_str(&format!("\n  … and {} more", changes.len() - i));
            break;
        }
        out.push_str(&format!("\n  {} {}", c.op(), c.key()));
        match c {
            Change::Create { after } => out.push_str(&format!(" = {}", show(after))),
            Change::Update { before, after } => {
                out.push_str(&format!(": {} -> {}", show(before), show(after)))
            }
            Change::Delete { before } => out.push_str(&format!(" (was {})", show(before))),
        }
    }
    out
}

pub(super) fn show(rs: &RecordSet) -> String {
    let mut text = serde_json::to_string(rs).unwrap_or_default();
    if text.len() > 300 {
        let mut cut = 300;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

pub(super) async fn read(p: &dyn Provider, zone: &Name, step: &str) -> Result<Zone, String> {
    p.read_zone(zone)
        .await
        .map_err(|e| format!("{step}: read_zone({zone}) failed: {e}"))
}

pub(super) fn make_plan(
    p: &dyn Provider,
    live: &Zone,
    desired: &Zone,
    step: &str,
) -> Result<Plan, String> {
    plan::plan(p.name(), p.capabilities(), live, desired, &opts())
        .map_err(|e| format!("{step}: the planner refused: {e}"))
}

/// Make the live zone equal to `desired` through one plan and one apply, then read it back
/// and check that a re-plan is empty. Returns the plan that was applied.
pub(super) async fn converge(
    p: &dyn Provider,
    zone: &Name,
    desired: &Zone,
    step: &str,
) -> Result<Plan, String> {
    let live = read(p, zone, step).await?;
    let plan = make_plan(p, &live, desired, step)?;
    if !plan.is_empty() {
        p.apply(zone, &plan.changes).await.map_err(|e| {
            format!(
                "{step}: apply failed: {e}\n the plan was:{}",
                describe(&plan.changes)
            )
        })?;
    }
    let after = read(p, zone, step).await?;
    let again = make_plan(p, &after, desired, step)?;
    if !again.is_empty() {
        return Err(format!(
            "{step}: after applying{}\n the live zone still differs from the desired one; a \
             re-plan gives:{}",
            describe(&plan.changes),
            describe(&again.changes)
        ));
    }
    Ok(plan)
}

pub(super) fn expect_counts(
    plan: &Plan,
    want: (usize, usize, usize),
    step: &str,
) -> Result<(), String> {
    if plan.counts() == want {
        Ok(())
    } else {
        Err(format!(
            "{step}: expected (creates, updates, deletes) = {want:?}, the plan has {:?}:{}",
            plan.counts(),
            describe(&plan.changes)
        ))
    }
}

/// Back to the zone as it was at the start of an item.
pub(super) async fn restore(
    p: &dyn Provider,
    zone: &Name,
    start: &Zone,
    step: &str,
) -> Result<(), String> {
    converge(p, zone, start, step).await.map(|_| ())
}
