//! The conformance battery every provider runs (feature `testkit`).
//!
//! Each battery item is an async function taking a provider and a zone it serves (an empty-ish
//! zone: its apex SOA and NS, perhaps a few unrelated sets). Every step goes through
//! [`plan::plan`] and [`Provider::apply`], then reads the zone back and checks that a re-plan
//! is empty. Items use names `sb-…` below the zone, leave the zone as they found it when they
//! pass, and return `Err` with a message that names the step, the plan and what differs.
//!
//! A provider opts in with one line in an integration test:
//!
//! ```ignore
//! switchback_api::conformance_battery!(make_provider);
//!
//! // Anything that converts into a `Fixture`: `(Box<dyn Provider>, Name)`,
//! // `(Arc<dyn Provider>, Name)`, `(Box<dyn Provider>, Name, guard)` or a `Fixture`.
//! async fn make_provider() -> Fixture {
//!     let dir = tempfile::tempdir().unwrap();
//!     let provider = MyProvider::open(dir.path()).await.unwrap();
//!     Fixture::new(provider, "example.com.".parse().unwrap()).with_guard(dir)
//! }
//! ```
//!
//! This generates a module `conformance` with one `#[test]` per item (each on its own
//! multi-threaded tokio runtime, and each with a fresh fixture: the factory is called once per
//! test, and tests run in parallel, so each call must return a zone no other test touches —
//! a fresh temp dir, or a zone of its own on a shared emulator). A guard (temp dir, emulator
//! process) is dropped after the provider, inside the runtime.
//! `conformance_battery!(my_module, make_provider)` names the module.

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::plan::{self, DiffOptions, Plan};
use crate::{
    ApplyReport, Capabilities, Change, Name, Provider, ProviderError, RType, RecordSet,
    RecordValue, Support, Zone, ZoneRef,
};

pub use crate::plan::{
    ApplyError, apply_changes, apply_changes_stepwise, cname_conflict, cname_conflicts,
    equal_ignoring_soa_serial,
};

// ---------------------------------------------------------------------------------------------
// Fixtures and the opt-in macro
// ---------------------------------------------------------------------------------------------

/// A provider under test, the zone the battery may use, and whatever must stay alive while the
/// provider runs (temp dirs, emulator processes). The guards drop after the provider.
pub struct Fixture {
    provider: Arc<dyn Provider>,
    zone: Name,
    // Declared last: dropped after the provider.
    guards: Vec<Box<dyn Any + Send>>,
}

impl Fixture {
    pub fn new(provider: impl Provider + 'static, zone: Name) -> Fixture {
        Fixture::from_arc(Arc::new(provider), zone)
    }

    pub fn from_arc(provider: Arc<dyn Provider>, zone: Name) -> Fixture {
        Fixture {
            provider,
            zone,
            guards: Vec::new(),
        }
    }

    /// Keep `guard` alive until the fixture is dropped (after the provider).
    pub fn with_guard(mut self, guard: impl Any + Send) -> Fixture {
        self.guards.push(Box::new(guard));
        self
    }

    pub fn provider(&self) -> &dyn Provider {
        &*self.provider
    }

    pub fn zone(&self) -> &Name {
        &self.zone
    }
}

impl From<(Box<dyn Provider>, Name)> for Fixture {
    fn from((p, zone): (Box<dyn Provider>, Name)) -> Fixture {
        Fixture::from_arc(Arc::from(p), zone)
    }
}

impl From<(Arc<dyn Provider>, Name)> for Fixture {
    fn from((p, zone): (Arc<dyn Provider>, Name)) -> Fixture {
        Fixture::from_arc(p, zone)
    }
}

impl<G: Any + Send> From<(Box<dyn Provider>, Name, G)> for Fixture {
    fn from((p, zone, guard): (Box<dyn Provider>, Name, G)) -> Fixture {
        Fixture::from_arc(Arc::from(p), zone).with_guard(guard)
    }
}

impl<G: Any + Send> From<(Arc<dyn Provider>, Name, G)> for Fixture {
    fn from((p, zone, guard): (Arc<dyn Provider>, Name, G)) -> Fixture {
        Fixture::from_arc(p, zone).with_guard(guard)
    }
}

/// Run one battery item on a fresh multi-threaded tokio runtime; panic with the item's name
/// and message when it fails. Used by [`conformance_battery!`](crate::conformance_battery).
pub fn run(item: &str, fut: impl Future<Output = Result<(), String>>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("conformance battery: cannot start a tokio runtime");
    if let Err(e) = rt.block_on(fut) {
        panic!("conformance battery item `{item}` failed: {e}");
    }
}

/// The battery's items, in the order [`all`] runs them.
pub const ITEMS: &[&str] = &[
    "create",
    "update",
    "delete",
    "record_types",
    "txt_edge_cases",
    "weighted",
    "cname_swap",
    "idempotent_replan",
    "snapshot_restore",
    "large_change_set",
    "stale_before_fails",
];

/// Opt a provider into the conformance battery with one line:
/// `switchback_api::conformance_battery!(factory);` where `async fn factory() -> T` and
/// `T: Into<switchback_api::testkit::Fixture>`. Generates `mod conformance` with one test per
/// item; `conformance_battery!(name, factory)` names the module.
#[macro_export]
macro_rules! conformance_battery {
    ($module:ident, $factory:path) => {
        #[cfg(test)]
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            async fn __switchback_fixture() -> $crate::testkit::Fixture {
                ::core::convert::Into::into($factory().await)
            }

            $crate::conformance_battery!(
                @tests __switchback_fixture;
                create, update, delete, record_types, txt_edge_cases, weighted, cname_swap,
                idempotent_replan, snapshot_restore, large_change_set, stale_before_fails
            );
        }
    };
    ($factory:path) => {
        $crate::conformance_battery!(conformance, $factory);
    };
    (@tests $fixture:ident; $($item:ident),* $(,)?) => {
        $(
            #[test]
            fn $item() {
                $crate::testkit::run(::core::stringify!($item), async {
                    let fixture = $fixture().await;
                    $crate::testkit::$item(fixture.provider(), fixture.zone()).await
                });
            }
        )*
    };
}

/// Run every item in turn on one provider and zone (each leaves the zone as it found it), and
/// report every failure. For providers that can only offer one zone at a time.
pub async fn all(provider: &dyn Provider, zone: &Name) -> Result<(), String> {
    let mut failures = Vec::new();
    for item in ITEMS {
        let r = match *item {
            "create" => create(provider, zone).await,
            "update" => update(provider, zone).await,
            "delete" => delete(provider, zone).await,
            "record_types" => record_types(provider, zone).await,
            "txt_edge_cases" => txt_edge_cases(provider, zone).await,
            "weighted" => weighted(provider, zone).await,
            "cname_swap" => cname_swap(provider, zone).await,
            "idempotent_replan" => idempotent_replan(provider, zone).await,
            "snapshot_restore" => snapshot_restore(provider, zone).await,
            "large_change_set" => large_change_set(provider, zone).await,
            "stale_before_fails" => stale_before_fails(provider, zone).await,
            other => Err(format!("unknown item {other}")),
        };
        if let Err(e) = r {
            failures.push(format!("{item}: {e}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Options for every diff of the battery: the provider may own the SOA serial (the battery
/// never changes the SOA, so this only hides serial bumps).
fn opts() -> DiffOptions {
    DiffOptions {
        only: Vec::new(),
        provider_manages_soa_serial: true,
    }
}

fn rel(zone: &Name, label: &str) -> Name {
    Name::parse(label, Some(zone)).expect("battery names are valid")
}

fn set(zone: &Name, label: &str, t: RType, ttl: u32, values: &[&str]) -> RecordSet {
    RecordSet::new(
        rel(zone, label),
        t,
        ttl,
        values.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
    )
}

/// A TTL the provider accepts, close to `want`.
fn ttl(caps: &Capabilities, want: u32) -> u32 {
    want.max(caps.min_ttl)
}

fn supports(caps: &Capabilities, t: RType) -> bool {
    caps.record_types.contains(&t)
}

fn require(caps: &Capabilities, t: RType) -> Result<(), String> {
    if supports(caps, t) {
        Ok(())
    } else {
        Err(format!(
            "the provider's capabilities do not list {t}; the battery needs it"
        ))
    }
}

fn skip(item: &str, why: &str) -> Result<(), String> {
    eprintln!("conformance battery: {item}: skipped ({why})");
    Ok(())
}

/// `zone` with the sets of `add` added (replacing sets with the same key) and the sets whose
/// key is in `remove` removed.
fn edit(zone: &Zone, add: &[RecordSet], remove: &[&RecordSet]) -> Zone {
    let mut sets: Vec<RecordSet> = zone
        .record_sets
        .iter()
        .filter(|rs| {
            !add.iter().any(|a| a.key() == rs.key()) && !remove.iter().any(|r| r.key() == rs.key())
        })
        .cloned()
        .collect();
    sets.extend(add.iter().cloned());
    Zone::new(zone.origin.clone(), sets)
}

fn describe(changes: &[Change]) -> String {
    let mut out = String::new();
    for (i, c) in changes.iter().enumerate() {
        if i == 12 {
            out.push_str(&format!("\n  … and {} more", changes.len() - i));
            break;
        }
        out.push_str(&format!("\n  {} {}", c.op(), c.key()));
        match c {
            Change::Create { after } => out.push_str(&format!(" = {}", show(after))),
            Change::Update { before, after } => {
                out.push_str(&format!(": {} -> {}", show(before), show(after)))
            }
            Change::Delete { before } => out.push_str(&format!(" (was {})", show(before))),
        }
    }
    out
}

fn show(rs: &RecordSet) -> String {
    let mut text = serde_json::to_string(rs).unwrap_or_default();
    if text.len() > 300 {
        let mut cut = 300;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

async fn read(p: &dyn Provider, zone: &Name, step: &str) -> Result<Zone, String> {
    p.read_zone(zone)
        .await
        .map_err(|e| format!("{step}: read_zone({zone}) failed: {e}"))
}

fn make_plan(p: &dyn Provider, live: &Zone, desired: &Zone, step: &str) -> Result<Plan, String> {
    plan::plan(p.name(), p.capabilities(), live, desired, &opts())
        .map_err(|e| format!("{step}: the planner refused: {e}"))
}

/// Make the live zone equal to `desired` through one plan and one apply, then read it back
/// and check that a re-plan is empty. Returns the plan that was applied.
async fn converge(
    p: &dyn Provider,
    zone: &Name,
    desired: &Zone,
    step: &str,
) -> Result<Plan, String> {
    let live = read(p, zone, step).await?;
    let plan = make_plan(p, &live, desired, step)?;
    if !plan.is_empty() {
        p.apply(zone, &plan.changes).await.map_err(|e| {
            format!(
                "{step}: apply failed: {e}\n the plan was:{}",
                describe(&plan.changes)
            )
        })?;
    }
    let after = read(p, zone, step).await?;
    let again = make_plan(p, &after, desired, step)?;
    if !again.is_empty() {
        return Err(format!(
            "{step}: after applying{}\n the live zone still differs from the desired one; a \
             re-plan gives:{}",
            describe(&plan.changes),
            describe(&again.changes)
        ));
    }
    Ok(plan)
}

fn expect_counts(plan: &Plan, want: (usize, usize, usize), step: &str) -> Result<(), String> {
    if plan.counts() == want {
        Ok(())
    } else {
        Err(format!(
            "{step}: expected (creates, updates, deletes) = {want:?}, the plan has {:?}:{}",
            plan.counts(),
            describe(&plan.changes)
        ))
    }
}

/// Back to the zone as it was at the start of an item.
async fn restore(p: &dyn Provider, zone: &Name, start: &Zone, step: &str) -> Result<(), String> {
    converge(p, zone, start, step).await.map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Sample values
// ---------------------------------------------------------------------------------------------

const HEX32: &str = "E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766";
const KEY64: &str =
    "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==";

/// Where the battery puts a sample of type `t` (relative to the zone; `@` is the apex) and its
/// values in canonical presentation form. `None` for a type the battery has no sample for.
pub fn sample(t: RType) -> Option<(&'static str, Vec<&'static str>)> {
    let (label, values): (&str, Vec<&str>) = match t {
        RType::A => ("sb-a", vec!["192.0.2.1", "192.0.2.2"]),
        RType::AAAA => ("sb-aaaa", vec!["2001:db8::1", "2001:db8::2"]),
        RType::CNAME => ("sb-cname", vec!["target.example.net."]),
        RType::MX => ("sb-mx", vec!["10 mx1.example.net.", "20 mx2.example.net."]),
        RType::TXT => ("sb-txt", vec!["\"v=sample1\"", "\"hello\" \"world\""]),
        RType::SPF => ("sb-spf", vec!["\"v=spf1 -all\""]),
        RType::SRV => (
            "_sip._tcp.sb-srv",
            vec![
                "10 60 5060 sip1.example.net.",
                "20 0 5060 sip2.example.net.",
            ],
        ),
        RType::CAA => (
            "sb-caa",
            vec![
                "0 issue \"letsencrypt.org\"",
                "0 iodef \"mailto:security@example.net\"",
            ],
        ),
        RType::PTR => ("sb-ptr", vec!["host.example.net."]),
        RType::NAPTR => (
            "sb-naptr",
            vec!["100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.net!\" ."],
        ),
        RType::DS => ("sb-deleg", vec![ds_sample()]),
        RType::CDS => ("@", vec![ds_sample()]),
        RType::DNSKEY => ("sb-dnskey", vec![dnskey_sample()]),
        RType::CDNSKEY => ("@", vec![dnskey_sample()]),
        RType::SSHFP => ("sb-sshfp", vec![sshfp_sample()]),
        RType::TLSA => ("_443._tcp.sb-tlsa", vec![tlsa_sample()]),
        RType::SMIMEA => ("sb-smimea", vec![tlsa_sample()]),
        RType::SVCB => (
            "_dns.sb-svcb",
            vec!["1 dns.example.net. alpn=\"dot\" port=853"],
        ),
        RType::HTTPS => ("sb-https", vec!["1 . alpn=\"h3,h2\""]),
        RType::NS => ("sb-deleg", vec!["ns1.example.net.", "ns2.example.net."]),
        RType::HINFO => ("sb-hinfo", vec!["\"PC-Intel-700mhz\" \"NetBSD-1.4\""]),
        RType::URI => ("_http._tcp.sb-uri", vec!["10 1 \"https://example.net/\""]),
        RType::RP => ("sb-rp", vec!["admin.example.net. ."]),
        RType::AFSDB => ("sb-afsdb", vec!["1 afs.example.net."]),
        RType::KX => ("sb-kx", vec!["10 kx.example.net."]),
        RType::DNAME => ("sb-dname", vec!["example.net."]),
        RType::EUI48 => ("sb-eui48", vec!["00-00-5e-00-53-2a"]),
        RType::EUI64 => ("sb-eui64", vec!["00-00-5e-ef-10-00-00-2a"]),
        _ => return None,
    };
    Some((label, values))
}

fn ds_sample() -> &'static str {
    static DS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DS.get_or_init(|| format!("12345 13 2 {HEX32}"))
}

fn dnskey_sample() -> &'static str {
    static K: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    K.get_or_init(|| format!("257 3 13 {KEY64}"))
}

fn sshfp_sample() -> &'static str {
    static S: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    S.get_or_init(|| format!("4 2 {HEX32}"))
}

fn tlsa_sample() -> &'static str {
    static T: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    T.get_or_init(|| format!("3 1 1 {HEX32}"))
}

/// TXT values a provider must keep exactly, in canonical presentation form.
pub fn txt_edge_values() -> Vec<(&'static str, String)> {
    let long: String = "0123456789abcdefghijklmnopqrstuvwxyz"
        .chars()
        .cycle()
        .take(255)
        .collect();
    vec![
        ("sb-txt-long", format!("\"{long}\"")),
        (
            "sb-txt-several",
            "\"first string\" \"second\" \"third\"".to_string(),
        ),
        (
            "sb-txt-escapes",
            r#""say \"hi\" to C:\\dir\\ ; not a comment""#.to_string(),
        ),
        (
            "sb-txt-nonascii",
            r#""caf\195\169 \226\130\172 tab\009end""#.to_string(),
        ),
        ("sb-txt-empty", "\"\"".to_string()),
        (
            "sb-txt-long-several",
            format!("\"{long}\" \"{long}\" \"{long}\""),
        ),
        ("sb-txt-spaces", "\"  leading and trailing  \"".to_string()),
    ]
}

// ---------------------------------------------------------------------------------------------
// The battery
// ---------------------------------------------------------------------------------------------

/// Create record sets (several values, several types at one name) and read them back exactly.
pub async fn create(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "create: initial read").await?;
    let mut add = vec![set(
        zone,
        "sb-create",
        RType::A,
        ttl(caps, 300),
        &["192.0.2.1", "192.0.2.2", "192.0.2.3"],
    )];
    if supports(caps, RType::TXT) {
        add.push(set(
            zone,
            "sb-create",
            RType::TXT,
            ttl(caps, 300),
            &["\"created by the battery\""],
        ));
    }
    if supports(caps, RType::AAAA) {
        add.push(set(
            zone,
            "sb-create-2",
            RType::AAAA,
            ttl(caps, 3600),
            &["2001:db8::10"],
        ));
    }
    let plan = converge(p, zone, &edit(&start, &add, &[]), "create").await?;
    expect_counts(&plan, (add.len(), 0, 0), "create")?;
    let live = read(p, zone, "create: read back").await?;
    for want in &add {
        match live.get(&want.key()) {
            Some(got) if got == want => {}
            got => {
                return Err(format!(
                    "create: read back {} as {}, wrote {}",
                    want.key(),
                    got.map(show).unwrap_or_else(|| "nothing".into()),
                    show(want)
                ));
            }
        }
    }
    let plan = converge(p, zone, &start, "create: clean up").await?;
    expect_counts(&plan, (0, 0, add.len()), "create: clean up")
}

/// Update a set's TTL, its values, both; each an update (not a delete and a create).
pub async fn update(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "update: initial read").await?;
    let t1 = ttl(caps, 300);
    let t2 = ttl(caps, 90);
    let steps: Vec<(&str, RecordSet)> = vec![
        ("seed", set(zone, "sb-update", RType::A, t1, &["192.0.2.1"])),
        ("TTL", set(zone, "sb-update", RType::A, t2, &["192.0.2.1"])),
        (
            "add a value",
            set(zone, "sb-update", RType::A, t2, &["192.0.2.1", "192.0.2.2"]),
        ),
        (
            "replace a value",
            set(zone, "sb-update", RType::A, t2, &["192.0.2.2", "192.0.2.3"]),
        ),
        (
            "remove a value",
            set(zone, "sb-update", RType::A, t2, &["192.0.2.3"]),
        ),
        (
            "TTL and values",
            set(
                zone,
                "sb-update",
                RType::A,
                t1,
                &["198.51.100.1", "198.51.100.2", "198.51.100.3"],
            ),
        ),
    ];
    for (i, (what, rs)) in steps.iter().enumerate() {
        let step = format!("update: {what}");
        if i > 0 && *rs == steps[i - 1].1 {
            continue; // min_ttl made two steps equal
        }
        let plan = converge(p, zone, &edit(&start, std::slice::from_ref(rs), &[]), &step).await?;
        let want = if i == 0 { (1, 0, 0) } else { (0, 1, 0) };
        expect_counts(&plan, want, &step)?;
    }
    let plan = converge(p, zone, &start, "update: clean up").await?;
    expect_counts(&plan, (0, 0, 1), "update: clean up")
}

/// Delete one set and leave its neighbours (same name, other type; other names) alone.
pub async fn delete(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "delete: initial read").await?;
    let t = ttl(caps, 300);
    let one = set(zone, "sb-delete-1", RType::A, t, &["192.0.2.1"]);
    let two = set(zone, "sb-delete-2", RType::A, t, &["192.0.2.2"]);
    let mut seeded = vec![one.clone(), two.clone()];
    if supports(caps, RType::TXT) {
        seeded.push(set(zone, "sb-delete-1", RType::TXT, t, &["\"stays\""]));
    }
    converge(p, zone, &edit(&start, &seeded, &[]), "delete: seed").await?;
    let seeded_zone = edit(&start, &seeded, &[]);
    let plan = converge(
        p,
        zone,
        &edit(&seeded_zone, &[], &[&one]),
        "delete: one set",
    )
    .await?;
    expect_counts(&plan, (0, 0, 1), "delete: one set")?;
    let live = read(p, zone, "delete: read back").await?;
    if live.get(&one.key()).is_some() {
        return Err(format!("delete: {} is still there", one.key()));
    }
    let plan = converge(p, zone, &start, "delete: the rest").await?;
    expect_counts(&plan, (0, 0, seeded.len() - 1), "delete: the rest")?;
    let end = read(p, zone, "delete: final read").await?;
    if !equal_ignoring_soa_serial(&start, &end) {
        return Err(format!(
            "delete: the zone is not back to where it started:{}",
            describe(&plan::diff(&end, &start, &opts()))
        ));
    }
    Ok(())
}

/// Every record type the provider's capabilities list, with canonical sample values: created
/// one type per plan, read back exactly, then deleted together.
pub async fn record_types(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    let start = read(p, zone, "record_types: initial read").await?;
    let mut types: Vec<RType> = caps.record_types.clone();
    types.sort();
    types.dedup();
    let mut missing = Vec::new();
    let mut desired = start.clone();
    let mut created = 0;
    for t in types {
        if t == RType::SOA || t.is_meta() {
            continue;
        }
        let Some((label, values)) = sample(t) else {
            missing.push(t);
            continue;
        };
        let name = rel(zone, label);
        let rs = RecordSet::new(
            name,
            t,
            ttl(caps, 300),
            values.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
        );
        if desired.get(&rs.key()).is_some() {
            // The zone already has such a set (e.g. an apex CDS): leave it alone.
            continue;
        }
        desired = edit(&desired, &[rs], &[]);
        let step = format!("record_types: {t}");
        let plan = converge(p, zone, &desired, &step).await?;
        expect_counts(&plan, (1, 0, 0), &step)?;
        created += 1;
    }
    let plan = converge(p, zone, &start, "record_types: clean up").await?;
    expect_counts(&plan, (0, 0, created), "record_types: clean up")?;
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(|t| t.to_string()).collect();
        return Err(format!(
            "record_types: the provider lists types the battery has no sample for: {} \
             (extend switchback_api::testkit::sample)",
            list.join(", ")
        ));
    }
    Ok(())
}

/// TXT values a provider must keep byte for byte: a 255-octet string, several strings, quotes
/// and backslashes, non-ASCII octets, the empty string; one per set, then all in one set, then
/// one of them changed.
pub async fn txt_edge_cases(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    if !supports(caps, RType::TXT) {
        return skip("txt_edge_cases", "the provider does not list TXT");
    }
    let start = read(p, zone, "txt_edge_cases: initial read").await?;
    let t = ttl(caps, 300);
    let cases = txt_edge_values();
    let singles: Vec<RecordSet> = cases
        .iter()
        .map(|(label, v)| set(zone, label, RType::TXT, t, &[v]))
        .collect();
    let plan = converge(
        p,
        zone,
        &edit(&start, &singles, &[]),
        "txt_edge_cases: one set per case",
    )
    .await?;
    expect_counts(&plan, (singles.len(), 0, 0), "txt_edge_cases")?;
    let values: Vec<&str> = cases.iter().map(|(_, v)| v.as_str()).collect();
    let together = set(zone, "sb-txt-all", RType::TXT, t, &values);
    converge(
        p,
        zone,
        &edit(&start, std::slice::from_ref(&together), &[]),
        "txt_edge_cases: all cases in one set",
    )
    .await?;
    let mut changed = together.clone();
    changed.values.retain(|v| v.data != "\"\"");
    changed
        .values
        .push(RecordValue::new(r#""\"quoted\" \\ again""#));
    changed.normalize();
    let plan = converge(
        p,
        zone,
        &edit(&start, &[changed], &[]),
        "txt_edge_cases: one value of the set changed",
    )
    .await?;
    expect_counts(&plan, (0, 1, 0), "txt_edge_cases: one value changed")?;
    restore(p, zone, &start, "txt_edge_cases: clean up").await
}

/// Weighted sets with set identifiers (only when the provider supports weights): create a
/// pair, shift the weights, change one side's values, delete one side, delete both.
pub async fn weighted(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    if !caps.weighted.is_yes() {
        return skip("weighted", "the provider does not support weighted sets");
    }
    require(caps, RType::A)?;
    let start = read(p, zone, "weighted: initial read").await?;
    let t = ttl(caps, 60);
    let w = |id: &str, weight: u32, values: &[&str]| {
        let mut rs = set(zone, "sb-weighted", RType::A, t, values);
        rs.set_identifier = Some(id.to_string());
        rs.weight = Some(weight);
        rs
    };
    let plan = converge(
        p,
        zone,
        &edit(
            &start,
            &[
                w("primary", 100, &["192.0.2.1"]),
                w("recovery", 0, &["198.51.100.1"]),
            ],
            &[],
        ),
        "weighted: create a pair",
    )
    .await?;
    expect_counts(&plan, (2, 0, 0), "weighted: create a pair")?;
    let plan = converge(
        p,
        zone,
        &edit(
            &start,
            &[
                w("primary", 50, &["192.0.2.1"]),
                w("recovery", 50, &["198.51.100.1"]),
            ],
            &[],
        ),
        "weighted: 50/50",
    )
    .await?;
    expect_counts(&plan, (0, 2, 0), "weighted: 50/50")?;
    let plan = converge(
        p,
        zone,
        &edit(
            &start,
            &[
                w("primary", 50, &["192.0.2.1"]),
                w("recovery", 50, &["198.51.100.2", "198.51.100.3"]),
            ],
            &[],
        ),
        "weighted: new recovery values",
    )
    .await?;
    expect_counts(&plan, (0, 1, 0), "weighted: new recovery values")?;
    let plan = converge(
        p,
        zone,
        &edit(&start, &[w("primary", 50, &["192.0.2.1"])], &[]),
        "weighted: delete one side",
    )
    .await?;
    expect_counts(&plan, (0, 0, 1), "weighted: delete one side")?;
    let plan = converge(p, zone, &start, "weighted: clean up").await?;
    expect_counts(&plan, (0, 0, 1), "weighted: clean up")
}

/// An A (and AAAA) set replaced by a CNAME at the same name, and back: the plan's order must
/// let a provider that enforces CNAME exclusivity apply it.
pub async fn cname_swap(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    if !supports(caps, RType::CNAME) || !supports(caps, RType::A) {
        return skip("cname_swap", "the provider does not list both A and CNAME");
    }
    let start = read(p, zone, "cname_swap: initial read").await?;
    let t = ttl(caps, 300);
    let mut addresses = vec![set(zone, "sb-swap", RType::A, t, &["192.0.2.1"])];
    if supports(caps, RType::AAAA) {
        addresses.push(set(zone, "sb-swap", RType::AAAA, t, &["2001:db8::1"]));
    }
    let cname = set(zone, "sb-swap", RType::CNAME, t, &["lb.example.net."]);
    let with_addresses = edit(&start, &addresses, &[]);
    let with_cname = edit(&start, std::slice::from_ref(&cname), &[]);
    converge(p, zone, &with_addresses, "cname_swap: seed addresses").await?;
    let plan = converge(p, zone, &with_cname, "cname_swap: addresses -> CNAME").await?;
    expect_counts(
        &plan,
        (1, 0, addresses.len()),
        "cname_swap: addresses -> CNAME",
    )?;
    let plan = converge(p, zone, &with_addresses, "cname_swap: CNAME -> addresses").await?;
    expect_counts(
        &plan,
        (addresses.len(), 0, 1),
        "cname_swap: CNAME -> addresses",
    )?;
    restore(p, zone, &start, "cname_swap: clean up").await
}

/// After applying a plan, a new plan of live vs desired is empty, whatever the order of the
/// desired sets and values; and two reads give the same zone.
pub async fn idempotent_replan(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "idempotent_replan: initial read").await?;
    let t = ttl(caps, 300);
    let mut add = vec![
        set(
            zone,
            "sb-idem",
            RType::A,
            t,
            &["192.0.2.3", "192.0.2.1", "192.0.2.2"],
        ),
        set(zone, "sb-idem-2", RType::A, t, &["192.0.2.9"]),
    ];
    for (t2, label, values) in [
        (RType::AAAA, "sb-idem", vec!["2001:db8::2", "2001:db8::1"]),
        (
            RType::MX,
            "sb-idem",
            vec!["20 mx2.example.net.", "10 mx1.example.net."],
        ),
        (RType::TXT, "sb-idem", vec!["\"b\"", "\"a\" \"c\""]),
    ] {
        if supports(caps, t2) {
            add.push(set(zone, label, t2, t, &values));
        }
    }
    let desired = edit(&start, &add, &[]);
    converge(p, zone, &desired, "idempotent_replan: apply").await?;
    let live = read(p, zone, "idempotent_replan: read back").await?;
    let mut shuffled = desired.clone();
    shuffled.record_sets.reverse();
    for rs in &mut shuffled.record_sets {
        rs.values.reverse();
    }
    for (what, d) in [("as written", &desired), ("shuffled", &shuffled)] {
        let again = make_plan(p, &live, d, "idempotent_replan")?;
        if !again.is_empty() {
            return Err(format!(
                "idempotent_replan: a re-plan ({what}) is not empty:{}",
                describe(&again.changes)
            ));
        }
    }
    let live2 = read(p, zone, "idempotent_replan: second read").await?;
    if live2 != live {
        return Err(format!(
            "idempotent_replan: two reads without a change differ:{}",
            describe(&plan::diff(&live, &live2, &DiffOptions::default()))
        ));
    }
    restore(p, zone, &start, "idempotent_replan: clean up").await
}

/// Snapshot (read) -> mutate (create, update, delete) -> restore (plan back to the snapshot and
/// apply) -> read again: equal to the snapshot (SOA serial aside).
pub async fn snapshot_restore(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "snapshot_restore: initial read").await?;
    let t = ttl(caps, 300);
    let www = set(
        zone,
        "sb-snap-www",
        RType::A,
        t,
        &["192.0.2.1", "192.0.2.2"],
    );
    let mut seed = vec![www.clone()];
    let gone = if supports(caps, RType::TXT) {
        set(
            zone,
            "sb-snap-txt",
            RType::TXT,
            t,
            &["\"keep me\"", "\"and \\\"me\\\"\""],
        )
    } else {
        set(zone, "sb-snap-txt", RType::A, t, &["192.0.2.50"])
    };
    seed.push(gone.clone());
    if supports(caps, RType::MX) {
        seed.push(set(
            zone,
            "sb-snap-www",
            RType::MX,
            t,
            &["10 mx.example.net."],
        ));
    }
    if caps.weighted.is_yes() {
        for (id, w, v) in [("blue", 90, "192.0.2.10"), ("green", 10, "192.0.2.20")] {
            let mut rs = set(zone, "sb-snap-weighted", RType::A, t, &[v]);
            rs.set_identifier = Some(id.into());
            rs.weight = Some(w);
            seed.push(rs);
        }
    }
    converge(p, zone, &edit(&start, &seed, &[]), "snapshot_restore: seed").await?;
    let snapshot = read(p, zone, "snapshot_restore: snapshot").await?;

    let mut mutated_www = www.clone();
    mutated_www.values = vec![RecordValue::new("198.51.100.1")];
    mutated_www.ttl = ttl(caps, 60);
    let mut add = vec![
        mutated_www,
        set(zone, "sb-snap-new", RType::A, t, &["203.0.113.5"]),
    ];
    if caps.weighted.is_yes() {
        let mut rs = set(zone, "sb-snap-weighted", RType::A, t, &["192.0.2.10"]);
        rs.set_identifier = Some("blue".into());
        rs.weight = Some(0);
        add.push(rs);
    }
    let mutated = edit(&snapshot, &add, &[&gone]);
    let plan = converge(p, zone, &mutated, "snapshot_restore: mutate").await?;
    if plan.is_empty() {
        return Err("snapshot_restore: the mutation planned nothing".into());
    }
    let back = converge(p, zone, &snapshot, "snapshot_restore: restore").await?;
    let (c, u, d) = plan.counts();
    expect_counts(&back, (d, u, c), "snapshot_restore: restore")?;
    let again = read(p, zone, "snapshot_restore: read after restore").await?;
    if !equal_ignoring_soa_serial(&snapshot, &again) {
        return Err(format!(
            "snapshot_restore: the restored zone differs from the snapshot:{}",
            describe(&plan::diff(&again, &snapshot, &opts()))
        ));
    }
    restore(p, zone, &start, "snapshot_restore: clean up").await
}

/// How many record sets [`large_change_set`] creates in one apply.
pub const LARGE: usize = 1500;

/// 1,500 record sets created in one apply (the provider splits it into its own batches), read
/// back, then removed in one apply.
pub async fn large_change_set(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    require(caps, RType::A)?;
    let start = read(p, zone, "large_change_set: initial read").await?;
    let t = ttl(caps, 300);
    let add: Vec<RecordSet> = (0..LARGE)
        .map(|i| {
            RecordSet::new(
                rel(zone, &format!("sb-big-{i:04}")),
                RType::A,
                t,
                [format!(
                    "10.{}.{}.{}",
                    i / 65536 % 256,
                    i / 256 % 256,
                    i % 256
                )],
            )
        })
        .collect();
    let plan = converge(
        p,
        zone,
        &edit(&start, &add, &[]),
        "large_change_set: create",
    )
    .await?;
    expect_counts(&plan, (LARGE, 0, 0), "large_change_set: create")?;
    let live = read(p, zone, "large_change_set: read back").await?;
    let n = live
        .record_sets
        .iter()
        .filter(|rs| rs.name.to_string().starts_with("sb-big-"))
        .count();
    if n != LARGE {
        return Err(format!(
            "large_change_set: read back {n} sets sb-big-*, wrote {LARGE}"
        ));
    }
    let plan = converge(p, zone, &start, "large_change_set: remove").await?;
    expect_counts(&plan, (0, 0, LARGE), "large_change_set: remove")
}

/// A change set whose `before` no longer matches the live zone (someone else changed a set
/// after the plan was made) fails, and changes nothing (providers with atomic batches only).
pub async fn stale_before_fails(p: &dyn Provider, zone: &Name) -> Result<(), String> {
    let caps = p.capabilities();
    if !caps.atomic_batches.is_yes() {
        return skip(
            "stale_before_fails",
            "the provider does not claim atomic batches",
        );
    }
    require(caps, RType::A)?;
    let start = read(p, zone, "stale_before_fails: initial read").await?;
    let t = ttl(caps, 300);
    let x = set(zone, "sb-stale", RType::A, t, &["192.0.2.1"]);
    let z = set(zone, "sb-stale-del", RType::A, t, &["192.0.2.5"]);
    let seeded = edit(&start, &[x.clone(), z.clone()], &[]);
    converge(p, zone, &seeded, "stale_before_fails: seed").await?;

    // Case 1: a stale update. The plan: create Y, update X, delete Z; then X changes.
    let live = read(p, zone, "stale_before_fails: read").await?;
    let desired = edit(
        &live,
        &[
            set(zone, "sb-stale", RType::A, t, &["192.0.2.2"]),
            set(zone, "sb-stale-new", RType::A, t, &["192.0.2.7"]),
        ],
        &[&z],
    );
    let stale = make_plan(p, &live, &desired, "stale_before_fails: plan")?;
    expect_counts(&stale, (1, 1, 1), "stale_before_fails: plan")?;
    let meanwhile = edit(
        &live,
        &[set(zone, "sb-stale", RType::A, t, &["192.0.2.3"])],
        &[],
    );
    converge(p, zone, &meanwhile, "stale_before_fails: concurrent change").await?;
    expect_refused(p, zone, &stale.changes, "stale update").await?;

    // Case 2: a stale delete. The plan: create W, delete Z; then Z changes.
    let live = read(p, zone, "stale_before_fails: read").await?;
    let desired = edit(
        &live,
        &[set(zone, "sb-stale-w", RType::A, t, &["192.0.2.8"])],
        &[&z],
    );
    let stale = make_plan(p, &live, &desired, "stale_before_fails: plan 2")?;
    expect_counts(&stale, (1, 0, 1), "stale_before_fails: plan 2")?;
    let changed_z = set(
        zone,
        "sb-stale-del",
        RType::A,
        ttl(caps, 600),
        &["192.0.2.5"],
    );
    let meanwhile = edit(&live, &[changed_z], &[]);
    converge(
        p,
        zone,
        &meanwhile,
        "stale_before_fails: concurrent change 2",
    )
    .await?;
    expect_refused(p, zone, &stale.changes, "stale delete").await?;

    // Case 3: an update of a set someone else deleted.
    let live = read(p, zone, "stale_before_fails: read").await?;
    let x_now = live
        .get(&x.key())
        .cloned()
        .ok_or("stale_before_fails: sb-stale vanished")?;
    let mut x_next = x_now.clone();
    x_next.values = vec![RecordValue::new("192.0.2.4")];
    let stale = vec![
        Change::Create {
            after: set(zone, "sb-stale-v", RType::A, t, &["192.0.2.9"]),
        },
        Change::Update {
            before: x_now.clone(),
            after: x_next,
        },
    ];
    converge(
        p,
        zone,
        &edit(&live, &[], &[&x_now]),
        "stale_before_fails: concurrent delete",
    )
    .await?;
    expect_refused(p, zone, &stale, "update of a deleted set").await?;

    restore(p, zone, &start, "stale_before_fails: clean up").await
}

async fn expect_refused(
    p: &dyn Provider,
    zone: &Name,
    changes: &[Change],
    what: &str,
) -> Result<(), String> {
    let before = read(p, zone, "stale_before_fails: read").await?;
    if p.apply(zone, changes).await.is_ok() {
        return Err(format!(
            "stale_before_fails: a change set with a {what} was applied; it must fail:{}",
            describe(changes)
        ));
    }
    let after = read(p, zone, "stale_before_fails: read after the failed apply").await?;
    if after != before {
        return Err(format!(
            "stale_before_fails: the failed apply ({what}) changed the zone:{}",
            describe(&plan::diff(&before, &after, &DiffOptions::default()))
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// An in-memory provider
// ---------------------------------------------------------------------------------------------

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

fn bump_serial(zone: &mut Zone) {
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
        .map_err(|e| ProviderError::Invalid {
            record: e.key.to_string(),
            message: e.to_string(),
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdata;

    #[test]
    fn samples_are_canonical() {
        let origin: Name = "example.com.".parse().unwrap();
        for t in sampled_types() {
            if t == RType::SOA {
                continue;
            }
            let (_, values) = sample(t).unwrap();
            for v in values {
                let c = rdata::canonicalize(t, v, &origin)
                    .unwrap_or_else(|e| panic!("{t} sample {v:?}: {e}"));
                assert_eq!(c, v, "{t} sample is not canonical");
            }
        }
        for (label, v) in txt_edge_values() {
            let c = rdata::canonicalize(RType::TXT, &v, &origin).unwrap();
            assert_eq!(c, v, "{label} is not canonical");
        }
        let long = &txt_edge_values()[0].1;
        assert_eq!(long.len(), 257);
    }

    #[test]
    fn memory_provider_refuses_cname_conflicts_and_stale_changes() {
        let origin: Name = "example.com.".parse().unwrap();
        let p = MemoryProvider::with_empty_zone("mem", &origin);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let a = set(&origin, "www", RType::A, 300, &["192.0.2.1"]);
            let c = set(&origin, "www", RType::CNAME, 300, &["x.example.net."]);
            p.apply(&origin, &[Change::Create { after: a.clone() }])
                .await
                .unwrap();
            let serial_before = p.zone(&origin).unwrap();
            // Create before delete: refused at the first step, nothing changes.
            let bad = [
                Change::Create { after: c.clone() },
                Change::Delete { before: a.clone() },
            ];
            let e = p.apply(&origin, &bad).await.unwrap_err().to_string();
            assert!(e.contains("CNAME and other data"), "{e}");
            assert_eq!(p.zone(&origin).unwrap(), serial_before);
            // The planner's order works.
            let desired = edit(&serial_before, std::slice::from_ref(&c), &[&a]);
            let plan =
                plan::plan("mem", p.capabilities(), &serial_before, &desired, &opts()).unwrap();
            p.apply(&origin, &plan.changes).await.unwrap();
            assert!(equal_ignoring_soa_serial(
                &p.zone(&origin).unwrap(),
                &desired
            ));
            assert_ne!(p.zone(&origin).unwrap().soa(), desired.soa());
        });
    }
}
