//! `/integracoes/:slug` (seed: IntegracaoDetalhe.tsx): one integration's status, metrics
//! and 30-day chart, its history with filters and keyset pages, and the attempts of one
//! execution in a drawer. Reads work without JavaScript (filters are a GET form, pages
//! and the drawer are links); actions need hydration. OneCode's page also has the review
//! queue (*Revisar contatos*) and, for admins, the webhook address. One file per part:
//! [`head`], [`history`] (filters and the table), [`drawer`] (with its [`timeline`]),
//! [`config`], [`credentials`], [`reviews`], [`webhook`]; [`query`] is the URL's state.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use model::{HistoryQuery, IntegrationSummary, RunStatus, SessionUser};

mod config;
mod credentials;
mod drawer;
mod head;
mod history;
mod query;
mod reviews;
mod timeline;
mod webhook;

use config::ConfigSection;
use credentials::CredentialsSection;
use drawer::{Drawer, DrawerError};
use head::Head;
use history::{Filters, HistoryTable};
use query::PageQuery;
use reviews::ReviewSection;
use webhook::WebhookSection;

use crate::components::{error_text, AppHeader, AuditTrail, ErrorBox, RequireUser, Toasts};
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
    // A webhook batch applied (OneCode's events, between runs): a new row of the history,
    // which alone reads again (a busy tenant's batches would otherwise re-read the whole
    // page, the review queue someone is working included).
    let batches = RwSignal::new(0u32);
    let history = Resource::new(
        move || {
            (
                slug.get(),
                page_query.get().history,
                changes(),
                batches.get(),
            )
        },
        |(slug, q, ..)| {
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
    // The last run status and start time a push said (see `moved` below), and its last
    // webhook batch.
    type Seen = (Option<RunStatus>, Option<String>);
    let seen = StoredValue::new(None::<Seen>);
    let seen_batch = StoredValue::new(None::<Option<String>>);
    let live = crate::live::subscribe(
        move |incoming| {
            if incoming.slug != slug.get_untracked() {
                return;
            }
            // Judged against the previous push, not against the detail: the history and
            // the detail are separate reads, so a detail read after a quick run ended can
            // already say how it ended while the history, read a moment earlier, still
            // shows it running; the push of that end must still refresh the history.
            let now = (incoming.last_status, incoming.last_run.clone());
            let before = seen
                .get_value()
                .or_else(|| untrack(summary).map(|s| (s.last_status, s.last_run)));
            let batch_before = seen_batch
                .get_value()
                .or_else(|| untrack(summary).map(|s| s.last_webhook));
            if batch_before.is_some_and(|b| b != incoming.last_webhook) {
                batches.update(|n| *n = n.wrapping_add(1));
            }
            seen_batch.set_value(Some(incoming.last_webhook.clone()));
            // The stream's first push: the history, read with the page, may show a run
            // going that has ended since, though the detail already said how it ended.
            let history_behind = seen.get_value().is_none()
                && now.0 != Some(RunStatus::Running)
                && history.get_untracked().is_some_and(|h| {
                    h.is_ok_and(|h| {
                        h.rows
                            .first()
                            .is_some_and(|r| r.status == RunStatus::Running)
                    })
                });
            let moved = before.is_some_and(|b| b != now) || history_behind;
            seen.set_value(Some(now));
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
                        // No integration of that name here: its message alone. Every
                        // other part of the page would fail the same way, each with a
                        // message of its own; the style hides them beside this mark
                        // (`.integration-missing`), in the server's HTML as after
                        // hydration. Any other error (a refetch that failed once) leaves
                        // the page as it is.
                        Err(e) => {
                            let message = error_text(&e);
                            let missing = message == model::INTEGRATION_NOT_FOUND;
                            view! {
                                <div class=("integration-missing", missing)>
                                    <nav class="breadcrumb" aria-label="Navegação">
                                        <a href="/">"Início"</a>
                                        <span aria-hidden="true">" / "</span>
                                        <a href="/integracoes">"Integrações"</a>
                                    </nav>
                                    <ErrorBox message/>
                                </div>
                            }
                            .into_any()
                        }
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
                        Err(e) => view! { <DrawerError message=error_text(&e) slug pq/> }.into_any(),
                    }
                })}
            </Transition>
            <Toasts toasts/>
        </main>
    }
}
