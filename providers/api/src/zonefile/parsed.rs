//! The records of a zone file as read, packed: a record is 24 octets of offsets into two
//! shared buffers (owner names, RDATA text), not three allocations of its own. A
//! 100,000-record file took 13.6 MB as a list of owned records, and the model built from it
//! another 22 MB; packed, it takes about 6 MB, and the model's record sets can be made one at
//! a time from it ([`ParsedZone::sets`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::name::{cmp_wire, wire_len};
use crate::{Name, RType, RecordSet, Zone};

/// One record as read from a file (a copy: [`ParsedZone`] keeps its records packed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRecord {
    pub name: Name,
    pub rtype: RType,
    pub ttl: u32,
    /// RDATA in canonical presentation form.
    pub data: String,
    /// The file the record was read from (an `$INCLUDE`d file for records read there).
    pub file: Arc<Path>,
    /// The line where the record's entry starts.
    pub line: usize,
}

/// The records of a zone file, in file order (`$INCLUDE`d records where the directive is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedZone {
    /// The zone apex.
    pub origin: Name,
    /// The top-level file (zone-wide errors such as a missing SOA are reported against it).
    pub file: PathBuf,
    /// The files records were read from, each once.
    files: Vec<Arc<Path>>,
    /// Owner names in wire form, one copy for each run of records with the same owner.
    names: Vec<u8>,
    /// RDATA in canonical presentation form, back to back.
    text: String,
    records: Vec<Packed>,
}

/// A record: where its owner and RDATA are in the zone's buffers, and the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Packed {
    name: u32,
    data: u32,
    data_len: u32,
    pub(super) ttl: u32,
    line: u32,
    pub(super) rtype: RType,
    file: u16,
}

impl ParsedZone {
    pub(super) fn new(origin: Name, file: PathBuf) -> ParsedZone {
        ParsedZone {
            origin,
            file,
            files: Vec::new(),
            names: Vec::new(),
            text: String::new(),
            records: Vec::new(),
        }
    }

    /// Add a record read at `file:line`. Fails only when the zone is too big to pack (4 GiB
    /// of names or RDATA text, 65,536 files).
    pub(super) fn push(
        &mut self,
        owner: &Name,
        rtype: RType,
        ttl: u32,
        data: &str,
        file: &Path,
        line: usize,
    ) -> Result<(), String> {
        let too_big = || "the zone is too big to read (4 GiB of names or RDATA)".to_string();
        let name = match self.records.last() {
            Some(last) if self.name_wire(last) == owner.wire() => last.name,
            _ => {
                let at = u32::try_from(self.names.len()).map_err(|_| too_big())?;
                self.names.extend_from_slice(owner.wire());
                at
            }
        };
        // The file of the record before, nearly always; else one read before (the file an
        // `$INCLUDE` returns to), else a new one.
        let file = match self.records.last() {
            Some(last) if *self.files[usize::from(last.file)] == *file => usize::from(last.file),
            _ => match self.files.iter().rposition(|f| **f == *file) {
                Some(i) => i,
                None => {
                    self.files.push(Arc::from(file));
                    self.files.len() - 1
                }
            },
        };
        let file = u16::try_from(file).map_err(|_| "more than 65,536 files read".to_string())?;
        let at = u32::try_from(self.text.len()).map_err(|_| too_big())?;
        let data_len = u32::try_from(data.len()).map_err(|_| too_big())?;
        at.checked_add(data_len).ok_or_else(too_big)?;
        self.text.push_str(data);
        self.records.push(Packed {
            name,
            data: at,
            data_len,
            ttl,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            rtype,
            file,
        });
        Ok(())
    }

    /// Give back the buffers' spare room (they grew by doubling).
    pub(super) fn shrink(&mut self) {
        self.names.shrink_to_fit();
        self.text.shrink_to_fit();
        self.records.shrink_to_fit();
    }

    /// The number of records read.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Copies of the records, in file order.
    pub fn records(&self) -> Vec<ParsedRecord> {
        self.packed()
            .iter()
            .map(|r| ParsedRecord {
                name: Name::from_own_wire(self.name_wire(r)),
                rtype: r.rtype,
                ttl: r.ttl,
                data: self.data(r).to_string(),
                file: self.files[usize::from(r.file)].clone(),
                line: self.line(r),
            })
            .collect()
    }

    pub(super) fn packed(&self) -> &[Packed] {
        &self.records
    }

    pub(super) fn name_wire(&self, r: &Packed) -> &[u8] {
        let at = r.name as usize;
        &self.names[at..at + wire_len(&self.names[at..])]
    }

    pub(super) fn data(&self, r: &Packed) -> &str {
        let at = r.data as usize;
        &self.text[at..at + r.data_len as usize]
    }

    pub(super) fn file_of(&self, r: &Packed) -> &Path {
        &self.files[usize::from(r.file)]
    }

    pub(super) fn line(&self, r: &Packed) -> usize {
        r.line as usize
    }

    /// The record sets, one at a time in the model's order (canonical name order, SOA first at
    /// a name): one set per (name, type), with the TTL of its first record in the file
    /// (RFC 2181 §5.2) and its values sorted and without duplicates. The model's sets, without
    /// the model: `Zone::new(origin, sets().collect())` is [`ParsedZone::into_zone`].
    pub fn sets(&self) -> impl Iterator<Item = RecordSet> + '_ {
        let mut order: Vec<u32> = (0..self.records.len() as u32).collect();
        // Stable: a set's records stay in file order, so its first is the first read.
        order.sort_by(|&a, &b| {
            let (a, b) = (&self.records[a as usize], &self.records[b as usize]);
            cmp_wire(self.name_wire(a), self.name_wire(b))
                .then_with(|| type_order(a.rtype).cmp(&type_order(b.rtype)))
        });
        let mut at = 0;
        std::iter::from_fn(move || {
            let first = &self.records[*order.get(at)? as usize];
            let name = self.name_wire(first);
            let mut values = Vec::new();
            while let Some(&i) = order.get(at) {
                let r = &self.records[i as usize];
                if r.rtype != first.rtype || self.name_wire(r) != name {
                    break;
                }
                values.push(self.data(r).to_string());
                at += 1;
            }
            Some(RecordSet::new(
                Name::from_own_wire(name),
                first.rtype,
                first.ttl,
                values,
            ))
        })
    }

    /// The record model of these records (see [`ParsedZone::sets`]).
    pub fn into_zone(self) -> Zone {
        let sets = self.sets().collect();
        Zone::new(self.origin, sets)
    }
}

/// The order of types at a name in the model: SOA first, then by number.
fn type_order(t: RType) -> u32 {
    if t == RType::SOA {
        0
    } else {
        u32::from(t.0) + 1
    }
}
