//! The login page (e-mail and password).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::error_text;
use crate::session::use_session;

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".to_owned());
    let result = session.login.value();
    let pending = session.login.pending();
    view! {
        <Title text="Entrar · Portal Contmax"/>
        <main class="login-page">
            <section class="login-card" aria-labelledby="login-title">
                <div class="brand brand-large">
                    <span class="logo" aria-hidden="true">"C"</span>
                    <span>"Portal Contmax"</span>
                </div>
                <h1 id="login-title">"Entrar"</h1>
                <ActionForm action=session.login attr:class="form">
                    <div class="field">
                        <label for="email">"E-mail"</label>
                        <input id="email" name="email" type="email" autocomplete="username" required/>
                    </div>
                    <div class="field">
                        <label for="password">"Senha"</label>
                        <input
                            id="password"
                            name="password"
                            type="password"
                            autocomplete="current-password"
                            required
                        />
                    </div>
                    <input type="hidden" name="next" value=next/>
                    <button type="submit" class="btn btn-primary" disabled=move || pending.get()>
                        {move || if pending.get() { "Entrando…" } else { "Entrar" }}
                    </button>
                </ActionForm>
                {move || {
                    result
                        .get()
                        .and_then(Result::err)
                        .map(|e| view! { <p class="form-error" role="alert">{error_text(&e)}</p> })
                }}
            </section>
        </main>
    }
}
