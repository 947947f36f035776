//! The Leptos application: the HTML shell, the routes and their pages. Rendered on the
//! server (feature `ssr`) and hydrated in the browser (feature `hydrate`).

pub mod components;
pub mod live;
pub mod pages;
pub mod routes;
pub mod session;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod use_alerts;
pub mod use_contact_reviews;
pub mod use_credentials;
pub mod use_integrations;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

use pages::login::LoginPage;
use routes::{AuditoriaRoute, EmpresasRoute, IntegracaoRoute, IntegracoesRoute, PortalRoute};

/// The whole HTML document, rendered on the server around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="pt-BR">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                // /pkg/portal.<hash>.css, named by cargo-leptos's hash-files.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options=options.clone()/>
                <routes::ChunkPreloads options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    session::provide_session();

    view! {
        <Title text="Portal Contmax"/>
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/login") view=LoginPage/>
                // Pages behind a session render whole (async) on the server, so that an
                // anonymous visitor gets a real 302 to the login page, even without JavaScript.
                // Each is loaded by the browser when visited (`routes`).
                <Route path=path!("/") view={Lazy::<PortalRoute>::new()} ssr=SsrMode::Async/>
                <Route
                    path=path!("/integracoes")
                    view={Lazy::<IntegracoesRoute>::new()}
                    ssr=SsrMode::Async
                />
                <Route path=path!("/empresas") view={Lazy::<EmpresasRoute>::new()} ssr=SsrMode::Async/>
                <Route
                    path=path!("/integracoes/auditoria")
                    view={Lazy::<AuditoriaRoute>::new()}
                    ssr=SsrMode::Async
                />
                <Route
                    path=path!("/integracoes/:slug")
                    view={Lazy::<IntegracaoRoute>::new()}
                    ssr=SsrMode::Async
                />
            </Routes>
        </Router>
    }
}
