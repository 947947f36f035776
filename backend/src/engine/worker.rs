//! One attempt, from its queue job to its result: [`Engine::execute`] starts it (once: a
//! second job for an attempt already started is recognised and does nothing), runs the
//! plugin under a timeout, and keeps its lease with a heartbeat that also carries cancel
//! requests. An attempt that cannot renew its lease stops itself before the reaper could
//! start another: never two attempts of one execution at once.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Engine;
use crate::providers::timeline::Timeline;
use crate::providers::{Progress, ProviderError, RunContext, Secrets};
use crate::scope::begin_service;
use crate::{Error, Result};

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The attempt a job refers to, as the worker loads it.
struct Attempt {
    tenant_id: Uuid,
    integration_id: Uuid,
    provider_slug: String,
    config: serde_json::Value,
    secrets: Secrets,
}

/// Why the heartbeat stopped an attempt.
#[derive(Clone, Default)]
struct StopReason(Arc<AtomicU8>);

impl StopReason {
    const NONE: u8 = 0;
    /// A person asked (`cancel_requested_at`), or the row already ended elsewhere.
    const CANCELLED: u8 = 1;
    /// The heartbeat could not be written for most of the stale bound.
    const LEASE_LOST: u8 = 2;

    fn set(&self, why: u8) {
        let _ = self
            .0
            .compare_exchange(Self::NONE, why, Ordering::SeqCst, Ordering::SeqCst);
    }

    fn lease_lost(&self) -> bool {
        self.0.load(Ordering::SeqCst) == Self::LEASE_LOST
    }
}

/// The error text of an attempt that stopped because its lease could not be renewed.
pub const LEASE_LOST: &str =
    "a tentativa parou sozinha: não conseguiu registrar sinal de vida no banco (lease perdido)";

impl Engine {
    /// Steps 6–8 for one queued attempt. Does nothing when the attempt is no longer
    /// waiting to start (it was reaped, cancelled, already started by an earlier delivery
    /// of this job, or this job is a late duplicate).
    pub async fn execute(&self, execution_id: Uuid, attempt: i32) -> Result<()> {
        let Some(a) = self.load(execution_id, attempt).await? else {
            tracing::info!(%execution_id, attempt, "attempt not waiting to start; skipped");
            return Ok(());
        };
        let started = Instant::now();
        // The lease is kept until the result is written (a conclude that retries must not
        // let the attempt look lost meanwhile); dropping this guard stops it.
        let mut lease: Option<AbortOnDrop> = None;
        let result = match self.registry.get(&a.provider_slug) {
            None => Err(ProviderError::Permanent(format!(
                "Nenhum plugin instalado para o provedor {}.",
                a.provider_slug
            ))),
            Some(plugin) => {
                let cancel = self.shutdown.child_token();
                let progress = Progress::default();
                let timeline = Timeline::attached(a.integration_id);
                let stop = StopReason::default();
                let ctx = RunContext {
                    tenant_id: a.tenant_id,
                    integration_id: a.integration_id,
                    execution_id,
                    attempt,
                    config: a.config.clone(),
                    secrets: a.secrets.clone(),
                    http: self.http.clone(),
                    cancel: cancel.clone(),
                    progress: progress.clone(),
                    timeline: timeline.clone(),
                    db: self.pool.clone(),
                };
                let timeout = self.timeout_for(&a.provider_slug, plugin.default_timeout());
                // Aborted when `lease` is dropped, even by a panic: a dead attempt must stop
                // beating so that the reaper can find it.
                lease = Some(AbortOnDrop(tokio::spawn(self.clone().heartbeat(
                    execution_id,
                    attempt,
                    cancel.clone(),
                    progress,
                    timeline.clone(),
                    stop.clone(),
                ))));
                let guarded = std::panic::AssertUnwindSafe(plugin.run(ctx)).catch_unwind();
                let r = tokio::select! {
                    r = guarded => r.unwrap_or_else(|_| {
                        tracing::error!(%execution_id, "provider panicked");
                        Err(ProviderError::Permanent("erro interno no conector".into()))
                    }),
                    () = tokio::time::sleep(timeout) => Err(ProviderError::Transient(format!(
                        "tempo limite de {} s excedido", timeout.as_secs()
                    ))),
                    () = cancel.cancelled() => Err(ProviderError::Cancelled),
                };
                cancel.cancel();
                // The timeline as it ended (the heartbeat wrote it as it went).
                self.store_timeline(execution_id, attempt, &timeline).await;
                // A provider that echoes a credential back (in an error text, a payload or a
                // response) must not get it stored or logged: scrub every value first.
                let r = r
                    .map(|mut o| {
                        o.payload = a.secrets.scrub_json(&o.payload);
                        o.response = a.secrets.scrub_json(&o.response);
                        o
                    })
                    .map_err(|e| a.secrets.scrub_error(e));
                match r {
                    // A shutdown is not the run's fault: it goes back to the queue.
                    Err(ProviderError::Cancelled) if self.shutdown.is_cancelled() => {
                        Err(ProviderError::Transient(
                            "o worker foi encerrado durante a execução".into(),
                        ))
                    }
                    // Nor is a lost lease: retried, by whoever writes first (this worker
                    // once the database answers again, or the reaper).
                    Err(ProviderError::Cancelled) if stop.lease_lost() => {
                        Err(ProviderError::Transient(LEASE_LOST.into()))
                    }
                    other => other,
                }
            }
        };
        let elapsed_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let written = self
            .conclude_reliably(execution_id, attempt, Some(elapsed_ms), result)
            .await;
        drop(lease);
        written
    }

    /// Marks the attempt started by this worker and reads what its plugin needs. Only an
    /// attempt that was never started is taken: a job delivered again (after a failure to
    /// conclude, or a worker that died holding it) must not run the provider a second
    /// time; the reaper ends such an attempt instead.
    async fn load(&self, execution_id: Uuid, attempt: i32) -> Result<Option<Attempt>> {
        let mut tx = begin_service(&self.pool).await?;
        let row = sqlx::query!(
            r#"update public.integration_logs l
               set heartbeat_at = now(), started_at = now(), worker = $3
               where l.execution_id = $1 and l.attempt = $2 and l.status = 'running'
                 and l.started_at is null
               returning l.tenant_id, l.provider_slug as "provider_slug!""#,
            execution_id,
            attempt,
            self.worker_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let tenant_id = Uuid::parse_str(&row.tenant_id)
            .map_err(|_| Error::Invalid("tenant_id inválido no registro de execução".into()))?;
        let inputs =
            crate::vault::run_inputs(&mut tx, &self.keyring, tenant_id, &row.provider_slug).await?;
        tx.commit().await?;
        let (integration_id, config, secrets) = inputs
            .map(|i| (i.tenant_integration_id, i.config, i.secrets))
            .unwrap_or_default();
        Ok(Some(Attempt {
            tenant_id,
            integration_id,
            provider_slug: row.provider_slug,
            config,
            secrets,
        }))
    }

    /// Stores the attempt's timeline as it ended (best effort: a timeline that cannot be
    /// written never costs the run its result). The final version: after it the heartbeat
    /// writes no more (a snapshot it took earlier cannot land after this one).
    async fn store_timeline(&self, execution_id: Uuid, attempt: i32, timeline: &Timeline) {
        let mut sealed = timeline.writing().await;
        *sealed = true;
        let events = timeline.snapshot().1;
        // More time than a beat's: a busy database must not lose the last word.
        let limit = self.config.stale_after / 4;
        self.write_events(execution_id, attempt, &events, limit)
            .await;
    }

    /// One write of the timeline, on its own (never in the heartbeat's lease renewal: a
    /// timeline the database refuses must not cost the attempt its lease), bounded in time.
    async fn write_events(
        &self,
        execution_id: Uuid,
        attempt: i32,
        events: &[model::RunEvent],
        limit: std::time::Duration,
    ) -> bool {
        let Ok(events) = serde_json::to_value(events) else {
            return false;
        };
        let write = sqlx::query!(
            r#"update public.integration_logs set events = $3
               where execution_id = $1 and attempt = $2 and status = 'running'"#,
            execution_id,
            attempt,
            events
        )
        .execute(&self.pool);
        match tokio::time::timeout(limit.max(std::time::Duration::from_secs(1)), write).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, %execution_id, attempt, "timeline not stored");
                false
            }
            Err(_) => {
                tracing::warn!(%execution_id, attempt, "timeline not stored in time");
                false
            }
        }
    }

    /// Writes `heartbeat_at` and progress every `heartbeat_every` (the attempt's lease)
    /// until it is aborted (after the result is written); cancels the provider when a
    /// person asked for it, when the row is no longer `running` (the reaper ended it), or
    /// when the lease could not be renewed for all but
    /// [`EngineConfig::lease_margin`](super::EngineConfig::lease_margin) of the stale bound.
    /// A renewal counts from before it was sent (the database's `now()` is later), and the
    /// deadline has a timer of its own, so a slow beat cannot push the stop past it.
    async fn heartbeat(
        self,
        execution_id: Uuid,
        attempt: i32,
        cancel: CancellationToken,
        progress: Progress,
        timeline: Timeline,
        stop: StopReason,
    ) {
        // The timeline's version last written (it is sent only when it moved).
        let mut written = 0u64;
        let every = self.config.heartbeat_every;
        let give_up_after = self
            .config
            .stale_after
            .saturating_sub(self.config.lease_margin());
        let mut renewed = tokio::time::Instant::now();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            let deadline = renewed + give_up_after;
            tokio::select! {
                _ = tick.tick() => {}
                () = tokio::time::sleep_until(deadline) => {
                    tracing::error!(%execution_id, attempt, "lease lost; stopping the attempt");
                    stop.set(StopReason::LEASE_LOST);
                    cancel.cancel();
                    return;
                }
            }
            let sent = tokio::time::Instant::now();
            // A beat that hangs (a lock, a connection that died silently) counts as failed
            // after one period; the deadline above still runs meanwhile.
            let beat = tokio::select! {
                beat = tokio::time::timeout(
                    every,
                    sqlx::query_scalar!(
                        r#"update public.integration_logs
                           set heartbeat_at = now(), progress = coalesce($3, progress)
                           where execution_id = $1 and attempt = $2 and status = 'running'
                           returning cancel_requested_at is not null as "cancel!""#,
                        execution_id,
                        attempt,
                        progress.get()
                    )
                    .fetch_optional(&self.pool),
                ) => beat,
                () = tokio::time::sleep_until(deadline) => continue,
            };
            // Then the timeline, when it moved and the lease held (until its final
            // version was written).
            if matches!(beat, Ok(Ok(Some(_)))) {
                let sealed = timeline.writing().await;
                let (version, events) = timeline.snapshot();
                if !*sealed
                    && version != written
                    && self
                        .write_events(execution_id, attempt, &events, self.config.heartbeat_every)
                        .await
                {
                    written = version;
                }
            }
            match beat {
                Ok(Ok(Some(false))) => renewed = sent,
                Ok(Ok(Some(true))) => {
                    renewed = sent;
                    stop.set(StopReason::CANCELLED);
                    cancel.cancel();
                }
                Ok(Ok(None)) => {
                    stop.set(StopReason::CANCELLED);
                    cancel.cancel();
                    return;
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, %execution_id, "heartbeat failed")
                }
                Err(_) => tracing::warn!(%execution_id, "heartbeat timed out"),
            }
        }
    }
}
