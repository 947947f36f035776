//! The engine's test rig: a pool of its own, the real queue and worker, the sandbox, and
//! Contmax's `local-http` integration pointed at one of its scenarios.

use std::net::SocketAddr;
use std::time::Duration;

use backend::engine::{start_run, Engine, EngineConfig};
use backend::providers::{local_http, Registry};
use backend::runs::{attempts, Claim, LogRow};
use backend::sandbox::AuthLog;
use backend::scope::{begin_as, begin_service};
use backend::{demo, queue, sandbox};
use model::Trigger;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use uuid::Uuid;

pub struct Rig {
    pub pool: PgPool,
    pub engine: Engine,
    pub tenant: Uuid,
    pub sandbox: SocketAddr,
    /// Every request the sandbox received (one per page a provider fetched).
    pub requests: AuthLog,
}

/// The error text of an attempt ("" when none).
pub fn error_of(row: &LogRow) -> &str {
    row.error_message.as_deref().unwrap_or("")
}

pub fn fast() -> EngineConfig {
    EngineConfig {
        heartbeat_every: Duration::from_millis(200),
        reap_every: Duration::from_millis(300),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        queue_poll_every: Duration::from_millis(200),
        ..EngineConfig::default()
    }
}

/// A pool of its own (the worker holds a LISTEN connection and several jobs), the queue,
/// the demo users, the sandbox, and Contmax's `local-http` pointed at `scenario`.
pub async fn rig(test_pool: PgPool, scenario: &str, config: EngineConfig) -> Rig {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect_with(test_pool.connect_options().as_ref().clone())
        .await
        .expect("pool");
    queue::install(&pool).await.expect("queue installed");
    demo::seed_demo_users(&pool).await.expect("demo users");
    demo::add_local_http_provider(&pool)
        .await
        .expect("catalog row");
    let (sandbox, requests) = sandbox::spawn_recording().await.expect("sandbox");
    let tenant = super::org_id(&pool, "contmax").await;
    point_at(&pool, tenant, sandbox, scenario).await;
    let engine = Engine::new(pool.clone(), Registry::standard(true), keyring(), config);
    Rig {
        pool,
        engine,
        tenant,
        sandbox,
        requests,
    }
}

/// One vault key for every engine in this file (the rigs' workers decrypt what
/// `point_at` stored).
pub fn keyring() -> std::sync::Arc<backend::vault::Keyring> {
    static KEYRING: std::sync::OnceLock<std::sync::Arc<backend::vault::Keyring>> =
        std::sync::OnceLock::new();
    KEYRING
        .get_or_init(|| std::sync::Arc::new(backend::vault::Keyring::ephemeral()))
        .clone()
}

pub async fn point_at(pool: &PgPool, tenant: Uuid, sandbox: SocketAddr, scenario: &str) {
    demo::add_local_http_integration(
        pool,
        &keyring(),
        tenant,
        &format!("http://{sandbox}/s/{scenario}"),
    )
    .await
    .expect("integration");
}

impl Rig {
    pub fn spawn_worker(&self) {
        let engine = self.engine.clone();
        tokio::spawn(async move { queue::run_worker(engine, 4).await });
    }

    pub async fn start_as(&self, email: &str) -> backend::Result<Claim> {
        let claims = super::demo_claims(&self.pool, email).await;
        let mut tx = begin_as(&self.pool, &claims).await?;
        let c = start_run(&mut tx, self.tenant, local_http::SLUG, Trigger::Manual).await?;
        tx.commit().await?;
        Ok(c)
    }

    /// *Cancelar* by a demo user, as the portal calls it.
    pub async fn cancel_as(
        &self,
        email: &str,
        execution_id: Uuid,
    ) -> backend::Result<backend::engine::CancelOutcome> {
        let claims = super::demo_claims(&self.pool, email).await;
        let mut tx = begin_as(&self.pool, &claims).await?;
        let actor = backend::audit::Actor {
            user_id: Some(claims.sub),
            email: Some(email.to_owned()),
            name: None,
            source: backend::audit::Source::Ui,
            request_id: None,
        };
        let outcome = backend::engine::cancel_run(&mut tx, execution_id, &actor).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn start(&self) -> Uuid {
        match self.start_as("admin@contmax.com.br").await.expect("start") {
            Claim::Started(id) => id,
            Claim::AlreadyRunning(id) => panic!("already running: {id}"),
        }
    }

    pub async fn attempts(&self, id: Uuid) -> Vec<LogRow> {
        let mut tx = begin_service(&self.pool).await.expect("tx");
        let rows = attempts(&mut tx, id).await.expect("attempts");
        tx.commit().await.expect("commit");
        rows
    }

    /// Polls until the execution's last attempt is no longer running (30 s at most).
    pub async fn finished(&self, id: Uuid) -> Vec<LogRow> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let rows = self.attempts(id).await;
            if rows
                .last()
                .is_some_and(|r| r.status != model::RunStatus::Running)
            {
                return rows;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {id} still running after 30 s: {rows:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn last_status(&self) -> (Option<String>, Option<String>) {
        sqlx::query_as(
            "select t.last_status, t.last_error from public.tenant_integrations t
             where t.tenant_id = $1 and t.provider = $2",
        )
        .bind(self.tenant)
        .bind(local_http::SLUG)
        .fetch_one(&self.pool)
        .await
        .expect("tenant integration")
    }
}
