//! The vault and the audit trail against a real Postgres: credentials set by admins only,
//! write-only, rotated without loss, unusable when altered or moved; no client role may
//! touch the vault; the audit trail is append-only and readable by tenant admins only.

mod common;

use std::sync::Arc;

use backend::audit::{Actor, Source};
use backend::engine::{start_run, Engine, EngineConfig};
use backend::providers::{local_http, Registry};
use backend::runs::Claim;
use backend::scope::{begin_as, begin_service, Claims};
use backend::vault::{store, Keyring};
use backend::{credentials, demo, sandbox, Error};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use uuid::Uuid;

const SLUG: &str = local_http::SLUG;

struct Setup {
    contmax: Uuid,
    pg: Uuid,
    auth: sandbox::AuthLog,
}

/// Demo users, the sandbox provider for both tenants (token under `keyring`).
async fn setup(pool: &PgPool, keyring: &Keyring, scenario: &str) -> Setup {
    backend::queue::install(pool).await.expect("queue");
    demo::seed_demo_users(pool).await.expect("demo users");
    demo::add_local_http_provider(pool).await.expect("catalog");
    let (addr, auth) = sandbox::spawn_recording().await.expect("sandbox");
    let contmax = common::org_id(pool, "contmax").await;
    let pg = common::org_id(pool, "pg").await;
    for t in [contmax, pg] {
        demo::add_local_http_integration(pool, keyring, t, &format!("http://{addr}/s/{scenario}"))
            .await
            .expect("integration");
    }
    Setup { contmax, pg, auth }
}

fn actor(claims: &Claims, name: &str) -> Actor {
    Actor {
        user_id: Some(claims.sub),
        email: Some(claims.email.clone()),
        name: Some(name.to_owned()),
        source: Source::Ui,
        request_id: Some("req-test".into()),
    }
}

async fn set_as(
    pool: &PgPool,
    keyring: &Keyring,
    email: &str,
    tenant: Uuid,
    value: &str,
) -> backend::Result<model::SaveOutcome> {
    let claims = common::demo_claims(pool, email).await;
    let mut tx = begin_as(pool, &claims).await?;
    let out = credentials::set(
        &mut tx,
        keyring,
        tenant,
        SLUG,
        local_http::TOKEN_FIELD,
        SecretString::from(value.to_owned()),
        &actor(&claims, email),
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

/// Starts a run as the scheduler would and executes its first attempt right here.
async fn run_once(pool: &PgPool, keyring: Arc<Keyring>, tenant: Uuid) -> (String, Option<String>) {
    let engine = Engine::new(
        pool.clone(),
        Registry::standard(true),
        keyring,
        EngineConfig {
            max_attempts: 1,
            ..EngineConfig::default()
        },
    );
    let mut tx = begin_service(pool).await.unwrap();
    let Claim::Started(id) = start_run(&mut tx, tenant, SLUG, model::Trigger::Manual)
        .await
        .unwrap()
    else {
        panic!("a run was already going");
    };
    tx.commit().await.unwrap();
    engine.execute(id, 1).await.unwrap();
    sqlx::query_as("select status, error_message from integration_logs where execution_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn key(s: &SecretString) -> String {
    s.expose_secret().to_owned()
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn values_survive_rotation_and_fail_clearly_when_altered_or_moved(pool: PgPool) {
    let k1 = Keyring::generate_key();
    let k2 = Keyring::generate_key();
    let ring1 = Keyring::parse(&k1).unwrap();
    let s = setup(&pool, &ring1, "ok").await;
    let token = format!("sbx_rotation_{}", Uuid::new_v4().simple());
    let out = set_as(&pool, &ring1, "admin@contmax.com.br", s.contmax, &token)
        .await
        .unwrap();
    assert!(out.saved, "{out:?}");

    // Key 2 first, key 1 still there: every value moves to key 2.
    let both = Keyring::parse(&SecretString::from(format!("{},{}", key(&k2), key(&k1)))).unwrap();
    let r = store::rotate(&pool, &both).await.unwrap();
    assert_eq!((r.rotated, r.current, r.failed.len()), (2, 0, 0));
    let again = store::rotate(&pool, &both).await.unwrap();
    assert_eq!(
        (again.rotated, again.current),
        (0, 2),
        "rotation is idempotent"
    );

    // Key 1 dropped: the run still authenticates with the value the admin set.
    let ring2 = Arc::new(Keyring::parse(&k2).unwrap());
    let (status, error) = run_once(&pool, ring2.clone(), s.contmax).await;
    assert_eq!(status, "success", "{error:?}");
    assert!(
        s.auth.seen().contains(&format!("Bearer {token}")),
        "the sandbox saw the admin's token"
    );

    // Altered in the database: the run ends as a credential error, not a panic or a retry.
    sqlx::query(
        "update integration_secrets set ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1)
         where tenant_integration_id = (select id from tenant_integrations where tenant_id = $1 and provider = $2)",
    )
    .bind(s.contmax)
    .bind(SLUG)
    .execute(&pool)
    .await
    .unwrap();
    let (status, error) = run_once(&pool, ring2.clone(), s.contmax).await;
    assert_eq!(status, "error");
    let error = error.unwrap_or_default();
    assert!(error.contains("Credencial inválida"), "{error}");
    assert!(!error.contains(&token));

    // P&G's row gets a copy of a valid value of Contmax's: it must not decrypt there.
    set_as(&pool, &ring2, "admin@contmax.com.br", s.contmax, &token)
        .await
        .unwrap();
    sqlx::query(
        "update integration_secrets dst set ciphertext = src.ciphertext, nonce = src.nonce, key_id = src.key_id
         from integration_secrets src
         where src.tenant_integration_id = (select id from tenant_integrations where tenant_id = $1 and provider = $3)
           and dst.tenant_integration_id = (select id from tenant_integrations where tenant_id = $2 and provider = $3)",
    )
    .bind(s.contmax)
    .bind(s.pg)
    .bind(SLUG)
    .execute(&pool)
    .await
    .unwrap();
    let (status, error) = run_once(&pool, ring2, s.pg).await;
    assert_eq!(status, "error");
    assert!(error.unwrap_or_default().contains("Credencial inválida"));

    // A key that is not configured at all: rotation reports it and changes nothing.
    let ring3 = Keyring::parse(&Keyring::generate_key()).unwrap();
    let r = store::rotate(&pool, &ring3).await.unwrap();
    assert_eq!((r.rotated, r.failed.len()), (0, 2));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_missing_credential_ends_the_run_before_any_http(pool: PgPool) {
    let ring = Arc::new(Keyring::ephemeral());
    let s = setup(&pool, &ring, "ok").await;
    let claims = common::demo_claims(&pool, "admin@contmax.com.br").await;
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    assert!(credentials::remove(
        &mut tx,
        s.contmax,
        SLUG,
        local_http::TOKEN_FIELD,
        &actor(&claims, "Ana")
    )
    .await
    .unwrap());
    tx.commit().await.unwrap();
    let before = s.auth.seen().len();
    let (status, error) = run_once(&pool, ring, s.contmax).await;
    assert_eq!(status, "error");
    assert!(error
        .unwrap_or_default()
        .contains("Credencial não configurada"));
    assert_eq!(
        s.auth.seen().len(),
        before,
        "no request reached the provider"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn only_tenant_admins_set_credentials_and_bad_values_are_field_errors(pool: PgPool) {
    let ring = Keyring::ephemeral();
    let s = setup(&pool, &ring, "ok").await;
    let staff = set_as(
        &pool,
        &ring,
        "equipe@contmax.com.br",
        s.contmax,
        "sbx_x123456",
    )
    .await;
    assert!(matches!(staff, Err(Error::Forbidden(_))), "{staff:?}");
    // An admin of P&G does not see Contmax's integration at all.
    let other = set_as(&pool, &ring, "admin@pg.com.br", s.contmax, "sbx_x123456").await;
    assert!(matches!(other, Err(Error::NotFound(_))), "{other:?}");
    let bad = set_as(
        &pool,
        &ring,
        "admin@contmax.com.br",
        s.contmax,
        "linha\nquebrada",
    )
    .await
    .unwrap();
    assert!(!bad.saved);
    assert!(bad.error_for("api_token").is_some());
    // Only the demo's token is stored, under the demo's actor (none).
    let n: i64 =
        sqlx::query_scalar("select count(*) from integration_secrets where set_by is not null")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(n, 0);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn an_integration_added_later_starts_from_its_old_jobs_last_run(pool: PgPool) {
    let ring = Keyring::ephemeral();
    let s = setup(&pool, &ring, "ok").await;
    // The old contacts job synced Contmax's OneCode (the baseline's log: `onecode-contacts`,
    // a success a day ago); the tenant has no OneCode integration yet.
    let old: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "select max(created_at) from integration_logs
         where tenant_id = $1::text and provider_slug = 'onecode' and status = 'success'",
    )
    .bind(s.contmax)
    .fetch_one(&pool)
    .await
    .unwrap();
    // A webhook batch since then, which failed: not a sync, not the card's last run.
    sqlx::query(
        "insert into integration_logs (tenant_id, integration, provider_slug, status, trigger,
                                       error_message)
         values ($1::text, 'onecode', 'onecode', 'error', 'webhook', '1 evento falhou')",
    )
    .bind(s.contmax)
    .execute(&pool)
    .await
    .unwrap();
    let claims = common::demo_claims(&pool, "admin@contmax.com.br").await;
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    backend::integrations::add(&mut tx, s.contmax, "onecode", &actor(&claims, "Ana"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let card = || {
        sqlx::query_as::<
            _,
            (
                Option<String>,
                Option<chrono::DateTime<chrono::Utc>>,
                Option<String>,
            ),
        >(
            "select last_status, last_run, last_error from tenant_integrations
             where tenant_id = $1 and provider = $2",
        )
    };
    let onecode = card()
        .bind(s.contmax)
        .bind("onecode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(onecode, (Some("success".to_owned()), Some(old), None));

    // The migration's backfill again, over a card the engine already wrote and one it did
    // not: the first keeps its own, the second gets the old job's (not the webhook's).
    sqlx::query(
        "update tenant_integrations set last_run = now(), last_status = 'partial',
                last_error = '2 falhas'
         where tenant_id = $1 and provider = 'local-http'",
    )
    .bind(s.contmax)
    .execute(&pool)
    .await
    .unwrap();
    let engine_wrote = card()
        .bind(s.contmax)
        .bind("local-http")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "update tenant_integrations set last_run = null, last_status = null, last_error = null
         where tenant_id = $1 and provider = 'onecode'",
    )
    .bind(s.contmax)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::raw_sql(include_str!(
        "../../migrations/0029_last_run_from_history.sql"
    ))
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        card()
            .bind(s.contmax)
            .bind("local-http")
            .fetch_one(&pool)
            .await
            .unwrap(),
        engine_wrote
    );
    assert_eq!(
        card()
            .bind(s.contmax)
            .bind("onecode")
            .fetch_one(&pool)
            .await
            .unwrap(),
        (Some("success".to_owned()), Some(old), None)
    );
    // One with no history starts as never run.
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    backend::integrations::add(&mut tx, s.contmax, "bomcontrole", &actor(&claims, "Ana"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let status: Option<String> = sqlx::query_scalar(
        "select last_status from tenant_integrations where tenant_id = $1 and provider = 'bomcontrole'",
    )
    .bind(s.contmax)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(status, None);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn an_integration_turns_on_only_with_its_required_credentials(pool: PgPool) {
    let ring = Keyring::ephemeral();
    let s = setup(&pool, &ring, "ok").await;
    let claims = common::demo_claims(&pool, "admin@contmax.com.br").await;
    let a = actor(&claims, "Ana");

    // Added from the catalog: off, and refused on until its token is set.
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    backend::integrations::add(&mut tx, s.contmax, "bomcontrole", &a)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let enabled: bool = sqlx::query_scalar(
        "select is_enabled from tenant_integrations where tenant_id = $1 and provider = 'bomcontrole'",
    )
    .bind(s.contmax)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(!enabled);
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    let again = backend::integrations::add(&mut tx, s.contmax, "bomcontrole", &a).await;
    assert!(matches!(again, Err(Error::Conflict(_))));
    drop(tx);

    let mut tx = begin_as(&pool, &claims).await.unwrap();
    let refused =
        backend::integrations::set_enabled(&mut tx, s.contmax, "bomcontrole", true, &a).await;
    match refused {
        Err(Error::Conflict(m)) => assert!(m.contains("Chave da API"), "{m}"),
        other => panic!("{other:?}"),
    }
    drop(tx);

    let mut tx = begin_as(&pool, &claims).await.unwrap();
    let out = credentials::set(
        &mut tx,
        &ring,
        s.contmax,
        "bomcontrole",
        "api_key",
        SecretString::from("chave-bc-123".to_owned()),
        &a,
    )
    .await
    .unwrap();
    assert!(out.saved);
    backend::integrations::set_enabled(&mut tx, s.contmax, "bomcontrole", true, &a)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Staff may not add integrations (RLS refuses the insert).
    let staff = common::demo_claims(&pool, "equipe@contmax.com.br").await;
    let mut tx = begin_as(&pool, &staff).await.unwrap();
    let r =
        backend::integrations::add(&mut tx, s.contmax, "onecode", &actor(&staff, "Carlos")).await;
    assert!(r.is_err());

    let actions: Vec<String> = sqlx::query_scalar(
        "select action from integration_audit where tenant_id = $1 and provider_slug = 'bomcontrole' order by id",
    )
    .bind(s.contmax)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(actions, ["integration_added", "secret_set", "enabled"]);
    let details: serde_json::Value = sqlx::query_scalar(
        "select details from integration_audit where action = 'secret_set' and provider_slug = 'bomcontrole'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        !details.to_string().contains("chave-bc-123"),
        "never a value"
    );
}

async fn as_role(pool: &PgPool, role: &str, claims: &Claims, sql: &str) -> Result<u64, String> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("select set_config('request.jwt.claims', $1, true), set_config('role', $2, true)")
        .bind(serde_json::to_string(claims).unwrap())
        .bind(role)
        .execute(&mut *tx)
        .await
        .unwrap();
    match sqlx::query(sql).execute(&mut *tx).await {
        Ok(r) => {
            tx.commit().await.unwrap();
            Ok(r.rows_affected())
        }
        Err(e) => Err(e
            .as_database_error()
            .and_then(|d| d.code().map(|c| c.into_owned()))
            .unwrap_or_default()),
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn no_client_role_reaches_the_vault_and_the_audit_trail_is_append_only(pool: PgPool) {
    let ring = Keyring::ephemeral();
    let s = setup(&pool, &ring, "ok").await;
    set_as(
        &pool,
        &ring,
        "admin@contmax.com.br",
        s.contmax,
        "sbx_audit_123",
    )
    .await
    .unwrap();
    set_as(&pool, &ring, "admin@pg.com.br", s.pg, "sbx_audit_456")
        .await
        .unwrap();
    let admin = common::demo_claims(&pool, "admin@contmax.com.br").await;
    let global = common::demo_claims(&pool, "ti@contmax.com.br").await;

    for role in ["authenticated", "anon"] {
        for claims in [&admin, &global] {
            for sql in [
                "select * from integration_secrets",
                "insert into integration_secrets (tenant_integration_id, field, ciphertext, nonce, key_id)
                 select id, 'x', '\\x00000000000000000000000000000000', '\\x000000000000000000000000', 'k' from tenant_integrations limit 1",
                "update integration_secrets set key_id = 'x'",
                "delete from integration_secrets",
            ] {
                assert_eq!(
                    as_role(&pool, role, claims, sql).await,
                    Err("42501".into()),
                    "{role}: {sql}"
                );
            }
        }
    }

    // The trail: no update or delete for the roles the app uses, the owner's update refused
    // by the trigger; anon reads nothing.
    for role in ["authenticated", "anon", "service_role"] {
        assert_eq!(
            as_role(
                &pool,
                role,
                &admin,
                "update integration_audit set action = 'enabled'"
            )
            .await,
            Err("42501".into()),
            "{role}"
        );
    }
    for role in ["authenticated", "anon"] {
        assert_eq!(
            as_role(&pool, role, &admin, "delete from integration_audit").await,
            Err("42501".into()),
            "{role}"
        );
        assert_eq!(
            as_role(&pool, role, &admin,
                "insert into integration_audit (tenant_id, action, source) select id, 'enabled', 'ui' from organizacoes limit 1").await,
            Err("42501".into()),
            "{role} cannot forge entries"
        );
    }
    let owner = sqlx::query("update integration_audit set action = 'enabled'")
        .execute(&pool)
        .await
        .unwrap_err();
    assert_eq!(
        owner.as_database_error().and_then(|d| d.code()).as_deref(),
        Some("42501")
    );
    assert_eq!(
        as_role(&pool, "anon", &admin, "select * from integration_audit").await,
        Err("42501".into())
    );

    // Reading: the admin sees Contmax's entries only, staff none, the global admin all.
    let visible = |email: &'static str| {
        let pool = pool.clone();
        async move {
            let claims = common::demo_claims(&pool, email).await;
            let mut tx = begin_as(&pool, &claims).await.unwrap();
            let tenants: Vec<Uuid> =
                sqlx::query_scalar("select distinct tenant_id from integration_audit")
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
            tenants
        }
    };
    assert_eq!(visible("admin@contmax.com.br").await, vec![s.contmax]);
    assert!(visible("equipe@contmax.com.br").await.is_empty());
    assert_eq!(visible("ti@contmax.com.br").await.len(), 2);

    // Retention deletes as service_role.
    assert!(as_role(
        &pool,
        "service_role",
        &admin,
        "delete from integration_audit where created_at < now() - interval '1 year'"
    )
    .await
    .is_ok());
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_token_left_in_plain_config_moves_to_the_vault_at_start(pool: PgPool) {
    let ring = Keyring::ephemeral();
    let s = setup(&pool, &ring, "ok").await;
    sqlx::query(
        "update tenant_integrations set config = config || '{\"api_token\": \"plain-token-123\", \"base_url\": \"https://x.test\"}'
         where tenant_id = $1 and provider = 'acessorias'",
    )
    .bind(s.contmax)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        backend::vault::adopt_plain_config_secrets(&pool, &ring)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        backend::vault::adopt_plain_config_secrets(&pool, &ring)
            .await
            .unwrap(),
        0,
        "once"
    );
    let config: serde_json::Value = sqlx::query_scalar(
        "select config from tenant_integrations where tenant_id = $1 and provider = 'acessorias'",
    )
    .bind(s.contmax)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(config.get("api_token").is_none(), "{config}");
    assert!(config.get("base_url").is_some(), "the rest stays");
    let mut tx = begin_service(&pool).await.unwrap();
    let inputs = backend::vault::run_inputs(&mut tx, &ring, s.contmax, "acessorias")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        inputs.secrets.get("api_token").unwrap().expose_secret(),
        "plain-token-123"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_member_role_change_is_audited_whoever_makes_it(pool: PgPool) {
    let ring = Keyring::ephemeral();
    let s = setup(&pool, &ring, "ok").await;
    // The Contmax admin promotes the staff member through SQL, as PostgREST would.
    let admin = common::demo_claims(&pool, "admin@contmax.com.br").await;
    let staff = common::demo_claims(&pool, "equipe@contmax.com.br").await;
    let n = as_role(
        &pool,
        "authenticated",
        &admin,
        &format!(
            "update user_tenants set role = 'admin' where user_id = '{}' and tenant_id = '{}'",
            staff.sub, s.contmax
        ),
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    let (actor, source, details): (Option<Uuid>, String, serde_json::Value) = sqlx::query_as(
        "select actor_id, source, details from integration_audit
         where action = 'member_role_changed' and details->>'before' = 'staff'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(actor, Some(admin.sub));
    assert_eq!(source, "api");
    assert_eq!(details["before"], "staff");
    assert_eq!(details["after"], "admin");
    assert_eq!(
        backend::audit::summary("member_role_changed", &details),
        "equipe@contmax.com.br: Equipe → Administrador"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_environment_fills_in_only_for_the_api_it_was_meant_for(pool: PgPool) {
    let ring = Keyring::ephemeral();
    let s = setup(&pool, &ring, "ok").await;
    // Only this test sets this variable (P&G's Acessórias).
    std::env::set_var(
        "INTEGRATION_SECRET__ACESSORIAS__PG__API_TOKEN",
        "env-token-xyz-123",
    );
    let admin = common::demo_claims(&pool, "admin@pg.com.br").await;
    let state = |pool: PgPool| async move {
        let admin = common::demo_claims(&pool, "admin@pg.com.br").await;
        let mut tx = begin_as(&pool, &admin).await.unwrap();
        let form = backend::config_form::form(&mut tx, s.pg, "acessorias", true)
            .await
            .unwrap();
        form.fields
            .into_iter()
            .find(|f| f.key == "api_token")
            .unwrap()
            .secret_state
    };
    let token = |pool: PgPool| async move {
        let mut tx = begin_service(&pool).await.unwrap();
        let inputs = backend::vault::run_inputs(&mut tx, &Keyring::ephemeral(), s.pg, "acessorias")
            .await
            .unwrap()
            .unwrap();
        inputs
            .secrets
            .get("api_token")
            .map(|v| v.expose_secret().to_owned())
            .ok()
    };
    // The catalog's default address: the environment's token is used, and the form says so.
    assert_eq!(state(pool.clone()).await, model::SecretState::FromEnv);
    assert_eq!(
        token(pool.clone()).await.as_deref(),
        Some("env-token-xyz-123")
    );

    // An admin points the integration elsewhere: the operator's token is not sent there.
    let mut tx = begin_as(&pool, &admin).await.unwrap();
    let saved = backend::config_form::save(
        &mut tx,
        s.pg,
        "acessorias",
        &std::collections::HashMap::from([(
            "base_url".to_owned(),
            "https://coletor.example".to_owned(),
        )]),
        Default::default(),
        &actor(&admin, "Paula"),
    )
    .await
    .unwrap();
    assert!(saved.saved, "{saved:?}");
    tx.commit().await.unwrap();
    assert_eq!(state(pool.clone()).await, model::SecretState::NotSet);
    assert_eq!(token(pool.clone()).await, None);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn moving_the_api_to_another_origin_removes_its_credentials(pool: PgPool) {
    let ring = Keyring::ephemeral();
    let s = setup(&pool, &ring, "ok").await;
    let admin = common::demo_claims(&pool, "admin@contmax.com.br").await;
    let count = || async {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from integration_secrets s join tenant_integrations t on t.id = s.tenant_integration_id
             where t.tenant_id = $1 and t.provider = 'local-http'",
        )
        .bind(s.contmax)
        .fetch_one(&pool)
        .await
        .unwrap();
        n
    };
    assert_eq!(count().await, 1);
    // Another path on the same origin keeps it.
    let same = as_role(
        &pool,
        "authenticated",
        &admin,
        &format!(
            "update tenant_integrations set config = jsonb_set(config, '{{base_url}}', to_jsonb(config->>'base_url' || '/outro'))
             where tenant_id = '{}' and provider = 'local-http'",
            s.contmax
        ),
    )
    .await;
    assert_eq!(same, Ok(1));
    assert_eq!(count().await, 1);
    // Another host, even through PostgREST: removed, and the trail says why and who.
    let moved = as_role(
        &pool,
        "authenticated",
        &admin,
        &format!(
            "update tenant_integrations set config = jsonb_set(config, '{{base_url}}', '\"https://coletor.example\"')
             where tenant_id = '{}' and provider = 'local-http'",
            s.contmax
        ),
    )
    .await;
    assert_eq!(moved, Ok(1));
    assert_eq!(count().await, 0);
    let rows: Vec<(String, String, Option<Uuid>)> = sqlx::query_as(
        "select action, source, actor_id from integration_audit where provider_slug = 'local-http' and tenant_id = $1 order by id",
    )
    .bind(s.contmax)
    .fetch_all(&pool)
    .await
    .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert!(
        actions.ends_with(&["config_changed", "config_changed", "secret_removed"]),
        "{actions:?}"
    );
    assert!(rows
        .iter()
        .rev()
        .take(3)
        .all(|r| r.1 == "api" && r.2 == Some(admin.sub)));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn changes_made_through_postgrest_are_audited_too(pool: PgPool) {
    let ring = Keyring::ephemeral();
    let s = setup(&pool, &ring, "ok").await;
    let admin = common::demo_claims(&pool, "admin@contmax.com.br").await;
    for sql in [
        "update tenant_integrations set is_enabled = false where provider = 'acessorias'",
        "update tenant_integrations set schedule = '1d' where provider = 'acessorias'",
        "delete from tenant_integrations where provider = 'acessorias'",
    ] {
        assert_eq!(
            as_role(&pool, "authenticated", &admin, sql).await,
            Ok(1),
            "{sql}"
        );
    }
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select action, source, actor_email from integration_audit
         where provider_slug = 'acessorias' and tenant_id = $1 order by id",
    )
    .bind(s.contmax)
    .fetch_all(&pool)
    .await
    .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        ["disabled", "schedule_changed", "integration_removed"]
    );
    assert!(rows
        .iter()
        .all(|r| r.1 == "api" && r.2.as_deref() == Some("admin@contmax.com.br")));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_trail_pages_by_keyset_and_filters_by_action_and_person(pool: PgPool) {
    let ring = Keyring::ephemeral();
    let s = setup(&pool, &ring, "ok").await;
    let admin = common::demo_claims(&pool, "admin@contmax.com.br").await;
    let socio = common::demo_claims(&pool, "socio@contmax.com.br").await;
    // 40 entries by the admin and 7 by the partner, besides the demo's.
    sqlx::query(
        "insert into integration_audit (actor_id, actor_email, tenant_id, provider_slug, action, source)
         select case when g <= 40 then $2 else $3 end, 'x', $1, 'local-http',
                case when g % 2 = 0 then 'run_requested' else 'connection_tested' end, 'ui'
         from generate_series(1, 47) g",
    )
    .bind(s.contmax)
    .bind(admin.sub)
    .bind(socio.sub)
    .execute(&pool)
    .await
    .unwrap();
    let page = |q: model::AuditQuery| {
        let pool = pool.clone();
        let admin = admin.clone();
        async move {
            let mut tx = begin_as(&pool, &admin).await.unwrap();
            backend::audit::page(&mut tx, s.contmax, &q).await
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut sizes = Vec::new();
    let mut before = None;
    loop {
        let p = page(model::AuditQuery {
            slug: Some("local-http".into()),
            person: Some(admin.sub.to_string()),
            before: before.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
        sizes.push(p.rows.len());
        for r in &p.rows {
            assert!(seen.insert(r.id), "entry {} twice", r.id);
        }
        assert!(p.rows.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        match p.next_before {
            Some(c) => before = Some(c),
            None => break,
        }
    }
    assert_eq!(sizes, [25, 15]);
    let tests = page(model::AuditQuery {
        action: Some("connection_tested".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(tests.rows.len(), 24);
    assert!(tests.rows.iter().all(|r| r.action == "connection_tested"));
    assert!(matches!(
        page(model::AuditQuery {
            action: Some("drop table".into()),
            ..Default::default()
        })
        .await,
        Err(Error::Invalid(_))
    ));
}
