//! The orchestrator's overhead (`make bench`): what the engine adds around a provider that
//! returns at once (the sandbox's `once` scenario: one HTTP request, one record), with the
//! real queue and workers of this process, the sandbox on loopback and a real Postgres.
//!
//! Measured, each beside its floor taken in the same run:
//! - the floor: the same provider called directly (one HTTP round trip) plus one committed
//!   insert, no engine;
//! - one run at a time (the lone-run latency): request (the claim committed) → worker
//!   start, worker start → log row ended, and request → the waiter told (what `?wait=true`
//!   waits on: the `run_ended` notification), with 1 worker;
//! - drain: 1,000 runs over 200 tenants (each tenant's runs one after another, as the
//!   "already running" rule wants; the tenants at once) with 1, 2 and 4 workers, beside
//!   1,000 floors divided by the workers.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \
//!   cargo run --release -p backend --example orchestrator_overhead
//! ```
//!
//! Prints one JSON object. Nothing is asserted: times are measured, not tested.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use backend::engine::{start_run, Engine, EngineConfig};
use backend::providers::{local_http, Provider, Registry, RunContext};
use backend::runs::Claim;
use backend::scope::begin_service;
use backend::{demo, queue, run_events::RunEvents, sandbox};
use model::Trigger;
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TENANTS: usize = 200;
const RUNS: usize = 1_000;
const LONE_RUNS: usize = 60;
const FLOOR_RUNS: usize = 60;

fn percentile(xs: &[f64], p: f64) -> f64 {
    let mut xs = xs.to_vec();
    xs.sort_by(f64::total_cmp);
    if xs.is_empty() {
        return f64::NAN;
    }
    let k = ((p / 100.0 * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1;
    xs[k]
}

fn summary(xs: &[f64]) -> serde_json::Value {
    json!({"p50": percentile(xs, 50.0), "p95": percentile(xs, 95.0)})
}

fn ms(d: chrono::TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or(0) as f64 / 1000.0
}

/// The provider alone, as a worker calls it, plus one committed insert: what a run
/// cannot do without.
async fn floor(
    pool: &PgPool,
    keyring: &backend::vault::Keyring,
    tenant: Uuid,
) -> anyhow::Result<Vec<f64>> {
    sqlx::query("create table if not exists public.bench_floor (id uuid primary key, at timestamptz, body jsonb)")
        .execute(pool)
        .await?;
    let mut tx = begin_service(pool).await?;
    let inputs = backend::vault::run_inputs(&mut tx, keyring, tenant, local_http::SLUG)
        .await?
        .context("the tenant has local-http")?;
    tx.commit().await?;
    let http = backend::providers::http_client();
    let mut times = Vec::new();
    for i in 0..FLOOR_RUNS + 5 {
        let ctx = RunContext {
            tenant_id: tenant,
            integration_id: inputs.tenant_integration_id,
            execution_id: Uuid::new_v4(),
            attempt: 1,
            config: inputs.config.clone(),
            secrets: inputs.secrets.clone(),
            http: http.clone(),
            cancel: CancellationToken::new(),
            progress: Default::default(),
            timeline: Default::default(),
            db: pool.clone(),
        };
        let t0 = Instant::now();
        let out = local_http::LocalHttp
            .run(ctx)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        sqlx::query("insert into public.bench_floor values ($1, now(), $2)")
            .bind(Uuid::new_v4())
            .bind(&out.response)
            .execute(pool)
            .await?;
        if i >= 5 {
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    sqlx::query("drop table public.bench_floor")
        .execute(pool)
        .await?;
    Ok(times)
}

/// Starts a run of `tenant`'s `local-http` as the service (a schedule's way in) and waits
/// for its end through the notification a `?wait=true` waiter gets. Returns the request's
/// time, the moment the waiter was told, and the execution.
async fn run_and_wait(
    pool: &PgPool,
    events: &RunEvents,
    tenant: Uuid,
) -> anyhow::Result<(chrono::DateTime<chrono::Utc>, f64, Uuid)> {
    let mut ended = events.subscribe();
    let requested = chrono::Utc::now();
    let t0 = Instant::now();
    let mut tx = begin_service(pool).await?;
    let id = match start_run(&mut tx, tenant, local_http::SLUG, Trigger::Api).await? {
        Claim::Started(id) => id,
        Claim::AlreadyRunning(id) => anyhow::bail!("{id} still running"),
    };
    tx.commit().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        match tokio::time::timeout_at(deadline, ended.recv()).await {
            Ok(Ok(e)) if e == id => break,
            // Another run's end.
            Ok(Ok(_)) => {}
            // This receiver fell behind: look at the row itself.
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                let done: bool = sqlx::query_scalar(
                    "select finished_at is not null from public.integration_logs
                     where execution_id = $1 order by attempt desc limit 1",
                )
                .bind(id)
                .fetch_one(pool)
                .await?;
                if done {
                    break;
                }
            }
            Ok(Err(e)) => anyhow::bail!("run events: {e}"),
            Err(_) => anyhow::bail!("run {id} did not end in two minutes"),
        }
    }
    Ok((requested, t0.elapsed().as_secs_f64() * 1000.0, id))
}

struct Row {
    created_at: chrono::DateTime<chrono::Utc>,
    started_at: chrono::DateTime<chrono::Utc>,
    finished_at: chrono::DateTime<chrono::Utc>,
    status: String,
    attempts: i64,
}

type At = chrono::DateTime<chrono::Utc>;
/// An execution's first request, first start, last end, last status and attempts.
type Span = (At, Option<At>, Option<At>, String, i64);

async fn rows(pool: &PgPool, ids: &[Uuid]) -> anyhow::Result<Vec<Row>> {
    let rows: Vec<Span> = sqlx::query_as(
        "select min(created_at), min(started_at), max(finished_at),
                    (array_agg(status order by attempt desc))[1], count(*)
             from public.integration_logs where execution_id = any($1) group by execution_id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, s, f, status, attempts)| {
            Some(Row {
                created_at: c,
                started_at: s?,
                finished_at: f?,
                status,
                attempts,
            })
        })
        .collect())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let database_url = std::env::var("DATABASE_URL").context("DATABASE_URL")?;
    let admin = backend::db::connect_for_command(&database_url).await?;
    backend::db::migrate(&admin).await?;
    let pool = PgPoolOptions::new()
        .max_connections(24)
        .connect_with(admin.connect_options().as_ref().clone())
        .await?;
    queue::install(&pool).await?;
    demo::add_local_http_provider(&pool).await?;
    let keyring = Arc::new(backend::vault::Keyring::ephemeral());
    let addr = sandbox::spawn().await?;
    let base_url = format!("http://{addr}/s/once");

    sqlx::query(
        "insert into public.organizacoes (nome, slug)
         select 'Escritório ' || g, 'ovh-' || g from generate_series(1, $1) g
         on conflict (slug) do nothing",
    )
    .bind(TENANTS as i32)
    .execute(&pool)
    .await?;
    let tenants: Vec<Uuid> = sqlx::query_scalar(
        "select id from public.organizacoes where slug like 'ovh-%' order by slug",
    )
    .fetch_all(&pool)
    .await?;
    for t in &tenants {
        demo::add_local_http_integration(&pool, &keyring, *t, &base_url).await?;
    }
    // Earlier runs of these tenants would only be noise in the percentiles.
    sqlx::query("delete from public.integration_logs where provider_slug = $1")
        .bind(local_http::SLUG)
        .execute(&pool)
        .await?;

    let floor_times = floor(&pool, &keyring, tenants[0]).await?;
    let floor_p50 = percentile(&floor_times, 50.0);
    let events = RunEvents::start(&pool);
    // The listener connects in the background: wait for its LISTEN before the first run.
    events.listening().await;

    let mut report = json!({
        "floor": summary(&floor_times),
        "tenants": TENANTS,
        "runs": RUNS,
    });
    let mut drains = Vec::new();
    for workers in [1usize, 2, 4] {
        let engine = Engine::new(
            pool.clone(),
            Registry::standard(true),
            keyring.clone(),
            EngineConfig::default(),
        );
        let worker = tokio::spawn(queue::run_worker(engine.clone(), workers));
        // The worker is up when it has taken a first run; that run is not counted.
        run_and_wait(&pool, &events, tenants[0]).await?;

        if workers == 1 {
            let mut waited = Vec::new();
            let mut ids = Vec::new();
            let mut requested = Vec::new();
            for _ in 0..LONE_RUNS {
                let (at, ms_waited, id) = run_and_wait(&pool, &events, tenants[0]).await?;
                waited.push(ms_waited);
                ids.push(id);
                requested.push((id, at));
            }
            let rows = rows(&pool, &ids).await?;
            let pickup: Vec<f64> = rows
                .iter()
                .map(|r| ms(r.started_at - r.created_at))
                .collect();
            let run: Vec<f64> = rows
                .iter()
                .map(|r| ms(r.finished_at - r.started_at))
                .collect();
            let overhead: Vec<f64> = waited.iter().map(|w| w - floor_p50).collect();
            report["lone"] = json!({
                "waited": summary(&waited),
                "pickup": summary(&pickup),
                "run": summary(&run),
                "overhead": summary(&overhead),
            });
        }

        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for t in tenants.iter().copied() {
            let pool = pool.clone();
            let events = events.clone();
            tasks.spawn(async move {
                let mut ids = Vec::new();
                for _ in 0..RUNS / TENANTS {
                    ids.push(run_and_wait(&pool, &events, t).await?.2);
                }
                anyhow::Ok(ids)
            });
        }
        let mut ids = Vec::new();
        while let Some(r) = tasks.join_next().await {
            ids.extend(r??);
        }
        let drain_ms = started.elapsed().as_secs_f64() * 1000.0;
        let rows = rows(&pool, &ids).await?;
        let ok = rows
            .iter()
            .filter(|r| r.status == "success" && r.attempts == 1)
            .count();
        let pickup: Vec<f64> = rows
            .iter()
            .map(|r| ms(r.started_at - r.created_at))
            .collect();
        drains.push(json!({
            "workers": workers,
            "drain_ms": drain_ms,
            "floor_ms": floor_p50 * RUNS as f64 / workers as f64,
            "per_run_ms": drain_ms / RUNS as f64,
            "pickup": summary(&pickup),
            "succeeded_first_time": ok,
        }));

        engine.shutdown.cancel();
        let _ = worker.await;
    }
    report["drain"] = json!(drains);
    println!("{report}");
    Ok(())
}
