//! Which record sets a command touches (selectors) and how a diff compares them.

use super::*;

/// Which record sets a diff may touch: `NAME` (every type at the name) or `NAME/TYPE` (one
/// type at the name, any set identifier).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Selector {
    pub name: Name,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub rtype: Option<RType>,
}

impl Selector {
    /// Every type at `name`.
    pub fn name(name: Name) -> Selector {
        Selector { name, rtype: None }
    }

    /// One type at `name`.
    pub fn name_type(name: Name, rtype: RType) -> Selector {
        Selector {
            name,
            rtype: Some(rtype),
        }
    }

    /// Whether the record set with this key is selected.
    pub fn matches(&self, key: &RecordSetKey) -> bool {
        self.matches_parts(&key.name, key.rtype)
    }

    fn matches_parts(&self, name: &Name, rtype: RType) -> bool {
        *name == self.name && self.rtype.is_none_or(|t| t == rtype)
    }
}

/// Why a selector could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad selector {input:?}: {reason} (expected NAME or NAME/TYPE, e.g. www.example.com./A)")]
pub struct SelectorError {
    pub input: String,
    pub reason: String,
}

impl std::str::FromStr for Selector {
    type Err = SelectorError;

    /// `NAME` or `NAME/TYPE`. The name is absolute, with or without the trailing dot; the type
    /// is a mnemonic (any case) or `TYPEnnn`. A `/` inside a name must be written `\047`.
    fn from_str(s: &str) -> Result<Selector, SelectorError> {
        let fail = |reason: String| SelectorError {
            input: s.to_string(),
            reason,
        };
        let text = s.trim();
        let (name_text, rtype) = match text.rsplit_once('/') {
            Some((name, ty)) => {
                let ty = ty.trim();
                if ty.is_empty() {
                    return Err(fail("the type after '/' is missing".into()));
                }
                let rtype =
                    RType::parse(ty).ok_or_else(|| fail(format!("unknown record type {ty:?}")))?;
                if rtype.is_meta() {
                    return Err(fail(format!(
                        "{rtype} is a query type, not a record type held in a zone"
                    )));
                }
                (name.trim(), Some(rtype))
            }
            None => (text, None),
        };
        if name_text.is_empty() {
            return Err(fail("the name is missing".into()));
        }
        if name_text == "@" {
            return Err(fail("write the zone's name instead of @".into()));
        }
        let name: Name = name_text.parse().map_err(|e| fail(format!("{e}")))?;
        Ok(Selector { name, rtype })
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rtype {
            Some(t) => write!(f, "{}/{}", self.name, t),
            None => write!(f, "{}", self.name),
        }
    }
}

/// How to diff.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Empty: the whole zone. Otherwise only record sets matching one of these.
    pub only: Vec<Selector>,
    /// The provider owns the SOA serial (the built-in server bumps it on every change): an SOA
    /// that differs only in its serial is not a change.
    pub provider_manages_soa_serial: bool,
}

impl DiffOptions {
    pub(super) fn selects(&self, rs: &RecordSet) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|s| s.matches_parts(&rs.name, rs.rtype))
    }
}
