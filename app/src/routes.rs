//! The pages behind a session, each loaded by the browser only when it is visited: the
//! release build splits the wasm (`cargo leptos build --split`), so a first visit fetches
//! the shared code and its own page's, not every page's. The login page and the 404 stay
//! in the main module: they are what an anonymous visitor sees first.
//!
//! Each route has no data of its own to load beside its view (`data`): its panels'
//! resources are created by the page, as before, so the server renders and the browser
//! hydrates them in the same order. On the server nothing is split: `view` is a call.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use crate::pages::{
    auditoria::AuditoriaPage, empresas::EmpresasPage, integracao::IntegracaoPage,
    integracoes::IntegracoesPage, portal::PortalHome,
};

/// `/`: the portal's module grid.
pub struct PortalRoute;

#[lazy_route]
impl LazyRoute for PortalRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <PortalHome/> }.into_any()
    }
}

/// `/integracoes`: the dashboard.
pub struct IntegracoesRoute;

#[lazy_route]
impl LazyRoute for IntegracoesRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <IntegracoesPage/> }.into_any()
    }
}

/// `/integracoes/:slug`: one integration's page.
pub struct IntegracaoRoute;

#[lazy_route]
impl LazyRoute for IntegracaoRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <IntegracaoPage/> }.into_any()
    }
}

/// `/integracoes/auditoria`: the tenant's audit trail.
pub struct AuditoriaRoute;

#[lazy_route]
impl LazyRoute for AuditoriaRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <AuditoriaPage/> }.into_any()
    }
}

/// `/empresas`: the companies and their contacts.
pub struct EmpresasRoute;

#[lazy_route]
impl LazyRoute for EmpresasRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <EmpresasPage/> }.into_any()
    }
}
