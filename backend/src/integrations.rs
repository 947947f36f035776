//! Tenant integrations, read as the caller.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use model::IntegrationSummary;

/// A tenant integration's settings as providers and the form see them: its `config`, with
/// the old `base_url` column filling in when the config has none (rows from before the
/// module keep their URL there).
pub fn effective_config(config: serde_json::Value, base_url: &str) -> serde_json::Value {
    match config {
        serde_json::Value::Object(mut map) => {
            map.entry("base_url")
                .or_insert_with(|| serde_json::Value::String(base_url.to_owned()));
            serde_json::Value::Object(map)
        }
        _ => serde_json::json!({ "base_url": base_url }),
    }
}

/// The integrations of one tenant with their catalog entry. Old rows without a
/// `provider_id` still show, under their `provider` text.
pub async fn list_for_tenant(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
) -> sqlx::Result<Vec<IntegrationSummary>> {
    sqlx::query_as!(
        IntegrationSummary,
        r#"select ti.id,
                  coalesce(p.slug, ti.provider) as "slug!",
                  coalesce(p.name, ti.provider) as "name!",
                  p.category as "category?",
                  ti.is_enabled,
                  ti.last_status,
                  to_char(ti.last_run at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as last_run,
                  extract(epoch from now() - ti.last_run)::bigint as last_run_seconds_ago,
                  (select l.progress from public.integration_logs l
                   where ti.last_status = 'running'
                     and l.tenant_id = ti.tenant_id::text
                     and l.provider_slug = coalesce(p.slug, ti.provider)
                     and l.status = 'running'
                   order by l.created_at desc limit 1) as progress
           from public.tenant_integrations ti
           left join public.integration_providers p on p.id = ti.provider_id
           where ti.tenant_id = $1
           order by 3"#,
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// Turns one of the tenant's integrations on or off. Returns `NotFound` when the tenant has
/// no such integration (or the caller may not see it). Row-level security lets only tenant
/// admins and global admins change a row; the handler checks the role first to answer 403.
pub async fn set_enabled(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
    enabled: bool,
) -> crate::Result<()> {
    let updated = sqlx::query_scalar!(
        r#"update public.tenant_integrations ti
           set is_enabled = $3
           from public.integration_providers p
           where p.id = ti.provider_id and ti.tenant_id = $1 and p.slug = $2
           returning ti.id"#,
        tenant_id,
        slug,
        enabled
    )
    .fetch_optional(&mut **tx)
    .await?;
    match updated {
        Some(_) => Ok(()),
        None => Err(crate::Error::NotFound(
            "Integração não encontrada nesta organização.".into(),
        )),
    }
}

/// One integration of a tenant with what its page shows besides the summary.
pub async fn detail(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
) -> crate::Result<(
    IntegrationSummary,
    Option<String>,
    Option<String>,
    Option<String>,
)> {
    let summary = list_for_tenant(tx, tenant_id)
        .await?
        .into_iter()
        .find(|i| i.slug == slug)
        .ok_or_else(|| {
            crate::Error::NotFound("Integração não encontrada nesta organização.".into())
        })?;
    let extra = sqlx::query!(
        r#"select p.description, ti.schedule, ti.last_error
           from public.tenant_integrations ti
           left join public.integration_providers p on p.id = ti.provider_id
           where ti.id = $1"#,
        summary.id
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok((summary, extra.description, extra.schedule, extra.last_error))
}

#[cfg(test)]
mod tests {
    use super::effective_config;
    use serde_json::json;

    #[test]
    fn the_old_base_url_fills_in_only_when_the_config_has_none() {
        assert_eq!(
            effective_config(json!({"x": 1}), "https://old.test"),
            json!({"x": 1, "base_url": "https://old.test"})
        );
        assert_eq!(
            effective_config(json!({"base_url": "https://new.test"}), "https://old.test"),
            json!({"base_url": "https://new.test"})
        );
    }
}
