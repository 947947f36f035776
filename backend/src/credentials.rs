//! The write-only credential fields of a tenant integration: *Salvar*/*Substituir* and
//! *Remover*. Checked as the caller (tenant admins and global admins, under RLS), written to
//! the vault and the audit trail in the caller's transaction. Nobody reads a value back.

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::audit::{self, Action, Actor};
use crate::config_form::{secret_fields, SecretField};
use crate::vault::{store, Keyring};
use crate::{Error, Result};
use model::{FieldError, SaveOutcome};

/// The longest credential accepted, in characters (tokens and keys are far shorter).
pub const MAX_LEN: usize = 4096;
/// The shortest: no real token is shorter, and shorter values could not be told apart from
/// ordinary text when they are scrubbed from a provider's answers.
pub const MIN_LEN: usize = 6;

/// The tenant integration's id and the secret field `field`, when the caller administers
/// the tenant; 403 / 404 otherwise.
async fn target(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
    field: &str,
) -> Result<(Uuid, SecretField)> {
    let row = sqlx::query!(
        r#"select t.id, p.config_schema, t.config, t.base_url,
                  public.is_tenant_admin(t.tenant_id) as "admin!"
           from public.tenant_integrations t
           join public.integration_providers p on p.id = t.provider_id
           where t.tenant_id = $1 and p.slug = $2"#,
        tenant_id,
        slug
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::NotFound(model::INTEGRATION_NOT_FOUND.into()))?;
    if !row.admin {
        return Err(Error::Forbidden(
            "Apenas administradores da organização podem alterar credenciais.".into(),
        ));
    }
    let field = secret_fields(&row.config_schema)
        .into_iter()
        .find(|f| f.key == field)
        .ok_or_else(|| {
            Error::Invalid("Este campo não é uma credencial desta integração.".into())
        })?;
    // A credential belongs to the API address it is given for (moving the address removes
    // it): without one, there is nothing to give it for yet.
    let config = crate::integrations::effective_config(row.config, &row.base_url);
    let url = config.get("base_url").and_then(serde_json::Value::as_str);
    if !url.is_some_and(crate::config_form::plain_origin) {
        return Err(Error::Conflict(
            "Configure a URL da API antes de cadastrar a credencial.".into(),
        ));
    }
    // The vault names fields as the catalog should (`^[a-z][a-z0-9_]{0,63}$`); a catalog
    // that does not is refused clearly rather than by the table's check constraint.
    let valid = field.key.len() <= 64
        && field.key.starts_with(|c: char| c.is_ascii_lowercase())
        && field
            .key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(Error::Invalid(
            "O catálogo deste provedor nomeia esta credencial de forma inválida.".into(),
        ));
    }
    Ok((row.id, field))
}

/// What is wrong with a submitted value (already trimmed), in pt-BR.
fn check_value(value: &str) -> Option<&'static str> {
    let chars = value.chars().count();
    if value.is_empty() {
        Some("Informe a credencial.")
    } else if chars < MIN_LEN {
        Some("Credencial curta demais (mínimo de 6 caracteres).")
    } else if chars > MAX_LEN {
        Some("Credencial longa demais (máximo de 4096 caracteres).")
    } else if value.chars().any(char::is_control) {
        Some("A credencial contém caracteres inválidos (quebras de linha ou de controle).")
    } else {
        None
    }
}

/// Stores (or replaces) a credential. A bad value is a field error; nothing is written.
pub async fn set(
    tx: &mut Transaction<'static, Postgres>,
    keyring: &Keyring,
    tenant_id: Uuid,
    slug: &str,
    field: &str,
    value: SecretString,
    actor: &Actor,
) -> Result<SaveOutcome> {
    let (id, f) = target(tx, tenant_id, slug, field).await?;
    // A pasted value often brings a line break or spaces around it.
    let trimmed = SecretString::from(value.expose_secret().trim().to_owned());
    drop(value);
    if let Some(message) = check_value(trimmed.expose_secret()) {
        return Ok(SaveOutcome {
            saved: false,
            errors: vec![FieldError {
                field: f.key,
                message: message.into(),
            }],
        });
    }
    let replaced = store::list(tx, id).await?.iter().any(|s| s.field == f.key);
    store::put(tx, keyring, id, &f.key, &trimmed, actor).await?;
    audit::record(
        tx,
        actor,
        tenant_id,
        Some(slug),
        Action::SecretSet,
        json!({"field": f.key, "title": f.title, "replaced": replaced}),
    )
    .await?;
    Ok(SaveOutcome {
        saved: true,
        errors: Vec::new(),
    })
}

/// Removes a credential; whether there was one. A required credential's removal leaves the
/// integration as it is (its next run fails with "credencial não configurada").
pub async fn remove(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    slug: &str,
    field: &str,
    actor: &Actor,
) -> Result<bool> {
    let (id, f) = target(tx, tenant_id, slug, field).await?;
    let removed = store::remove(tx, id, &f.key).await?;
    if removed {
        audit::record(
            tx,
            actor,
            tenant_id,
            Some(slug),
            Action::SecretRemoved,
            json!({"field": f.key, "title": f.title}),
        )
        .await?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_without_being_echoed() {
        assert!(check_value("").is_some());
        assert!(check_value("abc12").is_some(), "too short");
        assert!(check_value("abc\ndef").is_some());
        assert!(check_value(&"x".repeat(MAX_LEN + 1)).is_some());
        assert!(check_value("sbx_token-123").is_none());
        assert!(!check_value("ab\ncd").unwrap_or_default().contains("ab"));
    }
}
