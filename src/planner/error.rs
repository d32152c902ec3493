//! Errors of the cutover engine.

use crate::config::ConfigError;
use crate::planner::PlannerError;
use crate::planner::drift::DriftReport;
use crate::store::StoreError;
use switchback_api::ProviderError;
use switchback_api::plan::PlanError;

/// Errors of the cutover engine. Each says what to do next; none carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum CutoverError {
    #[error("unknown cutover {name:?} (configured: {known})")]
    Unknown { name: String, known: String },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// A plan, provider or verify error (plan and provider errors arrive here too: one path
    /// for each, never two).
    #[error(transparent)]
    Planner(#[from] PlannerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The step is not possible in the cutover's state, or its input is wrong; nothing changed.
    #[error("cutover {name}: {message}")]
    Refused { name: String, message: String },
    /// Another actor holds the cutover's lease (exit 5, HTTP 409 `busy`).
    #[error("cutover {name} is busy: held by {holder}")]
    Busy { name: String, holder: String },
    /// The cutover changed between the plan that was shown and the confirmation; nothing was
    /// applied, no snapshot taken.
    #[error(
        "cutover {name} changed since the plan was shown: {what}; nothing was applied \
         (look at `switchback cutover status {name}` and run the command again)"
    )]
    Changed { name: String, what: String },
    #[error("cutover {name}: the primary is not healthy ({detail}); failback refused")]
    Unhealthy { name: String, detail: String },
    #[error("cutover {name}: stage {stage} has soaked {elapsed} of {soak}")]
    Soak {
        name: String,
        stage: u32,
        elapsed: String,
        soak: String,
    },
    #[error("cutover {}: drift: {} cutover record set(s) changed by someone else since the last step\n{}", .0.cutover, .0.conflicts.len(), .0.render())]
    Drift(Box<DriftReport>),
    #[error("cutover {name}: stored state is damaged: {detail}")]
    Corrupt { name: String, detail: String },
}

impl From<PlanError> for CutoverError {
    fn from(e: PlanError) -> CutoverError {
        CutoverError::Planner(PlannerError::Plan(e))
    }
}

impl From<ProviderError> for CutoverError {
    fn from(e: ProviderError) -> CutoverError {
        CutoverError::Planner(PlannerError::Provider(e))
    }
}

impl CutoverError {
    pub(crate) fn refused(name: &str, message: impl Into<String>) -> CutoverError {
        CutoverError::Refused {
            name: name.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn corrupt(name: &str, detail: impl Into<String>) -> CutoverError {
        CutoverError::Corrupt {
            name: name.to_string(),
            detail: detail.into(),
        }
    }

    /// Whether the same step may succeed later unchanged: the provider throttled it or did
    /// not answer ([`ProviderError::is_transient`]).
    pub fn is_transient(&self) -> bool {
        match self {
            CutoverError::Planner(PlannerError::Provider(e)) => e.is_transient(),
            _ => false,
        }
    }

    /// Whether this is a safety-threshold refusal (exit 4).
    pub fn is_safety(&self) -> bool {
        matches!(
            self,
            CutoverError::Planner(PlannerError::Plan(PlanError::Safety(_)))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_and_silent_providers_are_transient_and_nothing_else_is() {
        let throttled = ProviderError::RateLimited {
            retry_after: None,
            message: "429".into(),
        };
        assert!(CutoverError::from(throttled).is_transient());
        let silent = ProviderError::Transport("connection refused".into());
        assert!(CutoverError::Planner(PlannerError::Provider(silent)).is_transient());
        for e in [
            CutoverError::from(ProviderError::Auth("403".into())),
            CutoverError::from(ProviderError::Conflict {
                record: "www.example.com./A".into(),
                message: "changed".into(),
            }),
            CutoverError::from(ProviderError::Other("x".into())),
            CutoverError::refused("web", "no"),
        ] {
            assert!(!e.is_transient(), "{e}");
        }
    }
}
