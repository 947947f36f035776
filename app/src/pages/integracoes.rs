//! `/integracoes` (seed: Integracoes.tsx): the integrations of the current tenant.

use leptos::prelude::*;
use leptos_meta::Title;
use model::{category_label, relative_time_pt, IntegrationSummary, RunStatus, SessionUser};

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

/// *Executar*: starts a run of an integration of the current tenant through the
/// orchestrator (any member may run; a disabled or running integration is refused with
/// 409). Returns the execution id.
#[server(endpoint = "run-integration")]
pub async fn run_integration(slug: String) -> Result<String, ServerFnError> {
    use crate::ssr;
    use backend::runs::Claim;
    let (state, claims, user) = ssr::caller_session().await?;
    let Some(tenant) = user.current_tenant else {
        return Err(ssr::fail(backend::Error::NotFound(
            "Escolha uma organização para executar integrações.".into(),
        )));
    };
    let mut tx = backend::scope::begin_as(&state.pool, &claims)
        .await
        .map_err(|e| ssr::fail(e.into()))?;
    let claim = backend::engine::start_run(&mut tx, tenant.id, &slug, model::Trigger::Manual)
        .await
        .map_err(ssr::fail)?;
    match claim {
        Claim::Started(id) => {
            tx.commit().await.map_err(|e| ssr::fail(e.into()))?;
            Ok(id.to_string())
        }
        Claim::AlreadyRunning(_) => Err(ssr::fail(backend::Error::Conflict(
            "A integração já está em execução.".into(),
        ))),
    }
}

/// How often the page looks again while a run is going.
const POLL_MS: u64 = 2000;

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
    let run = ServerAction::<RunIntegration>::new();
    let poll = RwSignal::new(0u32);
    let list = Resource::new(
        move || (toggle.version().get(), run.version().get(), poll.get()),
        |_| list_integrations(),
    );
    let can_configure = user.can_configure();
    // While a run is going, look again every two seconds (in the browser only).
    let any_running = Memo::new(move |_| {
        list.get()
            .and_then(Result::ok)
            .is_some_and(|items| items.iter().any(|i| i.status() == Some(RunStatus::Running)))
    });
    Effect::new(move |_| {
        if any_running.get() {
            if let Ok(handle) = set_interval_with_handle(
                move || poll.update(|n| *n = n.wrapping_add(1)),
                std::time::Duration::from_millis(POLL_MS),
            ) {
                on_cleanup(move || handle.clear());
            }
        }
    });
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
            {move || {
                run.value()
                    .get()
                    .and_then(Result::err)
                    .map(|e| view! { <ErrorBox message=error_text(&e)/> })
            }}
            <Transition fallback=|| view! { <p class="loading" role="status">"Carregando integrações…"</p> }>
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
                                    .map(|i| view! { <IntegrationCard item=i toggle run can_configure/> })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn IntegrationCard(
    item: IntegrationSummary,
    toggle: ServerAction<SetIntegrationEnabled>,
    run: ServerAction<RunIntegration>,
    can_configure: bool,
) -> impl IntoView {
    let running = item.status() == Some(RunStatus::Running);
    let status = item.status();
    let enabled = item.is_enabled;
    let slug = item.slug.clone();
    let name = item.name.clone();
    let run_slug = item.slug.clone();
    let run_label = format!("Executar {}", item.name);
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
            <ActionForm action=run attr:class="card-actions">
                <input type="hidden" name="slug" value=run_slug/>
                <button
                    type="submit"
                    class="btn btn-small btn-primary"
                    disabled=move || !enabled || running || run.pending().get()
                    aria-label=run_label
                >
                    {if running { "Executando…" } else { "Executar" }}
                </button>
            </ActionForm>
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
