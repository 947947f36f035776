//! The durable queue: graphile_worker (the Rust port of Graphile Worker) in the schema
//! `graphile_worker` of the application's own database. Why this crate, and not
//! apalis-postgres or a loop of our own: docs/architecture.md, "Decisions".
//!
//! Jobs: `run_integration` (one attempt of one execution; enqueued by
//! `public.enqueue_integration_run` in the same transaction as the claim), and three cron
//! jobs that graphile runs once per minute/day across all workers: `schedule_tick`,
//! `purge_old_logs`; `deliver_alert` (a notice to the tenant's alert webhook, enqueued by
//! `public.enqueue_alert_delivery` with the notice); `process_onecode_events` (a tenant integration's pending webhook
//! events, enqueued by `public.enqueue_onecode_events` with the events); stale heartbeats are reaped by each worker on its own timer
//! ([`EngineConfig::reap_every`](crate::engine::EngineConfig)).

use chrono::Utc;
use graphile_worker::{
    IntoTaskHandlerResult, TaskHandler, WorkerContext, WorkerOptions, WorkerUtils,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::engine::Engine;
use crate::Error;

pub const SCHEMA: &str = "graphile_worker";

/// Creates or migrates graphile_worker's schema, then puts row-level security on its
/// tables (no policies: only their owner, the server, reaches them; `anon` and
/// `authenticated` are also refused the schema). Every role calls it at start-up, so the
/// web role can enqueue before any worker ran.
pub async fn install(pool: &PgPool) -> crate::Result<()> {
    WorkerUtils::new(pool.clone(), SCHEMA.to_owned())
        .migrate()
        .await
        .map_err(|e| crate::Error::Internal(format!("migrating graphile_worker: {e}")))?;
    sqlx::query(
        r#"do $$
           declare t record;
           begin
             for t in select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                      where n.nspname = 'graphile_worker' and c.relkind in ('r', 'p')
                        and not c.relrowsecurity loop
               execute format('alter table graphile_worker.%I enable row level security', t.relname);
             end loop;
             revoke all on schema graphile_worker from public;
             if exists (select 1 from pg_roles where rolname = 'anon') then
               revoke all on schema graphile_worker from anon, authenticated;
             end if;
           end $$"#,
    )
    .execute(pool)
    .await
    .map_err(|e| crate::Error::Internal(format!("securing graphile_worker: {e}")))?;
    Ok(())
}

/// The engine every task gets through the worker's extensions.
fn engine_of(ctx: &WorkerContext) -> Result<&Engine, String> {
    ctx.get_ext::<Engine>()
        .ok_or_else(|| "engine missing from the worker's extensions".to_owned())
}

/// One attempt of one execution.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunIntegration {
    pub execution_id: Uuid,
    pub attempt: i32,
}

impl TaskHandler for RunIntegration {
    const IDENTIFIER: &'static str = "run_integration";

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        let engine = engine_of(&ctx)?;
        engine
            .execute(self.execution_id, self.attempt)
            .await
            .map_err(|e| {
                tracing::error!(error = ?e, execution_id = %self.execution_id, "run_integration failed");
                format!("run_integration {}: {e}", self.execution_id)
            })
    }
}

/// Enqueues the schedules that are due (cron: every minute). graphile's crontab sends a
/// `null` payload (or an object with its `_cron` details when it backfills), so the
/// payload is whatever JSON came.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ScheduleTick(pub Option<serde_json::Value>);

impl TaskHandler for ScheduleTick {
    const IDENTIFIER: &'static str = "schedule_tick";

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        let engine = engine_of(&ctx)?;
        // Webhook events a failed or lost job left pending are queued again.
        match crate::providers::onecode::webhook::sweep(&engine.pool).await {
            Ok(n) if n > 0 => tracing::info!(integrations = n, "pending OneCode events re-queued"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "sweeping pending OneCode events failed"),
        }
        match crate::schedule::tick(&engine.pool, &engine.registry, Utc::now()).await {
            Ok(r) => {
                if r.started + r.already_running > 0 {
                    tracing::info!(?r, "schedules ticked");
                }
                Ok(())
            }
            Err(e) => Err(format!("schedule_tick: {e:?}")),
        }
    }
}

/// A tenant integration's pending OneCode webhook events, in batches
/// ([`crate::providers::onecode::webhook::process_pending`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct ProcessOnecodeEvents {
    pub tenant_integration_id: Uuid,
}

impl TaskHandler for ProcessOnecodeEvents {
    const IDENTIFIER: &'static str = "process_onecode_events";

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        let engine = engine_of(&ctx)?;
        let id = self.tenant_integration_id;
        match crate::providers::onecode::webhook::process_pending(&engine.pool, id).await {
            Ok(reports) => {
                let events: usize = reports.iter().map(|r| r.events).sum();
                if events > 0 {
                    tracing::info!(tenant_integration = %id, events, "OneCode events processed");
                }
                Ok(())
            }
            // The failing event was noted (and set aside after its last attempt); graphile
            // retries the job.
            Err(e) => Err(format!("process_onecode_events {id}: {e}")),
        }
    }
}

/// One notice sent to its tenant's outgoing webhook ([`crate::alerts::webhook::deliver`]);
/// enqueued by `public.enqueue_alert_delivery` with the notice. A failed delivery is retried
/// by the queue (8 attempts with its growing delay).
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliverAlert {
    pub notice_id: i64,
}

impl TaskHandler for DeliverAlert {
    const IDENTIFIER: &'static str = "deliver_alert";

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        let engine = engine_of(&ctx)?;
        let id = self.notice_id;
        match crate::alerts::webhook::deliver(&engine.pool, &engine.keyring, &engine.http, id).await
        {
            Ok(()) => Ok(()),
            Err(e) => {
                tracing::warn!(notice = id, error = ?e, "alert webhook delivery failed");
                Err(format!("deliver_alert {id}: {e}"))
            }
        }
    }
}

/// The retention job (cron: daily); its payload is ignored, like [`ScheduleTick`]'s.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PurgeOldLogs(pub Option<serde_json::Value>);

impl TaskHandler for PurgeOldLogs {
    const IDENTIFIER: &'static str = "purge_old_logs";

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        let engine = engine_of(&ctx)?;
        // Webhook events keep people's messages: processed ones go after 30 days.
        match crate::providers::onecode::webhook::purge(&engine.pool, 30).await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "old OneCode events purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "purging old OneCode events failed"),
        }
        // Notices of pauses and recoveries after 180 days.
        match crate::alerts::notices::purge(&engine.pool, 180).await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "old alert notices purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "purging old alert notices failed"),
        }
        // Sessions that ended more than a day ago.
        if let Err(e) = crate::auth::purge_sessions(&engine.pool).await {
            tracing::warn!(error = ?e, "purging ended sessions failed");
        }
        match engine.purge_old_logs().await {
            Ok(n) => {
                tracing::info!(deleted = n, "old integration logs purged");
                Ok(())
            }
            Err(e) => Err(format!("purge_old_logs: {e:?}")),
        }
    }
}

/// Runs a worker until `engine.shutdown` is cancelled: the queue's jobs, its cron, and
/// the stale-heartbeat reaper. Running attempts are cancelled on shutdown and end as a
/// retryable failure, so another worker picks them up.
pub async fn run_worker(engine: Engine, concurrency: usize) -> crate::Result<()> {
    let err = |what: &str, e: &dyn std::fmt::Display| Error::Internal(format!("{what}: {e}"));
    let worker = WorkerOptions::default()
        .concurrency(concurrency)
        .schema(SCHEMA)
        .pg_pool(engine.pool.clone())
        .poll_interval(engine.config.queue_poll_every)
        .define_job::<RunIntegration>()
        .define_job::<ScheduleTick>()
        .define_job::<PurgeOldLogs>()
        .define_job::<ProcessOnecodeEvents>()
        .define_job::<DeliverAlert>()
        .with_crontab("* * * * * schedule_tick\n30 3 * * * purge_old_logs")
        .map_err(|e| err("crontab", &e))?
        .add_extension(engine.clone())
        .listen_os_shutdown_signals(false)
        .init()
        .await
        .map_err(|e| err("starting the worker", &e))?;

    let reaper = {
        let engine = engine.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(engine.config.reap_every);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    () = engine.shutdown.cancelled() => return,
                }
                if let Err(e) = engine.reap_stale().await {
                    tracing::warn!(error = ?e, "reaping stale runs failed");
                }
            }
        })
    };

    let run = worker.run();
    tokio::pin!(run);
    let result = tokio::select! {
        r = &mut run => r.map_err(|e| err("worker", &e)),
        () = engine.shutdown.cancelled() => {
            worker.request_shutdown();
            let _ = (&mut run).await;
            Ok(())
        }
    };
    reaper.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_payloads_deserialize_whatever_graphile_sends() {
        for payload in [
            "null",
            "{}",
            r#"{"_cron": {"ts": "2026-11-29T02:10:00Z", "backfilled": false}}"#,
        ] {
            assert!(
                serde_json::from_str::<ScheduleTick>(payload).is_ok(),
                "{payload}"
            );
            assert!(
                serde_json::from_str::<PurgeOldLogs>(payload).is_ok(),
                "{payload}"
            );
        }
        let job: RunIntegration = serde_json::from_str(
            r#"{"execution_id": "00000000-0000-0000-0000-000000000001", "attempt": 2}"#,
        )
        .expect("run job");
        assert_eq!(job.attempt, 2);
    }
}
