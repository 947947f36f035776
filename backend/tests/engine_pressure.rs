//! The engine under pressure (issue "The engine under pressure"): more runs than worker
//! slots, a heartbeat the database refuses, a result the database fails to take the first
//! time, a job delivered twice. Real queue, real worker, real HTTP to the sandbox; the
//! faults are the database's own (a trigger refusing writes), not stand-ins for our code.

mod common;

use std::time::Duration;

use backend::engine::start_run;
use backend::providers::local_http;
use backend::runs::Claim;
use backend::scope::begin_service;
use backend::{queue, sandbox};
use common::engine_rig::{error_of, fast, point_at, rig, Rig};
use model::Trigger;
use sqlx::PgPool;
use uuid::Uuid;

/// Polls until `check` holds (30 s at most).
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn started(rig: &Rig, id: Uuid, attempt: usize) -> bool {
    rig.attempts(id)
        .await
        .get(attempt - 1)
        .is_some_and(|r| r.started_at.is_some())
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_backlog_waits_its_turn_and_nobody_is_reaped(pool: PgPool) {
    // One worker slot, a stale bound of two seconds, three runs of about two seconds each
    // queued at once: the last waits some four seconds, longer than the bound.
    let mut config = fast();
    config.stale_after = Duration::from_secs(2);
    let rig = rig(pool, "slow-600", config).await;
    let third: Uuid = sqlx::query_scalar(
        "insert into public.organizacoes (nome, slug) values ('Terceira', 'terceira') returning id",
    )
    .fetch_one(&rig.pool)
    .await
    .unwrap();
    let pg = common::org_id(&rig.pool, "pg").await;
    point_at(&rig.pool, pg, rig.sandbox, "slow-600").await;
    point_at(&rig.pool, third, rig.sandbox, "slow-600").await;
    let mut ids = Vec::new();
    for tenant in [rig.tenant, pg, third] {
        let mut tx = begin_service(&rig.pool).await.unwrap();
        let claim = start_run(&mut tx, tenant, local_http::SLUG, Trigger::Api)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        match claim {
            Claim::Started(id) => ids.push(id),
            other => panic!("{other:?}"),
        }
    }
    let engine = rig.engine.clone();
    tokio::spawn(async move { queue::run_worker(engine, 1).await });
    for id in ids {
        let rows = rig.finished(id).await;
        assert_eq!(rows.len(), 1, "one attempt each: {rows:?}");
        assert_eq!(rows[0].status, model::RunStatus::Success, "{rows:?}");
        assert!(!error_of(&rows[0]).contains("worker lost"));
    }
}

/// The database refuses the heartbeats of started attempts while `test_outage` has a row.
async fn refuse_heartbeats(pool: &PgPool) {
    sqlx::raw_sql(
        "create table public.test_outage (since timestamptz not null default now());
         create function public.test_refuse_heartbeats() returns trigger language plpgsql
           security definer as $$
         begin
           if old.started_at is not null and new.heartbeat_at is distinct from old.heartbeat_at
              and exists (select 1 from public.test_outage) then
             raise exception 'heartbeat refused (test outage)';
           end if;
           return new;
         end $$;
         create trigger refuse_heartbeats before update on public.integration_logs
           for each row execute function public.test_refuse_heartbeats();",
    )
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn an_attempt_that_cannot_renew_its_lease_stops_itself(pool: PgPool) {
    let mut config = fast();
    config.stale_after = Duration::from_secs(3);
    config.max_attempts = 2;
    // No reaper in this test: if the first attempt ends, it ended itself.
    config.reap_every = Duration::from_secs(3600);
    assert!(config.validate().is_ok() && config.lease_margin() < config.stale_after);
    let rig = rig(pool, "slow-1000", config).await;
    refuse_heartbeats(&rig.pool).await;
    rig.spawn_worker();
    let id = rig.start().await;
    // Started, and its lease renewed once: the heartbeat works until the outage.
    until("attempt 1 renewed its lease", || async {
        sqlx::query_scalar::<_, bool>(
            "select coalesce(heartbeat_at > started_at, false) from public.integration_logs
             where execution_id = $1 and attempt = 1",
        )
        .bind(id)
        .fetch_one(&rig.pool)
        .await
        .unwrap()
    })
    .await;
    sqlx::query("insert into public.test_outage default values")
        .execute(&rig.pool)
        .await
        .unwrap();
    until("attempt 1 ended", || async {
        rig.attempts(id).await[0].status != model::RunStatus::Running
    })
    .await;
    sqlx::query("delete from public.test_outage")
        .execute(&rig.pool)
        .await
        .unwrap();
    let rows = rig.finished(id).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].status, model::RunStatus::Error);
    assert!(error_of(&rows[0]).contains("lease perdido"), "{rows:?}");
    assert_eq!(rows[1].status, model::RunStatus::Success, "{rows:?}");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_result_the_database_refuses_once_is_written_without_running_again(pool: PgPool) {
    let rig = rig(pool, "ok", fast()).await;
    // The first write of a result fails, as on a dropped connection.
    sqlx::raw_sql(
        "create sequence public.test_conclude_failures;
         create function public.test_fail_first_conclude() returns trigger language plpgsql
           security definer as $$
         begin
           if old.status = 'running' and new.status <> 'running'
              and nextval('public.test_conclude_failures') = 1 then
             raise exception 'connection lost (test)';
           end if;
           return new;
         end $$;
         create trigger fail_first_conclude before update on public.integration_logs
           for each row execute function public.test_fail_first_conclude();",
    )
    .execute(&rig.pool)
    .await
    .unwrap();
    rig.spawn_worker();
    let id = rig.start().await;
    let rows = rig.finished(id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].status, model::RunStatus::Success);
    let failures: i64 = sqlx::query_scalar("select last_value from public.test_conclude_failures")
        .fetch_one(&rig.pool)
        .await
        .unwrap();
    assert!(failures >= 2, "the first write failed, a later one took");
    assert_eq!(
        rig.requests.seen().len(),
        sandbox::PAGES as usize,
        "the provider ran once"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_job_delivered_again_does_not_run_the_provider_again(pool: PgPool) {
    let rig = rig(pool, "slow-300", fast()).await;
    rig.spawn_worker();
    let id = rig.start().await;
    until("started", || started(&rig, id, 1)).await;
    // The queue hands the same attempt over again (after a worker failure, say).
    rig.engine.execute(id, 1).await.unwrap();
    let rows = rig.finished(id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, model::RunStatus::Success);
    assert_eq!(rig.requests.seen().len(), sandbox::PAGES as usize);
}

/// A queued attempt whose job failed every one of its tries before a worker started it
/// waits for nothing: the reaper ends it (as it ends one whose job is gone), where before
/// its card said running for good. One whose job still waits is left alone.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_queued_attempt_whose_job_gave_up_is_reaped(pool: PgPool) {
    let mut config = fast();
    config.stale_after = Duration::from_secs(1);
    let rig = rig(pool, "ok", config).await;
    let pg = common::org_id(&rig.pool, "pg").await;
    point_at(&rig.pool, pg, rig.sandbox, "ok").await;
    let mut ids = Vec::new();
    for tenant in [rig.tenant, pg] {
        let mut tx = begin_service(&rig.pool).await.unwrap();
        match start_run(&mut tx, tenant, local_http::SLUG, Trigger::Api)
            .await
            .unwrap()
        {
            Claim::Started(id) => ids.push(id),
            other => panic!("{other:?}"),
        }
        tx.commit().await.unwrap();
    }
    // No worker runs: both wait, their claims' heartbeats past the bound.
    sqlx::query("update public.integration_logs set heartbeat_at = now() - interval '1 minute'")
        .execute(&rig.pool)
        .await
        .unwrap();
    // The first's job tried and failed as often as it may (graphile keeps it, unavailable).
    let gave_up = sqlx::query(
        "update graphile_worker._private_jobs set attempts = max_attempts
         where key = 'run:' || $1 || ':1'",
    )
    .bind(ids[0])
    .execute(&rig.pool)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(gave_up, 1);
    assert_eq!(rig.engine.reap_stale().await.unwrap(), 1);
    let first = rig.attempts(ids[0]).await;
    assert_ne!(first[0].status, model::RunStatus::Running, "{first:?}");
    let second = rig.attempts(ids[1]).await;
    assert_eq!(second.len(), 1);
    assert_eq!(
        second[0].status,
        model::RunStatus::Running,
        "still waiting: {second:?}"
    );
}
