//! The diff engine and plans: existing vs desired record sets -> an ordered list of changes,
//! checked against capabilities and safety thresholds, with a checksum a reviewer can pin.
//!
//! Plans are values: computing one changes nothing. The application decides whether to apply.
//!
//! # Order of changes
//!
//! [`diff`] returns deletes first, then updates, then creates; within each group, record sets
//! in canonical key order (names in DNSSEC canonical order, the SOA before every other type at
//! a name, then by type number, then by set identifier; the same order as [`Zone::new`]).
//!
//! This order is safe for a provider that checks RFC 1034 CNAME exclusivity (a CNAME may not
//! share its name with other data) after every single change:
//! - an update never changes which types exist at a name (the type is part of the key);
//! - after all deletes, what is left at a name is only what both zones have there, a subset of
//!   the desired zone;
//! - every create then only adds a set of the desired zone.
//!
//! So every intermediate state at a name is a subset of the existing zone (while deleting) or
//! of the desired zone (while updating and creating): when neither has a CNAME beside other
//! data at that name, no step does. "A at www replaced by a CNAME" is `Delete A`, then
//! `Create CNAME`; the reverse is `Delete CNAME`, then `Create A`; a weighted pair of CNAMEs
//! (two set identifiers) replaced by a weighted pair of A sets deletes both CNAME sets before
//! the first A set is created. [`Plan::record_changes`] keeps this order for providers whose
//! unit is one record.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    Capabilities, Change, Name, ProviderError, RType, RecordSet, RecordSetKey, RecordValue, Zone,
};

// ---------------------------------------------------------------------------------------------
// Selectors and options
// ---------------------------------------------------------------------------------------------

/// Which record sets a diff may touch: `NAME` (every type at the name) or `NAME/TYPE` (one
/// type at the name, any set identifier).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Selector {
    pub name: Name,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub rtype: Option<RType>,
}

impl Selector {
    /// Every type at `name`.
    pub fn name(name: Name) -> Selector {
        Selector { name, rtype: None }
    }

    /// One type at `name`.
    pub fn name_type(name: Name, rtype: RType) -> Selector {
        Selector {
            name,
            rtype: Some(rtype),
        }
    }

    /// Whether the record set with this key is selected.
    pub fn matches(&self, key: &RecordSetKey) -> bool {
        self.matches_parts(&key.name, key.rtype)
    }

    fn matches_parts(&self, name: &Name, rtype: RType) -> bool {
        *name == self.name && self.rtype.is_none_or(|t| t == rtype)
    }
}

/// Why a selector could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad selector {input:?}: {reason} (expected NAME or NAME/TYPE, e.g. www.example.com./A)")]
pub struct SelectorError {
    pub input: String,
    pub reason: String,
}

impl std::str::FromStr for Selector {
    type Err = SelectorError;

    /// `NAME` or `NAME/TYPE`. The name is absolute, with or without the trailing dot; the type
    /// is a mnemonic (any case) or `TYPEnnn`. A `/` inside a name must be written `\047`.
    fn from_str(s: &str) -> Result<Selector, SelectorError> {
        let fail = |reason: String| SelectorError {
            input: s.to_string(),
            reason,
        };
        let text = s.trim();
        let (name_text, rtype) = match text.rsplit_once('/') {
            Some((name, ty)) => {
                let ty = ty.trim();
                if ty.is_empty() {
                    return Err(fail("the type after '/' is missing".into()));
                }
                let rtype =
                    RType::parse(ty).ok_or_else(|| fail(format!("unknown record type {ty:?}")))?;
                if rtype.is_meta() {
                    return Err(fail(format!(
                        "{rtype} is a query type, not a record type held in a zone"
                    )));
                }
                (name.trim(), Some(rtype))
            }
            None => (text, None),
        };
        if name_text.is_empty() {
            return Err(fail("the name is missing".into()));
        }
        if name_text == "@" {
            return Err(fail("write the zone's name instead of @".into()));
        }
        let name: Name = name_text.parse().map_err(|e| fail(format!("{e}")))?;
        Ok(Selector { name, rtype })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rtype {
            Some(t) => write!(f, "{}/{}", self.name, t),
            None => write!(f, "{}", self.name),
        }
    }
}

/// How to diff.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Empty: the whole zone. Otherwise only record sets matching one of these.
    pub only: Vec<Selector>,
    /// The provider owns the SOA serial (the built-in server bumps it on every change): an SOA
    /// that differs only in its serial is not a change.
    pub provider_manages_soa_serial: bool,
}

impl DiffOptions {
    fn selects(&self, rs: &RecordSet) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|s| s.matches_parts(&rs.name, rs.rtype))
    }
}

// ---------------------------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------------------------

/// A plan: the changes that make a provider's zone equal to the desired one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub provider: String,
    pub zone: Name,
    pub changes: Vec<Change>,
    /// Record sets in the existing zone (the base for the change percentage).
    pub existing_record_sets: usize,
    /// The existing zone held nothing but its apex SOA and NS sets (or nothing at all): a first
    /// import, which the change percentage never refuses.
    #[serde(default)]
    pub first_import: bool,
}

/// Why a plan was refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("provider {provider} cannot carry out this plan: {what}: {reason}")]
    Unsupported {
        provider: String,
        what: String,
        reason: String,
    },
    #[error("safety threshold: {0} (use --force to apply anyway)")]
    Safety(String),
    #[error("the plan changed since it was reviewed: checksum {actual}, expected {expected}")]
    ChecksumMismatch { expected: String, actual: String },
}

/// Safety thresholds (DESIGN.md "Safety").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Safety {
    /// Refuse a plan that changes more than this share of the zone's record sets.
    pub max_change_percent: u32,
}

impl Default for Safety {
    fn default() -> Safety {
        Safety {
            max_change_percent: 30,
        }
    }
}

impl Change {
    /// The key of the record set this change touches.
    pub fn key(&self) -> RecordSetKey {
        self.record_set().key()
    }

    /// The set as it is after the change (`before` for a delete).
    pub fn record_set(&self) -> &RecordSet {
        match self {
            Change::Create { after } | Change::Update { after, .. } => after,
            Change::Delete { before } => before,
        }
    }

    /// The set before the change (`None` for a create).
    pub fn before(&self) -> Option<&RecordSet> {
        match self {
            Change::Update { before, .. } | Change::Delete { before } => Some(before),
            Change::Create { .. } => None,
        }
    }

    /// The set after the change (`None` for a delete).
    pub fn after(&self) -> Option<&RecordSet> {
        match self {
            Change::Create { after } | Change::Update { after, .. } => Some(after),
            Change::Delete { .. } => None,
        }
    }

    /// `"create"`, `"update"` or `"delete"` (as in the JSON form).
    pub fn op(&self) -> &'static str {
        match self {
            Change::Create { .. } => "create",
            Change::Update { .. } => "update",
            Change::Delete { .. } => "delete",
        }
    }
}

/// The order key of a record set: canonical name order, SOA first at a name, then type
/// number, then set identifier (the order of [`Zone::new`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct OrderKey {
    name: CanonName,
    rank: u32,
    set_identifier: Option<String>,
}

fn order_key(rs: &RecordSet) -> OrderKey {
    OrderKey {
        name: CanonName::of(&rs.name),
        rank: type_rank(rs.rtype),
        set_identifier: rs.set_identifier.clone(),
    }
}

/// A name in DNSSEC canonical order (as `Name`'s `Ord`) as a plain slice comparison, computed
/// once: labels from the right, each octet as `octet + 1`, a 0 after each label (so a label
/// sorts before the labels it is a prefix of, and a name before the names below it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CanonName(Box<[u16]>);

impl CanonName {
    fn of(name: &Name) -> CanonName {
        let labels: Vec<&[u8]> = name.labels().collect();
        let mut v = Vec::with_capacity(name.wire().len());
        for label in labels.iter().rev() {
            v.extend(label.iter().map(|&b| b as u16 + 1));
            v.push(0);
        }
        CanonName(v.into())
    }
}

fn type_rank(t: RType) -> u32 {
    if t == RType::SOA { 0 } else { t.0 as u32 + 1 }
}

/// Record sets by key, normalized (borrowed when they already are). Two sets with the same key
/// (a malformed input) are merged: the values are joined, the first set's TTL and other
/// fields win.
fn index<'a>(sets: impl Iterator<Item = &'a RecordSet>) -> BTreeMap<OrderKey, Cow<'a, RecordSet>> {
    let mut out: BTreeMap<OrderKey, Cow<'a, RecordSet>> = BTreeMap::new();
    for rs in sets {
        match out.entry(order_key(rs)) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(norm(rs));
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let e = o.get_mut().to_mut();
                e.values.extend(rs.values.iter().cloned());
                e.normalize();
            }
        }
    }
    out
}

/// The order of [`RecordSet::normalize`].
fn value_cmp(a: &RecordValue, b: &RecordValue) -> Ordering {
    a.data.cmp(&b.data).then_with(|| {
        if a.fields.is_empty() && b.fields.is_empty() {
            Ordering::Equal
        } else {
            let key = |v: &RecordValue| {
                if v.fields.is_empty() {
                    String::new()
                } else {
                    serde_json::to_string(&v.fields).unwrap_or_default()
                }
            };
            key(a).cmp(&key(b))
        }
    })
}

fn is_normalized(rs: &RecordSet) -> bool {
    rs.values
        .windows(2)
        .all(|w| value_cmp(&w[0], &w[1]) == Ordering::Less)
}

/// `rs` normalized, without a copy when it already is.
fn norm(rs: &RecordSet) -> Cow<'_, RecordSet> {
    if is_normalized(rs) {
        Cow::Borrowed(rs)
    } else {
        let mut rs = rs.clone();
        rs.normalize();
        Cow::Owned(rs)
    }
}

/// The SOA RDATA with its serial (third field) replaced by `serial`; `None` when it does not
/// look like an SOA in presentation form.
fn soa_with_serial(data: &str, serial: &str) -> Option<String> {
    let fields: Vec<&str> = data.split_ascii_whitespace().collect();
    if fields.len() != 7 {
        return None;
    }
    let mut out = String::with_capacity(data.len());
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(if i == 2 { serial } else { f });
    }
    Some(out)
}

fn soa_serial(data: &str) -> Option<&str> {
    let mut it = data.split_ascii_whitespace();
    let serial = it.nth(2)?;
    (it.count() == 4).then_some(serial)
}

/// An SOA set with every serial masked out (for comparisons that ignore it).
fn mask_soa_serial(rs: &RecordSet) -> RecordSet {
    let mut out = rs.clone();
    for v in &mut out.values {
        if let Some(masked) = soa_with_serial(&v.data, "0") {
            v.data = masked;
        }
    }
    out.normalize();
    out
}

fn same(existing: &RecordSet, desired: &RecordSet, opts: &DiffOptions) -> bool {
    if existing == desired {
        return true;
    }
    opts.provider_manages_soa_serial
        && existing.rtype == RType::SOA
        && mask_soa_serial(existing) == mask_soa_serial(desired)
}

/// The `after` of an update: the desired set, except that an SOA keeps the existing serial when
/// the provider owns it (the provider bumps it when it applies the change).
fn update_after(existing: &RecordSet, desired: &RecordSet, opts: &DiffOptions) -> RecordSet {
    let mut after = desired.clone();
    if opts.provider_manages_soa_serial && after.rtype == RType::SOA {
        if let Some(serial) = existing.values.first().and_then(|v| soa_serial(&v.data)) {
            for v in &mut after.values {
                if let Some(kept) = soa_with_serial(&v.data, serial) {
                    v.data = kept;
                }
            }
            after.normalize();
        }
    }
    after
}

/// Existing vs desired -> changes, in a stable order (see the module documentation).
///
/// Record sets are keyed by `(name, type, set_identifier)`. A set present on both sides and
/// different in anything (TTL, values as a set, weight, per-value fields, set-level fields) is
/// an update; one only in `existing` a delete; one only in `desired` a create.
pub fn diff(existing: &Zone, desired: &Zone, opts: &DiffOptions) -> Vec<Change> {
    let ex = index(existing.record_sets.iter().filter(|rs| opts.selects(rs)));
    let de = index(desired.record_sets.iter().filter(|rs| opts.selects(rs)));
    let mut deletes = Vec::new();
    let mut updates = Vec::new();
    for (k, e) in &ex {
        match de.get(k) {
            None => deletes.push(Change::Delete {
                before: e.clone().into_owned(),
            }),
            Some(d) if !same(e, d, opts) => updates.push(Change::Update {
                before: e.clone().into_owned(),
                after: update_after(e, d, opts),
            }),
            Some(_) => {}
        }
    }
    let creates = de
        .iter()
        .filter(|(k, _)| !ex.contains_key(k))
        .map(|(_, d)| Change::Create {
            after: d.clone().into_owned(),
        });
    // BTreeMap iteration already gives canonical key order inside each group.
    let mut out = deletes;
    out.extend(updates);
    out.extend(creates);
    out
}

/// Diff and check the result against the provider's capabilities: every created or updated set
/// must be one the provider can hold, and lie inside the zone. Nothing is sent.
pub fn plan(
    provider: &str,
    caps: &Capabilities,
    existing: &Zone,
    desired: &Zone,
    opts: &DiffOptions,
) -> Result<Plan, PlanError> {
    let changes = diff(existing, desired, opts);
    let origin = &existing.origin;
    for c in &changes {
        let Some(after) = c.after() else { continue };
        if !after.name.is_subdomain_of(origin) {
            return Err(PlanError::Unsupported {
                provider: provider.to_string(),
                what: format!("record set {}", after.key()),
                reason: format!("the name is outside the zone {origin}"),
            });
        }
        caps.check(after)
            .map_err(|e| unsupported(provider, &after.key(), e))?;
    }
    let first_import = existing
        .record_sets
        .iter()
        .all(|rs| rs.name == *origin && matches!(rs.rtype, RType::SOA | RType::NS));
    Ok(Plan {
        provider: provider.to_string(),
        zone: origin.clone(),
        changes,
        existing_record_sets: existing.record_sets.len(),
        first_import,
    })
}

fn unsupported(provider: &str, key: &RecordSetKey, e: ProviderError) -> PlanError {
    match e {
        ProviderError::Unsupported { what, reason } => PlanError::Unsupported {
            provider: provider.to_string(),
            what,
            reason,
        },
        other => PlanError::Unsupported {
            provider: provider.to_string(),
            what: format!("record set {key}"),
            reason: other.to_string(),
        },
    }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// `(creates, updates, deletes)`.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut n = (0, 0, 0);
        for c in &self.changes {
            match c {
                Change::Create { .. } => n.0 += 1,
                Change::Update { .. } => n.1 += 1,
                Change::Delete { .. } => n.2 += 1,
            }
        }
        n
    }

    /// A stable hex digest (16 hex digits, the first 64 bits of a SHA-256) of what the plan
    /// does: provider, zone and changes. It depends only on content: values are compared as
    /// sets and object keys are sorted, so the same plan always gives the same checksum.
    pub fn checksum(&self) -> String {
        let mut feed = Feed(Sha256::new());
        feed.bytes(b"switchback-plan-v1");
        feed.bytes(self.provider.as_bytes());
        feed.bytes(self.zone.wire());
        feed.u64(self.changes.len() as u64);
        for c in &self.changes {
            feed.bytes(c.op().as_bytes());
            if let Some(before) = c.before() {
                feed.set(&norm(before));
            }
            if let Some(after) = c.after() {
                feed.set(&norm(after));
            }
        }
        let digest = feed.0.finalize();
        let mut hex = String::with_capacity(16);
        for b in &digest[..8] {
            hex.push_str(&format!("{b:02x}"));
        }
        hex
    }

    /// Refuse when the plan's checksum is not `expected` (compared without regard to case or
    /// surrounding white space): the plan changed since it was reviewed.
    pub fn verify_checksum(&self, expected: &str) -> Result<(), PlanError> {
        let actual = self.checksum();
        if expected.trim().eq_ignore_ascii_case(&actual) {
            Ok(())
        } else {
            Err(PlanError::ChecksumMismatch {
                expected: expected.trim().to_string(),
                actual,
            })
        }
    }

    /// Refuse when the plan crosses a threshold: it changes (creates + updates + deletes) more
    /// than `max_change_percent` of the existing record sets (never for a first import into an
    /// empty zone), or it deletes the apex SOA or apex NS set (updating them is fine).
    pub fn check_safety(&self, safety: &Safety) -> Result<(), PlanError> {
        for c in &self.changes {
            if let Change::Delete { before } = c {
                if before.name == self.zone && matches!(before.rtype, RType::SOA | RType::NS) {
                    return Err(PlanError::Safety(format!(
                        "would delete the apex {} set of {} ({})",
                        before.rtype,
                        self.zone,
                        before.key()
                    )));
                }
            }
        }
        let changed = self.changes.len() as u64;
        let base = self.existing_record_sets as u64;
        let max = safety.max_change_percent as u64;
        if base > 0 && !self.first_import && changed * 100 > max * base {
            let whole = changed * 100 / base;
            let shown = if whole > max {
                format!("{whole}%")
            } else {
                // Just above the limit: show a decimal so the numbers visibly disagree.
                format!("{:.1}%", changed as f64 * 100.0 / base as f64)
            };
            return Err(PlanError::Safety(format!(
                "would change {changed} of {base} record sets ({shown}), more than \
                 max_change_percent = {max}"
            )));
        }
        Ok(())
    }

    /// The plan for a provider whose unit is one record (e.g. Cloudflare): every change as
    /// record-level changes, in plan order. Each record is a [`RecordSet`] holding exactly one
    /// value (with the set's name, type, set identifier, TTL, weight and set-level fields).
    ///
    /// A create adds every value; a delete removes every value; an update pairs the values of
    /// both sides by their RDATA: a value only before is removed, a value only after is added,
    /// a value on both sides is kept when nothing about its record changed (neither its own
    /// fields nor the set's TTL, weight or fields), else updated. Within an update, removes
    /// come first, then updates, keeps and adds.
    pub fn record_changes(&self) -> Vec<RecordChange> {
        let mut out = Vec::new();
        for c in &self.changes {
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
}

/// The checksum's input: every field length-prefixed, so that no two plans feed the same
/// octets; JSON objects in provider fields with their keys sorted.
struct Feed(Sha256);

impl Feed {
    fn u64(&mut self, n: u64) {
        self.0.update(n.to_be_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.update(b);
    }

    fn opt_u64(&mut self, n: Option<u64>) {
        match n {
            None => self.0.update([0u8]),
            Some(n) => {
                self.0.update([1u8]);
                self.u64(n);
            }
        }
    }

    fn fields(&mut self, f: &crate::Fields) {
        if f.is_empty() {
            self.bytes(b"");
        } else {
            let mut text = String::new();
            canonical_json(
                &serde_json::Value::Object(f.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
                &mut text,
            );
            self.bytes(text.as_bytes());
        }
    }

    fn set(&mut self, rs: &RecordSet) {
        self.bytes(rs.name.wire());
        self.u64(rs.rtype.0 as u64);
        match &rs.set_identifier {
            None => self.0.update([0u8]),
            Some(id) => {
                self.0.update([1u8]);
                self.bytes(id.as_bytes());
            }
        }
        self.u64(rs.ttl as u64);
        self.opt_u64(rs.weight.map(u64::from));
        self.u64(rs.values.len() as u64);
        for v in &rs.values {
            self.bytes(v.data.as_bytes());
            self.fields(&v.fields);
        }
        self.fields(&rs.fields);
    }
}

/// JSON with object keys sorted at every level, no white space.
fn canonical_json(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Record-level view
// ---------------------------------------------------------------------------------------------

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

fn one(rs: &RecordSet, value: &RecordValue) -> RecordSet {
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

fn records(rs: &RecordSet) -> Vec<RecordSet> {
    let rs = norm(rs);
    rs.values.iter().map(|v| one(&rs, v)).collect()
}

fn update_records(before: &RecordSet, after: &RecordSet, out: &mut Vec<RecordChange>) {
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

// ---------------------------------------------------------------------------------------------
// Applying changes to a zone value
// ---------------------------------------------------------------------------------------------

/// Why [`apply_changes`] refused a change set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("change {index} ({op} {key}): {reason}")]
pub struct ApplyError {
    /// Position of the refused change in the change set (from 0).
    pub index: usize,
    pub op: &'static str,
    pub key: RecordSetKey,
    pub reason: String,
}

/// Apply a change set to a zone value, all or nothing: a create needs the key to be absent; an
/// update or a delete needs the live set to equal its `before` exactly (values as a set). On
/// error `zone` is left as it was. The result is in canonical order ([`Zone::new`]).
///
/// This is the reference semantics of [`crate::Provider::apply`] (used by the test kit and
/// usable by providers that hold zones as values). It checks no CNAME rule: see
/// [`cname_conflicts`].
pub fn apply_changes(zone: &mut Zone, changes: &[Change]) -> Result<(), ApplyError> {
    let mut sets = owned_index(zone);
    for (i, c) in changes.iter().enumerate() {
        apply_one(&mut sets, c).map_err(|reason| ApplyError {
            index: i,
            op: c.op(),
            key: c.key(),
            reason,
        })?;
    }
    zone.record_sets = sets.into_values().collect();
    Ok(())
}

/// Apply changes one at a time, calling `check` after each with the record sets now at the
/// changed name (for providers that validate every step, e.g. RFC 1034 CNAME exclusivity with
/// [`cname_conflict`], and for tests of the order of changes). All or nothing.
pub fn apply_changes_stepwise(
    zone: &mut Zone,
    changes: &[Change],
    mut check: impl FnMut(usize, &Change, &[RecordSet]) -> Result<(), String>,
) -> Result<(), ApplyError> {
    let mut sets = owned_index(zone);
    for (i, c) in changes.iter().enumerate() {
        let err = |reason| ApplyError {
            index: i,
            op: c.op(),
            key: c.key(),
            reason,
        };
        apply_one(&mut sets, c).map_err(err)?;
        let name = CanonName::of(&c.record_set().name);
        let start = OrderKey {
            name: name.clone(),
            rank: 0,
            set_identifier: None,
        };
        let here: Vec<RecordSet> = sets
            .range(start..)
            .take_while(|(k, _)| k.name == name)
            .map(|(_, rs)| rs.clone())
            .collect();
        check(i, c, &here).map_err(err)?;
    }
    zone.record_sets = sets.into_values().collect();
    Ok(())
}

fn owned_index(zone: &Zone) -> BTreeMap<OrderKey, RecordSet> {
    index(zone.record_sets.iter())
        .into_iter()
        .map(|(k, v)| (k, v.into_owned()))
        .collect()
}

fn apply_one(sets: &mut BTreeMap<OrderKey, RecordSet>, c: &Change) -> Result<(), String> {
    match c {
        Change::Create { after } => {
            let k = order_key(after);
            if sets.contains_key(&k) {
                return Err("the record set already exists".into());
            }
            sets.insert(k, norm(after).into_owned());
        }
        Change::Update { before, after } => {
            if order_key(before) != order_key(after) {
                return Err(format!(
                    "before and after are different record sets ({} vs {})",
                    before.key(),
                    after.key()
                ));
            }
            check_before(sets, before)?;
            sets.insert(order_key(after), norm(after).into_owned());
        }
        Change::Delete { before } => {
            check_before(sets, before)?;
            sets.remove(&order_key(before));
        }
    }
    Ok(())
}

fn check_before(sets: &BTreeMap<OrderKey, RecordSet>, before: &RecordSet) -> Result<(), String> {
    match sets.get(&order_key(before)) {
        None => Err("the record set does not exist".into()),
        Some(live) if *live != *norm(before) => Err(format!(
            "the live record set differs from the plan's `before` (live: {})",
            serde_json::to_string(live).unwrap_or_default()
        )),
        Some(_) => Ok(()),
    }
}

/// Names where a CNAME shares its name with other data (RFC 1034 §3.6.2; RRSIG and NSEC may
/// accompany a CNAME, RFC 4035 §2.5). Several CNAME sets with different set identifiers
/// (a weighted pair) are not a conflict.
pub fn cname_conflicts(zone: &Zone) -> Vec<Name> {
    let mut by_name: BTreeMap<&Name, (bool, bool)> = BTreeMap::new();
    for rs in &zone.record_sets {
        let e = by_name.entry(&rs.name).or_default();
        if rs.rtype == RType::CNAME {
            e.0 = true;
        } else if !matches!(rs.rtype, RType::RRSIG | RType::NSEC) {
            e.1 = true;
        }
    }
    by_name
        .into_iter()
        .filter(|(_, (cname, other))| *cname && *other)
        .map(|(n, _)| n.clone())
        .collect()
}

/// Whether these record sets (all at one name) hold a CNAME beside other data (see
/// [`cname_conflicts`]).
pub fn cname_conflict(sets_at_one_name: &[RecordSet]) -> bool {
    let cname = sets_at_one_name.iter().any(|rs| rs.rtype == RType::CNAME);
    cname
        && sets_at_one_name
            .iter()
            .any(|rs| !matches!(rs.rtype, RType::CNAME | RType::RRSIG | RType::NSEC))
}

/// Two zones equal except for SOA serials (a provider that owns the serial bumps it).
pub fn equal_ignoring_soa_serial(a: &Zone, b: &Zone) -> bool {
    let opts = DiffOptions {
        only: Vec::new(),
        provider_manages_soa_serial: true,
    };
    a.origin == b.origin && diff(a, b, &opts).is_empty()
}

#[cfg(test)]
mod tests;
