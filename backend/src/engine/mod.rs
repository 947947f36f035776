//! The orchestrator (DESIGN.md §4): the seed's eight steps behind every entry point.
//!
//! Steps 1–6 run in [`start_run`], inside the caller's transaction: take `{tenant,
//! provider}`, the caller is whoever the transaction is scoped to (step 2), load and refuse
//! when disabled (3, in the claim), the plan gate (4), the atomic claim that writes the
//! `running` log row (5) and the queue job, committed with it (6). Steps 7–8 run in a
//! worker: [`Engine::execute`] runs the plugin with a timeout, a heartbeat and cancellation,
//! then [`Engine::conclude`] writes the attempt's result and `last_status` / `last_error`
//! in one transaction, or hands a retryable failure to a new attempt of the same
//! execution.
//!
//! One file per job: [`config`] (tunables, backoff), [`worker`] (an attempt from its job to
//! its result, with its heartbeat lease), [`conclude`] (writing the result), [`reaper`]
//! (attempts whose worker was lost), [`cancel`] (a person stopping a run), [`retention`].

mod cancel;
mod conclude;
mod config;
mod reaper;
mod retention;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::providers::{Outcome, ProviderError, Registry};
use crate::runs::{self, Claim};
use crate::{Error, Result};
use model::Trigger;

pub use cancel::{cancel_in, cancel_run, cancel_running, CancelOutcome};
pub use config::EngineConfig;

/// Step 4: the plan gate. Every plan may run every integration today; the seed's
/// `plan_feature_code` will be checked here when plans arrive.
pub async fn plan_allows(
    _tx: &mut Transaction<'static, Postgres>,
    _tenant_id: Uuid,
    _provider_slug: &str,
) -> Result<bool> {
    Ok(true)
}

/// Steps 3–6 for any entry point, in the caller's transaction (scoped by
/// [`crate::scope::begin_as`] for users, [`crate::scope::begin_service`] for schedules):
/// refuses a disabled or unknown integration, claims it, and enqueues the first attempt.
/// Commit the transaction to start the run.
pub async fn start_run(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: &str,
    trigger: Trigger,
) -> Result<Claim> {
    if !plan_allows(tx, tenant_id, provider_slug).await? {
        return Err(Error::Forbidden(
            "O plano desta organização não inclui esta integração.".into(),
        ));
    }
    // The caller must belong to the tenant, checked under their own row-level security
    // (the service may start any). Then the claim and its queue job, both the server's
    // (a user reaches neither through PostgREST), as service_role in the caller's
    // transaction, so they commit together; the claim records the caller as the actor.
    if !may_run(tx, tenant_id).await? {
        return Err(Error::NotFound(
            "Integração não encontrada para esta organização.".into(),
        ));
    }
    let previous = crate::scope::elevate(tx).await?;
    let claim = runs::claim(tx, tenant_id, provider_slug, trigger).await;
    let claim = match claim {
        Ok(Claim::Started(execution_id)) => enqueue(tx, execution_id, 1, None)
            .await
            .map(|()| Claim::Started(execution_id)),
        other => other,
    };
    // After a refusal the transaction is aborted (and will roll back): its error is the
    // answer, and there is no role to restore.
    if claim.is_ok() {
        crate::scope::restore_role(tx, &previous).await?;
    }
    claim
}

/// Whether this server can run `provider_slug` at all: a provider of the catalog without a
/// connector is refused (409, saying why), one outside the catalog is not found (404).
/// Every entry point asks before [`start_run`]; schedules skip such integrations.
pub async fn check_runnable(
    tx: &mut Transaction<'static, Postgres>,
    registry: &Registry,
    provider_slug: &str,
) -> Result<()> {
    if registry.get(provider_slug).is_some() {
        return Ok(());
    }
    let in_catalog = sqlx::query_scalar!(
        r#"select exists (select 1 from public.integration_providers where slug = $1) as "found!""#,
        provider_slug
    )
    .fetch_one(&mut **tx)
    .await?;
    if in_catalog {
        registry.require(provider_slug)
    } else {
        Err(Error::NotFound(
            "Integração não encontrada para esta organização.".into(),
        ))
    }
}

/// *Tentar novamente*: starts a run of the integration that repeats execution `of` (which
/// the caller must see, in this tenant and integration), with trigger `rerun` and
/// `rerun_of` recorded on the new execution.
pub async fn start_rerun(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: &str,
    of: Uuid,
) -> Result<Claim> {
    require_execution_of(tx, tenant_id, provider_slug, of).await?;
    let claim = start_run(tx, tenant_id, provider_slug, Trigger::Rerun).await?;
    if let Claim::Started(id) = claim {
        let previous = crate::scope::elevate(tx).await?;
        sqlx::query!(
            "update public.integration_logs set rerun_of = $2 where execution_id = $1 and attempt = 1",
            id,
            of
        )
        .execute(&mut **tx)
        .await?;
        crate::scope::restore_role(tx, &previous).await?;
    }
    Ok(claim)
}

/// 404 unless `execution_id` is an execution of the tenant's integration `provider_slug`
/// that the caller sees (read under their row-level security; old rows keyed by the
/// tenant's slug count). What a re-run and the drawer's *Cancelar* name must be this.
pub(crate) async fn require_execution_of(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    provider_slug: &str,
    execution_id: Uuid,
) -> Result<()> {
    let keys = crate::history::tenant_keys(tx, tenant_id).await?;
    let known = sqlx::query_scalar!(
        r#"select exists (select 1 from public.integration_logs l
                          where l.execution_id = $1 and l.provider_slug = $2
                            and l.tenant_id = any($3::text[])) as "known!""#,
        execution_id,
        provider_slug,
        &keys
    )
    .fetch_one(&mut **tx)
    .await?;
    if known {
        Ok(())
    } else {
        Err(Error::NotFound("Execução não encontrada.".into()))
    }
}

/// Whether the transaction's caller may run the tenant's integrations: the service, or a
/// member (read under the caller's own row-level security). Starting and cancelling ask.
pub(crate) async fn may_run(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
) -> Result<bool> {
    Ok(sqlx::query_scalar!(
        r#"select public.caller_is_service() or public.is_tenant_member($1) as "allowed!""#,
        tenant_id
    )
    .fetch_one(&mut **tx)
    .await?)
}

async fn enqueue(
    tx: &mut Transaction<'static, Postgres>,
    execution_id: Uuid,
    attempt: i32,
    run_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<()> {
    sqlx::query!(
        "select public.enqueue_integration_run($1, $2, $3)",
        execution_id,
        attempt,
        run_at
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What the worker needs: the pool, the plugins, an HTTP client and the tunables.
#[derive(Clone)]
pub struct Engine {
    pub pool: PgPool,
    pub registry: Arc<Registry>,
    pub http: reqwest::Client,
    pub config: Arc<EngineConfig>,
    /// Cancelled when the process shuts down: running attempts stop and are retried.
    pub shutdown: CancellationToken,
    /// `host:pid`, written on the attempts this process runs.
    pub worker_id: String,
    /// Decrypts the tenants' credentials for their runs.
    pub keyring: Arc<crate::vault::Keyring>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("providers", &self.registry.slugs().collect::<Vec<_>>())
            .field("config", &self.config)
            .finish()
    }
}

/// How an attempt ended, for [`Engine::conclude`].
pub type AttemptResult = std::result::Result<Outcome, ProviderError>;

impl Engine {
    pub fn new(
        pool: PgPool,
        registry: Registry,
        keyring: Arc<crate::vault::Keyring>,
        config: EngineConfig,
    ) -> Self {
        Self {
            pool,
            http: crate::providers::http_client(),
            registry: Arc::new(registry),
            keyring,
            config: Arc::new(config),
            shutdown: CancellationToken::new(),
            worker_id: format!(
                "{}:{}",
                std::fs::read_to_string("/etc/hostname")
                    .map(|h| h.trim().to_owned())
                    .unwrap_or_else(|_| "localhost".into()),
                std::process::id()
            ),
        }
    }

    fn timeout_for(&self, slug: &str, plugin_default: Duration) -> Duration {
        self.config
            .timeouts
            .get(slug)
            .copied()
            .unwrap_or(plugin_default)
    }
}
