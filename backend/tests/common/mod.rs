//! Helpers shared by the database tests.
#![allow(dead_code)]

pub mod engine_rig;

use backend::scope::Claims;
use sqlx::PgPool;
use uuid::Uuid;

/// The claims a session of this user would carry.
pub fn claims_for(id: Uuid, email: &str) -> Claims {
    Claims {
        sub: id,
        role: "authenticated".into(),
        aud: "authenticated".into(),
        exp: chrono::Utc::now().timestamp() + 600,
        iat: 0,
        email: email.into(),
        sid: None,
        is_anonymous: false,
    }
}

/// A demo user's claims (the demo users must have been seeded).
pub async fn demo_claims(pool: &PgPool, email: &str) -> Claims {
    let id: Uuid = sqlx::query_scalar("select id from auth.users where email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .expect("demo user exists");
    claims_for(id, email)
}

pub async fn org_id(pool: &PgPool, slug: &str) -> Uuid {
    sqlx::query_scalar("select id from public.organizacoes where slug = $1")
        .bind(slug)
        .fetch_one(pool)
        .await
        .expect("organization exists")
}

/// A tenant's connector pointed at a sandbox, for the connectors' tests: a pool of its own,
/// the vault key, the tenant, and an HTTP client with a short timeout (a hang is seen in
/// seconds). [`ConnectorRig::ctx`] builds the run's context the way the engine does: the
/// configuration and credentials come from the vault.
pub struct ConnectorRig {
    pub pool: PgPool,
    pub keyring: std::sync::Arc<backend::vault::Keyring>,
    pub tenant: Uuid,
    pub slug: &'static str,
    pub http: reqwest::Client,
}

impl ConnectorRig {
    /// Contmax's `slug` pointed at `base_url`, enabled, with the sandbox token under
    /// `token_field` and `settings` in its config (requests unthrottled).
    pub async fn new(
        test_pool: PgPool,
        slug: &'static str,
        token_field: &str,
        base_url: &str,
        mut settings: serde_json::Value,
    ) -> Self {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .connect_with(test_pool.connect_options().as_ref().clone())
            .await
            .expect("pool");
        let keyring = std::sync::Arc::new(backend::vault::Keyring::ephemeral());
        let tenant = org_id(&pool, "contmax").await;
        settings["requisicoes_por_minuto"] = serde_json::json!(6000);
        backend::demo::point_integration(
            &pool,
            &keyring,
            tenant,
            slug,
            base_url,
            token_field,
            settings,
        )
        .await
        .expect("integration pointed at the sandbox");
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(2))
            .build()
            .expect("client");
        Self {
            pool,
            keyring,
            tenant,
            slug,
            http,
        }
    }

    pub async fn ctx(&self, execution_id: Uuid, attempt: i32) -> backend::providers::RunContext {
        let mut tx = backend::scope::begin_service(&self.pool).await.expect("tx");
        let inputs = backend::vault::run_inputs(&mut tx, &self.keyring, self.tenant, self.slug)
            .await
            .expect("inputs")
            .expect("the tenant has the integration");
        tx.commit().await.expect("commit");
        backend::providers::RunContext {
            tenant_id: self.tenant,
            integration_id: inputs.tenant_integration_id,
            execution_id,
            attempt,
            config: inputs.config,
            secrets: inputs.secrets,
            http: self.http.clone(),
            cancel: tokio_util::sync::CancellationToken::new(),
            progress: Default::default(),
            // As the worker does: the checkpoint writer finds it by the integration.
            timeline: backend::providers::timeline::Timeline::attached(
                inputs.tenant_integration_id,
            ),
            db: self.pool.clone(),
        }
    }

    /// `sql` with the tenant as `$1`, one number back.
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .bind(self.tenant)
            .fetch_one(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// The faults a connector must survive, each switched on in turn by its tests: every
/// run must still end with every record.
pub fn survivable_faults() -> Vec<(&'static str, backend::providers::common::faults::Faults)> {
    use backend::providers::common::faults::Faults;
    let none = Faults::default;
    vec![
        (
            "429 with Retry-After",
            Faults {
                rate_limit: 2,
                retry_after: Some(1),
                ..none()
            },
        ),
        (
            "429 without Retry-After",
            Faults {
                rate_limit: 2,
                ..none()
            },
        ),
        (
            "503",
            Faults {
                server_error: 2,
                ..none()
            },
        ),
        (
            "a body that is not JSON",
            Faults {
                garbage: 1,
                ..none()
            },
        ),
        ("a hang", Faults { hang: 1, ..none() }),
        ("an empty page under load", Faults { empty: 2, ..none() }),
        (
            "latency",
            Faults {
                latency_ms: 30,
                ..none()
            },
        ),
    ]
}

/// The connection string of the test's own database (for `db::connect`).
pub fn url_of(pool: &PgPool) -> String {
    let o = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        o.get_username(),
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or("postgres")
    )
}
