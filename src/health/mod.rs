//! Health checks: probes (TCP connect, HTTP(S), DNS), the rise/fall state machine with its
//! history, and [`HealthMonitor`], which runs many checks concurrently and pushes every
//! transition to its subscribers.
//!
//! Configuration: `health = { check = "...", interval = "5s", timeout = "2s", fall = 3,
//! rise = 2, expect_status = "200-399", expect_body = "...", expect_answer = "...",
//! host = "...", tls_verify = true }` ([`HealthSpec`]).

mod monitor;
pub mod norec;
mod probe;
mod spec;
mod state;

pub use crate::duration::{format_duration, parse_duration};
pub use monitor::{CheckDef, CheckHandle, HealthError, HealthMonitor, Timing};
pub use probe::{
    DnsProbe, HttpProbe, MAX_BODY, Probe, ProbeFuture, TcpProbe, build_probe, probe_once, run_probe,
};
pub use spec::{
    CheckTarget, DEFAULT_FALL, DEFAULT_INTERVAL, DEFAULT_RISE, DEFAULT_TIMEOUT, HealthSpec,
    HealthSpecError, MIN_INTERVAL,
};
pub use state::{CheckStatus, HISTORY, HealthState, ProbeResult, Transition};
