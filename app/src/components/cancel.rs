//! *Cancelar*, shown beside a running integration's *Executar*.

use leptos::prelude::*;

use crate::use_integrations::CancelRun;

/// The button; the page passes its action so that its lists refresh when it is done.
#[component]
pub fn CancelButton(
    slug: String,
    name: String,
    cancel: ServerAction<CancelRun>,
    #[prop(optional)] small: bool,
) -> impl IntoView {
    view! {
        <ActionForm action=cancel>
            <input type="hidden" name="slug" value=slug/>
            <button
                type="submit"
                class=if small { "btn btn-small btn-danger" } else { "btn btn-danger" }
                disabled=move || cancel.pending().get()
                aria-label=format!("Cancelar {name}")
            >
                {move || if cancel.pending().get() { "Cancelando…" } else { "Cancelar" }}
            </button>
        </ActionForm>
    }
}
