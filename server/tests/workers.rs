//! The real `server` binary as worker processes against one database: a worker killed
//! with SIGKILL mid-run, and two workers sharing the work. The provider's sandbox runs in
//! this test process; the workers reach it over real HTTP.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use backend::engine::start_run;
use backend::providers::local_http;
use backend::runs::{attempts, Claim, LogRow};
use backend::scope::begin_service;
use backend::{demo, queue, sandbox};
use model::Trigger;
use sqlx::PgPool;
use uuid::Uuid;

/// A worker process, killed when dropped so no test leaves one behind.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The vault key the worker processes and the test share (32 bytes, base64).
const WORKERS_KEY: &str = "d29ya2Vycy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=";

fn keyring() -> backend::vault::Keyring {
    backend::vault::Keyring::parse(&secrecy::SecretString::from(WORKERS_KEY.to_owned()))
        .expect("the test key")
}

async fn spawn_worker(pool: &PgPool, concurrency: usize) -> Worker {
    let child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--role", "worker"])
        .env("DATABASE_URL", common::database_url(pool))
        .env("JWT_SECRET", "workers-test-secret-workers-test-secret")
        .env("INTEGRATIONS_ENCRYPTION_KEY", WORKERS_KEY)
        .env("PORTAL_SANDBOX", "1")
        // The sandboxes this test process started, and nothing else local.
        .env(
            "ALLOWED_PRIVATE_HOSTS",
            backend::net_guard::NetPolicy::process().to_env_value(),
        )
        .env("DEMO_SEED", "0")
        .env("WORKER_CONCURRENCY", concurrency.to_string())
        .env("HEARTBEAT_SECS", "1")
        .env("STALE_AFTER_SECS", "3")
        .env("REAP_EVERY_SECS", "1")
        .env("RETRY_BACKOFF_MIN_MS", "100")
        .env("RETRY_BACKOFF_MAX_MS", "200")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    wait_ready(child).await
}

/// Returns once the worker says it takes jobs (its start-up applies migrations, which on a
/// busy machine can take seconds: a test that started runs before would find one worker
/// doing all of them). Its output is drained afterwards.
async fn wait_ready(mut child: Child) -> Worker {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("piped stdout");
    let (ready, is_ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("Worker running") {
                let _ = ready.send(());
            }
        }
    });
    let worker = Worker(child);
    tokio::task::spawn_blocking(move || is_ready.recv_timeout(Duration::from_secs(120)))
        .await
        .expect("waiting")
        .expect("the worker says it runs jobs");
    worker
}

async fn setup(pool: &PgPool) -> SocketAddr {
    queue::install(pool).await.expect("queue");
    demo::add_local_http_provider(pool)
        .await
        .expect("catalog row");
    sandbox::spawn().await.expect("sandbox")
}

async fn start(pool: &PgPool, tenant: Uuid) -> Claim {
    let mut tx = begin_service(pool).await.unwrap();
    let c = start_run(&mut tx, tenant, local_http::SLUG, Trigger::Api)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    c
}

async fn rows(pool: &PgPool, id: Uuid) -> Vec<LogRow> {
    let mut tx = begin_service(pool).await.unwrap();
    let r = attempts(&mut tx, id).await.unwrap();
    tx.commit().await.unwrap();
    r
}

/// Polls until `done` holds for the execution's attempts; panics after `limit`.
async fn wait_until(
    pool: &PgPool,
    id: Uuid,
    limit: Duration,
    done: impl Fn(&[LogRow]) -> bool,
) -> Vec<LogRow> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let r = rows(pool, id).await;
        if done(&r) {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}: {r:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_worker_killed_mid_run_is_detected_and_the_run_retried(pool: PgPool) {
    let sandbox = setup(&pool).await;
    let tenant = common::org(&pool, "contmax").await;
    // Three pages of 1.5 s each.
    demo::add_local_http_integration(
        &pool,
        &keyring(),
        tenant,
        &format!("http://{sandbox}/s/slow-1500"),
    )
    .await
    .unwrap();
    let a = spawn_worker(&pool, 2).await;
    let Claim::Started(id) = start(&pool, tenant).await else {
        panic!("not started")
    };
    // Mid-run: worker A took it and reported the first page.
    let r = wait_until(&pool, id, Duration::from_secs(60), |r| {
        r[0].progress.is_some()
    })
    .await;
    let worker_a = r[0].worker.clone().expect("worker A recorded");
    drop(a); // SIGKILL, then reaped by the OS

    assert_eq!(
        rows(&pool, id).await[0].status,
        model::RunStatus::Running,
        "nobody ended it yet"
    );
    let _b = spawn_worker(&pool, 2).await;
    let r = wait_until(&pool, id, Duration::from_secs(60), |r| {
        r.last()
            .is_some_and(|l| l.status != model::RunStatus::Running)
    })
    .await;
    assert_eq!(r.len(), 2, "{r:#?}");
    assert_eq!(r[0].status, model::RunStatus::Error);
    assert!(r[0]
        .error_message
        .as_deref()
        .is_some_and(|e| e.contains("worker lost")));
    assert_eq!(r[1].status, model::RunStatus::Success);
    assert_eq!(r[1].execution_id, id);
    assert_ne!(r[1].worker.as_deref(), Some(worker_a.as_str()));
    let last: Option<String> = sqlx::query_scalar(
        "select last_status from public.tenant_integrations where tenant_id = $1 and provider = 'local-http'",
    )
    .bind(tenant)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(last.as_deref(), Some("success"));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn two_workers_share_the_work_and_never_run_one_integration_twice_at_once(pool: PgPool) {
    let sandbox = setup(&pool).await;
    // Six tenants, each with the sandbox provider (three pages of 300 ms).
    let mut tenants = Vec::new();
    for i in 0..6 {
        let id: Uuid = sqlx::query_scalar(
            "insert into public.organizacoes (nome, slug) values ($1, $2) returning id",
        )
        .bind(format!("Cliente {i}"))
        .bind(format!("cliente-{i}"))
        .fetch_one(&pool)
        .await
        .unwrap();
        demo::add_local_http_integration(
            &pool,
            &keyring(),
            id,
            &format!("http://{sandbox}/s/slow-300"),
        )
        .await
        .unwrap();
        tenants.push(id);
    }
    let _a = spawn_worker(&pool, 1).await;
    let _b = spawn_worker(&pool, 1).await;

    // Two rounds: start every tenant's run, and while they run ask again (refused: the
    // same execution comes back), then wait for all of them.
    let mut executions = Vec::new();
    for _round in 0..2 {
        let mut ids = Vec::new();
        for &t in &tenants {
            let Claim::Started(id) = start(&pool, t).await else {
                panic!("previous round still running")
            };
            assert_eq!(start(&pool, t).await, Claim::AlreadyRunning(id));
            ids.push(id);
        }
        for &id in &ids {
            wait_until(&pool, id, Duration::from_secs(60), |r| {
                r.last()
                    .is_some_and(|l| l.status != model::RunStatus::Running)
            })
            .await;
        }
        executions.extend(ids);
    }

    let mut all = Vec::new();
    for &id in &executions {
        all.extend(rows(&pool, id).await);
    }
    assert!(
        all.iter().all(|r| r.status == model::RunStatus::Success),
        "{all:#?}"
    );
    let workers: std::collections::BTreeSet<_> =
        all.iter().filter_map(|r| r.worker.clone()).collect();
    assert_eq!(workers.len(), 2, "both workers ran something: {workers:?}");
    // Per tenant, no two attempts overlap in time.
    for t in &tenants {
        let mut spans: Vec<_> = all
            .iter()
            .filter(|r| r.tenant_id == t.to_string())
            .map(|r| {
                (
                    r.started_at.expect("started"),
                    r.finished_at.expect("finished"),
                )
            })
            .collect();
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "overlap for tenant {t}: {w:?}");
        }
    }
}
