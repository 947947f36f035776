//! *Desativar* / *Ativar* of an integration. Turning one off stops its schedule and its
//! *Executar*, so the button asks first (*Sim, desativar* / *Voltar*); turning one on does
//! not ask. Without JavaScript the form posts at once.

use leptos::prelude::*;

use crate::use_integrations::SetIntegrationEnabled;

#[component]
pub fn ToggleButton(
    slug: String,
    name: String,
    enabled: bool,
    toggle: ServerAction<SetIntegrationEnabled>,
    /// The card's smaller button, named after its integration for screen readers (a page
    /// of cards has several).
    #[prop(optional)]
    small: bool,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    // Focus follows the question: to *Voltar* when it opens (the button pressed is gone),
    // back to *Desativar* when it closes without an answer.
    let back = NodeRef::<leptos::html::Button>::new();
    let off = NodeRef::<leptos::html::Button>::new();
    let asked = StoredValue::new(false);
    // (Each button is a new element each time it shows: its NodeRef is set again.)
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            if let Some(b) = back.get() {
                if asking.get_untracked() {
                    let _ = b.focus();
                }
            }
        });
        Effect::new(move |_| {
            if let Some(b) = off.get() {
                if asked.get_value() && !asking.get_untracked() {
                    let _ = b.focus();
                }
            }
        });
    }
    // A new answer (a refused *Ativar*, or the list read again) closes the question.
    Effect::new(move |_| {
        if toggle.version().get() > 0 {
            asking.set(false);
        }
    });
    let class = if small { "btn btn-small" } else { "btn" };
    let verb = if enabled { "Desativar" } else { "Ativar" };
    let label = small.then(|| format!("{verb} {name}"));
    let ask = move |ev: leptos::ev::MouseEvent| {
        if enabled && !asking.get_untracked() {
            ev.prevent_default();
            asked.set_value(true);
            asking.set(true);
        }
    };
    let question = format!("Desativar {name}? Ela deixa de ser executada até ser ativada de novo.");
    let confirm_label = format!("Sim, desativar {name}");
    view! {
        <ActionForm action=toggle attr:class="toggle-form">
            <input type="hidden" name="slug" value=slug/>
            <input type="hidden" name="enabled" value=(!enabled).to_string()/>
            <Show
                when=move || asking.get()
                fallback=move || view! {
                    <button
                        type="submit"
                        class=class
                        disabled=move || toggle.pending().get()
                        aria-label=label.clone()
                        node_ref=off
                        on:click=ask
                    >
                        {verb}
                    </button>
                }
            >
                <span class="confirm" role="group" aria-label="Confirmar desativação">
                    <span class="confirm-text">{question.clone()}</span>
                    <button
                        type="submit"
                        class="btn btn-small btn-danger"
                        disabled=move || toggle.pending().get()
                        aria-label=confirm_label.clone()
                    >
                        "Sim, desativar"
                    </button>
                    <button type="button" class="btn btn-small" node_ref=back on:click=move |_| asking.set(false)>
                        "Voltar"
                    </button>
                </span>
            </Show>
        </ActionForm>
    }
}
