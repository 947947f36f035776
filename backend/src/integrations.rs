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
/// `provider_id` still show, under their `provider` text. `has_connector` is `true` here:
/// [`crate::providers::Registry::mark`] sets it from the server's plugins.
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
                  ti.last_status as "last_status: model::RunStatus",
                  -- To the millisecond: the detail page tells a new run from the last
                  -- one by it (two runs a second apart read the same to the second).
                  to_char(ti.last_run at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as last_run,
                  extract(epoch from now() - ti.last_run)::bigint as last_run_seconds_ago,
                  r.progress as "progress?",
                  t.total_processados as "last_processed?",
                  t.total_created as "last_created?",
                  t.total_updated as "last_updated?",
                  t.total_review as "last_review?",
                  t.total_failed as "last_failed?",
                  t.total_matched as "last_matched?",
                  t.total_ignored as "last_ignored?",
                  -- Whether this server can run it: set by `Registry::mark`.
                  true as "has_connector!",
                  case when ti.paused_at is not null
                       then coalesce(ti.paused_after, ti.consecutive_failures) end as paused_after,
                  -- The running attempt waits for a worker; its place in the queue.
                  (r.execution_id is not null and r.started_at is null) as "queued!",
                  case when r.execution_id is not null and r.started_at is null
                       then public.queue_position($1, r.execution_id) end as queue_position,
                  to_char(w.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as last_webhook,
                  extract(epoch from now() - w.created_at)::bigint as last_webhook_seconds_ago
           from public.tenant_integrations ti
           left join public.integration_providers p on p.id = ti.provider_id
           -- The last sync's totals: the run the engine last concluded as a success or
           -- a partial (not a webhook batch: a few events are not the last sync's
           -- picture), by primary key.
           left join public.integration_logs t on t.id = ti.last_sync_log_id
           -- The running attempt's progress, by the partial index of 0017 (tenant,
           -- provider, newest first; running rows only), with plain comparisons to the
           -- parameter and the catalog slug: a cast of the outer row's column kept the
           -- planner from using an index under RLS, and it read every tenant's running
           -- rows per card.
           left join lateral (
             select l.progress, l.execution_id, l.started_at
             from public.integration_logs l
             where l.tenant_id = ($1::uuid)::text
               and l.provider_slug = p.slug
               and l.status = 'running'
             order by l.created_at desc limit 1) r on ti.last_status = 'running'
           -- The last webhook batch (OneCode's events between syncs), under either key
           -- of the tenant the history lists (its id; its slug in the old jobs' rows): one
           -- row from the top of each key's range of the partial index of 0027 (the
           -- triggers other than the schedule). Empty for providers that receive none.
           left join lateral (
             select max(u.created_at) as created_at
             from (
               (select l.created_at
                from public.integration_logs l
                where l.tenant_id = ($1::uuid)::text
                  and l.provider_slug = p.slug
                  and l.trigger = 'webhook'
                order by l.created_at desc limit 1)
               union all
               (select l.created_at
                from public.integration_logs l
                where l.tenant_id = (select o.slug from public.organizacoes o where o.id = $1)
                  and l.provider_slug = p.slug
                  and l.trigger = 'webhook'
                order by l.created_at desc limit 1)
             ) u) w on true
           where ti.tenant_id = $1
           order by 3"#,
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// Turns one of the tenant's integrations on or off (the audit trigger records it).
/// Turning on needs the required settings and credentials (409 in pt-BR naming what is
/// missing). Returns `NotFound` when the tenant has no such integration (or the caller may
/// not see it). Row-level security lets only tenant admins and global admins change a row;
/// the handler checks the role first to answer 403.
pub async fn set_enabled(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
    enabled: bool,
    actor: &crate::audit::Actor,
) -> crate::Result<()> {
    crate::audit::bind(tx, actor).await?;
    if enabled {
        let missing = crate::config_form::missing_requirements(tx, tenant_id, slug).await?;
        if !missing.is_empty() {
            return Err(crate::Error::Conflict(format!(
                "Configure antes de ativar: {}.",
                missing.join(", ")
            )));
        }
    }
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
        None => Err(crate::Error::NotFound(model::INTEGRATION_NOT_FOUND.into())),
    }
}

/// The catalog's providers the tenant does not have yet (what *Adicionar integração*
/// offers), as the caller sees the catalog.
pub async fn addable(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
) -> crate::Result<Vec<model::CatalogProvider>> {
    Ok(sqlx::query_as!(
        model::CatalogProvider,
        r#"select p.slug, p.name, p.category, p.description
           from public.integration_providers p
           where p.is_global
             and not exists (select 1 from public.tenant_integrations t
                             where t.tenant_id = $1
                               and (t.provider_id = p.id or t.provider = p.slug))
           order by p.name"#,
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await?)
}

/// *Adicionar*: gives the tenant one integration of the catalog, turned off until it is
/// configured (the audit trigger records it). 403 unless a tenant admin (RLS refuses the
/// insert too), 404 for a provider the catalog does not offer, 409 when the tenant has it.
pub async fn add(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
    actor: &crate::audit::Actor,
) -> crate::Result<()> {
    crate::scope::require_tenant_admin(
        tx,
        tenant_id,
        "Apenas administradores da organização podem adicionar integrações.",
    )
    .await?;
    crate::audit::bind(tx, actor).await?;
    let provider = sqlx::query!(
        r#"select id, config_schema from public.integration_providers
           where slug = $1 and is_global"#,
        slug
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| crate::Error::NotFound("Provedor não encontrado no catálogo.".into()))?;
    // The defaults of the schema (the API's usual URL) fill the new configuration.
    let mut config = serde_json::Map::new();
    if let Some(props) = provider
        .config_schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
    {
        for (k, p) in props {
            let secret = p.get("secret").and_then(serde_json::Value::as_bool) == Some(true);
            if let (false, Some(d)) = (secret, p.get("default")) {
                config.insert(k.clone(), d.clone());
            }
        }
    }
    let base_url = config
        .get("base_url")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_owned();
    let inserted = sqlx::query_scalar!(
        r#"insert into public.tenant_integrations
             (tenant_id, provider, provider_id, base_url, is_enabled, config)
           values ($1, $2, $3, $4, false, $5)
           on conflict do nothing
           returning id"#,
        tenant_id,
        slug,
        provider.id,
        base_url,
        serde_json::Value::Object(config)
    )
    .fetch_optional(&mut **tx)
    .await?;
    match inserted {
        Some(_) => Ok(()),
        None => Err(crate::Error::Conflict(
            "Esta organização já tem esta integração.".into(),
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
        .ok_or_else(|| crate::Error::NotFound(model::INTEGRATION_NOT_FOUND.into()))?;
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

/// Where OneCode delivers a tenant integration's events: this path plus `/<webhook_token>`.
pub const WEBHOOK_PATH: &str = "/functions/v1/onecode-webhook";

/// The path of a tenant integration's webhook address (`WEBHOOK_PATH/<token>`), for the
/// tenant's admins, who configure it at OneCode; `None` for other members (the token only
/// routes deliveries, whose bodies are authenticated by the vault's secret, but nobody else
/// needs it). Under the caller's RLS, which shows the addresses to the tenant's admins only.
pub async fn webhook_path(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
) -> crate::Result<Option<String>> {
    let token = sqlx::query_scalar!(
        r#"select w.token
           from public.tenant_integration_webhooks w
           join public.tenant_integrations ti on ti.id = w.tenant_integration_id
           join public.integration_providers p on p.id = ti.provider_id
           where w.tenant_id = $1 and p.slug = $2"#,
        tenant_id,
        slug
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(token.map(|t| format!("{WEBHOOK_PATH}/{t}")))
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
