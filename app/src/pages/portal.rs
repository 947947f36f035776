//! The portal home (seed: Portal.tsx): the module grid of the current tenant. A module
//! leads to its page through `MODULE_ROUTES`.

use leptos::prelude::*;
use leptos_meta::Title;
use model::{ModuleCard, SessionUser};

use crate::components::{error_text, AppHeader, ErrorBox, LucideIcon, RequireUser};

/// The active modules of the tenant chosen in the header.
#[server(endpoint = "portal-modules")]
pub async fn portal_modules() -> Result<Vec<ModuleCard>, ServerFnError> {
    use crate::ssr;
    let (_, _, user, mut tx) = ssr::session_scope().await?;
    let tenant = user.current_tenant.map(|t| t.id).unwrap_or_default();
    let modules = backend::portal::modules_for_tenant(&mut tx, tenant)
        .await
        .map_err(|e| ssr::fail(e.into()))?;
    ssr::end_read(tx);
    Ok(modules)
}

#[component]
pub fn PortalHome() -> impl IntoView {
    view! {
        <Title text="Início · Portal Contmax"/>
        <RequireUser let:user>
            <Portal user/>
        </RequireUser>
    }
}

/// Whether a module matches the filter typed by the user (name or description, any case).
fn matches(module: &ModuleCard, filter: &str) -> bool {
    let filter = filter.trim().to_lowercase();
    filter.is_empty()
        || module.nome.to_lowercase().contains(&filter)
        || module
            .descricao
            .as_deref()
            .is_some_and(|d| d.to_lowercase().contains(&filter))
}

#[component]
fn Portal(user: SessionUser) -> impl IntoView {
    let modules = Resource::new(|| (), |_| portal_modules());
    let filter = RwSignal::new(String::new());
    let tenant = user
        .current_tenant
        .as_ref()
        .map(|t| t.nome.clone())
        .unwrap_or_default();
    view! {
        <AppHeader user=user.clone()/>
        <main class="page">
            <div class="page-title">
                <h1>"Módulos"</h1>
                <p class="muted">{format!("Organização: {tenant}")}</p>
            </div>
            <div class="field field-inline">
                <label for="module-filter">"Filtrar módulos"</label>
                <input
                    id="module-filter"
                    type="search"
                    placeholder="Digite para filtrar"
                    prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev))
                />
            </div>
            <Suspense fallback=|| view! { <p class="loading" role="status">"Carregando módulos…"</p> }>
                {move || Suspend::new(async move {
                    match modules.await {
                        Ok(list) => view! { <ModuleGrid modules=list filter/> }.into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn ModuleGrid(modules: Vec<ModuleCard>, filter: RwSignal<String>) -> impl IntoView {
    let all = StoredValue::new(modules.clone());
    let none_match = move || all.with_value(|m| !m.iter().any(|m| matches(m, &filter.get())));
    let cards = modules
        .into_iter()
        .map(|m| {
            let hidden = {
                let m = m.clone();
                move || !matches(&m, &filter.get())
            };
            let body = view! {
                <LucideIcon name=m.icone.clone() fallback=m.nome.chars().next().unwrap_or('•').to_string() class="module-icon"/>
                <span class="module-name">{m.nome.clone()}</span>
                <span class="module-desc">{m.descricao.clone().unwrap_or_default()}</span>
            };
            let inner = match m.href() {
                Some(href) => view! { <a class="module-link" href=href>{body}</a> }.into_any(),
                None => view! {
                    <div class="module-link module-soon" aria-disabled="true">
                        {body}
                        <span class="badge badge-muted">"Em breve"</span>
                    </div>
                }
                .into_any(),
            };
            view! {
                <li class="module-card" class:hidden=hidden data-slug=m.slug.clone()>{inner}</li>
            }
        })
        .collect_view();
    view! {
        <ul class="module-grid" aria-label="Módulos do portal">{cards}</ul>
        <Show when=none_match>
            <p class="empty">"Nenhum módulo encontrado para esse filtro."</p>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(nome: &str, descricao: Option<&str>) -> ModuleCard {
        ModuleCard {
            id: uuid::Uuid::nil(),
            nome: nome.into(),
            slug: nome.to_lowercase(),
            descricao: descricao.map(Into::into),
            icone: "Settings".into(),
        }
    }

    #[test]
    fn the_filter_matches_name_or_description_ignoring_case() {
        let m = module("Integrações", Some("Acessórias e OneCode"));
        assert!(matches(&m, ""));
        assert!(matches(&m, "INTEG"));
        assert!(matches(&m, "onecode"));
        assert!(!matches(&m, "financeiro"));
    }
}
