//! Runs and their step journal (DESIGN.md invariant 4: a run survives `kill -9`).
use std::fmt;

use serde::{Deserialize, Serialize};
use switchback_api::Name;
use switchback_sql::{ToValue, Tx, params};

use super::{Store, StoreError, now, schema};

/// A run's id: small, increasing, easy to type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for RunId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<RunId, Self::Err> {
        s.parse().map(RunId)
    }
}

/// Where a run stands. `Running` until [`Store::finish_run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Done,
    Failed,
    Aborted,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Failed => "failed",
            RunState::Aborted => "aborted",
        }
    }

    fn parse(s: &str) -> Option<RunState> {
        Some(match s {
            "running" => RunState::Running,
            "done" => RunState::Done,
            "failed" => RunState::Failed,
            "aborted" => RunState::Aborted,
            _ => return None,
        })
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A journal entry's phase: before a step runs (`Started`) and after (`Done` or `Failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Started,
    Done,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Started => "started",
            Phase::Done => "done",
            Phase::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Phase> {
        Some(match s {
            "started" => Phase::Started,
            "done" => Phase::Done,
            "failed" => Phase::Failed,
            _ => return None,
        })
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run: one rollback, apply, failover, failback stage...
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: RunId,
    /// "rollback", "apply", "failover", ...
    pub kind: String,
    /// What it works on: a snapshot id, a file, a cutover name.
    pub subject: String,
    pub provider: String,
    pub zone: Name,
    pub state: RunState,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub detail: serde_json::Value,
    /// The detail given to [`Store::finish_run`].
    pub result: Option<serde_json::Value>,
}

/// One entry of a run's step journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalEntry {
    pub run: RunId,
    /// 1, 2, ... within the run, in the order written.
    pub seq: i64,
    pub at: String,
    pub step: String,
    pub phase: Phase,
    pub detail: serde_json::Value,
}

impl Store {
    /// Start a run; it stays unfinished (see [`Store::unfinished_runs`]) until
    /// [`Store::finish_run`].
    pub fn start_run(
        &self,
        kind: &str,
        subject: &str,
        provider: &str,
        zone: &Name,
        detail: &(impl Serialize + ?Sized),
    ) -> Result<RunId, StoreError> {
        let detail = serde_json::to_string(detail)?;
        let (_, at) = now();
        let zone = zone.to_string();
        self.write(|tx| {
            let id = tx
                .query_one(
                    schema::INSERT_RUN,
                    params![kind, subject, provider, zone, at, detail],
                )?
                .int(0)?;
            Ok(RunId(id))
        })
    }

    /// Record a step of a run: call with `Started` before the step does anything, and with
    /// `Done` or `Failed` after. Durable when it returns.
    pub fn journal(
        &self,
        run: RunId,
        step: &str,
        phase: Phase,
        detail: &(impl Serialize + ?Sized),
    ) -> Result<(), StoreError> {
        let detail = serde_json::to_string(detail)?;
        let (_, at) = now();
        self.write(|tx| {
            self.check_running(tx, run)?;
            tx.execute(
                schema::INSERT_JOURNAL,
                params![run.0, at, step, phase.as_str(), detail],
            )?;
            Ok(())
        })
    }

    /// Finish a run as `Done`, `Failed` or `Aborted`, with a detail (e.g. what was applied).
    pub fn finish_run(
        &self,
        run: RunId,
        state: RunState,
        detail: &(impl Serialize + ?Sized),
    ) -> Result<(), StoreError> {
        if state == RunState::Running {
            return Err(StoreError::Invalid(format!(
                "run {run}: a run is finished as done, failed or aborted, not running"
            )));
        }
        let detail = serde_json::to_string(detail)?;
        let (_, at) = now();
        self.write(|tx| {
            self.check_running(tx, run)?;
            tx.execute(
                schema::FINISH_RUN,
                params![run.0, state.as_str(), at, detail],
            )?;
            Ok(())
        })
    }

    fn check_running(&self, tx: &Tx<'_>, run: RunId) -> Result<(), StoreError> {
        let state = tx
            .query_opt("SELECT state FROM runs WHERE id = ?1", params![run.0])?
            .map(|r| r.text(0))
            .transpose()?;
        match state.as_deref().map(|s| (s, RunState::parse(s))) {
            None => Err(StoreError::NotFound {
                what: "run",
                id: run.to_string(),
            }),
            Some((_, Some(RunState::Running))) => Ok(()),
            Some((_, Some(state))) => Err(StoreError::RunFinished { id: run, state }),
            Some((s, None)) => Err(self.corrupt(format!("run {run}: bad state {s:?}"))),
        }
    }

    /// One run; `NotFound` naming the id when there is none.
    pub fn run(&self, id: RunId) -> Result<Run, StoreError> {
        let mut runs = self.query_runs("WHERE id = ?1", params![id.0])?;
        runs.pop().ok_or_else(|| StoreError::NotFound {
            what: "run",
            id: id.to_string(),
        })
    }

    /// The latest `limit` runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<Run>, StoreError> {
        self.query_runs(
            "ORDER BY id DESC LIMIT ?1",
            params![i64::try_from(limit).unwrap_or(i64::MAX)],
        )
    }

    /// Runs that were started and never finished (crashed or still going), oldest first:
    /// what `resume` and `abort` look at.
    pub fn unfinished_runs(&self) -> Result<Vec<Run>, StoreError> {
        self.query_runs("WHERE finished_at IS NULL ORDER BY id", params![])
    }

    pub(super) fn query_runs(
        &self,
        tail: &str,
        args: &[&dyn ToValue],
    ) -> Result<Vec<Run>, StoreError> {
        let sql = format!("SELECT {} FROM runs {tail}", schema::RUN_COLUMNS);
        self.read(|tx| {
            let mut out = Vec::new();
            for r in &tx.query(&sql, args)? {
                let id = RunId(r.int(0)?);
                let what = id.to_string();
                let state = r.text(5)?;
                let result = r.opt_text(9)?;
                out.push(Run {
                    id,
                    kind: r.text(1)?,
                    subject: r.text(2)?,
                    provider: r.text(3)?,
                    zone: self.name(r.str(4)?, "run", &what)?,
                    state: RunState::parse(&state)
                        .ok_or_else(|| self.corrupt(format!("run {id}: bad state {state:?}")))?,
                    started_at: r.text(6)?,
                    finished_at: r.opt_text(7)?,
                    detail: self.json(r.str(8)?, "run", &what)?,
                    result: result.map(|j| self.json(&j, "run", &what)).transpose()?,
                });
            }
            Ok(out)
        })
    }

    /// A run's journal, in the order it was written; `NotFound` when there is no such run.
    pub fn journal_entries(&self, run: RunId) -> Result<Vec<JournalEntry>, StoreError> {
        self.read(|tx| {
            if tx
                .query_opt("SELECT 1 FROM runs WHERE id = ?1", params![run.0])?
                .is_none()
            {
                return Err(StoreError::NotFound {
                    what: "run",
                    id: run.to_string(),
                });
            }
            let sql = format!(
                "SELECT {} FROM journal WHERE run_id = ?1 ORDER BY seq",
                schema::JOURNAL_COLUMNS
            );
            let mut out = Vec::new();
            let what = run.to_string();
            for r in &tx.query(&sql, params![run.0])? {
                let phase = r.text(4)?;
                out.push(JournalEntry {
                    run: RunId(r.int(0)?),
                    seq: r.int(1)?,
                    at: r.text(2)?,
                    step: r.text(3)?,
                    phase: Phase::parse(&phase).ok_or_else(|| {
                        self.corrupt(format!("journal of run {run}: bad phase {phase:?}"))
                    })?,
                    detail: self.json(r.str(5)?, "journal of run", &what)?,
                });
            }
            Ok(out)
        })
    }
}
