//! The record-level view of a plan, for providers whose unit is one record.

use super::*;

/// One record-level change (see [`Plan::record_changes`]). Every [`RecordSet`] in it holds
/// exactly one value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum RecordChange {
    /// Create this record.
    Add { after: RecordSet },
    /// Delete this record.
    Remove { before: RecordSet },
    /// Change this record in place (same RDATA; its fields, the TTL, weight or set-level fields
    /// differ).
    Update { before: RecordSet, after: RecordSet },
    /// The record is part of an updated set but stays exactly as it is: nothing to send.
    Keep { record: RecordSet },
}

impl RecordChange {
    /// The record as it is after the change (`before` for a remove).
    pub fn record(&self) -> &RecordSet {
        match self {
            RecordChange::Add { after } | RecordChange::Update { after, .. } => after,
            RecordChange::Remove { before } => before,
            RecordChange::Keep { record } => record,
        }
    }
}

/// The record-level changes of `changes` (see [`Plan::record_changes`]): what a provider
/// whose [`crate::Granularity`] is one record sends.
pub fn record_changes(changes: &[Change]) -> Vec<RecordChange> {
    let mut out = Vec::new();
    for c in changes {
        match c {
            Change::Create { after } => {
                out.extend(
                    records(after)
                        .into_iter()
                        .map(|after| RecordChange::Add { after }),
                );
            }
            Change::Delete { before } => {
                out.extend(
                    records(before)
                        .into_iter()
                        .map(|before| RecordChange::Remove { before }),
                );
            }
            Change::Update { before, after } => update_records(before, after, &mut out),
        }
    }
    out
}

pub(super) fn one(rs: &RecordSet, value: &RecordValue) -> RecordSet {
    RecordSet {
        name: rs.name.clone(),
        rtype: rs.rtype,
        set_identifier: rs.set_identifier.clone(),
        ttl: rs.ttl,
        weight: rs.weight,
        values: vec![value.clone()],
        fields: rs.fields.clone(),
    }
}

pub(super) fn records(rs: &RecordSet) -> Vec<RecordSet> {
    let rs = norm(rs);
    rs.values.iter().map(|v| one(&rs, v)).collect()
}

pub(super) fn update_records(before: &RecordSet, after: &RecordSet, out: &mut Vec<RecordChange>) {
    let before = norm(before);
    let after = norm(after);
    let set_same =
        before.ttl == after.ttl && before.weight == after.weight && before.fields == after.fields;
    // Pair values by RDATA: exact matches first, then any value with the same RDATA.
    let mut unpaired: Vec<Option<&RecordValue>> = before.values.iter().map(Some).collect();
    let mut pairs: Vec<(Option<&RecordValue>, &RecordValue)> = Vec::new();
    let mut pending: Vec<&RecordValue> = Vec::new();
    for a in &after.values {
        match unpaired.iter_mut().find(|b| b.is_some_and(|b| b == a)) {
            Some(slot) => pairs.push((slot.take(), a)),
            None => pending.push(a),
        }
    }
    for a in pending {
        match unpaired
            .iter_mut()
            .find(|b| b.is_some_and(|b| b.data == a.data))
        {
            Some(slot) => pairs.push((slot.take(), a)),
            None => pairs.push((None, a)),
        }
    }
    for b in unpaired.into_iter().flatten() {
        out.push(RecordChange::Remove {
            before: one(&before, b),
        });
    }
    let mut adds = Vec::new();
    let mut rest = Vec::new();
    for (b, a) in pairs {
        match b {
            None => adds.push(RecordChange::Add {
                after: one(&after, a),
            }),
            Some(b) if set_same && b == a => rest.push(RecordChange::Keep {
                record: one(&after, a),
            }),
            Some(b) => rest.push(RecordChange::Update {
                before: one(&before, b),
                after: one(&after, a),
            }),
        }
    }
    // Updates before keeps, each in value order.
    rest.sort_by_key(|c| matches!(c, RecordChange::Keep { .. }));
    out.extend(rest);
    out.extend(adds);
}

/// How a provider will write a list of changes, decided by the planner from its capabilities
/// (shown with every plan; a plan that is not atomic says so before it is confirmed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Writes {
    /// Write operations: one per changed record set, or one per changed record for a
    /// provider whose [`crate::Granularity`] is the record (kept records are not written).
    pub operations: usize,
    /// Batches of at most the provider's `max_batch` operations (0 for an empty plan). A
    /// provider with further limits of its own (Route 53 counts values) may split more.
    pub batches: usize,
    /// Everything lands together or nothing does: the provider's batches are atomic and
    /// there is at most one.
    pub atomic: bool,
}

impl Capabilities {
    /// How this provider will write `changes` (see [`Writes`]).
    pub fn writes(&self, changes: &[Change]) -> Writes {
        let operations = match self.granularity {
            crate::Granularity::RecordSet => changes.len(),
            crate::Granularity::Record => record_changes(changes)
                .iter()
                .filter(|c| !matches!(c, RecordChange::Keep { .. }))
                .count(),
        };
        let batches = match self.max_batch {
            _ if operations == 0 => 0,
            Some(max) if max > 0 => operations.div_ceil(max),
            _ => 1,
        };
        Writes {
            operations,
            batches,
            atomic: batches <= 1 && matches!(self.atomic_batches, crate::Support::Yes),
        }
    }
}
