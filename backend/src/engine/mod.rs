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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::BackoffBuilder;
use futures::FutureExt;
use sqlx::{PgPool, Postgres, Transaction};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::providers::{Outcome, Progress, ProviderError, Registry, RunContext, Secrets};
use crate::redact::sanitise;
use crate::runs::{self, Claim};
use crate::scope::begin_service;
use crate::{Error, Result};
use model::Trigger;

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
/// [`crate::scope::begin_as`] for users, [`begin_service`] for schedules): refuses a
/// disabled or unknown integration, claims it, and enqueues the first attempt. Commit the
/// transaction to start the run.
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
    let allowed = sqlx::query_scalar!(
        r#"select public.caller_is_service() or public.is_tenant_member($1) as "allowed!""#,
        tenant_id
    )
    .fetch_one(&mut **tx)
    .await?;
    if !allowed {
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

/// Tunables of the engine; [`EngineConfig::default`] holds the documented defaults.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// How often a running attempt writes `heartbeat_at` (and reads a cancel request).
    pub heartbeat_every: Duration,
    /// A running attempt whose heartbeat is older than this lost its worker.
    pub stale_after: Duration,
    /// How often each worker looks for such attempts.
    pub reap_every: Duration,
    /// Attempts per execution, the first included.
    pub max_attempts: i32,
    /// Backoff between attempts: the first delay, and the cap.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Per-provider timeouts that override the plugin's own.
    pub timeouts: HashMap<String, Duration>,
    /// Log rows older than this many days are deleted by the retention job.
    pub retention_days: i32,
    /// How often an idle worker polls for jobs whose time came (new jobs arrive at once
    /// through LISTEN/NOTIFY).
    pub queue_poll_every: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            heartbeat_every: Duration::from_secs(10),
            stale_after: Duration::from_secs(60),
            reap_every: Duration::from_secs(30),
            max_attempts: 3,
            backoff_min: Duration::from_secs(5),
            backoff_max: Duration::from_secs(300),
            timeouts: HashMap::new(),
            retention_days: 180,
            queue_poll_every: Duration::from_secs(2),
        }
    }
}

impl EngineConfig {
    /// The delay before attempt `next_attempt` (2, 3, ...): capped exponential backoff
    /// with full jitter (backon), never shorter than the provider's `Retry-After`.
    pub fn retry_delay(&self, next_attempt: i32, retry_after: Option<Duration>) -> Duration {
        let n = usize::try_from(next_attempt.saturating_sub(2)).unwrap_or(0);
        let backoff = backon::ExponentialBuilder::default()
            .with_min_delay(self.backoff_min)
            .with_max_delay(self.backoff_max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(n)
            .unwrap_or(self.backoff_max);
        match retry_after {
            Some(ra) => backoff.max(ra.min(Duration::from_secs(3600))),
            None => backoff,
        }
    }
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

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The attempt a job refers to, as the worker loads it.
struct Attempt {
    tenant_id: Uuid,
    integration_id: Uuid,
    provider_slug: String,
    config: serde_json::Value,
    secrets: Secrets,
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

    /// Step 6–8 for one queued attempt. Does nothing when the attempt is no longer
    /// `running` (it was reaped, cancelled, or this job is a late duplicate).
    pub async fn execute(&self, execution_id: Uuid, attempt: i32) -> Result<()> {
        let Some(a) = self.load(execution_id, attempt).await? else {
            tracing::info!(%execution_id, attempt, "attempt no longer running; skipped");
            return Ok(());
        };
        let started = Instant::now();
        let result = match self.registry.get(&a.provider_slug) {
            None => Err(ProviderError::Permanent(format!(
                "Nenhum plugin instalado para o provedor {}.",
                a.provider_slug
            ))),
            Some(plugin) => {
                let cancel = self.shutdown.child_token();
                let progress = Progress::default();
                let ctx = RunContext {
                    tenant_id: a.tenant_id,
                    integration_id: a.integration_id,
                    execution_id,
                    attempt,
                    config: a.config.clone(),
                    secrets: a.secrets.clone(),
                    http: self.http.clone(),
                    cancel: cancel.clone(),
                    progress: progress.clone(),
                    db: self.pool.clone(),
                };
                let timeout = self.timeout_for(&a.provider_slug, plugin.default_timeout());
                // Aborted when this scope ends, even by a panic: a dead attempt must stop
                // beating so that the reaper can find it.
                let _heartbeat = AbortOnDrop(tokio::spawn(self.clone().heartbeat(
                    execution_id,
                    attempt,
                    cancel.clone(),
                    progress,
                )));
                let guarded = std::panic::AssertUnwindSafe(plugin.run(ctx)).catch_unwind();
                let r = tokio::select! {
                    r = guarded => r.unwrap_or_else(|_| {
                        tracing::error!(%execution_id, "provider panicked");
                        Err(ProviderError::Permanent("erro interno no conector".into()))
                    }),
                    () = tokio::time::sleep(timeout) => Err(ProviderError::Transient(format!(
                        "tempo limite de {} s excedido", timeout.as_secs()
                    ))),
                    () = cancel.cancelled() => Err(ProviderError::Cancelled),
                };
                cancel.cancel();
                // A provider that echoes a credential back (in an error text, a payload or a
                // response) must not get it stored or logged: scrub every value first.
                let r = r
                    .map(|mut o| {
                        o.payload = a.secrets.scrub_json(&o.payload);
                        o.response = a.secrets.scrub_json(&o.response);
                        o
                    })
                    .map_err(|e| a.secrets.scrub_error(e));
                // A shutdown is not the run's fault: it goes back to the queue.
                match r {
                    Err(ProviderError::Cancelled) if self.shutdown.is_cancelled() => {
                        Err(ProviderError::Transient(
                            "o worker foi encerrado durante a execução".into(),
                        ))
                    }
                    other => other,
                }
            }
        };
        let elapsed_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        self.conclude(execution_id, attempt, elapsed_ms, result)
            .await
    }

    async fn load(&self, execution_id: Uuid, attempt: i32) -> Result<Option<Attempt>> {
        let mut tx = begin_service(&self.pool).await?;
        let row = sqlx::query!(
            r#"update public.integration_logs l
               set heartbeat_at = now(), started_at = now(), worker = $3
               where l.execution_id = $1 and l.attempt = $2 and l.status = 'running'
               returning l.tenant_id, l.provider_slug as "provider_slug!""#,
            execution_id,
            attempt,
            self.worker_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let tenant_id = Uuid::parse_str(&row.tenant_id)
            .map_err(|_| Error::Invalid("tenant_id inválido no registro de execução".into()))?;
        let inputs =
            crate::vault::run_inputs(&mut tx, &self.keyring, tenant_id, &row.provider_slug).await?;
        tx.commit().await?;
        let (integration_id, config, secrets) = inputs
            .map(|i| (i.tenant_integration_id, i.config, i.secrets))
            .unwrap_or_default();
        Ok(Some(Attempt {
            tenant_id,
            integration_id,
            provider_slug: row.provider_slug,
            config,
            secrets,
        }))
    }

    /// Writes `heartbeat_at` and progress every `heartbeat_every`; cancels the attempt when
    /// a user asked for it or the row is no longer `running` (the reaper ended it).
    async fn heartbeat(
        self,
        execution_id: Uuid,
        attempt: i32,
        cancel: CancellationToken,
        progress: Progress,
    ) {
        let mut tick = tokio::time::interval(self.config.heartbeat_every);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = cancel.cancelled() => return,
            }
            let beat = sqlx::query_scalar!(
                r#"update public.integration_logs
                   set heartbeat_at = now(), progress = coalesce($3, progress)
                   where execution_id = $1 and attempt = $2 and status = 'running'
                   returning cancel_requested_at is not null as "cancel!""#,
                execution_id,
                attempt,
                progress.get()
            )
            .fetch_optional(&self.pool)
            .await;
            match beat {
                Ok(Some(false)) => {}
                Ok(Some(true)) | Ok(None) => {
                    cancel.cancel();
                    return;
                }
                Err(e) => tracing::warn!(error = %e, %execution_id, "heartbeat failed"),
            }
        }
    }

    /// Steps 7–8: ends the attempt with its result, in one transaction with
    /// `tenant_integrations`; a retryable error with attempts left becomes a new attempt of
    /// the same execution, queued after a backoff. Only an attempt still `running` is
    /// touched, so a late result never overwrites what the reaper or a cancel wrote.
    pub async fn conclude(
        &self,
        execution_id: Uuid,
        attempt: i32,
        elapsed_ms: i32,
        result: AttemptResult,
    ) -> Result<()> {
        let mut tx = begin_service(&self.pool).await?;
        let (status, error_text, o) = match &result {
            Ok(o) if o.failed > 0 => ("partial", None, o.clone()),
            Ok(o) => ("success", None, o.clone()),
            // The provider's own words may carry anything: redacted like payloads.
            Err(e) => (
                "error",
                Some(crate::redact::redact_text(&e.to_string())),
                Outcome::default(),
            ),
        };
        let retry = match &result {
            Err(e) if e.is_retryable() && attempt < self.config.max_attempts => {
                let ra = match e {
                    ProviderError::RateLimited { retry_after } => *retry_after,
                    _ => None,
                };
                Some(self.config.retry_delay(attempt + 1, ra))
            }
            _ => None,
        };
        let shown_error = match (&error_text, retry) {
            (Some(t), Some(d)) => Some(format!(
                "{t} (nova tentativa {} de {} em {} s)",
                attempt + 1,
                self.config.max_attempts,
                d.as_secs().max(1)
            )),
            (t, _) => t.clone(),
        };
        let ended = sqlx::query!(
            r#"update public.integration_logs set
                 status = $3::text, error_message = $4, execution_time_ms = $5, finished_at = now(),
                 total_processados = $6, total_matched = coalesce($15::int, $7::int + $8::int), total_review = $9,
                 total_ignored = $10, total_created = $7, total_updated = $8,
                 total_unchanged = $11, total_failed = $12,
                 payload = $13, response = $14,
                 progress = case when $3::text in ('success', 'partial') then 100 else progress end
               where execution_id = $1 and attempt = $2 and status = 'running'
               returning tenant_id, provider_slug as "provider_slug!", integration"#,
            execution_id,
            attempt,
            status,
            shown_error,
            elapsed_ms,
            o.processed,
            o.created,
            o.updated,
            o.review,
            o.ignored,
            o.unchanged,
            o.failed,
            sanitise(&o.payload),
            sanitise(&o.response),
            o.matched,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = ended else {
            tracing::info!(%execution_id, attempt, "attempt already ended elsewhere");
            return Ok(());
        };
        let tenant_id = Uuid::parse_str(&row.tenant_id).ok();
        if let Some(delay) = retry {
            let run_at = chrono::Utc::now()
                + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::seconds(5));
            // The next attempt is `running` from now on (a second claim gets 409 with this
            // execution id); its heartbeat is set to when it may start, a lease the reaper
            // respects.
            sqlx::query!(
                r#"insert into public.integration_logs
                     (tenant_id, integration, provider_slug, status, trigger, attempt,
                      execution_id, heartbeat_at)
                   values ($1, $2, $3, 'running', 'retry', $4, $5, $6)"#,
                row.tenant_id,
                row.integration,
                row.provider_slug,
                attempt + 1,
                execution_id,
                run_at
            )
            .execute(&mut *tx)
            .await?;
            enqueue(&mut tx, execution_id, attempt + 1, Some(run_at)).await?;
            tracing::info!(%execution_id, attempt, ?delay, "attempt failed; retry queued");
        } else {
            tracing::info!(%execution_id, attempt, status, "run ended");
        }
        // `last_error` follows every attempt; `last_status` changes only when the run ends
        // (while a retry waits it stays `running`).
        if let Some(t) = tenant_id {
            sqlx::query!(
                r#"update public.tenant_integrations t
                   set last_status = coalesce($3, t.last_status), last_error = $4
                   from public.integration_providers p
                   where p.id = t.provider_id and t.tenant_id = $1 and p.slug = $2"#,
                t,
                row.provider_slug,
                retry.is_none().then_some(status),
                shown_error
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends (or retries) every running attempt whose heartbeat is older than `stale_after`
    /// and that is lost: a worker started it (and died), or no queue job exists for it (it
    /// was never queued, or its job is gone). An attempt whose job still waits in the queue
    /// is not lost, however long the queue is (more runs than workers). Returns how many it
    /// found.
    pub async fn reap_stale(&self) -> Result<usize> {
        let stale_secs = self.config.stale_after.as_secs_f64();
        let mut reaped = 0;
        // Paged by (created_at, id) so that rows left `running` (one that could not be
        // ended at all) never hide the ones after them from this round.
        let mut after: Option<(chrono::DateTime<chrono::Utc>, Uuid)> = None;
        loop {
            // Checked at run time (not by sqlx's macros): graphile_worker's schema is
            // installed by the queue at start, not by our migrations.
            let rows: Vec<(Uuid, Uuid, i32, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
                r#"select l.id, l.execution_id, l.attempt, l.created_at
                   from public.integration_logs l
                   where l.status = 'running'
                     and coalesce(l.heartbeat_at, l.started_at, l.created_at)
                         < now() - make_interval(secs => $1)
                     and (l.started_at is not null
                          or not exists (select 1 from graphile_worker._private_jobs j
                                         where j.key = 'run:' || l.execution_id || ':' || l.attempt))
                     and ($2::timestamptz is null or (l.created_at, l.id) > ($2, $3))
                   order by l.created_at, l.id
                   limit 100"#,
            )
            .bind(stale_secs)
            .bind(after.map(|a| a.0))
            .bind(after.map(|a| a.1))
            .fetch_all(&self.pool)
            .await?;
            let Some(&(last_id, _, _, last_created)) = rows.last() else {
                break;
            };
            after = Some((last_created, last_id));
            for &(id, execution_id, attempt, _) in &rows {
                tracing::warn!(%execution_id, attempt, "stale heartbeat: worker lost");
                // Each row on its own: one that cannot be concluded (its retry cannot be
                // written, say) is ended without a retry, and never stops the round.
                match self
                    .conclude(
                        execution_id,
                        attempt,
                        0,
                        Err(ProviderError::Transient(
                            "o worker parou de responder durante a execução (worker lost)".into(),
                        )),
                    )
                    .await
                {
                    Ok(()) => reaped += 1,
                    Err(e) => {
                        tracing::error!(%execution_id, attempt, error = %e, "could not conclude a stale attempt; ending it without a retry");
                        match self.end_unconcludable(id).await {
                            Ok(()) => reaped += 1,
                            Err(e) => {
                                tracing::error!(%execution_id, attempt, error = %e, "could not end a stale attempt; skipped")
                            }
                        }
                    }
                }
            }
            if rows.len() < 100 {
                break;
            }
        }
        Ok(reaped)
    }

    /// The reaper's last resort for one row: ended as an error without a retry, and its
    /// integration's card no longer says running.
    async fn end_unconcludable(&self, id: Uuid) -> Result<()> {
        sqlx::query!(
            r#"with ended as (
                 update public.integration_logs
                 set status = 'error', finished_at = now(),
                     error_message = 'o worker parou de responder durante a execução (worker lost); não foi possível agendar nova tentativa'
                 where id = $1 and status = 'running'
                 returning tenant_id, provider_slug, error_message
               )
               update public.tenant_integrations t
               set last_status = 'error', last_error = e.error_message
               from ended e
               join public.organizacoes o on o.id::text = e.tenant_id or o.slug = e.tenant_id
               join public.integration_providers p on p.slug = e.provider_slug
               where t.tenant_id = o.id and t.provider_id = p.id and t.last_status = 'running'"#,
            id
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Asks a running execution to stop; its worker sees it at the next heartbeat.
    pub async fn request_cancel(
        tx: &mut Transaction<'static, Postgres>,
        execution_id: Uuid,
    ) -> Result<bool> {
        let n = sqlx::query!(
            r#"update public.integration_logs set cancel_requested_at = now()
               where execution_id = $1 and status = 'running'"#,
            execution_id
        )
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// The retention job: deletes ended log rows older than `retention_days`.
    pub async fn purge_old_logs(&self) -> Result<u64> {
        let n = sqlx::query!(
            r#"delete from public.integration_logs
               where status <> 'running' and created_at < now() - make_interval(days => $1)"#,
            self.config.retention_days
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n)
    }
}
