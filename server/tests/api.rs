//! `POST /functions/v1/run-integration` through the real router: every answer of the
//! contract, the callers that must be refused, and 50 concurrent requests.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use backend::engine::{Engine, EngineConfig};
use backend::providers::{local_http, Registry};
use backend::{demo, queue, sandbox, AppState};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

const SECRET: &[u8] = b"api-test-secret-api-test-secret-api";
const PATH: &str = "/functions/v1/run-integration";

async fn setup(pool: PgPool) -> (axum::Router, AppState) {
    common::router_for(pool, SECRET).await
}

fn post(path: &str, auth: Option<&str>, body: &str) -> Request<Body> {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    req.body(Body::from(body.to_owned())).unwrap()
}

async fn call(
    app: &axum::Router,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let res = app.clone().oneshot(post(path, auth, body)).await.unwrap();
    let status = res.status();
    let text = common::body_text(res).await;
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, value)
}

async fn log_count(pool: &PgPool) -> i64 {
    // Rows the API wrote (a fresh install has a few older rows of its own).
    sqlx::query_scalar("select count(*) from public.integration_logs where trigger = 'api'")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_member_starts_a_run_and_a_second_request_gets_409_with_its_id(pool: PgPool) {
    let (app, state) = setup(pool.clone()).await;
    let bearer = format!(
        "Bearer {}",
        common::token_for(&state, "equipe@contmax.com.br").await
    );
    let body =
        json!({"tenant_id": common::org(&pool, "contmax").await, "provider_slug": "acessorias"})
            .to_string();

    let (status, v) = call(&app, PATH, Some(&bearer), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let id: Uuid = serde_json::from_value(v["execution_id"].clone()).expect("execution_id");
    let (trigger, actor): (String, Option<Uuid>) = sqlx::query_as(
        "select trigger, actor_id from public.integration_logs where execution_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(trigger, "api");
    assert!(actor.is_some());
    let queued: i64 = sqlx::query_scalar(
        "select count(*) from graphile_worker.jobs where task_identifier = 'run_integration' and key = $1",
    )
    .bind(format!("run:{id}:1"))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(queued, 1, "the job is queued with the claim");

    let (status, v) = call(&app, PATH, Some(&bearer), &body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(v["execution_id"], json!(id));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn malformed_bodies_get_400_with_field_errors(pool: PgPool) {
    let (app, state) = setup(pool.clone()).await;
    let bearer = format!(
        "Bearer {}",
        common::token_for(&state, "admin@contmax.com.br").await
    );
    let (status, v) = call(&app, PATH, Some(&bearer), "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().is_some_and(|e| e.contains("JSON")));

    let (status, v) = call(&app, PATH, Some(&bearer), "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        v["fields"]["tenant_id"].is_string() && v["fields"]["provider_slug"].is_string(),
        "{v}"
    );

    let (status, v) = call(
        &app,
        PATH,
        Some(&bearer),
        &json!({"tenant_id": "abc", "provider_slug": "Acessórias; drop"}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["fields"]["tenant_id"], "deve ser um UUID");
    assert!(v["fields"]["provider_slug"].is_string());
    assert_eq!(log_count(&pool).await, 0);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn anonymous_and_forged_callers_get_401_and_change_nothing(pool: PgPool) {
    let (app, state) = setup(pool.clone()).await;
    let contmax = common::org(&pool, "contmax").await;
    let body = json!({"tenant_id": contmax, "provider_slug": "acessorias"}).to_string();
    let real: Uuid =
        sqlx::query_scalar("select id from auth.users where email = 'admin@contmax.com.br'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({"sub": real, "role": "authenticated", "aud": "authenticated", "exp": exp});
    let forged = encode(
        &Header::default(),
        &claims(now + 600),
        &EncodingKey::from_secret(b"not-our-secret-not-our-secret-123"),
    )
    .unwrap();
    let expired = encode(
        &Header::default(),
        &claims(now - 600),
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    let service_role_forged = encode(
        &Header::default(),
        &json!({"sub": real, "role": "service_role", "aud": "authenticated", "exp": now + 600}),
        &EncodingKey::from_secret(b"not-our-secret-not-our-secret-123"),
    )
    .unwrap();
    for auth in [
        None,
        Some(format!("Bearer {forged}")),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {service_role_forged}")),
        Some("Bearer abc.def.ghi".to_owned()),
        Some("Basic YWRtaW46YWRtaW4=".to_owned()),
    ] {
        let (status, v) = call(&app, PATH, auth.as_deref(), &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}: {v}");
        assert!(v["error"].is_string());
    }
    // Even with a malformed body an anonymous caller learns only 401.
    let (status, _) = call(&app, PATH, None, "{").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(log_count(&pool).await, 0);
    let _ = state;
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn another_tenants_user_gets_403_unknown_gets_404_disabled_gets_409(pool: PgPool) {
    let (app, state) = setup(pool.clone()).await;
    let contmax = common::org(&pool, "contmax").await;
    let pg_admin = format!(
        "Bearer {}",
        common::token_for(&state, "admin@pg.com.br").await
    );
    let body = json!({"tenant_id": contmax, "provider_slug": "acessorias"}).to_string();
    let (status, _) = call(&app, PATH, Some(&pg_admin), &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &app,
        PATH,
        Some(&pg_admin),
        &json!({"tenant_id": Uuid::new_v4(), "provider_slug": "acessorias"}).to_string(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a tenant that does not exist is not yours either"
    );

    let admin = format!(
        "Bearer {}",
        common::token_for(&state, "admin@contmax.com.br").await
    );
    let (status, v) = call(
        &app,
        PATH,
        Some(&admin),
        &json!({"tenant_id": contmax, "provider_slug": "nao-existe"}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    // BomControle is in the catalog but Contmax has no such integration.
    let (status, _) = call(
        &app,
        PATH,
        Some(&admin),
        &json!({"tenant_id": contmax, "provider_slug": "bomcontrole"}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(log_count(&pool).await, 0);

    sqlx::query("update public.tenant_integrations set is_enabled = false where tenant_id = $1")
        .bind(contmax)
        .execute(&pool)
        .await
        .unwrap();
    let (status, v) = call(&app, PATH, Some(&admin), &body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(v["error"]
        .as_str()
        .is_some_and(|e| e.contains("desativada")));
    assert!(v.get("execution_id").is_none());
    assert_eq!(log_count(&pool).await, 0);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn fifty_concurrent_requests_start_one_execution(pool: PgPool) {
    // One user's fifty requests: over the per-user run limit, which is not what this
    // test is about (server/tests/limits.rs is).
    let mut state = common::state_for(pool.clone(), SECRET);
    state.run_limiter = std::sync::Arc::new(backend::auth::RunLimiter::new(1000));
    let (app, state) = common::router_with(state).await;
    let bearer = format!(
        "Bearer {}",
        common::token_for(&state, "admin@contmax.com.br").await
    );
    let body =
        json!({"tenant_id": common::org(&pool, "contmax").await, "provider_slug": "acessorias"})
            .to_string();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, bearer, body) = (app.clone(), bearer.clone(), body.clone());
            tokio::spawn(async move { call(&app, PATH, Some(&bearer), &body).await })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut conflicts = Vec::new();
    for t in tasks {
        let (status, v) = t.await.unwrap();
        match status {
            StatusCode::ACCEPTED => accepted.push(v["execution_id"].clone()),
            StatusCode::CONFLICT => conflicts.push(v["execution_id"].clone()),
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!(accepted.len(), 1);
    assert_eq!(conflicts.len(), 49);
    assert!(conflicts.iter().all(|id| *id == accepted[0]));
    assert_eq!(log_count(&pool).await, 1);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn wait_true_answers_with_the_finished_run(pool: PgPool) {
    let (app, state) = setup(pool.clone()).await;
    demo::add_local_http_provider(&pool).await.unwrap();
    let addr = sandbox::spawn().await.unwrap();
    let contmax = common::org(&pool, "contmax").await;
    demo::add_local_http_integration(
        &pool,
        &state.keyring,
        contmax,
        &format!("http://{addr}/s/ok"),
    )
    .await
    .unwrap();
    let engine = Engine::new(
        pool.clone(),
        Registry::standard(true),
        state.keyring.clone(),
        EngineConfig {
            queue_poll_every: Duration::from_millis(200),
            ..EngineConfig::default()
        },
    );
    tokio::spawn(queue::run_worker(engine, 2));

    let bearer = format!(
        "Bearer {}",
        common::token_for(&state, "equipe@contmax.com.br").await
    );
    let body = json!({"tenant_id": contmax, "provider_slug": local_http::SLUG}).to_string();
    let (status, v) = call(&app, &format!("{PATH}?wait=true"), Some(&bearer), &body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "success");
    assert_eq!(v["trigger"], "api");
    assert_eq!(v["total_processados"], 12);
    assert_eq!(v["attempt"], 1);
}

/// `POST /functions/v1/cancel-run`: a queued run (no worker here) ends at once, a second
/// cancel is 409, another tenant's user and strangers get 404 and 401, bad bodies 400.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn cancel_run_ends_a_queued_run_for_members_only(pool: PgPool) {
    let (app, state) = setup(pool.clone()).await;
    let member = format!(
        "Bearer {}",
        common::token_for(&state, "equipe@contmax.com.br").await
    );
    let outsider = format!(
        "Bearer {}",
        common::token_for(&state, "admin@pg.com.br").await
    );
    let body =
        json!({"tenant_id": common::org(&pool, "contmax").await, "provider_slug": "acessorias"})
            .to_string();
    let (status, v) = call(&app, PATH, Some(&member), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let id = v["execution_id"].as_str().expect("execution_id").to_owned();
    let cancel = "/functions/v1/cancel-run";
    let target = json!({ "execution_id": id }).to_string();

    let (status, _) = call(&app, cancel, None, &target).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, v) = call(&app, cancel, Some(&member), "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["fields"]["execution_id"].is_string(), "{v}");
    let (status, _) = call(&app, cancel, Some(&member), "not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(&app, cancel, Some(&outsider), &target).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another tenant's run is not found"
    );

    let (status, v) = call(&app, cancel, Some(&member), &target).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "cancelled");
    let (status, _) = call(&app, cancel, Some(&member), &target).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (row_status, card): (String, Option<String>) = sqlx::query_as(
        "select l.status, t.last_status from public.integration_logs l
         join public.tenant_integrations t on t.tenant_id::text = l.tenant_id and t.provider = 'acessorias'
         where l.execution_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (row_status.as_str(), card.as_deref()),
        ("cancelled", Some("cancelled"))
    );
    // The button is free again: a new run starts.
    let (status, _) = call(&app, PATH, Some(&member), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

/// `run-integration` with `rerun_of` (*Tentar novamente* for API clients): the new
/// execution has trigger `rerun` and names the one it repeats; a `rerun_of` that is not a
/// UUID is a field error, one the caller cannot see in this integration (unknown, or
/// another tenant's) is 404 and starts nothing.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn rerun_of_repeats_an_execution_the_caller_can_see(pool: PgPool) {
    let (app, state) = setup(pool.clone()).await;
    let member = format!(
        "Bearer {}",
        common::token_for(&state, "equipe@contmax.com.br").await
    );
    let pg_admin = format!(
        "Bearer {}",
        common::token_for(&state, "admin@pg.com.br").await
    );
    let contmax = common::org(&pool, "contmax").await;
    let pg = common::org(&pool, "pg").await;
    let body = |tenant: Uuid, rerun_of: Value| {
        json!({"tenant_id": tenant, "provider_slug": "acessorias", "rerun_of": rerun_of})
            .to_string()
    };
    // A first run, cancelled before any worker takes it (none runs here).
    let (status, v) = call(&app, PATH, Some(&member), &body(contmax, Value::Null)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let first = v["execution_id"].as_str().expect("execution_id").to_owned();
    let (status, _) = call(
        &app,
        "/functions/v1/cancel-run",
        Some(&member),
        &json!({ "execution_id": first }).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, v) = call(&app, PATH, Some(&member), &body(contmax, json!("nope"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["fields"]["rerun_of"].is_string(), "{v}");
    let all_rows = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from public.integration_logs")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let before = all_rows().await;
    let (status, _) = call(
        &app,
        PATH,
        Some(&member),
        &body(contmax, json!(Uuid::new_v4())),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // P&G's admin names Contmax's execution from P&G's own integration: not found.
    let (status, _) = call(&app, PATH, Some(&pg_admin), &body(pg, json!(first))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(all_rows().await, before, "nothing started");

    let (status, v) = call(&app, PATH, Some(&member), &body(contmax, json!(first))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let again = v["execution_id"].as_str().expect("execution_id").to_owned();
    assert_ne!(again, first);
    let (trigger, rerun_of): (String, Option<Uuid>) = sqlx::query_as(
        "select trigger, rerun_of from public.integration_logs
         where execution_id = $1::uuid and attempt = 1",
    )
    .bind(&again)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(trigger, "rerun");
    assert_eq!(rerun_of.map(|u| u.to_string()), Some(first));
}

/// `POST /functions/v1/resume-integration` (*Retomar*): an integration the engine paused
/// after consecutive failures is resumed by a tenant admin (the count restarts, audited as
/// coming from the API); staff get 403, another tenant 403, a second call 409, strangers 401,
/// bad bodies 400, an unknown integration 404.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn resume_integration_lifts_a_pause_for_tenant_admins(pool: PgPool) {
    let (app, state) = setup(pool.clone()).await;
    let bearer = |t: String| format!("Bearer {t}");
    let admin = bearer(common::token_for(&state, "admin@contmax.com.br").await);
    let staff = bearer(common::token_for(&state, "equipe@contmax.com.br").await);
    let outsider = bearer(common::token_for(&state, "admin@pg.com.br").await);
    let contmax = common::org(&pool, "contmax").await;
    sqlx::query(
        "update public.tenant_integrations
         set consecutive_failures = 3, paused_at = now(), paused_after = 3
         where tenant_id = $1 and provider = 'acessorias'",
    )
    .bind(contmax)
    .execute(&pool)
    .await
    .unwrap();
    let path = "/functions/v1/resume-integration";
    let body = json!({"tenant_id": contmax, "provider_slug": "acessorias"}).to_string();

    let (status, _) = call(&app, path, None, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, v) = call(&app, path, Some(&admin), "{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["fields"]["provider_slug"].is_string(), "{v}");
    let (status, _) = call(&app, path, Some(&staff), &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&app, path, Some(&outsider), &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let unknown = json!({"tenant_id": contmax, "provider_slug": "nao-existe"}).to_string();
    let (status, _) = call(&app, path, Some(&admin), &unknown).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, v) = call(&app, path, Some(&admin), &body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["paused"], false);
    let state_after: (i32, Option<i32>, bool) = sqlx::query_as(
        "select consecutive_failures, paused_after, paused_at is not null
         from public.tenant_integrations where tenant_id = $1 and provider = 'acessorias'",
    )
    .bind(contmax)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(state_after, (0, None, false));
    let (status, _) = call(&app, path, Some(&admin), &body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (source, who): (String, Option<String>) = sqlx::query_as(
        "select source, actor_email from public.integration_audit
         where tenant_id = $1 and action = 'integration_resumed'",
    )
    .bind(contmax)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (source.as_str(), who.as_deref()),
        ("api", Some("admin@contmax.com.br"))
    );
}
