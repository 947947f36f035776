//! Alerts and auto-pause (issue "The engine under pressure", item 10).
//!
//! - [`after_run`]: in the engine's transaction that ends an execution, counts consecutive
//!   failed executions of the tenant integration; at its threshold (`pause_after_failures`,
//!   default 3) the schedule pauses and the tenant's admins get a notice; a success after a
//!   pause lifts it and says so. Webhook batches (OneCode's events) are never concluded, so
//!   they neither count nor lift.
//! - [`resume`]: *Retomar*, a tenant admin lifting the pause (the count restarts).
//! - [`notices`]: the portal header's notices, read under the caller's row-level security.
//! - [`webhook`]: the tenant's outgoing webhook (Slack/Teams/Google Chat `{"text"}`,
//!   signed with HMAC-SHA256), sealed like the vault's values and sent by the queue.
//!
//! Pauses and resumes are audited by the database (`audit_tenant_integration_pause`), so a
//! resume through PostgREST is recorded like one through the portal.

pub mod notices;
pub mod webhook;

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::{Error, Result};
use model::{NoticeKind, RunStatus};

/// A tenant integration's pause state, its row locked for this transaction.
struct Locked {
    id: Uuid,
    consecutive_failures: i32,
    pause_after_failures: i32,
    paused: bool,
}

async fn lock(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: &str,
) -> Result<Option<Locked>> {
    Ok(sqlx::query_as!(
        Locked,
        r#"select t.id, t.consecutive_failures, t.pause_after_failures,
                  t.paused_at is not null as "paused!"
           from public.tenant_integrations t
           join public.integration_providers p on p.id = t.provider_id
           where t.tenant_id = $1 and p.slug = $2
           for update of t"#,
        tenant_id,
        provider_slug
    )
    .fetch_optional(&mut **tx)
    .await?)
}

/// Counts an ended execution toward its integration's pause, in the engine's (service)
/// transaction. Returns the notice written, if any: at the threshold a `paused` notice, on
/// the first success after a pause a `recovered` one. Each notice is queued for the
/// tenant's webhook when one is set, in the same transaction. (Webhook batches never get
/// here: they are written ended, not concluded.)
pub async fn after_run(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: &str,
    status: RunStatus,
    last_error: Option<&str>,
) -> Result<Option<i64>> {
    let failed = status == RunStatus::Error;
    let succeeded = matches!(status, RunStatus::Success | RunStatus::Partial);
    if !(failed || succeeded) {
        return Ok(None);
    }
    let Some(row) = lock(tx, tenant_id, provider_slug).await? else {
        return Ok(None);
    };
    let notice = if failed {
        let n = row.consecutive_failures.saturating_add(1);
        let pause = !row.paused && n >= row.pause_after_failures;
        sqlx::query!(
            r#"update public.tenant_integrations
               set consecutive_failures = $2,
                   paused_at = case when $3 then now() else paused_at end,
                   paused_after = case when $3 then $2 else paused_after end
               where id = $1"#,
            row.id,
            n,
            pause
        )
        .execute(&mut **tx)
        .await?;
        pause.then_some((NoticeKind::Paused, n))
    } else {
        if row.consecutive_failures == 0 && !row.paused {
            return Ok(None);
        }
        // Lifting the pause also restarts the count (the table's guard trigger).
        sqlx::query!(
            r#"update public.tenant_integrations
               set consecutive_failures = 0, paused_at = null
               where id = $1"#,
            row.id
        )
        .execute(&mut **tx)
        .await?;
        row.paused
            .then_some((NoticeKind::Recovered, row.consecutive_failures.max(1)))
    };
    let Some((kind, failures)) = notice else {
        return Ok(None);
    };
    let last_error = last_error
        .filter(|_| kind == NoticeKind::Paused)
        .map(|e| e.chars().take(2000).collect::<String>());
    let id = sqlx::query_scalar!(
        r#"insert into public.integration_notices
             (tenant_id, tenant_integration_id, provider_slug, kind, failures, last_error)
           values ($1, $2, $3, $4, $5, $6)
           returning id"#,
        tenant_id,
        row.id,
        provider_slug,
        kind.as_str(),
        failures,
        last_error
    )
    .fetch_one(&mut **tx)
    .await?;
    webhook::enqueue_if_configured(tx, tenant_id, id).await?;
    tracing::info!(%tenant_id, provider_slug, kind = kind.as_str(), failures, "integration alert");
    Ok(Some(id))
}

/// *Retomar*: lifts the pause of one of the tenant's integrations, in the caller's
/// transaction (tenant admins and global admins; 403 otherwise, 404 when the tenant has
/// no such integration, 409 when it is not paused). The count of failures restarts and
/// the database's trigger audits it with the actor bound here.
pub async fn resume(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: &str,
    actor: &crate::audit::Actor,
) -> Result<()> {
    crate::scope::require_tenant_admin(
        tx,
        tenant_id,
        "Apenas administradores da organização podem retomar uma integração pausada.",
    )
    .await?;
    crate::audit::bind(tx, actor).await?;
    match lock(tx, tenant_id, provider_slug).await? {
        None => Err(Error::NotFound(model::INTEGRATION_NOT_FOUND.into())),
        Some(row) if !row.paused => {
            Err(Error::Conflict("Esta integração não está pausada.".into()))
        }
        Some(row) => {
            sqlx::query!(
                "update public.tenant_integrations set paused_at = null where id = $1",
                row.id
            )
            .execute(&mut **tx)
            .await?;
            Ok(())
        }
    }
}

/// Validates the threshold as the form sends it: a whole number in
/// [`model::PAUSE_AFTER_RANGE`]; the error is pt-BR, for the field.
pub fn parse_threshold(raw: &str) -> std::result::Result<i32, String> {
    let range = model::PAUSE_AFTER_RANGE;
    raw.trim()
        .parse::<i32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            format!(
                "Informe um número inteiro de {} a {}.",
                range.start(),
                range.end()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::parse_threshold;

    #[test]
    fn the_threshold_is_a_small_whole_number() {
        assert_eq!(parse_threshold(" 3 "), Ok(3));
        assert_eq!(parse_threshold("20"), Ok(20));
        for bad in ["0", "21", "-1", "2.5", "", "três"] {
            assert!(parse_threshold(bad).is_err(), "{bad}");
        }
    }
}
