//! DNSSEC for the zones the built-in server signs (`[server] dnssec`): their keys, made here
//! and kept in the state store (`builtin_dnssec_keys`), published as DNSKEY at the apex and
//! given to the parent as DS.
//!
//! A zone gets a KSK (flags 257, the key the parent's DS points at) and a ZSK (flags 256) of
//! the configured algorithm: ECDSA P-256 with SHA-256 (13, the default, as Knot's and
//! PowerDNS's) or Ed25519 (15). Private keys leave the store only through
//! `switchback dnssec export`; they are never logged and never shown by `Debug`.

mod key;
mod sign;

pub use key::{Algorithm, KeyError, KeyPair, Role, ds_of, key_tag};
pub use sign::{SignError, SignedRecord, Validity, rrsig, rrsig_labels, sign_zone, type_bitmap};

use switchback_api::{Name, RType, rdata};

use crate::store::{StoredKey, Tx, ZoneStoreError};

/// The keys a signed zone starts with: a KSK and a ZSK.
const FIRST_KEYS: [Role; 2] = [Role::Ksk, Role::Zsk];

/// The zone's keys, made (a KSK and a ZSK of `algorithm`) when it has none yet, in the same
/// write transaction: two processes starting at once make one set of keys.
pub fn ensure_keys(
    tx: &Tx<'_>,
    zone: &Name,
    algorithm: Algorithm,
) -> Result<Vec<StoredKey>, ZoneStoreError> {
    let keys = tx.dnssec_keys(zone)?;
    if !keys.is_empty() {
        return Ok(keys);
    }
    for role in FIRST_KEYS {
        let pair = KeyPair::generate(algorithm, role)
            .map_err(|e| tx.data(&zone.to_string(), format!("cannot make a DNSSEC key: {e}")))?;
        tx.put_dnssec_key(zone, &pair)?;
        tracing::info!(%zone, role = role.as_str(), algorithm = algorithm.mnemonic(), tag = pair.key_tag(), "DNSSEC key made");
    }
    tx.dnssec_keys(zone)
}

/// The DS records (digest type 2, SHA-256) of the zone's KSKs, in presentation form.
pub fn ds_records(zone: &Name, keys: &[StoredKey]) -> Vec<String> {
    keys.iter()
        .filter(|k| k.pair.role() == Role::Ksk)
        .filter_map(|k| rdata::format(RType::DS, &k.pair.ds(zone)).ok())
        .map(|ds| format!("{zone} IN DS {ds}"))
        .collect()
}

/// The keys in BIND's file formats (`K<zone>+<alg>+<tag>.key` with the DNSKEY record and
/// `.private`, "Private-key-format: v1.3"), each file after a `; K….key` or `; K….private`
/// line: what `dnssec-signzone` and `dnssec-keygen`'s users know.
pub fn export(zone: &Name, keys: &[StoredKey]) -> String {
    let mut out = String::new();
    for k in keys {
        let p = &k.pair;
        let base = format!("K{zone}+{:03}+{:05}", p.algorithm().number(), p.key_tag());
        let dnskey = rdata::format(RType::DNSKEY, &p.dnskey_rdata()).unwrap_or_default();
        out.push_str(&format!(
            "; {base}.key\n; This is a {} key, keyid {}, for {zone}\n{zone} IN DNSKEY {dnskey}\n",
            if p.role() == Role::Ksk {
                "key-signing"
            } else {
                "zone-signing"
            },
            p.key_tag()
        ));
        out.push_str(&format!(
            "; {base}.private\nPrivate-key-format: v1.3\nAlgorithm: {} ({})\nPrivateKey: {}\n",
            p.algorithm().number(),
            p.algorithm().mnemonic(),
            p.private_base64()
        ));
    }
    out
}
