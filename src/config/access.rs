//! Who may do what to the built-in server: `allow_transfer`, `allow_update` (server-wide and
//! per zone) as access lists of addresses, CIDRs and `"key:NAME"` entries, and the TSIG keys
//! those entries name.

use std::collections::HashMap;
use std::path::Path;

use switchback_api::Name;
use switchback_builtin::acl::Acl;

use super::{Config, ConfigError, tsig};

impl Config {
    /// `[server] allow_transfer`: addresses and CIDRs, and `"key:NAME"` for a `[tsig.NAME]`
    /// key.
    pub fn allow_transfer(&self) -> Result<Acl, ConfigError> {
        self.acl("server.allow_transfer", &self.server.allow_transfer)
    }

    /// `[server] allow_update`: who may send RFC 2136 UPDATEs (as `allow_transfer`).
    pub fn allow_update(&self) -> Result<Acl, ConfigError> {
        self.acl("server.allow_update", &self.server.allow_update)
    }

    /// `[server.zone."NAME"] allow_update`: the zones whose updaters differ from the
    /// server-wide list.
    pub fn allow_update_zones(&self) -> Result<HashMap<Name, Acl>, ConfigError> {
        let mut m = HashMap::new();
        for (zone, z) in &self.server.zone {
            let at = format!("server.zone.{zone}.allow_update");
            let name = tsig::key_name(zone)
                .map_err(|(_, e)| self.invalid(&format!("server.zone.{zone}"), e))?;
            if let Some(list) = &z.allow_update {
                m.insert(name, self.acl(&at, list)?);
            }
        }
        Ok(m)
    }

    fn acl(&self, at: &str, entries: &[String]) -> Result<Acl, ConfigError> {
        let mut acl = Acl::default();
        for e in entries {
            match tsig::key_ref(e) {
                Some(k) if self.tsig.contains_key(k) => acl
                    .keys
                    .push(tsig::key_name(k).map_err(|(_, m)| self.invalid(at, m))?),
                Some(k) => {
                    return Err(self.invalid(
                        at,
                        format!("{e:?}: no [tsig.{k}] section defines the key {k:?}"),
                    ));
                }
                None => acl
                    .nets
                    .push(e.parse().map_err(|m: String| self.invalid(at, m))?),
            }
        }
        Ok(acl)
    }

    /// Every `[tsig.NAME]` key, secrets read (an unset variable or an unreadable file is an
    /// error naming the key; the secret itself never appears).
    pub fn tsig_keys(&self) -> Result<switchback_api::tsig::Keyring, ConfigError> {
        let base = self
            .path
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(Path::new(""));
        tsig::keyring(&self.tsig, base).map_err(|(k, m)| self.invalid(&k, m))
    }
}
