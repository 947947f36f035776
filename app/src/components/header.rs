//! AppHeader: logo, the current tenant (with a switcher for users of several), the tenant
//! admins' notices, the user and the logout button.

use leptos::prelude::*;
use leptos_router::hooks::use_location;
use model::{SessionUser, TenantRef};

use crate::components::{error_text, NoticeBell};
use crate::session::{use_session, SearchTenants};

/// The logo and name, a link to the portal's home.
#[component]
pub fn Brand() -> impl IntoView {
    view! {
        <a class="brand" href="/">
            <span class="logo" aria-hidden="true">"C"</span>
            <span class="brand-name">"Portal Contmax"</span>
        </a>
    }
}

/// How long typing pauses before the suggestions are asked for.
const SEARCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(150);

/// A platform administrator's organization switcher: a field with the server's
/// suggestions as they type (`search_tenants`), sent by slug or by whole name.
#[component]
fn TenantSearch(current_slug: String) -> impl IntoView {
    let session = use_session();
    let location = use_location();
    // Asked when they pause typing, in the browser only: nothing to render on the server.
    let typed = RwSignal::new(String::new());
    let search = ServerAction::<SearchTenants>::new();
    let shown = RwSignal::new(Vec::<TenantRef>::new());
    // Answers may arrive out of order: only one for the text now in the field is shown.
    Effect::new(move |_| {
        if let Some(Ok(found)) = search.value().get() {
            if found.query == typed.get_untracked() {
                shown.set(found.tenants);
            }
        }
    });
    let on_input = move |ev: leptos::ev::Event| {
        let query = event_target_value(&ev);
        typed.set(query.clone());
        if query.trim().is_empty() {
            shown.set(Vec::new());
            return;
        }
        set_timeout(
            move || {
                // `try_`: the header may be gone by then (a switch re-renders it).
                if typed.try_get_untracked().is_some_and(|now| now == query) {
                    search.dispatch(SearchTenants { query });
                }
            },
            SEARCH_PAUSE,
        );
    };
    let options = move || {
        shown
            .get()
            .into_iter()
            .map(|t| view! { <option value=t.slug>{t.nome}</option> })
            .collect_view()
    };
    view! {
        <ActionForm action=session.switch_tenant attr:class="tenant-switch">
            <label for="tenant-select">"Organização"</label>
            <input
                id="tenant-select"
                name="slug"
                type="search"
                list="tenant-options"
                autocomplete="off"
                required
                placeholder="Buscar pelo nome"
                value=current_slug
                on:input=on_input
            />
            <datalist id="tenant-options">{options}</datalist>
            <input type="hidden" name="back_to" value=move || location.pathname.get()/>
            <button type="submit" class="btn btn-small">"Trocar"</button>
        </ActionForm>
        {move || {
            session
                .switch_tenant
                .value()
                .get()
                .and_then(Result::err)
                .map(|e| view! { <p class="tenant-error" role="alert">{error_text(&e)}</p> })
        }}
    }
}

/// `refresh`: bumped by a page when the header's notices may have changed (a run ended).
#[component]
pub fn AppHeader(
    user: SessionUser,
    #[prop(optional)] refresh: Option<RwSignal<u32>>,
) -> impl IntoView {
    let session = use_session();
    let location = use_location();
    let current = user.current_tenant.clone();
    let current_slug = current.as_ref().map(|t| t.slug.clone()).unwrap_or_default();
    let tenant_view = if user.is_global_admin {
        // Every organization, hundreds of them: found by searching, not listed.
        view! { <TenantSearch current_slug=current_slug/> }.into_any()
    } else if user.tenants.len() > 1 {
        let options = user
            .tenants
            .iter()
            .map(|t| {
                let selected = t.slug == current_slug;
                view! { <option value=t.slug.clone() selected=selected>{t.nome.clone()}</option> }
            })
            .collect_view();
        view! {
            <ActionForm action=session.switch_tenant attr:class="tenant-switch">
                <label for="tenant-select">"Organização"</label>
                <select id="tenant-select" name="slug">{options}</select>
                <input type="hidden" name="back_to" value=move || location.pathname.get()/>
                <button type="submit" class="btn btn-small">"Trocar"</button>
            </ActionForm>
        }
        .into_any()
    } else {
        let name = current
            .map(|t| t.nome)
            .unwrap_or_else(|| "Sem organização".to_owned());
        view! {
            <span class="tenant-name" data-testid="current-tenant">{name}</span>
        }
        .into_any()
    };
    let role = if user.is_global_admin {
        "Administrador da plataforma"
    } else if user.current_tenant.as_ref().is_some_and(|t| t.is_admin()) {
        "Administrador"
    } else {
        "Equipe"
    };
    view! {
        <header class="app-header">
            <Brand/>
            <div class="header-tenant">{tenant_view}</div>
            <div class="header-user">
                {user.can_configure().then(|| match refresh {
                    Some(r) => view! { <NoticeBell refresh=r/> }.into_any(),
                    None => view! { <NoticeBell/> }.into_any(),
                })}
                <span class="user">
                    <span class="user-name">{user.nome.clone()}</span>
                    <span class="user-role">{role}</span>
                </span>
                // A plain form (a full page load to the login page), placed before the
                // ActionForm: after it, the header's hydration failed now and then.
                <form method="post" action="/api/logout-all" class="logout-all">
                    <button type="submit" class="btn btn-ghost btn-small">
                        "Sair de todos" <span class="wide-only">" os dispositivos"</span>
                    </button>
                </form>
                <ActionForm action=session.logout attr:class="logout">
                    <button type="submit" class="btn btn-ghost">"Sair"</button>
                </ActionForm>
            </div>
        </header>
    }
}
