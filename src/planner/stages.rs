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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::steering::tests::cutover;

    #[test]
    fn stage_selection() {
        let c = cutover("weighted", "");
        assert_eq!(target_stage(&c, 0, StageSel::Next).unwrap(), 1);
        assert_eq!(target_stage(&c, 1, StageSel::All).unwrap(), 3);
        assert_eq!(target_stage(&c, 0, StageSel::N(2)).unwrap(), 2);
        assert!(target_stage(&c, 2, StageSel::N(1)).is_err(), "no way back");
        assert!(
            target_stage(&c, 3, StageSel::Next).is_err(),
            "past the last"
        );
    }

    #[test]
    fn the_soak_is_between_failback_stages_only() {
        let c = cutover("weighted", "");
        let m = |s| Some(Duration::from_secs(s));
        // Right after the failover: the first stage may go at once.
        assert_eq!(soak(&c, 0, m(0), false), Soak::Open);
        // Between stages: 5 minutes.
        assert_eq!(
            soak(&c, 1, m(60), false),
            Soak::Closed {
                elapsed: Duration::from_secs(60),
                soak: Duration::from_secs(300)
            }
        );
        assert_eq!(soak(&c, 1, m(300), false), Soak::Open);
        assert_eq!(
            soak(&c, 1, None, false),
            Soak::Closed {
                elapsed: Duration::ZERO,
                soak: Duration::from_secs(300)
            }
        );
        match soak(&c, 2, m(61), true) {
            Soak::Skipped(note) => assert!(
                note.contains("--skip-soak") && note.contains("1m 1s of 5m"),
                "{note}"
            ),
            s => panic!("{s:?}"),
        }
    }
}
