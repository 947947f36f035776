//! Attempts whose worker was lost: a running attempt that a worker started and that stopped
//! renewing its lease (`heartbeat_at`) for the stale bound, or that no queue job backs.
//! Waiting in the queue is not dying: a queued attempt waits as long as the queue needs.

use uuid::Uuid;

use super::Engine;
use crate::providers::ProviderError;
use crate::Result;

/// What the reaper writes on an attempt it ends without a retry because it could not be
/// concluded (its retry could not be written, say).
const UNCONCLUDABLE: &str = "o worker parou de responder durante a execução (worker lost); não foi possível agendar nova tentativa";
/// A run the previous portal left `running` (it has no heartbeat: our claims always write
/// one): ended once, never retried.
pub const PREVIOUS_PORTAL: &str = "interrompida (portal anterior)";

/// One stale attempt as the reaper reads it.
#[derive(sqlx::FromRow)]
struct Stale {
    id: Uuid,
    execution_id: Uuid,
    attempt: i32,
    created_at: chrono::DateTime<chrono::Utc>,
    /// Milliseconds from its start to its last sign of life; `None` if it never started.
    ran_ms: Option<i32>,
    /// Written by the previous portal, not by this engine.
    legacy: bool,
}

impl Engine {
    /// Ends (or retries) every running attempt whose heartbeat is older than `stale_after`
    /// and that is lost: a worker started it (and died), or no queue job will run it (it
    /// was never queued, its job is gone, or its job failed every try before the attempt
    /// started). An attempt whose job still waits in the queue
    /// is not lost, however long the queue is (more runs than workers). Returns how many it
    /// ended.
    pub async fn reap_stale(&self) -> Result<usize> {
        let stale_secs = self.config.stale_after.as_secs_f64();
        let mut reaped = 0;
        // Paged by (created_at, id) so that rows left `running` (one that could not be
        // ended at all) never hide the ones after them from this round.
        let mut after: Option<(chrono::DateTime<chrono::Utc>, Uuid)> = None;
        loop {
            // Checked at run time (not by sqlx's macros): graphile_worker's schema is
            // installed by the queue at start, not by our migrations.
            let rows: Vec<Stale> = sqlx::query_as(
                r#"select l.id, l.execution_id, l.attempt, l.created_at,
                          case when l.started_at is not null then
                            least(extract(epoch from greatest(l.heartbeat_at, l.started_at) - l.started_at) * 1000,
                                  2147483647)::int
                          end as ran_ms,
                          l.heartbeat_at is null as legacy
                   from public.integration_logs l
                   where l.status = 'running'
                     and coalesce(l.heartbeat_at, l.started_at, l.created_at)
                         < now() - make_interval(secs => $1)
                     and (l.started_at is not null
                          -- A job the queue will still run, or runs now; one that failed
                          -- all its tries before the attempt started waits for nothing.
                          or not exists (select 1 from graphile_worker._private_jobs j
                                         where j.key = 'run:' || l.execution_id || ':' || l.attempt
                                           and (j.is_available or j.locked_at is not null)))
                     and ($2::timestamptz is null or (l.created_at, l.id) > ($2, $3))
                   order by l.created_at, l.id
                   limit 100"#,
            )
            .bind(stale_secs)
            .bind(after.map(|a| a.0))
            .bind(after.map(|a| a.1))
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else {
                break;
            };
            after = Some((last.created_at, last.id));
            for row in &rows {
                if self.reap_one(row).await {
                    reaped += 1;
                }
            }
            if rows.len() < 100 {
                break;
            }
        }
        Ok(reaped)
    }

    /// One row on its own: one that cannot be concluded is ended without a retry, and
    /// never stops the round.
    async fn reap_one(&self, row: &Stale) -> bool {
        let (execution_id, attempt) = (row.execution_id, row.attempt);
        if row.legacy {
            tracing::warn!(%execution_id, "a run of the previous portal left running; ended");
            return match self.end_without_retry(row.id, PREVIOUS_PORTAL).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(%execution_id, error = %e, "could not end a previous portal's run");
                    false
                }
            };
        }
        tracing::warn!(%execution_id, attempt, "stale heartbeat: worker lost");
        let lost = Err(ProviderError::Transient(
            "o worker parou de responder durante a execução (worker lost)".into(),
        ));
        match self.conclude(execution_id, attempt, row.ran_ms, lost).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(%execution_id, attempt, error = %e, "could not conclude a stale attempt; ending it without a retry");
                match self.end_without_retry(row.id, UNCONCLUDABLE).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(%execution_id, attempt, error = %e, "could not end a stale attempt; skipped");
                        false
                    }
                }
            }
        }
    }

    /// The reaper's last resort for one row: ended as an error without a retry, and its
    /// integration's card no longer says running.
    async fn end_without_retry(&self, id: Uuid, message: &str) -> Result<()> {
        sqlx::query!(
            r#"with ended as (
                 update public.integration_logs
                 set status = 'error', finished_at = now(), error_message = $2
                 where id = $1 and status = 'running'
                 returning id, tenant_id, provider_slug, error_message
               )
               update public.tenant_integrations t
               set last_status = 'error', last_error = e.error_message
               from ended e
               join public.organizacoes o
                 on o.id::text = lower(e.tenant_id) or o.slug = e.tenant_id
               join public.integration_providers p on p.slug = e.provider_slug
               where t.tenant_id = o.id and t.provider_id = p.id and t.last_status = 'running'
                 -- Not while another run of it goes on (this statement still sees the row
                 -- it ends as running: it is left out by id).
                 and not exists (select 1 from public.integration_logs l
                                 where l.status = 'running' and l.id <> e.id
                                   and l.provider_slug = e.provider_slug
                                   and l.tenant_id in (o.id::text, o.slug))"#,
            id,
            message
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
