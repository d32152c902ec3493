//! Switchback: DNS and traffic-steering cutover service.
//!
//! The binary is a thin shell over [`cli::run`].

pub mod cli;
pub mod config;
/// The one duration parser (in the model crate, so providers' config keys share it).
pub use switchback_api::duration;
pub mod fault;
pub mod health;
pub mod host;
pub mod http;
pub mod notify;
pub mod planner;
pub mod registry;
pub mod store;
