//! Status badges and error boxes.

use leptos::prelude::*;
use model::RunStatus;

/// Green success, yellow running, red error, grey disabled or never run.
#[component]
pub fn StatusBadge(status: Option<RunStatus>, #[prop(optional)] disabled: bool) -> impl IntoView {
    let (class, label) = match (disabled, status) {
        (true, _) => ("badge badge-muted", "Desativada"),
        (false, None) => ("badge badge-muted", "Nunca executada"),
        (false, Some(s @ RunStatus::Success)) => ("badge badge-success", s.label_pt()),
        (false, Some(s @ RunStatus::Running)) => ("badge badge-running", s.label_pt()),
        (false, Some(s @ RunStatus::Partial)) => ("badge badge-running", s.label_pt()),
        (false, Some(s @ RunStatus::Error)) => ("badge badge-error", s.label_pt()),
    };
    view! { <span class=class>{label}</span> }
}

/// A failed request, said in pt-BR, announced to screen readers.
#[component]
pub fn ErrorBox(message: String) -> impl IntoView {
    view! {
        <div class="error-box" role="alert">
            <strong>"Algo deu errado. "</strong>
            {message}
        </div>
    }
}
