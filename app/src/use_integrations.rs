//! The integrations of the current tenant, as every page reads and changes them (the
//! seed's `useIntegrations` hook): the server functions, and `use_live_list`, which keeps
//! a list fresh while a run is going.

use leptos::prelude::*;
use model::{
    AttemptDetail, HistoryPage, IntegrationDetail, IntegrationSummary, RunStatus, TenantMetrics,
};

#[cfg(feature = "ssr")]
use crate::ssr;

/// How often a page looks again while a run is going.
pub const POLL_MS: u64 = 2000;
/// The metrics window.
pub const METRICS_DAYS: i32 = 30;

/// The integrations of the tenant chosen in the header, read under row-level security.
#[server(endpoint = "list-integrations")]
pub async fn list_integrations() -> Result<Vec<IntegrationSummary>, ServerFnError> {
    let (state, _, user, mut tx) = ssr::session_scope().await?;
    let Some(tenant) = user.current_tenant else {
        ssr::end_read(tx);
        return Ok(Vec::new());
    };
    let mut list = backend::integrations::list_for_tenant(&mut tx, tenant.id)
        .await
        .map_err(|e| ssr::fail(e.into()))?;
    state.registry.mark(&mut list);
    ssr::end_read(tx);
    Ok(list)
}

/// Turns an integration of the current tenant on or off (tenant admins and global admins).
#[server(endpoint = "set-integration-enabled")]
pub async fn set_integration_enabled(slug: String, enabled: bool) -> Result<(), ServerFnError> {
    let (state, claims, user) = ssr::caller_session().await?;
    let tenant = match (&user.current_tenant, user.can_configure()) {
        (Some(t), true) => t.id,
        _ => {
            return Err(ssr::fail(backend::Error::Forbidden(
                "Apenas administradores da organização podem ativar ou desativar integrações."
                    .into(),
            )))
        }
    };
    let actor = ssr::actor(&user).await;
    let mut tx = ssr::begin(&state, &claims).await?;
    backend::integrations::set_enabled(&mut tx, tenant, &slug, enabled, &actor)
        .await
        .map_err(ssr::fail)?;
    ssr::commit(tx).await
}

/// *Executar*, and *Tentar novamente* with `rerun_of` (the execution it repeats, recorded
/// on the new one with the trigger `rerun`): starts a run of an integration of the current
/// tenant through the orchestrator. Any member may run; a disabled or running integration
/// is refused with 409. Returns the execution id.
#[server(endpoint = "run-integration")]
pub async fn run_integration(
    slug: String,
    rerun_of: Option<String>,
) -> Result<String, ServerFnError> {
    use backend::runs::Claim;
    let rerun_of = match rerun_of.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            uuid::Uuid::parse_str(s)
                .map_err(|_| ssr::fail(backend::Error::Invalid("Execução inválida.".into())))?,
        ),
    };
    let (state, user, tenant, mut tx) = ssr::tenant_scope().await?;
    state.run_limiter.check(user.id).map_err(ssr::fail)?;
    backend::audit::bind(&mut tx, &ssr::actor(&user).await)
        .await
        .map_err(ssr::fail)?;
    backend::engine::check_runnable(&mut tx, &state.registry, &slug)
        .await
        .map_err(ssr::fail)?;
    let claim = match rerun_of {
        Some(of) => backend::engine::start_rerun(&mut tx, tenant, &slug, of).await,
        None => backend::engine::start_run(&mut tx, tenant, &slug, model::Trigger::Manual).await,
    };
    match claim.map_err(ssr::fail)? {
        Claim::Started(id) => {
            ssr::commit(tx).await?;
            Ok(id.to_string())
        }
        Claim::AlreadyRunning(_) => Err(ssr::fail(backend::Error::Conflict(
            "A integração já está em execução.".into(),
        ))),
    }
}

/// *Cancelar*: stops a run of an integration of the current tenant (any member who may
/// run it). With `execution_id` (the drawer) that execution of this integration and no
/// other: if it ended meanwhile the answer says so, even when another run of the
/// integration has started since. Without it (the card) the integration's running
/// execution. Audited; the run ends `cancelled` and is not retried.
#[server(endpoint = "cancel-run")]
pub async fn cancel_run(slug: String, execution_id: Option<String>) -> Result<(), ServerFnError> {
    let execution = match execution_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => Some(
            uuid::Uuid::parse_str(s)
                .map_err(|_| ssr::fail(backend::Error::Invalid("Execução inválida.".into())))?,
        ),
    };
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    let actor = ssr::actor(&user).await;
    match execution {
        Some(id) => backend::engine::cancel_in(&mut tx, tenant, &slug, id, &actor).await,
        None => backend::engine::cancel_running(&mut tx, tenant, &slug, &actor).await,
    }
    .map_err(ssr::fail)?;
    ssr::commit(tx).await
}

/// The metrics panel of `/integracoes`.
#[server(endpoint = "tenant-metrics")]
pub async fn load_tenant_metrics() -> Result<TenantMetrics, ServerFnError> {
    let (state, _, tenant, mut tx) = ssr::tenant_scope().await?;
    let summary = backend::metrics::summary(&mut tx, tenant, None, METRICS_DAYS)
        .await
        .map_err(ssr::fail)?;
    let connectors: Vec<String> = state.registry.slugs().map(str::to_owned).collect();
    let failing_now = backend::metrics::failing_now(&mut tx, tenant, &connectors)
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    Ok(TenantMetrics {
        metrics: summary,
        failing_now,
    })
}

/// The head of `/integracoes/:slug`: the integration, its 30-day metrics and chart.
#[server(endpoint = "integration-detail")]
pub async fn load_integration_detail(slug: String) -> Result<IntegrationDetail, ServerFnError> {
    let (state, user, tenant, mut tx) = ssr::tenant_scope().await?;
    let (mut summary, description, schedule, last_error) =
        backend::integrations::detail(&mut tx, tenant, &slug)
            .await
            .map_err(ssr::fail)?;
    state.registry.mark(std::slice::from_mut(&mut summary));
    let (metrics, per_day) = backend::metrics::window(&mut tx, tenant, Some(&slug), METRICS_DAYS)
        .await
        .map_err(ssr::fail)?;
    // Only OneCode receives deliveries, and only admins configure them (the database
    // checks the role again).
    let webhook_path = if slug == crate::use_contact_reviews::ONECODE && user.can_configure() {
        backend::integrations::webhook_path(&mut tx, tenant, &slug)
            .await
            .map_err(ssr::fail)?
    } else {
        None
    };
    ssr::end_read(tx);
    let today = chrono::Utc::now().date_naive();
    Ok(IntegrationDetail {
        summary,
        description,
        schedule,
        last_error,
        metrics,
        chart_svg: backend::charts::runs_per_day_svg(&per_day, i64::from(METRICS_DAYS), today),
        webhook_path,
    })
}

/// A page of the integration's history; bad filters get a 422 with a pt-BR message.
#[server(endpoint = "integration-history")]
pub async fn integration_history(
    slug: String,
    status: Option<String>,
    trigger: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page_size: Option<String>,
    before: Option<String>,
) -> Result<HistoryPage, ServerFnError> {
    let query = model::HistoryQuery {
        status,
        trigger,
        from,
        to,
        page_size,
        before,
    };
    let filters = backend::history::Filters::parse(&query).map_err(ssr::fail)?;
    let (_, _, tenant, mut tx) = ssr::tenant_scope().await?;
    let page = backend::history::page(&mut tx, tenant, &slug, &filters)
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    Ok(page)
}

/// The attempts of one execution of the current tenant.
#[server(endpoint = "execution-attempts")]
pub async fn execution_attempts(execution_id: String) -> Result<Vec<AttemptDetail>, ServerFnError> {
    let id = uuid::Uuid::parse_str(execution_id.trim())
        .map_err(|_| ssr::fail(backend::Error::Invalid("Execução inválida.".into())))?;
    let (_, _, tenant, mut tx) = ssr::tenant_scope().await?;
    let attempts = backend::history::execution(&mut tx, tenant, id)
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    if attempts.is_empty() {
        return Err(ssr::fail(backend::Error::NotFound(
            "Execução não encontrada.".into(),
        )));
    }
    Ok(attempts)
}

/// Whether any of `items` is running.
pub fn any_running(items: &[IntegrationSummary]) -> bool {
    items.iter().any(|i| i.status() == Some(RunStatus::Running))
}

/// Bumps `tick` every [`POLL_MS`] while `running` holds (in the browser only: effects do
/// not run on the server). Resources that read `tick` refetch.
pub fn poll_while(running: Memo<bool>, tick: RwSignal<u32>) {
    Effect::new(move |_| {
        if running.get() {
            if let Ok(handle) = set_interval_with_handle(
                move || tick.update(|n| *n = n.wrapping_add(1)),
                std::time::Duration::from_millis(POLL_MS),
            ) {
                on_cleanup(move || handle.clear());
            }
        }
    });
}

/// The configuration form of an integration of the current tenant (read-only for staff).
#[server(endpoint = "config-form")]
pub async fn load_config_form(slug: String) -> Result<model::ConfigForm, ServerFnError> {
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    let form = backend::config_form::form(&mut tx, tenant, &slug, user.can_configure())
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    Ok(form)
}

/// Saves the configuration form (tenant admins): the values in `config[<key>]`, the
/// schedule. Field errors come back in the outcome (nothing is saved then).
#[server(endpoint = "save-config")]
pub async fn save_integration_config(
    slug: String,
    config: Option<std::collections::HashMap<String, String>>,
    schedule: Option<String>,
    pause_after_failures: Option<String>,
) -> Result<model::SaveOutcome, ServerFnError> {
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    if !user.can_configure() {
        return Err(ssr::fail(backend::Error::Forbidden(
            "Apenas administradores da organização podem alterar a configuração.".into(),
        )));
    }
    let actor = ssr::actor(&user).await;
    let outcome = backend::config_form::save(
        &mut tx,
        tenant,
        &slug,
        &config.unwrap_or_default(),
        backend::config_form::RunSettings {
            schedule: schedule.as_deref(),
            pause_after_failures: pause_after_failures.as_deref(),
        },
        &actor,
    )
    .await
    .map_err(ssr::fail)?;
    if outcome.saved {
        ssr::commit(tx).await?;
    }
    Ok(outcome)
}
