//! "Pausada após 3 falhas seguidas" with *Retomar* (tenant admins), on a card and on the
//! detail page: an integration whose schedule the engine paused after consecutive
//! failures (issue "The engine under pressure", item 10).

use leptos::prelude::*;

use crate::use_alerts::ResumeIntegration;

#[component]
pub fn PausedNotice(
    slug: String,
    name: String,
    failures: i32,
    can_resume: bool,
    resume: ServerAction<ResumeIntegration>,
) -> impl IntoView {
    view! {
        <div class="paused" data-testid="paused">
            <span class="paused-label">{model::paused_label(failures)}</span>
            <span class="muted">" · o agendamento não executa até ser retomado."</span>
            {can_resume.then(|| view! {
                <ActionForm action=resume attr:class="paused-resume">
                    <input type="hidden" name="slug" value=slug/>
                    <button
                        type="submit"
                        class="btn btn-small"
                        disabled=move || resume.pending().get()
                        aria-label=format!("Retomar {name}")
                    >
                        "Retomar"
                    </button>
                </ActionForm>
            })}
        </div>
    }
}
