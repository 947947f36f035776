//! Steps 7–8: an attempt's result written once, with its integration's card, or a
//! retryable failure handed to a new attempt of the same execution.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use uuid::Uuid;

use super::{enqueue, AttemptResult, Engine};
use crate::providers::{Outcome, ProviderError};
use crate::redact::sanitise;
use crate::scope::begin_service;
use crate::Result;
use model::RunStatus;

impl Engine {
    /// [`Engine::conclude`], tried again on a database error (a dropped connection, a
    /// failover) six times over some 15–25 s: the provider already ran, and what it did must
    /// be written rather than done again. Only when the database stays away that long is
    /// the attempt left `running`, for the reaper to end.
    pub async fn conclude_reliably(
        &self,
        execution_id: Uuid,
        attempt: i32,
        elapsed_ms: Option<i32>,
        result: AttemptResult,
    ) -> Result<()> {
        let result = &result;
        (|| async move {
            self.conclude(execution_id, attempt, elapsed_ms, result.clone())
                .await
        })
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(Duration::from_secs(8))
                .with_max_times(6)
                .with_jitter(),
        )
        .sleep(tokio::time::sleep)
        .when(|e| matches!(e, crate::Error::Database(_)))
        .notify(|e, after| {
            tracing::warn!(%execution_id, attempt, error = %e, ?after, "concluding failed; trying again")
        })
        .await
    }

    /// Ends the attempt with its result, in one transaction with `tenant_integrations`; a
    /// retryable error with attempts left becomes a new attempt of the same execution,
    /// queued after a backoff. Only an attempt still `running` is touched, so a late or
    /// repeated result never overwrites what the reaper, a cancel or an earlier conclude
    /// wrote (concluding twice is concluding once). `elapsed_ms` is `None` when nobody
    /// knows how long it ran.
    pub async fn conclude(
        &self,
        execution_id: Uuid,
        attempt: i32,
        elapsed_ms: Option<i32>,
        result: AttemptResult,
    ) -> Result<()> {
        let mut tx = begin_service(&self.pool).await?;
        // The row first, locked: a person may have asked to cancel it. Then a failure of
        // any kind (the worker lost, a timeout, a 503 before the next heartbeat carried the
        // request) ends it cancelled, never retried. A result that came in full is kept.
        let cancel_requested = sqlx::query_scalar!(
            r#"select cancel_requested_at is not null as "requested!"
               from public.integration_logs
               where execution_id = $1 and attempt = $2 and status = 'running'
               for update"#,
            execution_id,
            attempt
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(cancel_requested) = cancel_requested else {
            tracing::info!(%execution_id, attempt, "attempt already ended elsewhere");
            return Ok(());
        };
        let result = match result {
            Err(_) if cancel_requested => Err(ProviderError::Cancelled),
            other => other,
        };
        let (status, error_text, o) = match &result {
            Ok(o) if o.failed > 0 => (RunStatus::Partial, None, o.clone()),
            Ok(o) => (RunStatus::Success, None, o.clone()),
            Err(ProviderError::Cancelled) => (
                RunStatus::Cancelled,
                Some(ProviderError::Cancelled.to_string()),
                Outcome::default(),
            ),
            // The provider's own words may carry anything: redacted like payloads.
            Err(e) => (
                RunStatus::Error,
                Some(crate::redact::redact_text(&e.to_string())),
                Outcome::default(),
            ),
        };
        let retry = match &result {
            Err(e) if e.is_retryable() && attempt < self.config.max_attempts => {
                let ra = match e {
                    ProviderError::RateLimited { retry_after } => *retry_after,
                    _ => None,
                };
                Some(self.config.retry_delay(attempt + 1, ra))
            }
            _ => None,
        };
        let shown_error = match (&error_text, retry) {
            (Some(t), Some(d)) => Some(format!(
                "{t} (nova tentativa {} de {} em {} s)",
                attempt + 1,
                self.config.max_attempts,
                d.as_secs().max(1)
            )),
            (t, _) => t.clone(),
        };
        let ended = sqlx::query!(
            r#"update public.integration_logs set
                 status = $3, error_message = $4, execution_time_ms = $5, finished_at = now(),
                 total_processados = $6, total_matched = coalesce($15::int, $7::int + $8::int), total_review = $9,
                 total_ignored = $10, total_created = $7, total_updated = $8,
                 total_unchanged = $11, total_failed = $12,
                 payload = $13, response = $14,
                 progress = case when $3 in ('success', 'partial') then 100 else progress end
               where execution_id = $1 and attempt = $2 and status = 'running'
               returning id, tenant_id, provider_slug as "provider_slug!", integration"#,
            execution_id,
            attempt,
            status as RunStatus,
            shown_error,
            elapsed_ms,
            o.processed,
            o.created,
            o.updated,
            o.review,
            o.ignored,
            o.unchanged,
            o.failed,
            sanitise(&o.payload),
            sanitise(&o.response),
            o.matched,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = ended else {
            tracing::info!(%execution_id, attempt, "attempt already ended elsewhere");
            return Ok(());
        };
        let tenant_id = Uuid::parse_str(&row.tenant_id).ok();
        if let Some(delay) = retry {
            let run_at = chrono::Utc::now()
                + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(5));
            // The next attempt is `running` from now on (a second claim gets 409 with this
            // execution id); its heartbeat is set to when it may start, a lease the reaper
            // respects.
            sqlx::query!(
                r#"insert into public.integration_logs
                     (tenant_id, integration, provider_slug, status, trigger, attempt,
                      execution_id, heartbeat_at)
                   values ($1, $2, $3, 'running', 'retry', $4, $5, $6)"#,
                row.tenant_id,
                row.integration,
                row.provider_slug,
                attempt + 1,
                execution_id,
                run_at
            )
            .execute(&mut *tx)
            .await?;
            enqueue(&mut tx, execution_id, attempt + 1, Some(run_at)).await?;
            tracing::info!(%execution_id, attempt, ?delay, "attempt failed; retry queued");
        } else {
            tracing::info!(%execution_id, attempt, status = status.as_str(), "run ended");
        }
        // `last_error` follows every attempt; `last_status` changes only when the run ends
        // (while a retry waits it stays `running`); a sync that ended with its totals is
        // what the card shows (`last_sync_log_id`).
        // (Webhook batches are written ended, never concluded: every run here is a sync.)
        let last_sync = matches!(status, RunStatus::Success | RunStatus::Partial).then_some(row.id);
        if let Some(t) = tenant_id {
            sqlx::query!(
                r#"update public.tenant_integrations t
                   set last_status = coalesce($3, t.last_status), last_error = $4,
                       last_sync_log_id = coalesce($5, t.last_sync_log_id)
                   from public.integration_providers p
                   where p.id = t.provider_id and t.tenant_id = $1 and p.slug = $2"#,
                t,
                row.provider_slug,
                retry.is_none().then_some(status) as Option<RunStatus>,
                shown_error,
                last_sync
            )
            .execute(&mut *tx)
            .await?;
            // An ended execution counts toward its integration's pause (and a success
            // lifts one), in this transaction.
            // In a savepoint: an alert that cannot be written is logged and never costs the
            // run its result.
            if retry.is_none() {
                sqlx::query("savepoint alerts").execute(&mut *tx).await?;
                let counted = crate::alerts::after_run(
                    &mut tx,
                    t,
                    &row.provider_slug,
                    status,
                    shown_error.as_deref(),
                )
                .await;
                match counted {
                    Ok(_) => sqlx::query("release savepoint alerts"),
                    Err(e) => {
                        tracing::error!(%execution_id, error = %e, "alerts not counted for this run");
                        sqlx::query("rollback to savepoint alerts")
                    }
                }
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
