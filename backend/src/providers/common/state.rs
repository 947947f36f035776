//! Checkpoints: where a sync stands, per tenant integration and stream. A checkpoint is
//! written in the same transaction as the rows of the page it follows, so it never runs
//! ahead of what is committed: a run that dies is retried from its last committed page.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::super::ProviderError;

/// The stored state of `stream`, or `None` (never synced, or unreadable: a fresh start).
pub async fn load<T: DeserializeOwned>(
    db: &sqlx::PgPool,
    integration: Uuid,
    stream: &str,
) -> Result<Option<T>, ProviderError> {
    let mut tx = crate::scope::begin_service(db).await.map_err(db_error)?;
    let raw = sqlx::query_scalar!(
        "select state from public.integration_sync_state
         where tenant_integration_id = $1 and stream = $2",
        integration,
        stream
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(raw.and_then(|v| serde_json::from_value(v).ok()))
}

/// The states of every stream named `<prefix>:...` of an integration, by the rest of
/// their name (one query: a pass loads its per-record cursors at once).
pub async fn load_all<T: DeserializeOwned>(
    db: &sqlx::PgPool,
    integration: Uuid,
    prefix: &str,
) -> Result<std::collections::HashMap<String, T>, ProviderError> {
    let mut tx = crate::scope::begin_service(db).await.map_err(db_error)?;
    let rows = sqlx::query!(
        "select stream, state from public.integration_sync_state
         where tenant_integration_id = $1 and starts_with(stream, $2 || ':')",
        integration,
        prefix
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let name = r.stream.get(prefix.len() + 1..)?.to_owned();
            Some((name, serde_json::from_value(r.state).ok()?))
        })
        .collect())
}

/// Writes the state of `stream` inside `tx` (the page's own transaction).
pub async fn save<T: Serialize>(
    tx: &mut Transaction<'static, Postgres>,
    integration: Uuid,
    stream: &str,
    state: &T,
) -> Result<(), ProviderError> {
    let value = serde_json::to_value(state)
        .map_err(|e| ProviderError::Permanent(format!("checkpoint inválido: {e}")))?;
    sqlx::query!(
        "insert into public.integration_sync_state (tenant_integration_id, stream, state, updated_at)
         values ($1, $2, $3, now())
         on conflict (tenant_integration_id, stream)
         do update set state = excluded.state, updated_at = now()",
        integration,
        stream,
        value
    )
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    // The attempt's timeline; a company's own cursor (`deliveries:<company>`) moves with
    // its stream's, which is recorded.
    if !stream.contains(':') {
        if let Some(t) = crate::providers::timeline::of(integration) {
            t.checkpoint(stream);
        }
    }
    Ok(())
}

/// A database error during a sync: transient (the run is retried from its checkpoint).
/// Its text stays in the logs; the run's error says only what happened.
pub fn db_error(e: sqlx::Error) -> ProviderError {
    tracing::error!(error = %e, "database error during a sync");
    ProviderError::Transient("erro ao gravar no banco de dados do portal".into())
}

/// Writes the state of `stream` in a transaction of its own (a checkpoint that follows no
/// page: the end of a pass).
pub async fn save_now<T: Serialize>(
    db: &sqlx::PgPool,
    integration: Uuid,
    stream: &str,
    state: &T,
) -> Result<(), ProviderError> {
    let mut tx = crate::scope::begin_service(db).await.map_err(db_error)?;
    save(&mut tx, integration, stream, state).await?;
    tx.commit().await.map_err(db_error)
}
