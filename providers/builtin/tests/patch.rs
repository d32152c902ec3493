//! Changes patched into a compiled zone ([`CompiledZone::updated`]) against the same zone
//! compiled whole: after every one of many random changes, the two give the same answer to
//! every query of a corpus (fast path and full resolver alike), hold the same names (empty
//! non-terminals made and pruned), the same precomputed answers, and share all but the
//! changed names' shards with the version before.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use switchback_api::{Name, RType, RecordSet, Zone, zonefile};
use switchback_builtin::answer::{self, Catalog, ServedZone, Transport};
use switchback_builtin::history::{self, set_serial};
use switchback_builtin::zone::CompiledZone;

const BASE: &str = r#"$ORIGIN example.
$TTL 3600
@            SOA   ns.example.com. hostmaster.example. 1 2 3 4 300
@            NS    ns1
@            NS    ns.example.net.
@            MX    10 mail
ns1          A     192.0.2.53
mail         A     192.0.2.25
*.wild       TXT   "wildcard"
*.wild       A     192.0.2.99
host1        A     192.0.2.1
host1        AAAA  2001:db8::1
a.b.c.deep   A     192.0.2.7
_ssh._tcp    SRV   0 0 22 host1
sub          NS    ns.sub
ns.sub       A     192.0.2.54
c1           CNAME c2
c2           CNAME host1
c-out        CNAME www.example.org.
"#;

/// Names changes are made at, and asked for: existing ones, new ones at several depths (below
/// empty non-terminals, below the wildcard's parent, below the delegation), CNAME and MX
/// targets, and the apex.
const NAMES: &[&str] = &[
    "example.",
    "ns1.example.",
    "mail.example.",
    "host1.example.",
    "host2.example.",
    "c1.example.",
    "c2.example.",
    "c3.example.",
    "c-out.example.",
    "a.b.c.deep.example.",
    "b.c.deep.example.",
    "x.b.c.deep.example.",
    "deep.example.",
    "new.wild.example.",
    "wild.example.",
    "q.r.s.example.",
    "r.s.example.",
    "_ssh._tcp.example.",
    "glue.sub.example.",
];

const TYPES: &[u16] = &[1, 2, 5, 6, 15, 16, 28, 33, 43, 255];

/// xorshift64*: a fixed sequence, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn name(s: &str) -> Name {
    s.parse().unwrap()
}

/// Random record sets for one name (none: the name goes).
fn random_sets(rng: &mut Rng, at: &Name) -> Vec<RecordSet> {
    let mut sets = Vec::new();
    let set = |t: RType, ttl: u32, v: &[String]| RecordSet::new(at.clone(), t, ttl, v.to_vec());
    match rng.below(7) {
        0 => {}
        1 => sets.push(set(
            RType::A,
            60 + rng.below(3) as u32,
            &[format!("192.0.2.{}", rng.below(250))],
        )),
        2 => {
            sets.push(set(
                RType::A,
                300,
                &[
                    format!("198.51.100.{}", rng.below(250)),
                    "198.51.100.251".into(),
                ],
            ));
            sets.push(set(RType::TXT, 300, &[format!("\"v{}\"", rng.below(9))]));
        }
        3 => {
            // A CNAME into the zone or out of it.
            let target = [
                "host1.example.",
                "c2.example.",
                "nowhere.example.",
                "x.example.org.",
            ][rng.below(4)];
            sets.push(set(RType::CNAME, 300, &[target.into()]));
        }
        4 => sets.push(set(
            RType::MX,
            300,
            &[format!(
                "10 {}",
                ["mail.example.", "host2.example.", "mx.example.net."][rng.below(3)]
            )],
        )),
        5 => sets.push(set(RType::AAAA, 300, &["2001:db8::5".into()])),
        _ => sets.push(set(
            RType::SRV,
            300,
            &[format!("0 0 {} host1.example.", rng.below(100))],
        )),
    }
    sets
}

fn serve(zone: &CompiledZone) -> Catalog {
    Catalog::new([Arc::new(ServedZone::new(zone.clone()))])
}

fn query(id: u16, name: &Name, qtype: u16, edns: bool) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)]);
    p.extend_from_slice(name.wire());
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    if edns {
        p.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0x80, 0, 0, 0]);
    }
    p
}

fn same_answers(patched: &CompiledZone, whole: &CompiledZone, round: usize) {
    let (a, b) = (serve(patched), serve(whole));
    let mut corpus: Vec<Name> = NAMES.iter().map(|n| name(n)).collect();
    corpus.extend(["nx.example.", "z.new.wild.example.", "zz.wild.example."].map(name));
    for n in &corpus {
        for &t in TYPES {
            for edns in [false, true] {
                let pkt = query(0x4242, n, t, edns);
                let (mut x, mut y) = (Vec::new(), Vec::new());
                answer::answer(&a, &pkt, Transport::Udp, &mut x);
                answer::answer(&b, &pkt, Transport::Udp, &mut y);
                assert_eq!(x, y, "round {round}: {n} type {t} edns {edns}");
            }
        }
    }
    let keys =
        |z: &CompiledZone| -> BTreeSet<Vec<u8>> { z.nodes.keys().map(<[u8]>::to_vec).collect() };
    assert_eq!(keys(patched), keys(whole), "round {round}: the same names");
    assert_eq!(patched.nodes.len(), whole.nodes.len());
    for (key, node) in whole.nodes.iter() {
        let other = patched.nodes.get(key).unwrap();
        assert_eq!(node.is_cut, other.is_cut);
        for &t in TYPES {
            assert_eq!(
                node.answer(t),
                other.answer(t),
                "round {round}: precomputed {t}"
            );
        }
    }
}

#[test]
fn patched_zones_answer_as_the_zone_compiled_whole() {
    let origin = name("example.");
    let mut model: Zone =
        zonefile::load_str(BASE, Path::new("example.zone"), &origin, Path::new(".")).unwrap();
    let mut current = CompiledZone::compile(&model).unwrap();
    current.precompute_all();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut patched_rounds, mut whole_rounds, mut precomputed) = (0, 0, 0);
    let mut changed_rounds = 0;
    for round in 0..400 {
        // One to three names change at once.
        let mut names = vec![origin.clone()];
        for _ in 0..1 + rng.below(3) {
            let n = name(NAMES[1 + rng.below(NAMES.len() - 1)]);
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let mut sets: Vec<RecordSet> = model
            .record_sets
            .iter()
            .filter(|rs| !names[1..].contains(&rs.name))
            .cloned()
            .collect();
        for n in &names[1..] {
            // Never a second set at the delegation's glue (it would stay glue either way).
            sets.extend(random_sets(&mut rng, n));
        }
        let mut next = Zone::new(origin.clone(), sets);
        set_serial(&mut next, round as u32 + 2).unwrap();
        let sets_at_names = |z: &Zone| -> Vec<RecordSet> {
            z.record_sets
                .iter()
                .filter(|rs| names.contains(&rs.name))
                .cloned()
                .collect()
        };
        let touched = sets_at_names(&next);
        let mut whole = CompiledZone::compile(&next).unwrap();
        whole.precompute_all();
        // The history's delta made from the touched sets alone (the CLI's way) is the delta
        // of the two compiled zones.
        let before = CompiledZone::compile(&model).unwrap();
        let old_sets = sets_at_names(&model);
        let wires: Vec<Box<[u8]>> = names.iter().map(|n| n.wire().into()).collect();
        let from_models = history::model_diff(
            &origin,
            &old_sets,
            &next.record_sets,
            &names,
            (before.serial, whole.serial),
        )
        .unwrap();
        assert_eq!(
            from_models,
            history::diff(&before, &whole, Some(&wires)),
            "round {round}"
        );
        changed_rounds += usize::from(from_models.added.len() + from_models.removed.len() > 2);
        match current.updated(&names, &touched, None).unwrap() {
            Some(p) => {
                patched_rounds += 1;
                same_answers(&p, &whole, round);
                // Only the changed names' shards were copied.
                let copied = p.nodes.shards() - p.nodes.shared_with(&current.nodes);
                assert!(
                    copied <= 3 * names.len(),
                    "round {round}: {copied} shards copied for {} names",
                    names.len()
                );
                current = p;
            }
            None => {
                whole_rounds += 1;
                current = whole;
            }
        }
        precomputed += current
            .nodes
            .iter()
            .map(|(_, n)| n.answer_count())
            .sum::<usize>();
        model = next;
    }
    // Both paths ran, and the fast path had answers to give.
    assert!(patched_rounds > 300, "{patched_rounds} patched");
    assert!(
        changed_rounds > 300,
        "{changed_rounds} deltas beyond the SOA"
    );
    assert!(
        precomputed > 400 * 5,
        "{precomputed} precomputed answers over the rounds"
    );
    eprintln!("{patched_rounds} rounds patched, {whole_rounds} compiled whole");
}

/// A zone cut that appears or goes changes the answers below it: that change is not patched.
#[test]
fn a_new_zone_cut_is_compiled_whole() {
    let origin = name("example.");
    let model: Zone =
        zonefile::load_str(BASE, Path::new("example.zone"), &origin, Path::new(".")).unwrap();
    let zone = CompiledZone::compile(&model).unwrap();
    let cut = RecordSet::new(
        name("deep.example."),
        RType::NS,
        300,
        ["ns.example.net.".into()],
    );
    let names = [origin.clone(), name("deep.example.")];
    let soa: Vec<RecordSet> = model
        .record_sets
        .iter()
        .filter(|rs| rs.name == origin)
        .cloned()
        .collect();
    let mut with_cut = soa.clone();
    with_cut.push(cut);
    assert!(zone.updated(&names, &with_cut, None).unwrap().is_none());
    // The delegation at sub. going away: the same.
    let names = [origin.clone(), name("sub.example.")];
    assert!(zone.updated(&names, &soa, None).unwrap().is_none());
    // A set at a name the change does not name is refused.
    let stray = RecordSet::new(name("host1.example."), RType::A, 300, ["192.0.2.9".into()]);
    assert!(
        zone.updated(std::slice::from_ref(&origin), &[stray], None)
            .is_err()
    );
}
