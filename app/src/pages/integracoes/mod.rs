//! `/integracoes` (seed: Integracoes.tsx): the integrations of the current tenant, their
//! 30-day metrics, and *Executar* with live status.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;
use model::{
    category_label, duration_pt, percent_pt, CatalogProvider, IntegrationSummary, RunStatus,
    SessionUser,
};

use crate::components::{
    category_icon, error_text, Ago, AppHeader, CancelButton, ErrorBox, LucideIcon, Metric,
    PausedNotice, RequireUser, StatusBadge, TestButton, Toasts, ToggleButton,
};
use crate::use_alerts::ResumeIntegration;

mod alerts;

use crate::use_credentials::{addable_providers, AddIntegration, TestConnection};
use crate::use_integrations::{
    any_running, list_integrations, load_tenant_metrics, poll_while, CancelRun, RunIntegration,
    SetIntegrationEnabled,
};
use alerts::AlertsPanel;

#[component]
pub fn IntegracoesPage() -> impl IntoView {
    view! {
        <Title text="Integrações · Portal Contmax"/>
        <RequireUser let:user>
            <Integracoes user/>
        </RequireUser>
    }
}

/// The toast said when a run that the page saw going has ended.
fn ended_message(name: &str, status: Option<RunStatus>) -> Option<String> {
    match status? {
        RunStatus::Success => Some(format!("{name}: execução concluída com sucesso.")),
        RunStatus::Partial => Some(format!(
            "{name}: execução concluída com falhas em alguns registros."
        )),
        RunStatus::Error => Some(format!("{name}: a execução terminou com erro.")),
        RunStatus::Cancelled => Some(format!("{name}: execução cancelada.")),
        RunStatus::Running => None,
    }
}

/// The list as read, with the summaries pushed since put in place of their items.
fn list_with(
    list: Option<Result<Vec<IntegrationSummary>, ServerFnError>>,
    pushed: &HashMap<String, (u64, IntegrationSummary)>,
) -> Option<Result<Vec<IntegrationSummary>, ServerFnError>> {
    list.map(|r| {
        r.map(|mut items| {
            for i in &mut items {
                if let Some((_, p)) = pushed.get(&i.slug) {
                    *i = p.clone();
                }
            }
            items
        })
    })
}

#[component]
fn Integracoes(user: SessionUser) -> impl IntoView {
    let toggle = ServerAction::<SetIntegrationEnabled>::new();
    let run = ServerAction::<RunIntegration>::new();
    let cancel = ServerAction::<CancelRun>::new();
    let resume = ServerAction::<ResumeIntegration>::new();
    let tick = RwSignal::new(0u32);
    // Summaries pushed by the server (live status), by slug, each with its place in the
    // order of pushes: they stand in for the list's items until a list read after them
    // arrives.
    let pushed = RwSignal::new(HashMap::<String, (u64, IntegrationSummary)>::new());
    let pushes = StoredValue::new(0u64);
    let list = Resource::new(
        move || {
            (
                toggle.version().get(),
                run.version().get(),
                cancel.version().get(),
                resume.version().get(),
                tick.get(),
            )
        },
        move |_| async move {
            let asked_after = pushes.try_with_value(|n| *n).unwrap_or(0);
            let list = list_integrations().await;
            // What was pushed before the list was asked for is in it (or older than it);
            // what came while it was on its way may be newer and stays. Never set on the
            // server, where nothing is pushed: no notification there.
            let stale = |p: &HashMap<String, (u64, IntegrationSummary)>| {
                p.values().any(|(n, _)| *n <= asked_after)
            };
            if pushed.try_with_untracked(stale).unwrap_or(false) {
                let _ = pushed.try_update(|p| p.retain(|_, (n, _)| *n > asked_after));
            }
            list
        },
    );
    let items = move || list_with(list.get(), &pushed.read());
    // The numbers change when a run ends, not at every poll: `runs_ended` is bumped by
    // the effect below that sees runs end. Keyed on signals only: a resource whose key
    // reads another resource can be asked for its key after the page's owner is gone
    // during server rendering.
    let runs_ended = RwSignal::new(0u32);
    let metrics = Resource::new(
        move || (run.version().get(), runs_ended.get()),
        |_| load_tenant_metrics(),
    );
    let can_configure = user.can_configure();
    let add = ServerAction::<AddIntegration>::new();
    let addable = Resource::new(move || add.version().get(), |_| addable_providers());
    // Live status: the server pushes each changed integration's summary, put in place over
    // the list (no request); the page polls only while that stream is not open.
    let live = crate::live::subscribe(
        move |summary| {
            pushes.update_value(|n| *n += 1);
            let n = pushes.get_value();
            pushed.update(|p| {
                p.insert(summary.slug.clone(), (n, summary));
            })
        },
        move || tick.update(|n| *n = n.wrapping_add(1)),
    );
    let running = Memo::new(move |_| {
        !live.get()
            && items()
                .and_then(Result::ok)
                .is_some_and(|items| any_running(&items))
    });
    poll_while(running, tick);

    // A toast when a run the page saw going has ended.
    let toasts = RwSignal::new(Vec::<(u32, String)>::new());
    let seen = StoredValue::new(HashMap::<String, Option<RunStatus>>::new());
    Effect::new(move |_| {
        let Some(Ok(items)) = items() else { return };
        let mut ended = Vec::new();
        seen.update_value(|seen| {
            for i in &items {
                let now = i.status();
                if seen.get(&i.slug).copied().flatten() == Some(RunStatus::Running)
                    && now != Some(RunStatus::Running)
                {
                    ended.extend(ended_message(&i.name, now));
                }
                seen.insert(i.slug.clone(), now);
            }
        });
        if !ended.is_empty() {
            runs_ended.update(|n| *n = n.wrapping_add(1));
        }
        for message in ended {
            crate::components::push_toast(toasts, message);
        }
    });

    view! {
        <AppHeader user refresh=runs_ended/>
        <main class="page">
            <nav class="breadcrumb" aria-label="Navegação">
                <a href="/">"Início"</a>
                <span aria-hidden="true">" / "</span>
                <span>"Integrações"</span>
            </nav>
            <div class="page-head">
                <h1>"Integrações"</h1>
                {can_configure.then(|| view! {
                    <a class="btn btn-small" href="/integracoes/auditoria">"Auditoria"</a>
                })}
            </div>
            <Transition fallback=|| view! { <p class="loading" role="status">"Carregando métricas…"</p> }>
                {move || Suspend::new(async move {
                    match metrics.await {
                        Ok(m) => view! { <MetricsPanel m/> }.into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    }
                })}
            </Transition>
            {move || {
                toggle
                    .value()
                    .get()
                    .and_then(Result::err)
                    .map(|e| view! { <ErrorBox message=error_text(&e)/> })
            }}
            {move || {
                run.value()
                    .get()
                    .and_then(Result::err)
                    .map(|e| view! { <ErrorBox message=error_text(&e)/> })
            }}
            {move || {
                cancel
                    .value()
                    .get()
                    .and_then(Result::err)
                    .map(|e| view! { <ErrorBox message=error_text(&e)/> })
            }}
            {move || {
                resume
                    .value()
                    .get()
                    .and_then(Result::err)
                    .map(|e| view! { <ErrorBox message=error_text(&e)/> })
            }}
            <Transition fallback=|| view! { <p class="loading" role="status">"Carregando integrações…"</p> }>
                {move || Suspend::new(async move {
                    // Tracked before the await, so that a push re-renders the list; read
                    // after it, so that the list shows the latest pushes, not those there
                    // were when this render began waiting.
                    pushed.track();
                    let list = list.await;
                    let pushed = pushed.get_untracked();
                    match list_with(Some(list), &pushed).unwrap_or_else(|| Ok(Vec::new())) {
                        Ok(items) if items.is_empty() => view! {
                            <p class="empty">
                                "Nenhuma integração configurada para esta organização. "
                                {if can_configure {
                                    "Adicione uma do catálogo abaixo."
                                } else {
                                    "Peça a um administrador para adicionar uma integração do catálogo."
                                }}
                            </p>
                        }
                        .into_any(),
                        Ok(items) => view! {
                            <ul class="integration-grid" aria-label="Integrações">
                                {items
                                    .into_iter()
                                    .map(|i| view! { <IntegrationCard item=i toggle run cancel resume can_configure/> })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    }
                })}
            </Transition>
            {can_configure.then(|| view! { <AddIntegrationPanel addable add/> })}
            {can_configure.then(|| view! { <AlertsPanel/> })}
            <Toasts toasts/>
        </main>
    }
}

/// *Adicionar integração*: the catalog's providers the tenant does not have yet. Adding one
/// creates it turned off and opens its configuration.
#[component]
fn AddIntegrationPanel(
    addable: Resource<Result<Vec<CatalogProvider>, ServerFnError>>,
    add: ServerAction<AddIntegration>,
) -> impl IntoView {
    view! {
        <section class="add-integration" aria-labelledby="adicionar-titulo">
            <h2 id="adicionar-titulo">"Adicionar integração"</h2>
            {move || add.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=error_text(&e)/> })}
            <Transition fallback=|| view! { <p class="loading" role="status">"Carregando catálogo…"</p> }>
                {move || Suspend::new(async move {
                    match addable.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted">"Esta organização já tem todas as integrações do catálogo."</p>
                        }
                        .into_any(),
                        Ok(list) => view! {
                            <ul class="catalog" aria-label="Catálogo de integrações">
                                {list
                                    .into_iter()
                                    .map(|p| {
                                        let CatalogProvider { slug, name, category, description } = p;
                                        let label = format!("Adicionar {name}");
                                        let data_slug = slug.clone();
                                        view! {
                                            <li class="catalog-item" data-slug=data_slug>
                                                <div>
                                                    <strong>{name}</strong>
                                                    <span class="muted">" · " {category_label(&category).to_owned()}</span>
                                                    {description.map(|d| view! { <p class="muted">{d}</p> })}
                                                </div>
                                                <ActionForm action=add>
                                                    <input type="hidden" name="slug" value=slug/>
                                                    <button type="submit" class="btn btn-small btn-primary"
                                                        disabled=move || add.pending().get()
                                                        aria-label=label>
                                                        "Adicionar"
                                                    </button>
                                                </ActionForm>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                        .into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The tenant's last 30 days in four numbers.
#[component]
fn MetricsPanel(m: model::TenantMetrics) -> impl IntoView {
    view! {
        <section class="metrics" aria-label="Métricas dos últimos 30 dias">
            <Metric value=percent_pt(m.metrics.success_rate) label="Taxa de sucesso (30 dias)" testid="metric-success-rate"/>
            <Metric value=duration_pt(m.metrics.avg_ms) label="Tempo médio"/>
            <Metric value=m.metrics.runs.to_string() label="Execuções" testid="metric-runs"/>
            <Metric value=m.failing_now.to_string() label="Com erro agora" testid="metric-failing" alert={m.failing_now > 0}/>
        </section>
    }
}

#[component]
fn IntegrationCard(
    item: IntegrationSummary,
    toggle: ServerAction<SetIntegrationEnabled>,
    run: ServerAction<RunIntegration>,
    cancel: ServerAction<CancelRun>,
    resume: ServerAction<ResumeIntegration>,
    can_configure: bool,
) -> impl IntoView {
    let status = item.status();
    let running = status == Some(RunStatus::Running);
    let enabled = item.is_enabled;
    let runnable = item.has_connector;
    let slug = item.slug.clone();
    let name = item.name.clone();
    let detail = format!("/integracoes/{}", item.slug);
    let category = item
        .category
        .as_deref()
        .map(category_label)
        .unwrap_or("—")
        .to_owned();
    let toggle_form = can_configure.then(|| {
        view! { <ToggleButton slug=slug.clone() name=name.clone() enabled toggle small=true/> }
    });
    view! {
        <li class="integration-card" data-slug=item.slug.clone()>
            <div class="card-head">
                <LucideIcon name=category_icon(item.category.as_deref()).to_owned() fallback=name.chars().next().unwrap_or('•').to_string() class="card-icon"/>
                <h2><a href=detail.clone()>{name.clone()}</a></h2>
                <StatusBadge status disabled=!enabled queued=item.is_queued()/>
            </div>
            <p class="muted">{category}</p>
            {item.queue_line().map(|q| view! { <p class="queue-line" data-testid="queue-line">{q}</p> })}
            <p class="last-run">"Última execução: " <Ago seconds=item.last_run_seconds_ago exact=item.last_run.clone()/></p>
            {item.last_webhook.clone().map(|at| view! {
                <p class="last-webhook" data-testid="last-webhook">"Último webhook: " <Ago seconds=item.last_webhook_seconds_ago exact=Some(at)/></p>
            })}
            {item.totals_line().filter(|_| !running).map(|t| view! { <p class="last-totals">{t}</p> })}
            {(!runnable).then(|| view! { <p class="muted no-connector" data-testid="no-connector">{model::NO_CONNECTOR}</p> })}
            {item.paused_after.map(|failures| view! {
                <PausedNotice slug=slug.clone() name=name.clone() failures can_resume=can_configure resume/>
            })}
            {item.progress.filter(|_| running).map(|p| view! {
                <div class="progress">
                    <progress max="100" value=p.to_string() aria-label=format!("Progresso de {}", item.name)></progress>
                    <span>{format!("{p}%")}</span>
                </div>
            })}
            <div class="card-actions">
                {running.then(|| view! {
                    <CancelButton slug=slug.clone() name=name.clone() cancel small=true/>
                })}
                <ActionForm action=run>
                    <input type="hidden" name="slug" value=slug/>
                    <button
                        type="submit"
                        class="btn btn-small btn-primary"
                        disabled=move || !enabled || !runnable || running || run.pending().get()
                        title=(!runnable).then_some(model::NO_CONNECTOR)
                        aria-label=format!("Executar {name}")
                    >
                        {if running { "Executando…" } else { "Executar" }}
                    </button>
                </ActionForm>
                <a class="btn btn-small" href=format!("{detail}#configuracao") aria-label=format!("Configurar {}", item.name)>"Configurar"</a>
                <a class="btn btn-small" href=format!("{detail}#historico") aria-label=format!("Logs de {}", item.name)>"Logs"</a>
                {toggle_form}
            </div>
            {can_configure.then(|| view! { <CardTest slug=item.slug.clone()/> })}
        </li>
    }
}

/// *Testar conexão* on a card (admins), with its answer under the buttons.
#[component]
fn CardTest(slug: String) -> impl IntoView {
    let test = ServerAction::<TestConnection>::new();
    view! { <TestButton slug test/> }
}
