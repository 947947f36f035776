//! The engine's tunables and the backoff between attempts.

use std::collections::HashMap;
use std::time::Duration;

use backon::BackoffBuilder;

/// Tunables of the engine; [`EngineConfig::default`] holds the documented defaults.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// How often a running attempt writes `heartbeat_at` (and reads a cancel request).
    pub heartbeat_every: Duration,
    /// A running attempt whose heartbeat is older than this lost its worker; an attempt
    /// that could not write its heartbeat for most of this stops itself first
    /// ([`EngineConfig::lease_margin`]).
    pub stale_after: Duration,
    /// How often each worker looks for such attempts.
    pub reap_every: Duration,
    /// Attempts per execution, the first included.
    pub max_attempts: i32,
    /// Backoff between attempts: the first delay, and the cap.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Per-provider timeouts that override the plugin's own.
    pub timeouts: HashMap<String, Duration>,
    /// Log rows older than this many days are deleted by the retention job.
    pub retention_days: i32,
    /// How often an idle worker polls for jobs whose time came (new jobs arrive at once
    /// through LISTEN/NOTIFY).
    pub queue_poll_every: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            heartbeat_every: Duration::from_secs(10),
            stale_after: Duration::from_secs(60),
            reap_every: Duration::from_secs(30),
            max_attempts: 3,
            backoff_min: Duration::from_secs(5),
            backoff_max: Duration::from_secs(300),
            timeouts: HashMap::new(),
            retention_days: 180,
            queue_poll_every: Duration::from_secs(2),
        }
    }
}

impl EngineConfig {
    /// The delay before attempt `next_attempt` (2, 3, ...): capped exponential backoff
    /// with full jitter (backon), never shorter than the provider's `Retry-After`.
    pub fn retry_delay(&self, next_attempt: i32, retry_after: Option<Duration>) -> Duration {
        let n = usize::try_from(next_attempt.saturating_sub(2)).unwrap_or(0);
        let backoff = backon::ExponentialBuilder::default()
            .with_min_delay(self.backoff_min)
            .with_max_delay(self.backoff_max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(n)
            .unwrap_or(self.backoff_max);
        match retry_after {
            Some(ra) => backoff.max(ra.min(Duration::from_secs(3600))),
            None => backoff,
        }
    }

    /// How long before the stale bound an attempt that cannot renew its lease stops
    /// itself: three beats, at most a third of the bound (so that two beats in a row may
    /// fail without stopping it). The reaper waits for the whole bound after the last
    /// renewal the database recorded, which is no earlier than the moment the worker counts
    /// from; so the attempt stops this long before another could start (clocks and a
    /// starved runtime aside).
    pub fn lease_margin(&self) -> Duration {
        (self.heartbeat_every * 3).min(self.stale_after / 3)
    }

    /// The tunables make sense together: the stale bound holds at least three beats.
    pub fn validate(&self) -> Result<(), String> {
        if self.heartbeat_every.is_zero() || self.stale_after < self.heartbeat_every * 3 {
            return Err(format!(
                "STALE_AFTER_SECS ({} s) must be at least three times HEARTBEAT_SECS ({} s)",
                self.stale_after.as_secs_f64(),
                self.heartbeat_every.as_secs_f64()
            ));
        }
        Ok(())
    }
}
