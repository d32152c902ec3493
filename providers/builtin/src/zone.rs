//! A zone compiled for answering: nodes keyed by lower-case wire name, RRsets in wire form.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use switchback_api::{Name, RType, Zone, rdata};

use crate::hash::FxHasher;
use crate::steer::{HEALTH_FIELD, HealthTable};

pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// One RDATA in uncompressed wire form, with the byte ranges of the names inside it that may
/// be compressed.
pub type Rdata = (Box<[u8]>, Vec<std::ops::Range<usize>>);

/// One RRset ready to be written.
#[derive(Debug)]
pub struct RRset {
    pub rtype: u16,
    pub ttl: u32,
    pub rdatas: Vec<Rdata>,
    /// A weighted variant (one of several sets of this type at the name, chosen per query).
    pub weight: Option<u32>,
    /// The health-table slot of its target's check, if it has one.
    pub health: Option<u16>,
}

/// A name in the zone (possibly an empty non-terminal).
#[derive(Debug, Default)]
pub struct Node {
    /// Sorted by type.
    pub rrsets: Vec<RRset>,
    /// An NS set below the apex: a zone cut.
    pub is_cut: bool,
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
}

/// A compiled zone.
#[derive(Debug)]
pub struct CompiledZone {
    pub origin: Name,
    pub nodes: FxMap<Box<[u8]>, Node>,
    /// The SOA RDATA and the negative-answer TTL (min of SOA TTL and SOA minimum, RFC 2308).
    pub soa_ttl: u32,
    pub negative_ttl: u32,
    pub serial: u32,
    /// Health of steered targets (weighted variants naming a check).
    pub health: Option<Arc<HealthTable>>,
}

/// Why a zone cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("zone {0} has no SOA record at its apex")]
    NoSoa(Name),
    #[error("zone {zone}: {record}: {message}")]
    BadRecord {
        zone: Name,
        record: String,
        message: String,
    },
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
        let origin = model.origin.clone();
        let mut nodes: FxMap<Box<[u8]>, Node> = FxMap::default();
        for rs in &model.record_sets {
            if !rs.name.is_subdomain_of(&origin) {
                return Err(CompileError::BadRecord {
                    zone: origin.clone(),
                    record: rs.key().to_string(),
                    message: "name outside the zone".into(),
                });
            }
            let mut rdatas = Vec::with_capacity(rs.values.len());
            for v in &rs.values {
                let tokens = switchback_api::token::tokenize(&v.data).map_err(|e| {
                    CompileError::BadRecord {
                        zone: origin.clone(),
                        record: rs.key().to_string(),
                        message: e,
                    }
                })?;
                let wire = rdata::parse(rs.rtype, &tokens, &origin).map_err(|e| {
                    CompileError::BadRecord {
                        zone: origin.clone(),
                        record: rs.key().to_string(),
                        message: e.to_string(),
                    }
                })?;
                let names = rdata::compressible_names(rs.rtype, &wire);
                rdatas.push((wire.into_boxed_slice(), names));
            }
            let node = nodes.entry(rs.name.wire().into()).or_default();
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
                    Some(existing) => existing.rdatas.extend(rdatas),
                    None => node.rrsets.push(RRset {
                        rtype: rs.rtype.0,
                        ttl: rs.ttl,
                        rdatas,
                        weight: None,
                        health: None,
                    }),
                }
            }
            if rs.rtype == RType::NS && rs.name != origin {
                node.is_cut = true;
            }
            // Empty non-terminals: every ancestor up to the apex exists as a node.
            let mut parent = rs.name.parent();
            while let Some(p) = parent {
                if !p.is_subdomain_of(&origin) || nodes.contains_key(p.wire()) {
                    break;
                }
                nodes.insert(p.wire().into(), Node::default());
                parent = p.parent();
            }
        }
        for node in nodes.values_mut() {
            // Stable: weighted variants keep the model's order (by set identifier).
            node.rrsets.sort_by_key(|r| r.rtype);
        }
        let apex = nodes
            .get(origin.wire())
            .ok_or_else(|| CompileError::NoSoa(origin.clone()))?;
        let soa = apex
            .get(RType::SOA.0)
            .and_then(|s| s.rdatas.first().map(|r| (s.ttl, r)))
            .ok_or_else(|| CompileError::NoSoa(origin.clone()))?;
        let (soa_ttl, (soa_rdata, _)) = soa;
        let fixed = soa_rdata.len().saturating_sub(20);
        let word = |i: usize| {
            soa_rdata
                .get(fixed + i * 4..fixed + i * 4 + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .unwrap_or(0)
        };
        let serial = word(0);
        let minimum = word(4);
        Ok(CompiledZone {
            negative_ttl: soa_ttl.min(minimum),
            soa_ttl,
            serial,
            origin,
            nodes,
            health: health.cloned(),
        })
    }

    pub fn apex(&self) -> &Node {
        // compile() guarantees the apex exists.
        &self.nodes[self.origin.wire()]
    }
}
