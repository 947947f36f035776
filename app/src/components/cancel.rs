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
    /// The execution to stop (the drawer's); without it, whichever run is going.
    #[prop(optional)]
    execution: Option<String>,
) -> impl IntoView {
    view! {
        <ActionForm action=cancel>
            <input type="hidden" name="slug" value=slug/>
            {execution.map(|id| view! { <input type="hidden" name="execution_id" value=id/> })}
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
