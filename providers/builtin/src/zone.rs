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

pub use crate::node::{NewSet, Node, RRset};

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
    /// The RRsets' headers.
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

/// One record set of the model in wire form (its RDATAs packed as a node holds them),
/// checked as a compile checks it.
fn rdatas_of(rs: &RecordSet, origin: &Name) -> Result<NewSet, CompileError> {
    let bad = |message: String| CompileError::BadRecord {
        zone: origin.clone(),
        record: rs.key().to_string(),
        message,
    };
    if !rs.name.is_subdomain_of(origin) {
        return Err(bad("name outside the zone".into()));
    }
    let mut set = NewSet {
        rtype: rs.rtype.0,
        ttl: rs.ttl,
        weight: rs.weight,
        health: None,
        rdatas: Vec::new(),
    };
    for v in &rs.values {
        let tokens = switchback_api::token::tokenize(&v.data).map_err(bad)?;
        set.push(&rdata::parse(rs.rtype, &tokens, origin).map_err(|e| bad(e.to_string()))?);
    }
    Ok(set)
}

/// Check record sets as a compile of their zone would (each one's name in the zone, every
/// value's RDATA), without compiling anything.
pub fn check_sets<'a>(
    sets: impl IntoIterator<Item = &'a RecordSet>,
    origin: &Name,
) -> Result<(), CompileError> {
    sets.into_iter()
        .try_for_each(|rs| rdatas_of(rs, origin).map(drop))
}

/// Add one record set of the model to its node: a weighted variant is kept apart (chosen per
/// query, with the health slot of the check it names), a plain set merged into the node's
/// plain set of its type.
fn add_set(
    node: &mut Node,
    rs: &RecordSet,
    origin: &Name,
    health: Option<&Arc<HealthTable>>,
) -> Result<(), CompileError> {
    let mut set = rdatas_of(rs, origin)?;
    if rs.weight.is_some() {
        let check = rs.fields.get(HEALTH_FIELD).and_then(|v| v.as_str());
        set.health = check.zip(health).and_then(|(c, h)| h.slot(c));
    }
    *node = node.with_set(set);
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

    pub fn finish(self) -> Result<CompiledZone, CompileError> {
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
                let (answers, headers, rdata) = node.sizes();
                f.answers += answers;
                f.rrsets += headers;
                f.rdata += rdata;
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
                    node.set_answers(&a);
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
            let was_cut = new.nodes.get(name).is_some_and(|n| n.is_cut);
            if was_cut != node.is_cut {
                return Ok(None);
            }
            if node.is_empty() {
                if let Some(old) = new.nodes.get_mut(name) {
                    old.clear();
                }
                new.nodes.prune(name, apex_len);
            } else {
                new.nodes.ensure(name, apex_len).take_sets(node);
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
                    node.set_answers(&a);
                }
            }
        }
        Ok(Some(new))
    }
}
