//! `/integracoes/:slug` (seed: IntegracaoDetalhe.tsx): one integration's status, metrics
//! and 30-day chart, its history with filters and keyset pages, and the attempts of one
//! execution in a drawer. Reads work without JavaScript (filters are a GET form, pages
//! and the drawer are links); actions need hydration. OneCode's page also has the review
//! queue (*Revisar contatos*) and, for admins, the webhook address.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};
use model::{
    duration_pt, percent_pt, trigger_label, AttemptDetail, HistoryQuery, IntegrationDetail,
    IntegrationSummary, RunStatus, SessionUser,
};

mod config;
mod credentials;
mod reviews;
mod timeline;
mod webhook;

use config::ConfigSection;
use credentials::CredentialsSection;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reviews::ReviewSection;
use timeline::AttemptTimeline;
use webhook::WebhookSection;

use crate::components::{
    error_text, Ago, AppHeader, AuditTrail, CancelButton, ErrorBox, Metric, PausedNotice,
    RequireUser, StatusBadge, Toasts,
};
use crate::use_alerts::ResumeIntegration;
use crate::use_contact_reviews::{load_contact_reviews, DecideContact, ONECODE};
use crate::use_credentials::{RemoveIntegrationSecret, SetIntegrationSecret};
use crate::use_integrations::{
    execution_attempts, integration_history, load_integration_detail, poll_while, CancelRun,
    RunIntegration, SetIntegrationEnabled,
};
use crate::use_integrations::{load_config_form, SaveIntegrationConfig};

#[component]
pub fn IntegracaoPage() -> impl IntoView {
    view! {
        <Title text="Integração · Portal Contmax"/>
        <RequireUser let:user>
            <Detalhe user/>
        </RequireUser>
    }
}

/// The page's query string: filters (pt-BR names), page cursor and open execution.
#[derive(Clone, Debug, Default, PartialEq)]
struct PageQuery {
    history: HistoryQuery,
    execucao: Option<String>,
}

impl PageQuery {
    /// A link to this page with these parameters (empty ones left out).
    fn href(&self, slug: &str) -> String {
        let h = &self.history;
        let pairs = [
            ("status", &h.status),
            ("origem", &h.trigger),
            ("de", &h.from),
            ("ate", &h.to),
            ("por_pagina", &h.page_size),
            ("antes", &h.before),
            ("execucao", &self.execucao),
        ];
        let qs: Vec<String> = pairs
            .iter()
            .filter_map(|(k, v)| {
                v.as_deref()
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{k}={}", encode(v)))
            })
            .collect();
        if qs.is_empty() {
            format!("/integracoes/{slug}")
        } else {
            format!("/integracoes/{slug}?{}", qs.join("&"))
        }
    }
}

/// What a query-string value keeps as is: letters, digits and `-_.` (cursors, dates, ids).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

fn encode(v: &str) -> String {
    utf8_percent_encode(v, QUERY_VALUE).to_string()
}

#[component]
fn Detalhe(user: SessionUser) -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    let page_query = Memo::new(move |_| {
        let q = query.read();
        PageQuery {
            history: HistoryQuery {
                status: q.get("status"),
                trigger: q.get("origem"),
                from: q.get("de"),
                to: q.get("ate"),
                page_size: q.get("por_pagina"),
                before: q.get("antes"),
            },
            execucao: q.get("execucao").filter(|e| !e.is_empty()),
        }
    });
    let run = ServerAction::<RunIntegration>::new();
    let toggle = ServerAction::<SetIntegrationEnabled>::new();
    let cancel = ServerAction::<CancelRun>::new();
    let resume = ServerAction::<ResumeIntegration>::new();
    let tick = RwSignal::new(0u32);
    let changes = move || {
        (
            run.version().get(),
            toggle.version().get(),
            cancel.version().get(),
            resume.version().get(),
            tick.get(),
        )
    };
    // This integration's summary as the server last pushed it (live status), standing in
    // for the detail's until the detail is read again.
    let pushed = RwSignal::new(None::<IntegrationSummary>);
    let pushes = StoredValue::new(0u64);
    let pushed_at = StoredValue::new(0u64);
    let detail = Resource::new(
        move || (slug.get(), changes()),
        move |(slug, _)| async move {
            let asked_after = pushes.try_with_value(|n| *n).unwrap_or(0);
            let detail = load_integration_detail(slug).await;
            // A push from before the detail was asked for is in it (or older); one that
            // came while it was on its way may be newer and stays. Never set on the
            // server, where nothing is pushed: no notification there.
            let stale = pushed_at
                .try_with_value(|n| *n <= asked_after)
                .unwrap_or(false);
            if stale && pushed.try_with_untracked(Option::is_some).unwrap_or(false) {
                let _ = pushed.try_set(None);
            }
            detail
        },
    );
    let history = Resource::new(
        move || (slug.get(), page_query.get().history, changes()),
        |(slug, q, _)| {
            integration_history(
                slug,
                q.status,
                q.trigger,
                q.from,
                q.to,
                q.page_size,
                q.before,
            )
        },
    );
    let attempts = Resource::new(
        move || (page_query.get().execucao, changes()),
        |(id, _)| async move {
            match id {
                Some(id) => execution_attempts(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    // Every resource of the page is created here, at the top, never inside a Suspense's
    // children: hydration matches the server's serialized resources by creation order.
    let save = ServerAction::<SaveIntegrationConfig>::new();
    let set_secret = ServerAction::<SetIntegrationSecret>::new();
    let remove_secret = ServerAction::<RemoveIntegrationSecret>::new();
    let config = Resource::new(
        move || {
            (
                slug.get(),
                save.version().get(),
                set_secret.version().get(),
                remove_secret.version().get(),
            )
        },
        |(slug, ..)| load_config_form(slug),
    );
    // OneCode's review queue; elsewhere nothing (and no request).
    let decide = ServerAction::<DecideContact>::new();
    let review_query = Memo::new(move |_| {
        let q = query.read();
        model::ReviewQuery {
            busca: q.get("contatos").filter(|b| !b.trim().is_empty()),
            after: q.get("contatos_apos").filter(|a| !a.is_empty()),
        }
    });
    let reviews = Resource::new(
        move || {
            (
                slug.get() == ONECODE,
                review_query.get(),
                decide.version().get(),
                changes(),
            )
        },
        |(onecode, q, ..)| async move {
            if onecode {
                load_contact_reviews(q.busca, q.after).await.map(Some)
            } else {
                Ok(None)
            }
        },
    );
    let toasts = RwSignal::new(Vec::<(u32, String)>::new());
    // Live status: a pushed summary of this integration stands in for the detail's; when
    // its status moved (a run started or ended) the page reads its numbers, chart and
    // history once. The page polls only while that stream is not open.
    let summary = move || {
        pushed
            .get()
            .filter(|p| p.slug == slug.get())
            .or_else(|| detail.get().and_then(Result::ok).map(|d| d.summary))
    };
    let bump = move || tick.update(|n| *n = n.wrapping_add(1));
    let live = crate::live::subscribe(
        move |incoming| {
            if incoming.slug != slug.get_untracked() {
                return;
            }
            let moved = untrack(summary).is_some_and(|s| {
                s.last_status != incoming.last_status || s.last_run != incoming.last_run
            });
            pushes.update_value(|n| *n += 1);
            pushed_at.set_value(pushes.get_value());
            pushed.set(Some(incoming));
            if moved {
                bump();
            }
        },
        bump,
    );
    let running = Memo::new(move |_| {
        !live.get() && summary().is_some_and(|s| s.status() == Some(RunStatus::Running))
    });
    poll_while(running, tick);
    let can_configure = user.can_configure();

    view! {
        <AppHeader user refresh=tick/>
        <main class="page">
            <Transition fallback=|| view! { <p class="loading" role="status">"Carregando integração…"</p> }>
                {move || Suspend::new(async move {
                    // Tracked before the await, so that a push re-renders the head; read
                    // after it, so that the head shows the latest push, not the one there
                    // was when this render began waiting.
                    pushed.track();
                    match detail.await {
                        Ok(mut d) => {
                            let pushed = pushed.get_untracked();
                            if let Some(p) = pushed.filter(|p| p.slug == d.summary.slug) {
                                d.summary = p;
                            }
                            view! { <Head d run toggle cancel resume can_configure/> }.into_any()
                        }
                        Err(e) => view! {
                            <nav class="breadcrumb" aria-label="Navegação">
                                <a href="/">"Início"</a>
                                <span aria-hidden="true">" / "</span>
                                <a href="/integracoes">"Integrações"</a>
                            </nav>
                            <ErrorBox message=error_text(&e)/>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
            {move || run.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=error_text(&e)/> })}
            {move || toggle.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=error_text(&e)/> })}
            {move || resume.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=error_text(&e)/> })}
            {move || (slug.get() == ONECODE).then(|| view! {
                <ReviewSection slug reviews query=review_query decide toasts can_decide=can_configure/>
            })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    detail
                        .await
                        .ok()
                        .and_then(|d| d.webhook_path)
                        .map(|path| view! { <WebhookSection path toasts/> })
                })}
            </Transition>
            <ConfigSection slug config save/>
            <CredentialsSection slug config set=set_secret remove=remove_secret editable=can_configure/>
            <section id="historico" class="history" aria-labelledby="historico-titulo">
                <h2 id="historico-titulo">"Histórico de execuções"</h2>
                <Filters slug page_query/>
                <Transition fallback=|| view! { <p class="loading" role="status">"Carregando histórico…"</p> }>
                    {move || Suspend::new(async move {
                        let slug = slug.get_untracked();
                        let pq = page_query.get_untracked();
                        match history.await {
                            Ok(page) if page.rows.is_empty() => view! {
                                <p class="empty">"Nenhuma execução encontrada com estes filtros."</p>
                            }
                            .into_any(),
                            Ok(page) => view! { <HistoryTable page slug pq/> }.into_any(),
                            Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
            {can_configure.then(|| view! {
                <AuditTrail
                    slug=Signal::derive(move || Some(slug.get()))
                    path=Signal::derive(move || format!("/integracoes/{}", slug.get()))
                    changes=Signal::derive(move || {
                        [
                            run.version().get(),
                            toggle.version().get(),
                            save.version().get(),
                            resume.version().get(),
                            set_secret.version().get(),
                            remove_secret.version().get(),
                            decide.version().get(),
                        ]
                        .into_iter()
                        .fold(0u32, |a, v| a.wrapping_add(v as u32))
                    })
                />
            })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let slug = slug.get_untracked();
                    let pq = page_query.get_untracked();
                    match attempts.await {
                        Ok(Some(list)) => view! { <Drawer list slug pq run cancel/> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    }
                })}
            </Transition>
            <Toasts toasts/>
        </main>
    }
}

#[component]
fn Head(
    d: IntegrationDetail,
    run: ServerAction<RunIntegration>,
    toggle: ServerAction<SetIntegrationEnabled>,
    cancel: ServerAction<CancelRun>,
    resume: ServerAction<ResumeIntegration>,
    can_configure: bool,
) -> impl IntoView {
    let s = d.summary.clone();
    let status = s.status();
    let running = status == Some(RunStatus::Running);
    let enabled = s.is_enabled;
    let runnable = s.has_connector;
    let m = d.metrics.clone();
    let toggle_form = can_configure.then(|| {
        let slug = s.slug.clone();
        view! {
            <ActionForm action=toggle>
                <input type="hidden" name="slug" value=slug/>
                <input type="hidden" name="enabled" value=(!enabled).to_string()/>
                <button type="submit" class="btn" disabled=move || toggle.pending().get()>
                    {if enabled { "Desativar" } else { "Ativar" }}
                </button>
            </ActionForm>
        }
    });
    view! {
        <Title text=format!("{} · Integrações · Portal Contmax", s.name)/>
        <nav class="breadcrumb" aria-label="Navegação">
            <a href="/">"Início"</a>
            <span aria-hidden="true">" / "</span>
            <a href="/integracoes">"Integrações"</a>
            <span aria-hidden="true">" / "</span>
            <span>{s.name.clone()}</span>
        </nav>
        <div class="detail-head" data-slug=s.slug.clone()>
            <h1>{s.name.clone()}</h1>
            <StatusBadge status disabled=!enabled/>
        </div>
        {d.description.clone().map(|t| view! { <p class="muted">{t}</p> })}
        <p class="last-run">"Última execução: " <Ago seconds=s.last_run_seconds_ago exact=s.last_run.clone()/></p>
        {d.last_error.clone().filter(|_| status == Some(RunStatus::Error)).map(|e| view! {
            <p class="last-error" data-testid="last-error">"Último erro: " {e}</p>
        })}
        {move || cancel.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=error_text(&e)/> })}
        {(!runnable).then(|| view! { <p class="muted no-connector" data-testid="no-connector">{model::NO_CONNECTOR}</p> })}
        {s.paused_after.map(|failures| view! {
            <PausedNotice slug=s.slug.clone() name=s.name.clone() failures can_resume=can_configure resume/>
        })}
        <div class="card-actions">
            {running.then(|| view! { <CancelButton slug=s.slug.clone() name=s.name.clone() cancel/> })}
            <ActionForm action=run>
                <input type="hidden" name="slug" value=s.slug.clone()/>
                <button
                    type="submit"
                    class="btn btn-primary"
                    disabled=move || !enabled || !runnable || running || run.pending().get()
                    title=(!runnable).then_some(model::NO_CONNECTOR)
                >
                    {if running { "Executando…" } else { "Executar" }}
                </button>
            </ActionForm>
            {toggle_form}
        </div>
        <section class="metrics" aria-label="Métricas dos últimos 30 dias">
            <Metric value=percent_pt(m.success_rate) label="Taxa de sucesso (30 dias)"/>
            <Metric value=duration_pt(m.avg_ms) label="Tempo médio"/>
            <Metric value=duration_pt(m.p95_ms) label="Tempo p95"/>
            <Metric value=m.runs.to_string() label="Execuções" testid="detail-runs"/>
        </section>
        {d.chart_svg.clone().map(|svg| view! {
            <figure class="chart">
                <div class="chart-svg" role="img" aria-label="Execuções por dia nos últimos 30 dias, por status, e o tempo médio" inner_html=svg></div>
                <figcaption>"Execuções por dia (sucesso, parcial, erro) e tempo médio, últimos 30 dias"</figcaption>
            </figure>
        })}
    }
}

#[component]
fn Filters(slug: Memo<String>, page_query: Memo<PageQuery>) -> impl IntoView {
    let h = move || page_query.get().history;
    let selected =
        move |v: &str, f: &dyn Fn(&HistoryQuery) -> Option<String>| f(&h()).as_deref() == Some(v);
    view! {
        <Form method="GET" action=move || format!("/integracoes/{}", slug.get()) attr:class="filters">
            <div class="filter">
                <label for="filtro-status">"Status"</label>
                <select id="filtro-status" name="status">
                    <option value="">"Todos"</option>
                    {[("success", "Sucesso"), ("partial", "Parcial"), ("error", "Erro"), ("cancelled", "Cancelada"), ("running", "Executando")]
                        .into_iter()
                        .map(|(v, l)| view! { <option value=v selected=move || selected(v, &|q| q.status.clone())>{l}</option> })
                        .collect_view()}
                </select>
            </div>
            <div class="filter">
                <label for="filtro-origem">"Origem"</label>
                <select id="filtro-origem" name="origem">
                    <option value="">"Todas"</option>
                    {["manual", "api", "schedule", "webhook", "retry", "rerun"]
                        .into_iter()
                        .map(|v| view! { <option value=v selected=move || selected(v, &|q| q.trigger.clone())>{trigger_label(v).to_owned()}</option> })
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
        </Form>
    }
}

#[component]
fn HistoryTable(page: model::HistoryPage, slug: String, pq: PageQuery) -> impl IntoView {
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
            let status = RunStatus::parse(&r.status);
            view! {
                <tr data-status=r.status.clone()>
                    <td><Ago seconds=Some(r.seconds_ago) exact=Some(r.created_at.clone())/></td>
                    <td><StatusBadge status/></td>
                    <td>{trigger_label(&r.trigger).to_owned()}</td>
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

/// The first eight characters of an execution id, as the drawer names it.
fn short_id(id: uuid::Uuid) -> String {
    id.to_string().chars().take(8).collect()
}

#[component]
fn Drawer(
    list: Vec<AttemptDetail>,
    slug: String,
    pq: PageQuery,
    run: ServerAction<RunIntegration>,
    cancel: ServerAction<CancelRun>,
) -> impl IntoView {
    let close = PageQuery {
        execucao: None,
        ..pq.clone()
    }
    .href(&slug);
    let failed = list.last().is_some_and(|a| a.status == "error");
    let going = list.last().is_some_and(|a| a.status == "running");
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
            let status = RunStatus::parse(&a.status);
            view! {
                <li class="attempt">
                    <h3>
                        {format!("Tentativa {}", a.attempt)} " "
                        <StatusBadge status/>
                    </h3>
                    <p class="muted">
                        {trigger_label(&a.trigger).to_owned()} " · "
                        <time datetime=a.created_at.clone()>{a.created_at.clone()}</time> " · "
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
        <aside class="drawer" role="dialog" aria-modal="false" aria-labelledby="drawer-titulo">
            <div class="drawer-head">
                <h2 id="drawer-titulo">"Detalhes da execução"</h2>
                <a class="btn btn-small" href=close>"Fechar"</a>
            </div>
            {repeats}
            {repeated}
            {going.then(|| view! {
                <CancelButton slug=slug.clone() name="esta execução".to_owned() cancel/>
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
        </aside>
    }
}
