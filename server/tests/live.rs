//! Live run status (issue "The engine under pressure", item 9) through the real router on a
//! real database: a run's change reaches the open streams of its tenant's users and no
//! other's, carries what row-level security lets that user see, and a stream whose session
//! ended stops.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use backend::engine::start_run;
use backend::providers::local_http;
use backend::runs::Claim;
use futures::StreamExt;
use model::{IntegrationSummary, RunStatus, Trigger};
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

const SECRET: &[u8] = b"live-test-secret-live-test-secret-live";

type Events = std::pin::Pin<Box<dyn futures::Stream<Item = (String, String)> + Send>>;

/// Opens `/api/run-events` as the bearer of `token`; the stream yields (event, data).
async fn open(app: &axum::Router, token: &str) -> Events {
    let res = app
        .clone()
        .oneshot(
            Request::get("/api/run-events")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/event-stream",
        "an event stream"
    );
    let chunks = res.into_body().into_data_stream();
    Box::pin(futures::stream::unfold(
        (chunks, String::new()),
        |(mut chunks, mut buf)| async move {
            loop {
                if let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    let mut event = String::from("message");
                    let mut data = String::new();
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            event = v.trim().to_owned();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim_start());
                        }
                    }
                    // Keep-alive comments carry no data.
                    if data.is_empty() {
                        continue;
                    }
                    return Some(((event, data), (chunks, buf)));
                }
                match chunks.next().await {
                    Some(Ok(bytes)) => buf.push_str(&String::from_utf8_lossy(&bytes)),
                    _ => return None,
                }
            }
        },
    ))
}

/// Every `run` event's summary up to the first that `wanted` accepts (resync events are
/// skipped), or `None` when the stream ended first. Thirty seconds at most: a bound, not a
/// wait.
async fn until(
    events: &mut Events,
    wanted: impl Fn(&IntegrationSummary) -> bool,
) -> Option<Vec<IntegrationSummary>> {
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut seen = Vec::new();
        while let Some((event, data)) = events.next().await {
            if event == "run" {
                let summary: IntegrationSummary = serde_json::from_str(&data).expect("a summary");
                let done = wanted(&summary);
                seen.push(summary);
                if done {
                    return Some(seen);
                }
            }
        }
        None
    })
    .await
    .expect("the event or the end of the stream within 30 s")
}

async fn start(pool: &PgPool, tenant: Uuid) -> Uuid {
    let mut tx = backend::scope::begin_service(pool).await.unwrap();
    let claim = start_run(&mut tx, tenant, local_http::SLUG, Trigger::Api)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    match claim {
        Claim::Started(id) => id,
        Claim::AlreadyRunning(id) => panic!("{id} already running"),
    }
}

async fn integration_id(pool: &PgPool, tenant: Uuid) -> Uuid {
    sqlx::query_scalar(
        "select id from public.tenant_integrations where tenant_id = $1 and provider = $2",
    )
    .bind(tenant)
    .bind(local_http::SLUG)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The real router with the given tenants' sandbox integrations. No worker runs: a run
/// started stays "running", waiting in the queue.
async fn router_with_sandbox(
    pool: &PgPool,
    slugs: &[&str],
) -> (axum::Router, backend::AppState, Vec<Uuid>) {
    let (app, state) = common::router_for(pool.clone(), SECRET).await;
    backend::demo::add_local_http_provider(pool).await.unwrap();
    let mut tenants = Vec::new();
    for slug in slugs {
        let t = common::org(pool, slug).await;
        backend::demo::add_local_http_integration(
            pool,
            &state.keyring,
            t,
            "http://127.0.0.1:9/s/ok",
        )
        .await
        .unwrap();
        tenants.push(t);
    }
    (app, state, tenants)
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_run_reaches_its_own_tenants_pages_only_and_ended_sessions_stop_listening(pool: PgPool) {
    let (app, state, tenants) = router_with_sandbox(&pool, &["contmax", "pg"]).await;
    let (contmax, pg) = (tenants[0], tenants[1]);
    let (contmax_item, pg_item) = (
        integration_id(&pool, contmax).await,
        integration_id(&pool, pg).await,
    );
    state.run_events.listening().await;

    let contmax_token = common::token_for(&state, "admin@contmax.com.br").await;
    let mut contmax_page = open(&app, &contmax_token).await;
    let mut pg_page = open(&app, &common::token_for(&state, "admin@pg.com.br").await).await;

    let pg_items: Vec<Uuid> =
        sqlx::query_scalar("select id from public.tenant_integrations where tenant_id = $1")
            .bind(pg)
            .fetch_all(&pool)
            .await
            .unwrap();

    // A stream opens with where each integration stands.
    let first = until(&mut contmax_page, |s| s.id == contmax_item)
        .await
        .expect("the stream's first summaries");
    assert_eq!(first.last().map(|s| s.last_status), Some(None));

    // Contmax's run reaches Contmax's page, as its card should show it.
    start(&pool, contmax).await;
    let running = |id: Uuid| {
        move |s: &IntegrationSummary| s.id == id && s.status() == Some(RunStatus::Running)
    };
    let seen = until(&mut contmax_page, running(contmax_item))
        .await
        .expect("Contmax's run");
    assert_eq!(seen.last().map(|s| s.slug.as_str()), Some(local_http::SLUG));

    // P&G's page, open all along, gets its own integrations and its own run, never
    // Contmax's.
    start(&pool, pg).await;
    let seen = until(&mut pg_page, running(pg_item))
        .await
        .expect("P&G's run");
    assert!(
        seen.iter().all(|s| pg_items.contains(&s.id)),
        "a P&G page received another tenant's integration: {:?}",
        seen.iter().map(|s| s.id).collect::<Vec<_>>()
    );

    // Progress moves the card too.
    sqlx::query("update public.integration_logs set progress = 40 where tenant_id = $1")
        .bind(contmax.to_string())
        .execute(&pool)
        .await
        .unwrap();
    until(&mut contmax_page, |s| {
        s.id == contmax_item && s.progress == Some(40)
    })
    .await
    .expect("the progress");

    // "Sair de todos os dispositivos": the next change ends the stream instead of reaching it.
    let admin: Uuid = sqlx::query_scalar("select id from auth.users where email = $1")
        .bind("admin@contmax.com.br")
        .fetch_one(&pool)
        .await
        .unwrap();
    backend::auth::end_all_sessions(&pool, admin).await.unwrap();
    sqlx::query("update public.integration_logs set progress = 80 where tenant_id = $1")
        .bind(contmax.to_string())
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        until(&mut contmax_page, |_| true).await.is_none(),
        "a signed-out user's page still received runs"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn no_session_no_stream(pool: PgPool) {
    let (app, _) = common::router_for(pool, SECRET).await;
    let res = app
        .clone()
        .oneshot(Request::get("/api/run-events").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(common::body_text(res).await.contains("\"error\""));
    // A browser's EventSource is told to stop reconnecting, quietly.
    let res = app
        .clone()
        .oneshot(
            Request::get("/api/run-events")
                .header(header::ACCEPT, "text/event-stream")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

/// `public.queue_position` as a signed-in user (a token without a session, as Supabase's).
async fn place_as(pool: &PgPool, email: &str, tenant: Uuid, execution: Uuid) -> Option<i32> {
    let user: Uuid = sqlx::query_scalar("select id from auth.users where email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "select set_config('request.jwt.claims', $1, true), set_config('role', 'authenticated', true)",
    )
    .bind(serde_json::json!({ "sub": user, "role": "authenticated" }).to_string())
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query_scalar("select public.queue_position($1, $2)")
        .bind(tenant)
        .bind(execution)
        .fetch_one(&mut *tx)
        .await
        .unwrap()
}

/// "Na fila · posição N": a run that waits for a worker shows its place among every job the
/// queue takes first (another tenant's too, never named), and the place moves on the open
/// page when that job is taken, though nothing of this tenant's changed.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_waiting_run_shows_its_place_and_moves_up_live(pool: PgPool) {
    let (app, state, tenants) = router_with_sandbox(&pool, &["contmax", "pg"]).await;
    let (contmax, pg) = (tenants[0], tenants[1]);
    let contmax_item = integration_id(&pool, contmax).await;
    state.run_events.listening().await;

    // Claimed in one transaction (as a schedule tick does): P&G's first, then Contmax's.
    let mut tx = backend::scope::begin_service(&pool).await.unwrap();
    let mut ids = Vec::new();
    for t in [pg, contmax] {
        match start_run(&mut tx, t, local_http::SLUG, Trigger::Api)
            .await
            .unwrap()
        {
            Claim::Started(id) => ids.push(id),
            Claim::AlreadyRunning(id) => panic!("{id} already running"),
        }
    }
    tx.commit().await.unwrap();
    let (pg_run, contmax_run) = (ids[0], ids[1]);
    // Each claim of the transaction is queued at its own moment (not the transaction's
    // one `now()`), so graphile's order, `(priority, run_at)`, is the order placed.
    let (first, second): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as(
            "select (select run_at from graphile_worker._private_jobs where key = 'run:' || $1 || ':1'),
                    (select run_at from graphile_worker._private_jobs where key = 'run:' || $2 || ':1')",
        )
        .bind(pg_run)
        .bind(contmax_run)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(first < second, "{first} then {second}");

    // Each tenant's member learns their own run's place; P&G's admin learns nothing of
    // Contmax's, nor Contmax's of P&G's.
    assert_eq!(
        place_as(&pool, "admin@contmax.com.br", contmax, contmax_run).await,
        Some(2)
    );
    assert_eq!(
        place_as(&pool, "admin@pg.com.br", pg, pg_run).await,
        Some(1)
    );
    assert_eq!(
        place_as(&pool, "admin@pg.com.br", contmax, contmax_run).await,
        None
    );
    assert_eq!(
        place_as(&pool, "admin@pg.com.br", pg, contmax_run).await,
        None
    );
    assert_eq!(
        place_as(&pool, "admin@contmax.com.br", contmax, pg_run).await,
        None
    );

    // The page opens with the card waiting, second in line.
    let mut page = open(
        &app,
        &common::token_for(&state, "admin@contmax.com.br").await,
    )
    .await;
    let seen = until(&mut page, |s| s.id == contmax_item)
        .await
        .expect("the card");
    let card = seen.last().expect("the card");
    assert_eq!(card.status(), Some(RunStatus::Running));
    assert!(card.is_queued());
    assert_eq!(card.queue_line().as_deref(), Some("Na fila · posição 2"));

    // A worker takes P&G's job (locked, as graphile_worker's get_job does): Contmax's run
    // is next, and its open page is told so.
    let taken = sqlx::query(
        "update graphile_worker._private_jobs
         set locked_at = now(), locked_by = 'test-worker', attempts = attempts + 1
         where key = 'run:' || $1 || ':1'",
    )
    .bind(pg_run)
    .execute(&pool)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(taken, 1);
    until(&mut page, |s| {
        s.id == contmax_item && s.queue_position == Some(1)
    })
    .await
    .expect("the place moved");

    // A worker starts Contmax's: "Executando", no place.
    sqlx::query(
        "update public.integration_logs set started_at = now()
         where execution_id = $1 and attempt = 1",
    )
    .bind(contmax_run)
    .execute(&pool)
    .await
    .unwrap();
    let seen = until(&mut page, |s| s.id == contmax_item && !s.queued)
        .await
        .expect("started");
    let card = seen.last().expect("the card");
    assert_eq!(card.status(), Some(RunStatus::Running));
    assert_eq!(card.queue_line(), None);
    assert_eq!(card.queue_position, None);
}

/// A database set up by hand where `queue_position`'s owner may not use the queue's schema:
/// a waiting run shows "Na fila" without a place, and the pages that list it still work.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_queue_the_place_cannot_read_gives_no_place_not_an_error(pool: PgPool) {
    let (app, state, tenants) = router_with_sandbox(&pool, &["contmax"]).await;
    let contmax = tenants[0];
    let item = integration_id(&pool, contmax).await;
    let run = start(&pool, contmax).await;
    assert_eq!(
        place_as(&pool, "admin@contmax.com.br", contmax, run).await,
        Some(1)
    );
    // Its owner now reads the log (past row-level security, as an owner would) but may
    // not use the queue's schema. Roles belong to the whole server: a name of its own.
    let role = format!("portal_test_no_queue_{}", Uuid::new_v4().simple());
    sqlx::raw_sql(&format!(
        "create role {role} nologin bypassrls;
         grant select on public.integration_logs to {role};
         grant execute on function public.caller_is_service(), public.is_tenant_member(uuid)
           to {role};
         alter function public.queue_position(uuid, uuid) owner to {role};"
    ))
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        place_as(&pool, "admin@contmax.com.br", contmax, run).await,
        None
    );
    let mut page = open(
        &app,
        &common::token_for(&state, "admin@contmax.com.br").await,
    )
    .await;
    let seen = until(&mut page, |s| s.id == item).await.expect("the card");
    let card = seen.last().expect("the card");
    assert!(card.is_queued());
    assert_eq!(card.queue_line().as_deref(), Some("Na fila"));
    // Roles outlive the test's database: this one goes with it.
    sqlx::raw_sql(&format!(
        "alter function public.queue_position(uuid, uuid) owner to current_user;
         drop owned by {role}; drop role {role};"
    ))
    .execute(&pool)
    .await
    .unwrap();
}

/// A run cancelled before any worker took it leaves the queue at once: its job is gone, and
/// the runs behind it move up (before, it counted in their places until a worker reached
/// it).
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_run_cancelled_in_the_queue_leaves_it_and_the_next_moves_up(pool: PgPool) {
    let (app, state, tenants) = router_with_sandbox(&pool, &["contmax", "pg"]).await;
    let (contmax, pg) = (tenants[0], tenants[1]);
    let pg_run = start(&pool, pg).await;
    let contmax_run = start(&pool, contmax).await;
    assert_eq!(
        place_as(&pool, "admin@contmax.com.br", contmax, contmax_run).await,
        Some(2)
    );
    let jobs = |execution: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from graphile_worker._private_jobs where key = 'run:' || $1 || ':1'",
            )
            .bind(execution)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(jobs(pg_run).await, 1);

    // P&G's admin cancels P&G's run (the public API, as *Cancelar* does).
    let token = common::token_for(&state, "admin@pg.com.br").await;
    let res = app
        .clone()
        .oneshot(
            Request::post("/functions/v1/cancel-run")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(r#"{{"execution_id":"{pg_run}"}}"#)))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let status: String =
        sqlx::query_scalar("select status from public.integration_logs where execution_id = $1")
            .bind(pg_run)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "cancelled");
    assert_eq!(
        jobs(pg_run).await,
        0,
        "the cancelled run's job left the queue"
    );
    assert_eq!(jobs(contmax_run).await, 1, "the other run's job stays");
    assert_eq!(
        place_as(&pool, "admin@contmax.com.br", contmax, contmax_run).await,
        Some(1)
    );
}
