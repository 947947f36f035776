use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="page narrow">
            <h1>"Página não encontrada"</h1>
            <p>"O endereço não existe ou foi movido."</p>
            <a class="btn" href="/">"Voltar ao início"</a>
        </main>
    }
}
