//! The rise/fall state machine of one check and its bounded history.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How many results a check keeps.
pub const HISTORY: usize = 100;

/// The state of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum HealthState {
    /// Not yet `rise` successes or `fall` failures in a row since the start.
    Unknown = 0,
    Up = 1,
    Down = 2,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Unknown => "unknown",
            HealthState::Up => "up",
            HealthState::Down => "down",
        }
    }

    pub(crate) fn from_u8(v: u8) -> HealthState {
        match v {
            1 => HealthState::Up,
            2 => HealthState::Down,
            _ => HealthState::Unknown,
        }
    }
}

impl std::fmt::Display for HealthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One probe's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// When the probe started.
    pub at: SystemTime,
    pub latency: Duration,
    pub ok: bool,
    /// Why it failed (`None` when `ok`).
    pub error: Option<String>,
    /// It failed because of this process or machine (no file descriptors, no memory, the
    /// runtime overloaded), not the target: the outcome is unknown, and it never counts toward
    /// `fall` (invariant 7).
    pub local: bool,
}

/// A change of state, as told to subscribers.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The check's name.
    pub name: Arc<str>,
    pub from: HealthState,
    pub to: HealthState,
    /// Wall-clock time of the change.
    pub at: SystemTime,
    /// Monotonic time the deciding result was recorded (to measure notification delay).
    pub decided: Instant,
    /// The result that crossed `fall` or `rise`.
    pub result: ProbeResult,
}

/// The state of one check: the rise/fall machine, its streaks and its history.
///
/// From Unknown the first `rise` successes in a row make it Up and the first `fall` failures
/// in a row make it Down; Up goes Down after `fall` failures in a row; Down goes Up after
/// `rise` successes in a row. Any result of the other kind resets a streak.
#[derive(Debug, Clone)]
pub struct CheckStatus {
    pub name: Arc<str>,
    /// The check URL as written.
    pub check: String,
    pub fall: u32,
    pub rise: u32,
    pub state: HealthState,
    /// Consecutive successes (0 after a failure).
    pub ok_streak: u32,
    /// Consecutive failures (0 after a success).
    pub fail_streak: u32,
    /// The time of the last transition (`None` while Unknown).
    pub since: Option<SystemTime>,
    /// The last [`HISTORY`] results, oldest first.
    pub history: VecDeque<ProbeResult>,
    /// How many results were recorded in all.
    pub probes: u64,
    /// Probes that failed because of local trouble (not counted toward `fall`).
    pub local_errors: u64,
}

impl CheckStatus {
    pub fn new(
        name: impl Into<Arc<str>>,
        check: impl Into<String>,
        fall: u32,
        rise: u32,
    ) -> CheckStatus {
        CheckStatus {
            name: name.into(),
            check: check.into(),
            fall: fall.max(1),
            rise: rise.max(1),
            state: HealthState::Unknown,
            ok_streak: 0,
            fail_streak: 0,
            since: None,
            history: VecDeque::with_capacity(HISTORY),
            probes: 0,
            local_errors: 0,
        }
    }

    /// Record a result; the transition when it changed the state.
    pub fn record(&mut self, result: ProbeResult) -> Option<Transition> {
        let decided = Instant::now();
        if !result.ok && result.local {
            // Local trouble says nothing of the target: kept in the history, not counted.
            self.local_errors = self.local_errors.saturating_add(1);
            if self.history.len() == HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(result);
            self.probes += 1;
            return None;
        }
        if result.ok {
            self.ok_streak = self.ok_streak.saturating_add(1);
            self.fail_streak = 0;
        } else {
            self.fail_streak = self.fail_streak.saturating_add(1);
            self.ok_streak = 0;
        }
        let to = match self.state {
            HealthState::Up | HealthState::Unknown if self.fail_streak >= self.fall => {
                HealthState::Down
            }
            HealthState::Down | HealthState::Unknown if self.ok_streak >= self.rise => {
                HealthState::Up
            }
            s => s,
        };
        // The result that decides a transition travels with it.
        let deciding = (to != self.state).then(|| result.clone());
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(result);
        self.probes += 1;
        let deciding = deciding?;
        let from = self.state;
        let at = SystemTime::now();
        self.state = to;
        self.since = Some(at);
        Some(Transition {
            name: self.name.clone(),
            from,
            to,
            at,
            decided,
            result: deciding,
        })
    }

    /// The latest result.
    pub fn last(&self) -> Option<&ProbeResult> {
        self.history.back()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(ok: bool) -> ProbeResult {
        ProbeResult {
            at: SystemTime::now(),
            latency: Duration::from_millis(1),
            ok,
            error: (!ok).then(|| "refused".to_string()),
            local: false,
        }
    }

    #[test]
    fn local_trouble_never_counts_toward_fall() {
        let mut c = CheckStatus::new("web", "tcp://x:1", 2, 1);
        assert!(c.record(r(true)).is_some(), "up");
        let local = ProbeResult {
            local: true,
            error: Some("Too many open files (os error 24)".into()),
            ..r(false)
        };
        for _ in 0..10 {
            assert!(c.record(local.clone()).is_none());
        }
        assert_eq!(c.state, HealthState::Up);
        assert_eq!(c.local_errors, 10);
        // A real failure streak still counts from zero.
        assert!(c.record(r(false)).is_none());
        assert_eq!(c.record(r(false)).map(|t| t.to), Some(HealthState::Down));
    }

    fn feed(s: &mut CheckStatus, seq: &str) -> Vec<(HealthState, HealthState, usize)> {
        seq.chars()
            .enumerate()
            .filter_map(|(i, c)| s.record(r(c == '+')).map(|t| (t.from, t.to, i)))
            .collect()
    }

    use HealthState::*;

    #[test]
    fn unknown_to_up_after_rise() {
        let mut s = CheckStatus::new("web", "tcp://x:1", 3, 2);
        assert_eq!(feed(&mut s, "+"), vec![]);
        assert_eq!(s.state, Unknown);
        assert_eq!(feed(&mut s, "+"), vec![(Unknown, Up, 0)]);
        assert!(s.since.is_some());
    }

    #[test]
    fn unknown_to_down_after_fall() {
        let mut s = CheckStatus::new("web", "tcp://x:1", 3, 2);
        // Streaks reset: + - + - never decides; then three failures do.
        assert_eq!(feed(&mut s, "+-+-"), vec![]);
        assert_eq!(s.state, Unknown);
        assert_eq!(feed(&mut s, "--"), vec![(Unknown, Down, 1)]);
    }

    #[test]
    fn up_down_up() {
        let mut s = CheckStatus::new("web", "tcp://x:1", 3, 2);
        // rise=2: Up at index 1; two failures are not enough, a success resets; then three
        // failures take it Down at index 7; one success is not enough; two are.
        let t = feed(&mut s, "++--+---+-++");
        assert_eq!(t, vec![(Unknown, Up, 1), (Up, Down, 7), (Down, Up, 11)]);
        assert_eq!(s.state, Up);
        assert_eq!((s.ok_streak, s.fail_streak), (2, 0));
    }

    #[test]
    fn fall_and_rise_of_one() {
        let mut s = CheckStatus::new("web", "tcp://x:1", 1, 1);
        let t = feed(&mut s, "-+-");
        assert_eq!(t, vec![(Unknown, Down, 0), (Down, Up, 1), (Up, Down, 2)]);
    }

    #[test]
    fn history_is_bounded_and_ordered() {
        let mut s = CheckStatus::new("web", "tcp://x:1", 3, 2);
        for i in 0..250u64 {
            let mut res = r(i % 7 != 0);
            res.latency = Duration::from_millis(i);
            s.record(res);
        }
        assert_eq!(s.history.len(), HISTORY);
        assert_eq!(s.probes, 250);
        assert_eq!(
            s.history.front().unwrap().latency,
            Duration::from_millis(150)
        );
        assert_eq!(s.last().unwrap().latency, Duration::from_millis(249));
        let failed = s.history.iter().filter(|h| !h.ok).count();
        assert_eq!(failed, (150..250).filter(|i| i % 7 == 0).count());
        assert!(
            s.history
                .iter()
                .filter(|h| !h.ok)
                .all(|h| h.error.as_deref() == Some("refused"))
        );
    }

    #[test]
    fn transition_carries_the_deciding_result() {
        let mut s = CheckStatus::new("web", "tcp://x:1", 2, 1);
        s.record(r(true));
        assert!(s.record(r(false)).is_none());
        let t = s.record(r(false)).unwrap();
        assert_eq!((t.from, t.to, &*t.name), (Up, Down, "web"));
        assert_eq!(t.result.error.as_deref(), Some("refused"));
        assert_eq!(s.since, Some(t.at));
    }
}
