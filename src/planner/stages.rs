//! Failback stages as pure functions: which stage a step goes to, and whether the soak lets
//! it start. The soak is between failback stages only: the first stage may follow the
//! failover at once.

use std::time::Duration;

use super::error::CutoverError;
use super::state::StageSel;
use super::steering::stage_count;
use crate::config::Cutover;

/// The stage a failback step goes to from `stage`, or why it cannot.
pub fn target_stage(c: &Cutover, stage: u32, sel: StageSel) -> Result<u32, CutoverError> {
    let n = stage_count(c);
    let to = match sel {
        StageSel::Next => stage + 1,
        StageSel::All => n,
        StageSel::N(k) => k,
    };
    if to <= stage || to > n {
        return Err(CutoverError::refused(
            &c.name,
            format!(
                "cannot go to stage {to}: at stage {stage} of {n} (stages {:?}{})",
                c.failback_stages,
                if c.staged {
                    ""
                } else {
                    "; one stage when a record's provider has no weights"
                }
            ),
        ));
    }
    Ok(to)
}

/// What the soak says about starting the next failback stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Soak {
    /// No soak applies (the first stage after the failover, or `soak = "0s"`), or it passed.
    Open,
    /// It has not passed, and `--skip-soak` skips it (the note goes to the journal).
    Skipped(String),
    /// It has not passed: wait.
    Closed { elapsed: Duration, soak: Duration },
}

/// The soak gate of a failback step from `stage` whose previous stage finished `since` ago
/// (`None`: unknown, counts as just now).
pub fn soak(c: &Cutover, stage: u32, since: Option<Duration>, skip: bool) -> Soak {
    if stage == 0 || c.soak.is_zero() {
        return Soak::Open;
    }
    let elapsed = Duration::from_secs(since.unwrap_or_default().as_secs());
    if elapsed >= c.soak {
        return Soak::Open;
    }
    if skip {
        return Soak::Skipped(format!(
            "soak skipped with --skip-soak: stage {stage} soaked {} of {}",
            humantime::format_duration(elapsed),
            humantime::format_duration(c.soak)
        ));
    }
    Soak::Closed {
        elapsed,
        soak: c.soak,
    }
}
