//! The vault (issue "Credentials and audit"): each tenant integration's secrets (API
//! tokens, keys, webhook secrets), encrypted by the server and readable by no client role.
//!
//! - [`keyring`]: the keys and the AEAD (AES-256-GCM, the row and field as associated data);
//! - [`store`]: the `integration_secrets` table, the environment fallback and rotation;
//! - [`run_inputs`]: what a run or a connection test gets: the configuration and the
//!   secrets, decrypted, with the environment filling the fields the vault lacks.
//!
//! Values live in memory as `secrecy::SecretString` (no `Debug`/`Display` of the value) and
//! reach providers only through [`crate::providers::RunContext::secrets`].

pub mod keyring;
pub mod store;

use std::collections::HashMap;

use serde_json::Value;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

pub use keyring::{Keyring, Sealed, VaultError};

use crate::providers::Secrets;
use crate::Result;

/// What a provider runs with.
pub struct RunInputs {
    pub tenant_integration_id: Uuid,
    pub tenant_slug: String,
    /// The non-secret settings ([`crate::integrations::effective_config`]).
    pub config: Value,
    pub config_schema: Value,
    pub secrets: Secrets,
}

/// Loads a tenant integration's configuration and secrets, in a service transaction.
/// `None` when the tenant has no such integration.
pub async fn run_inputs(
    tx: &mut Transaction<'static, Postgres>,
    keyring: &Keyring,
    tenant_id: Uuid,
    provider_slug: &str,
) -> Result<Option<RunInputs>> {
    let Some(row) = sqlx::query!(
        r#"select t.id, t.config, t.base_url, p.config_schema, o.slug as tenant_slug
           from public.tenant_integrations t
           join public.integration_providers p on p.id = t.provider_id
           join public.organizacoes o on o.id = t.tenant_id
           where t.tenant_id = $1 and p.slug = $2"#,
        tenant_id,
        provider_slug
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let stored = store::open_all(tx, keyring, row.id).await?;
    let mut values: HashMap<String, std::result::Result<secrecy::SecretString, String>> = stored
        .into_iter()
        .map(|(field, opened)| {
            if let Err(e) = &opened {
                tracing::warn!(tenant_integration = %row.id, field, error = %e, "a stored credential cannot be decrypted");
            }
            (field, opened.map_err(|e| e.to_string()))
        })
        .collect();
    let config = crate::integrations::effective_config(row.config, &row.base_url);
    let fields = crate::config_form::secret_fields(&row.config_schema);
    let env_allowed =
        store::env_applies(provider_slug, &row.tenant_slug, &row.config_schema, &config);
    for field in &fields {
        if !values.contains_key(&field.key) && env_allowed {
            if let Some(v) = store::from_env(provider_slug, &row.tenant_slug, &field.key) {
                values.insert(field.key.clone(), Ok(v));
            }
        }
    }
    let titles = fields.into_iter().map(|f| (f.key, f.title)).collect();
    Ok(Some(RunInputs {
        tenant_integration_id: row.id,
        tenant_slug: row.tenant_slug,
        config,
        config_schema: row.config_schema,
        secrets: Secrets::new(values).with_titles(titles),
    }))
}

/// Moves credentials that an older version (or a hand-written SQL) left in plain
/// `tenant_integrations.config` into the vault, and removes them from `config`, where
/// every tenant member could read them. Runs at start-up; returns how many it moved. A
/// value already in the vault wins; the plain copy is dropped either way.
pub async fn adopt_plain_config_secrets(pool: &sqlx::PgPool, keyring: &Keyring) -> Result<u64> {
    let mut tx = crate::scope::begin_service(pool).await?;
    let rows = sqlx::query!(
        r#"select t.id, t.tenant_id, t.config, p.slug, p.config_schema
           from public.tenant_integrations t
           join public.integration_providers p on p.id = t.provider_id
           for update of t"#
    )
    .fetch_all(&mut *tx)
    .await?;
    let system = crate::audit::Actor::system(crate::audit::Source::System);
    let mut moved = 0;
    for row in rows {
        let Some(config) = row.config.as_object() else {
            continue;
        };
        let fields = crate::config_form::secret_fields(&row.config_schema);
        let plain: Vec<_> = fields
            .iter()
            .filter(|f| config.contains_key(&f.key))
            .collect();
        if plain.is_empty() {
            continue;
        }
        let stored = store::list(&mut tx, row.id).await?;
        let mut clean = config.clone();
        for f in plain {
            let value = clean.remove(&f.key);
            let text = value.as_ref().and_then(Value::as_str).map(str::trim);
            let in_vault = stored.iter().any(|s| s.field == f.key);
            if let (Some(text), false) = (text.filter(|t| !t.is_empty()), in_vault) {
                let secret = secrecy::SecretString::from(text.to_owned());
                store::put(&mut tx, keyring, row.id, &f.key, &secret, &system).await?;
                crate::audit::record(
                    &mut tx,
                    &system,
                    row.tenant_id,
                    Some(&row.slug),
                    crate::audit::Action::SecretSet,
                    serde_json::json!({"field": f.key, "title": f.title, "moved_from_config": true}),
                )
                .await?;
                moved += 1;
            }
        }
        sqlx::query!(
            "update public.tenant_integrations set config = $2 where id = $1",
            row.id,
            Value::Object(clean)
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(moved)
}
