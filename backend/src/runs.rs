//! Runs of tenant integrations: the orchestrator's claim step (seed step 5).

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::{Error, Result};
use model::Trigger;

/// The outcome of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller started the run: its execution id.
    Started(Uuid),
    /// A run was already going: its execution id (the API answers 409 with it).
    AlreadyRunning(Uuid),
}

/// Claims a run of `provider_slug` for `tenant_id`, inside the caller's transaction.
/// `claim_integration_run` (migration 0004) does it atomically under a row lock.
pub async fn claim(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: &str,
    trigger: Trigger,
) -> Result<Claim> {
    let row = sqlx::query!(
        r#"select execution_id as "execution_id!", claimed as "claimed!"
           from public.claim_integration_run($1, $2, $3)"#,
        tenant_id,
        provider_slug,
        trigger.as_str()
    )
    .fetch_one(&mut **tx)
    .await
    .map_err(
        |e| match e.as_database_error().and_then(|d| d.code()).as_deref() {
            Some("P0002") => {
                Error::NotFound("Integração não encontrada para esta organização.".into())
            }
            Some("55000") => Error::Conflict("A integração está desativada.".into()),
            _ => Error::Database(e),
        },
    )?;
    Ok(if row.claimed {
        Claim::Started(row.execution_id)
    } else {
        Claim::AlreadyRunning(row.execution_id)
    })
}
