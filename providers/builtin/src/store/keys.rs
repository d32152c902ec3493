//! The DNSSEC keys of the signed zones in the store (`builtin_dnssec_keys`, schema 5): both
//! halves in base64, read back into checked key pairs ([`crate::dnssec`]).

use switchback_api::Name;
use switchback_api::rdata::{decode_base64, encode_base64};
use switchback_sql::params;

use super::{Tx, ZoneStoreError, now};
use crate::dnssec::{Algorithm, KeyPair, Role};

/// A DNSSEC key as the store holds it.
#[derive(Debug)]
pub struct StoredKey {
    pub pair: KeyPair,
    /// When it was made (Unix seconds).
    pub created_at: i64,
}

impl Tx<'_> {
    /// The zone's DNSSEC keys, oldest first.
    pub fn dnssec_keys(&self, zone: &Name) -> Result<Vec<StoredKey>, ZoneStoreError> {
        let key = zone.to_string();
        let rows = self
            .tx
            .query(
                "SELECT role, algorithm, public, private, created_at FROM builtin_dnssec_keys
                 WHERE zone = ?1 ORDER BY id",
                params![key],
            )
            .map_err(|e| self.sql(e))?;
        rows.iter()
            .map(|r| {
                let bad = |m: &str| self.data(&key, format!("DNSSEC key: {m}"));
                let role = r.text(0).map_err(|e| self.sql(e))?;
                let role = Role::parse(&role).ok_or_else(|| bad("unknown role"))?;
                let algorithm = r.int(1).map_err(|e| self.sql(e))?;
                let algorithm = u8::try_from(algorithm)
                    .ok()
                    .and_then(Algorithm::from_number)
                    .ok_or_else(|| bad("unknown algorithm"))?;
                let half = |i: usize| -> Result<Vec<u8>, ZoneStoreError> {
                    let t = r.text(i).map_err(|e| self.sql(e))?;
                    decode_base64(&t).map_err(|_| bad("not base64"))
                };
                let pair = KeyPair::from_parts(algorithm, role, half(2)?, half(3)?)
                    .map_err(|e| bad(&e.to_string()))?;
                Ok(StoredKey {
                    pair,
                    created_at: r.int(4).map_err(|e| self.sql(e))?,
                })
            })
            .collect()
    }

    /// Store a new DNSSEC key of the zone.
    pub fn put_dnssec_key(&self, zone: &Name, pair: &KeyPair) -> Result<(), ZoneStoreError> {
        self.tx
            .execute(
                "INSERT INTO builtin_dnssec_keys (zone, role, algorithm, public, private, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    zone.to_string(),
                    pair.role().as_str(),
                    i64::from(pair.algorithm().number()),
                    encode_base64(pair.public()),
                    encode_base64(pair.private()),
                    now()
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }
}
