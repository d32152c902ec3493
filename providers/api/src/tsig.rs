//! TSIG (RFC 8945): signing and verifying DNS messages with a shared secret, on wire bytes.
//!
//! One implementation for every side that speaks it: the built-in server (signed AXFR/IXFR,
//! NOTIFY, UPDATE) and the `rfc2136` provider (signed UPDATE and AXFR to BIND or Knot). HMAC
//! comes from aws-lc-rs, the crypto stack rustls already brings (no second one).
//!
//! - Algorithms: hmac-sha256, hmac-sha384, hmac-sha512, and hmac-sha1 for old servers. The MAC
//!   is always the full HMAC output; a shorter (truncated) one is refused with BADTRUNC, a
//!   longer one is FORMERR (RFC 8945 §5.2.2.1; truncation is optional to implement).
//! - Time: `fudge` 300 s; a request outside it is BADTIME (§5.2.3).
//! - Order of the checks (§5.2): the key (unknown name, or another algorithm: BADKEY), then
//!   the MAC (BADSIG), then the time (BADTIME). The error answers are built by
//!   [`Failure::append_to`]: BADKEY and BADSIG unsigned, BADTIME signed with the server's time
//!   in Other Data (§5.3.2).
//! - Multi-message answers (AXFR, IXFR: §5.3.1): the first message's MAC covers the request's
//!   MAC, the message and the TSIG variables; each later one covers the prior MAC, the message
//!   and the timers only. [`Signer`] signs every message; [`Verifier`] checks every message
//!   and accepts unsigned ones in between as long as every 100th is signed.
//!
//! Secrets never reach `Debug` output or error texts.

use std::fmt;

use aws_lc_rs::{constant_time, hmac};

use crate::Name;

/// The TSIG RR type.
pub const TYPE_TSIG: u16 = 250;
/// Class ANY, which a TSIG RR carries.
const CLASS_ANY: u16 = 255;
/// The time window either side of a message's signing time (RFC 8945 §10: 300 s).
pub const FUDGE: u16 = 300;
/// In a multi-message answer, at most this many messages may go unsigned in a row (§5.3.1).
pub const MAX_UNSIGNED_RUN: usize = 99;

/// TSIG error codes (RFC 8945 §4.3 and RFC 2845 ext.).
pub mod error {
    pub const BADSIG: u16 = 16;
    pub const BADKEY: u16 = 17;
    pub const BADTIME: u16 = 18;
    pub const BADTRUNC: u16 = 22;
}

/// DNS RCODE NOTAUTH, which every TSIG failure answer carries.
pub const RCODE_NOTAUTH: u8 = 9;

/// A TSIG algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl Algorithm {
    /// All of them, in the order config errors list them.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::HmacSha256,
        Algorithm::HmacSha384,
        Algorithm::HmacSha512,
        Algorithm::HmacSha1,
    ];

    /// The config name (`hmac-sha256`), which is also the algorithm's domain name without the
    /// final dot.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "hmac-sha1",
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha384 => "hmac-sha384",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// From a config name (`hmac-sha256`, case-insensitive, a final dot allowed).
    pub fn from_name(s: &str) -> Option<Algorithm> {
        let s = s.trim().trim_end_matches('.');
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(s))
    }

    /// From the algorithm's name in a TSIG RR (uncompressed wire form, any case).
    fn from_wire(wire: &[u8]) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| eq_ignore_case(&a.wire(), wire))
    }

    /// The algorithm's name in wire form (`\x0bhmac-sha256\x00`).
    fn wire(self) -> Vec<u8> {
        let n = self.name().as_bytes();
        let mut v = Vec::with_capacity(n.len() + 2);
        v.push(n.len() as u8);
        v.extend_from_slice(n);
        v.push(0);
        v
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            Algorithm::HmacSha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Algorithm::HmacSha256 => hmac::HMAC_SHA256,
            Algorithm::HmacSha384 => hmac::HMAC_SHA384,
            Algorithm::HmacSha512 => hmac::HMAC_SHA512,
        }
    }

    /// The MAC's length in octets.
    pub fn mac_len(self) -> usize {
        match self {
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha384 => 48,
            Algorithm::HmacSha512 => 64,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A TSIG key: its name (as both sides know it), algorithm and secret. `Debug` shows the name
/// and algorithm only.
#[derive(Clone)]
pub struct Key {
    name: Name,
    /// The name in canonical wire form (lower case, uncompressed).
    name_wire: Vec<u8>,
    algorithm: Algorithm,
    hmac: hmac::Key,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name.to_string())
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// A key named `name` (the name both sides use, e.g. `xfr.`).
    pub fn new(name: &Name, algorithm: Algorithm, secret: &[u8]) -> Key {
        Key {
            name: name.clone(),
            name_wire: name.wire().to_ascii_lowercase(),
            algorithm,
            hmac: hmac::Key::new(algorithm.hmac(), secret),
        }
    }

    pub fn name(&self) -> &Name {
        &self.name
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The octets a TSIG record signed with this key adds to a message (no Other Data).
    pub fn record_len(&self) -> usize {
        self.name_wire.len() + 10 + self.algorithm.wire().len() + 16 + self.algorithm.mac_len()
    }

    /// Whether the RR's key name (canonical wire form) is this key's.
    pub fn is_named(&self, wire: &[u8]) -> bool {
        eq_ignore_case(&self.name_wire, wire)
    }
}

/// The keys a server knows, looked up by the name a message carries.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Vec<Key>,
}

impl Keyring {
    pub fn new(keys: impl IntoIterator<Item = Key>) -> Keyring {
        Keyring {
            keys: keys.into_iter().collect(),
        }
    }

    /// The key whose name is `wire` (canonical wire form, any case).
    pub fn get(&self, wire: &[u8]) -> Option<&Key> {
        self.keys.iter().find(|k| k.is_named(wire))
    }

    /// The key named `name`.
    pub fn by_name(&self, name: &Name) -> Option<&Key> {
        self.get(name.wire())
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A message that is not well-formed DNS, or whose TSIG RR is malformed or misplaced: the
/// answer is FORMERR (RFC 8945 §5.2: a TSIG that is not the last additional record, two of
/// them, a MAC longer than the algorithm's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed TSIG message: {0}")]
pub struct Malformed(pub &'static str);

/// A TSIG RR as found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    /// Where the RR starts in the message (the message without it is `msg[..start]`).
    pub start: usize,
    /// The key name, canonical wire form.
    pub key_name: Vec<u8>,
    /// The algorithm name, canonical wire form.
    pub algorithm: Vec<u8>,
    pub time_signed: u64,
    pub fudge: u16,
    pub mac: Vec<u8>,
    pub original_id: u16,
    pub error: u16,
    pub other: Vec<u8>,
}

/// The TSIG RR of `msg`, if it has one (the last additional record).
pub fn find(msg: &[u8]) -> Result<Option<Rr>, Malformed> {
    if msg.len() < 12 {
        return Err(Malformed("shorter than a DNS header"));
    }
    let count = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]) as usize;
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(msg, at)?;
        at = at.checked_add(4).filter(|&e| e <= msg.len()).ok_or(TRUNC)?;
    }
    let total = an + ns + ar;
    let mut found = None;
    for i in 0..total {
        let start = at;
        at = skip_name(msg, at)?;
        if at + 10 > msg.len() {
            return Err(TRUNC);
        }
        let rtype = u16::from_be_bytes([msg[at], msg[at + 1]]);
        let rdlen = u16::from_be_bytes([msg[at + 8], msg[at + 9]]) as usize;
        let rdata = at + 10;
        at = rdata
            .checked_add(rdlen)
            .filter(|&e| e <= msg.len())
            .ok_or(TRUNC)?;
        if rtype == TYPE_TSIG {
            if i + 1 != total || ar == 0 {
                return Err(Malformed(
                    "a TSIG record that is not the last additional record",
                ));
            }
            found = Some((start, rdata, at));
        }
    }
    if at != msg.len() {
        return Err(Malformed("trailing octets after the last record"));
    }
    let Some((start, rdata, end)) = found else {
        return Ok(None);
    };
    let class = u16::from_be_bytes([msg[rdata - 8], msg[rdata - 7]]);
    if class != CLASS_ANY {
        return Err(Malformed("a TSIG record whose class is not ANY"));
    }
    let key_name = read_name(msg, start)?.0;
    let (algorithm, mut p) = read_name(msg, rdata)?;
    let take = |p: &mut usize, n: usize| -> Result<&[u8], Malformed> {
        let s = msg.get(*p..*p + n).filter(|_| *p + n <= end).ok_or(TRUNC)?;
        *p += n;
        Ok(s)
    };
    let t = take(&mut p, 6)?;
    let time_signed = t.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
    let u16_at = |s: &[u8]| u16::from_be_bytes([s[0], s[1]]);
    let fudge = u16_at(take(&mut p, 2)?);
    let mac_len = u16_at(take(&mut p, 2)?) as usize;
    let mac = take(&mut p, mac_len)?.to_vec();
    let original_id = u16_at(take(&mut p, 2)?);
    let error = u16_at(take(&mut p, 2)?);
    let other_len = u16_at(take(&mut p, 2)?) as usize;
    let other = take(&mut p, other_len)?.to_vec();
    if p != end {
        return Err(Malformed("a TSIG record with octets after Other Data"));
    }
    Ok(Some(Rr {
        start,
        key_name,
        algorithm,
        time_signed,
        fudge,
        mac,
        original_id,
        error,
        other,
    }))
}

const TRUNC: Malformed = Malformed("truncated");

/// Skips a (possibly compressed) name at `at`; returns the offset after it.
fn skip_name(msg: &[u8], mut at: usize) -> Result<usize, Malformed> {
    loop {
        let len = *msg.get(at).ok_or(TRUNC)? as usize;
        match len {
            0 => return Ok(at + 1),
            l if l & 0xC0 == 0xC0 => {
                return if at + 2 <= msg.len() {
                    Ok(at + 2)
                } else {
                    Err(TRUNC)
                };
            }
            l if l & 0xC0 != 0 => return Err(Malformed("a bad label type")),
            l => at += 1 + l,
        }
    }
}

/// A name at `at` in canonical wire form (pointers followed, lower case): the shared reader.
fn read_name(msg: &[u8], at: usize) -> Result<(Vec<u8>, usize), Malformed> {
    crate::message::read_name(msg, at).map_err(|e| Malformed(e.0))
}

fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The message as signed: without its TSIG RR, ARCOUNT one less, the original id.
fn unsigned_part(msg: &[u8], rr: &Rr) -> Vec<u8> {
    let mut m = msg[..rr.start].to_vec();
    m[0..2].copy_from_slice(&rr.original_id.to_be_bytes());
    let ar = u16::from_be_bytes([m[10], m[11]]).saturating_sub(1);
    m[10..12].copy_from_slice(&ar.to_be_bytes());
    m
}

/// What a MAC covers (RFC 8945 §4.3): the request MAC (answers) or the prior MAC (later
/// messages of a multi-message answer), then the message, then the TSIG variables (or the
/// timers alone for later messages).
struct Digest<'a> {
    key: &'a Key,
    ctx: hmac::Context,
}

impl<'a> Digest<'a> {
    fn new(key: &'a Key, prior: Option<&[u8]>) -> Digest<'a> {
        let mut ctx = hmac::Context::with_key(&key.hmac);
        if let Some(mac) = prior {
            ctx.update(&(mac.len() as u16).to_be_bytes());
            ctx.update(mac);
        }
        Digest { key, ctx }
    }

    fn variables(&mut self, time_signed: u64, fudge: u16, error: u16, other: &[u8]) {
        self.ctx.update(&self.key.name_wire);
        self.ctx.update(&CLASS_ANY.to_be_bytes());
        self.ctx.update(&0u32.to_be_bytes());
        self.ctx.update(&self.key.algorithm.wire());
        self.timers(time_signed, fudge);
        self.ctx.update(&error.to_be_bytes());
        self.ctx.update(&(other.len() as u16).to_be_bytes());
        self.ctx.update(other);
    }

    fn timers(&mut self, time_signed: u64, fudge: u16) {
        self.ctx.update(&time_signed.to_be_bytes()[2..]);
        self.ctx.update(&fudge.to_be_bytes());
    }

    fn finish(self) -> Vec<u8> {
        self.ctx.sign().as_ref().to_vec()
    }
}

/// Appends a TSIG RR to `msg` (and counts it in ARCOUNT).
fn append_rr(msg: &mut Vec<u8>, key_name: &[u8], algorithm: &[u8], fields: &RrFields<'_>) {
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    msg.extend_from_slice(key_name);
    msg.extend_from_slice(&TYPE_TSIG.to_be_bytes());
    msg.extend_from_slice(&CLASS_ANY.to_be_bytes());
    msg.extend_from_slice(&0u32.to_be_bytes());
    let rdlen = algorithm.len() + 6 + 2 + 2 + fields.mac.len() + 2 + 2 + 2 + fields.other.len();
    msg.extend_from_slice(&(rdlen as u16).to_be_bytes());
    msg.extend_from_slice(algorithm);
    msg.extend_from_slice(&fields.time_signed.to_be_bytes()[2..]);
    msg.extend_from_slice(&FUDGE.to_be_bytes());
    msg.extend_from_slice(&(fields.mac.len() as u16).to_be_bytes());
    msg.extend_from_slice(fields.mac);
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&fields.error.to_be_bytes());
    msg.extend_from_slice(&(fields.other.len() as u16).to_be_bytes());
    msg.extend_from_slice(fields.other);
    let ar = u16::from_be_bytes([msg[10], msg[11]]).saturating_add(1);
    msg[10..12].copy_from_slice(&ar.to_be_bytes());
}

struct RrFields<'a> {
    time_signed: u64,
    mac: &'a [u8],
    error: u16,
    other: &'a [u8],
}

/// Signs `msg` (a complete message without TSIG) with `key` at `now` (Unix seconds): a
/// request (`request_mac` `None`) or the first message of an answer (the request's MAC).
/// Returns the MAC, which a multi-message answer chains on.
pub fn sign(msg: &mut Vec<u8>, key: &Key, now: u64, request_mac: Option<&[u8]>) -> Vec<u8> {
    sign_with(msg, key, now, request_mac, 0, &[])
}

fn sign_with(
    msg: &mut Vec<u8>,
    key: &Key,
    now: u64,
    request_mac: Option<&[u8]>,
    error: u16,
    other: &[u8],
) -> Vec<u8> {
    let mut d = Digest::new(key, request_mac);
    d.ctx.update(msg);
    d.variables(now, FUDGE, error, other);
    let mac = d.finish();
    let fields = RrFields {
        time_signed: now,
        mac: &mac,
        error,
        other,
    };
    append_rr(msg, &key.name_wire, &key.algorithm.wire(), &fields);
    mac
}

/// Signs the messages of a multi-message answer (AXFR, IXFR) in order: every message.
pub struct Signer<'a> {
    key: &'a Key,
    now: u64,
    prior: Vec<u8>,
    first: bool,
}

impl<'a> Signer<'a> {
    /// For the answer to a request whose MAC was `request_mac`.
    pub fn new(key: &'a Key, now: u64, request_mac: &[u8]) -> Signer<'a> {
        Signer {
            key,
            now,
            prior: request_mac.to_vec(),
            first: true,
        }
    }

    /// Signs the next message of the answer.
    pub fn sign(&mut self, msg: &mut Vec<u8>) {
        let mac = if self.first {
            self.first = false;
            sign(msg, self.key, self.now, Some(&self.prior))
        } else {
            let mut d = Digest::new(self.key, Some(&self.prior));
            d.ctx.update(msg);
            d.timers(self.now, FUDGE);
            let mac = d.finish();
            let fields = RrFields {
                time_signed: self.now,
                mac: &mac,
                error: 0,
                other: &[],
            };
            append_rr(
                msg,
                &self.key.name_wire,
                &self.key.algorithm.wire(),
                &fields,
            );
            mac
        };
        self.prior = mac;
    }
}

/// A request's TSIG, checked.
#[derive(Debug)]
pub enum Check<'k> {
    /// No TSIG record.
    Unsigned,
    /// Signed by `key`, MAC and time valid: the answer is signed with [`Signer`] or [`sign`]
    /// using `mac`.
    Valid {
        key: &'k Key,
        mac: Vec<u8>,
        /// The message without its TSIG RR (ARCOUNT one less, the id as sent).
        message: Vec<u8>,
    },
    /// Signed, but not acceptably: the answer is NOTAUTH with [`Failure::append_to`].
    Failed(Failure<'k>),
}

/// Why a signed request was refused, and what its error answer needs.
#[derive(Debug, Clone)]
pub struct Failure<'k> {
    /// [`error::BADKEY`], [`error::BADSIG`], [`error::BADTIME`] or [`error::BADTRUNC`].
    pub error: u16,
    /// The key, when it was known (BADSIG, BADTIME, BADTRUNC).
    pub key: Option<&'k Key>,
    rr: Rr,
    now: u64,
}

impl Failure<'_> {
    /// The key name the request named (presentation form), for logs.
    pub fn key_name(&self) -> String {
        wire_to_text(&self.rr.key_name)
    }

    /// The error's mnemonic.
    pub fn error_name(&self) -> &'static str {
        match self.error {
            error::BADSIG => "BADSIG",
            error::BADKEY => "BADKEY",
            error::BADTIME => "BADTIME",
            error::BADTRUNC => "BADTRUNC",
            _ => "TSIG error",
        }
    }

    /// Appends the TSIG RR of the error answer (RFC 8945 §5.3.2) to `msg`, an answer with
    /// RCODE NOTAUTH: BADKEY and BADSIG unsigned (empty MAC, the request's time); BADTIME and
    /// BADTRUNC signed, BADTIME with the server's time in Other Data.
    pub fn append_to(&self, msg: &mut Vec<u8>) {
        match (self.error, self.key) {
            (error::BADTIME, Some(key)) => {
                let now = self.now.to_be_bytes();
                let mut d = Digest::new(key, Some(&self.rr.mac));
                d.ctx.update(msg);
                d.variables(self.rr.time_signed, FUDGE, error::BADTIME, &now[2..]);
                let mac = d.finish();
                let fields = RrFields {
                    time_signed: self.rr.time_signed,
                    mac: &mac,
                    error: error::BADTIME,
                    other: &now[2..],
                };
                append_rr(msg, &key.name_wire, &key.algorithm.wire(), &fields);
            }
            (error::BADTRUNC, Some(key)) => {
                sign_with(msg, key, self.now, Some(&self.rr.mac), error::BADTRUNC, &[]);
            }
            _ => {
                let fields = RrFields {
                    time_signed: self.rr.time_signed,
                    mac: &[],
                    error: self.error,
                    other: &[],
                };
                append_rr(msg, &self.rr.key_name, &self.rr.algorithm, &fields);
            }
        }
    }
}

/// Checks the TSIG of a request: `keys` finds a key by its canonical wire name. `Err` when
/// the message or its TSIG RR is malformed (answer FORMERR).
pub fn verify_request<'k>(
    msg: &[u8],
    keys: impl Fn(&[u8]) -> Option<&'k Key>,
    now: u64,
) -> Result<Check<'k>, Malformed> {
    let Some(rr) = find(msg)? else {
        return Ok(Check::Unsigned);
    };
    let fail = |error, key, rr| {
        Ok(Check::Failed(Failure {
            error,
            key,
            rr,
            now,
        }))
    };
    let key = match keys(&rr.key_name) {
        Some(k) if Algorithm::from_wire(&rr.algorithm) == Some(k.algorithm) => k,
        _ => return fail(error::BADKEY, None, rr),
    };
    let want = key.algorithm.mac_len();
    if rr.mac.len() > want {
        return Err(Malformed("a MAC longer than the algorithm's"));
    }
    let message = unsigned_part(msg, &rr);
    let mut d = Digest::new(key, None);
    d.ctx.update(&message);
    d.variables(rr.time_signed, rr.fudge, rr.error, &rr.other);
    let mac = d.finish();
    if rr.mac.len() < want {
        // Truncated MACs are not accepted (RFC 8945 §5.2.2.1: local policy). A wrong one is
        // BADSIG whatever its length.
        if !rr.mac.is_empty() && mac.starts_with(&rr.mac) {
            return fail(error::BADTRUNC, Some(key), rr);
        }
        return fail(error::BADSIG, Some(key), rr);
    }
    if constant_time::verify_slices_are_equal(&mac, &rr.mac).is_err() {
        return fail(error::BADSIG, Some(key), rr);
    }
    if now.abs_diff(rr.time_signed) > u64::from(rr.fudge) {
        return fail(error::BADTIME, Some(key), rr);
    }
    let mut message = message;
    message[0..2].copy_from_slice(&msg[0..2]);
    Ok(Check::Valid {
        key,
        mac: rr.mac,
        message,
    })
}

/// Why an answer's TSIG was not accepted (by a client: the `rfc2136` provider, NOTIFY).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("{0}")]
    Malformed(#[from] Malformed),
    #[error("the answer is not signed")]
    Unsigned,
    #[error("the answer is signed with another key ({0})")]
    OtherKey(String),
    #[error("the answer's TSIG MAC does not verify")]
    BadMac,
    #[error("the answer was signed at {signed}, {off} s from this host's clock (fudge {fudge} s)")]
    BadTime { signed: u64, off: u64, fudge: u16 },
    #[error("the server answered TSIG error {0}")]
    Refused(&'static str),
    #[error("more than {MAX_UNSIGNED_RUN} messages of the transfer in a row are unsigned")]
    TooManyUnsigned,
}

/// Checks the TSIG of the answers to a request signed with `key` whose MAC was
/// `request_mac`, message by message (one for most answers, several for a transfer).
pub struct Verifier<'a> {
    key: &'a Key,
    prior: Vec<u8>,
    first: bool,
    /// Messages since the last signed one (their bytes, which the next MAC covers).
    pending: Vec<u8>,
    unsigned: usize,
    now: u64,
}

impl<'a> Verifier<'a> {
    pub fn new(key: &'a Key, request_mac: &[u8], now: u64) -> Verifier<'a> {
        Verifier {
            key,
            prior: request_mac.to_vec(),
            first: true,
            pending: Vec::new(),
            unsigned: 0,
            now,
        }
    }

    /// Checks the next message of the answer; returns it without its TSIG RR.
    pub fn check(&mut self, msg: &[u8]) -> Result<Vec<u8>, AnswerError> {
        let Some(rr) = find(msg)? else {
            if self.first {
                return Err(AnswerError::Unsigned);
            }
            self.unsigned += 1;
            if self.unsigned > MAX_UNSIGNED_RUN {
                return Err(AnswerError::TooManyUnsigned);
            }
            self.pending.extend_from_slice(msg);
            return Ok(msg.to_vec());
        };
        if !self.key.is_named(&rr.key_name)
            || Algorithm::from_wire(&rr.algorithm) != Some(self.key.algorithm)
        {
            return Err(AnswerError::OtherKey(wire_to_text(&rr.key_name)));
        }
        if rr.error != 0 && rr.mac.is_empty() {
            return Err(AnswerError::Refused(match rr.error {
                error::BADSIG => "BADSIG",
                error::BADKEY => "BADKEY",
                error::BADTIME => "BADTIME",
                error::BADTRUNC => "BADTRUNC",
                _ => "unknown",
            }));
        }
        let message = unsigned_part(msg, &rr);
        let mut d = Digest::new(self.key, Some(&self.prior));
        d.ctx.update(&self.pending);
        d.ctx.update(&message);
        if self.first {
            d.variables(rr.time_signed, rr.fudge, rr.error, &rr.other);
        } else {
            d.timers(rr.time_signed, rr.fudge);
        }
        let mac = d.finish();
        if rr.mac.len() != mac.len()
            || constant_time::verify_slices_are_equal(&mac, &rr.mac).is_err()
        {
            return Err(AnswerError::BadMac);
        }
        if rr.error == error::BADTIME {
            return Err(AnswerError::Refused("BADTIME"));
        }
        let off = self.now.abs_diff(rr.time_signed);
        if off > u64::from(rr.fudge) {
            return Err(AnswerError::BadTime {
                signed: rr.time_signed,
                off,
                fudge: rr.fudge,
            });
        }
        self.first = false;
        self.prior = rr.mac;
        self.pending.clear();
        self.unsigned = 0;
        let mut message = message;
        message[0..2].copy_from_slice(&msg[0..2]);
        Ok(message)
    }

    /// Whether the answer ended on a signed message (RFC 8945 §5.3.1: the last one must be).
    pub fn finished_signed(&self) -> bool {
        !self.first && self.unsigned == 0
    }
}

/// The request's TSIG MAC (what the answer's MAC covers), from a message [`sign`] signed.
pub fn mac_of(msg: &[u8]) -> Result<Option<Vec<u8>>, Malformed> {
    Ok(find(msg)?.map(|rr| rr.mac))
}

fn wire_to_text(wire: &[u8]) -> String {
    Name::from_wire(wire).map_or_else(|| "(a bad name)".into(), |n| n.to_string())
}

#[cfg(test)]
mod tests;
