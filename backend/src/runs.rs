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

/// One attempt of a run, as the API and the history show it (payload and response are
/// stored sanitised).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogRow {
    pub id: Uuid,
    pub execution_id: Uuid,
    pub attempt: i32,
    pub tenant_id: String,
    pub provider_slug: Option<String>,
    pub status: model::RunStatus,
    pub trigger: model::Trigger,
    pub error_message: Option<String>,
    pub execution_time_ms: Option<i32>,
    pub total_processados: i32,
    pub total_matched: i32,
    pub total_review: i32,
    pub total_ignored: i32,
    pub total_created: i32,
    pub total_updated: i32,
    pub total_unchanged: i32,
    pub total_failed: i32,
    pub progress: Option<i32>,
    pub payload: Option<serde_json::Value>,
    pub response: Option<serde_json::Value>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub worker: Option<String>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Every attempt of an execution visible to the caller, first attempt first.
pub async fn attempts(
    tx: &mut Transaction<'static, Postgres>,
    execution_id: Uuid,
) -> Result<Vec<LogRow>> {
    let rows = sqlx::query_as!(
        LogRow,
        r#"select id, execution_id as "execution_id!", attempt, tenant_id, provider_slug,
                  status as "status: model::RunStatus", trigger as "trigger: model::Trigger",
                  error_message, execution_time_ms, total_processados,
                  total_matched, total_review, total_ignored, total_created, total_updated,
                  total_unchanged, total_failed, progress, payload, response, created_at,
                  started_at, worker, finished_at
           from public.integration_logs
           where execution_id = $1
           order by attempt"#,
        execution_id
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows)
}

/// The latest attempt of an execution visible to the caller.
pub async fn last_attempt(
    tx: &mut Transaction<'static, Postgres>,
    execution_id: Uuid,
) -> Result<Option<LogRow>> {
    Ok(attempts(tx, execution_id).await?.pop())
}
