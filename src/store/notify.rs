//! The notification queue (schema migration 7): events waiting for delivery to each
//! `[[notify]]` target. Delivery is at least once and in order per (target, cutover): only the
//! oldest undelivered event of a pair is ever handed out, and it is claimed (its `next_at`
//! pushed past the attempt's timeout) in the same write transaction that picks it, so two
//! deliverers never send it at once and a deliverer that died is replaced after the timeout.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use switchback_sql::params;

use super::{Store, StoreError, now};

/// An event for one target, to queue.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub event_id: String,
    pub target: String,
    pub cutover: String,
    pub kind: String,
    /// The event as JSON.
    pub body: String,
}

/// A queued event handed to a deliverer.
#[derive(Debug, Clone)]
pub struct QueuedNotification {
    pub id: i64,
    pub event_id: String,
    pub target: String,
    pub cutover: String,
    pub kind: String,
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// The delivery state of one target's events (of one cutover, or of all).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NotifyStat {
    pub target: String,
    pub pending: u64,
    pub delivered: u64,
    /// Attempts that failed (summed over the events, delivered ones included).
    pub failed_attempts: u64,
    /// The oldest pending event's last error, when it has failed.
    pub last_error: Option<String>,
    pub last_delivered_at: Option<String>,
}

fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_micros(t).to_string()
}

impl Store {
    /// Queue `events` (in this order) in one transaction.
    pub fn enqueue_notifications(&self, events: &[NewNotification]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let (_, at) = now();
        self.write(|tx| {
            for e in events {
                tx.execute(
                    "INSERT INTO notify_queue \
                     (id, event_id, target, cutover, kind, body, created_at, attempts, next_at) \
                     VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM notify_queue), \
                     ?1, ?2, ?3, ?4, ?5, ?6, 0, ?6)",
                    params![e.event_id, e.target, e.cutover, e.kind, e.body, at],
                )?;
            }
            Ok(())
        })
    }

    /// Claim, for `hold`, the oldest undelivered event of every (target, cutover) pair that is
    /// due now and whose target is in `targets`.
    pub fn claim_notifications(
        &self,
        targets: &[&str],
        hold: Duration,
    ) -> Result<Vec<QueuedNotification>, StoreError> {
        let (t, at) = now();
        let until = stamp(t + hold);
        self.write(|tx| {
            let rows = tx.query(
                "SELECT q.id, q.event_id, q.target, q.cutover, q.kind, q.body, q.attempts, q.next_at \
                 FROM notify_queue q WHERE q.delivered_at IS NULL AND q.id = (SELECT MIN(o.id) \
                 FROM notify_queue o WHERE o.delivered_at IS NULL AND o.target = q.target \
                 AND o.cutover = q.cutover) ORDER BY q.id",
                params![],
            )?;
            let mut out = Vec::new();
            for r in &rows {
                let target = r.text(2)?;
                if !targets.contains(&target.as_str()) || r.str(7)? > at.as_str() {
                    continue;
                }
                let id = r.int(0)?;
                let attempts = r.int(6)? + 1;
                tx.execute(
                    "UPDATE notify_queue SET attempts = ?2, next_at = ?3 WHERE id = ?1",
                    params![id, attempts, until],
                )?;
                out.push(QueuedNotification {
                    id,
                    event_id: r.text(1)?,
                    target,
                    cutover: r.text(3)?,
                    kind: r.text(4)?,
                    body: r.text(5)?,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                });
            }
            Ok(out)
        })
    }

    /// Event `id` was delivered (a 2xx): never sent again.
    pub fn notification_delivered(&self, id: i64) -> Result<(), StoreError> {
        let (_, at) = now();
        self.write(|tx| {
            tx.execute(
                "UPDATE notify_queue SET delivered_at = ?2, last_error = NULL WHERE id = ?1",
                params![id, at],
            )?;
            Ok(())
        })
    }

    /// Event `id`'s attempt failed: try again after `retry_in`.
    pub fn notification_failed(
        &self,
        id: i64,
        retry_in: Duration,
        error: &str,
    ) -> Result<(), StoreError> {
        let next = stamp(SystemTime::now() + retry_in);
        self.write(|tx| {
            tx.execute(
                "UPDATE notify_queue SET next_at = ?2, last_error = ?3 WHERE id = ?1",
                params![id, next, error],
            )?;
            Ok(())
        })
    }

    /// Delivery state per target: of `cutover`'s events, or of all.
    pub fn notify_stats(&self, cutover: Option<&str>) -> Result<Vec<NotifyStat>, StoreError> {
        self.read(|tx| {
            let rows = tx.query(
                "SELECT target, cutover, delivered_at, attempts, last_error FROM notify_queue \
                 ORDER BY id",
                params![],
            )?;
            let mut by: BTreeMap<String, NotifyStat> = BTreeMap::new();
            for r in &rows {
                if cutover.is_some_and(|c| r.str(1).is_ok_and(|x| x != c)) {
                    continue;
                }
                let target = r.text(0)?;
                let s = by.entry(target.clone()).or_insert_with(|| NotifyStat {
                    target,
                    ..NotifyStat::default()
                });
                let attempts = u64::try_from(r.int(3)?).unwrap_or(0);
                match r.opt_text(2)? {
                    Some(at) => {
                        s.delivered += 1;
                        s.failed_attempts += attempts.saturating_sub(1);
                        s.last_delivered_at = Some(at);
                    }
                    None => {
                        if s.pending == 0 {
                            s.last_error = r.opt_text(4)?;
                        }
                        s.pending += 1;
                        s.failed_attempts += attempts.saturating_sub(1);
                    }
                }
            }
            Ok(by.into_values().collect())
        })
    }
}
