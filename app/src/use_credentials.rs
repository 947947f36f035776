//! Credentials, *Testar conexão*, adding an integration and the audit trail: the server
//! functions the detail page, the dashboard and `/integracoes/auditoria` share.
//! Credential values go one way only: from the form to the vault.

use leptos::prelude::*;
use model::{AuditPage, AuditPerson, CatalogProvider, ConnectionCheck, SaveOutcome};

#[cfg(feature = "ssr")]
use crate::ssr;

#[cfg(feature = "ssr")]
fn admins_only(user: &model::SessionUser, what: &str) -> Result<(), ServerFnError> {
    if user.can_configure() {
        Ok(())
    } else {
        Err(ssr::fail(backend::Error::Forbidden(format!(
            "Apenas administradores da organização podem {what}."
        ))))
    }
}

/// *Salvar* / *Substituir* a credential (tenant admins). A bad value is a field error.
#[server(endpoint = "set-secret")]
pub async fn set_integration_secret(
    slug: String,
    field: String,
    value: String,
) -> Result<SaveOutcome, ServerFnError> {
    let value = secrecy::SecretString::from(value);
    let (state, user, tenant, mut tx) = ssr::tenant_scope().await?;
    admins_only(&user, "alterar credenciais")?;
    let actor = ssr::actor(&user).await;
    let outcome = backend::credentials::set(
        &mut tx,
        &state.keyring,
        tenant,
        &slug,
        &field,
        value,
        &actor,
    )
    .await
    .map_err(ssr::fail)?;
    if outcome.saved {
        ssr::commit(tx).await?;
    }
    Ok(outcome)
}

/// *Remover* a credential (tenant admins).
#[server(endpoint = "remove-secret")]
pub async fn remove_integration_secret(slug: String, field: String) -> Result<(), ServerFnError> {
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    admins_only(&user, "alterar credenciais")?;
    let actor = ssr::actor(&user).await;
    backend::credentials::remove(&mut tx, tenant, &slug, &field, &actor)
        .await
        .map_err(ssr::fail)?;
    ssr::commit(tx).await
}

/// *Testar conexão* (tenant admins): one cheap authenticated call, never a sync.
#[server(endpoint = "test-connection")]
pub async fn test_connection(slug: String) -> Result<ConnectionCheck, ServerFnError> {
    let (state, claims, user) = ssr::caller_session().await?;
    admins_only(&user, "testar a conexão")?;
    let Some(tenant) = user.current_tenant.as_ref().map(|t| t.id) else {
        return Err(ssr::fail(backend::Error::NotFound(
            "Nenhuma organização escolhida.".into(),
        )));
    };
    let actor = ssr::actor(&user).await;
    state
        .tester()
        .run(&claims, &actor, tenant, &slug)
        .await
        .map_err(ssr::fail)
}

/// The catalog's providers the current tenant does not have yet (admins; empty for staff).
#[server(endpoint = "addable-providers")]
pub async fn addable_providers() -> Result<Vec<CatalogProvider>, ServerFnError> {
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    if !user.can_configure() {
        return Ok(Vec::new());
    }
    let list = backend::integrations::addable(&mut tx, tenant)
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    Ok(list)
}

/// *Adicionar*: the integration joins the tenant turned off, and its page opens on the
/// configuration.
#[server(endpoint = "add-integration")]
pub async fn add_integration(slug: String) -> Result<(), ServerFnError> {
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    admins_only(&user, "adicionar integrações")?;
    let actor = ssr::actor(&user).await;
    backend::integrations::add(&mut tx, tenant, &slug, &actor)
        .await
        .map_err(ssr::fail)?;
    ssr::commit(tx).await?;
    leptos_axum::redirect(&format!("/integracoes/{slug}#configuracao"));
    Ok(())
}

/// A page of the current tenant's audit trail (one integration's with `slug`), for tenant
/// admins and global admins; staff get 403.
#[server(endpoint = "audit-page")]
pub async fn load_audit_page(
    slug: Option<String>,
    action: Option<String>,
    person: Option<String>,
    before: Option<String>,
) -> Result<AuditPage, ServerFnError> {
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    admins_only(&user, "ver a auditoria")?;
    let q = model::AuditQuery {
        slug,
        action,
        person,
        before,
    };
    let page = backend::audit::page(&mut tx, tenant, &q)
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    Ok(page)
}

/// The people in the current tenant's audit trail (for the filter).
#[server(endpoint = "audit-people")]
pub async fn load_audit_people() -> Result<Vec<AuditPerson>, ServerFnError> {
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    admins_only(&user, "ver a auditoria")?;
    let people = backend::audit::people(&mut tx, tenant)
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    Ok(people)
}
