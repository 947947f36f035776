//! The drawer: the attempts of one execution (status, trigger, time, totals, timeline,
//! the redacted request and answer), its links to the run it repeats or that repeats it,
//! *Cancelar* while it goes and *Tentar novamente* when it failed.

use leptos::prelude::*;
use model::{duration_pt, AttemptDetail, RunStatus};

use super::query::PageQuery;
use super::timeline::AttemptTimeline;
use crate::components::{CancelButton, ErrorBox, StatusBadge};
use crate::use_integrations::{CancelRun, RunIntegration};

/// The first eight characters of an execution id, as the drawer names it.
fn short_id(id: uuid::Uuid) -> String {
    id.to_string().chars().take(8).collect()
}

#[component]
pub(super) fn Drawer(
    list: Vec<AttemptDetail>,
    slug: String,
    pq: PageQuery,
    run: ServerAction<RunIntegration>,
    cancel: ServerAction<CancelRun>,
) -> impl IntoView {
    let failed = list.last().is_some_and(|a| a.status == RunStatus::Error);
    let going = list.last().is_some_and(|a| a.status == RunStatus::Running);
    let this = pq.execucao.clone().unwrap_or_default();
    let link = |id: uuid::Uuid| {
        PageQuery {
            execucao: Some(id.to_string()),
            ..pq.clone()
        }
        .href(&slug)
    };
    let repeats = list.first().and_then(|a| a.rerun_of).map(|id| {
        view! {
            <p class="rerun-link" data-testid="rerun-of">
                "Repete a execução " <a href=link(id)>{short_id(id)}</a> "."
            </p>
        }
    });
    let repeated = list.first().and_then(|a| a.rerun_by).map(|id| {
        view! {
            <p class="rerun-link" data-testid="rerun-by">
                "Repetida na execução " <a href=link(id)>{short_id(id)}</a> "."
            </p>
        }
    });
    let attempts = list
        .into_iter()
        .map(|a| {
            let status = Some(a.status);
            view! {
                <li class="attempt">
                    <h3>
                        {format!("Tentativa {}", a.attempt)} " "
                        <StatusBadge status/>
                    </h3>
                    <p class="muted">
                        {a.trigger.label_pt()} " · "
                        <time datetime=a.created_at.clone() title=a.created_at.clone()>{a.created_at_pt.clone()}</time> " · "
                        {duration_pt(a.execution_time_ms.map(f64::from))}
                    </p>
                    {a.error_message.clone().map(|e| view! { <p class="last-error">{e}</p> })}
                    <p>
                        {format!(
                            "Processados {} · criados {} · atualizados {} · sem alteração {} · falhas {} · revisão {} · ignorados {}",
                            a.total_processados, a.total_created, a.total_updated, a.total_unchanged,
                            a.total_failed, a.total_review, a.total_ignored
                        )}
                    </p>
                    <AttemptTimeline attempt=a.attempt events=a.events.clone()/>
                    {a.payload.clone().map(|p| view! {
                        <details><summary>"Requisição (dados sensíveis ocultos)"</summary><pre>{p}</pre></details>
                    })}
                    {a.response.clone().map(|p| view! {
                        <details><summary>"Resposta (dados sensíveis ocultos)"</summary><pre>{p}</pre></details>
                    })}
                </li>
            }
        })
        .collect_view();
    view! {
        <DrawerFrame slug=slug.clone() pq=pq.clone()>
            {repeats}
            {repeated}
            {going.then(|| view! {
                <CancelButton slug=slug.clone() name="esta execução".to_owned() cancel execution=this.clone()/>
            })}
            <ol class="attempts">{attempts}</ol>
            {failed.then(|| view! {
                <ActionForm action=run>
                    <input type="hidden" name="slug" value=slug.clone()/>
                    <input type="hidden" name="rerun_of" value=this.clone()/>
                    <button type="submit" class="btn btn-primary" disabled=move || run.pending().get()>
                        "Tentar novamente"
                    </button>
                </ActionForm>
            })}
        </DrawerFrame>
    }
}

/// The drawer's frame: its title and *Fechar* (the page's address without `execucao`).
#[component]
fn DrawerFrame(slug: String, pq: PageQuery, children: Children) -> impl IntoView {
    let close = PageQuery {
        execucao: None,
        ..pq
    }
    .href(&slug);
    view! {
        <aside class="drawer" role="dialog" aria-modal="false" aria-labelledby="drawer-titulo">
            <div class="drawer-head">
                <h2 id="drawer-titulo">"Detalhes da execução"</h2>
                <a class="btn btn-small" href=close>"Fechar"</a>
            </div>
            {children()}
        </aside>
    }
}

/// The drawer of an execution that cannot be read (none of that id here, most often): its
/// message where the attempts would be, and *Fechar*, rather than a line at the page's foot.
#[component]
pub(super) fn DrawerError(message: String, slug: String, pq: PageQuery) -> impl IntoView {
    view! {
        <DrawerFrame slug pq>
            <ErrorBox message/>
        </DrawerFrame>
    }
}
