//! `/integracoes` (seed: Integracoes.tsx): the integrations of the current tenant.

use leptos::prelude::*;
use leptos_meta::Title;
use model::{category_label, relative_time_pt, IntegrationSummary, SessionUser};

use crate::components::{error_text, AppHeader, ErrorBox, RequireUser, StatusBadge};

/// The integrations of the tenant chosen in the header, read under row-level security.
#[server(endpoint = "list-integrations")]
pub async fn list_integrations() -> Result<Vec<IntegrationSummary>, ServerFnError> {
    use crate::ssr;
    let (state, claims, user) = ssr::caller_session().await?;
    let Some(tenant) = user.current_tenant else {
        return Ok(Vec::new());
    };
    let mut tx = backend::scope::begin_as(&state.pool, &claims)
        .await
        .map_err(|e| ssr::fail(e.into()))?;
    let list = backend::integrations::list_for_tenant(&mut tx, tenant.id)
        .await
        .map_err(|e| ssr::fail(e.into()))?;
    tx.commit().await.map_err(|e| ssr::fail(e.into()))?;
    Ok(list)
}

/// Turns an integration of the current tenant on or off (tenant admins and global admins).
#[server(endpoint = "set-integration-enabled")]
pub async fn set_integration_enabled(slug: String, enabled: bool) -> Result<(), ServerFnError> {
    use crate::ssr;
    let (state, claims, user) = ssr::caller_session().await?;
    let tenant = match (&user.current_tenant, user.can_configure()) {
        (Some(t), true) => t.id,
        _ => {
            return Err(ssr::fail(backend::Error::Forbidden(
                "Apenas administradores da organização podem ativar ou desativar integrações."
                    .into(),
            )))
        }
    };
    let mut tx = backend::scope::begin_as(&state.pool, &claims)
        .await
        .map_err(|e| ssr::fail(e.into()))?;
    backend::integrations::set_enabled(&mut tx, tenant, &slug, enabled)
        .await
        .map_err(ssr::fail)?;
    tx.commit().await.map_err(|e| ssr::fail(e.into()))?;
    Ok(())
}

#[component]
pub fn IntegracoesPage() -> impl IntoView {
    view! {
        <Title text="Integrações · Portal Contmax"/>
        <RequireUser let:user>
            <Integracoes user/>
        </RequireUser>
    }
}

#[component]
fn Integracoes(user: SessionUser) -> impl IntoView {
    let toggle = ServerAction::<SetIntegrationEnabled>::new();
    let list = Resource::new(move || toggle.version().get(), |_| list_integrations());
    let can_configure = user.can_configure();
    view! {
        <AppHeader user/>
        <main class="page">
            <nav class="breadcrumb" aria-label="Navegação">
                <a href="/">"Início"</a>
                <span aria-hidden="true">" / "</span>
                <span>"Integrações"</span>
            </nav>
            <h1>"Integrações"</h1>
            {move || {
                toggle
                    .value()
                    .get()
                    .and_then(Result::err)
                    .map(|e| view! { <ErrorBox message=error_text(&e)/> })
            }}
            <Suspense fallback=|| view! { <p class="loading" role="status">"Carregando integrações…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(items) if items.is_empty() => view! {
                            <p class="empty">
                                "Nenhuma integração configurada para esta organização. "
                                "Peça a um administrador para ativar uma integração do catálogo."
                            </p>
                        }
                        .into_any(),
                        Ok(items) => view! {
                            <ul class="integration-grid" aria-label="Integrações">
                                {items
                                    .into_iter()
                                    .map(|i| view! { <IntegrationCard item=i toggle can_configure/> })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn IntegrationCard(
    item: IntegrationSummary,
    toggle: ServerAction<SetIntegrationEnabled>,
    can_configure: bool,
) -> impl IntoView {
    let status = item.status();
    let enabled = item.is_enabled;
    let slug = item.slug.clone();
    let name = item.name.clone();
    let category = item
        .category
        .as_deref()
        .map(category_label)
        .unwrap_or("—")
        .to_owned();
    let last_run = match (item.last_run_seconds_ago, item.last_run.clone()) {
        (Some(secs), Some(exact)) => view! {
            <time datetime=exact.clone() title=exact>{relative_time_pt(secs)}</time>
        }
        .into_any(),
        _ => view! { <span>"—"</span> }.into_any(),
    };
    view! {
        <li class="integration-card" data-slug=item.slug.clone()>
            <div class="card-head">
                <h2>{item.name.clone()}</h2>
                <StatusBadge status disabled=!item.is_enabled/>
            </div>
            <p class="muted">{category}</p>
            <p class="last-run">"Última execução: " {last_run}</p>
            {can_configure.then(|| view! {
                <ActionForm action=toggle attr:class="card-actions">
                    <input type="hidden" name="slug" value=slug.clone()/>
                    <input type="hidden" name="enabled" value=(!enabled).to_string()/>
                    <button
                        type="submit"
                        class="btn btn-small"
                        disabled=move || toggle.pending().get()
                        aria-label=format!("{} {}", if enabled { "Desativar" } else { "Ativar" }, name)
                    >
                        {if enabled { "Desativar" } else { "Ativar" }}
                    </button>
                </ActionForm>
            })}
        </li>
    }
}
