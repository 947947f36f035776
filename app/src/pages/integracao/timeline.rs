//! The timeline of one attempt in the drawer: what the run did, in order, each entry with
//! its time from the attempt's start ("+2,3 s").

use leptos::prelude::*;
use model::{elapsed_pt, RunEvent};

#[component]
pub fn AttemptTimeline(attempt: i32, events: Vec<RunEvent>) -> impl IntoView {
    (!events.is_empty()).then(|| {
        let label = format!("Linha do tempo da tentativa {attempt}");
        let entries = events
            .into_iter()
            .map(|e| {
                let kind = match &e {
                    RunEvent::Pages { .. } => "pages",
                    RunEvent::Retry { .. } => "retry",
                    RunEvent::Rows { .. } => "rows",
                    RunEvent::Checkpoint { .. } => "checkpoint",
                    RunEvent::Omitted { .. } => "omitted",
                };
                let at = e
                    .at_ms()
                    .map(|ms| format!("+{}", elapsed_pt(ms)))
                    .unwrap_or_default();
                view! {
                    <li class="timeline-entry" data-kind=kind>
                        <span class="timeline-at">{at}</span>
                        <span>{e.describe_pt()}</span>
                    </li>
                }
            })
            .collect_view();
        view! {
            <details class="timeline" open=true>
                <summary>"Linha do tempo"</summary>
                <ol aria-label=label>{entries}</ol>
            </details>
        }
    })
}
