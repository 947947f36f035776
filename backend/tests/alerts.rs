//! Alerts and auto-pause (issue "The engine under pressure", item 10), end to end inside one
//! process: the real queue and worker, the local-http provider against the sandbox, and an
//! alert webhook receiver of the test's own on a real socket, whose deliveries are checked
//! against the signature the receiver would compute. Waits poll with a deadline.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use backend::alerts::{self, notices, webhook};
use backend::audit::{Actor, Source};
use backend::providers::{local_http, Registry};
use backend::scope::{begin_as, begin_service, Claims};
use backend::{schedule, Error};
use common::engine_rig::{fast, keyring, point_at, rig, Rig};
use sqlx::PgPool;
use uuid::Uuid;

/// What the receiver got: headers and body of each request.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A webhook receiver on 127.0.0.1 answering `status`, allowed by this process's network
/// policy like a sandbox (a tenant could never point the server at loopback).
async fn receiver(status: StatusCode) -> (SocketAddr, Received) {
    let received = Received::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State((r, status)): State<(Received, StatusCode)>, h: HeaderMap, b: Bytes| async move {
                    r.lock().expect("lock").push((h, b));
                    status
                },
            ),
        )
        .with_state((received.clone(), status));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    backend::net_guard::NetPolicy::process().allow_local_server(addr);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, received)
}

/// Waits until the receiver has `n` requests (30 s at most).
async fn deliveries(received: &Received, n: usize) -> Vec<(HeaderMap, Bytes)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = received.lock().expect("lock").clone();
        if got.len() >= n {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} deliveries after 30 s",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The receiver's check: the signature over "<timestamp>.<body>" with the secret.
fn signed_by(h: &HeaderMap, body: &[u8], secret: &str) -> bool {
    let ts: i64 = header(h, "x-contmax-timestamp").parse().unwrap_or(0);
    ts > 0 && header(h, "x-contmax-signature") == webhook::signature(secret, ts, body)
}

fn actor(claims: &Claims) -> Actor {
    Actor {
        user_id: Some(claims.sub),
        email: Some(claims.email.clone()),
        name: None,
        source: Source::Ui,
        request_id: None,
    }
}

async fn as_user(
    pool: &PgPool,
    email: &str,
) -> (Claims, sqlx::Transaction<'static, sqlx::Postgres>) {
    let claims = common::demo_claims(pool, email).await;
    let tx = begin_as(pool, &claims).await.expect("tx as the user");
    (claims, tx)
}

/// Contmax's local-http integration as the engine counts it.
async fn pause_state(rig: &Rig) -> (i32, Option<i32>, bool) {
    sqlx::query_as(
        "select consecutive_failures, paused_after, paused_at is not null
         from public.tenant_integrations where tenant_id = $1 and provider = $2",
    )
    .bind(rig.tenant)
    .bind(local_http::SLUG)
    .fetch_one(&rig.pool)
    .await
    .expect("tenant integration")
}

async fn run_to_end(rig: &Rig) -> model::RunStatus {
    let id = rig.start().await;
    rig.finished(id).await.last().expect("an attempt").status
}

async fn card_paused_after(pool: &PgPool, tenant: Uuid, email: &str) -> Option<i32> {
    let (_, mut tx) = as_user(pool, email).await;
    let list = backend::integrations::list_for_tenant(&mut tx, tenant)
        .await
        .expect("list");
    list.into_iter()
        .find(|i| i.slug == local_http::SLUG)
        .expect("the card")
        .paused_after
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn three_failures_pause_the_schedule_tell_the_admins_and_a_success_recovers(pool: PgPool) {
    let rig = rig(pool, "auth", fast()).await;
    let (addr, received) = receiver(StatusCode::OK).await;
    // Contmax's admin sets the webhook; the secret comes back once.
    let (admin, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    let saved = webhook::set(
        &mut tx,
        &keyring(),
        rig.tenant,
        &format!("http://{addr}/hook?token=receiver-token-123"),
        &actor(&admin),
    )
    .await
    .expect("set")
    .expect("a valid address");
    tx.commit().await.expect("commit");
    let secret = saved.new_secret.expect("the secret, shown once");
    assert_eq!(saved.host.as_deref(), Some("127.0.0.1"));
    // It has a schedule, which must stop while paused.
    sqlx::query(
        "update public.tenant_integrations set schedule = '15m'
         where tenant_id = $1 and provider = $2",
    )
    .bind(rig.tenant)
    .bind(local_http::SLUG)
    .execute(&rig.pool)
    .await
    .expect("schedule");
    rig.spawn_worker();

    // Two failures: counted, not paused.
    assert_eq!(run_to_end(&rig).await, model::RunStatus::Error);
    assert_eq!(run_to_end(&rig).await, model::RunStatus::Error);
    assert_eq!(pause_state(&rig).await, (2, None, false));
    assert_eq!(
        card_paused_after(&rig.pool, rig.tenant, "equipe@contmax.com.br").await,
        None
    );
    // The third pauses it (the default threshold).
    assert_eq!(run_to_end(&rig).await, model::RunStatus::Error);
    assert_eq!(pause_state(&rig).await, (3, Some(3), true));
    assert_eq!(
        card_paused_after(&rig.pool, rig.tenant, "equipe@contmax.com.br").await,
        Some(3),
        "the card says Pausada após 3 falhas seguidas, to every member"
    );

    // The schedule does not start it while paused (it is due: it never ran).
    let mut tx = begin_service(&rig.pool).await.expect("tx");
    sqlx::query(
        "update public.tenant_integrations set schedule_last_at = null
         where tenant_id = $1 and provider = $2",
    )
    .bind(rig.tenant)
    .bind(local_http::SLUG)
    .execute(&mut *tx)
    .await
    .expect("due");
    tx.commit().await.expect("commit");
    let report = schedule::tick(&rig.pool, &Registry::standard(true), chrono::Utc::now())
        .await
        .expect("tick");
    assert_eq!(report.started, 0, "{report:?}");

    // The admins' notice: unread for Contmax's admin; nothing for its staff or for another
    // tenant's admin.
    let (admin, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    let seen = notices::list(&mut tx, rig.tenant, admin.sub)
        .await
        .expect("notices");
    assert_eq!(seen.unread, 1);
    let notice = &seen.items[0];
    assert_eq!(notice.kind, model::NoticeKind::Paused);
    assert_eq!(notice.failures, 3);
    assert!(
        notice.message().contains("pausado após 3 falhas seguidas")
            && notice.message().contains("credenciais"),
        "{}",
        notice.message()
    );
    // A list read before this notice came marks only what it showed.
    notices::mark_seen(&mut tx, rig.tenant, admin.sub, notice.id - 1)
        .await
        .expect("seen");
    assert_eq!(
        notices::list(&mut tx, rig.tenant, admin.sub)
            .await
            .expect("notices")
            .unread,
        1
    );
    notices::mark_seen(&mut tx, rig.tenant, admin.sub, notice.id)
        .await
        .expect("seen");
    tx.commit().await.expect("commit");
    let (admin, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    assert_eq!(
        notices::list(&mut tx, rig.tenant, admin.sub)
            .await
            .expect("notices")
            .unread,
        0
    );
    drop(tx);
    for outsider in ["equipe@contmax.com.br", "admin@pg.com.br"] {
        let (who, mut tx) = as_user(&rig.pool, outsider).await;
        let theirs = notices::list(&mut tx, rig.tenant, who.sub)
            .await
            .expect("notices");
        assert!(
            theirs.items.is_empty() && theirs.unread == 0,
            "{outsider}: {theirs:?}"
        );
    }

    // The webhook got the pause, signed, as {"text"} only (Google Chat refuses more).
    let got = deliveries(&received, 1).await;
    let (h, body) = &got[0];
    assert_eq!(header(h, "x-contmax-event"), "integration.paused");
    assert_eq!(header(h, "content-type"), "application/json");
    assert!(signed_by(h, body, &secret), "a valid signature");
    assert!(!signed_by(h, body, "whsec_wrong"));
    let json: serde_json::Value = serde_json::from_slice(body).expect("JSON");
    let text = json["text"].as_str().expect("text");
    assert_eq!(json.as_object().map(|o| o.len()), Some(1), "{json}");
    assert!(
        text.contains("Contmax") && text.contains("pausado após 3 falhas seguidas"),
        "{text}"
    );

    // A success recovers it: the pause lifts, the count restarts, and both are told.
    point_at(&rig.pool, rig.tenant, rig.sandbox, "ok").await;
    assert_eq!(run_to_end(&rig).await, model::RunStatus::Success);
    assert_eq!(pause_state(&rig).await, (0, None, false));
    let got = deliveries(&received, 2).await;
    let (h, body) = &got[1];
    assert_eq!(header(h, "x-contmax-event"), "integration.recovered");
    assert!(signed_by(h, body, &secret));
    let (admin, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    let seen = notices::list(&mut tx, rig.tenant, admin.sub)
        .await
        .expect("notices");
    assert_eq!(seen.unread, 1);
    assert_eq!(seen.items[0].kind, model::NoticeKind::Recovered);
    drop(tx);

    // Audited: the pause by the engine, the resume as a recovery, the webhook by the admin.
    let trail: Vec<(String, Option<String>, serde_json::Value)> = sqlx::query_as(
        "select action, actor_email, details from public.integration_audit
         where tenant_id = $1 and action in ('integration_paused', 'integration_resumed', 'alert_webhook_set')
         order by id",
    )
    .bind(rig.tenant)
    .fetch_all(&rig.pool)
    .await
    .expect("trail");
    let actions: Vec<&str> = trail.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        actions,
        [
            "alert_webhook_set",
            "integration_paused",
            "integration_resumed"
        ]
    );
    assert_eq!(trail[0].1.as_deref(), Some("admin@contmax.com.br"));
    assert_eq!(trail[0].2["host"], "127.0.0.1");
    assert!(
        !trail[0].2.to_string().contains("receiver-token-123"),
        "the address's token never reaches the trail"
    );
    assert_eq!(trail[1].2["failures"], 3);
    assert_eq!(trail[2].2["recovered"], true);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn retomar_is_for_admins_and_clients_can_only_lift_a_pause(pool: PgPool) {
    let rig = rig(pool, "auth", fast()).await;
    // The threshold, through the configuration form: bad values are field errors.
    let (admin, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    for bad in ["0", "21", "x"] {
        let out = backend::config_form::save(
            &mut tx,
            rig.tenant,
            local_http::SLUG,
            &Default::default(),
            backend::config_form::RunSettings {
                schedule: None,
                pause_after_failures: Some(bad),
            },
            &actor(&admin),
        )
        .await
        .expect("save");
        assert!(
            out.error_for("pause_after_failures").is_some(),
            "{bad}: {out:?}"
        );
    }
    drop(tx);
    let (admin, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    let form = backend::config_form::form(&mut tx, rig.tenant, local_http::SLUG, true)
        .await
        .expect("form");
    let config = form
        .fields
        .iter()
        .filter(|f| !f.secret)
        .filter_map(|f| Some((f.key.clone(), f.value.clone()?)))
        .collect();
    let out = backend::config_form::save(
        &mut tx,
        rig.tenant,
        local_http::SLUG,
        &config,
        backend::config_form::RunSettings {
            schedule: None,
            pause_after_failures: Some("1"),
        },
        &actor(&admin),
    )
    .await
    .expect("save");
    assert!(out.saved, "{out:?}");
    tx.commit().await.expect("commit");

    rig.spawn_worker();
    assert_eq!(run_to_end(&rig).await, model::RunStatus::Error);
    assert_eq!(pause_state(&rig).await, (1, Some(1), true));

    // Staff may not resume; the admin may, once.
    let (staff, mut tx) = as_user(&rig.pool, "equipe@contmax.com.br").await;
    assert!(matches!(
        alerts::resume(&mut tx, rig.tenant, local_http::SLUG, &actor(&staff)).await,
        Err(Error::Forbidden(_))
    ));
    drop(tx);
    // Another tenant's admin does not see it at all.
    let (other, mut tx) = as_user(&rig.pool, "admin@pg.com.br").await;
    assert!(matches!(
        alerts::resume(&mut tx, rig.tenant, local_http::SLUG, &actor(&other)).await,
        Err(Error::Forbidden(_))
    ));
    drop(tx);
    let (admin, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    alerts::resume(&mut tx, rig.tenant, local_http::SLUG, &actor(&admin))
        .await
        .expect("resumed");
    tx.commit().await.expect("commit");
    assert_eq!(pause_state(&rig).await, (0, None, false));
    let (admin, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    assert!(matches!(
        alerts::resume(&mut tx, rig.tenant, local_http::SLUG, &actor(&admin)).await,
        Err(Error::Conflict(_))
    ));
    drop(tx);
    let resumed: (Option<String>, serde_json::Value) = sqlx::query_as(
        "select actor_email, details from public.integration_audit
         where tenant_id = $1 and action = 'integration_resumed'",
    )
    .bind(rig.tenant)
    .fetch_one(&rig.pool)
    .await
    .expect("audited");
    assert_eq!(resumed.0.as_deref(), Some("admin@contmax.com.br"));
    assert_eq!(resumed.1["recovered"], false);
    let threshold: i64 = sqlx::query_scalar(
        "select count(*) from public.integration_audit
         where tenant_id = $1 and action = 'config_changed'
           and details->'changes' @> '[{\"field\": \"pause_after_failures\", \"after\": 1}]'",
    )
    .bind(rig.tenant)
    .fetch_one(&rig.pool)
    .await
    .expect("threshold audited");
    assert_eq!(threshold, 1);

    // As PostgREST would send it, with the admin's own token: no pausing, no writing the
    // count, and no reading the webhook table.
    let (_, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    let paused = sqlx::query(
        "update public.tenant_integrations set paused_at = now()
         where tenant_id = $1 and provider = $2",
    )
    .bind(rig.tenant)
    .bind(local_http::SLUG)
    .execute(&mut *tx)
    .await;
    assert!(
        paused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("pause_is_the_engines")),
        "{paused:?}"
    );
    drop(tx);
    for forbidden in [
        "update public.tenant_integrations set consecutive_failures = 0",
        "update public.tenant_integrations set paused_after = 9",
        "select * from public.tenant_alert_webhooks",
        "insert into public.integration_notices (tenant_id, provider_slug, kind, failures)
         select id, 'local-http', 'paused', 1 from public.organizacoes",
    ] {
        let (_, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
        let r = sqlx::query(forbidden).execute(&mut *tx).await;
        assert!(
            r.as_ref()
                .is_err_and(|e| e.to_string().contains("permission denied")),
            "{forbidden}: {r:?}"
        );
    }
    // P&G's admin lifts nothing of Contmax's (row-level security: no row matches).
    sqlx::query(
        "update public.tenant_integrations set pause_after_failures = 1
         where tenant_id = $1 and provider = $2",
    )
    .bind(rig.tenant)
    .bind(local_http::SLUG)
    .execute(&rig.pool)
    .await
    .expect("threshold");
    assert_eq!(run_to_end(&rig).await, model::RunStatus::Error);
    assert_eq!(pause_state(&rig).await, (1, Some(1), true));
    let (_, mut tx) = as_user(&rig.pool, "admin@pg.com.br").await;
    let n =
        sqlx::query("update public.tenant_integrations set paused_at = null where tenant_id = $1")
            .bind(rig.tenant)
            .execute(&mut *tx)
            .await
            .expect("update")
            .rows_affected();
    assert_eq!(n, 0);
    tx.commit().await.expect("commit");
    assert_eq!(pause_state(&rig).await, (1, Some(1), true));
    // Nor reads Contmax's notices, nor marks them for someone else.
    let (other, mut tx) = as_user(&rig.pool, "admin@pg.com.br").await;
    let n: i64 = sqlx::query_scalar("select count(*) from public.integration_notices")
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    assert_eq!(n, 0);
    let forged = sqlx::query(
        "insert into public.integration_notice_reads (user_id, tenant_id, seen_up_to)
         values ($1, $2, 999)",
    )
    .bind(other.sub)
    .bind(rig.tenant)
    .execute(&mut *tx)
    .await;
    assert!(
        forged.is_err(),
        "a mark on a tenant P&G does not administer"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_webhook_form_refuses_private_addresses_and_staff_and_a_failing_receiver_is_retried(
    pool: PgPool,
) {
    let rig = rig(pool, "auth", fast()).await;
    let (admin, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    for bad in [
        "",
        "not a url",
        "ftp://hooks.example.com/x",
        "http://hooks.slack.com/services/x",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest",
        "https://user:pass@hooks.slack.com/x",
    ] {
        let r = webhook::set(&mut tx, &keyring(), rig.tenant, bad, &actor(&admin))
            .await
            .expect("set");
        let e = r.expect_err(bad);
        assert_eq!(e.field, "url");
        assert!(!e.message.is_empty());
    }
    drop(tx);
    let (staff, mut tx) = as_user(&rig.pool, "equipe@contmax.com.br").await;
    assert!(matches!(
        webhook::status(&mut tx, rig.tenant).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        webhook::set(
            &mut tx,
            &keyring(),
            rig.tenant,
            "https://hooks.slack.com/services/x",
            &actor(&staff)
        )
        .await,
        Err(Error::Forbidden(_))
    ));
    drop(tx);

    // A receiver that answers 500: the delivery fails (the queue tries again), and its
    // error names the status, never the address.
    let (addr, received) = receiver(StatusCode::INTERNAL_SERVER_ERROR).await;
    let (admin, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    webhook::set(
        &mut tx,
        &keyring(),
        rig.tenant,
        &format!("http://{addr}/hook?token=receiver-token-123"),
        &actor(&admin),
    )
    .await
    .expect("set")
    .expect("valid");
    tx.commit().await.expect("commit");
    let (_admin, tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    let test = webhook::send_test(tx, &rig.pool, &keyring(), &rig.engine.http, rig.tenant)
        .await
        .expect("test");
    assert_eq!(test, Err("o webhook respondeu HTTP 500".to_owned()));
    sqlx::query(
        "update public.tenant_integrations set pause_after_failures = 1
         where tenant_id = $1 and provider = $2",
    )
    .bind(rig.tenant)
    .bind(local_http::SLUG)
    .execute(&rig.pool)
    .await
    .expect("threshold");
    rig.spawn_worker();
    assert_eq!(run_to_end(&rig).await, model::RunStatus::Error);
    // Tried more than once (the test's message, then the alert and its retry).
    let got = deliveries(&received, 3).await;
    assert!(got
        .iter()
        .skip(1)
        .all(|(h, _)| header(h, "x-contmax-event") == "integration.paused"));
    let last_error: Option<String> = sqlx::query_scalar(
        "select last_error from graphile_worker._private_jobs
         where task_id = (select id from graphile_worker._private_tasks where identifier = 'deliver_alert')",
    )
    .fetch_optional(&rig.pool)
    .await
    .expect("job")
    .flatten();
    let last_error = last_error.unwrap_or_default();
    assert!(
        last_error.contains("HTTP 500") && !last_error.contains("receiver-token-123"),
        "{last_error}"
    );
    // Removed: nothing more is sent, and the removal is audited.
    let (admin, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    assert!(webhook::remove(&mut tx, rig.tenant, &actor(&admin))
        .await
        .expect("removed"));
    tx.commit().await.expect("commit");
    let (_, mut tx) = as_user(&rig.pool, "admin@contmax.com.br").await;
    assert!(
        !webhook::status(&mut tx, rig.tenant)
            .await
            .expect("status")
            .configured
    );
}
