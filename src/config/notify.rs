//! `[[notify]]`: where events go (DESIGN.md "Notifications"). A target is named (`name`,
//! default `notify-N` by position) so the queue in the state store refers to it without
//! writing its URL, which may carry a token (Slack's do), anywhere.

use serde::Deserialize;

use super::{Config, ConfigError};

/// Every kind of event, in the order DESIGN.md lists them.
pub const EVENT_KINDS: &[&str] = &[
    "failover", "stage", "restored", "abort", "drift", "busy", "health", "drill",
];

/// `[[notify]]` as written (its `Debug` leaves the URL out: it may hold a token).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// The queue's name for this target (default `notify-N`, N its position from 1).
    #[serde(default)]
    pub name: Option<String>,
    /// Where events are POSTed (`http://` or `https://`).
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable holding the URL instead (a Slack webhook URL is a secret).
    #[serde(default)]
    pub url_env: Option<String>,
    /// The kinds sent (default: all).
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// The environment variable holding the HMAC secret (`X-Switchback-Signature`).
    #[serde(default)]
    pub secret_env: Option<String>,
    #[serde(default)]
    pub format: NotifyFormat,
}

impl std::fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyConfig")
            .field("name", &self.name)
            .field("url", &self.url.as_ref().map(|_| "(set)"))
            .field("url_env", &self.url_env)
            .field("events", &self.events)
            .field("secret_env", &self.secret_env)
            .field("format", &self.format)
            .finish()
    }
}

/// The body of a POST.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyFormat {
    /// The event as JSON: `{"event_id", "kind", "cutover", "at", ...}`.
    #[default]
    Json,
    /// Slack's incoming-webhook `{"text"}`.
    Slack,
}

/// A target, resolved: its URL read, its events checked.
#[derive(Clone)]
pub struct NotifyTarget {
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    /// The environment variable of the secret (read when a delivery is signed).
    pub secret_env: Option<String>,
    /// The environment variable the URL comes from, when it does (empty `url`: not set here).
    pub url_env: Option<String>,
    pub format: NotifyFormat,
}

impl std::fmt::Debug for NotifyTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a token: only its scheme and host are shown.
        f.debug_struct("NotifyTarget")
            .field("name", &self.name)
            .field("url", &self.redacted_url())
            .field("events", &self.events)
            .field("format", &self.format)
            .finish()
    }
}

impl NotifyTarget {
    /// Whether events of `kind` go to this target.
    pub fn wants(&self, kind: &str) -> bool {
        self.events.iter().any(|e| e == kind)
    }

    /// `scheme://host[:port]/…`: what may be shown of the URL.
    pub fn redacted_url(&self) -> String {
        match self.url.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.split(['/', '?']).next().unwrap_or("");
                let host = host.rsplit('@').next().unwrap_or(host);
                format!("{scheme}://{host}/…")
            }
            None => "…".into(),
        }
    }

    /// The URL's path (what the signature covers, as for incoming hooks).
    pub fn path(&self) -> &str {
        let rest = self.url.split_once("://").map_or("", |(_, r)| r);
        match rest.find('/') {
            Some(i) => {
                let p = &rest[i..];
                p.split(['?', '#']).next().unwrap_or(p)
            }
            None => "/",
        }
    }
}

impl Config {
    /// Every `[[notify]]` target, resolved (the URL from `url` or `url_env`).
    pub fn notify_targets(&self) -> Result<Vec<NotifyTarget>, ConfigError> {
        let mut out: Vec<NotifyTarget> = Vec::new();
        for (i, n) in self.notify.iter().enumerate() {
            let key = |k: &str| format!("notify[{i}].{k}");
            let name = n
                .name
                .clone()
                .unwrap_or_else(|| format!("notify-{}", i + 1));
            if name.is_empty() || out.iter().any(|t| t.name == name) {
                return Err(self.invalid(&key("name"), format!("{name:?}: names must be unique")));
            }
            let url = match (&n.url, &n.url_env) {
                (Some(u), None) => u.clone(),
                // Read where it is set (serve's environment); a command run without it still
                // queues events, and the deliverer reports the variable missing.
                (None, Some(var)) => std::env::var(var).unwrap_or_default(),
                _ => {
                    return Err(self.invalid(&key("url"), "give exactly one of url and url_env"));
                }
            };
            let parsed = reqwest::Url::parse(&url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            if parsed.is_none() && !(url.is_empty() && n.url_env.is_some()) {
                let k = if n.url.is_some() { "url" } else { "url_env" };
                // The text is not repeated: it may hold a token.
                return Err(self.invalid(&key(k), "not an http:// or https:// URL"));
            }
            let events = match &n.events {
                None => EVENT_KINDS.iter().map(|k| k.to_string()).collect(),
                Some(list) => {
                    for e in list {
                        if !EVENT_KINDS.contains(&e.as_str()) {
                            return Err(self.invalid(
                                &key("events"),
                                format!("unknown event {e:?} (one of {})", EVENT_KINDS.join(", ")),
                            ));
                        }
                    }
                    list.clone()
                }
            };
            out.push(NotifyTarget {
                name,
                url,
                events,
                secret_env: n.secret_env.clone(),
                url_env: n.url_env.clone(),
                format: n.format,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn targets_are_named_checked_and_never_shown_whole() {
        let cfg = Config::parse(
            "[[notify]]\nurl = \"https://hooks.example.net/services/T0/B0/secret?x=1\"\n\
             events = [\"failover\", \"drill\"]\nformat = \"slack\"\n\
             [[notify]]\nname = \"ops\"\nurl = \"http://127.0.0.1:9/in\"\n",
            Path::new("t.toml"),
        )
        .unwrap();
        let t = cfg.notify_targets().unwrap();
        assert_eq!(t[0].name, "notify-1");
        assert_eq!(t[0].path(), "/services/T0/B0/secret");
        assert!(t[0].wants("drill") && !t[0].wants("health"));
        assert_eq!(t[0].redacted_url(), "https://hooks.example.net/…");
        assert!(!format!("{:?}", t[0]).contains("secret"));
        assert!(
            !format!("{cfg:?}").contains("secret?x"),
            "the config's Debug hides URLs"
        );
        assert_eq!(t[1].name, "ops");
        assert_eq!(t[1].events.len(), EVENT_KINDS.len());
        let bad = Config::parse(
            "[[notify]]\nurl = \"ftp://x/secret-token\"\n",
            Path::new("t.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            bad.contains("notify[0].url") && !bad.contains("secret-token"),
            "{bad}"
        );
        let bad = Config::parse(
            "[[notify]]\nurl = \"http://x/\"\nevents = [\"nope\"]\n",
            Path::new("t.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(bad.contains("notify[0].events"), "{bad}");
        // A URL from a variable this process does not have: the config is valid (a command
        // still queues events); serve's deliverer reports the variable missing.
        let cfg = Config::parse(
            "[[notify]]\nurl_env = \"SB_NOTIFY_URL_NOT_SET_ANYWHERE\"\n",
            Path::new("t.toml"),
        )
        .unwrap();
        assert_eq!(cfg.notify_targets().unwrap()[0].url, "");
        let bad = Config::parse(
            "[[notify]]\nurl = \"http://x/\"\nurl_env = \"V\"\n",
            Path::new("t.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(bad.contains("exactly one"), "{bad}");
    }
}
