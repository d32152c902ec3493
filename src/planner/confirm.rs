//! The confirmation policy (DESIGN.md "Command line"): mutation is opt-in. The engine decides
//! what a command does with its flags and its terminal; the command line only asks the
//! question when told to.

/// What to do with a plan that was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `--dry-run`: print only.
    PrintOnly,
    /// Nothing to change: done, nothing asked.
    NothingToDo,
    /// `--yes`: apply without asking.
    Apply,
    /// At a terminal without `--yes`: ask, apply only on `y`.
    Ask,
    /// No terminal and no `--yes`: refuse.
    Refuse,
}

/// The decision for a plan of `changes` changes.
pub fn decide(dry_run: bool, yes: bool, terminal: bool, changes: usize) -> Decision {
    if dry_run {
        Decision::PrintOnly
    } else if changes == 0 {
        Decision::NothingToDo
    } else if yes {
        Decision::Apply
    } else if terminal {
        Decision::Ask
    } else {
        Decision::Refuse
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutation_is_opt_in() {
        assert_eq!(decide(true, true, true, 3), Decision::PrintOnly);
        assert_eq!(decide(false, false, false, 0), Decision::NothingToDo);
        assert_eq!(decide(false, true, false, 3), Decision::Apply);
        assert_eq!(decide(false, false, true, 3), Decision::Ask);
        assert_eq!(decide(false, false, false, 3), Decision::Refuse);
    }
}
