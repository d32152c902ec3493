//! RRSIGs (RFC 4034 §3) over RRsets in canonical form (§6), and a whole zone signed with a
//! classic NSEC chain (§4): what a zone transfer of a signed zone carries, and the signature
//! an answer's RRset is served with.

use std::collections::BTreeMap;

use switchback_api::{Name, RType, Zone, rdata, token};

use super::key::{KeyError, KeyPair, Role};

/// When signatures are valid: RFC 4034 §3.1.5 times (seconds since the epoch, mod 2^32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub inception: u32,
    pub expiration: u32,
}

impl Validity {
    /// Knot's defaults: from an hour ago (clock skew) for 14 days.
    pub fn from_now(now: u64) -> Validity {
        Validity {
            inception: now.saturating_sub(3600) as u32,
            expiration: now.saturating_add(14 * 86_400) as u32,
        }
    }
}

/// The labels field of an RRSIG over `owner`: its labels without the root and a leading `*`
/// (RFC 4034 §3.1.3).
pub fn rrsig_labels(owner: &Name) -> u8 {
    let n = owner.label_count();
    let wild = owner.labels().next().is_some_and(|l| l == b"*");
    (n - usize::from(wild)) as u8
}

/// The RRSIG RDATA over the RRset of `rtype` at `owner` (TTL `ttl`, RDATAs in uncompressed
/// wire form, as served) by `key` of the zone `signer`. The RDATAs are put in canonical order
/// and duplicates dropped (RFC 4034 §6.3); names in them are already lower case (the model
/// folds them), so the wire form served is the canonical form signed.
pub fn rrsig(
    key: &KeyPair,
    signer: &Name,
    owner: &Name,
    rtype: u16,
    ttl: u32,
    rdatas: &[&[u8]],
    validity: Validity,
) -> Result<Vec<u8>, KeyError> {
    let mut head = Vec::with_capacity(18 + signer.wire().len());
    head.extend_from_slice(&rtype.to_be_bytes());
    head.push(key.algorithm().number());
    head.push(rrsig_labels(owner));
    head.extend_from_slice(&ttl.to_be_bytes());
    head.extend_from_slice(&validity.expiration.to_be_bytes());
    head.extend_from_slice(&validity.inception.to_be_bytes());
    head.extend_from_slice(&key.key_tag().to_be_bytes());
    head.extend_from_slice(signer.wire());
    let mut sorted: Vec<&[u8]> = rdatas.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut data = head.clone();
    for rd in sorted {
        data.extend_from_slice(owner.wire());
        data.extend_from_slice(&rtype.to_be_bytes());
        data.extend_from_slice(&1u16.to_be_bytes());
        data.extend_from_slice(&ttl.to_be_bytes());
        data.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        data.extend_from_slice(rd);
    }
    let mut out = head;
    out.extend_from_slice(&key.sign(&data)?);
    Ok(out)
}

/// The NSEC type bitmap (RFC 4034 §4.1.2) of `types`.
pub fn type_bitmap(types: &[u16]) -> Vec<u8> {
    let mut types = types.to_vec();
    types.sort_unstable();
    types.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < types.len() {
        let window = (types[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < types.len() && (types[i] >> 8) as u8 == window {
            let low = (types[i] & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            i += 1;
        }
        out.push(window);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
    out
}

/// A record of a signed zone, its RDATA in wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRecord {
    pub name: Name,
    pub rtype: RType,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

impl SignedRecord {
    /// The record in master-file form.
    pub fn to_line(&self) -> String {
        let data = rdata::format(self.rtype, &self.rdata).unwrap_or_default();
        format!("{} {} IN {} {data}", self.name, self.ttl, self.rtype)
    }
}

/// A name's RRsets: type -> (TTL, RDATAs in wire form).
type RRsets = BTreeMap<u16, (u32, Vec<Vec<u8>>)>;

/// Why a zone cannot be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the zone has no SOA at its apex")]
    NoSoa,
    #[error("the zone has no {0} to sign with")]
    NoKey(&'static str),
    #[error("{0}")]
    Record(String),
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The zone signed whole: its records, the DNSKEY set of `keys` at the apex, a classic NSEC
/// chain over its authoritative names, and RRSIGs over every authoritative RRset (the
/// DNSKEY set by the KSKs, the rest by the ZSKs). Names below a delegation (glue) are neither
/// signed nor in the chain; at a delegation only the DS and the NSEC are signed (RFC 4035
/// §2.2). Weighted variants of a set are one RRset here, as a transfer carries them.
pub fn sign_zone(
    zone: &Zone,
    keys: &[&KeyPair],
    validity: Validity,
) -> Result<Vec<SignedRecord>, SignError> {
    let origin = &zone.origin;
    let ksks: Vec<&KeyPair> = keys
        .iter()
        .copied()
        .filter(|k| k.role() == Role::Ksk)
        .collect();
    let zsks: Vec<&KeyPair> = keys
        .iter()
        .copied()
        .filter(|k| k.role() == Role::Zsk)
        .collect();
    if ksks.is_empty() {
        return Err(SignError::NoKey("KSK"));
    }
    if zsks.is_empty() {
        return Err(SignError::NoKey("ZSK"));
    }
    // Every RRset in wire form, by name (canonical order) and type.
    let mut names: BTreeMap<Name, RRsets> = BTreeMap::new();
    for rs in &zone.record_sets {
        let set = names
            .entry(rs.name.clone())
            .or_default()
            .entry(rs.rtype.0)
            .or_insert_with(|| (rs.ttl, Vec::new()));
        for v in &rs.values {
            let tokens = token::tokenize(&v.data).map_err(SignError::Record)?;
            let wire = rdata::parse(rs.rtype, &tokens, origin)
                .map_err(|e| SignError::Record(format!("{} {}: {e}", rs.name, rs.rtype)))?;
            set.1.push(wire);
        }
    }
    let soa = names
        .get(origin)
        .and_then(|n| n.get(&RType::SOA.0))
        .ok_or(SignError::NoSoa)?;
    // NSEC TTL: the SOA's TTL or its MINIMUM, whichever is lower (RFC 9077).
    let nsec_ttl = soa
        .1
        .first()
        .and_then(|w| w.get(w.len().checked_sub(4)?..))
        .map_or(soa.0, |m| {
            soa.0.min(u32::from_be_bytes([m[0], m[1], m[2], m[3]]))
        });
    let dnskey_ttl = soa.0;
    names.entry(origin.clone()).or_default().insert(
        RType::DNSKEY.0,
        (dnskey_ttl, keys.iter().map(|k| k.dnskey_rdata()).collect()),
    );
    // Delegations and what they hide.
    let cuts: Vec<Name> = names
        .iter()
        .filter(|(n, types)| *n != origin && types.contains_key(&RType::NS.0))
        .map(|(n, _)| n.clone())
        .collect();
    let below_cut = |n: &Name| cuts.iter().any(|c| n != c && n.is_subdomain_of(c));
    let chain: Vec<&Name> = names.keys().filter(|n| !below_cut(n)).collect();

    let mut out = Vec::new();
    for (i, name) in chain.iter().enumerate() {
        let types = &names[*name];
        let cut = cuts.contains(name);
        let next = chain[(i + 1) % chain.len()];
        let mut bitmap: Vec<u16> = types.keys().copied().collect();
        bitmap.extend([RType::NSEC.0, RType::RRSIG.0]);
        let mut nsec = next.wire().to_vec();
        nsec.extend_from_slice(&type_bitmap(&bitmap));
        for (&rtype, (ttl, rdatas)) in types {
            for rd in rdatas {
                out.push(SignedRecord {
                    name: (*name).clone(),
                    rtype: RType(rtype),
                    ttl: *ttl,
                    rdata: rd.clone(),
                });
            }
            if cut && rtype != RType::DS.0 {
                continue;
            }
            let signers = if rtype == RType::DNSKEY.0 {
                &ksks
            } else {
                &zsks
            };
            let refs: Vec<&[u8]> = rdatas.iter().map(Vec::as_slice).collect();
            for k in signers {
                out.push(SignedRecord {
                    name: (*name).clone(),
                    rtype: RType::RRSIG,
                    ttl: *ttl,
                    rdata: rrsig(k, origin, name, rtype, *ttl, &refs, validity)?,
                });
            }
        }
        for k in &zsks {
            out.push(SignedRecord {
                name: (*name).clone(),
                rtype: RType::RRSIG,
                ttl: nsec_ttl,
                rdata: rrsig(k, origin, name, RType::NSEC.0, nsec_ttl, &[&nsec], validity)?,
            });
        }
        out.push(SignedRecord {
            name: (*name).clone(),
            rtype: RType::NSEC,
            ttl: nsec_ttl,
            rdata: nsec,
        });
    }
    // Glue: served as is, unsigned.
    for (name, types) in names.iter().filter(|(n, _)| below_cut(n)) {
        for (&rtype, (ttl, rdatas)) in types {
            for rd in rdatas {
                out.push(SignedRecord {
                    name: name.clone(),
                    rtype: RType(rtype),
                    ttl: *ttl,
                    rdata: rd.clone(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_bitmaps_as_rfc_4034_shows_them() {
        // RFC 4034 §4.3: A MX RRSIG NSEC TYPE1234.
        let mut want = vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b];
        want.extend_from_slice(&[0; 26]);
        want.push(0x20);
        assert_eq!(type_bitmap(&[1, 15, 46, 47, 1234]), want);
    }

    #[test]
    fn labels_leave_out_a_leading_wildcard() {
        let n = |s: &str| s.parse::<Name>().unwrap();
        assert_eq!(rrsig_labels(&n("www.example.com.")), 3);
        assert_eq!(rrsig_labels(&n("*.example.com.")), 2);
        assert_eq!(rrsig_labels(&n(".")), 0);
    }
}
