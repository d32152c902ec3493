//! The answer engine: RFC 1034 §4.3.2 lookup with RFC 4592 wildcards, RFC 2308 negative
//! answers, referrals, minimal ANY (RFC 8482), EDNS(0) (RFC 6891) and truncation.
//!
//! [`answer`] is the whole answer path. It first tries the zone's precomputed responses
//! (built by running this same engine once per (name, type) at load), patched with the
//! query's id, flags and name case; everything else is written by [`resolve`] into a reused
//! buffer. Neither path allocates once the buffer has grown, takes a lock or does I/O.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::history::History;
use crate::wire::qtype::{
    T_A, T_AAAA, T_ANY, T_AXFR, T_CNAME, T_DS, T_HTTPS, T_IXFR, T_MX, T_NS, T_SOA, T_SRV, T_SVCB,
};
use crate::wire::{self, Owner, Query, Section, Writer, flags, rcode};
use crate::zone::{CompiledZone, FxMap, Node, RRset};

/// Maximum CNAME hops followed inside our zones.
const MAX_CHAIN: usize = 12;
const C_IN: u16 = 1;

/// The served zones, swapped as one immutable value.
#[derive(Default)]
pub struct Catalog {
    pub zones: FxMap<Box<[u8]>, Arc<ServedZone>>,
    /// Responses to queries no served zone took (REFUSED outside our zones, FORMERR, NOTIMP,
    /// BADVERS, zone transfers refused over UDP…). Whoever swaps catalogs carries it over
    /// ([`Catalog::keep_counters`]) so it never goes back.
    pub other: Arc<ZoneCounters>,
}

/// Responses by RCODE (the low 4 bits of the header) for one zone: relaxed atomics, shared
/// (one `Arc`) by every version of the zone, so rebuilding a zone does not reset them.
/// Aligned to a cache line so the counters never share one with read-only answer data.
#[repr(align(64))]
#[derive(Debug, Default)]
pub struct ZoneCounters {
    pub rcodes: [AtomicU64; 16],
}

impl ZoneCounters {
    /// Count one response by the RCODE in `out` (no lock, no allocation).
    #[inline]
    pub fn count(&self, out: &[u8]) {
        if let Some(b) = out.get(3) {
            self.rcodes[usize::from(b & 0x0f)].fetch_add(1, Relaxed);
        }
    }

    /// Responses so far, all RCODEs.
    pub fn total(&self) -> u64 {
        self.rcodes.iter().map(|n| n.load(Relaxed)).sum()
    }

    /// Responses so far by RCODE.
    pub fn snapshot(&self) -> [u64; 16] {
        std::array::from_fn(|i| self.rcodes[i].load(Relaxed))
    }
}

/// A compiled zone with its precomputed answers.
pub struct ServedZone {
    pub zone: CompiledZone,
    /// Recent changes, oldest first (IXFR reads them; nothing on the query path does).
    pub history: History,
    /// The state store's generation of this version (0: not from a store).
    pub generation: i64,
    /// Responses given from this zone; shared with the zone's other versions (set with
    /// [`ServedZone::with_counters`] before the zone is served).
    pub counters: Arc<ZoneCounters>,
}

impl ServedZone {
    pub fn new(zone: CompiledZone) -> ServedZone {
        ServedZone::with_history(zone, crate::history::empty(), 0, true)
    }

    /// A served zone with its change history and store generation; `precompute` fills the
    /// fast path's answers (a process that never answers queries leaves it out: the slow path
    /// gives the same answers).
    pub fn with_history(
        mut zone: CompiledZone,
        history: History,
        generation: i64,
        precompute: bool,
    ) -> ServedZone {
        if precompute {
            zone.precompute_all();
        }
        ServedZone {
            zone,
            history,
            generation,
            counters: Arc::default(),
        }
    }

    /// Count this zone's responses in `counters` (those of the zone's previous version, so
    /// they keep growing across rebuilds).
    pub fn with_counters(mut self, counters: Arc<ZoneCounters>) -> ServedZone {
        self.counters = counters;
        self
    }
}

/// Reused buffers for precomputing answers.
#[derive(Default)]
pub(crate) struct Scratch {
    pkt: Vec<u8>,
    out: Vec<u8>,
    packed: Vec<u8>,
    types: Vec<u16>,
}

impl Scratch {
    /// The precomputed answers of `node` (at `name` in `zone`): one per type it holds (and A
    /// and AAAA at a CNAME), for the answers that depend on this node alone. An answer that
    /// is steered per query, or that holds or depends on another name's data (a referral, a
    /// CNAME into the zone, an address in the additional section, a negative answer and its
    /// SOA) is left to [`resolve`]: a change at one name then never makes another name's
    /// precomputed answer stale.
    pub(crate) fn answers(&mut self, zone: &CompiledZone, name: &[u8], node: &Node) -> Box<[u8]> {
        self.types.clear();
        self.types.extend(node.rrsets().map(|r| r.rtype));
        if node.get(T_CNAME).is_some() {
            self.types.extend([T_A, T_AAAA]);
        }
        self.types.dedup();
        self.packed.clear();
        let types = std::mem::take(&mut self.types);
        for &qtype in &types {
            synthetic_query(&mut self.pkt, name, qtype);
            let Ok(q) = wire::parse_query(&self.pkt) else {
                continue;
            };
            let how = resolve_steered(zone, &self.pkt, &q, &mut self.out, usize::from(u16::MAX));
            if how.steered || how.dependent {
                continue;
            }
            // The response without its question name.
            let end = wire::HEADER_LEN + name.len();
            let len = self.out.len() - name.len();
            let Ok(len16) = u16::try_from(len) else {
                continue;
            };
            self.packed.extend_from_slice(&qtype.to_be_bytes());
            self.packed.extend_from_slice(&len16.to_be_bytes());
            self.packed.extend_from_slice(&self.out[..wire::HEADER_LEN]);
            self.packed.extend_from_slice(&self.out[end..]);
        }
        self.types = types;
        self.packed.as_slice().into()
    }
}

/// An EDNS(0) query for (name, type) with id 0 and no flags.
fn synthetic_query(pkt: &mut Vec<u8>, name: &[u8], qtype: u16) {
    pkt.clear();
    pkt.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    pkt.extend_from_slice(name);
    pkt.extend_from_slice(&qtype.to_be_bytes());
    pkt.extend_from_slice(&C_IN.to_be_bytes());
    pkt.extend_from_slice(&[0, 0, 41]);
    pkt.extend_from_slice(&wire::OUR_UDP_PAYLOAD.to_be_bytes());
    pkt.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
}

/// The transport a query came over: it sets the size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// What the caller should do with the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// `out` holds the response.
    Respond,
    /// Send nothing.
    Drop,
    /// A zone transfer request for the caller to handle (TCP only).
    Transfer,
    /// A TSIG-signed message: the caller verifies it and answers it through
    /// [`crate::signed::answer`] (rare, so off the precomputed path).
    Signed,
}

impl Catalog {
    pub fn new(zones: impl IntoIterator<Item = Arc<ServedZone>>) -> Catalog {
        Catalog {
            zones: zones
                .into_iter()
                .map(|z| (z.zone.origin.wire().into(), z))
                .collect::<HashMap<_, _, _>>(),
            other: Arc::default(),
        }
    }

    /// Take over `old`'s catalog-level counters (call before swapping `self` in for `old`).
    /// Zone counters travel with the zones ([`ServedZone::with_counters`]).
    pub fn keep_counters(&mut self, old: &Catalog) {
        self.other = old.other.clone();
    }

    /// Responses so far by zone (origin in presentation form, sorted) and RCODE, and those
    /// no zone took. For `/metrics`: allocates, never called on the answer path.
    pub fn query_counts(&self) -> (Vec<(String, [u64; 16])>, [u64; 16]) {
        let mut zones: Vec<(String, [u64; 16])> = self
            .zones
            .values()
            .map(|z| (z.zone.origin.to_string(), z.counters.snapshot()))
            .collect();
        zones.sort_by(|a, b| a.0.cmp(&b.0));
        (zones, self.other.snapshot())
    }

    /// The zone that holds `qname` (the longest matching origin).
    pub fn find_zone(&self, qname: &[u8]) -> Option<&Arc<ServedZone>> {
        let mut i = 0;
        loop {
            if let Some(z) = self.zones.get(&qname[i..]) {
                return Some(z);
            }
            let len = *qname.get(i)? as usize;
            if len == 0 {
                return None;
            }
            i += 1 + len;
        }
    }
}

/// Answer one query packet into `out`, counting the response (by RCODE) in the zone that
/// gave it, or in [`Catalog::other`]. Zone transfers (`Disposition::Transfer`) are counted by the
/// caller, which writes them.
pub fn answer(cat: &Catalog, pkt: &[u8], transport: Transport, out: &mut Vec<u8>) -> Disposition {
    let mut zone = None;
    let outcome = answer_in(cat, pkt, transport, out, &mut zone);
    if outcome == Disposition::Respond {
        zone.map_or(&*cat.other, |z| &*z.counters).count(out);
    }
    outcome
}

/// [`answer`], setting `zone` to the zone that answered (if one did).
fn answer_in<'c>(
    cat: &'c Catalog,
    pkt: &[u8],
    transport: Transport,
    out: &mut Vec<u8>,
    zone: &mut Option<&'c ServedZone>,
) -> Disposition {
    let q = match wire::parse_query(pkt) {
        Ok(q) => q,
        Err(wire::ParseError::Drop) => return Disposition::Drop,
        Err(wire::ParseError::NotImp) => {
            Writer::header_only(out, pkt, rcode::NOTIMP);
            return Disposition::Respond;
        }
        Err(wire::ParseError::FormErr { question_end, opt }) => {
            match question_end {
                Some(end) => {
                    let q = partial_query(pkt, end);
                    let mut w = Writer::response(out, pkt, &q, false, rcode::FORMERR);
                    if opt {
                        w.opt(0, false);
                    }
                }
                None => {
                    Writer::header_only(out, pkt, rcode::FORMERR);
                }
            }
            return Disposition::Respond;
        }
    };
    if q.tsig {
        return Disposition::Signed;
    }
    if q.opcode() != 0 {
        // Unknown opcodes (and NOTIFY/UPDATE, which a primary does not take): NOTIMP with the
        // question echoed, as Knot answers.
        let mut w = Writer::response(out, pkt, &q, false, rcode::NOTIMP);
        finish_opt(&mut w, &q);
        return Disposition::Respond;
    }
    if let Some(e) = q.edns {
        if e.version != 0 {
            let mut w = Writer::response(out, pkt, &q, false, rcode::NOERROR);
            w.opt((rcode::BADVERS >> 4) as u8, e.dnssec_ok);
            return Disposition::Respond;
        }
    }
    let limit = match (transport, q.edns) {
        (Transport::Tcp, _) => u16::MAX as usize,
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(e)) => e.payload.clamp(512, wire::OUR_UDP_PAYLOAD) as usize,
    };
    if q.qclass != C_IN {
        let mut w = Writer::response(out, pkt, &q, false, rcode::REFUSED);
        finish_opt(&mut w, &q);
        return Disposition::Respond;
    }
    if q.qtype == T_AXFR || q.qtype == T_IXFR {
        let served = cat.find_zone(q.qname());
        if transport == Transport::Tcp && served.is_some() {
            return Disposition::Transfer;
        }
        if q.qtype == T_IXFR {
            if let Some(z) = served.filter(|z| z.zone.origin.wire() == q.qname()) {
                // RFC 1995 §2: over UDP, the current SOA alone tells the client whether to
                // come back over TCP.
                *zone = Some(z);
                ixfr_soa_only(&z.zone, pkt, &q, out);
                return Disposition::Respond;
            }
        }
        // Over UDP: NOTIMP (as Knot; RFC 5936 §4.2 leaves it open). Over TCP for a zone we
        // do not serve: NOTAUTH (RFC 5936 §2.2.1).
        let rc = if transport == Transport::Udp {
            rcode::NOTIMP
        } else {
            rcode::NOTAUTH
        };
        let mut w = Writer::response(out, pkt, &q, false, rc);
        finish_opt(&mut w, &q);
        return Disposition::Respond;
    }
    let Some(served) = find_zone_for(cat, &q) else {
        let mut w = Writer::response(out, pkt, &q, false, rcode::REFUSED);
        finish_opt(&mut w, &q);
        return Disposition::Respond;
    };
    *zone = Some(served);
    if from_precomputed(served, pkt, &q, limit, out) {
        return Disposition::Respond;
    }
    resolve(&served.zone, pkt, &q, out, limit);
    Disposition::Respond
}

/// An IXFR answer holding only the zone's current SOA.
pub fn ixfr_soa_only(zone: &CompiledZone, pkt: &[u8], q: &Query, out: &mut Vec<u8>) {
    let mut w = Writer::response(out, pkt, q, true, rcode::NOERROR);
    if let Some(soa) = zone.apex().get(T_SOA) {
        if let Some(rd) = soa.rdatas.first() {
            w.record(Section::Answer, Owner::Question, T_SOA, soa.ttl, rd);
        }
    }
    finish_opt(&mut w, q);
}

/// The zone that answers `q`: the one holding the name, except that DS at the apex of a zone
/// whose parent we also serve is answered from the parent (RFC 4035 §3.1.4.1).
fn find_zone_for<'c>(cat: &'c Catalog, q: &Query) -> Option<&'c Arc<ServedZone>> {
    let zone = cat.find_zone(q.qname())?;
    if q.qtype == T_DS && zone.zone.origin.wire() == q.qname() && q.qname_len > 1 {
        let parent = &q.qname()[1 + q.qname()[0] as usize..];
        if let Some(p) = cat.find_zone(parent) {
            return Some(p);
        }
    }
    Some(zone)
}

/// The fast path: copy a precomputed response and patch id, flags, name case and DO.
#[inline]
fn from_precomputed(
    zone: &ServedZone,
    pkt: &[u8],
    q: &Query,
    limit: usize,
    out: &mut Vec<u8>,
) -> bool {
    let n = q.qname_len;
    let Some(resp) = zone
        .zone
        .nodes
        .get(q.qname())
        .and_then(|node| node.answer(q.qtype))
    else {
        return false;
    };
    let full = resp.len() + n;
    let len = if q.edns.is_some() { full } else { full - 11 };
    if len > limit || resp.len() < wire::HEADER_LEN + 11 {
        return false;
    }
    out.clear();
    out.extend_from_slice(&resp[..wire::HEADER_LEN]);
    // The question name as the query wrote it (its case), then the rest.
    out.extend_from_slice(&pkt[wire::HEADER_LEN..wire::HEADER_LEN + n]);
    out.extend_from_slice(&resp[wire::HEADER_LEN..len - n]);
    out[0..2].copy_from_slice(&q.id.to_be_bytes());
    out[2] |= ((q.flags & flags::RD) >> 8) as u8;
    out[3] |= (q.flags & flags::CD) as u8;
    match q.edns {
        Some(e) => {
            if e.dnssec_ok {
                out[len - 4] |= 0x80;
            }
        }
        None => {
            let ar = u16::from_be_bytes([out[10], out[11]]) - 1;
            out[10..12].copy_from_slice(&ar.to_be_bytes());
        }
    }
    true
}

/// A query whose question could be read but whose additional section could not.
fn partial_query(pkt: &[u8], question_end: usize) -> Query {
    Query {
        id: u16::from_be_bytes([pkt[0], pkt[1]]),
        flags: u16::from_be_bytes([pkt[2], pkt[3]]),
        qname: [0; wire::MAX_NAME],
        qname_len: 0,
        qtype: 0,
        qclass: 0,
        edns: None,
        question_end,
        tsig: false,
    }
}

fn finish_opt(w: &mut Writer<'_>, q: &Query) {
    if let Some(e) = q.edns {
        w.opt(0, e.dnssec_ok);
    }
}

/// Where a name leads inside a zone.
enum Found<'z> {
    /// The name exists (possibly as an empty non-terminal).
    Node(&'z Node),
    /// Synthesized from the wildcard `*.<closest encloser>` (RFC 4592).
    Wildcard(&'z Node),
    /// Below a zone cut: the cut's name and node.
    Cut(&'z [u8], &'z Node),
    NxDomain,
}

/// Walk from the apex down to `name` (which is at or below the origin).
fn find<'z>(zone: &'z CompiledZone, name: &[u8], qtype: u16) -> Found<'z> {
    let apex_len = zone.origin.wire().len();
    // Label starts of `name` strictly below the apex, from the left.
    let mut starts = [0u8; 128];
    let mut m = 0;
    let mut i = 0;
    while i < name.len() && name.len() - i > apex_len && m < starts.len() {
        starts[m] = i as u8;
        m += 1;
        i += 1 + name[i] as usize;
    }
    // Offset in `name` of the closest encloser found so far (the apex to begin with).
    let mut ce_at = name.len() - apex_len;
    for idx in (0..m).rev() {
        let at = starts[idx] as usize;
        match zone.nodes.get_key_value(&name[at..]) {
            Some((key, node)) => {
                if node.is_cut && !(idx == 0 && qtype == T_DS) {
                    return Found::Cut(key, node);
                }
                if idx == 0 {
                    return Found::Node(node);
                }
                ce_at = at;
            }
            None => {
                // RFC 4592 §3.3.1: the source of synthesis is `*.<closest encloser>`.
                let ce = &name[ce_at..];
                let mut wc = [0u8; wire::MAX_NAME + 2];
                wc[0] = 1;
                wc[1] = b'*';
                wc[2..2 + ce.len()].copy_from_slice(ce);
                return match zone.nodes.get(&wc[..2 + ce.len()]) {
                    Some(node) => Found::Wildcard(node),
                    None => Found::NxDomain,
                };
            }
        }
    }
    Found::Node(zone.apex())
}

/// Write the full answer for `q` (already known to be inside `zone`) into `out`.
pub fn resolve(zone: &CompiledZone, pkt: &[u8], q: &Query, out: &mut Vec<u8>, limit: usize) {
    resolve_steered(zone, pkt, q, out, limit);
}

/// What an answer depended on, beyond the question's own node.
#[derive(Debug, Default, Clone, Copy)]
struct Depends {
    /// A per-query choice (a weighted set or a target's health).
    steered: bool,
    /// Another name's data, or whether another name exists (a referral, a CNAME into the
    /// zone, an in-zone address for the additional section, a negative answer's SOA).
    dependent: bool,
}

/// [`resolve`], telling what the answer depended on: only answers that depend on neither a
/// per-query choice nor another name are precomputed.
fn resolve_steered(
    zone: &CompiledZone,
    pkt: &[u8],
    q: &Query,
    out: &mut Vec<u8>,
    limit: usize,
) -> Depends {
    let mut steered = false;
    let mut dependent = false;
    let mut w = Writer::response(out, pkt, q, true, rcode::NOERROR);
    let qtype = q.qtype;
    // Current name being looked up: the question name, then CNAME targets.
    let mut target: &[u8] = q.qname();
    let mut owner_is_question = true;
    // Names whose A/AAAA belong in the additional section.
    let mut extra: [&[u8]; 16] = [&[]; 16];
    let mut nextra = 0;
    let mut referral = false;
    for hop in 0..=MAX_CHAIN {
        match find(zone, target, qtype) {
            Found::Cut(cut, node) => {
                if hop == 0 {
                    w.set_flag(flags::AA, false);
                }
                referral = true;
                dependent = true;
                if let Some(ns) = node.get(T_NS) {
                    for rd in &ns.rdatas {
                        w.record(Section::Authority, Owner::Name(cut), T_NS, ns.ttl, rd);
                        push_extra(&mut extra, &mut nextra, rd);
                    }
                }
                break;
            }
            Found::NxDomain => {
                w.set_rcode(rcode::NXDOMAIN);
                negative(&mut w, zone);
                dependent = true;
                break;
            }
            Found::Node(node) | Found::Wildcard(node) => {
                if qtype == T_ANY {
                    // RFC 8482 §4.1: answer with one RRset of those present.
                    match node.rrsets().next() {
                        Some(rr) => write_rrset(
                            &mut w,
                            Section::Answer,
                            owner_is_question,
                            target,
                            rr,
                            &mut extra,
                            &mut nextra,
                        ),
                        None => {
                            negative(&mut w, zone);
                            dependent = true;
                        }
                    }
                    break;
                }
                let variants = node.variants(qtype);
                if variants.clone().next().is_some() {
                    let pick = choose(zone, variants.clone(), &mut steered);
                    let chosen = variants
                        .enumerate()
                        .filter(|(i, _)| pick.is_none_or(|p| p == *i));
                    for (_, rr) in chosen {
                        write_rrset(
                            &mut w,
                            Section::Answer,
                            owner_is_question,
                            target,
                            rr,
                            &mut extra,
                            &mut nextra,
                        );
                    }
                    break;
                }
                let cnames = node.variants(T_CNAME);
                // A name holds one CNAME: when every variant is down, the first one.
                let pick = choose(zone, cnames.clone(), &mut steered);
                if let Some(cname) = cnames.clone().nth(pick.unwrap_or(0)) {
                    write_rrset(
                        &mut w,
                        Section::Answer,
                        owner_is_question,
                        target,
                        cname,
                        &mut extra,
                        &mut nextra,
                    );
                    let Some(next) = cname.rdatas.first() else {
                        break;
                    };
                    let next: &[u8] = next;
                    if !wire_is_subdomain(next, zone.origin.wire()) || hop == MAX_CHAIN {
                        break;
                    }
                    target = next;
                    owner_is_question = false;
                    dependent = true;
                    continue;
                }
                negative(&mut w, zone);
                dependent = true;
                break;
            }
        }
    }
    // Additional section: addresses of NS/MX/SRV targets held in this zone.
    let add_start = w.len();
    let (an, ns) = (w.count(Section::Answer), w.count(Section::Authority));
    for name in &extra[..nextra] {
        if *name != q.qname() && wire_is_subdomain(name, zone.origin.wire()) {
            dependent = true;
        }
        if let Some(node) = zone.nodes.get(name) {
            for t in [T_A, T_AAAA] {
                if let Some(rr) = node.get(t) {
                    for rd in &rr.rdatas {
                        w.record(Section::Additional, Owner::Name(name), t, rr.ttl, rd);
                    }
                }
            }
        }
    }
    let opt_len = if q.edns.is_some() { 11 } else { 0 };
    if w.len() + opt_len > limit {
        // RFC 2181 §9: the additional section may be dropped without TC, but a referral
        // without its glue is no use (RFC 9471): then, and whenever the answer or authority
        // does not fit, set TC and send the question alone.
        w.truncate_to(add_start, an, ns, 0);
        if referral || w.len() + opt_len > limit {
            w.truncate_to(q.question_end, 0, 0, 0);
            w.set_flag(flags::TC, true);
        }
    }
    finish_opt(&mut w, q);
    Depends { steered, dependent }
}

/// Which sets of one type answer this query: `None` all of them (the only one, or every
/// weighted variant when all their targets are down: fail open), `Some(i)` the variant the
/// weights and the targets' health pick.
#[inline]
fn choose<'z>(
    zone: &CompiledZone,
    variants: impl Iterator<Item = RRset<'z>> + Clone,
    steered: &mut bool,
) -> Option<usize> {
    let mut it = variants.clone();
    let first = it.next()?;
    if first.weight.is_none() && it.next().is_none() {
        return None;
    }
    *steered = true;
    let nth = |i: usize| variants.clone().nth(i);
    let down = |i: usize| {
        nth(i)
            .and_then(|v| v.health)
            .zip(zone.health.as_deref())
            .is_some_and(|(slot, table)| table.is_down(slot))
    };
    let n = variants.clone().count();
    crate::steer::pick(n, |i| nth(i).and_then(|v| v.weight).unwrap_or(0), down)
}

/// Write an RRset whose owner is `owner` (written as a pointer to the question when
/// `is_question`), and note the names whose addresses belong in the additional section.
fn write_rrset<'z>(
    w: &mut Writer<'_>,
    s: Section,
    is_question: bool,
    owner: &'z [u8],
    rr: RRset<'z>,
    extra: &mut [&'z [u8]; 16],
    nextra: &mut usize,
) {
    for rd in &rr.rdatas {
        let o = if is_question {
            Owner::Question
        } else {
            Owner::Name(owner)
        };
        w.record(s, o, rr.rtype, rr.ttl, rd);
        match rr.rtype {
            T_NS => push_extra(extra, nextra, rd),
            T_MX if rd.len() > 2 => push_extra(extra, nextra, &rd[2..]),
            T_SRV if rd.len() > 6 => push_extra(extra, nextra, &rd[6..]),
            // RFC 9460 §4.1: the target's addresses. A target of "." (the owner itself)
            // adds nothing, as in Knot: the client asks for the owner's addresses anyway.
            T_SVCB | T_HTTPS => {
                if let Some(end) = switchback_api::rdata::name_end(rd, 2) {
                    if end > 3 {
                        push_extra(extra, nextra, &rd[2..end]);
                    }
                }
            }
            _ => {}
        }
    }
}

fn push_extra<'z>(extra: &mut [&'z [u8]; 16], n: &mut usize, name: &'z [u8]) {
    if *n < extra.len() && !extra[..*n].contains(&name) {
        extra[*n] = name;
        *n += 1;
    }
}

/// The SOA in the authority section of a negative answer, with the negative TTL.
fn negative(w: &mut Writer<'_>, zone: &CompiledZone) {
    if let Some(soa) = zone.apex().get(T_SOA) {
        if let Some(rd) = soa.rdatas.first() {
            w.record(
                Section::Authority,
                Owner::Name(zone.origin.wire()),
                T_SOA,
                zone.negative_ttl,
                rd,
            );
        }
    }
}

/// Is the wire name `a` equal to or below `b` (both lower case, uncompressed)?
fn wire_is_subdomain(a: &[u8], b: &[u8]) -> bool {
    if b.len() > a.len() {
        return false;
    }
    let off = a.len() - b.len();
    if a[off..] != *b {
        return false;
    }
    let mut i = 0;
    while i < off {
        i += 1 + a[i] as usize;
    }
    i == off
}
