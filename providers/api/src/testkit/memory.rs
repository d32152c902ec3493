//! An in-memory provider: the reference for the battery and a stand-in for planner tests.

use super::*;

/// An SOA + NS zone to start from.
pub fn empty_zone(origin: &Name) -> Zone {
    let o = origin.to_string();
    Zone::new(
        origin.clone(),
        vec![
            RecordSet::new(
                origin.clone(),
                RType::SOA,
                3600,
                [format!("ns1.{o} hostmaster.{o} 1 7200 3600 1209600 300")],
            ),
            RecordSet::new(
                origin.clone(),
                RType::NS,
                3600,
                [format!("ns1.{o}"), format!("ns2.{o}")],
            ),
        ],
    )
}

/// The record types [`MemoryProvider`] holds by default: every type the battery has a sample
/// for, and SOA.
pub fn sampled_types() -> Vec<RType> {
    let mut v: Vec<RType> = (1..=300u16)
        .map(RType)
        .filter(|t| sample(*t).is_some())
        .collect();
    v.push(RType::SOA);
    v.sort();
    v
}

/// A provider that keeps zones in memory: applies with exact `before` matching, all or nothing,
/// refuses a step that leaves a CNAME beside other data (RFC 1034), bumps the SOA serial on
/// every change. The reference for the battery and a stand-in for planner tests.
pub struct MemoryProvider {
    name: String,
    caps: Capabilities,
    zones: Mutex<BTreeMap<Name, Zone>>,
    applies: std::sync::atomic::AtomicUsize,
}

impl MemoryProvider {
    pub fn new(name: impl Into<String>) -> MemoryProvider {
        MemoryProvider {
            name: name.into(),
            caps: Capabilities {
                weighted: Support::Yes,
                comments: Support::Yes,
                tags: Support::Yes,
                atomic_batches: Support::Yes,
                max_batch: None,
                min_ttl: 0,
                record_types: sampled_types(),
                ..Capabilities::default()
            },
            zones: Mutex::new(BTreeMap::new()),
            applies: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// A provider holding `empty_zone(origin)`.
    pub fn with_empty_zone(name: impl Into<String>, origin: &Name) -> MemoryProvider {
        let p = MemoryProvider::new(name);
        p.insert_zone(empty_zone(origin));
        p
    }

    pub fn with_capabilities(mut self, caps: Capabilities) -> MemoryProvider {
        self.caps = caps;
        self
    }

    /// Add or replace a zone.
    pub fn insert_zone(&self, zone: Zone) {
        let zone = Zone::new(zone.origin, zone.record_sets);
        self.lock().insert(zone.origin.clone(), zone);
    }

    /// The zone as held (no copy of provider semantics: exactly what is stored).
    pub fn zone(&self, origin: &Name) -> Option<Zone> {
        self.lock().get(origin).cloned()
    }

    /// How many change sets were applied successfully.
    pub fn applies(&self) -> usize {
        self.applies.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Name, Zone>> {
        self.zones.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(super) fn bump_serial(zone: &mut Zone) {
    let origin = zone.origin.clone();
    for rs in &mut zone.record_sets {
        if rs.rtype == RType::SOA && rs.name == origin {
            for v in &mut rs.values {
                let mut f: Vec<String> = v
                    .data
                    .split_ascii_whitespace()
                    .map(str::to_string)
                    .collect();
                if f.len() == 7 {
                    if let Ok(serial) = f[2].parse::<u32>() {
                        f[2] = serial.wrapping_add(1).max(1).to_string();
                        v.data = f.join(" ");
                    }
                }
            }
        }
    }
}

#[async_trait]
impl Provider for MemoryProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    async fn list_zones(&self) -> Result<Vec<ZoneRef>, ProviderError> {
        Ok(self
            .lock()
            .keys()
            .map(|n| ZoneRef {
                name: n.clone(),
                id: n.to_string(),
            })
            .collect())
    }

    async fn read_zone(&self, zone: &Name) -> Result<Zone, ProviderError> {
        self.zone(zone)
            .ok_or_else(|| ProviderError::ZoneNotFound(zone.to_string()))
    }

    async fn apply(&self, zone: &Name, changes: &[Change]) -> Result<ApplyReport, ProviderError> {
        let mut zones = self.lock();
        let live = zones
            .get(zone)
            .ok_or_else(|| ProviderError::ZoneNotFound(zone.to_string()))?;
        let mut next = live.clone();
        let caps = &self.caps;
        apply_changes_stepwise(&mut next, changes, |_, c, here| {
            if let Some(after) = c.after() {
                caps.check(after).map_err(|e| e.to_string())?;
                if !after.name.is_subdomain_of(zone) {
                    return Err(format!("{} is outside the zone {zone}", after.name));
                }
                if cname_conflict(here) {
                    return Err(format!(
                        "a CNAME and other data at {} (RFC 1034 §3.6.2)",
                        after.name
                    ));
                }
            }
            Ok(())
        })
        .map_err(ProviderError::from)?;
        if !changes.is_empty() {
            bump_serial(&mut next);
            self.applies
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        zones.insert(zone.clone(), next);
        Ok(ApplyReport {
            batches: 1,
            api_calls: 1,
        })
    }
}
