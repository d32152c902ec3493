//! The built-in authoritative DNS server: zones compiled into immutable snapshots, an answer
//! engine with precomputed responses, UDP workers on SO_REUSEPORT sockets and a TCP server
//! with zone transfers (AXFR, and IXFR from the change history); live zones persisted in the
//! state store, picked up across processes, and NOTIFY to secondaries.

pub mod acl;
pub mod answer;
pub mod catalog_zone;
pub mod dnssec;
pub mod hash;
pub mod history;
pub mod metrics;
pub mod node;
pub mod notify;
pub mod patch;
pub mod provider;
pub mod rrl;
mod schema;
pub mod seed;
pub mod served;
pub mod server;
pub mod signed;
pub mod steer;
pub mod store;
pub mod stored_zone;
pub mod tcp;
pub mod transfer;
pub mod udp;
pub mod update;
pub mod watch;
pub mod wire;
pub mod zone;

pub use metrics::DnsMetrics;
pub use provider::{Builtin, capabilities};
pub use seed::{LoadError, LoadReport};
pub use server::{Listeners, ServerOptions, serve};
pub use store::{ZoneStore, ZoneStoreError};
