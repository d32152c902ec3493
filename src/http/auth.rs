//! Authentication of the API: a bearer token, or for hooks an HMAC-SHA256 signature of the
//! timestamp and the body (`X-Switchback-Signature: t=UNIX_SECONDS,v1=HEX`).
//!
//! HMAC (RFC 2104) is written here over `sha2` (no extra crate); every secret comparison is
//! constant-time. Secrets are held only in [`Secrets`] and never printed (its `Debug` hides them).

use sha2::{Digest, Sha256};

/// How far a signature's timestamp may be from now, either way.
pub const MAX_SKEW_SECS: i64 = 300;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-switchback-signature";

/// The secrets the API checks against, read from the environment at start.
#[derive(Clone, Default)]
pub struct Secrets {
    pub token: Option<Vec<u8>>,
    pub webhook_secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "<set>"),
            )
            .finish()
    }
}

impl Secrets {
    /// From the variables named by `[api] token_env` and `webhook_secret_env` (an unset or
    /// empty variable counts as not configured).
    pub fn from_env(token_env: Option<&str>, secret_env: Option<&str>) -> Secrets {
        let read = |name: Option<&str>| {
            name.and_then(|n| std::env::var(n).ok())
                .map(|v| v.trim().as_bytes().to_vec())
                .filter(|v| !v.is_empty())
        };
        Secrets {
            token: read(token_env),
            webhook_secret: read(secret_env),
        }
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&Sha256::digest(data));
    out
}

/// HMAC-SHA256 (RFC 2104): `H((K ^ opad) || H((K ^ ipad) || m))`, block size 64.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for p in parts {
        inner.update(p);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    let mut out = [0u8; 32];
    out.copy_from_slice(&outer.finalize());
    out
}

/// Equal in constant time (for equal lengths; the length itself is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut d = 0u8;
    for (x, y) in a.iter().zip(b) {
        d |= x ^ y;
    }
    std::hint::black_box(d) == 0
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[usize::from(b >> 4)] as char);
        s.push(D[usize::from(b & 15)] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.len() % 2 != 0 {
        return None;
    }
    let v = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.chunks(2)
        .map(|p| Some(v(p[0])? << 4 | v(p[1])?))
        .collect()
}

/// Why a request is not authenticated (the text goes into the 401's detail: no secret in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    NoCredentials,
    NotConfigured(&'static str),
    BadToken,
    BadSignatureHeader,
    Skew { skew: i64 },
    BadSignature,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Denied::NoCredentials => f.write_str(
                "send Authorization: Bearer TOKEN (or, for hooks, X-Switchback-Signature)",
            ),
            Denied::NotConfigured(what) => write!(f, "{what}"),
            Denied::BadToken => f.write_str("the bearer token is not valid"),
            Denied::BadSignatureHeader => {
                f.write_str("X-Switchback-Signature must be t=UNIX_SECONDS,v1=HEX")
            }
            Denied::Skew { skew } => write!(
                f,
                "the signature timestamp is {skew} s away from now (at most {MAX_SKEW_SECS} s allowed)"
            ),
            Denied::BadSignature => f.write_str("the signature does not match the body"),
        }
    }
}

/// Check `Authorization: Bearer …` (the header's value).
pub fn check_bearer(secrets: &Secrets, header: &str) -> Result<(), Denied> {
    let Some(token) = secrets.token.as_deref() else {
        return Err(Denied::NotConfigured(
            "no API token is configured ([api] token_env names an unset or empty variable); \
             bearer authentication is off",
        ));
    };
    let given = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or(Denied::BadToken)?;
    // Compare digests: constant time whatever the lengths.
    if ct_eq(&sha256(given.as_bytes()), &sha256(token)) {
        Ok(())
    } else {
        Err(Denied::BadToken)
    }
}

/// Check `X-Switchback-Signature: t=…,v1=…` over `"{t}.{path}.{body}"` at `now` (UNIX
/// seconds): `path` is the request's path, so a signature made for one hook is refused by
/// another.
pub fn check_signature(
    secrets: &Secrets,
    header: &str,
    path: &str,
    body: &[u8],
    now: i64,
) -> Result<(), Denied> {
    let Some(secret) = secrets.webhook_secret.as_deref() else {
        return Err(Denied::NotConfigured(
            "no webhook secret is configured ([api] webhook_secret_env names an unset or empty \
             variable); signed hooks are off",
        ));
    };
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.trim().parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(unhex(v.trim()).ok_or(Denied::BadSignatureHeader)?),
            _ => {}
        }
    }
    let t = t.ok_or(Denied::BadSignatureHeader)?;
    if sigs.is_empty() {
        return Err(Denied::BadSignatureHeader);
    }
    let skew = now.saturating_sub(t);
    if skew.abs() > MAX_SKEW_SECS {
        return Err(Denied::Skew { skew });
    }
    let want = hmac_sha256(
        secret,
        &[t.to_string().as_bytes(), b".", path.as_bytes(), b".", body],
    );
    // Check every v1 (secret rotation) without stopping early.
    let ok = sigs.iter().fold(false, |acc, s| acc | ct_eq(s, &want));
    if ok {
        Ok(())
    } else {
        Err(Denied::BadSignature)
    }
}

/// The header value for `body` sent to `path`, signed at `t` (for clients and tests).
pub fn sign(secret: &[u8], t: i64, path: &str, body: &[u8]) -> String {
    format!(
        "t={t},v1={}",
        hex(&hmac_sha256(
            secret,
            &[t.to_string().as_bytes(), b".", path.as_bytes(), b".", body]
        ))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_vectors() {
        // Test case 1.
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], &[b"Hi There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2 (a key shorter than the block), in two parts.
        assert_eq!(
            hex(&hmac_sha256(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn signatures() {
        let s = Secrets {
            token: Some(b"tok".to_vec()),
            webhook_secret: Some(b"sec".to_vec()),
        };
        let pre = "/v1/hooks/pre-recovery";
        let post = "/v1/hooks/post-recovery";
        let h = sign(b"sec", 1000, pre, b"{}");
        assert_eq!(check_signature(&s, &h, pre, b"{}", 1100), Ok(()));
        assert_eq!(
            check_signature(&s, &h, pre, b"{ }", 1100),
            Err(Denied::BadSignature)
        );
        // Bound to the path: a body signed for one hook is refused by another.
        assert_eq!(
            check_signature(&s, &h, post, b"{}", 1100),
            Err(Denied::BadSignature)
        );
        assert_eq!(
            check_signature(&s, &h, pre, b"{}", 1301),
            Err(Denied::Skew { skew: 301 })
        );
        assert_eq!(
            check_signature(&s, &sign(b"other", 1000, pre, b"{}"), pre, b"{}", 1000),
            Err(Denied::BadSignature)
        );
        assert_eq!(
            check_signature(&s, "v1=00", pre, b"{}", 0),
            Err(Denied::BadSignatureHeader)
        );
        // The documented form: HMAC-SHA256(secret, "{t}.{path}.{body}").
        assert_eq!(
            h,
            format!(
                "t=1000,v1={}",
                hex(&hmac_sha256(b"sec", &[b"1000./v1/hooks/pre-recovery.{}"]))
            )
        );
        assert_eq!(check_bearer(&s, "Bearer tok"), Ok(()));
        assert_eq!(check_bearer(&s, "Bearer tok2"), Err(Denied::BadToken));
        assert_eq!(check_bearer(&s, "Basic tok"), Err(Denied::BadToken));
        let shown = format!("{s:?}");
        assert!(!shown.contains("\"tok\"") && !shown.contains("sec\"") && !shown.contains("116"));
        assert!(ct_eq(b"ab", b"ab") && !ct_eq(b"ab", b"ac") && !ct_eq(b"a", b"ab"));
    }
}
