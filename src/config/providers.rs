//! `[providers.NAME]`: the provider config as one serde-tagged enum, each variant the provider
//! crate's own config type ([`crate::registry`] turns it into a provider).

use std::borrow::Cow;

use serde::Deserialize;
use switchback_api::Capabilities;

/// `[providers.builtin]`: the built-in server takes its zones and store from `[server]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinSettings {}

/// `[providers.NAME]`: the provider's type (`type = "..."`) and that type's own settings, as
/// the provider crate's config type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ProviderSettings {
    Builtin(BuiltinSettings),
    Route53(switchback_route53::Route53Config),
    Cloudflare(switchback_cloudflare::CloudflareConfig),
    Rfc2136(switchback_rfc2136::Rfc2136Config),
}

/// Every provider type this build knows (the values of `type`).
pub const KINDS: &[&str] = &["builtin", "route53", "cloudflare", "rfc2136"];

/// The name under which the built-in server is always available, configured or not.
pub const BUILTIN: &str = "builtin";

impl ProviderSettings {
    /// `[providers.NAME]` as written; an unknown type, an unknown key or a bad value is an
    /// error that names `providers.NAME` and the key.
    pub fn parse(name: &str, table: &toml::Table) -> Result<ProviderSettings, (String, String)> {
        let at = |k: &str| format!("providers.{name}.{k}");
        let kind = match table.get("type") {
            None => return Err((at("type"), format!("missing ({})", KINDS.join(", ")))),
            Some(toml::Value::String(s)) => s.as_str(),
            Some(_) => return Err((at("type"), "expected a string".into())),
        };
        if !KINDS.contains(&kind) {
            return Err((
                at("type"),
                format!("unknown provider type {kind:?} ({})", KINDS.join(", ")),
            ));
        }
        let settings: ProviderSettings = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| (format!("providers.{name}"), e.message().to_string()))?;
        match &settings {
            ProviderSettings::Route53(c) => c.validate(),
            ProviderSettings::Cloudflare(c) => c.validate(),
            ProviderSettings::Rfc2136(c) => c.validate(),
            ProviderSettings::Builtin(_) => Ok(()),
        }
        .map_err(|m| (format!("providers.{name}"), m))?;
        Ok(settings)
    }

    /// What a provider of these settings can carry out, known before one is built.
    pub fn capabilities(&self) -> Capabilities {
        match self {
            ProviderSettings::Builtin(_) => switchback_builtin::capabilities(),
            ProviderSettings::Route53(_) => switchback_route53::capabilities(),
            ProviderSettings::Cloudflare(c) => switchback_cloudflare::capabilities(c),
            ProviderSettings::Rfc2136(c) => switchback_rfc2136::capabilities(c),
        }
    }
}

impl super::Config {
    /// The settings of provider `name`: `[providers.NAME]`, or the built-in server's when
    /// `name` is `builtin` and no such table exists.
    pub fn provider_settings(&self, name: &str) -> Option<Cow<'_, ProviderSettings>> {
        match self.providers.get(name) {
            Some(s) => Some(Cow::Borrowed(s)),
            None if name == BUILTIN => {
                Some(Cow::Owned(ProviderSettings::Builtin(BuiltinSettings {})))
            }
            None => None,
        }
    }

    /// The capabilities of provider `name`, known without building it.
    pub fn provider_capabilities(&self, name: &str) -> Option<Capabilities> {
        self.provider_settings(name).map(|s| s.capabilities())
    }
}
