//! Toasts: short messages that say how something ended, announced politely to screen
//! readers, gone after a few seconds (or when closed).

use leptos::prelude::*;

/// How long a toast stays.
const TOAST_MS: u64 = 6000;

/// Adds a toast to `toasts` and removes it after a while.
pub fn push_toast(toasts: RwSignal<Vec<(u32, String)>>, message: String) {
    let id = toasts.with_untracked(|t| t.iter().map(|(id, _)| *id).max().unwrap_or(0) + 1);
    toasts.update(|t| t.push((id, message)));
    set_timeout(
        move || toasts.update(|t| t.retain(|(i, _)| *i != id)),
        std::time::Duration::from_millis(TOAST_MS),
    );
}

#[component]
pub fn Toasts(toasts: RwSignal<Vec<(u32, String)>>) -> impl IntoView {
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || toasts.get() key=|(id, _)| *id let:toast>
                <div class="toast">
                    <span>{toast.1.clone()}</span>
                    <button
                        type="button"
                        class="toast-close"
                        aria-label="Fechar aviso"
                        on:click=move |_| toasts.update(|t| t.retain(|(i, _)| *i != toast.0))
                    >
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
