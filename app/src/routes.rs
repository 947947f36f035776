//! The pages behind a session, each loaded by the browser only when it is visited: the
//! release build splits the wasm (`cargo leptos build --split`), so a first visit fetches
//! the shared code and its own page's, not every page's. The login page and the 404 stay
//! in the main module: they are what an anonymous visitor sees first.
//!
//! Each route has no data of its own to load beside its view (`data`): its panels'
//! resources are created by the page, as before, so the server renders and the browser
//! hydrates them in the same order. On the server nothing is split: `view` is a call.
//!
//! [`ChunkPreloads`] names the served page's chunks in the document's head, so that the
//! browser fetches them beside the main module instead of after it.

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

/// The split point of the page served at `path`: the prefix of its `LazyRoute`'s view in
/// wasm-split's manifest (`__<route in snake case>_view_<hash>`). The same paths as `App`'s
/// routes; `None` for the pages in the main module.
pub fn split_point(path: &str) -> Option<&'static str> {
    let path = path.trim_end_matches('/');
    Some(match path {
        "" => "__portal_route_view_",
        "/integracoes" => "__integracoes_route_view_",
        "/integracoes/auditoria" => "__auditoria_route_view_",
        "/empresas" => "__empresas_route_view_",
        _ => match path.strip_prefix("/integracoes/") {
            Some(slug) if !slug.is_empty() && !slug.contains('/') => "__integracao_route_view_",
            _ => return None,
        },
    })
}

/// `<link rel="preload">` for the wasm chunks of the page being served, read from the
/// build's manifest (`ssr::split_chunks`). Leptos's integration means to add them for
/// the lazy views a render ran, but looks the manifest up outside the app's owner and
/// finds none. Server only: the head is not hydrated.
#[component]
pub fn ChunkPreloads(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        let pkg = format!("/{}", options.site_pkg_dir);
        use_context::<http::request::Parts>()
            .and_then(|parts| split_point(parts.uri.path()))
            .map(|point| crate::ssr::split_chunks(&options, point))
            .unwrap_or_default()
            .into_iter()
            .map(|chunk| {
                view! {
                    <link
                        rel="preload"
                        href=format!("{pkg}/{chunk}.wasm")
                        r#as="fetch"
                        r#type="application/wasm"
                        crossorigin=""
                    />
                }
            })
            .collect_view()
    }
    #[cfg(not(feature = "ssr"))]
    drop(options)
}

#[cfg(test)]
mod tests {
    use super::split_point;

    #[test]
    fn each_lazy_page_has_its_split_point_and_no_other_path_does() {
        assert_eq!(split_point("/"), Some("__portal_route_view_"));
        assert_eq!(
            split_point("/integracoes"),
            Some("__integracoes_route_view_")
        );
        assert_eq!(
            split_point("/integracoes/"),
            Some("__integracoes_route_view_")
        );
        assert_eq!(
            split_point("/integracoes/auditoria"),
            Some("__auditoria_route_view_")
        );
        assert_eq!(split_point("/empresas"), Some("__empresas_route_view_"));
        assert_eq!(
            split_point("/integracoes/acessorias"),
            Some("__integracao_route_view_")
        );
        assert_eq!(split_point("/login"), None);
        assert_eq!(split_point("/integracoes/a/b"), None);
        assert_eq!(split_point("/nada"), None);
    }
}
