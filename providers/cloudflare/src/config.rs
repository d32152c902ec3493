//! `[providers.NAME] type = "cloudflare"`: the provider's configuration.
//!
//! ```toml
//! [providers.cf]
//! type = "cloudflare"
//! token_env = "CLOUDFLARE_API_TOKEN"             # the variable holding the API token
//! endpoint = "https://api.cloudflare.com/client/v4"
//! account_id = "0123456789abcdef0123456789abcdef" # optional: list only this account's zones
//! batch_size = 200                               # 200 on Free, 3,500 on paid plans
//! rate = 1200                                    # requests per 5 minutes (Cloudflare's limit)
//! throttle_budget = "10m"                        # longest total wait on 429s before giving up
//! ```
//!
//! The application deserializes this from the `[providers.NAME]` table without its `type` key.
//! The token itself never appears in configuration: only the name of the variable that holds it.

use serde::Deserialize;

/// The default variable holding the API token.
pub const DEFAULT_TOKEN_ENV: &str = "CLOUDFLARE_API_TOKEN";
/// Cloudflare's API v4 base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.cloudflare.com/client/v4";
/// Records in one batch request on the Free plan (3,500 on paid plans).
pub const DEFAULT_BATCH_SIZE: usize = 200;
/// Cloudflare's global API limit: 1,200 requests per 5 minutes per token.
pub const DEFAULT_RATE: u32 = 1200;
/// The window `rate` is counted over.
pub const RATE_WINDOW: std::time::Duration = std::time::Duration::from_secs(300);

/// The Cloudflare provider's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudflareConfig {
    /// Name of the environment variable that holds the API token (`Authorization: Bearer`).
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// API v4 base URL (tests point it at a local server).
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// Only zones of this account are listed (`account.id` filter); `None`: every zone the
    /// token can see.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Largest number of record operations in one `/dns_records/batch` request.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Requests per 5 minutes ([`RATE_WINDOW`]); requests are paced with a token bucket that
    /// holds this many (Cloudflare counts 1,200 per 5 minutes per token).
    #[serde(default = "default_rate")]
    pub rate: u32,
    /// The longest total wait on 429 answers (their `Retry-After`) before a call gives up
    /// with a rate-limited error; automation then tries the step again on its next tick.
    #[serde(
        default = "default_throttle_budget",
        deserialize_with = "switchback_api::duration::from_text"
    )]
    pub throttle_budget: std::time::Duration,
}

fn default_token_env() -> String {
    DEFAULT_TOKEN_ENV.to_string()
}
fn default_endpoint() -> String {
    DEFAULT_ENDPOINT.to_string()
}
fn default_batch_size() -> usize {
    DEFAULT_BATCH_SIZE
}
fn default_rate() -> u32 {
    DEFAULT_RATE
}
fn default_throttle_budget() -> std::time::Duration {
    crate::RetryPolicy::default().throttle_budget
}

impl Default for CloudflareConfig {
    fn default() -> CloudflareConfig {
        CloudflareConfig {
            token_env: default_token_env(),
            endpoint: default_endpoint(),
            account_id: None,
            batch_size: default_batch_size(),
            rate: default_rate(),
            throttle_budget: default_throttle_budget(),
        }
    }
}

impl CloudflareConfig {
    /// Check values serde cannot: a message that names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.token_env.trim().is_empty() {
            return Err("token_env: must name an environment variable".into());
        }
        let e = self.endpoint.trim();
        if !(e.starts_with("https://") || e.starts_with("http://")) || e.len() < "http://x".len() {
            return Err(format!(
                "endpoint: {e:?} is not an http:// or https:// URL (default {DEFAULT_ENDPOINT})"
            ));
        }
        if self.batch_size == 0 {
            return Err("batch_size: must be at least 1 (200 on Free, 3,500 on paid plans)".into());
        }
        if self.rate == 0 {
            return Err("rate: must be at least 1 request per 5 minutes".into());
        }
        if let Some(a) = &self.account_id {
            if a.is_empty() || a.len() > 32 || !a.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("account_id: {a:?} is not a Cloudflare account id"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let c: CloudflareConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, CloudflareConfig::default());
        assert_eq!(c.token_env, "CLOUDFLARE_API_TOKEN");
        assert_eq!(c.batch_size, 200);
        assert_eq!(c.rate, 1200);
        c.validate().unwrap();
        let e = serde_json::from_str::<CloudflareConfig>(r#"{"batch":3}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `batch`"), "{e}");
        let c: CloudflareConfig = serde_json::from_str(r#"{"batch_size":0}"#).unwrap();
        assert!(c.validate().unwrap_err().starts_with("batch_size"));
        let c: CloudflareConfig = serde_json::from_str(r#"{"endpoint":"ftp://x"}"#).unwrap();
        assert!(c.validate().unwrap_err().starts_with("endpoint"));
        assert_eq!(c.throttle_budget, std::time::Duration::from_secs(600));
        let c: CloudflareConfig = serde_json::from_str(r#"{"throttle_budget":"1m30s"}"#).unwrap();
        assert_eq!(c.throttle_budget, std::time::Duration::from_secs(90));
        let e = serde_json::from_str::<CloudflareConfig>(r#"{"throttle_budget":"90"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid duration \"90\""), "{e}");
    }
}
