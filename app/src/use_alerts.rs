//! Alerts and auto-pause as the pages use them: *Retomar*, the header's notices, and the
//! tenant's outgoing alert webhook (the dashboard's *Alertas* panel).

use leptos::prelude::*;
use model::{AlertWebhook, Notices};

#[cfg(feature = "ssr")]
use crate::ssr;

/// *Retomar*: lifts the pause of an integration of the current tenant (tenant admins).
#[server(endpoint = "resume-integration")]
pub async fn resume_integration(slug: String) -> Result<(), ServerFnError> {
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    let actor = ssr::actor(&user).await;
    backend::alerts::resume(&mut tx, tenant, &slug, &actor)
        .await
        .map_err(ssr::fail)?;
    ssr::commit(tx).await
}

/// The header's notices for the current tenant (empty for anyone but its admins).
#[server(endpoint = "notices")]
pub async fn load_notices() -> Result<Notices, ServerFnError> {
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    let notices = backend::alerts::notices::list(&mut tx, tenant, user.id)
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    Ok(notices)
}

/// Marks the current tenant's notices up to `up_to` (the newest its list showed) as seen by
/// the caller (tenant admins).
#[server(endpoint = "notices-seen")]
pub async fn mark_notices_seen(up_to: i64) -> Result<(), ServerFnError> {
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    if !user.can_configure() {
        ssr::commit(tx).await?;
        return Ok(());
    }
    backend::alerts::notices::mark_seen(&mut tx, tenant, user.id, up_to)
        .await
        .map_err(ssr::fail)?;
    ssr::commit(tx).await
}

/// The tenant's alert webhook as its admins see it (403 for anyone else).
#[server(endpoint = "alert-webhook")]
pub async fn load_alert_webhook() -> Result<AlertWebhook, ServerFnError> {
    let (_, _, tenant, mut tx) = ssr::tenant_scope().await?;
    let status = backend::alerts::webhook::status(&mut tx, tenant)
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    Ok(status)
}

/// What saving the webhook did: saved (with the new secret, shown once), or the address's
/// error in pt-BR.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum WebhookSaved {
    Saved(AlertWebhook),
    Invalid(String),
}

/// Sets or replaces the tenant's alert webhook (tenant admins); a new signing secret each
/// time.
#[server(endpoint = "save-alert-webhook")]
pub async fn save_alert_webhook(url: String) -> Result<WebhookSaved, ServerFnError> {
    let (state, user, tenant, mut tx) = ssr::tenant_scope().await?;
    let actor = ssr::actor(&user).await;
    match backend::alerts::webhook::set(&mut tx, &state.keyring, tenant, &url, &actor)
        .await
        .map_err(ssr::fail)?
    {
        Ok(saved) => {
            ssr::commit(tx).await?;
            Ok(WebhookSaved::Saved(saved))
        }
        Err(field) => Ok(WebhookSaved::Invalid(field.message)),
    }
}

/// Removes the tenant's alert webhook (tenant admins).
#[server(endpoint = "remove-alert-webhook")]
pub async fn remove_alert_webhook() -> Result<(), ServerFnError> {
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    let actor = ssr::actor(&user).await;
    backend::alerts::webhook::remove(&mut tx, tenant, &actor)
        .await
        .map_err(ssr::fail)?;
    ssr::commit(tx).await
}

/// *Enviar teste*: a test message to the webhook now; pt-BR: sent, or why not.
#[server(endpoint = "test-alert-webhook")]
pub async fn test_alert_webhook() -> Result<String, ServerFnError> {
    let (state, user, tenant, tx) = ssr::tenant_scope().await?;
    // Admins only, before the tenant's quota is spent (staff must not use it up).
    if !user.can_configure() {
        return Err(ssr::fail(backend::Error::Forbidden(
            "Apenas administradores da organização podem configurar alertas.".into(),
        )));
    }
    // A burst of 3, then one every 10 s per tenant (as *Testar conexão*).
    state
        .check_limiter
        .check(tenant, "#alert-webhook")
        .map_err(ssr::fail)?;
    // The caller's transaction ends inside, before the message is posted.
    let sent =
        backend::alerts::webhook::send_test(tx, &state.pool, &state.keyring, &state.http, tenant)
            .await
            .map_err(ssr::fail)?;
    Ok(match sent {
        Ok(()) => "Mensagem de teste enviada.".into(),
        Err(why) => format!("Não foi possível enviar: {why}."),
    })
}
