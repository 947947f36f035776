//! The engine end to end inside one process: the real queue (graphile_worker in the test
//! database), a real worker, and the local-http provider doing real HTTP against the
//! sandbox. Waits poll the database with a deadline; no test sleeps to pass.

mod common;

use std::time::Duration;

use backend::engine::{
    cancel_in, check_runnable, start_rerun, start_run, CancelOutcome, Engine, EngineConfig,
};
use backend::providers::{local_http, Registry};
use backend::runs::Claim;
use backend::scope::begin_as;
use backend::{demo, queue, sandbox, schedule, Error};
use common::engine_rig::{error_of, fast, keyring, point_at, rig};
use model::Trigger;
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_run_goes_through_the_queue_and_writes_its_result(pool: PgPool) {
    let rig = rig(pool, "ok", fast()).await;
    sqlx::query(
        "update public.tenant_integrations set config = config || '{\"api_token\": \"segredo-123\"}'
         where tenant_id = $1 and provider = 'local-http'",
    )
    .bind(rig.tenant)
    .execute(&rig.pool)
    .await
    .unwrap();
    rig.spawn_worker();
    let id = rig.start().await;
    let rows = rig.finished(id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r.status, model::RunStatus::Success, "{r:?}");
    assert_eq!(r.trigger, model::Trigger::Manual);
    let per_page = sandbox::PER_PAGE as i32 * sandbox::PAGES as i32;
    assert_eq!(r.total_processados, per_page);
    assert_eq!(
        (r.total_created, r.total_updated, r.total_unchanged),
        (4, 4, 4)
    );
    assert_eq!(r.total_matched, 8, "matched = created + updated");
    assert_eq!(r.total_failed, 0);
    assert_eq!(r.progress, Some(100));
    assert!(r.execution_time_ms.is_some() && r.finished_at.is_some() && r.started_at.is_some());
    assert!(r.worker.is_some());
    // The token the provider sent and the CNPJ of the sample never reach the row.
    let stored = format!("{:?}{:?}", r.payload, r.response);
    assert!(!stored.contains("segredo-123"), "{stored}");
    assert!(!stored.contains("11222333000101"), "{stored}");
    assert!(stored.contains("[redacted]"), "{stored}");
    assert_eq!(rig.last_status().await, (Some("success".into()), None));
    // Its timeline, stored with the attempt and read back as the drawer reads it.
    let claims = common::demo_claims(&rig.pool, "equipe@contmax.com.br").await;
    let mut tx = begin_as(&rig.pool, &claims).await.unwrap();
    let detail = backend::history::execution(&mut tx, rig.tenant, id)
        .await
        .unwrap();
    let pages = sandbox::PAGES;
    assert!(
        matches!(
            detail[0].events.first(),
            Some(model::RunEvent::Pages { first: 1, last, .. }) if *last == pages
        ),
        "{:?}",
        detail[0].events
    );
    assert!(detail[0].events.iter().any(|e| matches!(
        e,
        model::RunEvent::Rows { n, .. } if *n == per_page as u64
    )));
    // Its time as the portal writes times (Brasília, UTC−3), beside the exact one.
    let at = chrono::DateTime::parse_from_rfc3339(&detail[0].created_at).unwrap();
    let brasilia = at.with_timezone(&chrono::FixedOffset::west_opt(3 * 3600).unwrap());
    assert_eq!(
        detail[0].created_at_pt,
        brasilia.format("%d/%m/%Y %H:%M").to_string()
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_provider_answering_503_twice_then_200_succeeds_on_the_third_attempt(pool: PgPool) {
    let rig = rig(pool, "fail-503-2", fast()).await;
    rig.spawn_worker();
    let id = rig.start().await;
    let rows = rig.finished(id).await;
    let seen: Vec<_> = rows
        .iter()
        .map(|r| (r.attempt, r.status.as_str(), r.trigger.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, "error", "manual"),
            (2, "error", "retry"),
            (3, "success", "retry")
        ]
    );
    assert!(rows.iter().all(|r| r.execution_id == id));
    assert!(
        error_of(&rows[0]).contains("HTTP 503")
            && error_of(&rows[0]).contains("nova tentativa 2 de 3"),
        "{rows:?}"
    );
    assert_eq!(rig.last_status().await, (Some("success".into()), None));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn retries_stop_after_the_last_attempt_and_keep_the_error(pool: PgPool) {
    let rig = rig(pool, "fail-500-9", fast()).await;
    rig.spawn_worker();
    let id = rig.start().await;
    let rows = rig.finished(id).await;
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.status == model::RunStatus::Error));
    let (status, error) = rig.last_status().await;
    assert_eq!(status.as_deref(), Some("error"));
    assert!(error.is_some_and(|e| e.contains("HTTP 500") && !e.contains("nova tentativa")));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn refused_credentials_and_garbage_are_not_retried(pool: PgPool) {
    let rig = rig(pool, "auth", fast()).await;
    rig.spawn_worker();
    let id = rig.start().await;
    let rows = rig.finished(id).await;
    assert_eq!(rows.len(), 1);
    assert!(error_of(&rows[0]).contains("credenciais"), "{rows:?}");

    point_at(&rig.pool, rig.tenant, rig.sandbox, "garbage").await;
    let id = rig.start().await;
    let rows = rig.finished(id).await;
    assert_eq!(rows.len(), 1);
    assert!(
        error_of(&rows[0]).contains("formato inesperado"),
        "{rows:?}"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_429_waits_at_least_its_retry_after(pool: PgPool) {
    let rig = rig(pool, "fail-429-1", fast()).await;
    rig.spawn_worker();
    let id = rig.start().await;
    let rows = rig.finished(id).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].status, model::RunStatus::Success);
    let first_end = rows[0].finished_at.expect("ended");
    let second_start = rows[1].started_at.expect("started");
    assert!(
        second_start - first_end >= chrono::Duration::milliseconds(1000),
        "Retry-After: 1 honoured over a 400 ms backoff cap: {first_end} -> {second_start}"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_partial_run_counts_its_failures(pool: PgPool) {
    let rig = rig(pool, "partial", fast()).await;
    rig.spawn_worker();
    let id = rig.start().await;
    let rows = rig.finished(id).await;
    assert_eq!(rows[0].status, model::RunStatus::Partial);
    assert_eq!(rows[0].total_failed, 1);
    assert_eq!(rig.last_status().await.0.as_deref(), Some("partial"));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_run_past_its_timeout_is_cancelled(pool: PgPool) {
    let mut config = fast();
    config.max_attempts = 1;
    config
        .timeouts
        .insert(local_http::SLUG.into(), Duration::from_secs(1));
    let rig = rig(pool, "hang", config).await;
    rig.spawn_worker();
    let id = rig.start().await;
    let rows = rig.finished(id).await;
    assert_eq!(rows.len(), 1);
    assert!(
        error_of(&rows[0]).contains("tempo limite de 1 s"),
        "{rows:?}"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_cancel_request_stops_the_run_at_its_next_heartbeat(pool: PgPool) {
    let rig = rig(pool, "hang", fast()).await;
    rig.spawn_worker();
    let id = rig.start().await;
    // Wait for a worker to take it, then ask it to stop.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while rig.attempts(id).await[0].started_at.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        rig.cancel_as("equipe@contmax.com.br", id).await.unwrap(),
        CancelOutcome::Requested
    );
    let rows = rig.finished(id).await;
    assert_eq!(rows.len(), 1, "a cancelled run is not retried");
    assert_eq!(rows[0].status, model::RunStatus::Cancelled);
    assert_eq!(rows[0].error_message.as_deref(), Some("execução cancelada"));
    assert_eq!(rig.last_status().await.0.as_deref(), Some("cancelled"));
    // Audited, with who asked.
    let (action, who): (String, Option<String>) = sqlx::query_as(
        "select action, actor_email from public.integration_audit
         where details->>'execution_id' = $1::text and action = 'run_cancelled'",
    )
    .bind(id)
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    assert_eq!(
        (action.as_str(), who.as_deref()),
        ("run_cancelled", Some("equipe@contmax.com.br"))
    );
    // A second cancel, and one by another tenant, are refused.
    assert!(matches!(
        rig.cancel_as("admin@contmax.com.br", id).await,
        Err(Error::Conflict(_))
    ));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_queued_run_cancelled_ends_at_once_and_never_starts(pool: PgPool) {
    // No worker yet: the attempt waits in the queue.
    let rig = rig(pool, "ok", fast()).await;
    let id = rig.start().await;
    assert!(matches!(
        rig.cancel_as("admin@pg.com.br", id).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        rig.cancel_as("admin@contmax.com.br", id).await.unwrap(),
        CancelOutcome::Ended
    );
    let rows = rig.attempts(id).await;
    assert_eq!(rows[0].status, model::RunStatus::Cancelled);
    assert!(rows[0].finished_at.is_some() && rows[0].started_at.is_none());
    assert_eq!(rig.last_status().await.0.as_deref(), Some("cancelled"));
    // Its job, delivered now, starts nothing: the sandbox is never called.
    rig.engine.execute(id, 1).await.unwrap();
    assert!(rig.requests.seen().is_empty());
    assert_eq!(
        rig.attempts(id).await[0].status,
        model::RunStatus::Cancelled
    );
}

/// The drawer's *Cancelar* (`cancel_in`) stops only an execution of the page's tenant and
/// integration: named from another integration or another tenant, it is not found and
/// keeps running.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_drawers_cancel_stops_only_an_execution_of_its_integration(pool: PgPool) {
    let rig = rig(pool, "ok", fast()).await;
    let id = rig.start().await;
    let pg: Uuid = sqlx::query_scalar("select id from public.organizacoes where slug = 'pg'")
        .fetch_one(&rig.pool)
        .await
        .unwrap();
    let claims = common::demo_claims(&rig.pool, "admin@contmax.com.br").await;
    let actor = backend::audit::Actor {
        user_id: Some(claims.sub),
        email: Some("admin@contmax.com.br".into()),
        name: None,
        source: backend::audit::Source::Ui,
        request_id: None,
    };
    for (tenant, slug) in [(rig.tenant, "acessorias"), (pg, local_http::SLUG)] {
        let mut tx = begin_as(&rig.pool, &claims).await.unwrap();
        assert!(
            matches!(
                cancel_in(&mut tx, tenant, slug, id, &actor).await,
                Err(Error::NotFound(_))
            ),
            "{slug}"
        );
    }
    assert_eq!(rig.attempts(id).await[0].status, model::RunStatus::Running);
    let mut tx = begin_as(&rig.pool, &claims).await.unwrap();
    assert_eq!(
        cancel_in(&mut tx, rig.tenant, local_http::SLUG, id, &actor)
            .await
            .unwrap(),
        CancelOutcome::Ended
    );
    tx.commit().await.unwrap();
    assert_eq!(
        rig.attempts(id).await[0].status,
        model::RunStatus::Cancelled
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_second_start_while_running_or_waiting_to_retry_gets_the_same_execution(pool: PgPool) {
    let mut config = fast();
    config.backoff_min = Duration::from_secs(60);
    config.backoff_max = Duration::from_secs(60);
    let rig = rig(pool, "fail-503-1", config).await;
    rig.spawn_worker();
    let id = rig.start().await;
    assert_eq!(
        rig.start_as("equipe@contmax.com.br").await.unwrap(),
        Claim::AlreadyRunning(id)
    );
    // After the first attempt failed, the second waits a minute: still the same run.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while rig.attempts(id).await.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no retry queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        rig.start_as("admin@contmax.com.br").await.unwrap(),
        Claim::AlreadyRunning(id)
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn disabled_unknown_and_foreign_integrations_are_refused(pool: PgPool) {
    let rig = rig(pool, "ok", fast()).await;
    sqlx::query("update public.tenant_integrations set is_enabled = false where tenant_id = $1 and provider = 'local-http'")
        .bind(rig.tenant)
        .execute(&rig.pool)
        .await
        .unwrap();
    assert!(matches!(
        rig.start_as("admin@contmax.com.br").await,
        Err(Error::Conflict(_))
    ));
    let claims = common::demo_claims(&rig.pool, "admin@contmax.com.br").await;
    let mut tx = begin_as(&rig.pool, &claims).await.unwrap();
    assert!(matches!(
        start_run(&mut tx, rig.tenant, "nao-existe", Trigger::Api).await,
        Err(Error::NotFound(_))
    ));
    drop(tx);
    // A P&G user asking for Contmax's integration finds nothing.
    assert!(matches!(
        rig.start_as("admin@pg.com.br").await,
        Err(Error::NotFound(_))
    ));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_stale_heartbeat_is_reaped_and_retried_then_ended(pool: PgPool) {
    let mut config = fast();
    config.max_attempts = 2;
    // No worker: the attempts stay queued, as when the worker died.
    let rig = rig(pool, "ok", config).await;
    let id = rig.start().await;
    assert_eq!(rig.engine.reap_stale().await.unwrap(), 0, "fresh heartbeat");
    // Waiting in the queue (no worker took it) is not dying, however long it waits.
    sqlx::query("update public.integration_logs set heartbeat_at = now() - interval '1 hour' where execution_id = $1")
        .bind(id)
        .execute(&rig.pool)
        .await
        .unwrap();
    assert_eq!(
        rig.engine.reap_stale().await.unwrap(),
        0,
        "queued, not lost"
    );
    // A running row that no queue job backs (as a client could write one) is lost.
    let orphan: Uuid = sqlx::query_scalar(
        "insert into public.integration_logs (tenant_id, integration, provider_slug, status, attempt, heartbeat_at)
         values ($1, 'local-http', 'local-http', 'running', 1, now() - interval '1 hour')
         returning execution_id",
    )
    .bind(rig.tenant.to_string())
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    assert_eq!(rig.engine.reap_stale().await.unwrap(), 1, "orphan reaped");
    let orphan_row = &rig.attempts(orphan).await[0];
    assert_eq!(orphan_row.status, model::RunStatus::Error);
    assert_eq!(orphan_row.execution_time_ms, None, "never started: no time");
    // A run the previous portal left running (no heartbeat): ended, never retried.
    let legacy: Uuid = sqlx::query_scalar(
        "insert into public.integration_logs (tenant_id, integration, provider_slug, status, created_at)
         values ($1, 'local-http', 'local-http', 'running', now() - interval '3 days')
         returning execution_id",
    )
    .bind(rig.tenant.to_string())
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    assert_eq!(rig.engine.reap_stale().await.unwrap(), 1, "legacy ended");
    assert_eq!(
        rig.last_status().await.0.as_deref(),
        Some("running"),
        "the card still says running: another run of it is going"
    );
    let legacy_rows = rig.attempts(legacy).await;
    assert_eq!(legacy_rows.len(), 1, "not retried");
    assert_eq!(
        (legacy_rows[0].status.as_str(), error_of(&legacy_rows[0])),
        ("error", "interrompida (portal anterior)")
    );
    // A worker started it an hour ago, beat for ten minutes and stopped: lost, after
    // running those ten minutes (what it records, not 0).
    sqlx::query("update public.integration_logs set started_at = now() - interval '1 hour', heartbeat_at = now() - interval '50 minutes' where execution_id = $1")
        .bind(id)
        .execute(&rig.pool)
        .await
        .unwrap();
    assert_eq!(rig.engine.reap_stale().await.unwrap(), 1);
    let rows = rig.attempts(id).await;
    assert_eq!(rows.len(), 2);
    assert!(error_of(&rows[0]).contains("worker lost"), "{rows:?}");
    assert_eq!(rows[0].execution_time_ms, Some(600_000), "ran ten minutes");
    assert_eq!(rows[1].status, model::RunStatus::Running, "retried");
    sqlx::query("update public.integration_logs set started_at = now() - interval '1 hour', heartbeat_at = now() - interval '1 hour' where execution_id = $1 and attempt = 2")
        .bind(id)
        .execute(&rig.pool)
        .await
        .unwrap();
    assert_eq!(rig.engine.reap_stale().await.unwrap(), 1);
    let rows = rig.attempts(id).await;
    assert_eq!(rows.len(), 2, "no attempts left: ended");
    assert_eq!(rows[1].status, model::RunStatus::Error);
    assert_eq!(rig.last_status().await.0.as_deref(), Some("error"));
    // A late job for a reaped attempt does nothing.
    rig.engine.execute(id, 1).await.unwrap();
    assert_eq!(rig.attempts(id).await.len(), 2);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn schedules_are_validated_run_once_after_downtime_and_never_overlap(pool: PgPool) {
    let rig = rig(pool, "ok", fast()).await;
    let admin = common::demo_claims(&rig.pool, "admin@contmax.com.br").await;
    let staff = common::demo_claims(&rig.pool, "equipe@contmax.com.br").await;

    let mut tx = begin_as(&rig.pool, &admin).await.unwrap();
    assert!(matches!(
        schedule::set_schedule(&mut tx, rig.tenant, local_http::SLUG, Some("1m")).await,
        Err(Error::Invalid(_))
    ));
    schedule::set_schedule(&mut tx, rig.tenant, local_http::SLUG, Some("15m"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = begin_as(&rig.pool, &staff).await.unwrap();
    assert!(
        schedule::set_schedule(&mut tx, rig.tenant, local_http::SLUG, None)
            .await
            .is_err(),
        "staff may not change the schedule"
    );
    drop(tx);

    let now = chrono::Utc::now();
    let r = schedule::tick(&rig.pool, &rig.engine.registry, now)
        .await
        .unwrap();
    assert_eq!(r.started, 0, "just set: not due yet");

    // Three hours of downtime: twelve periods missed, one run.
    sqlx::query("update public.tenant_integrations set schedule_last_at = now() - interval '3 hours' where tenant_id = $1 and provider = 'local-http'")
        .bind(rig.tenant)
        .execute(&rig.pool)
        .await
        .unwrap();
    let r = schedule::tick(&rig.pool, &rig.engine.registry, now)
        .await
        .unwrap();
    assert_eq!(r.started, 1);
    let r = schedule::tick(
        &rig.pool,
        &rig.engine.registry,
        now + chrono::Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(r.started, 0);

    // Due again while that run is still going (no worker here): not doubled.
    let r = schedule::tick(
        &rig.pool,
        &rig.engine.registry,
        now + chrono::Duration::minutes(16),
    )
    .await
    .unwrap();
    assert_eq!((r.started, r.already_running), (0, 1));
    let runs: i64 = sqlx::query_scalar(
        "select count(*) from public.integration_logs where tenant_id = $1::text and provider_slug = 'local-http'",
    )
    .bind(rig.tenant)
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    assert_eq!(runs, 1);
    let trigger: String = sqlx::query_scalar(
        "select trigger from public.integration_logs where tenant_id = $1::text and provider_slug = 'local-http'",
    )
    .bind(rig.tenant)
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    assert_eq!(trigger, "schedule");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_retention_job_deletes_only_old_ended_rows(pool: PgPool) {
    let rig = rig(pool, "ok", fast()).await;
    sqlx::query(
        "insert into public.integration_logs (tenant_id, integration, provider_slug, status, created_at)
         values ($1::text, 'local-http', 'local-http', 'success', now() - interval '200 days'),
                ($1::text, 'local-http', 'local-http', 'error', now() - interval '181 days'),
                ($1::text, 'local-http', 'local-http', 'success', now() - interval '179 days')",
    )
    .bind(rig.tenant)
    .execute(&rig.pool)
    .await
    .unwrap();
    assert_eq!(rig.engine.purge_old_logs().await.unwrap(), 2);
    assert_eq!(rig.engine.purge_old_logs().await.unwrap(), 0);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_catalog_and_the_plugins_must_agree(pool: PgPool) {
    assert_eq!(
        Registry::standard(false).check_catalog(&pool).await,
        Ok(vec![])
    );
    let err = Registry::standard(true)
        .check_catalog(&pool)
        .await
        .expect_err("sandbox plugin without a row");
    assert!(
        err.contains("plugins without a catalog row") && err.contains("local-http"),
        "{err}"
    );
    // A catalog row without a plugin does not stop the server: it is named, and its
    // integrations cannot run (server/tests/api.rs).
    demo::add_local_http_provider(&pool).await.unwrap();
    assert_eq!(
        Registry::standard(false).check_catalog(&pool).await,
        Ok(vec!["local-http".to_owned()])
    );
    assert_eq!(
        Registry::standard(true).check_catalog(&pool).await,
        Ok(vec![])
    );
}

#[test]
fn backoff_grows_is_capped_and_honours_retry_after() {
    let c = EngineConfig {
        backoff_min: Duration::from_secs(5),
        backoff_max: Duration::from_secs(60),
        ..EngineConfig::default()
    };
    for _ in 0..50 {
        let d2 = c.retry_delay(2, None);
        assert!(d2 <= Duration::from_secs(10), "{d2:?}");
        assert!(c.retry_delay(10, None) <= Duration::from_secs(120));
        assert!(c.retry_delay(2, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_queue_tables_have_row_level_security_and_no_user_grants(pool: PgPool) {
    queue::install(&pool).await.unwrap();
    queue::install(&pool).await.expect("idempotent");
    let without_rls: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'graphile_worker' and c.relkind in ('r', 'p') and not c.relrowsecurity",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(without_rls.is_empty(), "{without_rls:?}");
    let usable: bool = sqlx::query_scalar(
        "select has_schema_privilege('authenticated', 'graphile_worker', 'usage')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(!usable);
}

/// A plugin that panics (a bug in a connector) ends its run as an error; the heartbeat
/// stops with it, so nothing stays running.
struct Panicking;

impl backend::providers::Provider for Panicking {
    fn slug(&self) -> &'static str {
        local_http::SLUG
    }
    fn name(&self) -> &'static str {
        "panics"
    }
    fn run<'a>(
        &'a self,
        _ctx: backend::providers::RunContext,
    ) -> futures::future::BoxFuture<
        'a,
        Result<backend::providers::Outcome, backend::providers::ProviderError>,
    > {
        Box::pin(async { panic!("a bug in a connector") })
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_panicking_provider_ends_its_run_as_an_error(pool: PgPool) {
    let mut rig = rig(pool, "ok", fast()).await;
    let mut registry = Registry::standard(true);
    registry.register(std::sync::Arc::new(Panicking));
    rig.engine = Engine::new(rig.pool.clone(), registry, keyring(), fast());
    rig.spawn_worker();
    let id = rig.start().await;
    let rows = rig.finished(id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].error_message.as_deref(),
        Some("erro interno no conector")
    );
    assert_eq!(rig.last_status().await.0.as_deref(), Some("error"));
}

/// The queue's `schedule_tick` job (what graphile's crontab enqueues every minute, with a
/// `null` payload) starts a due schedule through a real worker.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_schedule_tick_job_runs_a_due_schedule(pool: PgPool) {
    let rig = rig(pool, "ok", fast()).await;
    sqlx::query(
        "update public.tenant_integrations set schedule = '15m', schedule_last_at = now() - interval '1 hour'
         where tenant_id = $1 and provider = 'local-http'",
    )
    .bind(rig.tenant)
    .execute(&rig.pool)
    .await
    .unwrap();
    rig.spawn_worker();
    sqlx::query("select graphile_worker.add_job('schedule_tick', null)")
        .execute(&rig.pool)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let id = loop {
        let found: Option<Uuid> = sqlx::query_scalar(
            "select execution_id from public.integration_logs
             where tenant_id = $1::text and provider_slug = 'local-http' and trigger = 'schedule'",
        )
        .bind(rig.tenant)
        .fetch_optional(&rig.pool)
        .await
        .unwrap();
        if let Some(id) = found {
            break id;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tick started nothing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let rows = rig.finished(id).await;
    assert_eq!(rows.last().map(|r| r.status.as_str()), Some("success"));
}

/// One schedule that cannot start (here its run's log row is refused by the database) is
/// logged and skipped; the other tenants' due schedules of the same tick start.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn one_schedule_that_cannot_start_does_not_stop_the_tick(pool: PgPool) {
    backend::queue::install(&pool).await.unwrap();
    let contmax = common::org_id(&pool, "contmax").await;
    let pg = common::org_id(&pool, "pg").await;
    sqlx::query(
        "update public.tenant_integrations
         set schedule = '15m', schedule_last_at = now() - interval '1 hour', is_enabled = true
         where provider = 'acessorias' and tenant_id = any($1)",
    )
    .bind(vec![contmax, pg])
    .execute(&pool)
    .await
    .unwrap();
    // The fault: Contmax's log rows cannot be written.
    sqlx::raw_sql(&format!(
        "create function public.test_refuse_log_rows() returns trigger language plpgsql as $$
         begin raise exception 'disk full (test)'; end $$;
         create trigger refuse_contmax before insert on public.integration_logs
           for each row when (new.tenant_id = '{contmax}')
           execute function public.test_refuse_log_rows();"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let r = schedule::tick(&pool, &Registry::standard(false), chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!((r.started, r.failed), (1, 1), "{r:?}");
    let started: Vec<String> = sqlx::query_scalar(
        "select tenant_id from public.integration_logs where trigger = 'schedule'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(started, vec![pg.to_string()]);
    // Contmax's clock did not move: it is tried again at the next tick.
    let due: bool = sqlx::query_scalar(
        "select schedule_last_at < now() - interval '30 minutes' from public.tenant_integrations
         where provider = 'acessorias' and tenant_id = $1",
    )
    .bind(contmax)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(due);
}

/// A provider of the catalog this server has no connector for (here: a server built
/// without the sandbox plugin) is refused with the reason, skipped by the schedule tick,
/// and not counted in "com erro agora".
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn an_integration_without_a_connector_is_neither_run_nor_scheduled(pool: PgPool) {
    let rig = rig(pool, "ok", fast()).await;
    let without = Registry::standard(false);
    sqlx::query(
        "update public.tenant_integrations
         set schedule = '15m', schedule_last_at = now() - interval '1 hour', last_status = 'error'
         where tenant_id = $1 and provider = 'local-http'",
    )
    .bind(rig.tenant)
    .execute(&rig.pool)
    .await
    .unwrap();
    let r = schedule::tick(&rig.pool, &without, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!((r.started, r.no_connector), (0, 1), "{r:?}");

    let claims = common::demo_claims(&rig.pool, "admin@contmax.com.br").await;
    let mut tx = begin_as(&rig.pool, &claims).await.unwrap();
    match check_runnable(&mut tx, &without, local_http::SLUG).await {
        Err(Error::Conflict(m)) => assert_eq!(m, model::NO_CONNECTOR),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        check_runnable(&mut tx, &without, "nao-existe").await,
        Err(Error::NotFound(_))
    ));
    check_runnable(&mut tx, &rig.engine.registry, local_http::SLUG)
        .await
        .expect("runnable where the plugin is");

    let slugs = |r: &Registry| r.slugs().map(str::to_owned).collect::<Vec<_>>();
    let counted = backend::metrics::failing_now(&mut tx, rig.tenant, &slugs(&rig.engine.registry))
        .await
        .unwrap();
    let without_it = backend::metrics::failing_now(&mut tx, rig.tenant, &slugs(&without))
        .await
        .unwrap();
    assert_eq!(counted - without_it, 1, "{counted} vs {without_it}");
}

/// A cancel asked of a started attempt whose worker then died (or failed before its next
/// heartbeat carried the request) ends the run cancelled: the reaper does not retry it.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_cancelled_run_whose_worker_died_is_not_retried(pool: PgPool) {
    let rig = rig(pool, "ok", fast()).await;
    let id = rig.start().await;
    // A worker took it and died an hour ago.
    sqlx::query(
        "update public.integration_logs
         set started_at = now() - interval '1 hour', heartbeat_at = now() - interval '1 hour'
         where execution_id = $1",
    )
    .bind(id)
    .execute(&rig.pool)
    .await
    .unwrap();
    assert_eq!(
        rig.cancel_as("admin@contmax.com.br", id).await.unwrap(),
        CancelOutcome::Requested
    );
    assert_eq!(rig.engine.reap_stale().await.unwrap(), 1);
    let rows = rig.attempts(id).await;
    assert_eq!(rows.len(), 1, "no retry: {rows:?}");
    assert_eq!(rows[0].status, model::RunStatus::Cancelled);
    assert_eq!(rig.last_status().await.0.as_deref(), Some("cancelled"));
}

/// *Tentar novamente*: a new execution with the trigger `rerun` that records the one it
/// repeats; the old one's drawer finds it; nobody repeats an execution they cannot see.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_rerun_is_linked_both_ways_and_only_for_runs_the_caller_sees(pool: PgPool) {
    let rig = rig(pool, "auth", fast()).await;
    rig.spawn_worker();
    let first = rig.start().await;
    assert_eq!(rig.finished(first).await[0].status, model::RunStatus::Error);

    let claims = common::demo_claims(&rig.pool, "equipe@contmax.com.br").await;
    let mut tx = begin_as(&rig.pool, &claims).await.unwrap();
    let again = match start_rerun(&mut tx, rig.tenant, local_http::SLUG, first)
        .await
        .unwrap()
    {
        Claim::Started(id) => id,
        other => panic!("{other:?}"),
    };
    tx.commit().await.unwrap();
    let rows = rig.finished(again).await;
    assert_eq!(rows[0].trigger, model::Trigger::Rerun);

    let mut tx = begin_as(&rig.pool, &claims).await.unwrap();
    let old = backend::history::execution(&mut tx, rig.tenant, first)
        .await
        .unwrap();
    let new = backend::history::execution(&mut tx, rig.tenant, again)
        .await
        .unwrap();
    assert_eq!((old[0].rerun_by, old[0].rerun_of), (Some(again), None));
    assert_eq!((new[0].rerun_of, new[0].rerun_by), (Some(first), None));
    // An id that is not an execution of this integration is not found.
    assert!(matches!(
        start_rerun(&mut tx, rig.tenant, local_http::SLUG, Uuid::new_v4()).await,
        Err(Error::NotFound(_))
    ));
    drop(tx);
    // Nor is Contmax's execution for a P&G user.
    let pg = common::org_id(&rig.pool, "pg").await;
    let outsider = common::demo_claims(&rig.pool, "admin@pg.com.br").await;
    let mut tx = begin_as(&rig.pool, &outsider).await.unwrap();
    assert!(matches!(
        start_rerun(&mut tx, pg, local_http::SLUG, first).await,
        Err(Error::NotFound(_))
    ));
}
