//! The head of the detail page: name and status, the last run and its error, the pause
//! after consecutive failures, *Executar*/*Cancelar*/*Ativar*, the 30-day numbers and chart.

use leptos::prelude::*;
use leptos_meta::Title;
use model::{duration_pt, percent_pt, IntegrationDetail, RunStatus};

use crate::components::{
    error_text, Ago, CancelButton, ErrorBox, Metric, PausedNotice, StatusBadge, ToggleButton,
};
use crate::use_alerts::ResumeIntegration;
use crate::use_integrations::{CancelRun, RunIntegration, SetIntegrationEnabled};

#[component]
pub(super) fn Head(
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
        view! { <ToggleButton slug=s.slug.clone() name=s.name.clone() enabled toggle/> }
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
            <StatusBadge status disabled=!enabled queued=s.is_queued()/>
        </div>
        {s.queue_line().map(|q| view! { <p class="queue-line" data-testid="queue-line">{q}</p> })}
        {d.description.clone().map(|t| view! { <p class="muted">{t}</p> })}
        <p class="last-run">"Última execução: " <Ago seconds=s.last_run_seconds_ago exact=s.last_run.clone()/></p>
        {s.last_webhook.clone().map(|at| view! {
            <p class="last-webhook" data-testid="last-webhook">"Último webhook: " <Ago seconds=s.last_webhook_seconds_ago exact=Some(at)/></p>
        })}
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
