//! Status badges and error boxes.

use leptos::prelude::*;
use model::RunStatus;

/// Green success, yellow running, red error, grey cancelled, disabled or never run; a run
/// that waits for a worker says "Na fila" (`queued`).
#[component]
pub fn StatusBadge(
    status: Option<RunStatus>,
    #[prop(optional)] disabled: bool,
    #[prop(optional)] queued: bool,
) -> impl IntoView {
    let (class, label) = match (disabled, status) {
        (true, _) => ("badge badge-muted", "Desativada"),
        (false, Some(RunStatus::Running)) if queued => ("badge badge-queued", "Na fila"),
        (false, None) => ("badge badge-muted", "Nunca executada"),
        (false, Some(s @ RunStatus::Success)) => ("badge badge-success", s.label_pt()),
        (false, Some(s @ RunStatus::Running)) => ("badge badge-running", s.label_pt()),
        (false, Some(s @ RunStatus::Partial)) => ("badge badge-running", s.label_pt()),
        (false, Some(s @ RunStatus::Error)) => ("badge badge-error", s.label_pt()),
        (false, Some(s @ RunStatus::Cancelled)) => ("badge badge-muted", s.label_pt()),
    };
    view! { <span class=class>{label}</span> }
}

/// A failed request, said in pt-BR, announced to screen readers. The message is the whole
/// of it: most are the user's to act on (a filter, a permission, an address), which a
/// lead-in such as "Algo deu errado" would misname as a failure of ours.
#[component]
pub fn ErrorBox(message: String) -> impl IntoView {
    view! {
        <div class="error-box" role="alert">
            {message}
        </div>
    }
}

/// A past moment in pt-BR words ("há 5 minutos"), the exact time on hover; "—" when there
/// is none. The seconds come from the server so both renderings say the same words.
#[component]
pub fn Ago(seconds: Option<i64>, exact: Option<String>) -> impl IntoView {
    match (seconds, exact) {
        (Some(secs), Some(exact)) => view! {
            <time datetime=exact.clone() title=exact>{model::relative_time_pt(secs)}</time>
        }
        .into_any(),
        _ => view! { <span>"—"</span> }.into_any(),
    }
}

/// One number of a metrics panel, with its label.
#[component]
pub fn Metric(
    value: String,
    label: &'static str,
    #[prop(optional)] testid: Option<&'static str>,
    #[prop(optional)] alert: bool,
) -> impl IntoView {
    view! {
        <div class=if alert { "metric metric-alert" } else { "metric" }>
            <span class="metric-value" data-testid=testid>{value}</span>
            <span class="metric-label">{label}</span>
        </div>
    }
}
