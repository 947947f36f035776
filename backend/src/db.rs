//! Connection pool and migrations.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

/// The migrations of `migrations/`, embedded in the binary so a release server needs no
/// source tree to start.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Connections the pool keeps open (and warm) while idle: as many as one page's panels
/// use at once (each reads in its own transaction).
pub const WARM_CONNECTIONS: u32 = 8;

/// The pool: 16 connections at most, [`WARM_CONNECTIONS`] kept open, each warmed when it
/// opens ([`warm_up`]; again by [`warm_pool`] once the migrations ran).
pub async fn connect(database_url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(16)
        .min_connections(WARM_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(|conn, _meta| Box::pin(async move { warm_up(conn).await }))
        .connect(database_url)
        .await
}

/// A pool for a one-off command (`migrate`, `server secrets rotate`, `server rollups
/// rebuild`): none kept open, none warmed.
pub async fn connect_for_command(database_url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(database_url)
        .await
}

/// What a new connection runs once, as `authenticated` with the claims of nobody (no such
/// user, no such session), then rolls back: every policy helper is compiled and its
/// statements planned, and the tables the pages read have their catalog entries loaded.
/// A fresh PostgreSQL backend does that on its first statements, and it made each new
/// connection's first page read ~7 ms where the same read takes ~1 ms after (at 1M log
/// rows, `docs/benchmarks.md`): that cost is paid here, by the pool, not by a person.
/// Reads nothing (nobody is a member of anything) and writes nothing.
const WARM_UP: &str = r#"begin;
select set_config('request.jwt.claims',
         '{"sub":"00000000-0000-0000-0000-000000000000","role":"authenticated","aud":"authenticated","sid":"00000000-0000-0000-0000-000000000000"}',
         true),
       set_config('role', 'authenticated', true);
select public.caller_session_ok(), public.is_global_admin(), public.member_tenant_ids(),
       public.member_tenant_keys(), public.admin_tenant_ids(),
       public.is_tenant_member('00000000-0000-0000-0000-000000000000'),
       public.is_tenant_admin('00000000-0000-0000-0000-000000000000');
select count(*) from public.organizacoes;
select count(*) from public.user_tenants;
select count(*) from public.tenant_integrations ti
  left join public.integration_providers p on p.id = ti.provider_id;
select count(*) from public.integration_logs
  where tenant_id = '' and provider_slug = '' and created_at < now();
select count(*) from public.integration_run_daily
  where tenant_id = '00000000-0000-0000-0000-000000000000' and day > current_date - 30;
rollback;"#;

/// Warms [`WARM_CONNECTIONS`] of the pool's connections again: those opened before the
/// migrations created what [`WARM_UP`] reads (a fresh database) were opened cold.
pub async fn warm_pool(pool: &PgPool) {
    let mut held = Vec::new();
    for _ in 0..WARM_CONNECTIONS {
        match pool.acquire().await {
            Ok(conn) => held.push(conn),
            Err(_) => break,
        }
    }
    for conn in &mut held {
        if let Err(e) = warm_up(conn).await {
            tracing::debug!(error = %e, "connection warm-up failed");
        }
    }
}

/// Runs [`WARM_UP`] on a new connection. Never fails the connection: on a database
/// without our schema yet (before the migrations), or one set up differently, the warm-up
/// is skipped and the connection is as it would have been.
async fn warm_up(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    use sqlx::Executor;
    if let Err(e) = conn.execute(sqlx::raw_sql(WARM_UP)).await {
        tracing::debug!(error = %e, "connection warm-up skipped");
        // A failed statement left the warm-up's transaction open (and aborted).
        conn.execute(sqlx::raw_sql("rollback")).await?;
    }
    Ok(())
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
