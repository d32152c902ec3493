//! Switchback: DNS and traffic-steering cutover service.
//!
//! The binary is a thin shell over [`cli::run`].

pub mod cli;
pub mod config;
pub mod duration;
pub mod fault;
pub mod health;
pub mod host;
pub mod http;
pub mod planner;
pub mod registry;
pub mod store;
