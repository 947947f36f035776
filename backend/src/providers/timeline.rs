//! The recorder of an attempt's timeline ([`model::RunEvent`]): the pages a connector
//! fetched and how long it waited for its request budget, the calls it tried again and
//! why, the records it wrote, the checkpoints it moved. Bounded to
//! [`model::timeline::MAX_EVENTS`] entries, merged as it goes; the worker stores it with the
//! attempt at every heartbeat (so a lost attempt keeps what it did) and when it ends.
//!
//! A run's context carries its [`Timeline`]; code that gets only the tenant integration's
//! id (the checkpoint writer) finds the timeline of the attempt running for it with
//! [`of`].

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use model::timeline::{RunEvent, MAX_EVENTS};
use uuid::Uuid;

#[derive(Default)]
struct Entries {
    events: Vec<RunEvent>,
    omitted: u32,
    /// Bumped at every change (the heartbeat writes only when it moved).
    version: u64,
}

struct Inner {
    start: Instant,
    entries: Mutex<Entries>,
    /// Held while the timeline is written to the attempt's row; `true` once the final
    /// version was written (a heartbeat's older snapshot must not land after it).
    writing: tokio::sync::Mutex<bool>,
}

/// One attempt's timeline; clones share it.
#[derive(Clone)]
pub struct Timeline(Arc<Inner>);

impl Default for Timeline {
    fn default() -> Self {
        Self(Arc::new(Inner {
            start: Instant::now(),
            entries: Mutex::new(Entries::default()),
            writing: tokio::sync::Mutex::new(false),
        }))
    }
}

/// The longest retry reason kept, in bytes: 100 entries of it and their keys stay under
/// half of `integration_logs.events`' 64 KiB bound.
pub const MAX_REASON_BYTES: usize = 240;

/// The timelines of the attempts running in this process, by tenant integration.
static RUNNING: LazyLock<Mutex<HashMap<Uuid, Weak<Inner>>>> = LazyLock::new(Default::default);

/// The timeline of the attempt running for tenant integration `integration` in this
/// process, if any.
pub fn of(integration: Uuid) -> Option<Timeline> {
    RUNNING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&integration)
        .and_then(Weak::upgrade)
        .map(Timeline)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Timeline {
    /// A new timeline for an attempt of tenant integration `integration`, found by [`of`]
    /// while it lives.
    pub fn attached(integration: Uuid) -> Self {
        let t = Self::default();
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        running.retain(|_, w| w.strong_count() > 0);
        running.insert(integration, Arc::downgrade(&t.0));
        t
    }

    fn now_ms(&self) -> u64 {
        millis(self.0.start.elapsed())
    }

    fn with<R>(&self, f: impl FnOnce(&mut Entries, u64) -> R) -> R {
        let at = self.now_ms();
        let mut e = self
            .0
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        e.version += 1;
        f(&mut e, at)
    }

    fn push(e: &mut Entries, event: RunEvent) {
        if e.events.len() < MAX_EVENTS {
            e.events.push(event);
        } else {
            e.omitted = e.omitted.saturating_add(1);
        }
    }

    /// The entry matching `want` since the last retry (a retry starts new groups, so the
    /// timeline reads in order: pages, then a failure, then the pages after it).
    fn since_retry(e: &mut Entries, want: impl Fn(&RunEvent) -> bool) -> Option<&mut RunEvent> {
        e.events
            .iter_mut()
            .rev()
            .take_while(|ev| !matches!(ev, RunEvent::Retry { .. }))
            .find(|ev| want(ev))
    }

    /// A page fetched in `took`, of which `waited` waiting for the rate limiter.
    pub fn page(&self, took: Duration, waited: Duration) {
        self.with(|e, at| {
            if let Some(RunEvent::Pages {
                last,
                ms,
                waited_ms,
                ..
            }) = Self::since_retry(e, |ev| matches!(ev, RunEvent::Pages { .. }))
            {
                *last += 1;
                *ms += millis(took);
                *waited_ms += millis(waited);
                return;
            }
            let first = e
                .events
                .iter()
                .rev()
                .find_map(|ev| match ev {
                    RunEvent::Pages { last, .. } => Some(last + 1),
                    _ => None,
                })
                .unwrap_or(1);
            Self::push(
                e,
                RunEvent::Pages {
                    at_ms: at.saturating_sub(millis(took)),
                    first,
                    last: first,
                    ms: millis(took),
                    waited_ms: millis(waited),
                },
            );
        });
    }

    /// A call that failed and is tried again after `pause`. The reason is kept to
    /// [`MAX_REASON_BYTES`] of printable text (the whole timeline stays well under the
    /// column's 64 KiB bound, and a NUL from a provider never reaches jsonb).
    pub fn retry(&self, reason: &str, pause: Duration) {
        let mut kept = String::new();
        for c in reason.chars().filter(|c| !c.is_control()) {
            if kept.len() + c.len_utf8() > MAX_REASON_BYTES {
                break;
            }
            kept.push(c);
        }
        let reason = kept;
        self.with(|e, at| {
            Self::push(
                e,
                RunEvent::Retry {
                    at_ms: at,
                    reason,
                    pause_ms: millis(pause),
                },
            );
        });
    }

    /// `n` records written (one batch).
    pub fn rows(&self, n: u64) {
        self.with(|e, at| {
            if let Some(RunEvent::Rows {
                n: total, batches, ..
            }) = Self::since_retry(e, |ev| matches!(ev, RunEvent::Rows { .. }))
            {
                *total += n;
                *batches += 1;
                return;
            }
            Self::push(
                e,
                RunEvent::Rows {
                    at_ms: at,
                    n,
                    batches: 1,
                },
            );
        });
    }

    /// The checkpoint of `stream` moved.
    pub fn checkpoint(&self, stream: &str) {
        self.with(|e, at| {
            if let Some(RunEvent::Checkpoint { times, .. }) = Self::since_retry(
                e,
                |ev| matches!(ev, RunEvent::Checkpoint { stream: s, .. } if s == stream),
            ) {
                *times += 1;
                return;
            }
            Self::push(
                e,
                RunEvent::Checkpoint {
                    at_ms: at,
                    stream: stream.chars().take(80).collect(),
                    times: 1,
                },
            );
        });
    }

    /// Serialises the writes of this timeline to the database: the guard's value says
    /// whether the final version was written (then a heartbeat writes no more).
    pub async fn writing(&self) -> tokio::sync::MutexGuard<'_, bool> {
        self.0.writing.lock().await
    }

    /// Every entry so far (with [`RunEvent::Omitted`] last when some were left out) and
    /// the version they are at.
    pub fn snapshot(&self) -> (u64, Vec<RunEvent>) {
        let e = self
            .0
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut events = e.events.clone();
        if e.omitted > 0 {
            events.push(RunEvent::Omitted { n: e.omitted });
        }
        (e.version, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_of_many_pages_is_a_few_entries() {
        let t = Timeline::default();
        for _ in 0..1000 {
            t.page(Duration::from_millis(10), Duration::from_millis(5));
            t.rows(20);
            t.checkpoint("companies");
        }
        t.retry("HTTP 503", Duration::from_millis(400));
        t.page(Duration::from_millis(10), Duration::ZERO);
        let (_, events) = t.snapshot();
        assert!(events.len() <= 6, "{events:?}");
        match &events[0] {
            RunEvent::Pages {
                first,
                last,
                ms,
                waited_ms,
                ..
            } => assert_eq!((*first, *last, *ms, *waited_ms), (1, 1000, 10_000, 5_000)),
            other => panic!("{other:?}"),
        }
        assert!(events.iter().any(|e| matches!(
            e,
            RunEvent::Rows {
                n: 20_000,
                batches: 1000,
                ..
            }
        )));
        assert!(events
            .iter()
            .any(|e| matches!(e, RunEvent::Checkpoint { times: 1000, .. })));
        // After the retry, the pages go on from 1001.
        assert!(matches!(
            events.last(),
            Some(RunEvent::Pages {
                first: 1001,
                last: 1001,
                ..
            })
        ));
    }

    #[test]
    fn reasons_are_printable_and_short_in_bytes() {
        let t = Timeline::default();
        t.retry(&format!("x\0y{}", "😀".repeat(500)), Duration::ZERO);
        let (_, events) = t.snapshot();
        match &events[0] {
            RunEvent::Retry { reason, .. } => {
                assert!(reason.starts_with("xy") && reason.len() <= MAX_REASON_BYTES);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_timeline_is_bounded() {
        let t = Timeline::default();
        for i in 0..(MAX_EVENTS + 50) {
            t.retry(&format!("falha {i}"), Duration::from_millis(1));
        }
        let (_, events) = t.snapshot();
        assert_eq!(events.len(), MAX_EVENTS + 1);
        assert_eq!(events.last(), Some(&RunEvent::Omitted { n: 50 }));
    }

    #[test]
    fn a_running_attempts_timeline_is_found_by_its_integration() {
        let id = Uuid::new_v4();
        assert!(of(id).is_none());
        let t = Timeline::attached(id);
        of(id).expect("found").checkpoint("x");
        assert_eq!(t.snapshot().1.len(), 1);
        drop(t);
        assert!(of(id).is_none(), "gone with its attempt");
    }
}
