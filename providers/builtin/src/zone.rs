//! A zone compiled for answering: nodes keyed by lower-case wire name, RRsets in wire form,
//! each node with the precomputed responses that depend on it alone.
//!
//! The nodes live in copy-on-write shards ([`Nodes`]): a new version of a zone that changes k
//! names ([`CompiledZone::updated`]) copies the shards of those names only and shares the
//! rest with the version it came from.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use switchback_api::{Name, RType, RecordSet, Zone, rdata};

use crate::hash::FxHasher;
use crate::steer::{HEALTH_FIELD, HealthTable};

pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// One RDATA in uncompressed wire form (the names in it that may be compressed are found from
/// its type when it is written: [`switchback_api::rdata::compressible`]).
pub type Rdata = Box<[u8]>;

/// The RDATAs of an RRset in one allocation, each as its length (two octets, big-endian) and
/// its uncompressed wire form: a zone of 100,000 one-address names held two allocations per
/// RRset more, and their headers, before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rdatas(Box<[u8]>);

impl Rdatas {
    /// Packed from RDATAs in their order (each at most 65,535 octets, as RDLENGTH allows).
    pub fn new<'a>(rdatas: impl IntoIterator<Item = &'a [u8]>) -> Rdatas {
        let mut packed = Vec::new();
        for rd in rdatas {
            let len = u16::try_from(rd.len()).unwrap_or(u16::MAX);
            packed.extend_from_slice(&len.to_be_bytes());
            packed.extend_from_slice(&rd[..usize::from(len)]);
        }
        Rdatas(packed.into_boxed_slice())
    }

    pub fn iter(&self) -> RdataIter<'_> {
        RdataIter(&self.0)
    }

    pub fn first(&self) -> Option<&[u8]> {
        self.iter().next()
    }

    /// How many RDATAs.
    pub fn count(&self) -> usize {
        self.iter().count()
    }

    /// Octets held.
    pub fn size(&self) -> usize {
        self.0.len()
    }

    /// These followed by `more`.
    fn extended(&self, more: &Rdatas) -> Rdatas {
        let mut packed = Vec::with_capacity(self.0.len() + more.0.len());
        packed.extend_from_slice(&self.0);
        packed.extend_from_slice(&more.0);
        Rdatas(packed.into_boxed_slice())
    }
}

/// The RDATAs of an [`Rdatas`], in order.
#[derive(Debug, Clone)]
pub struct RdataIter<'a>(&'a [u8]);

impl<'a> Iterator for RdataIter<'a> {
    type Item = &'a [u8];
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let [a, b, rest @ ..] = self.0 else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([*a, *b])).min(rest.len());
        let (rd, rest) = rest.split_at(len);
        self.0 = rest;
        Some(rd)
    }
}

impl<'a> IntoIterator for &'a Rdatas {
    type Item = &'a [u8];
    type IntoIter = RdataIter<'a>;
    fn into_iter(self) -> RdataIter<'a> {
        self.iter()
    }
}

/// One RRset ready to be written.
#[derive(Debug, Clone)]
pub struct RRset {
    pub rtype: u16,
    pub ttl: u32,
    pub rdatas: Rdatas,
    /// A weighted variant (one of several sets of this type at the name, chosen per query).
    pub weight: Option<u32>,
    /// The health-table slot of its target's check, if it has one.
    pub health: Option<u16>,
}

/// A name in the zone (possibly an empty non-terminal).
#[derive(Debug, Default, Clone)]
pub struct Node {
    /// Sorted by type.
    pub rrsets: Vec<RRset>,
    /// An NS set below the apex: a zone cut.
    pub is_cut: bool,
    /// Nodes directly below this one (an empty non-terminal with none is gone).
    children: u32,
    /// Precomputed responses: per query type, `type (2) | length (2) | response`, the response
    /// being the full answer to an EDNS(0) query with id 0, RD/CD/DO clear, without its
    /// question name (the query's own is written in its place). Only answers that depend on
    /// this node alone are kept (see [`crate::answer`]).
    answers: Box<[u8]>,
}

impl Node {
    /// The RRset of this type (the first variant of a weighted one).
    pub fn get(&self, rtype: u16) -> Option<&RRset> {
        self.rrsets.iter().find(|r| r.rtype == rtype)
    }

    /// Every set of this type: one, or the weighted variants (adjacent: sorted by type).
    pub fn variants(&self, rtype: u16) -> &[RRset] {
        let Some(start) = self.rrsets.iter().position(|r| r.rtype == rtype) else {
            return &[];
        };
        let len = self.rrsets[start..]
            .iter()
            .take_while(|r| r.rtype == rtype)
            .count();
        &self.rrsets[start..start + len]
    }

    /// The precomputed response to `qtype` (header and the rest after the question name).
    #[inline]
    pub fn answer(&self, qtype: u16) -> Option<&[u8]> {
        let mut a = &self.answers[..];
        while a.len() >= 4 {
            let t = u16::from_be_bytes([a[0], a[1]]);
            let len = usize::from(u16::from_be_bytes([a[2], a[3]]));
            let (resp, rest) = a[4..].split_at(len.min(a.len() - 4));
            if t == qtype {
                return Some(resp);
            }
            a = rest;
        }
        None
    }

    /// Precomputed responses held (for tests and the memory profile).
    pub fn answer_count(&self) -> usize {
        let (mut a, mut n) = (&self.answers[..], 0);
        while a.len() >= 4 {
            let len = usize::from(u16::from_be_bytes([a[2], a[3]]));
            a = &a[(4 + len).min(a.len())..];
            n += 1;
        }
        n
    }

    fn is_empty(&self) -> bool {
        self.rrsets.is_empty()
    }

    /// Sort the sets (stable: weighted variants keep the model's order, by set identifier)
    /// and drop the vectors' spare room: a zone keeps what it holds, no more.
    fn finish(&mut self) {
        self.rrsets.sort_by_key(|r| r.rtype);
        self.rrsets.shrink_to_fit();
    }
}

type Shard = FxMap<Box<[u8]>, Node>;

/// A node's name and its precomputed answers, made before they are put in.
type NamedAnswers = (Box<[u8]>, Box<[u8]>);

/// A zone's nodes in copy-on-write shards, chosen by a hash of the name. The shard count is
/// set at a full compile (about [`PER_SHARD`] names each) and kept by the versions made from it.
#[derive(Debug, Clone)]
pub struct Nodes {
    shards: Box<[Arc<Shard>]>,
    /// log2 of the shard count.
    bits: u32,
    len: usize,
}

/// Names per shard aimed at: a change copies about this many nodes per name it touches.
const PER_SHARD: usize = 32;

impl Nodes {
    fn with_capacity(names: usize) -> Nodes {
        let shards = (names / PER_SHARD).max(1).next_power_of_two();
        let per = names / shards + 1;
        Nodes {
            shards: (0..shards)
                .map(|_| Arc::new(Shard::with_capacity_and_hasher(per, Default::default())))
                .collect(),
            bits: shards.trailing_zeros(),
            len: 0,
        }
    }

    #[inline]
    fn shard_of(&self, name: &[u8]) -> usize {
        if self.bits == 0 {
            return 0;
        }
        let mut h = FxHasher::default();
        h.write(name);
        // Other bits than the ones each shard's own table uses (its low bits and top seven).
        (h.finish().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - self.bits)) as usize
    }

    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<&Node> {
        self.shards[self.shard_of(name)].get(name)
    }

    #[inline]
    pub fn get_key_value(&self, name: &[u8]) -> Option<(&[u8], &Node)> {
        self.shards[self.shard_of(name)]
            .get_key_value(name)
            .map(|(k, v)| (&**k, v))
    }

    pub fn contains_key(&self, name: &[u8]) -> bool {
        self.get(name).is_some()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Node)> + Clone {
        self.shards
            .iter()
            .flat_map(|s| s.iter().map(|(k, v)| (&**k, v)))
    }

    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.iter().map(|(k, _)| k)
    }

    /// How many of this table's shards are the very ones of `other` (shared, not copied):
    /// all but those of the changed names, for a version made by [`CompiledZone::updated`].
    pub fn shared_with(&self, other: &Nodes) -> usize {
        self.shards
            .iter()
            .zip(other.shards.iter())
            .filter(|(a, b)| Arc::ptr_eq(a, b))
            .count()
    }

    /// The number of shards.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    fn get_mut(&mut self, name: &[u8]) -> Option<&mut Node> {
        let s = self.shard_of(name);
        Arc::make_mut(&mut self.shards[s]).get_mut(name)
    }

    /// The node at `name`, created (with every missing ancestor down from `apex_len` octets
    /// of suffix, as empty non-terminals) when absent.
    fn ensure(&mut self, name: &[u8], apex_len: usize) -> &mut Node {
        if !self.contains_key(name) {
            if name.len() > apex_len {
                let parent = &name[1 + usize::from(name[0])..];
                self.ensure(parent, apex_len).children += 1;
            }
            let s = self.shard_of(name);
            Arc::make_mut(&mut self.shards[s]).insert(name.into(), Node::default());
            self.len += 1;
        }
        // Present now.
        let s = self.shard_of(name);
        Arc::make_mut(&mut self.shards[s])
            .get_mut(name)
            .unwrap_or_else(|| unreachable!("inserted above"))
    }

    /// Drop `name` if it holds nothing and has nothing below it, and then each ancestor
    /// (never the apex) that this leaves the same.
    fn prune(&mut self, mut name: &[u8], apex_len: usize) {
        while name.len() > apex_len {
            match self.get(name) {
                Some(n) if n.is_empty() && n.children == 0 => {}
                _ => return,
            }
            let s = self.shard_of(name);
            Arc::make_mut(&mut self.shards[s]).remove(name);
            self.len -= 1;
            name = &name[1 + usize::from(name[0])..];
            if let Some(p) = self.get_mut(name) {
                p.children = p.children.saturating_sub(1);
            }
        }
    }
}

/// Where a compiled zone's memory goes, in bytes, from the sizes of what it allocated (the
/// allocator's own rounding and headers aside).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// The node names (the shards' keys).
    pub names: usize,
    /// The shards' hash tables: their slots (a key and a node each) at capacity.
    pub tables: usize,
    /// The RRset vectors.
    pub rrsets: usize,
    /// RDATA: each RRset's packed RDATAs.
    pub rdata: usize,
    /// The precomputed answers.
    pub answers: usize,
}

impl Footprint {
    pub fn total(&self) -> usize {
        self.names + self.tables + self.rrsets + self.rdata + self.answers
    }
}

/// A compiled zone.
#[derive(Debug, Clone)]
pub struct CompiledZone {
    pub origin: Name,
    pub nodes: Nodes,
    /// The SOA RDATA and the negative-answer TTL (min of SOA TTL and SOA minimum, RFC 2308).
    pub soa_ttl: u32,
    pub negative_ttl: u32,
    pub serial: u32,
    /// Health of steered targets (weighted variants naming a check).
    pub health: Option<Arc<HealthTable>>,
    /// Whether every node holds its precomputed answers.
    pub(crate) precomputed: bool,
}

/// Why a zone cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("zone {0} has no SOA record at its apex")]
    NoSoa(Name),
    #[error("the stored zone cannot be read: {0}")]
    Stored(String),
    #[error("zone {zone}: {record}: {message}")]
    BadRecord {
        zone: Name,
        record: String,
        message: String,
    },
}

/// One record set of the model in wire form, checked as a compile checks it.
fn rdatas_of(rs: &RecordSet, origin: &Name) -> Result<Rdatas, CompileError> {
    let bad = |message: String| CompileError::BadRecord {
        zone: origin.clone(),
        record: rs.key().to_string(),
        message,
    };
    if !rs.name.is_subdomain_of(origin) {
        return Err(bad("name outside the zone".into()));
    }
    let mut wires = Vec::with_capacity(rs.values.len());
    for v in &rs.values {
        let tokens = switchback_api::token::tokenize(&v.data).map_err(bad)?;
        wires.push(rdata::parse(rs.rtype, &tokens, origin).map_err(|e| bad(e.to_string()))?);
    }
    Ok(Rdatas::new(wires.iter().map(Vec::as_slice)))
}

/// Check a record set as a compile of its zone would (its name in the zone, every value's
/// RDATA), without compiling anything.
pub fn check_set(rs: &RecordSet, origin: &Name) -> Result<(), CompileError> {
    rdatas_of(rs, origin).map(drop)
}

/// Add one record set of the model to its node.
fn add_set(
    node: &mut Node,
    rs: &RecordSet,
    origin: &Name,
    health: Option<&Arc<HealthTable>>,
) -> Result<(), CompileError> {
    let rdatas = rdatas_of(rs, origin)?;
    if rs.weight.is_some() {
        // A weighted variant: kept apart, chosen per query.
        let check = rs.fields.get(HEALTH_FIELD).and_then(|v| v.as_str());
        node.rrsets.push(RRset {
            rtype: rs.rtype.0,
            ttl: rs.ttl,
            rdatas,
            weight: rs.weight,
            health: check.zip(health).and_then(|(c, h)| h.slot(c)),
        });
    } else {
        match node
            .rrsets
            .iter_mut()
            .find(|r| r.rtype == rs.rtype.0 && r.weight.is_none())
        {
            Some(existing) => existing.rdatas = existing.rdatas.extended(&rdatas),
            None => node.rrsets.push(RRset {
                rtype: rs.rtype.0,
                ttl: rs.ttl,
                rdatas,
                weight: None,
                health: None,
            }),
        }
    }
    if rs.rtype == RType::NS && rs.name != *origin {
        node.is_cut = true;
    }
    Ok(())
}

/// The node of one name made from its record sets alone: what a compile puts at the name
/// (its sets checked and in wire form), without the zone around it (no children, no answers).
pub fn node_of<'a>(
    sets: impl IntoIterator<Item = &'a RecordSet>,
    origin: &Name,
) -> Result<Node, CompileError> {
    let mut node = Node::default();
    for rs in sets {
        add_set(&mut node, rs, origin, None)?;
    }
    node.finish();
    Ok(node)
}

/// A zone compiled one record set at a time (from a model, or straight from the store's
/// JSON without a model: [`crate::stored_zone`]).
pub struct Builder<'h> {
    origin: Name,
    nodes: Nodes,
    health: Option<&'h Arc<HealthTable>>,
}

impl<'h> Builder<'h> {
    /// A builder for a zone of about `sets` record sets.
    pub fn new(origin: Name, sets: usize, health: Option<&'h Arc<HealthTable>>) -> Builder<'h> {
        Builder {
            nodes: Nodes::with_capacity(sets),
            origin,
            health,
        }
    }

    pub fn add(&mut self, rs: &RecordSet) -> Result<(), CompileError> {
        let origin = &self.origin;
        if !rs.name.is_subdomain_of(origin) {
            return Err(CompileError::BadRecord {
                zone: origin.clone(),
                record: rs.key().to_string(),
                message: "name outside the zone".into(),
            });
        }
        let node = self.nodes.ensure(rs.name.wire(), origin.wire().len());
        add_set(node, rs, origin, self.health)
    }

    pub fn finish(mut self) -> Result<CompiledZone, CompileError> {
        for shard in self.nodes.shards.iter_mut() {
            for node in Arc::make_mut(shard).values_mut() {
                node.finish();
            }
        }
        let mut zone = CompiledZone {
            origin: self.origin,
            nodes: self.nodes,
            soa_ttl: 0,
            negative_ttl: 0,
            serial: 0,
            health: self.health.cloned(),
            precomputed: false,
        };
        zone.read_soa()?;
        Ok(zone)
    }
}

impl CompiledZone {
    pub fn compile(model: &Zone) -> Result<CompiledZone, CompileError> {
        CompiledZone::compile_with(model, None)
    }

    /// Compile, resolving the health checks that weighted variants name in `health`.
    pub fn compile_with(
        model: &Zone,
        health: Option<&Arc<HealthTable>>,
    ) -> Result<CompiledZone, CompileError> {
        let mut b = Builder::new(model.origin.clone(), model.record_sets.len(), health);
        for rs in &model.record_sets {
            b.add(rs)?;
        }
        b.finish()
    }

    /// Take the serial, the SOA TTL and the negative TTL from the apex's SOA.
    fn read_soa(&mut self) -> Result<(), CompileError> {
        let no_soa = || CompileError::NoSoa(self.origin.clone());
        let apex = self.nodes.get(self.origin.wire()).ok_or_else(no_soa)?;
        let (soa_ttl, soa_rdata) = apex
            .get(RType::SOA.0)
            .and_then(|s| s.rdatas.first().map(|r| (s.ttl, r)))
            .ok_or_else(no_soa)?;
        let fixed = soa_rdata.len().saturating_sub(20);
        let word = |i: usize| {
            soa_rdata
                .get(fixed + i * 4..fixed + i * 4 + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .unwrap_or(0)
        };
        let (serial, minimum) = (word(0), word(4));
        self.negative_ttl = soa_ttl.min(minimum);
        self.soa_ttl = soa_ttl;
        self.serial = serial;
        Ok(())
    }

    /// Where this zone's memory goes.
    pub fn footprint(&self) -> Footprint {
        use std::mem::size_of;
        let mut f = Footprint::default();
        for shard in self.nodes.shards.iter() {
            f.tables += shard.capacity() * (size_of::<(Box<[u8]>, Node)>() + 1);
            for (name, node) in shard.iter() {
                f.names += name.len();
                f.answers += node.answers.len();
                f.rrsets += node.rrsets.capacity() * size_of::<RRset>();
                for rr in &node.rrsets {
                    f.rdata += rr.rdatas.size();
                }
            }
        }
        f
    }

    pub fn apex(&self) -> &Node {
        // compile() and updated() guarantee the apex exists.
        match self.nodes.get(self.origin.wire()) {
            Some(n) => n,
            None => unreachable!("a compiled zone has its apex"),
        }
    }

    /// Fill every node's precomputed answers (once: a zone made by [`CompiledZone::updated`]
    /// from a precomputed one is precomputed already).
    pub fn precompute_all(&mut self) {
        if self.precomputed {
            return;
        }
        let mut scratch = crate::answer::Scratch::default();
        for s in 0..self.nodes.shards() {
            let answers: Vec<NamedAnswers> = self.nodes.shards[s]
                .iter()
                .map(|(name, node)| (name.clone(), scratch.answers(self, name, node)))
                .collect();
            let shard = Arc::make_mut(&mut self.nodes.shards[s]);
            for (name, a) in answers {
                if let Some(node) = shard.get_mut(&name) {
                    node.answers = a;
                }
            }
            shard.shrink_to_fit();
        }
        self.precomputed = true;
    }

    /// This zone with the record sets at `names` replaced by `sets` (every set the new
    /// version holds at those names; a name with none is gone), sharing every other node
    /// with `self`. The answers of the names are precomputed again when `self`'s are.
    ///
    /// `Ok(None)` when the change cannot be made in place and needs a full compile: a zone
    /// cut that appears or goes (the answers of every name below it change).
    pub fn updated(
        &self,
        names: &[Name],
        sets: &[RecordSet],
        health: Option<&Arc<HealthTable>>,
    ) -> Result<Option<CompiledZone>, CompileError> {
        let origin = &self.origin;
        let apex_len = origin.wire().len();
        let mut by_name: FxMap<&[u8], Vec<&RecordSet>> = FxMap::default();
        for rs in sets {
            by_name.entry(rs.name.wire()).or_default().push(rs);
        }
        let mut new = self.clone();
        if let Some(h) = health {
            new.health = Some(h.clone());
        }
        let mut touched: Vec<&[u8]> = names.iter().map(|n| n.wire()).collect();
        touched.sort_unstable();
        touched.dedup();
        if let Some(stray) = by_name.keys().find(|k| touched.binary_search(k).is_err()) {
            return Err(CompileError::BadRecord {
                zone: origin.clone(),
                record: Name::from_wire(stray).map_or_else(|| "?".into(), |n| n.to_string()),
                message: "a changed set at a name the change does not name".into(),
            });
        }
        for name in &touched {
            let mut node = Node::default();
            for rs in by_name.get(name).into_iter().flatten() {
                if !rs.name.is_subdomain_of(origin) {
                    return Err(CompileError::BadRecord {
                        zone: origin.clone(),
                        record: rs.key().to_string(),
                        message: "name outside the zone".into(),
                    });
                }
                add_set(&mut node, rs, origin, new.health.as_ref())?;
            }
            node.finish();
            let was_cut = new.nodes.get(name).is_some_and(|n| n.is_cut);
            if was_cut != node.is_cut {
                return Ok(None);
            }
            if node.is_empty() {
                if let Some(old) = new.nodes.get_mut(name) {
                    old.rrsets.clear();
                    old.answers = Box::default();
                }
                new.nodes.prune(name, apex_len);
            } else {
                let slot = new.nodes.ensure(name, apex_len);
                slot.rrsets = node.rrsets;
                slot.answers = Box::default();
            }
        }
        new.read_soa()?;
        if new.precomputed {
            let mut scratch = crate::answer::Scratch::default();
            let fresh: Vec<(&[u8], Box<[u8]>)> = touched
                .iter()
                .filter_map(|name| {
                    let node = new.nodes.get(name)?;
                    Some((*name, scratch.answers(&new, name, node)))
                })
                .collect();
            for (name, a) in fresh {
                if let Some(node) = new.nodes.get_mut(name) {
                    node.answers = a;
                }
            }
        }
        Ok(Some(new))
    }
}
