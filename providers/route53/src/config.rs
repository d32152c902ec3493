//! `[providers.NAME] type = "route53"`: the provider's settings (the application deserializes
//! this from the TOML table, minus `type`).
//!
//! Credentials never appear here: they come from the standard AWS chain (environment, profile,
//! SSO, IMDS, web identity), optionally through `assume_role_arn`.

use serde::Deserialize;

/// The largest number of ResourceRecord elements Route 53 accepts in one
/// ChangeResourceRecordSets request.
pub const ROUTE53_MAX_BATCH_RECORDS: usize = 1000;

/// The Route 53 provider's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route53Config {
    /// Override of the Route 53 endpoint URL (tests, emulators), e.g. `http://127.0.0.1:5320`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// AWS region; else the credential chain's region, else `us-east-1` (Route 53 is global).
    #[serde(default)]
    pub region: Option<String>,
    /// A named profile of the shared AWS config and credentials files.
    #[serde(default)]
    pub profile: Option<String>,
    /// A role to assume (through STS) with the credentials of the chain.
    #[serde(default)]
    pub assume_role_arn: Option<String>,
    /// Requests per second, at most (default 5, Route 53's own limit per account).
    #[serde(default = "default_rate")]
    pub rate: u32,
    /// ResourceRecord elements per ChangeResourceRecordSets request, at most (default and
    /// largest 1,000).
    #[serde(default = "default_max_batch_records")]
    pub max_batch_records: usize,
}

fn default_rate() -> u32 {
    5
}

fn default_max_batch_records() -> usize {
    ROUTE53_MAX_BATCH_RECORDS
}

impl Default for Route53Config {
    fn default() -> Route53Config {
        Route53Config {
            endpoint: None,
            region: None,
            profile: None,
            assume_role_arn: None,
            rate: default_rate(),
            max_batch_records: default_max_batch_records(),
        }
    }
}

impl Route53Config {
    /// Check the values; the message names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        if self.rate == 0 {
            return Err("rate: must be at least 1 request per second".into());
        }
        if self.max_batch_records == 0 || self.max_batch_records > ROUTE53_MAX_BATCH_RECORDS {
            return Err(format!(
                "max_batch_records: {} is out of range (1 to {ROUTE53_MAX_BATCH_RECORDS}, \
                 Route 53's limit per ChangeResourceRecordSets request)",
                self.max_batch_records
            ));
        }
        if let Some(e) = &self.endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(format!("endpoint: {e:?} is not an http:// or https:// URL"));
            }
        }
        for (key, v) in [
            ("region", &self.region),
            ("profile", &self.profile),
            ("assume_role_arn", &self.assume_role_arn),
        ] {
            if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
                return Err(format!("{key}: must not be empty"));
            }
        }
        if let Some(arn) = &self.assume_role_arn {
            if !arn.starts_with("arn:") {
                return Err(format!(
                    "assume_role_arn: {arn:?} is not an ARN (arn:aws:iam::ACCOUNT:role/NAME)"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Route53Config, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let c = parse("{}").unwrap();
        assert_eq!(c, Route53Config::default());
        assert_eq!(c.rate, 5);
        assert_eq!(c.max_batch_records, 1000);
        c.validate().unwrap();
    }

    #[test]
    fn every_key() {
        let c = parse(
            r#"{"endpoint": "http://127.0.0.1:5320", "region": "eu-west-1", "profile": "ops",
                "assume_role_arn": "arn:aws:iam::123456789012:role/dns", "rate": 2,
                "max_batch_records": 100}"#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.rate, 2);
        assert_eq!(c.profile.as_deref(), Some("ops"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e = parse(r#"{"rates": 5}"#).unwrap_err();
        assert!(e.contains("rates"), "{e}");
        // Secrets never belong in the config.
        let e = parse(r#"{"secret_access_key": "x"}"#).unwrap_err();
        assert!(e.contains("secret_access_key"), "{e}");
        let e = parse(r#"{"max_batch_records": 1001}"#)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.starts_with("max_batch_records"), "{e}");
        let e = parse(r#"{"rate": 0}"#).unwrap().validate().unwrap_err();
        assert!(e.starts_with("rate"), "{e}");
        let e = parse(r#"{"endpoint": "127.0.0.1:5320"}"#)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.starts_with("endpoint"), "{e}");
    }
}
