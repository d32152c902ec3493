//! The built-in authoritative DNS server: zones compiled into immutable snapshots, an answer
//! engine with precomputed responses, UDP workers on SO_REUSEPORT sockets and a TCP server
//! with zone transfers.

pub mod acl;
pub mod answer;
pub mod hash;
pub mod provider;
pub mod rrl;
pub mod server;
pub mod transfer;
pub mod udp;
pub mod wire;
pub mod zone;

pub use provider::{Builtin, LoadError, LoadReport};
pub use server::{Listeners, ServerOptions, serve};
