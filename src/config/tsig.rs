//! `[tsig.NAME]`: TSIG keys (RFC 8945), referred to elsewhere as `"key:NAME"` (in
//! `allow_transfer`, `allow_update`) or by name (`notify_key`, a provider's `key`).
//!
//! ```toml
//! [tsig.xfr]
//! algorithm = "hmac-sha256"            # hmac-sha256 | hmac-sha384 | hmac-sha512 | hmac-sha1
//! secret_env = "SWITCHBACK_TSIG_XFR"   # the base64 secret, or:
//! # secret_file = "/etc/switchback/xfr.key"
//! ```
//!
//! The key's DNS name is NAME (`xfr.`): both sides must use the same name. The secret is read
//! when the keys are built, from the variable or the file (a BIND `key` file's `secret "…";`
//! line is understood too, so `tsig-keygen` output can be used as it is); it never appears in
//! logs, errors or files Switchback writes.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use switchback_api::Name;
use switchback_api::rdata::codec;
use switchback_api::tsig::{Algorithm, Key, Keyring};

/// `[tsig.NAME]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsigSection {
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    pub secret_env: Option<String>,
    pub secret_file: Option<PathBuf>,
}

fn default_algorithm() -> String {
    "hmac-sha256".into()
}

/// A key reference in an access list: `"key:NAME"` (else an address or CIDR).
pub fn key_ref(entry: &str) -> Option<&str> {
    entry.strip_prefix("key:").map(str::trim)
}

/// `(config key, message)` for a bad section.
pub type Invalid = (String, String);

impl TsigSection {
    /// The algorithm, or an error naming `tsig.NAME.algorithm`.
    pub fn algorithm(&self, name: &str) -> Result<Algorithm, Invalid> {
        Algorithm::from_name(&self.algorithm).ok_or_else(|| {
            (
                format!("tsig.{name}.algorithm"),
                format!(
                    "{:?} is not a TSIG algorithm ({})",
                    self.algorithm,
                    Algorithm::ALL.map(Algorithm::name).join(", ")
                ),
            )
        })
    }

    /// Checks what can be checked without reading the secret.
    pub fn validate(&self, name: &str) -> Result<(), Invalid> {
        key_name(name)?;
        self.algorithm(name)?;
        match (&self.secret_env, &self.secret_file) {
            (Some(_), Some(_)) => Err((
                format!("tsig.{name}"),
                "set secret_env or secret_file, not both".into(),
            )),
            (None, None) => Err((
                format!("tsig.{name}"),
                "needs secret_env (a variable holding the base64 secret) or secret_file".into(),
            )),
            (Some(v), None) if v.trim().is_empty() => Err((
                format!("tsig.{name}.secret_env"),
                "must name an environment variable".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The key, its secret read from the variable or the file (relative to `base`).
    pub fn key(&self, name: &str, base: &Path) -> Result<Key, Invalid> {
        self.validate(name)?;
        let algorithm = self.algorithm(name)?;
        let (at, text) = match (&self.secret_env, &self.secret_file) {
            (Some(var), _) => {
                let at = format!("tsig.{name}.secret_env");
                let text = std::env::var(var)
                    .map_err(|_| (at.clone(), format!("the variable {var} is not set")))?;
                (at, text)
            }
            (None, Some(file)) => {
                let at = format!("tsig.{name}.secret_file");
                let path = base.join(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| (at.clone(), format!("cannot read {}: {e}", path.display())))?;
                (at, bind_secret(&text).unwrap_or(text))
            }
            (None, None) => {
                return Err((
                    format!("tsig.{name}"),
                    "needs secret_env or secret_file".into(),
                ));
            }
        };
        let secret = codec::unbase64(text.trim())
            .map_err(|_| (at.clone(), "the secret is not valid base64".to_string()))?;
        if secret.is_empty() {
            return Err((at, "the secret is empty".into()));
        }
        Ok(Key::new(&key_name(name)?, algorithm, &secret))
    }
}

/// The key's DNS name: NAME with a final dot.
pub fn key_name(name: &str) -> Result<Name, Invalid> {
    let absolute = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    };
    Name::parse(&absolute, None)
        .map_err(|e| (format!("tsig.{name}"), format!("not a key name: {e}")))
}

/// The secret of a BIND key file (`key "x" { algorithm …; secret "…"; };`).
fn bind_secret(text: &str) -> Option<String> {
    let at = text.find("secret")?;
    let rest = &text[at + "secret".len()..];
    let open = rest.find('"')?;
    let close = rest[open + 1..].find('"')?;
    Some(rest[open + 1..open + 1 + close].to_string())
}

/// Every `[tsig.NAME]` key, secrets read.
pub fn keyring(
    sections: &std::collections::BTreeMap<String, TsigSection>,
    base: &Path,
) -> Result<Keyring, Invalid> {
    let keys = sections
        .iter()
        .map(|(name, s)| s.key(name, base))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Keyring::new(keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(toml: &str) -> TsigSection {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn secrets_from_a_variable_or_a_file_never_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: tests in this module use their own variable names.
        unsafe { std::env::set_var("SB_TEST_TSIG_A", "c2VjcmV0LXNlY3JldA==") };
        let k = section("secret_env = \"SB_TEST_TSIG_A\"")
            .key("xfr", dir.path())
            .unwrap();
        assert_eq!(k.name().to_string(), "xfr.");
        assert_eq!(k.algorithm(), Algorithm::HmacSha256);
        std::fs::write(
            dir.path().join("k.key"),
            "key \"xfr\" {\n\talgorithm hmac-sha512;\n\tsecret \"c2VjcmV0LXNlY3JldA==\";\n};\n",
        )
        .unwrap();
        let k = section("algorithm = \"hmac-sha512\"\nsecret_file = \"k.key\"")
            .key("xfr", dir.path())
            .unwrap();
        assert_eq!(k.algorithm(), Algorithm::HmacSha512);
        unsafe { std::env::set_var("SB_TEST_TSIG_B", "not base64 !!! hunter2") };
        let (key, msg) = section("secret_env = \"SB_TEST_TSIG_B\"")
            .key("xfr", dir.path())
            .unwrap_err();
        assert_eq!(key, "tsig.xfr.secret_env");
        assert!(!msg.contains("hunter2"), "{msg}");
        let (key, _) = section("secret_env = \"SB_TEST_TSIG_UNSET\"")
            .key("xfr", dir.path())
            .unwrap_err();
        assert_eq!(key, "tsig.xfr.secret_env");
        let (key, msg) = section("algorithm = \"hmac-md5\"\nsecret_env = \"X\"")
            .validate("xfr")
            .unwrap_err();
        assert_eq!(key, "tsig.xfr.algorithm");
        assert!(msg.contains("hmac-sha256"), "{msg}");
        assert!(section("").validate("xfr").is_err());
        assert!(
            section("secret_env = \"X\"\nsecret_file = \"y\"")
                .validate("xfr")
                .is_err()
        );
        assert_eq!(key_ref("key:xfr"), Some("xfr"));
        assert_eq!(key_ref("10.0.0.0/8"), None);
    }
}
