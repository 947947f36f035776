//! *Cancelar*: a person stops a run. An attempt no worker has started yet (queued, or a
//! retry waiting out its backoff) ends at once; a running one is asked to stop and its
//! worker cancels the provider at the next heartbeat. Either way the run ends `cancelled`,
//! no retry follows, and the request is audited.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::audit::{self, Action, Actor};
use crate::{Error, Result};

/// What a cancel did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// No worker had started it: it is over.
    Ended,
    /// Its worker stops it within a heartbeat.
    Requested,
}

/// Cancels the execution `execution_id` in the caller's transaction (scoped by
/// [`crate::scope::begin_as`]): the caller must be allowed to run the integration, as for
/// [`super::start_run`]. Commit to make it happen.
pub async fn cancel_run(
    tx: &mut Transaction<'static, Postgres>,
    execution_id: Uuid,
    actor: &Actor,
) -> Result<CancelOutcome> {
    let not_found = || Error::NotFound("Execução não encontrada.".into());
    let finished = || Error::Conflict("Esta execução já terminou.".into());
    // Twice at most: an attempt that ended with a retry while this waited for its lock is
    // found no longer running, and the retry (committed after this statement began) is
    // seen by the next statement.
    let mut round = 0;
    let (tenant_id, provider_slug, outcome, previous) = loop {
        round += 1;
        // Read under the caller's row-level security: another tenant's run is not found.
        let last = sqlx::query!(
            r#"select l.tenant_id, l.provider_slug as "provider_slug!",
                      l.status as "status: model::RunStatus"
               from public.integration_logs l
               where l.execution_id = $1
               order by l.attempt desc
               limit 1"#,
            execution_id
        )
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(not_found)?;
        if last.status != model::RunStatus::Running {
            return Err(finished());
        }
        let tenant_id = Uuid::parse_str(&last.tenant_id).map_err(|_| not_found())?;
        if !super::may_run(tx, tenant_id).await? {
            return Err(not_found());
        }
        let previous = crate::scope::elevate(tx).await?;
        // One statement, so that it and a worker starting the attempt (which takes only an
        // attempt not yet started) see each other: whichever locks the row first wins.
        let ended = sqlx::query!(
            r#"update public.integration_logs set
                 cancel_requested_at = now(),
                 status = case when started_at is null then 'cancelled' else status end,
                 finished_at = case when started_at is null then now() else finished_at end,
                 error_message = case when started_at is null then 'execução cancelada'
                                      else error_message end
               where execution_id = $1 and status = 'running'
               returning started_at is null as "ended!", attempt"#,
            execution_id
        )
        .fetch_optional(&mut **tx)
        .await?;
        match ended {
            None if round < 2 => {
                crate::scope::restore_role(tx, &previous).await?;
                continue;
            }
            None => {
                crate::scope::restore_role(tx, &previous).await?;
                return Err(finished());
            }
            Some(row) => break (tenant_id, last.provider_slug, row, previous),
        }
    };
    let outcome = if outcome.ended {
        // Out of the queue now, not when a worker reaches it: until then it would count
        // in every later run's place.
        sqlx::query!(
            "select public.dequeue_integration_run($1, $2)",
            execution_id,
            outcome.attempt
        )
        .execute(&mut **tx)
        .await?;
        sqlx::query!(
            r#"update public.tenant_integrations t
               set last_status = 'cancelled', last_error = 'execução cancelada'
               from public.integration_providers p
               where p.id = t.provider_id and t.tenant_id = $1 and p.slug = $2
                 and t.last_status = 'running'"#,
            tenant_id,
            provider_slug
        )
        .execute(&mut **tx)
        .await?;
        CancelOutcome::Ended
    } else {
        CancelOutcome::Requested
    };
    crate::scope::restore_role(tx, &previous).await?;
    audit::record(
        tx,
        actor,
        tenant_id,
        Some(&provider_slug),
        Action::RunCancelled,
        serde_json::json!({ "execution_id": execution_id }),
    )
    .await?;
    Ok(outcome)
}

/// [`cancel_run`] for execution `execution_id` of the tenant's integration `provider_slug`
/// (the drawer's *Cancelar*: the page's tenant and integration, not only any run the
/// caller may cancel). Another's is not found.
pub async fn cancel_in(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: &str,
    execution_id: Uuid,
    actor: &Actor,
) -> Result<CancelOutcome> {
    super::require_execution_of(tx, tenant_id, provider_slug, execution_id).await?;
    cancel_run(tx, execution_id, actor).await
}

/// [`cancel_run`] for the run going on in the tenant's integration `provider_slug` (the
/// portal's button knows the integration, not the execution).
pub async fn cancel_running(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: &str,
    actor: &Actor,
) -> Result<CancelOutcome> {
    let running = sqlx::query_scalar!(
        r#"select l.execution_id as "execution_id!"
           from public.integration_logs l
           where l.tenant_id = $1::text and l.provider_slug = $2 and l.status = 'running'
           order by l.created_at desc
           limit 1"#,
        tenant_id.to_string(),
        provider_slug
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::Conflict("Nenhuma execução em andamento para cancelar.".into()))?;
    cancel_run(tx, running, actor).await
}
