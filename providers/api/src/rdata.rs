//! RDATA codec: presentation form <-> uncompressed wire form, for every type the record model
//! knows, and RFC 3597 `\# len hex` for the rest. Canonical presentation = format(parse(text)).

use crate::token::{Token, tokenize};
use crate::{Name, RType};

/// Why RDATA could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RdataError(pub String);

/// Parse the RDATA tokens of one record of type `rtype` into uncompressed wire form.
/// Relative names are completed with `origin`. Names inside RDATA are folded to lower case.
pub fn parse(rtype: RType, tokens: &[Token], origin: &Name) -> Result<Vec<u8>, RdataError> {
    let _ = (rtype, tokens, origin);
    Err(RdataError("RDATA codec not written yet".into()))
}

/// Render uncompressed wire RDATA of type `rtype` in canonical presentation form.
pub fn format(rtype: RType, wire: &[u8]) -> Result<String, RdataError> {
    let _ = (rtype, wire);
    Err(RdataError("RDATA codec not written yet".into()))
}

/// The canonical presentation form of `text` (RDATA of type `rtype`).
pub fn canonicalize(rtype: RType, text: &str, origin: &Name) -> Result<String, RdataError> {
    let tokens = tokenize(text).map_err(RdataError)?;
    format(rtype, &parse(rtype, &tokens, origin)?)
}

/// Byte ranges of the domain names inside wire RDATA that a server may compress
/// (RFC 3597 §4: only the RFC 1035 types NS, CNAME, SOA, PTR, MX, and also none else).
pub fn compressible_names(rtype: RType, wire: &[u8]) -> Vec<std::ops::Range<usize>> {
    let _ = (rtype, wire);
    Vec::new()
}
