//! The tenant's outgoing alert webhook.
//!
//! - **Stored** in `tenant_alert_webhooks`, the address and a signing secret each sealed by
//!   the vault's keyring (the address of a Slack, Teams or Google Chat webhook is itself a
//!   credential); no client role reads the table. The form learns only the host and when
//!   and by whom it was set; the secret is shown once, in the answer of the save that made
//!   it.
//! - **Checked** like a provider's address ([`crate::net_guard`]): `https://` to a public
//!   address, judged again at connect time and on every redirect.
//! - **Sent** by the queue's `deliver_alert` job, queued with the notice in the engine's
//!   transaction, retried by the queue (8 attempts) when the receiver fails.
//! - **Body**: `{"text": "…"}`, which Slack, Microsoft Teams and Google Chat incoming
//!   webhooks all accept (Google Chat refuses unknown fields, so the details travel in
//!   headers): `X-Contmax-Event` (`integration.paused`, `integration.recovered`, `test`),
//!   `X-Contmax-Delivery` (the notice's id), `X-Contmax-Timestamp` (Unix seconds) and
//!   `X-Contmax-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the
//!   scheme of Stripe and GitHub, so a receiver of its own can check both the sender and
//!   the freshness.

use std::time::Duration;

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::OsRng;
use hmac::{Hmac, Mac};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::audit::{self, Action, Actor};
use crate::net_guard::NetPolicy;
use crate::scope::{begin_service, elevate, restore_role};
use crate::vault::{Keyring, Sealed};
use crate::{Error, Result};
use model::{notice_message, AlertWebhook, FieldError, NoticeKind};

/// The vault's field names for the two sealed values (associated data with the tenant).
const URL_FIELD: &str = "alert_webhook_url";
const SECRET_FIELD: &str = "alert_webhook_secret";
/// The longest address accepted.
const MAX_URL: usize = 2048;
/// How long a receiver may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// `sha256=<hex>` of `"<timestamp>.<body>"` under `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A fresh signing secret: `whsec_` and 32 random bytes in hex.
fn new_secret() -> SecretString {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    SecretString::from(format!("whsec_{}", hex::encode(bytes)))
}

async fn require_admin(tx: &mut Transaction<'static, Postgres>, tenant_id: Uuid) -> Result<()> {
    crate::scope::require_tenant_admin(
        tx,
        tenant_id,
        "Apenas administradores da organização podem configurar alertas.",
    )
    .await
}

/// What the tenant's admins may know of the webhook (403 for anyone else).
pub async fn status(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
) -> Result<AlertWebhook> {
    require_admin(tx, tenant_id).await?;
    let previous = elevate(tx).await?;
    let row = sqlx::query!(
        r#"select url_host, set_at, set_by_name from public.tenant_alert_webhooks
           where tenant_id = $1"#,
        tenant_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    restore_role(tx, &previous).await?;
    Ok(match row {
        None => AlertWebhook::default(),
        Some(r) => AlertWebhook {
            configured: true,
            host: Some(r.url_host),
            set_label: Some(set_label(r.set_at, r.set_by_name)),
            new_secret: None,
        },
    })
}

/// Checks an address as the form sends it; the error is the field's, in pt-BR.
pub async fn check_address(raw: &str) -> std::result::Result<Url, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("Informe o endereço do webhook (https://…).".into());
    }
    if raw.len() > MAX_URL {
        return Err(format!("O endereço pode ter até {MAX_URL} caracteres."));
    }
    let url = Url::parse(raw)
        .ok()
        .filter(|u| u.host_str().is_some_and(|h| !h.is_empty()))
        .ok_or("Informe a URL completa, como https://hooks.slack.com/services/….")?;
    // As stored: percent-encoding can make the address longer than it was typed.
    if url.as_str().len() > MAX_URL || url.host_str().is_some_and(|h| h.len() > 253) {
        return Err(format!("O endereço pode ter até {MAX_URL} caracteres."));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("O endereço não pode conter usuário ou senha.".into());
    }
    NetPolicy::process()
        .check_destination(&url)
        .await
        .map_err(|e| e.field_message().to_owned())?;
    Ok(url)
}

/// Sets (or replaces) the tenant's webhook, with a new signing secret, in the caller's
/// transaction (tenant admins). A wrong address is a field error (`url`), nothing saved.
/// The answer carries the new secret, the one time it is shown.
pub async fn set(
    tx: &mut Transaction<'static, Postgres>,
    keyring: &Keyring,
    tenant_id: Uuid,
    raw_url: &str,
    actor: &Actor,
) -> Result<std::result::Result<AlertWebhook, FieldError>> {
    require_admin(tx, tenant_id).await?;
    let url = match check_address(raw_url).await {
        Ok(u) => u,
        Err(message) => {
            return Ok(Err(FieldError {
                field: "url".into(),
                message,
            }))
        }
    };
    let host = url.host_str().unwrap_or_default().to_owned();
    let secret = new_secret();
    let seal = |field: &str, value: &SecretString| {
        keyring
            .seal(tenant_id, field, value)
            .map_err(|e| Error::Invalid(e.to_string()))
    };
    let sealed_url = seal(URL_FIELD, &SecretString::from(url.to_string()))?;
    let sealed_secret = seal(SECRET_FIELD, &secret)?;
    // Both sealed under the current key (the same id).
    let previous = elevate(tx).await?;
    sqlx::query!(
        r#"insert into public.tenant_alert_webhooks
             (tenant_id, url_host, url_ciphertext, url_nonce, secret_ciphertext, secret_nonce,
              key_id, set_at, set_by, set_by_name)
           values ($1, $2, $3, $4, $5, $6, $7, now(), $8, $9)
           on conflict (tenant_id) do update
             set url_host = excluded.url_host, url_ciphertext = excluded.url_ciphertext,
                 url_nonce = excluded.url_nonce, secret_ciphertext = excluded.secret_ciphertext,
                 secret_nonce = excluded.secret_nonce, key_id = excluded.key_id,
                 set_at = now(), set_by = excluded.set_by, set_by_name = excluded.set_by_name"#,
        tenant_id,
        host,
        sealed_url.ciphertext,
        sealed_url.nonce,
        sealed_secret.ciphertext,
        sealed_secret.nonce,
        sealed_url.key_id,
        actor.user_id,
        actor.display_name()
    )
    .execute(&mut **tx)
    .await?;
    restore_role(tx, &previous).await?;
    audit::record(
        tx,
        actor,
        tenant_id,
        None,
        Action::AlertWebhookSet,
        serde_json::json!({ "host": host }),
    )
    .await?;
    Ok(Ok(AlertWebhook {
        configured: true,
        host: Some(host),
        set_label: Some(set_label(chrono::Utc::now(), actor.display_name())),
        new_secret: Some(secret.expose_secret().to_owned()),
    }))
}

/// "configurado em 05/12/2026 10:31 por Ana" (Brasília time).
fn set_label(at: chrono::DateTime<chrono::Utc>, by: Option<String>) -> String {
    let at = crate::config_form::brasilia(at);
    match by {
        Some(by) => format!("configurado em {at} por {by}"),
        None => format!("configurado em {at}"),
    }
}

/// Removes the tenant's webhook (tenant admins); whether there was one.
pub async fn remove(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    actor: &Actor,
) -> Result<bool> {
    require_admin(tx, tenant_id).await?;
    let previous = elevate(tx).await?;
    let n = sqlx::query!(
        "delete from public.tenant_alert_webhooks where tenant_id = $1",
        tenant_id
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    restore_role(tx, &previous).await?;
    if n > 0 {
        audit::record(
            tx,
            actor,
            tenant_id,
            None,
            Action::AlertWebhookRemoved,
            serde_json::json!({}),
        )
        .await?;
    }
    Ok(n > 0)
}

/// Queues the delivery of notice `notice_id` when the tenant has a webhook (the engine's
/// service transaction).
pub(crate) async fn enqueue_if_configured(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    notice_id: i64,
) -> Result<()> {
    sqlx::query!(
        r#"select public.enqueue_alert_delivery($2)
           from public.tenant_alert_webhooks where tenant_id = $1"#,
        tenant_id,
        notice_id
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(())
}

/// The webhook's address and secret, opened (a service transaction).
async fn open(
    tx: &mut Transaction<'static, Postgres>,
    keyring: &Keyring,
    tenant_id: Uuid,
) -> Result<Option<(SecretString, SecretString)>> {
    let Some(r) = sqlx::query!(
        r#"select url_ciphertext, url_nonce, secret_ciphertext, secret_nonce, key_id
           from public.tenant_alert_webhooks where tenant_id = $1"#,
        tenant_id
    )
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let open = |field: &str, ciphertext: Vec<u8>, nonce: Vec<u8>| {
        keyring
            .open(
                tenant_id,
                field,
                &Sealed {
                    ciphertext,
                    nonce,
                    key_id: r.key_id.clone(),
                },
            )
            .map_err(|e| Error::Internal(format!("alert webhook of {tenant_id}: {e}")))
    };
    Ok(Some((
        open(URL_FIELD, r.url_ciphertext, r.url_nonce)?,
        open(SECRET_FIELD, r.secret_ciphertext, r.secret_nonce)?,
    )))
}

/// Why a delivery failed, without the address (it carries the receiver's token).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("o webhook respondeu HTTP {0}")]
    Status(u16),
    /// Whatever the reason (refused by the guard, no such host, closed port, TLS, time-out):
    /// the detail is for the log only.
    #[error("não foi possível conectar ao endereço do webhook")]
    Unreachable(String),
    #[error(transparent)]
    Backend(#[from] Error),
}

/// Posts `{"text"}` to `url`, signed.
async fn post(
    http: &reqwest::Client,
    url: &SecretString,
    secret: &SecretString,
    event: &str,
    delivery: &str,
    text: &str,
) -> std::result::Result<(), DeliveryError> {
    let url = Url::parse(url.expose_secret())
        .map_err(|_| DeliveryError::Unreachable("stored address does not parse".into()))?;
    NetPolicy::process()
        .check_url(&url)
        .map_err(|e| DeliveryError::Unreachable(e.to_string()))?;
    let body = serde_json::to_vec(&serde_json::json!({ "text": text }))
        .unwrap_or_else(|_| unreachable!("a JSON object of a string"));
    let timestamp = chrono::Utc::now().timestamp();
    let response = http
        .post(url)
        .timeout(SEND_TIMEOUT)
        .header("content-type", "application/json")
        .header("x-contmax-event", event)
        .header("x-contmax-delivery", delivery)
        .header("x-contmax-timestamp", timestamp.to_string())
        .header(
            "x-contmax-signature",
            signature(secret.expose_secret(), timestamp, &body),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| DeliveryError::Unreachable(crate::net_guard::causes(&e.without_url())))?;
    let code = response.status();
    if code.is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Status(code.as_u16()))
    }
}

/// The first words of every message: where it comes from.
fn prefix(tenant_name: &str) -> String {
    format!("[Portal Contmax · {}]", inert(tenant_name))
}

/// Text from a tenant or a provider made inert for the chat apps: `<…>` is how Slack and
/// Google Chat write mentions (`<!channel>`, `<users/all>`) and disguised links
/// (`<https://…|texto>`), so the angle brackets become look-alikes.
fn inert(text: &str) -> String {
    text.replace('<', "‹").replace('>', "›")
}

/// A link to the integration's page, when the server knows its public address.
fn link(provider_slug: &str) -> Option<String> {
    let base = std::env::var("PUBLIC_URL").ok()?;
    let base = base.trim().trim_end_matches('/');
    (!base.is_empty()).then(|| format!("{base}/integracoes/{provider_slug}"))
}

/// Sends notice `notice_id` to its tenant's webhook (the queue's `deliver_alert` job).
/// Nothing to do when the notice or the webhook is gone. An error makes the queue try
/// again later.
pub async fn deliver(
    pool: &PgPool,
    keyring: &Keyring,
    http: &reqwest::Client,
    notice_id: i64,
) -> std::result::Result<(), DeliveryError> {
    let mut tx = begin_service(pool).await.map_err(Error::from)?;
    let Some(n) = sqlx::query!(
        r#"select n.tenant_id, n.provider_slug, n.kind, n.failures, n.last_error,
                  o.nome as tenant_name, coalesce(p.name, n.provider_slug) as "integration!"
           from public.integration_notices n
           join public.organizacoes o on o.id = n.tenant_id
           left join public.integration_providers p on p.slug = n.provider_slug
           where n.id = $1"#,
        notice_id
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(Error::from)?
    else {
        return Ok(());
    };
    let Some((url, secret)) = open(&mut tx, keyring, n.tenant_id).await? else {
        return Ok(());
    };
    tx.commit().await.map_err(Error::from)?;
    let Some(kind) = NoticeKind::parse(&n.kind) else {
        return Ok(());
    };
    let mut text = format!(
        "{} {}",
        prefix(&n.tenant_name),
        inert(&notice_message(
            kind,
            &n.integration,
            n.failures,
            n.last_error.as_deref()
        ))
    );
    if let Some(l) = link(&n.provider_slug) {
        text.push_str(&format!(" {l}"));
    }
    let event = match kind {
        NoticeKind::Paused => "integration.paused",
        NoticeKind::Recovered => "integration.recovered",
    };
    post(http, &url, &secret, event, &notice_id.to_string(), &text).await
}

/// *Enviar teste*: a test message to the tenant's webhook, now (tenant admins). The answer
/// is pt-BR: sent, or why not (never the address).
pub async fn send_test(
    mut tx: Transaction<'static, Postgres>,
    pool: &PgPool,
    keyring: &Keyring,
    http: &reqwest::Client,
    tenant_id: Uuid,
) -> Result<std::result::Result<(), String>> {
    require_admin(&mut tx, tenant_id).await?;
    let tenant_name = sqlx::query_scalar!(
        "select nome from public.organizacoes where id = $1",
        tenant_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .unwrap_or_default();
    // Ended before the post: a slow receiver (up to the client's timeout) must not hold
    // a pooled connection and an open transaction.
    tx.commit().await?;
    let mut service = begin_service(pool).await?;
    let opened = open(&mut service, keyring, tenant_id).await?;
    service.commit().await?;
    let Some((url, secret)) = opened else {
        return Err(Error::Conflict(
            "Nenhum webhook de alertas configurado.".into(),
        ));
    };
    let text = format!(
        "{} Teste de alerta: este canal receberá os avisos de integrações pausadas e recuperadas.",
        prefix(&tenant_name)
    );
    Ok(
        match post(http, &url, &secret, "test", "test", &text).await {
            Ok(()) => Ok(()),
            Err(DeliveryError::Backend(e)) => return Err(e),
            Err(e) => {
                tracing::info!(%tenant_id, error = ?e, "alert webhook test failed");
                Err(e.to_string())
            }
        },
    )
}

/// Re-seals every webhook not under the keyring's current key (`server secrets rotate`),
/// in the rotation's transaction: how many were rotated and which tenants failed.
pub async fn rotate(
    tx: &mut Transaction<'static, Postgres>,
    keyring: &Keyring,
) -> Result<(u64, Vec<(Uuid, crate::vault::VaultError)>)> {
    let rows = sqlx::query!(
        r#"select tenant_id, url_ciphertext, url_nonce, secret_ciphertext, secret_nonce, key_id
           from public.tenant_alert_webhooks
           where key_id <> $1
           for update"#,
        keyring.current_id()
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut rotated = 0;
    let mut failed = Vec::new();
    for r in rows {
        let reseal = |field: &str, ciphertext: Vec<u8>, nonce: Vec<u8>| {
            keyring
                .open(
                    r.tenant_id,
                    field,
                    &Sealed {
                        ciphertext,
                        nonce,
                        key_id: r.key_id.clone(),
                    },
                )
                .and_then(|plain| keyring.seal(r.tenant_id, field, &plain))
        };
        let both = reseal(URL_FIELD, r.url_ciphertext, r.url_nonce).and_then(|u| {
            reseal(SECRET_FIELD, r.secret_ciphertext, r.secret_nonce).map(|s| (u, s))
        });
        match both {
            Ok((u, s)) => {
                sqlx::query!(
                    r#"update public.tenant_alert_webhooks
                       set url_ciphertext = $2, url_nonce = $3, secret_ciphertext = $4,
                           secret_nonce = $5, key_id = $6
                       where tenant_id = $1"#,
                    r.tenant_id,
                    u.ciphertext,
                    u.nonce,
                    s.ciphertext,
                    s.nonce,
                    u.key_id
                )
                .execute(&mut **tx)
                .await?;
                rotated += 1;
            }
            Err(e) => failed.push((r.tenant_id, e)),
        }
    }
    Ok((rotated, failed))
}

#[cfg(test)]
mod tests {
    use super::signature;

    #[test]
    fn mentions_and_disguised_links_are_made_inert() {
        assert_eq!(
            super::prefix("<!channel> <https://evil.example|Contmax>"),
            "[Portal Contmax · ‹!channel› ‹https://evil.example|Contmax›]"
        );
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // The known answer, computed by OpenSSL:
        // printf '1700000000.{"text":"oi"}' | openssl dgst -sha256 -hmac whsec_test
        let s = signature("whsec_test", 1_700_000_000, br#"{"text":"oi"}"#);
        assert_eq!(
            s,
            "sha256=2d89de919d9717c7babc493f04df8abbd753c9029ed6feb078452933e8d348bc"
        );
        assert_ne!(
            s,
            signature("whsec_other", 1_700_000_000, br#"{"text":"oi"}"#)
        );
        assert_ne!(
            s,
            signature("whsec_test", 1_700_000_001, br#"{"text":"oi"}"#)
        );
    }
}
