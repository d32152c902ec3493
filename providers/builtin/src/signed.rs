//! TSIG-signed messages (RFC 8945), off the precomputed path: the message is verified against
//! the server's keys, answered without its TSIG record by the normal engine, and the answer is
//! signed with the same key. A message that fails verification is answered NOTAUTH with the
//! TSIG error (BADKEY, BADSIG, BADTIME, BADTRUNC) as the RFC says; a malformed TSIG is
//! FORMERR. Zone transfers come back to the caller with the key, which signs every message.

use std::time::{SystemTime, UNIX_EPOCH};

use switchback_api::tsig::{self, Check, Key, Keyring};
use tracing::info;

use crate::answer::{self, Catalog, Disposition, Transport};
use crate::wire::{self, Writer, rcode};

/// What the caller does after [`answer`].
#[derive(Debug)]
pub enum Signed<'k> {
    /// `out` holds the (signed, or NOTAUTH/FORMERR) answer.
    Respond,
    Drop,
    /// A zone transfer, validly signed by `key`: the caller checks the access list with the
    /// key, answers `message` (the request without its TSIG) and signs every message of the
    /// answer with a [`tsig::Signer`] over `mac`.
    Transfer {
        key: &'k Key,
        mac: Vec<u8>,
        message: Vec<u8>,
    },
}

/// Unix seconds now (TSIG's clock).
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Answers the signed message `pkt` into `out`.
pub fn answer<'k>(
    cat: &Catalog,
    keys: &'k Keyring,
    pkt: &[u8],
    transport: Transport,
    out: &mut Vec<u8>,
) -> Signed<'k> {
    let now = now();
    let check = match tsig::verify_request(pkt, |name| keys.get(name), now) {
        Ok(c) => c,
        Err(e) => {
            info!(error = %e, "malformed TSIG: FORMERR");
            formerr(pkt, out);
            return Signed::Respond;
        }
    };
    match check {
        Check::Unsigned => match answer::answer(cat, pkt, transport, out) {
            Disposition::Drop | Disposition::Signed => Signed::Drop,
            _ => Signed::Respond,
        },
        Check::Failed(f) => {
            info!(key = %f.key_name(), error = f.error_name(), "TSIG verification failed: NOTAUTH");
            let Ok(q) = wire::parse_query(pkt) else {
                return Signed::Drop;
            };
            out.clear();
            let mut w = Writer::response(out, pkt, &q, false, rcode::NOTAUTH);
            if let Some(e) = q.edns {
                w.opt(0, e.dnssec_ok);
            }
            f.append_to(out);
            Signed::Respond
        }
        Check::Valid { key, mac, message } => {
            match answer::answer(cat, &message, transport, out) {
                Disposition::Respond => {
                    // Over UDP the signed answer must still fit, else it is truncated (and signed).
                    if transport == Transport::Udp
                        && out.len() + key.record_len() > udp_limit(&message)
                    {
                        truncate_to_header(&message, out);
                    }
                    tsig::sign(out, key, now, Some(&mac));
                    Signed::Respond
                }
                Disposition::Transfer => Signed::Transfer { key, mac, message },
                // A TSIG inside the signed part cannot verify; nothing else drops.
                Disposition::Drop | Disposition::Signed => Signed::Drop,
            }
        }
    }
}

/// The UDP payload the client accepts (512 without EDNS).
fn udp_limit(msg: &[u8]) -> usize {
    match wire::parse_query(msg).ok().and_then(|q| q.edns) {
        Some(e) => e.payload.clamp(512, wire::OUR_UDP_PAYLOAD) as usize,
        None => 512,
    }
}

/// The answer cut to its header and question, TC set (RFC 8945 §5.3: the client retries over
/// TCP; the truncated answer is still signed).
fn truncate_to_header(msg: &[u8], out: &mut Vec<u8>) {
    let Ok(q) = wire::parse_query(msg) else {
        return;
    };
    let rc = out.get(3).map_or(0, |b| b & 0x0F);
    out.clear();
    {
        let mut w = Writer::response(out, msg, &q, true, rc);
        if let Some(e) = q.edns {
            w.opt(0, e.dnssec_ok);
        }
    }
    out[2] |= 0x02; // TC
}

/// FORMERR for a malformed TSIG: the question echoed (and an OPT when the query had one), as
/// every other FORMERR of a query that could be read (found by the fuzzer: a TSIG record of
/// class 0xff04 got a bare header).
fn formerr(pkt: &[u8], out: &mut Vec<u8>) {
    out.clear();
    match wire::parse_query(pkt) {
        Ok(q) => {
            let mut w = Writer::response(out, pkt, &q, false, rcode::FORMERR);
            if let Some(e) = q.edns {
                w.opt(0, e.dnssec_ok);
            }
        }
        Err(_) => {
            Writer::header_only(out, pkt, rcode::FORMERR);
        }
    }
}
