//! The canary: a credential set through the real router never comes back out — not from
//! any server function or REST endpoint, not from the history, the drawer or the audit
//! trail, not from a run of a provider that echoes it in its error and its records, not in
//! the server's log, and not in a dump of the database — while the provider did receive it.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use backend::engine::{Engine, EngineConfig};
use backend::providers::{local_http, Registry};
use backend::{demo, sandbox};
use sqlx::PgPool;
use tower::ServiceExt;

const SECRET: &[u8] = b"credentials-test-secret-credentials-test";

/// Everything the server logs during the test (every level, every target).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    (status, common::body_text(res).await)
}

/// Sets local-http's token through the form's server function, as `token`'s user.
async fn set_token(app: &axum::Router, token: &str, value: &str) -> model::SaveOutcome {
    let (status, body) = call(
        app,
        common::post_form(
            "/api/set-secret",
            Some(token),
            None,
            &format!("slug=local-http&field=api_token&value={value}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).expect(&body)
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_credential_reaches_the_provider_and_nothing_else(pool: PgPool) {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (app, state) = common::router_for(pool.clone(), SECRET).await;
    demo::add_local_http_provider(&pool).await.unwrap();
    let (addr, seen) = sandbox::spawn_recording().await.unwrap();
    let contmax = common::org(&pool, "contmax").await;
    demo::add_local_http_integration(
        &pool,
        &state.keyring,
        contmax,
        &format!("http://{addr}/s/echo"),
    )
    .await
    .unwrap();
    let admin = common::token_for(&state, "admin@contmax.com.br").await;
    let canary = format!("sbx_canary_{}", uuid::Uuid::new_v4().simple());

    // Set through the form's server function.
    let outcome = set_token(&app, &admin, &canary).await;
    assert!(outcome.saved, "{outcome:?}");

    // Testar conexão (server function and REST) and a run whose provider echoes the token.
    let (status, body) = call(
        &app,
        common::post_form(
            "/api/test-connection",
            Some(&admin),
            None,
            "slug=local-http",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let check: model::ConnectionCheck = serde_json::from_str(&body).expect(&body);
    assert!(
        check.ok && check.message.starts_with("Conexão OK"),
        "{body}"
    );
    let rest_body = serde_json::json!({"tenant_id": contmax, "provider_slug": local_http::SLUG});
    let rest = Request::post("/functions/v1/test-connection")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(rest_body.to_string()))
        .unwrap();
    let (status, rest_text) = call(&app, rest).await;
    assert_eq!(status, StatusCode::OK, "{rest_text}");

    let (status, body) = call(
        &app,
        common::post_form(
            "/api/run-integration",
            Some(&admin),
            None,
            "slug=local-http",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let execution: String = serde_json::from_str(&body).expect(&body);
    let engine = Engine::new(
        pool.clone(),
        Registry::standard(true),
        state.keyring.clone(),
        EngineConfig::default(),
    );
    engine.execute(execution.parse().unwrap(), 1).await.unwrap();
    let (run_status, error): (String, Option<String>) = sqlx::query_as(
        "select status, error_message from integration_logs where execution_id = $1::uuid",
    )
    .bind(&execution)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(run_status, "error");
    assert!(
        error.as_deref().unwrap_or_default().contains("HTTP 422"),
        "the provider's own error text is kept, minus the token: {error:?}"
    );

    // The provider got it.
    assert!(seen.seen().contains(&format!("Bearer {canary}")));

    // Every read path, as the admin.
    let mut texts = vec![rest_text];
    for (path, form) in [
        ("/api/list-integrations", String::new()),
        ("/api/integration-detail", "slug=local-http".to_owned()),
        ("/api/integration-history", "slug=local-http".to_owned()),
        (
            "/api/execution-attempts",
            format!("execution_id={execution}"),
        ),
        ("/api/config-form", "slug=local-http".to_owned()),
        ("/api/audit-page", "slug=local-http".to_owned()),
        ("/api/audit-page", String::new()),
        ("/api/audit-people", String::new()),
        ("/api/tenant-metrics", String::new()),
    ] {
        let (status, body) = call(&app, common::post_form(path, Some(&admin), None, &form)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        texts.push(body);
    }
    for page in [
        format!("/integracoes/local-http?execucao={execution}"),
        "/integracoes/auditoria".to_owned(),
        "/integracoes".to_owned(),
    ] {
        let req = Request::get(page.as_str())
            .header(header::COOKIE, format!("portal_session={admin}"))
            .body(Body::empty())
            .unwrap();
        let (status, body) = call(&app, req).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        texts.push(body);
    }
    let everything = texts.join("\n");
    assert!(
        everything.contains("Credencial"),
        "the audit trail was read"
    );
    assert!(
        everything.contains("configurado em"),
        "the form says it is set"
    );
    assert!(
        !everything.contains(&canary),
        "a read path leaked the credential"
    );

    // The server's own log.
    let log = logs.text();
    assert!(!log.is_empty(), "the log was captured");
    assert!(!log.contains(&canary), "the log leaked the credential");

    // The database holds only ciphertext.
    let dump = std::process::Command::new("pg_dump")
        .arg("--data-only")
        .arg(common::database_url(&pool))
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.contains("integration_secrets"),
        "the dump has the vault table"
    );
    assert!(
        !dump.contains(&canary),
        "the database holds the credential in clear"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn test_connection_says_what_is_wrong_and_is_for_admins_only(pool: PgPool) {
    let (app, state) = common::router_for(pool.clone(), SECRET).await;
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
    let admin = common::token_for(&state, "admin@contmax.com.br").await;
    let staff = common::token_for(&state, "equipe@contmax.com.br").await;

    let test = |token: String| {
        let app = app.clone();
        async move {
            call(
                &app,
                common::post_form(
                    "/api/test-connection",
                    Some(&token),
                    None,
                    "slug=local-http",
                ),
            )
            .await
        }
    };
    let (status, body) = test(staff.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // A refused token.
    assert!(set_token(&app, &admin, "token-errado-123").await.saved);
    let (status, body) = test(admin.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let check: model::ConnectionCheck = serde_json::from_str(&body).unwrap();
    assert!(!check.ok);
    assert!(check.message.contains("recusou a credencial"), "{body}");

    // An unreachable URL (nothing listens on port 9 of loopback). Moving the API to another
    // origin removed the stored token, so an admin sets it again.
    sqlx::query("update tenant_integrations set config = jsonb_set(config, '{base_url}', '\"http://127.0.0.1:9/s/ok\"') where tenant_id = $1 and provider = 'local-http'")
        .bind(contmax)
        .execute(&pool)
        .await
        .unwrap();
    let (_, body) = test(admin.clone()).await;
    let check: model::ConnectionCheck = serde_json::from_str(&body).unwrap();
    assert!(
        check
            .message
            .starts_with("Credencial não configurada (Token da API)"),
        "{body}"
    );
    assert!(set_token(&app, &admin, "sbx_token_de_novo").await.saved);
    let (_, body) = test(admin.clone()).await;
    let check: model::ConnectionCheck = serde_json::from_str(&body).unwrap();
    assert_eq!(
        check.message, "Não foi possível conectar ao provedor.",
        "{body}"
    );

    // Rate-limited after the burst of three.
    let (status, body) = test(admin.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("Muitos testes de conexão"));

    // Audited, never a sync.
    let (tested, runs): (i64, i64) = sqlx::query_as(
        "select (select count(*) from integration_audit where action = 'connection_tested'),
                (select count(*) from integration_logs where provider_slug = 'local-http')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((tested, runs), (3, 0));
}
