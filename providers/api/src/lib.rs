//! Switchback's provider API: the record model, RDATA and zone-file codecs, capabilities and
//! the [`Provider`] trait that every DNS backend implements.

pub mod name;
pub mod provider;
pub mod rdata;
pub mod record;
pub mod rtype;
pub mod token;
pub mod zonefile;

pub use name::{Name, NameError};
pub use provider::{ApplyReport, Capabilities, Change, Provider, ProviderError, Support, ZoneRef};
pub use record::{Fields, RecordSet, RecordSetKey, RecordValue, Zone};
pub use rtype::RType;
