//! The RTO a user gets, measured on every step (DESIGN.md "RTO, measured"): when the trigger
//! came, when the plan was made, applied, verified at the provider, and visible at every
//! authoritative server of each zone (`verify_ns`; else the built-in server's own listeners
//! for a zone it serves; else the zone's NS addresses), asked with `+norec` until each
//! answers the new data; the worst case a client sees is visible + the old records' TTL.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use switchback_api::provider::Served;
use switchback_api::{Change, Name, RType, Zone};
use tracing::{Instrument, info, info_span, warn};

use super::step::{Ctx, Outcome};
use crate::health::norec;
use crate::store::RunId;

/// How long a step waits for every server to show its change.
pub const VISIBLE_WAIT: Duration = Duration::from_secs(30);
/// Between two rounds of queries to a server that does not show the change yet: often in
/// the first seconds (the figure is as exact as this), then less.
const POLL: Duration = Duration::from_millis(2);
const POLL_LATER: Duration = Duration::from_millis(20);
const POLL_FAST_FOR: Duration = Duration::from_secs(2);
/// One query's timeout.
const QUERY_TIMEOUT: Duration = Duration::from_millis(800);

/// What started a step, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Trigger {
    /// `command`, `webhook`, `health` (the probe that crossed `fall`), `drill`.
    pub kind: &'static str,
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
}

impl Trigger {
    pub fn now(kind: &'static str) -> Trigger {
        Trigger {
            kind,
            at: SystemTime::now(),
        }
    }
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&stamp(*t))
}

fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

/// One name and type a step changed, and the answers its new data gives: each allowed answer
/// is a sorted set of values (a weighted set's variants are each an answer; no data is the
/// empty set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub name: Name,
    pub rtype: RType,
    pub answers: Vec<Vec<String>>,
}

/// What one zone of a step looks like once it is served.
#[derive(Debug, Clone, Default)]
pub struct ZoneExpect {
    pub provider: String,
    pub zone: Option<Name>,
    pub names: Vec<Expected>,
    /// The SOA serial the change made, when it made one.
    pub serial: Option<u32>,
    /// The longest TTL of the record sets the step replaced or deleted.
    pub old_ttl: u32,
    /// The apex NS names, and the addresses the zone itself gives them.
    pub ns: Vec<Name>,
    pub glue: Vec<(Name, std::net::IpAddr)>,
}

fn soa_serial(z: &Zone) -> Option<u32> {
    z.record_sets
        .iter()
        .find(|rs| rs.rtype == RType::SOA && rs.name == z.origin)
        .and_then(|rs| rs.values.first())
        .and_then(|v| v.data.split_whitespace().nth(2)?.parse().ok())
}

impl ZoneExpect {
    /// From a zone's plan, what it was made to be (`desired`), and the zone before and after.
    pub fn new(
        provider: &str,
        changes: &[Change],
        desired: &Zone,
        before: Option<&Zone>,
        after: &Zone,
    ) -> ZoneExpect {
        let mut names: Vec<Expected> = Vec::new();
        let mut old_ttl = 0;
        for c in changes {
            let key = match c {
                Change::Create { after } => after,
                Change::Update { before, .. } | Change::Delete { before } => {
                    old_ttl = old_ttl.max(before.ttl);
                    before
                }
            };
            if names
                .iter()
                .any(|e| e.name == key.name && e.rtype == key.rtype)
            {
                continue;
            }
            let mut answers: Vec<Vec<String>> = desired
                .record_sets
                .iter()
                .filter(|rs| rs.name == key.name && rs.rtype == key.rtype && rs.weight != Some(0))
                .map(|rs| {
                    let mut v: Vec<String> = rs.values.iter().map(|v| v.data.clone()).collect();
                    v.sort();
                    v.dedup();
                    v
                })
                .collect();
            if answers.is_empty() {
                answers.push(Vec::new());
            }
            names.push(Expected {
                name: key.name.clone(),
                rtype: key.rtype,
                answers,
            });
        }
        let serial = soa_serial(after).filter(|s| before.and_then(soa_serial) != Some(*s));
        let ns: Vec<Name> = after
            .record_sets
            .iter()
            .filter(|rs| rs.rtype == RType::NS && rs.name == after.origin)
            .flat_map(|rs| rs.values.iter().filter_map(|v| v.data.parse().ok()))
            .collect();
        let glue = after
            .record_sets
            .iter()
            .filter(|rs| matches!(rs.rtype, RType::A | RType::AAAA) && ns.contains(&rs.name))
            .flat_map(|rs| {
                rs.values
                    .iter()
                    .filter_map(|v| v.data.parse().ok().map(|ip| (rs.name.clone(), ip)))
            })
            .collect();
        ZoneExpect {
            provider: provider.to_string(),
            zone: Some(after.origin.clone()),
            names,
            serial,
            old_ttl,
            ns,
            glue,
        }
    }
}

/// A step's times before the DNS check, as [`super::step::execute`] recorded them.
#[derive(Debug, Clone)]
pub struct StepTimes {
    pub trigger: Trigger,
    pub planned_at: SystemTime,
    pub applied_at: SystemTime,
    pub verified_at: SystemTime,
    pub zones: Vec<ZoneExpect>,
}

/// One server of one zone, as the check saw it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerSeen {
    pub zone: Name,
    pub server: SocketAddr,
    /// Seconds from the trigger until it answered the new data (None: never did).
    pub visible_seconds: Option<f64>,
    /// Seconds from the verify until it did: the propagation delay.
    pub after_verify_seconds: Option<f64>,
    /// Why it was not checked, or what it answered last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Seconds from the trigger to each phase's end.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Phases {
    pub plan: f64,
    pub applied: f64,
    pub verified: f64,
    /// Every checked server answered the new data (None: one never did, or none to check).
    pub visible: Option<f64>,
    /// Visible (or verified, with no server to check) + the old records' TTL.
    pub worst_case: f64,
}

impl Phases {
    pub fn each(&self) -> Vec<(&'static str, f64)> {
        let mut v = vec![
            ("plan", self.plan),
            ("applied", self.applied),
            ("verified", self.verified),
        ];
        if let Some(x) = self.visible {
            v.push(("visible", x));
        }
        v.push(("worst_case", self.worst_case));
        v
    }
}

/// The measured RTO of one step, as stored with its run.
#[derive(Debug, Clone, Serialize)]
pub struct Rto {
    pub cutover: String,
    pub step: String,
    pub stage: u32,
    pub run: RunId,
    pub trigger: Trigger,
    pub planned_at: String,
    pub applied_at: String,
    pub verified_at: String,
    pub visible_at: Option<String>,
    pub seconds: Phases,
    pub old_ttl: u32,
    pub servers: Vec<ServerSeen>,
    /// How many servers were asked for the change (the rest were unreachable, not
    /// authoritative, or there were none).
    pub checked: usize,
    pub rto_target_seconds: Option<f64>,
    /// The worst case is within `rto_target`.
    pub met: Option<bool>,
}

fn secs(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from).unwrap_or_default().as_secs_f64()
}

/// The built-in server's listeners as addresses to ask (an unspecified address: loopback).
pub fn own_listeners(cfg: &crate::config::Config) -> Vec<SocketAddr> {
    cfg.server
        .dns
        .iter()
        .map(|a| {
            let ip = match a.ip() {
                std::net::IpAddr::V4(v) if v.is_unspecified() => {
                    std::net::Ipv4Addr::LOCALHOST.into()
                }
                std::net::IpAddr::V6(v) if v.is_unspecified() => {
                    std::net::Ipv6Addr::LOCALHOST.into()
                }
                ip => ip,
            };
            SocketAddr::new(ip, a.port())
        })
        .collect()
}

/// Where zone `z`'s change is checked, or why nowhere.
async fn servers_of(ctx: &Ctx, z: &ZoneExpect) -> Result<Vec<SocketAddr>, String> {
    if !ctx.cutover.verify_ns.is_empty() {
        return Ok(ctx.cutover.verify_ns.clone());
    }
    let zone = z.zone.clone().unwrap_or_else(Name::root);
    let provider = ctx.providers.get(&z.provider).map_err(|e| e.to_string())?;
    match provider.wait_served(&zone, Duration::from_millis(1)).await {
        Served::NotApplicable => {}
        Served::NoServer => return Err("no `switchback serve` serves the zone".into()),
        Served::Served { .. } | Served::Late { .. } => {
            return Ok(own_listeners(ctx.providers.config()));
        }
    }
    let mut out = Vec::new();
    for ns in &z.ns {
        let glued: Vec<SocketAddr> = z
            .glue
            .iter()
            .filter(|(n, _)| n == ns)
            .map(|(_, ip)| SocketAddr::new(*ip, 53))
            .collect();
        if !glued.is_empty() {
            out.extend(glued);
            continue;
        }
        let host = ns.to_string();
        let host = host.trim_end_matches('.').to_string();
        if let Ok(Ok(addrs)) =
            tokio::time::timeout(Duration::from_secs(2), tokio::net::lookup_host((host, 53))).await
        {
            out.extend(addrs);
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err("no NS address of the zone resolves (set verify_ns)".into());
    }
    Ok(out)
}

/// Whether `server` answers the zone's new data now; the detail when not.
async fn shows(server: SocketAddr, z: &ZoneExpect, zone: &Name) -> Result<(), String> {
    if let Some(want) = z.serial {
        let a = norec::query(server, zone, RType::SOA, QUERY_TIMEOUT).await?;
        match a.serial {
            Some(s) if norec::serial_at_least(s, want) => {}
            Some(s) => return Err(format!("serial {s}, not yet {want}")),
            None => return Err(format!("no SOA for {zone}")),
        }
    }
    for e in &z.names {
        let a = norec::query(server, &e.name, e.rtype, QUERY_TIMEOUT).await?;
        if !e.answers.contains(&a.values) {
            return Err(format!(
                "{}/{} answers [{}]",
                e.name,
                e.rtype,
                a.values.join(", ")
            ));
        }
    }
    Ok(())
}

/// Ask `server` until it shows the change (or [`VISIBLE_WAIT`] passed).
async fn watch(server: SocketAddr, z: ZoneExpect, times: (SystemTime, SystemTime)) -> ServerSeen {
    let zone = z.zone.clone().unwrap_or_else(Name::root);
    let (trigger, verified) = times;
    let seen = |visible: Option<SystemTime>, error: Option<String>| ServerSeen {
        zone: zone.clone(),
        server,
        visible_seconds: visible.map(|t| secs(trigger, t)),
        after_verify_seconds: visible.map(|t| secs(verified, t)),
        error,
    };
    // A server that is not authoritative for the zone (or not there) is reported, not
    // waited for.
    match norec::query(server, &zone, RType::SOA, QUERY_TIMEOUT).await {
        Ok(a) if a.authoritative && a.rcode == 0 => {}
        Ok(a) => {
            return seen(
                None,
                Some(format!(
                    "not authoritative for {zone} (rcode {}, aa {})",
                    a.rcode, a.authoritative
                )),
            );
        }
        Err(e) => return seen(None, Some(e)),
    }
    let start = Instant::now();
    loop {
        match shows(server, &z, &zone).await {
            Ok(()) => return seen(Some(SystemTime::now()), None),
            Err(detail) if start.elapsed() >= VISIBLE_WAIT => {
                return seen(
                    None,
                    Some(format!(
                        "did not show the change within {VISIBLE_WAIT:?}: {detail}"
                    )),
                );
            }
            Err(_) if start.elapsed() < POLL_FAST_FOR => tokio::time::sleep(POLL).await,
            Err(_) => tokio::time::sleep(POLL_LATER).await,
        }
    }
}

/// Check every zone's servers, then store and return the step's RTO.
pub async fn observe(ctx: &Ctx, outcome: &Outcome) -> Option<Rto> {
    let times = outcome.times.clone()?;
    let span = info_span!("rto", cutover = %outcome.cutover, step = outcome.kind.as_str(), run = %outcome.run);
    let rto = measure(ctx, outcome, times).instrument(span).await;
    if let Err(e) = ctx.store.put_step_timing(
        outcome.run,
        &outcome.cutover,
        outcome.kind.as_str(),
        outcome.stage,
        &serde_json::to_value(&rto).unwrap_or_default(),
    ) {
        warn!(cutover = %outcome.cutover, error = %e, "the step's RTO was not stored");
    }
    Some(rto)
}

/// [`observe`] in the background (automation: the next check must not wait for it).
pub fn spawn_observe(ctx: &Ctx, outcome: &Outcome) {
    let ctx = Ctx {
        store: ctx.store.clone(),
        providers: ctx.providers.clone(),
        cutover: ctx.cutover.clone(),
        health: ctx.health.clone(),
        node: ctx.node.clone(),
        notify: ctx.notify,
    };
    let outcome = outcome.clone();
    tokio::spawn(async move {
        observe(&ctx, &outcome).await;
    });
}

async fn measure(ctx: &Ctx, outcome: &Outcome, t: StepTimes) -> Rto {
    let mut tasks = tokio::task::JoinSet::new();
    let mut servers = Vec::new();
    let mut old_ttl = 0;
    for z in &t.zones {
        old_ttl = old_ttl.max(z.old_ttl);
        if z.names.is_empty() && z.serial.is_none() {
            continue;
        }
        let zone = z.zone.clone().unwrap_or_else(Name::root);
        match servers_of(ctx, z).await {
            Ok(list) => {
                for s in list {
                    tasks.spawn(watch(s, z.clone(), (t.trigger.at, t.verified_at)));
                }
            }
            Err(e) => servers.push(ServerSeen {
                zone,
                server: SocketAddr::from(([0, 0, 0, 0], 0)),
                visible_seconds: None,
                after_verify_seconds: None,
                error: Some(e),
            }),
        }
    }
    let checked = tasks.len();
    while let Some(r) = tasks.join_next().await {
        if let Ok(s) = r {
            servers.push(s);
        }
    }
    servers.sort_by(|a, b| (&a.zone, a.server).cmp(&(&b.zone, b.server)));
    let watched: Vec<&ServerSeen> = servers
        .iter()
        .filter(|s| s.visible_seconds.is_some() || !is_unchecked(s))
        .collect();
    let visible = if checked == 0 || watched.is_empty() {
        None
    } else if watched.iter().all(|s| s.visible_seconds.is_some()) {
        watched
            .iter()
            .filter_map(|s| s.visible_seconds)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))
    } else {
        None
    };
    let verified = secs(t.trigger.at, t.verified_at);
    let worst_case = visible.unwrap_or(verified) + f64::from(old_ttl);
    let target = ctx.cutover.rto_target.map(|d| d.as_secs_f64());
    let rto = Rto {
        cutover: outcome.cutover.clone(),
        step: outcome.kind.as_str().to_string(),
        stage: outcome.stage,
        run: outcome.run,
        trigger: t.trigger,
        planned_at: stamp(t.planned_at),
        applied_at: stamp(t.applied_at),
        verified_at: stamp(t.verified_at),
        visible_at: visible.map(|v| stamp(t.trigger.at + Duration::from_secs_f64(v))),
        seconds: Phases {
            plan: secs(t.trigger.at, t.planned_at),
            applied: secs(t.trigger.at, t.applied_at),
            verified,
            visible,
            worst_case,
        },
        old_ttl,
        checked: watched.len(),
        servers,
        rto_target_seconds: target,
        met: target.map(|x| worst_case <= x),
    };
    info!(
        applied = rto.seconds.applied,
        verified = rto.seconds.verified,
        visible = ?rto.seconds.visible,
        worst_case = rto.seconds.worst_case,
        "step RTO measured"
    );
    rto
}

/// A server that was never asked for the change (not authoritative, unreachable, none).
pub fn is_unchecked(s: &ServerSeen) -> bool {
    s.visible_seconds.is_none()
        && s.error
            .as_deref()
            .is_some_and(|e| !e.starts_with("did not show the change"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchback_api::RecordSet;

    fn a(name: &str, ttl: u32, id: Option<(&str, u32)>, v: &[&str]) -> RecordSet {
        let mut rs = RecordSet::new(
            name.parse().unwrap(),
            RType::A,
            ttl,
            v.iter().map(|s| s.to_string()),
        );
        if let Some((id, w)) = id {
            rs.set_identifier = Some(id.into());
            rs.weight = Some(w);
        }
        rs
    }

    #[test]
    fn each_weighted_variant_with_weight_is_an_answer_and_the_old_ttl_counts() {
        let origin: Name = "example.com.".parse().unwrap();
        let old = a("www.example.com.", 300, None, &["192.0.2.80"]);
        let desired = Zone::new(
            origin.clone(),
            vec![
                a(
                    "www.example.com.",
                    60,
                    Some(("primary", 0)),
                    &["192.0.2.80"],
                ),
                a(
                    "www.example.com.",
                    60,
                    Some(("recovery", 100)),
                    &["198.51.100.80"],
                ),
            ],
        );
        let changes = vec![
            Change::Delete { before: old },
            Change::Create {
                after: desired.record_sets[0].clone(),
            },
            Change::Create {
                after: desired.record_sets[1].clone(),
            },
        ];
        let soa = |serial: u32| {
            RecordSet::new(
                origin.clone(),
                RType::SOA,
                300,
                [format!(
                    "ns1.example.com. hostmaster.example.com. {serial} 7200 900 1209600 300"
                )],
            )
        };
        let before = Zone::new(origin.clone(), vec![soa(1)]);
        let after = Zone::new(origin.clone(), vec![soa(2)]);
        let e = ZoneExpect::new("builtin", &changes, &desired, Some(&before), &after);
        assert_eq!(e.names.len(), 1);
        assert_eq!(e.names[0].answers, vec![vec!["198.51.100.80".to_string()]]);
        assert_eq!(e.old_ttl, 300);
        assert_eq!(e.serial, Some(2));
        // No serial change (an API provider): only the answers are asked for.
        let e = ZoneExpect::new("r53", &changes, &desired, Some(&after), &after);
        assert_eq!(e.serial, None);
    }
}
