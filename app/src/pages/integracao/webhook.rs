//! *Endereço do webhook* on `/integracoes/onecode` (tenant admins): the address OneCode must
//! post this tenant integration's events to, with *Copiar*. The server renders the path;
//! once hydrated, the page puts its own origin in front (the address people paste at
//! OneCode is the one they reach the portal by).

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use crate::components::push_toast;

#[component]
pub fn WebhookSection(
    /// `/functions/v1/onecode-webhook/<token>`.
    path: String,
    toasts: RwSignal<Vec<(u32, String)>>,
) -> impl IntoView {
    let origin = RwSignal::new(String::new());
    // Effects run in the browser only: the server's render (and the first client render,
    // which must match it) shows the path alone.
    Effect::new(move |_| {
        if let Ok(o) = window().location().origin() {
            origin.set(o);
        }
    });
    let path = StoredValue::new(path);
    let url = move || format!("{}{}", origin.get(), path.get_value());
    let copy = move |_| {
        let text = url();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let message = match copy_text(&text).await {
                Ok(()) => "Endereço do webhook copiado.",
                Err(()) => "Não foi possível copiar. Selecione o endereço e copie manualmente.",
            };
            push_toast(toasts, message.to_owned());
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (text, toasts);
    };
    view! {
        <section id="webhook" class="config webhook" aria-labelledby="webhook-titulo">
            <h2 id="webhook-titulo">"Endereço do webhook"</h2>
            <p class="muted">
                "Cadastre este endereço no webhook da OneCode para que contatos e mensagens "
                "cheguem ao portal assim que mudarem. Cada entrega é autenticada pelo "
                "“Segredo do webhook” (em Credenciais)."
            </p>
            <div class="webhook-row">
                <input
                    id="webhook-url"
                    class="mono"
                    type="text"
                    readonly
                    aria-label="Endereço do webhook"
                    value=url
                    on:focus=move |ev| {
                        // One click selects the whole address, for copying by hand.
                        let el = event_target::<leptos::web_sys::HtmlInputElement>(&ev);
                        el.select();
                    }
                />
                <button type="button" class="btn btn-small btn-primary" on:click=copy>"Copiar"</button>
            </div>
        </section>
    }
}

/// Writes `text` to the clipboard. The Clipboard API exists only in secure contexts
/// (https, localhost): elsewhere, and when the browser refuses, an error.
#[cfg(feature = "hydrate")]
async fn copy_text(text: &str) -> Result<(), ()> {
    let clipboard = window().navigator().clipboard();
    if clipboard.is_undefined() {
        return Err(());
    }
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text))
        .await
        .map(|_| ())
        .map_err(|_| ())
}
