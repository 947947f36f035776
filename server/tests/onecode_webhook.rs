//! OneCode's webhook through the real router and, for the burst and the crash, over real
//! HTTP (the server in this process, then the `server` binary killed with SIGKILL): a
//! delivery is stored only when authenticated and well formed, once per event, before it
//! is answered 2xx, and processed from the stored rows.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend::audit::{Actor, Source};
use backend::providers::onecode::{sandbox, signature, webhook};
use backend::scope::begin_service;
use futures::stream::{self, StreamExt};
use secrecy::SecretString;
use serde_json::{json, Value};
use sqlx::PgPool;
use tower::ServiceExt;
use uuid::Uuid;

const SECRET: &str = "whsec_teste_0123456789";
/// The vault key the server process and the test share (32 bytes, base64).
const VAULT_KEY: &str = "d29ya2Vycy10ZXN0LWtleS0zMi1ieXRlcy1sb25nISE=";

struct Hook {
    tenant: Uuid,
    integration: Uuid,
    token: String,
}

/// Contmax's OneCode with the webhook secret in the vault under `keyring`.
async fn hook(pool: &PgPool, keyring: &backend::vault::Keyring) -> Hook {
    hook_for(pool, keyring, "contmax", SECRET).await
}

/// A tenant's OneCode with `secret` as its webhook secret.
async fn hook_for(
    pool: &PgPool,
    keyring: &backend::vault::Keyring,
    tenant_slug: &str,
    secret: &str,
) -> Hook {
    let tenant = common::org(pool, tenant_slug).await;
    backend::demo::point_integration(
        pool,
        keyring,
        tenant,
        "onecode",
        "http://127.0.0.1:9/",
        "api_token",
        json!({}),
    )
    .await
    .expect("integration");
    let mut tx = begin_service(pool).await.expect("tx");
    let (integration, token): (Uuid, String) = sqlx::query_as(
        "select t.id, w.token from public.tenant_integrations t
         join public.tenant_integration_webhooks w on w.tenant_integration_id = t.id
         join public.integration_providers p on p.id = t.provider_id
         where t.tenant_id = $1 and p.slug = 'onecode'",
    )
    .bind(tenant)
    .fetch_one(&mut *tx)
    .await
    .expect("integration row");
    backend::vault::store::put(
        &mut tx,
        keyring,
        integration,
        "webhook_secret",
        &SecretString::from(secret.to_owned()),
        &Actor::system(Source::System),
    )
    .await
    .expect("secret stored");
    tx.commit().await.expect("commit");
    Hook {
        tenant,
        integration,
        token,
    }
}

fn message(i: usize) -> Vec<u8> {
    json!({"data": {"object": "messages", "action": "create", "payload": {
        "id": format!("MSG{i:06}"), "body": "Bom dia", "fromMe": false,
        "contactId": 5000 + (i % 40), "createdAt": "2026-05-18T12:31:07.000Z",
        "contact": {"id": 5000 + (i % 40), "name": format!("Contato {}", i % 40),
                    "number": format!("55199{:08}", 1000 + i % 40), "isGroup": false}
    }}})
    .to_string()
    .into_bytes()
}

fn post(path: &str, headers: &[(&str, String)], body: Vec<u8>) -> Request<Body> {
    let mut req = Request::post(path).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.body(Body::from(body)).expect("request")
}

fn signed(body: &[u8]) -> Vec<(&'static str, String)> {
    vec![(
        "x-jupiter-signature",
        signature::sign(SECRET.as_bytes(), body),
    )]
}

async fn stored(pool: &PgPool, tenant: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from public.onecode_eventos where tenant_id = $1")
        .bind(tenant)
        .fetch_one(pool)
        .await
        .expect("count")
}

async fn status_of(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.expect("response");
    let status = res.status();
    let text = common::body_text(res).await;
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Contmax's OneCode card as its admin's dashboard reads it.
async fn onecode_card(app: &axum::Router, state: &backend::AppState) -> Value {
    let token = common::token_for(state, "admin@contmax.com.br").await;
    let (status, list) = status_of(
        app,
        common::post_form("/api/list-integrations", Some(&token), None, ""),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .and_then(|l| l.iter().find(|i| i["slug"] == "onecode"))
        .cloned()
        .expect("OneCode's card")
}

/// Processes the integration's pending events until none is left; returns the batches.
async fn drain(pool: &PgPool, integration: Uuid) -> Vec<webhook::BatchReport> {
    let mut batches = Vec::new();
    loop {
        let reports = webhook::process_pending(pool, integration)
            .await
            .expect("batch");
        let done = reports.iter().all(|r| r.events == 0);
        batches.extend(reports.into_iter().filter(|r| r.events > 0));
        if done {
            return batches;
        }
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn nothing_is_stored_without_the_right_signature(pool: PgPool) {
    let (app, state) = common::router_for(pool.clone(), b"test-secret").await;
    let h = hook(&pool, &state.keyring).await;
    let path = format!("/functions/v1/onecode-webhook/{}", h.token);
    let body = message(1);
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("no signature", vec![]),
        (
            "another key",
            vec![(
                "x-jupiter-signature",
                signature::sign(b"whsec_outro", &body),
            )],
        ),
        (
            "another body",
            vec![(
                "x-jupiter-signature",
                signature::sign(SECRET.as_bytes(), b"{}"),
            )],
        ),
        ("garbage", vec![("x-jupiter-signature", "sha256=zz".into())]),
        (
            "wrong shared secret",
            vec![("x-onecode-secret", "whsec_x".into())],
        ),
        (
            "empty shared secret",
            vec![("x-onecode-secret", String::new())],
        ),
    ];
    for (what, headers) in cases {
        let (status, _) = status_of(&app, post(&path, &headers, body.clone())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
    }
    let (status, _) = status_of(
        &app,
        post(
            "/functions/v1/onecode-webhook/0123456789abcdef",
            &signed(&body),
            body.clone(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Another tenant's address with this tenant's signature: its own secret decides.
    let pg = hook_for(&pool, &state.keyring, "pg", "whsec_da_pg_0123456789").await;
    let (status, _) = status_of(
        &app,
        post(
            &format!("/functions/v1/onecode-webhook/{}", pg.token),
            &signed(&body),
            body.clone(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(stored(&pool, h.tenant).await, 0);
    assert_eq!(stored(&pool, pg.tenant).await, 0);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn an_event_that_cannot_be_processed_is_set_aside_and_the_rest_go_on(pool: PgPool) {
    let (app, state) = common::router_for(pool.clone(), b"test-secret").await;
    let h = hook(&pool, &state.keyring).await;
    let path = format!("/functions/v1/onecode-webhook/{}", h.token);
    // A fault in the database for one contact, whatever writes it.
    sqlx::query(
        "create function public.test_refuse_666() returns trigger language plpgsql as $$
         begin
           if new.contact_id = 666 then raise exception 'contato 666 recusado'; end if;
           return new;
         end $$",
    )
    .execute(&pool)
    .await
    .expect("function");
    sqlx::query(
        "create trigger test_refuse_666 before insert or update on public.onecode_contatos
         for each row execute function public.test_refuse_666()",
    )
    .execute(&pool)
    .await
    .expect("trigger");
    for id in [665, 666, 667] {
        let body = json!({"data": {"object": "contacts", "action": "update", "payload": {
            "id": id, "name": format!("Contato {id}"), "number": format!("5519990000{id}"),
            "isGroup": false, "blocked": false, "updatedAt": "2026-05-18T12:31:07.000Z"}}})
        .to_string()
        .into_bytes();
        let (status, _) = status_of(&app, post(&path, &signed(&body), body.clone())).await;
        assert_eq!(status, StatusCode::OK);
    }
    // The first pass processes 665 and 667 in one batch and holds 666 back for a retry.
    let first = webhook::process_pending(&pool, h.integration)
        .await
        .expect("the batch goes on without the bad event");
    assert_eq!(first.iter().map(|b| b.failed).sum::<usize>(), 1);
    // Each later try (its backoff cut short here, as if the minutes had passed) fails again,
    // until the event is set aside.
    for _ in 1..webhook::MAX_ATTEMPTS {
        sqlx::query("update public.onecode_eventos set retry_at = null where tenant_id = $1")
            .bind(h.tenant)
            .execute(&pool)
            .await
            .expect("time passes");
        webhook::process_pending(&pool, h.integration)
            .await
            .expect("a try");
    }
    let rows: Vec<(String, i32)> = sqlx::query_as(
        "select status, attempts from public.onecode_eventos where tenant_id = $1 order by id",
    )
    .bind(h.tenant)
    .fetch_all(&pool)
    .await
    .expect("events");
    assert_eq!(rows[0].0, "processed");
    assert_eq!(rows[1], ("failed".to_owned(), webhook::MAX_ATTEMPTS));
    assert_eq!(rows[2].0, "processed");
    let contacts: Vec<i64> = sqlx::query_scalar(
        "select contact_id from public.onecode_contatos where tenant_id = $1 order by 1",
    )
    .bind(h.tenant)
    .fetch_all(&pool)
    .await
    .expect("contacts");
    assert_eq!(contacts, vec![665, 667]);
    // The batches that met it say so in the history (partial), one row per batch.
    let partial: i64 = sqlx::query_scalar(
        "select count(*) from public.integration_logs
         where tenant_id = $1::text and trigger = 'webhook' and status = 'partial'",
    )
    .bind(h.tenant)
    .fetch_one(&pool)
    .await
    .expect("log rows");
    assert_eq!(partial, i64::from(webhook::MAX_ATTEMPTS));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn an_event_is_stored_once_then_processed_from_the_stored_row(pool: PgPool) {
    let (app, state) = common::router_for(pool.clone(), b"test-secret").await;
    let h = hook(&pool, &state.keyring).await;
    let path = format!("/functions/v1/onecode-webhook/{}", h.token);
    let body = message(7);
    let (status, first) = status_of(&app, post(&path, &signed(&body), body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["duplicate"], json!(false));
    // OneCode retries what it thinks was lost: acknowledged, not stored again.
    let (status, again) = status_of(&app, post(&path, &signed(&body), body.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["duplicate"], json!(true));
    assert_eq!(stored(&pool, h.tenant).await, 1);
    // Its processing was queued with it.
    let jobs: i64 =
        sqlx::query_scalar("select count(*) from graphile_worker._private_jobs where key = $1")
            .bind(format!("onecode-events:{}", h.integration))
            .fetch_one(&pool)
            .await
            .expect("jobs");
    assert_eq!(jobs, 1);

    assert_eq!(
        onecode_card(&app, &state).await["last_webhook"],
        Value::Null
    );
    // A batch of the old jobs, its row keyed by the tenant's slug, counts as the history
    // lists it.
    sqlx::query(
        "insert into public.integration_logs
           (tenant_id, integration, provider_slug, status, trigger, created_at)
         values ('contmax', 'onecode', 'onecode', 'success', 'webhook', now() - interval '2 days')",
    )
    .execute(&pool)
    .await
    .expect("an old batch");
    let before = onecode_card(&app, &state).await;
    assert!(
        before["last_webhook_seconds_ago"]
            .as_i64()
            .is_some_and(|s| (172_000..173_000).contains(&s)),
        "{before}"
    );
    let batches = drain(&pool, h.integration).await;
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].events, 1);
    assert_eq!(batches[0].messages, 1);
    let (status, last): (String, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "select status, ultima_mensagem_em from public.onecode_contatos
         where tenant_id = $1 and contact_id = 5007",
    )
    .bind(h.tenant)
    .fetch_one(&pool)
    .await
    .expect("the message brought its contact");
    assert_eq!(status, "ignored", "no company is called 'Contato 7'");
    assert!(last.is_some());
    let (trigger, processed): (String, i32) = sqlx::query_as(
        "select trigger, total_processados from public.integration_logs
         where tenant_id = $1::text and provider_slug = 'onecode' and trigger = 'webhook'",
    )
    .bind(h.tenant)
    .fetch_one(&pool)
    .await
    .expect("one log row for the batch");
    assert_eq!((trigger.as_str(), processed), ("webhook", 1));
    // The card says when the batch was applied, and the batch is not taken for a sync:
    // the last run, its status and its totals are as they were.
    let after = onecode_card(&app, &state).await;
    assert!(after["last_webhook"].is_string(), "{after}");
    assert!(
        after["last_webhook_seconds_ago"]
            .as_i64()
            .is_some_and(|s| (0..60).contains(&s)),
        "{after}"
    );
    for field in ["last_run", "last_status", "last_processed"] {
        assert_eq!(after[field], before[field], "{field}: {before} → {after}");
    }
    let pending: i64 = sqlx::query_scalar(
        "select count(*) from public.onecode_eventos where tenant_id = $1 and status = 'pending'",
    )
    .bind(h.tenant)
    .fetch_one(&pool)
    .await
    .expect("pending");
    assert_eq!(pending, 0);

    // The contact is blocked in OneCode; a later message carries only part of the contact
    // (no `blocked`): it moves the last-message time and leaves the contact as it is.
    let blocked = json!({"data": {"object": "contacts", "action": "update", "payload": {
        "id": 5007, "name": "Contato 7", "number": "5519900001007", "isGroup": false,
        "blocked": true, "updatedAt": "2026-05-19T08:00:00.000Z"}}})
    .to_string()
    .into_bytes();
    let (status, _) = status_of(&app, post(&path, &signed(&blocked), blocked.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let later = message(47);
    let (status, _) = status_of(&app, post(&path, &signed(&later), later.clone())).await;
    assert_eq!(status, StatusCode::OK);
    drain(&pool, h.integration).await;
    let (bloqueado, motivo): (bool, String) = sqlx::query_as(
        "select bloqueado, motivo from public.onecode_contatos
         where tenant_id = $1 and contact_id = 5007",
    )
    .bind(h.tenant)
    .fetch_one(&pool)
    .await
    .expect("contact");
    assert_eq!((bloqueado, motivo.as_str()), (true, "bloqueado"));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn bad_bodies_are_refused_and_unknown_events_kept_as_ignored(pool: PgPool) {
    let (app, state) = common::router_for(pool.clone(), b"test-secret").await;
    let h = hook(&pool, &state.keyring).await;
    let path = format!("/functions/v1/onecode-webhook/{}", h.token);
    for bad in [
        b"not json".to_vec(),
        br#"{"data": {}}"#.to_vec(),
        br#"{"data": {"object": "messages", "action": "create"}}"#.to_vec(),
    ] {
        let (status, body) = status_of(&app, post(&path, &signed(&bad), bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    let huge = format!(
        r#"{{"data": {{"object": "messages", "action": "create", "payload": {{"body": "{}"}}}}}}"#,
        "x".repeat(2 * 1024 * 1024)
    )
    .into_bytes();
    let (status, body) = status_of(&app, post(&path, &signed(&huge), huge.clone())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["error"],
        "Requisição grande demais (limite de 256 KiB)."
    );
    assert_eq!(stored(&pool, h.tenant).await, 0);

    // An event the portal does not handle is acknowledged (or OneCode retries forever),
    // stored, and marked ignored.
    let unknown = br#"{"data": {"object": "queues", "action": "update", "payload": {"id": 3}}}"#;
    let (status, _) = status_of(&app, post(&path, &signed(unknown), unknown.to_vec())).await;
    assert_eq!(status, StatusCode::OK);
    drain(&pool, h.integration).await;
    let s: String = sqlx::query_scalar(
        "select status from public.onecode_eventos where tenant_id = $1 and object = 'queues'",
    )
    .bind(h.tenant)
    .fetch_one(&pool)
    .await
    .expect("stored");
    assert_eq!(s, "ignored");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_old_address_takes_the_tenant_from_its_header_and_checks_the_secret(pool: PgPool) {
    let (app, state) = common::router_for(pool.clone(), b"test-secret").await;
    let h = hook(&pool, &state.keyring).await;
    let path = "/functions/v1/onecode-webhook";
    let body = message(2);
    let with = |source: &str, secret: &str| {
        vec![
            ("x-onecode-source", source.to_owned()),
            ("x-onecode-secret", secret.to_owned()),
        ]
    };
    let (s, _) = status_of(&app, post(path, &with("contmax", "errado"), body.clone())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = status_of(&app, post(path, &with("nao-existe", SECRET), body.clone())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = status_of(&app, post(path, &[], body.clone())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(stored(&pool, h.tenant).await, 0);
    let (s, _) = status_of(&app, post(path, &with("contmax", SECRET), body.clone())).await;
    assert_eq!(s, StatusCode::OK);
    // The signature works on the old address too.
    let other = message(3);
    let mut headers = signed(&other);
    headers.push(("x-onecode-source", "contmax".into()));
    let (s, _) = status_of(&app, post(path, &headers, other)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(stored(&pool, h.tenant).await, 2);
}

/// Sends `events` (index, body) to `url` with `concurrency` at once; the indexes answered
/// 2xx.
async fn send(
    http: &reqwest::Client,
    url: &str,
    events: Vec<(usize, Vec<u8>)>,
    concurrency: usize,
) -> Vec<usize> {
    stream::iter(events)
        .map(|(i, body)| {
            let sig = signature::sign(SECRET.as_bytes(), &body);
            let req = http
                .post(url)
                .header("content-type", "application/json")
                .header("x-jupiter-signature", sig)
                .body(body);
            async move {
                match req.send().await {
                    Ok(r) if r.status().is_success() => Some(i),
                    _ => None,
                }
            }
        })
        .buffer_unordered(concurrency)
        .filter_map(|x| async move { x })
        .collect()
        .await
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_burst_of_500_parallel_events_is_stored_exactly_once_and_processed(pool: PgPool) {
    let (app, state) = common::router_for(pool.clone(), b"test-secret").await;
    let h = hook(&pool, &state.keyring).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = reqwest::Url::parse(&format!(
        "http://{addr}/functions/v1/onecode-webhook/{}",
        h.token
    ))
    .expect("url");
    let http = reqwest::Client::new();
    // The sandbox's sender, as OneCode would post: signed, 32 at a time.
    let contacts = sandbox::Sandbox::new(sandbox::Options::default());
    let burst = sandbox::SendOptions {
        events: 500,
        seed: 7,
        concurrency: 32,
        first: 0,
    };
    let sent = sandbox::send_events(&http, &url, SECRET, &contacts, burst).await;
    assert!(sent.all_acknowledged(), "{sent:?}");
    // 50 of them again (OneCode's retries): acknowledged, not stored twice.
    let again = sandbox::SendOptions {
        events: 50,
        first: 200,
        ..burst
    };
    let replayed = sandbox::send_events(&http, &url, SECRET, &contacts, again).await;
    assert!(replayed.all_acknowledged(), "{replayed:?}");
    assert_eq!(stored(&pool, h.tenant).await, 500);

    let batches = drain(&pool, h.integration).await;
    let events: usize = batches.iter().map(|b| b.events).sum();
    assert_eq!(events, 500);
    let rows: i64 = sqlx::query_scalar(
        "select count(*) from public.integration_logs
         where tenant_id = $1::text and trigger = 'webhook'",
    )
    .bind(h.tenant)
    .fetch_one(&pool)
    .await
    .expect("log rows");
    assert_eq!(
        rows as usize,
        batches.len(),
        "one log row per batch, not per event"
    );
    let (pending, processed, ignored): (i64, i64, i64) = sqlx::query_as(
        "select count(*) filter (where status = 'pending'),
                count(*) filter (where status = 'processed'),
                count(*) filter (where status = 'ignored')
         from public.onecode_eventos where tenant_id = $1",
    )
    .bind(h.tenant)
    .fetch_one(&pool)
    .await
    .expect("statuses");
    assert_eq!(pending, 0);
    assert_eq!(processed + ignored, 500);
    assert!(
        ignored > 0,
        "tickets and unknown objects are kept as ignored"
    );
    let with_messages: i64 = sqlx::query_scalar(
        "select count(*) from public.onecode_contatos
         where tenant_id = $1 and ultima_mensagem_em is not null",
    )
    .bind(h.tenant)
    .fetch_one(&pool)
    .await
    .expect("contacts");
    assert!(with_messages > 0);
}

/// The `server` binary serving HTTP, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_server(pool: &PgPool, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_server"))
        .args(["--role", "web"])
        .env("DATABASE_URL", common::database_url(pool))
        .env("JWT_SECRET", "webhook-test-secret-webhook-test-secret")
        .env("INTEGRATIONS_ENCRYPTION_KEY", VAULT_KEY)
        .env("DEMO_SEED", "0")
        .env(
            "LEPTOS_CONFIG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml"),
        )
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("the server binary starts");
    Server(child)
}

async fn wait_healthy(http: &reqwest::Client, port: u16) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ok = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server did not answer /healthz"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn every_event_acknowledged_before_a_crash_is_there_after_it(pool: PgPool) {
    backend::queue::install(&pool).await.expect("queue");
    let keyring = backend::vault::Keyring::parse(&SecretString::from(VAULT_KEY.to_owned()))
        .expect("the test key");
    let h = hook(&pool, &keyring).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        l.local_addr().expect("addr").port()
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let url = format!(
        "http://127.0.0.1:{port}/functions/v1/onecode-webhook/{}",
        h.token
    );

    let mut server = spawn_server(&pool, port);
    wait_healthy(&http, port).await;
    let all: Vec<(usize, Vec<u8>)> = (0..1500).map(|i| (i, message(i))).collect();
    // Killed with SIGKILL once some deliveries were answered, while others are in flight.
    let sender = {
        let (http, url, all) = (http.clone(), url.clone(), all.clone());
        tokio::spawn(async move { send(&http, &url, all, 16).await })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while stored(&pool, h.tenant).await < 100 {
        assert!(tokio::time::Instant::now() < deadline, "no events arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.0.kill().expect("SIGKILL");
    let _ = server.0.wait();
    let acked = sender.await.expect("sender");
    assert!(
        !acked.is_empty() && acked.len() < 400,
        "killed mid-burst: {}",
        acked.len()
    );
    let keys: Vec<String> =
        sqlx::query_scalar("select event_key from public.onecode_eventos where tenant_id = $1")
            .bind(h.tenant)
            .fetch_all(&pool)
            .await
            .expect("keys");
    for i in &acked {
        let key = format!("messages.create:MSG{i:06}");
        assert!(keys.contains(&key), "acknowledged but lost: {key}");
    }

    // Restarted, OneCode's retries of what was not acknowledged complete the set, once.
    let _server = spawn_server(&pool, port);
    wait_healthy(&http, port).await;
    let missing: Vec<(usize, Vec<u8>)> = all
        .into_iter()
        .filter(|(i, _)| !acked.contains(i))
        .collect();
    let n = missing.len();
    assert_eq!(send(&http, &url, missing, 16).await.len(), n);
    assert_eq!(stored(&pool, h.tenant).await, 1500);
}
