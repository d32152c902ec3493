//! The encodings of RDATA presentation forms, for provider converters whose native forms carry
//! them differently (Cloudflare's structured `data`: base64 certificates, bare strings): one
//! implementation, the one the RDATA codec itself uses.

use super::RdataError;

/// Upper-case hex, as RDATA presentation forms write it.
pub fn hex(bytes: &[u8]) -> String {
    super::encoding::hex_encode(bytes)
}

/// Hex digits (either case, white space between pairs allowed as in presentation forms).
pub fn unhex(text: &str) -> Result<Vec<u8>, RdataError> {
    super::encoding::hex_decode(text, "hex")
}

/// Base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    super::encoding::base64_encode(bytes)
}

/// Base64 (RFC 4648 §4), padding required.
pub fn unbase64(text: &str) -> Result<Vec<u8>, RdataError> {
    super::encoding::base64_decode(text, "base64")
}

/// Octets as a quoted character-string (RFC 1035 §5.1): `"` and `\` escaped, other
/// non-printable octets as `\DDD`.
pub fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    super::text::quote(&mut out, bytes);
    out
}

/// The octets of a presentation token's text (`\X` and `\DDD` decoded); a `\DDD` above 255
/// or a lone final backslash is an error.
pub fn unescape(raw: &str) -> Result<Vec<u8>, RdataError> {
    super::text::unescape_text(raw)
}
