//! Zone changes as IXFR sees them: the records a serial change removed and added (RFC 1995),
//! computed from two compiled zones, kept in wire form for the transfer path and in
//! presentation form in the store. Also the SOA serial helpers and the zone digest.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::Arc;

use switchback_api::{Change, Name, RType, RecordSet, Zone, rdata, token};

use crate::store::{HistoryRow, JournalRecord};
use crate::wire::qtype::T_SOA;
use crate::zone::{CompileError, CompiledZone, FxMap, Node, Rdata, node_of};

/// One resource record in wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    /// Lower-case uncompressed owner name.
    pub owner: Box<[u8]>,
    pub rtype: u16,
    pub ttl: u32,
    pub rdata: Rdata,
}

/// One serial change: `removed` starts with the old SOA, `added` with the new one. A change
/// too big to keep ([`Delta::gap`]) has neither: IXFR across it is answered with the whole
/// zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub from: u32,
    pub to: u32,
    pub removed: Vec<Rr>,
    pub added: Vec<Rr>,
}

/// A zone's recent changes, oldest first, shared by every catalog that serves the zone.
pub type History = Arc<[Arc<Delta>]>;

/// An empty history.
pub fn empty() -> History {
    Arc::from(Vec::new())
}

/// `history` followed by `delta`, keeping the last `keep` (after a gap, nothing before it:
/// no IXFR can cross it).
pub fn appended(history: &History, delta: Arc<Delta>, keep: usize) -> History {
    let skip = if delta.is_gap() {
        history.len()
    } else {
        (history.len() + 1).saturating_sub(keep)
    };
    history
        .iter()
        .cloned()
        .chain(std::iter::once(delta))
        .skip(skip)
        .collect()
}

/// RFC 1982: is `a` after `b`?
pub fn serial_gt(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

fn rrs_of(node: Option<&Node>, rtype: u16) -> Option<crate::zone::RRset<'_>> {
    node.and_then(|n| n.get(rtype))
}

/// The apex SOA records of a node.
fn soa_rrs(apex: &[u8], node: &Node) -> Vec<Rr> {
    let Some(s) = node.get(T_SOA) else {
        return Vec::new();
    };
    s.rdatas
        .iter()
        .map(|rd| Rr {
            owner: apex.into(),
            rtype: T_SOA,
            ttl: s.ttl,
            rdata: rd.into(),
        })
        .collect()
}

/// The records that differ between `old` and `new` at the names given (every name when
/// `names` is `None`), with the SOA change in front.
pub fn diff(old: &CompiledZone, new: &CompiledZone, names: Option<&[Box<[u8]>]>) -> Delta {
    let apex = old.origin.wire();
    let mut removed = soa_rrs(apex, old.apex());
    let mut added = soa_rrs(apex, new.apex());
    let all: BTreeSet<&[u8]> = match names {
        Some(n) => n.iter().map(|b| &**b).collect(),
        None => old.nodes.keys().chain(new.nodes.keys()).collect(),
    };
    for name in all {
        let (o, n) = (old.nodes.get(name), new.nodes.get(name));
        diff_node(apex, name, o, n, &mut removed, &mut added);
    }
    Delta {
        from: old.serial,
        to: new.serial,
        removed,
        added,
    }
}

/// [`diff`] of two models at the names a change touched, without compiling either zone: each
/// name's old and new node is made from its sets alone ([`crate::zone::node_of`]), one name at a
/// time, in the order of [`diff`]. `old` holds the old sets at `names` (or more), `new` the new
/// zone's, in any order. The new sets are checked as a compile checks them.
pub fn model_diff(
    origin: &Name,
    old: &[RecordSet],
    new: &[RecordSet],
    names: &[Name],
    (from, to): (u32, u32),
) -> Result<Delta, CompileError> {
    let wanted: FxMap<&[u8], ()> = names.iter().map(|n| (n.wire(), ())).collect();
    let (old_runs, new_runs) = (runs(old, &wanted), runs(new, &wanted));
    let apex = origin.wire();
    let mut names: Vec<&Name> = names.iter().collect();
    // The order of `diff` (names as wire octets).
    names.sort_unstable_by(|a, b| a.wire().cmp(b.wire()));
    names.dedup();
    let (mut soa_removed, mut soa_added) = (Vec::new(), Vec::new());
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for name in names {
        let o = node_of(at(old, &old_runs, name), origin)?;
        let n = node_of(at(new, &new_runs, name), origin)?;
        if name.wire() == apex {
            soa_removed = soa_rrs(apex, &o);
            soa_added = soa_rrs(apex, &n);
        }
        diff_node(
            apex,
            name.wire(),
            Some(&o),
            Some(&n),
            &mut removed,
            &mut added,
        );
    }
    if soa_added.is_empty() {
        return Err(CompileError::NoSoa(origin.clone()));
    }
    soa_removed.append(&mut removed);
    soa_added.append(&mut added);
    Ok(Delta {
        from,
        to,
        removed: soa_removed,
        added: soa_added,
    })
}

/// Where each wanted name's sets are: the runs of adjacent sets with that name (one run in a
/// zone sorted by name).
type Runs<'a> = FxMap<&'a [u8], Vec<Range<usize>>>;

fn runs<'a>(sets: &'a [RecordSet], wanted: &FxMap<&[u8], ()>) -> Runs<'a> {
    let mut out = Runs::default();
    let mut start = 0;
    for (i, rs) in sets.iter().enumerate() {
        let name = rs.name.wire();
        if sets.get(i + 1).is_some_and(|next| next.name.wire() == name) {
            continue;
        }
        if wanted.contains_key(name) {
            out.entry(name).or_default().push(start..i + 1);
        }
        start = i + 1;
    }
    out
}

/// The sets of `name` in `sets`.
fn at<'s>(
    sets: &'s [RecordSet],
    runs: &'s Runs,
    name: &Name,
) -> impl Iterator<Item = &'s RecordSet> + use<'s> {
    runs.get(name.wire())
        .into_iter()
        .flatten()
        .flat_map(move |r| sets[r.clone()].iter())
}

/// The records of one name that differ (the apex SOA aside: [`diff`] puts it in front).
fn diff_node(
    apex: &[u8],
    name: &[u8],
    o: Option<&Node>,
    n: Option<&Node>,
    removed: &mut Vec<Rr>,
    added: &mut Vec<Rr>,
) {
    let mut types: Vec<u16> = o
        .iter()
        .chain(n.iter())
        .flat_map(|node| node.rrsets().map(|r| r.rtype))
        .collect();
    types.sort_unstable();
    types.dedup();
    for t in types {
        if t == T_SOA && name == apex {
            continue;
        }
        let (a, b) = (rrs_of(o, t), rrs_of(n, t));
        let same_ttl = matches!((a, b), (Some(a), Some(b)) if a.ttl == b.ttl);
        if let Some(a) = a {
            let start = removed.len();
            for rd in &a.rdatas {
                if !(same_ttl && b.is_some_and(|b| b.rdatas.iter().any(|x| x == rd))) {
                    push_unique(removed, start, name, t, a.ttl, rd);
                }
            }
        }
        if let Some(b) = b {
            let start = added.len();
            for rd in &b.rdatas {
                if !(same_ttl && a.is_some_and(|a| a.rdatas.iter().any(|x| x == rd))) {
                    push_unique(added, start, name, t, b.ttl, rd);
                }
            }
        }
    }
}

/// Push unless `list[start..]` (the records of this RRset so far) already has it.
fn push_unique(list: &mut Vec<Rr>, start: usize, owner: &[u8], rtype: u16, ttl: u32, rd: &[u8]) {
    if list[start..].iter().any(|r| *r.rdata == *rd) {
        return;
    }
    list.push(Rr {
        owner: owner.into(),
        rtype,
        ttl,
        rdata: rd.into(),
    });
}

fn to_record(rr: &Rr) -> Result<JournalRecord, String> {
    let name = Name::from_wire(&rr.owner).ok_or("bad owner name in a history record")?;
    let rtype = RType(rr.rtype);
    let data = rdata::format(rtype, &rr.rdata).map_err(|e| e.to_string())?;
    Ok(JournalRecord {
        name,
        rtype,
        ttl: rr.ttl,
        data,
    })
}

fn from_record(r: &JournalRecord, origin: &Name) -> Result<Rr, String> {
    let tokens = token::tokenize(&r.data)?;
    let wire = rdata::parse(r.rtype, &tokens, origin).map_err(|e| e.to_string())?;
    Ok(Rr {
        owner: r.name.wire().into(),
        rtype: r.rtype.0,
        ttl: r.ttl,
        rdata: wire.into_boxed_slice(),
    })
}

/// Whether a change is too big to keep as a delta: it removes and adds more records than the
/// zone holds after it (BIND's `max-ixfr-ratio` of 100 %), so an IXFR across it would be
/// bigger than the AXFR that RFC 1995 §4 lets a server answer with instead. Counted from the
/// change list and the zone before it (`live`) alone, without parsing a record: a value whose
/// text differs is one record removed and one added (an upper bound of what the wire form
/// differs by).
pub fn too_big_for_ixfr(changes: &[Change], live: &Zone) -> bool {
    let values = |rs: Option<&RecordSet>| rs.map_or(0, |rs| rs.values.len());
    let records = changes.iter().fold(
        live.record_sets
            .iter()
            .map(|rs| rs.values.len())
            .sum::<usize>(),
        |n, c| (n + values(c.after())).saturating_sub(values(c.before())),
    );
    let mut changed = 0usize;
    for c in changes {
        changed += match c {
            Change::Create { after } => after.values.len(),
            Change::Delete { before } => before.values.len(),
            Change::Update { before, after } if before.ttl != after.ttl => {
                before.values.len() + after.values.len()
            }
            Change::Update { before, after } => {
                let mut old: Vec<&str> = before.values.iter().map(|v| v.data.as_str()).collect();
                let mut new: Vec<&str> = after.values.iter().map(|v| v.data.as_str()).collect();
                old.sort_unstable();
                new.sort_unstable();
                let common = {
                    let (mut i, mut j, mut n) = (0, 0, 0);
                    while i < old.len() && j < new.len() {
                        match old[i].cmp(new[j]) {
                            std::cmp::Ordering::Less => i += 1,
                            std::cmp::Ordering::Greater => j += 1,
                            std::cmp::Ordering::Equal => (i, j, n) = (i + 1, j + 1, n + 1),
                        }
                    }
                    n
                };
                old.len() + new.len() - 2 * common
            }
        };
        if changed > records {
            return true;
        }
    }
    false
}

impl Delta {
    /// The mark of a change kept without its records ([`too_big_for_ixfr`]): a history that
    /// reaches back across it answers IXFR with the whole zone. Stored as a row with no
    /// records at all (every other delta holds the two SOAs).
    pub fn gap(from: u32, to: u32) -> Delta {
        Delta {
            from,
            to,
            removed: Vec::new(),
            added: Vec::new(),
        }
    }

    /// Whether this is a [`Delta::gap`].
    pub fn is_gap(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }

    /// The history row for this delta.
    pub fn to_row(&self) -> Result<HistoryRow, String> {
        Ok(HistoryRow {
            from_serial: self.from,
            to_serial: self.to,
            removed: self
                .removed
                .iter()
                .map(to_record)
                .collect::<Result<_, _>>()?,
            added: self.added.iter().map(to_record).collect::<Result<_, _>>()?,
            created_at: crate::store::unix_now(),
        })
    }

    /// Back from a history row.
    pub fn from_row(row: &HistoryRow, origin: &Name) -> Result<Delta, String> {
        Ok(Delta {
            from: row.from_serial,
            to: row.to_serial,
            removed: row
                .removed
                .iter()
                .map(|r| from_record(r, origin))
                .collect::<Result<_, _>>()?,
            added: row
                .added
                .iter()
                .map(|r| from_record(r, origin))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// The serial of a model's apex SOA.
pub fn zone_serial(zone: &Zone) -> Option<u32> {
    soa_serial(zone.soa()?)
}

/// The serial of an SOA set.
pub fn soa_serial(soa: &RecordSet) -> Option<u32> {
    soa_parts(&soa.values.first()?.data).map(|(_, serial, _)| serial)
}

/// The fields of an SOA value: (everything before the serial, serial, everything after).
fn soa_parts(data: &str) -> Option<(&str, u32, &str)> {
    // "MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM": the last five are plain numbers.
    let mut it = data.trim_end().rsplitn(6, ' ');
    let tail: Vec<&str> = (0..4).filter_map(|_| it.next()).collect();
    let serial = it.next()?;
    let head = it.next()?;
    if tail.len() != 4 {
        return None;
    }
    let serial_at = head.len() + 1;
    let rest = &data[serial_at + serial.len()..];
    Some((head, serial.parse().ok()?, rest))
}

/// The apex SOA serial of a model zone.
pub fn model_serial(zone: &Zone) -> Option<u32> {
    let v = zone.soa()?.values.first()?;
    soa_parts(&v.data).map(|(_, s, _)| s)
}

/// Set the apex SOA serial of a model zone (every value of the SOA set).
pub fn set_serial(zone: &mut Zone, serial: u32) -> Result<(), String> {
    let origin = zone.origin.clone();
    let soa = zone
        .record_sets
        .iter_mut()
        .find(|rs| rs.rtype == RType::SOA && rs.name == origin)
        .ok_or_else(|| format!("zone {origin} has no SOA record at its apex"))?;
    for v in &mut soa.values {
        let (head, _, rest) =
            soa_parts(&v.data).ok_or_else(|| format!("cannot read the SOA value {:?}", v.data))?;
        v.data = format!("{head} {serial}{rest}");
    }
    Ok(())
}

/// FNV-1a, 128 bits: a stable digest for change detection (not for security).
struct Fnv128(u128);

impl std::io::Write for Fnv128 {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013B;
        for &b in buf {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(PRIME);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A digest of a zone's content that ignores the SOA serial (which the provider manages).
pub fn model_digest(zone: &Zone) -> String {
    let mut d = ModelDigest::new(&zone.origin);
    zone.record_sets.iter().for_each(|rs| d.add(rs));
    d.finish()
}

/// [`model_digest`] taken one record set at a time, in the model's order (for sets made one
/// at a time, with no model).
pub struct ModelDigest<'a> {
    origin: &'a Name,
    h: Fnv128,
}

impl<'a> ModelDigest<'a> {
    pub fn new(origin: &'a Name) -> ModelDigest<'a> {
        let mut h = Fnv128(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d);
        let _ = serde_json::to_writer(&mut h, origin);
        ModelDigest { origin, h }
    }

    pub fn add(&mut self, rs: &RecordSet) {
        if rs.rtype == RType::SOA && rs.name == *self.origin {
            let mut rs = rs.clone();
            for v in &mut rs.values {
                if let Some((head, _, rest)) = soa_parts(&v.data) {
                    v.data = format!("{head} 0{rest}");
                }
            }
            let _ = serde_json::to_writer(&mut self.h, &rs);
        } else {
            let _ = serde_json::to_writer(&mut self.h, rs);
        }
    }

    pub fn finish(self) -> String {
        format!("fnv128:{:032x}", self.h.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_arithmetic() {
        assert!(serial_gt(2, 1));
        assert!(!serial_gt(1, 2));
        assert!(!serial_gt(5, 5));
        assert!(serial_gt(0, u32::MAX));
        assert!(serial_gt(10, 0xFFFF_FFF0));
    }

    #[test]
    fn soa_serial_is_rewritten_in_place() {
        let (h, s, r) = soa_parts("ns. host. 7 3600 600 86400 60").unwrap();
        assert_eq!((h, s, r), ("ns. host.", 7, " 3600 600 86400 60"));
        assert!(soa_parts("ns. host. x 1 2 3 4").is_none());
        assert!(soa_parts("1 2 3").is_none());
    }
}
