//! Connection pool and migrations.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

/// The migrations of `migrations/`, embedded in the binary so a release server needs no
/// source tree to start.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Connections a web process keeps open (and warm) while idle: about as many as one
/// page's panels use at once (each reads in its own transaction).
pub const WARM_CONNECTIONS: u32 = 8;

/// How long a connection may have been idle and still be handed out without a ping.
pub const TRUSTED_IDLE: Duration = Duration::from_secs(5);

/// The pool: 16 connections at most, `warm` of them kept open once [`warm_pool`] opened
/// them, each warmed as it opens ([`warm_up`]). Returns once one connection works: the
/// others open in [`warm_pool`], each within its own acquire timeout, so a distant
/// database does not have to open all of them within one.
pub async fn connect(database_url: &str, warm: u32) -> Result<PgPool, sqlx::Error> {
    let options: sqlx::postgres::PgConnectOptions = database_url.parse()?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .min_connections(warm)
        .acquire_timeout(Duration::from_secs(5))
        // sqlx pings every connection it hands out: a round trip before each transaction
        // (a page opens one per panel). A connection used within the last few seconds
        // answered sqlx's ping when it came back (sqlx pings on release), so only one idle
        // longer is pinged: one the database may have dropped meanwhile (a restart) is
        // still replaced before a request gets it.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < TRUSTED_IDLE {
                    return Ok(true);
                }
                use sqlx::Connection;
                conn.ping().await?;
                Ok(true)
            })
        })
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                warm_up(conn).await;
                Ok(())
            })
        })
        .connect_lazy_with(options);
    drop(pool.acquire().await?);
    Ok(pool)
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

/// What a new connection runs once (it begins a transaction, rolled back after it), as
/// `authenticated` with the claims of nobody (no such user, no such session): every policy
/// helper is compiled and its statements planned, and the tables the pages read have their
/// catalog entries loaded. A fresh PostgreSQL backend does that on its first statements:
/// a new connection's first list of integrations took 12–17 ms, 4–5 ms after this, 2 ms
/// the second time (1M log rows, `docs/benchmarks.md`). Nobody is a member of anything,
/// so it learns nothing of any tenant, and it writes nothing. Bounded: a lock held by a
/// migration elsewhere makes it give up, not wait.
pub const WARM_UP: &str = r#"begin;
set local lock_timeout = '1s';
set local statement_timeout = '5s';
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
  where tenant_id = '00000000-0000-0000-0000-000000000000' and day > current_date - 30;"#;

/// Opens (or takes) `warm` of the pool's connections at once and warms them: those opened
/// before the migrations created what [`WARM_UP`] reads (a fresh database) were opened
/// cold. Says so once when the warm-up fails on a migrated database (a renamed helper, a
/// role that cannot be set): the pages then pay each connection's first statements.
pub async fn warm_pool(pool: &PgPool, warm: u32) {
    let mut held = Vec::new();
    for _ in 0..warm {
        match pool.acquire().await {
            Ok(conn) => held.push(conn),
            Err(_) => break,
        }
    }
    let mut failed = 0;
    for conn in &mut held {
        if !warm_up(conn).await {
            failed += 1;
        }
    }
    if failed > 0 {
        tracing::warn!(
            failed,
            "database connections could not be warmed: pages pay their first statements"
        );
    }
}

/// Runs [`WARM_UP`] on a connection; whether it ran whole. Never fails the connection:
/// on a database without our schema yet, or one set up differently, the warm-up's
/// transaction is rolled back and the connection is as it was.
pub async fn warm_up(conn: &mut sqlx::PgConnection) -> bool {
    use sqlx::Executor;
    let warmed = conn.execute(sqlx::raw_sql(WARM_UP)).await;
    // Ends the transaction whether or not a statement failed in it (an aborted one rolls
    // back too); a connection that cannot is closed by the pool.
    let ended = conn.execute(sqlx::raw_sql("rollback")).await;
    match (warmed, ended) {
        (Ok(_), Ok(_)) => true,
        (Err(e), _) | (_, Err(e)) => {
            tracing::debug!(error = %e, "connection warm-up skipped");
            false
        }
    }
}

/// Applies the migrations, then makes the list of every organization (migration 0030's
/// `tenant_key_cache`) again from the table: organizations written with triggers off (a
/// replica, a data-only restore) count from the next start. Writes nothing when it is
/// right.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await?;
    sqlx::query("select public.refresh_tenant_key_cache()")
        .execute(pool)
        .await
        .map_err(sqlx::migrate::MigrateError::Execute)?;
    Ok(())
}
