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
    #[error(transparent)]
    Planner(#[from] PlannerError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Plan(#[from] PlanError),
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

    /// Whether this is a safety-threshold refusal (exit 4).
    pub fn is_safety(&self) -> bool {
        matches!(
            self,
            CutoverError::Plan(PlanError::Safety(_))
                | CutoverError::Planner(PlannerError::Plan(PlanError::Safety(_)))
        )
    }
}
