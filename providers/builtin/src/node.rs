//! A name of a compiled zone: its RRsets and its precomputed answers in one allocation.
//!
//! A node used to hold a vector of RRsets, each with a vector of RDATAs, each RDATA a box of
//! its own, and the answers in a fourth allocation: five or more allocations per name, whose
//! allocator headers and rounding cost more than the data (18.6 MB of overhead for 30 MB of
//! data on a 100,000-record zone). Here everything a name holds is one byte string:
//!
//! ```text
//! sets (2) | answers at (4) | per set: header (20) | per set: its RDATAs | answers
//! header:  type (2) | flags (2) | TTL (4) | weight (4) | health slot (2) | 0 (2) | RDATAs' octets (4)
//! RDATAs:  per RDATA: length (2) | uncompressed wire form
//! answers: per query type: type (2) | length (2) | response
//! ```
//!
//! Sets are sorted by type (stable: weighted variants keep their order) and read through
//! [`RRset`] views that borrow the node; nothing is allocated to read one.

/// Flag: the set is a weighted variant.
const WEIGHTED: u16 = 1;
/// Flag: the set names a health check slot.
const CHECKED: u16 = 2;
/// Octets before the headers: the set count and where the answers start.
const TOP: usize = 6;
/// Octets of one set's header.
const HEADER: usize = 20;

/// A name in the zone (possibly an empty non-terminal).
#[derive(Default, Clone)]
pub struct Node {
    /// An NS set below the apex: a zone cut.
    pub is_cut: bool,
    /// Nodes directly below this one (an empty non-terminal with none is gone).
    pub(crate) children: u32,
    /// The sets and the answers, as the module documentation lays them out; empty for a node
    /// that holds nothing.
    data: Box<[u8]>,
}

/// An RRset of a node, as the node holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RRset<'a> {
    pub rtype: u16,
    pub ttl: u32,
    /// A weighted variant (one of several sets of this type at the name, chosen per query).
    pub weight: Option<u32>,
    /// The health-table slot of its target's check, if it has one.
    pub health: Option<u16>,
    pub rdatas: Rdatas<'a>,
}

/// An RRset being built: what [`Node::with_set`] adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSet {
    pub rtype: u16,
    pub ttl: u32,
    pub weight: Option<u32>,
    pub health: Option<u16>,
    /// Packed as in a node: per RDATA its length (2) and its wire form.
    pub rdatas: Vec<u8>,
}

impl NewSet {
    /// Append one RDATA (at most 65,535 octets, as RDLENGTH allows).
    pub fn push(&mut self, rd: &[u8]) {
        let len = u16::try_from(rd.len()).unwrap_or(u16::MAX);
        self.rdatas.extend_from_slice(&len.to_be_bytes());
        self.rdatas.extend_from_slice(&rd[..usize::from(len)]);
    }
}

/// The RDATAs of an RRset, each as its length (two octets) and its uncompressed wire form
/// (the names in it that may be compressed are found from its type when it is written:
/// [`switchback_api::rdata::compressible`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rdatas<'a>(&'a [u8]);

impl<'a> Rdatas<'a> {
    pub fn iter(&self) -> RdataIter<'a> {
        RdataIter(self.0)
    }

    pub fn first(&self) -> Option<&'a [u8]> {
        self.iter().next()
    }

    /// How many RDATAs.
    pub fn count(&self) -> usize {
        self.iter().count()
    }
}

/// The RDATAs of an [`Rdatas`], in order.
#[derive(Debug, Clone)]
pub struct RdataIter<'a>(&'a [u8]);

impl<'a> Iterator for RdataIter<'a> {
    type Item = &'a [u8];
    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let [a, b, rest @ ..] = self.0 else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([*a, *b])).min(rest.len());
        let (rd, rest) = rest.split_at(len);
        self.0 = rest;
        Some(rd)
    }
}

impl<'a> IntoIterator for Rdatas<'a> {
    type Item = &'a [u8];
    type IntoIter = RdataIter<'a>;
    fn into_iter(self) -> RdataIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Rdatas<'a> {
    type Item = &'a [u8];
    type IntoIter = RdataIter<'a>;
    fn into_iter(self) -> RdataIter<'a> {
        self.iter()
    }
}

/// The sets of a node, in order.
#[derive(Debug, Clone)]
pub struct RRsets<'a> {
    headers: &'a [u8],
    rdatas: &'a [u8],
}

impl<'a> Iterator for RRsets<'a> {
    type Item = RRset<'a>;
    #[inline]
    fn next(&mut self) -> Option<RRset<'a>> {
        let (h, rest) = self.headers.split_first_chunk::<HEADER>()?;
        self.headers = rest;
        let u16_at = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        let u32_at = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let flags = u16_at(2);
        let len = (u32_at(16) as usize).min(self.rdatas.len());
        let (rdatas, rest) = self.rdatas.split_at(len);
        self.rdatas = rest;
        Some(RRset {
            rtype: u16_at(0),
            ttl: u32_at(4),
            weight: (flags & WEIGHTED != 0).then(|| u32_at(8)),
            health: (flags & CHECKED != 0).then(|| u16_at(12)),
            rdatas: Rdatas(rdatas),
        })
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("rrsets", &self.rrsets().collect::<Vec<_>>())
            .field("is_cut", &self.is_cut)
            .field("answers", &self.answer_count())
            .finish()
    }
}

impl Node {
    fn count(&self) -> usize {
        match &self.data[..] {
            [a, b, ..] => usize::from(u16::from_be_bytes([*a, *b])),
            _ => 0,
        }
    }

    fn answers_at(&self) -> usize {
        match &self.data[..] {
            [_, _, a, b, c, d, ..] => {
                (u32::from_be_bytes([*a, *b, *c, *d]) as usize).min(self.data.len())
            }
            _ => self.data.len(),
        }
    }

    /// Every set, sorted by type.
    #[inline]
    pub fn rrsets(&self) -> RRsets<'_> {
        let n = self.count();
        let end = (TOP + n * HEADER).min(self.data.len());
        let start = TOP.min(end);
        RRsets {
            headers: &self.data[start..end],
            rdatas: &self.data[end..self.answers_at().max(end)],
        }
    }

    /// The RRset of this type (the first variant of a weighted one).
    #[inline]
    pub fn get(&self, rtype: u16) -> Option<RRset<'_>> {
        self.rrsets().find(|r| r.rtype == rtype)
    }

    /// Every set of this type: one, or the weighted variants (adjacent: sorted by type).
    #[inline]
    pub fn variants(&self, rtype: u16) -> impl Iterator<Item = RRset<'_>> + Clone {
        self.rrsets()
            .skip_while(move |r| r.rtype != rtype)
            .take_while(move |r| r.rtype == rtype)
    }

    /// The precomputed response to `qtype` (header and the rest after the question name).
    #[inline]
    pub fn answer(&self, qtype: u16) -> Option<&[u8]> {
        let mut a = &self.data[self.answers_at()..];
        while a.len() >= 4 {
            let t = u16::from_be_bytes([a[0], a[1]]);
            let len = usize::from(u16::from_be_bytes([a[2], a[3]]));
            let (resp, rest) = a[4..].split_at(len.min(a.len() - 4));
            if t == qtype {
                return Some(resp);
            }
            a = rest;
        }
        None
    }

    /// Precomputed responses held (for tests and the memory profile).
    pub fn answer_count(&self) -> usize {
        let (mut a, mut n) = (&self.data[self.answers_at()..], 0);
        while a.len() >= 4 {
            let len = usize::from(u16::from_be_bytes([a[2], a[3]]));
            a = &a[(4 + len).min(a.len())..];
            n += 1;
        }
        n
    }

    /// Octets of the answers, of the sets' headers and of their RDATAs.
    pub fn sizes(&self) -> (usize, usize, usize) {
        let at = self.answers_at();
        let headers = (TOP + self.count() * HEADER).min(at);
        (self.data.len() - at, headers, at - headers)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// This node's sets with `set` added: merged into a set of the same type when neither is
    /// a weighted variant, else kept apart after the sets of its type. The answers are
    /// dropped (they are made again once the node is complete).
    pub(crate) fn with_set(&self, set: NewSet) -> Node {
        let mut sets: Vec<NewSet> = self.rrsets().map(|r| r.to_new()).collect();
        match sets
            .iter_mut()
            .find(|s| set.weight.is_none() && s.rtype == set.rtype && s.weight.is_none())
        {
            Some(existing) => existing.rdatas.extend_from_slice(&set.rdatas),
            None => {
                let at = sets
                    .iter()
                    .position(|s| s.rtype > set.rtype)
                    .unwrap_or(sets.len());
                sets.insert(at, set);
            }
        }
        Node {
            is_cut: self.is_cut,
            children: self.children,
            data: pack(&sets, &[]),
        }
    }

    /// This node with `answers` as its precomputed answers.
    pub(crate) fn set_answers(&mut self, answers: &[u8]) {
        if self.is_empty() && answers.is_empty() {
            self.data = Box::default();
            return;
        }
        let at = self.answers_at();
        let mut data = Vec::with_capacity(at.max(TOP) + answers.len());
        if self.data.len() < TOP {
            data.extend_from_slice(&[0; TOP]);
        } else {
            data.extend_from_slice(&self.data[..at]);
        }
        let at = data.len() as u32;
        data[2..6].copy_from_slice(&at.to_be_bytes());
        data.extend_from_slice(answers);
        self.data = data.into_boxed_slice();
    }

    /// The sets of `other` (no answers), keeping this node's place in the tree.
    pub(crate) fn take_sets(&mut self, other: Node) {
        self.data = other.data;
        self.set_answers(&[]);
    }

    /// Drop every set and answer.
    pub(crate) fn clear(&mut self) {
        self.data = Box::default();
    }
}

impl RRset<'_> {
    fn to_new(self) -> NewSet {
        NewSet {
            rtype: self.rtype,
            ttl: self.ttl,
            weight: self.weight,
            health: self.health,
            rdatas: self.rdatas.0.to_vec(),
        }
    }
}

/// The node layout of `sets` (sorted by type) and `answers`.
fn pack(sets: &[NewSet], answers: &[u8]) -> Box<[u8]> {
    if sets.is_empty() && answers.is_empty() {
        return Box::default();
    }
    let rdatas: usize = sets.iter().map(|s| s.rdatas.len()).sum();
    let at = TOP + sets.len() * HEADER + rdatas;
    let mut data = Vec::with_capacity(at + answers.len());
    data.extend_from_slice(&u16::try_from(sets.len()).unwrap_or(u16::MAX).to_be_bytes());
    data.extend_from_slice(&(at as u32).to_be_bytes());
    for s in sets {
        let flags = if s.weight.is_some() { WEIGHTED } else { 0 }
            | if s.health.is_some() { CHECKED } else { 0 };
        data.extend_from_slice(&s.rtype.to_be_bytes());
        data.extend_from_slice(&flags.to_be_bytes());
        data.extend_from_slice(&s.ttl.to_be_bytes());
        data.extend_from_slice(&s.weight.unwrap_or(0).to_be_bytes());
        data.extend_from_slice(&s.health.unwrap_or(0).to_be_bytes());
        data.extend_from_slice(&[0, 0]);
        data.extend_from_slice(&(s.rdatas.len() as u32).to_be_bytes());
    }
    for s in sets {
        data.extend_from_slice(&s.rdatas);
    }
    data.extend_from_slice(answers);
    data.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rtype: u16, weight: Option<u32>, rds: &[&[u8]]) -> NewSet {
        let mut s = NewSet {
            rtype,
            ttl: 300 + u32::from(rtype),
            weight,
            health: weight.map(|w| w as u16 + 7),
            rdatas: Vec::new(),
        };
        for rd in rds {
            s.push(rd);
        }
        s
    }

    #[test]
    fn sets_and_answers_read_back_as_built() {
        let mut n = Node::default();
        assert!(n.is_empty() && n.rrsets().next().is_none() && n.answer(1).is_none());
        n = n.with_set(set(28, None, &[&[1; 16]]));
        n = n.with_set(set(1, Some(3), &[&[192, 0, 2, 1]]));
        n = n.with_set(set(1, Some(5), &[&[192, 0, 2, 2], &[192, 0, 2, 3]]));
        n = n.with_set(set(16, None, &[b"\x02hi"]));
        n = n.with_set(set(16, None, &[b"\x02yo"]));
        let sets: Vec<RRset<'_>> = n.rrsets().collect();
        assert_eq!(
            sets.iter()
                .map(|s| (s.rtype, s.weight, s.health))
                .collect::<Vec<_>>(),
            [
                (1, Some(3), Some(10)),
                (1, Some(5), Some(12)),
                (16, None, None),
                (28, None, None)
            ]
        );
        assert_eq!(
            sets[1].rdatas.iter().collect::<Vec<_>>(),
            [&[192, 0, 2, 2][..], &[192, 0, 2, 3]]
        );
        assert_eq!(sets[2].rdatas.count(), 2, "merged");
        assert_eq!(sets[3].ttl, 328);
        assert_eq!(n.variants(1).count(), 2);
        assert_eq!(n.variants(16).count(), 1);
        assert_eq!(n.variants(2).count(), 0);
        assert_eq!(n.get(28).unwrap().rdatas.first(), Some(&[1u8; 16][..]));
        n.set_answers(b"\x00\x01\x00\x02ab\x00\x1c\x00\x01c");
        assert_eq!(
            (n.answer(1), n.answer(28), n.answer(5)),
            (Some(&b"ab"[..]), Some(&b"c"[..]), None)
        );
        assert_eq!(n.answer_count(), 2);
        assert_eq!(n.rrsets().count(), 4, "the sets are kept with answers");
        n.set_answers(b"");
        assert_eq!((n.answer_count(), n.rrsets().count()), (0, 4));
        let (answers, headers, rdatas) = n.sizes();
        assert_eq!((answers, headers), (0, TOP + 4 * HEADER));
        assert_eq!(
            rdatas,
            (2 + 4) + (2 + 4 + 2 + 4) + (2 + 3 + 2 + 3) + (2 + 16)
        );
        n.clear();
        assert!(n.is_empty());
        // An empty non-terminal can hold answers (its NODATA).
        n.set_answers(b"\x00\x01\x00\x01z");
        assert_eq!((n.answer(1), n.rrsets().count()), (Some(&b"z"[..]), 0));
    }
}
