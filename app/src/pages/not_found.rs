//! An address that matches no page: 404, with the portal's header (its brand: this page
//! reads no session) and the ways back.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::header::Brand;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Página não encontrada · Portal Contmax"/>
        <header class="app-header">
            <Brand/>
        </header>
        <main class="page narrow">
            <h1>"Página não encontrada"</h1>
            <p>"O endereço não existe ou foi movido."</p>
            <p class="actions">
                <a class="btn btn-primary" href="/">"Voltar ao início"</a>
                " "
                <a class="btn" href="/integracoes">"Integrações"</a>
            </p>
        </main>
    }
}
