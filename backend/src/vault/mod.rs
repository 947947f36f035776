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
    for field in crate::config_form::secret_fields(&row.config_schema) {
        if !values.contains_key(&field.key) {
            if let Some(v) = store::from_env(provider_slug, &row.tenant_slug, &field.key) {
                values.insert(field.key.clone(), Ok(v));
            }
        }
    }
    Ok(Some(RunInputs {
        tenant_integration_id: row.id,
        tenant_slug: row.tenant_slug,
        config: crate::integrations::effective_config(row.config, &row.base_url),
        config_schema: row.config_schema,
        secrets: Secrets::new(values),
    }))
}
