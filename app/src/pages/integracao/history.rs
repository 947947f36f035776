//! The history section's parts: the filters (a GET form: they work without JavaScript) and
//! one keyset page of executions with its links.

use leptos::prelude::*;
use model::{duration_pt, HistoryQuery, RunStatus, Trigger};

use super::query::PageQuery;
use crate::components::{Ago, GetForm, StatusBadge};

#[component]
pub(super) fn Filters(slug: Memo<String>, page_query: Memo<PageQuery>) -> impl IntoView {
    let h = move || page_query.get().history;
    let selected =
        move |v: &str, f: &dyn Fn(&HistoryQuery) -> Option<String>| f(&h()).as_deref() == Some(v);
    view! {
        <GetForm action=Signal::derive(move || format!("/integracoes/{}", slug.get())) class="filters">
            <div class="filter">
                <label for="filtro-status">"Status"</label>
                <select id="filtro-status" name="status">
                    <option value="">"Todos"</option>
                    {RunStatus::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str() selected=move || selected(s.as_str(), &|q| q.status.clone())>{s.label_pt()}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="filter">
                <label for="filtro-origem">"Origem"</label>
                <select id="filtro-origem" name="origem">
                    <option value="">"Todas"</option>
                    {Trigger::ALL
                        .into_iter()
                        .map(|t| view! { <option value=t.as_str() selected=move || selected(t.as_str(), &|q| q.trigger.clone())>{t.label_pt()}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="filter">
                <label for="filtro-de">"De"</label>
                <input id="filtro-de" type="date" name="de" value=move || h().from.unwrap_or_default()/>
            </div>
            <div class="filter">
                <label for="filtro-ate">"Até"</label>
                <input id="filtro-ate" type="date" name="ate" value=move || h().to.unwrap_or_default()/>
            </div>
            <div class="filter">
                <label for="filtro-por-pagina">"Por página"</label>
                <select id="filtro-por-pagina" name="por_pagina">
                    {model::history::PAGE_SIZES
                        .into_iter()
                        .map(|n| {
                            let v = n.to_string();
                            let is = move || {
                                h().page_size.as_deref().unwrap_or("25") == n.to_string()
                            };
                            view! { <option value=v.clone() selected=is>{v.clone()}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <button type="submit" class="btn btn-small btn-primary">"Filtrar"</button>
            <a class="btn btn-small" href=move || format!("/integracoes/{}#historico", slug.get())>"Limpar"</a>
        </GetForm>
    }
}

#[component]
pub(super) fn HistoryTable(page: model::HistoryPage, slug: String, pq: PageQuery) -> impl IntoView {
    let first = PageQuery {
        history: HistoryQuery {
            before: None,
            ..pq.history.clone()
        },
        execucao: None,
    };
    let next = page.next_before.clone().map(|cursor| PageQuery {
        history: HistoryQuery {
            before: Some(cursor),
            ..pq.history.clone()
        },
        execucao: None,
    });
    let on_later_page = pq.history.before.is_some();
    let rows = page
        .rows
        .into_iter()
        .map(|r| {
            let open = PageQuery {
                execucao: Some(r.execution_id.to_string()),
                ..pq.clone()
            }
            .href(&slug);
            let status = Some(r.status);
            view! {
                <tr data-status=r.status.as_str()>
                    <td><Ago seconds=Some(r.seconds_ago) exact=Some(r.created_at.clone())/></td>
                    <td><StatusBadge status/></td>
                    <td>{r.trigger.label_pt()}</td>
                    <td class="num">{r.attempt}</td>
                    <td class="num">{duration_pt(r.execution_time_ms.map(f64::from))}</td>
                    <td class="num">{r.total_processados}</td>
                    <td class="num">{r.total_matched}</td>
                    <td class="num">{r.total_failed}</td>
                    <td class="error-cell">{r.error_message.clone().unwrap_or_default()}</td>
                    <td><a href=open aria-label=format!("Detalhes da execução de {}", r.created_at)>"Detalhes"</a></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="scroll-hint" aria-hidden="true">"Deslize a tabela para o lado para ver todas as colunas."</p>
        <div class="table-wrap">
            <table class="history-table">
                <caption class="visually-hidden">"Execuções, da mais recente para a mais antiga"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Quando"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Origem"</th>
                        <th scope="col">"Tentativa"</th>
                        <th scope="col">"Duração"</th>
                        <th scope="col">"Processados"</th>
                        <th scope="col">"Correspondidos"</th>
                        <th scope="col">"Falhas"</th>
                        <th scope="col">"Erro"</th>
                        <th scope="col"><span class="visually-hidden">"Ações"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Páginas do histórico">
            {on_later_page.then(|| view! { <a class="btn btn-small" href=first.href(&slug)>"Primeira página"</a> })}
            {next.map(|n| view! { <a class="btn btn-small" rel="next" href=n.href(&slug)>"Próxima página"</a> })}
        </nav>
    }
}
