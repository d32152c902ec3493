//! Switchback's provider API: the record model, RDATA and zone-file codecs, capabilities and
//! the [`Provider`] trait that every DNS backend implements.

pub mod duration;
pub mod message;
pub mod name;
pub mod plan;
pub mod provider;
pub mod rdata;
pub mod record;
pub mod rtype;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod token;
pub mod tsig;
pub mod zonefile;

pub use name::{Name, NameError};
pub use plan::{DiffOptions, Plan, PlanError, RecordChange, Safety, Selector, Writes};
pub use provider::{
    ApplyReport, Capabilities, Change, Granularity, Provider, ProviderError, Support, ZoneRef,
};
pub use record::{Fields, RecordSet, RecordSetKey, RecordValue, Zone, ZoneJson, field};
pub use rtype::RType;

/// Re-exports for the macros of the test kit (not a public API).
#[cfg(feature = "testkit")]
#[doc(hidden)]
pub mod __private {
    pub use tokio;
}
