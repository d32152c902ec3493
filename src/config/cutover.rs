//! `[[cutover]]`: the cutover sections as written, and resolved into [`Cutover`] (names
//! parsed, durations read, every record's zone and provider checked).

use std::net::SocketAddr;

use serde::Deserialize;

use super::{Config, ConfigError, defaults::*, one_line};

/// `[[cutover]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CutoverConfig {
    pub name: String,
    pub provider: String,
    pub zone: String,
    #[serde(default)]
    pub steering: Steering,
    #[serde(default = "default_stages")]
    pub failback_stages: Vec<u32>,
    #[serde(default = "default_soak")]
    pub soak: String,
    #[serde(default)]
    pub auto_failover: bool,
    #[serde(default)]
    pub auto_failback: bool,
    /// The `health = {...}` table (validated by the health module).
    #[serde(default)]
    pub health: Option<toml::Value>,
    #[serde(default = "default_hold_down")]
    pub hold_down: String,
    /// TTL of the cutover's record sets while cut over.
    #[serde(default = "default_cutover_ttl")]
    pub ttl: u32,
    /// The recovery time objective the measured RTO is shown against (`5m`).
    #[serde(default)]
    pub rto_target: Option<String>,
    /// Where "visible" is checked (`HOST:PORT` or an address; port 53 by default).
    #[serde(default)]
    pub verify_ns: Vec<String>,
    /// How long a drill's failback stages soak (default 0).
    #[serde(default = "default_drill_soak")]
    pub drill_soak: String,
    /// `serve` runs a drill this often (`7d`); off by default.
    #[serde(default)]
    pub drill_every: Option<String>,
    /// A health check of the recovery site (`{ check = "...", ... }`), probed before a drill
    /// and by `switchback check`.
    #[serde(default)]
    pub recovery_health: Option<toml::Value>,
    #[serde(default, rename = "record")]
    pub records: Vec<CutoverRecordConfig>,
}

/// `[[cutover.record]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CutoverRecordConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(default)]
    pub recovery: Vec<String>,
    /// The provider holding this record (default: the cutover's).
    #[serde(default)]
    pub provider: Option<String>,
    /// The zone holding this record (default: the cutover's).
    #[serde(default)]
    pub zone: Option<String>,
}

/// How a cutover steers traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Steering {
    /// Replace the values with the recovery targets at once.
    #[default]
    Failover,
    /// A weighted primary/recovery pair (primary weight 0, recovery 100).
    Weighted,
}

/// A cutover, validated and resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Cutover {
    pub name: String,
    /// The default provider of its records.
    pub provider: String,
    /// The default zone of its records.
    pub zone: switchback_api::Name,
    pub steering: Steering,
    /// Every record's provider has weighted records: failback goes in stages; else failback
    /// is one stage.
    pub staged: bool,
    pub failback_stages: Vec<u32>,
    pub soak: std::time::Duration,
    pub auto_failover: bool,
    pub auto_failback: bool,
    pub health: Option<crate::health::HealthSpec>,
    pub hold_down: std::time::Duration,
    pub ttl: u32,
    pub records: Vec<CutoverRecord>,
    /// The name of its primary's health check (the cutover's name; a drill's is that of the
    /// cutover it rehearses).
    pub check: String,
    pub rto_target: Option<std::time::Duration>,
    pub verify_ns: Vec<SocketAddr>,
    pub drill_soak: std::time::Duration,
    pub drill_every: Option<std::time::Duration>,
    pub recovery_health: Option<crate::health::HealthSpec>,
}

/// One record set (name and type) under a cutover, in its zone on its provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutoverRecord {
    pub name: switchback_api::Name,
    pub rtype: switchback_api::RType,
    /// Recovery values from config (canonical form); may be empty (then `--target`).
    pub recovery: Vec<String>,
    pub at: ZoneKey,
}

/// One zone of a cutover: a zone on a provider.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, Deserialize)]
pub struct ZoneKey {
    pub provider: String,
    pub zone: switchback_api::Name,
}

impl std::fmt::Display for ZoneKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.provider, self.zone)
    }
}

impl Cutover {
    /// The health check URL of the primary, when configured.
    pub fn health_check_url(&self) -> Option<&str> {
        self.health.as_ref().map(|h| h.check.as_str())
    }

    /// The zones the cutover's records live in, in config order (first mention).
    pub fn zones(&self) -> Vec<ZoneKey> {
        let mut out: Vec<ZoneKey> = Vec::new();
        for r in &self.records {
            if !out.contains(&r.at) {
                out.push(r.at.clone());
            }
        }
        out
    }

    /// The records in zone `z`.
    pub fn records_in<'c>(&'c self, z: &'c ZoneKey) -> impl Iterator<Item = &'c CutoverRecord> {
        self.records.iter().filter(move |r| r.at == *z)
    }
}

impl Config {
    pub(super) fn resolve_cutover(
        &self,
        i: usize,
        c: &CutoverConfig,
    ) -> Result<Cutover, ConfigError> {
        let at = if c.name.is_empty() {
            format!("cutover[{i}]")
        } else {
            format!("cutover[{}]", c.name)
        };
        let key = |k: &str| format!("{at}.{k}");
        if c.name.is_empty()
            || !c
                .name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
        {
            return Err(self.invalid(
                &key("name"),
                format!(
                    "{:?}: a cutover name is letters, digits, '-', '_' or '.'",
                    c.name
                ),
            ));
        }
        if self.provider_capabilities(&c.provider).is_none() {
            return Err(self.invalid(
                &key("provider"),
                format!("unknown provider {:?}", c.provider),
            ));
        }
        let zone: switchback_api::Name = c
            .zone
            .parse()
            .map_err(|e| self.invalid(&key("zone"), format!("{:?}: {e}", c.zone)))?;
        let mut staged = true;
        let stages = &c.failback_stages;
        if stages.is_empty()
            || stages.windows(2).any(|w| w[0] >= w[1])
            || stages.last() != Some(&100)
            || stages.first() == Some(&0)
        {
            return Err(self.invalid(
                &key("failback_stages"),
                format!(
                    "{stages:?}: must be strictly increasing percentages above 0, ending with 100"
                ),
            ));
        }
        let dur = |k: &str, v: &str| {
            crate::duration::parse_duration(v).map_err(|e| self.invalid(&key(k), e))
        };
        let soak = dur("soak", &c.soak)?;
        let hold_down = dur("hold_down", &c.hold_down)?;
        if c.ttl == 0 {
            return Err(self.invalid(&key("ttl"), "must be at least 1"));
        }
        if c.records.is_empty() {
            return Err(self.invalid(
                &key("record"),
                "a cutover needs at least one [[cutover.record]]",
            ));
        }
        let mut records: Vec<CutoverRecord> = Vec::new();
        for (j, r) in c.records.iter().enumerate() {
            let rk = |k: &str| key(&format!("record[{j}].{k}"));
            let name: switchback_api::Name = r
                .name
                .parse()
                .map_err(|e| self.invalid(&rk("name"), format!("{:?}: {e}", r.name)))?;
            let provider = r.provider.clone().unwrap_or_else(|| c.provider.clone());
            let caps = self.provider_capabilities(&provider).ok_or_else(|| {
                self.invalid(&rk("provider"), format!("unknown provider {provider:?}"))
            })?;
            let rzone: switchback_api::Name = match &r.zone {
                None => zone.clone(),
                Some(z) => z
                    .parse()
                    .map_err(|e| self.invalid(&rk("zone"), format!("{z:?}: {e}")))?,
            };
            if !name.is_subdomain_of(&rzone) {
                return Err(
                    self.invalid(&rk("name"), format!("{name} is outside its zone {rzone}"))
                );
            }
            let rtype = switchback_api::RType::parse(r.rtype.trim())
                .filter(|t| !t.is_meta())
                .ok_or_else(|| {
                    self.invalid(&rk("type"), format!("unknown record type {:?}", r.rtype))
                })?;
            if !caps.record_types.contains(&rtype) {
                return Err(self.invalid(
                    &rk("type"),
                    format!("{name}/{rtype}: provider {provider:?} does not serve {rtype} records"),
                ));
            }
            if let switchback_api::provider::Support::No(reason) = &caps.weighted {
                staged = false;
                if c.steering == Steering::Weighted {
                    return Err(self.invalid(
                        &rk("provider"),
                        format!(
                            "cutover {:?}: steering = \"weighted\" needs weighted records, and \
                             {name}/{rtype} is on provider {provider:?}, which cannot: {reason}",
                            c.name
                        ),
                    ));
                }
            }
            if rtype == switchback_api::RType::SOA
                || (rtype == switchback_api::RType::NS && name == rzone)
            {
                return Err(self.invalid(
                    &rk("type"),
                    format!("the apex {rtype} set of a zone cannot be cut over"),
                ));
            }
            let mut recovery = Vec::new();
            for v in &r.recovery {
                let canon = switchback_api::rdata::canonicalize(rtype, v, &rzone).map_err(|e| {
                    self.invalid(
                        &rk("recovery"),
                        format!("{v:?} is not a valid {rtype} value: {e}"),
                    )
                })?;
                recovery.push(canon);
            }
            let at = ZoneKey {
                provider,
                zone: rzone,
            };
            if records
                .iter()
                .any(|x| x.name == name && x.rtype == rtype && x.at == at)
            {
                return Err(self.invalid(&rk("name"), format!("{name}/{rtype} is listed twice")));
            }
            records.push(CutoverRecord {
                name,
                rtype,
                recovery,
                at,
            });
        }
        let spec = |k: &str, v: &Option<toml::Value>| match v {
            None => Ok(None),
            Some(h) => h
                .clone()
                .try_into::<crate::health::HealthSpec>()
                .map(Some)
                .map_err(|e| self.invalid(k, one_line(&e.to_string()))),
        };
        let health = spec(&at, &c.health)?;
        let recovery_health = spec(&key("recovery_health"), &c.recovery_health)?;
        let rto_target = c
            .rto_target
            .as_deref()
            .map(|v| dur("rto_target", v))
            .transpose()?;
        let drill_soak = dur("drill_soak", &c.drill_soak)?;
        let drill_every = c
            .drill_every
            .as_deref()
            .map(|v| dur("drill_every", v))
            .transpose()?;
        if drill_every.is_some_and(|d| d < std::time::Duration::from_secs(10)) {
            return Err(self.invalid(&key("drill_every"), "must be at least 10s"));
        }
        let mut verify_ns = Vec::new();
        for (j, v) in c.verify_ns.iter().enumerate() {
            let addr = parse_server(v).ok_or_else(|| {
                self.invalid(
                    &key(&format!("verify_ns[{j}]")),
                    format!("{v:?}: expected an address, or ADDRESS:PORT"),
                )
            })?;
            verify_ns.push(addr);
        }
        Ok(Cutover {
            name: c.name.clone(),
            provider: c.provider.clone(),
            zone,
            steering: c.steering,
            staged,
            failback_stages: c.failback_stages.clone(),
            soak,
            auto_failover: c.auto_failover,
            auto_failback: c.auto_failback,
            health,
            hold_down,
            ttl: c.ttl,
            records,
            check: c.name.clone(),
            rto_target,
            verify_ns,
            drill_soak,
            drill_every,
            recovery_health,
        })
    }

    /// Every health check configured in `[[cutover]]` sections, by cutover name, in file order
    /// (one per cutover with a `health` table; named after the cutover, which is also the
    /// `health_check` field of the primary side of its weighted pairs).
    pub fn health_checks(&self) -> Vec<(String, crate::health::HealthSpec)> {
        self.cutovers
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let spec = self.resolve_cutover(i, c).ok()?.health?;
                Some((c.name.clone(), spec))
            })
            .collect()
    }
}

/// `192.0.2.53`, `192.0.2.53:5300`, `[2001:db8::53]:53` or `2001:db8::53` (port 53).
fn parse_server(v: &str) -> Option<SocketAddr> {
    let v = v.trim();
    v.parse::<SocketAddr>().ok().or_else(|| {
        v.parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}
