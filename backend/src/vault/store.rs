//! The vault table (`integration_secrets`): write, remove, list what is set (never a
//! value), open for a run, rotate. Every statement runs as `service_role`; the functions
//! that act for a user switch to it only after the caller's checks ran under RLS.

use std::collections::HashMap;

use secrecy::SecretString;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::keyring::{Keyring, Sealed, VaultError};
use crate::audit::Actor;
use crate::scope::{begin_service, elevate, restore_role};
use crate::Result;

/// What the form may know of a stored secret: that it is set, when and by whom.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSecret {
    pub field: String,
    pub set_at: chrono::DateTime<chrono::Utc>,
    pub set_by_name: Option<String>,
}

/// Stores (or replaces) one secret of a tenant integration, encrypted under the current key.
pub async fn put(
    tx: &mut Transaction<'static, Postgres>,
    keyring: &Keyring,
    tenant_integration_id: Uuid,
    field: &str,
    value: &SecretString,
    actor: &Actor,
) -> Result<()> {
    let sealed = keyring
        .seal(tenant_integration_id, field, value)
        .map_err(|e| crate::Error::Invalid(e.to_string()))?;
    let previous = elevate(tx).await?;
    sqlx::query!(
        r#"insert into public.integration_secrets
             (tenant_integration_id, field, ciphertext, nonce, key_id, set_at, set_by, set_by_name)
           values ($1, $2, $3, $4, $5, now(), $6, $7)
           on conflict (tenant_integration_id, field) do update
             set ciphertext = excluded.ciphertext, nonce = excluded.nonce,
                 key_id = excluded.key_id, set_at = now(),
                 set_by = excluded.set_by, set_by_name = excluded.set_by_name"#,
        tenant_integration_id,
        field,
        sealed.ciphertext,
        sealed.nonce,
        sealed.key_id,
        actor.user_id,
        actor.display_name()
    )
    .execute(&mut **tx)
    .await?;
    restore_role(tx, &previous).await?;
    Ok(())
}

/// Removes one secret; whether there was one.
pub async fn remove(
    tx: &mut Transaction<'static, Postgres>,
    tenant_integration_id: Uuid,
    field: &str,
) -> Result<bool> {
    let previous = elevate(tx).await?;
    let n = sqlx::query!(
        "delete from public.integration_secrets where tenant_integration_id = $1 and field = $2",
        tenant_integration_id,
        field
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    restore_role(tx, &previous).await?;
    Ok(n > 0)
}

/// Which secrets of a tenant integration are set (no value, no ciphertext).
pub async fn list(
    tx: &mut Transaction<'static, Postgres>,
    tenant_integration_id: Uuid,
) -> Result<Vec<StoredSecret>> {
    let previous = elevate(tx).await?;
    let rows = sqlx::query_as!(
        StoredSecret,
        r#"select field, set_at, set_by_name
           from public.integration_secrets
           where tenant_integration_id = $1
           order by field"#,
        tenant_integration_id
    )
    .fetch_all(&mut **tx)
    .await?;
    restore_role(tx, &previous).await?;
    Ok(rows)
}

/// Every secret of a tenant integration, decrypted, or why one could not be. For the
/// engine and the connection test only (a service transaction).
pub async fn open_all(
    tx: &mut Transaction<'static, Postgres>,
    keyring: &Keyring,
    tenant_integration_id: Uuid,
) -> Result<HashMap<String, Result<SecretString, VaultError>>> {
    let rows = sqlx::query!(
        r#"select field, ciphertext, nonce, key_id
           from public.integration_secrets where tenant_integration_id = $1"#,
        tenant_integration_id
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let sealed = Sealed {
                ciphertext: r.ciphertext,
                nonce: r.nonce,
                key_id: r.key_id,
            };
            let opened = keyring.open(tenant_integration_id, &r.field, &sealed);
            (r.field, opened)
        })
        .collect())
}

/// What `server secrets rotate` did.
#[derive(Debug, Default)]
pub struct Rotation {
    /// Values re-encrypted under the current key.
    pub rotated: u64,
    /// Values already under the current key.
    pub current: u64,
    /// Values that could not be decrypted (their key is not configured, or they were
    /// altered): left as they are, with the reason.
    pub failed: Vec<(Uuid, String, VaultError)>,
}

/// Re-encrypts every value not under the current key, in one transaction.
pub async fn rotate(pool: &PgPool, keyring: &Keyring) -> Result<Rotation> {
    let mut tx = begin_service(pool).await?;
    let rows = sqlx::query!(
        r#"select tenant_integration_id, field, ciphertext, nonce, key_id
           from public.integration_secrets
           order by tenant_integration_id, field
           for update"#
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut out = Rotation::default();
    for r in rows {
        if r.key_id == keyring.current_id() {
            out.current += 1;
            continue;
        }
        let sealed = Sealed {
            ciphertext: r.ciphertext,
            nonce: r.nonce,
            key_id: r.key_id,
        };
        let resealed = keyring
            .open(r.tenant_integration_id, &r.field, &sealed)
            .and_then(|plain| keyring.seal(r.tenant_integration_id, &r.field, &plain));
        match resealed {
            Ok(new) => {
                sqlx::query!(
                    r#"update public.integration_secrets
                       set ciphertext = $3, nonce = $4, key_id = $5
                       where tenant_integration_id = $1 and field = $2"#,
                    r.tenant_integration_id,
                    r.field,
                    new.ciphertext,
                    new.nonce,
                    new.key_id
                )
                .execute(&mut *tx)
                .await?;
                out.rotated += 1;
            }
            Err(e) => out.failed.push((r.tenant_integration_id, r.field, e)),
        }
    }
    // The tenants' alert webhooks are sealed by the same keys.
    let (rotated, failed) = crate::alerts::webhook::rotate(&mut tx, keyring).await?;
    out.rotated += rotated;
    out.failed.extend(
        failed
            .into_iter()
            // The tenant's id stands in the integration's place, named so.
            .map(|(tenant, e)| (tenant, "alert_webhook (organização)".to_owned(), e)),
    );
    tx.commit().await?;
    Ok(out)
}

/// The environment variable an operator may keep a secret in instead of the vault:
/// `INTEGRATION_SECRET__<PROVIDER>__<TENANT_SLUG>__<FIELD>`, upper case, every character
/// that is not a letter or digit as `_` (`local-http` → `LOCAL_HTTP`).
pub fn env_var_name(provider_slug: &str, tenant_slug: &str, field: &str) -> String {
    let part = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "INTEGRATION_SECRET__{}__{}__{}",
        part(provider_slug),
        part(tenant_slug),
        part(field)
    )
}

/// The origin (`scheme://host[:port]`, lower case) of a URL.
pub fn origin(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization().to_lowercase())
}

/// Whether the environment's credentials may be used for this integration: only when it
/// points at the API the operator meant them for — the catalog's default address, or the
/// one the operator pinned in `INTEGRATION_SECRET__<PROVIDER>__<TENANT_SLUG>__BASE_URL`.
/// (A tenant admin who changes the address must not get the operator's token sent there.)
pub fn env_applies(
    provider_slug: &str,
    tenant_slug: &str,
    schema: &serde_json::Value,
    config: &serde_json::Value,
) -> bool {
    let Some(current) = config
        .get("base_url")
        .and_then(serde_json::Value::as_str)
        .and_then(origin)
    else {
        return false;
    };
    let pinned = std::env::var(env_var_name(provider_slug, tenant_slug, "base_url"))
        .ok()
        .and_then(|u| origin(&u));
    let default = schema
        .pointer("/properties/base_url/default")
        .and_then(serde_json::Value::as_str)
        .and_then(origin);
    match pinned {
        Some(p) => p == current,
        None => default.is_some_and(|d| d == current),
    }
}

/// The secret from the environment, when the operator set one (empty counts as unset).
pub fn from_env(provider_slug: &str, tenant_slug: &str, field: &str) -> Option<SecretString> {
    std::env::var(env_var_name(provider_slug, tenant_slug, field))
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(SecretString::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_are_upper_case_with_underscores() {
        assert_eq!(
            env_var_name("local-http", "contmax", "api_token"),
            "INTEGRATION_SECRET__LOCAL_HTTP__CONTMAX__API_TOKEN"
        );
        assert_eq!(
            env_var_name("acessorias", "p&g", "api_token"),
            "INTEGRATION_SECRET__ACESSORIAS__P_G__API_TOKEN"
        );
    }
}
