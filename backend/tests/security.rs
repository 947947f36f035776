//! The attack suite, database part (issue "Security"): what a signed-in user could send
//! through PostgREST (SQL as `authenticated` with their real claims) and what `anon` could,
//! against the grants, policies and functions of our migrations. Every case checks that
//! nothing changed in the database, not only that an error came back.

mod common;

use backend::engine::{Engine, EngineConfig};
use backend::providers::Registry;
use backend::scope::{begin_as, Claims};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

async fn seeded(pool: &PgPool) {
    backend::demo::seed_demo_users(pool)
        .await
        .expect("demo users");
}

async fn user(pool: &PgPool, email: &str) -> (Uuid, Claims) {
    let c = common::demo_claims(pool, email).await;
    (c.sub, c)
}

/// A transaction as `anon` with the claims PostgREST gives an anonymous request.
async fn begin_anon(pool: &PgPool) -> Transaction<'static, Postgres> {
    let mut tx = pool.begin().await.expect("tx");
    sqlx::query(
        "select set_config('request.jwt.claims', '{\"role\":\"anon\"}', true),
                set_config('role', 'anon', true)",
    )
    .execute(&mut *tx)
    .await
    .expect("anon");
    tx
}

/// Runs `sql` as the caller and returns its SQLSTATE (it must fail); rolled back.
async fn refused(pool: &PgPool, claims: &Claims, sql: &str) -> String {
    let mut tx = begin_as(pool, claims).await.expect("tx");
    let err = sqlx::query(sql)
        .execute(&mut *tx)
        .await
        .expect_err(&format!("must be refused: {sql}"));
    err.as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

/// Runs `sql` as the caller and returns the rows it changed (committed).
async fn changed(pool: &PgPool, claims: &Claims, sql: &str) -> u64 {
    let mut tx = begin_as(pool, claims).await.expect("tx");
    let n = sqlx::query(sql)
        .execute(&mut *tx)
        .await
        .expect(sql)
        .rows_affected();
    tx.commit().await.expect("commit");
    n
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

// Item 1 ---------------------------------------------------------------------------------

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn members_cannot_write_run_history_nor_reach_the_queue(pool: PgPool) {
    seeded(&pool).await;
    let contmax = common::org_id(&pool, "contmax").await;
    let (_, staff) = user(&pool, "equipe@contmax.com.br").await;
    let (_, admin) = user(&pool, "admin@contmax.com.br").await;
    let logs = "select count(*) from public.integration_logs";
    let before = count(&pool, logs).await;

    for claims in [&staff, &admin] {
        // Faked history, a `running` row to get executed, another execution's attempts.
        let insert = format!(
            "insert into public.integration_logs (tenant_id, integration, provider_slug, status, total_processados)
             values ('{contmax}', 'acessorias', 'acessorias', 'success', 999999)"
        );
        assert_eq!(refused(&pool, claims, &insert).await, "42501");
        let running = format!(
            "insert into public.integration_logs (tenant_id, integration, provider_slug, status, heartbeat_at, created_at)
             values ('{contmax}', 'acessorias', 'acessorias', 'running', now() - interval '1 day', now() - interval '1 day')"
        );
        assert_eq!(refused(&pool, claims, &running).await, "42501");
        assert_eq!(
            refused(
                &pool,
                claims,
                "update public.integration_logs set status = 'success'"
            )
            .await,
            "42501"
        );
        // The queue is the server's.
        let execution: Uuid = sqlx::query_scalar(
            "select execution_id from public.integration_logs where tenant_id = $1::text limit 1",
        )
        .bind(contmax)
        .fetch_one(&pool)
        .await
        .expect("a demo log row");
        let enqueue = format!("select public.enqueue_integration_run('{execution}', 1, null)");
        assert_eq!(refused(&pool, claims, &enqueue).await, "42501");
        let dequeue = format!("select public.dequeue_integration_run('{execution}', 1)");
        assert_eq!(refused(&pool, claims, &dequeue).await, "42501");
        // Claims are the server's too (it checks membership, the run limit and the plan,
        // then claims and enqueues together): none through PostgREST, whatever the trigger.
        for trigger in ["manual", "api", "schedule", "webhook"] {
            let claim = format!(
                "select * from public.claim_integration_run('{contmax}', 'acessorias', '{trigger}')"
            );
            assert_eq!(refused(&pool, claims, &claim).await, "42501", "{trigger}");
        }
    }
    assert_eq!(count(&pool, logs).await, before, "nothing written");

    // Even the engine cannot write a status outside the vocabulary.
    let err = sqlx::query(
        "insert into public.integration_logs (tenant_id, integration, status) values ($1::text, 'x', 'hacked')",
    )
    .bind(contmax)
    .execute(&pool)
    .await
    .expect_err("status check");
    assert_eq!(
        err.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("23514")
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn rows_the_reaper_cannot_conclude_do_not_stop_the_round(pool: PgPool) {
    seeded(&pool).await;
    let contmax = common::org_id(&pool, "contmax").await;
    let pg = common::org_id(&pool, "pg").await;
    // What an attacker could leave before this fix, more than one round's page of it: old
    // running attempts 1 whose attempt 2 already exists, so that their retry fails on the
    // unique index.
    let poisoned: Vec<Uuid> = sqlx::query_scalar(
        "insert into public.integration_logs
           (tenant_id, integration, provider_slug, status, attempt, started_at, heartbeat_at, created_at)
         select $1::text, 'acessorias', 'acessorias', 'running', 1, t, t, t
         from generate_series(now() - interval '3 hours', now() - interval '2 hours',
                              interval '30 seconds') t
         returning execution_id",
    )
    .bind(contmax)
    .fetch_all(&pool)
    .await
    .expect("poisoned rows");
    assert!(poisoned.len() > 100, "more than one page");
    sqlx::query(
        "insert into public.integration_logs (tenant_id, integration, provider_slug, status, attempt, execution_id)
         select $1::text, 'acessorias', 'acessorias', 'error', 2, e from unnest($2::uuid[]) e",
    )
    .bind(contmax)
    .bind(&poisoned)
    .execute(&pool)
    .await
    .expect("their attempts 2");
    // Another tenant's run, lost by its worker an hour ago (after all of them).
    let lost: Uuid = sqlx::query_scalar(
        "insert into public.integration_logs
           (tenant_id, integration, provider_slug, status, attempt, started_at, heartbeat_at, created_at)
         values ($1::text, 'bomcontrole', 'bomcontrole', 'running', 1,
                 now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour')
         returning execution_id",
    )
    .bind(pg)
    .fetch_one(&pool)
    .await
    .expect("lost row");
    backend::queue::install(&pool).await.expect("queue");
    let engine = Engine::new(
        pool.clone(),
        Registry::standard(true),
        std::sync::Arc::new(backend::vault::Keyring::ephemeral()),
        EngineConfig::default(),
    );
    assert_eq!(
        engine.reap_stale().await.expect("the round goes on"),
        poisoned.len() + 1
    );
    let status = |id: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select status from public.integration_logs where execution_id = $1 and attempt = 1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("row")
        }
    };
    assert_eq!(
        status(lost).await,
        "error",
        "the other tenant's run was reaped"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from public.integration_logs where status = 'running'"
        )
        .await,
        1,
        "every bad row was ended; only the lost run's retry waits"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from public.integration_logs where attempt > 2 and provider_slug = 'acessorias'"
        )
        .await,
        0,
        "no retry was made for the bad rows"
    );
}

// Item 2 ---------------------------------------------------------------------------------

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_user_changes_only_their_own_name(pool: PgPool) {
    seeded(&pool).await;
    let (id, staff) = user(&pool, "equipe@contmax.com.br").await;
    let profile = || {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (String, String, bool)>(
                "select nome, email, ativo from public.profiles where id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("profile")
        }
    };
    let before = profile().await;
    for sql in [
        "update public.profiles set email = 'ti@contmax.com.br' where id = auth.uid()",
        "update public.profiles set id = gen_random_uuid() where id = auth.uid()",
        "update public.profiles set ativo = false where id = auth.uid()",
        "update public.profiles set created_at = now() - interval '9 years' where id = auth.uid()",
    ] {
        assert_eq!(refused(&pool, &staff, sql).await, "42501", "{sql}");
    }
    assert_eq!(profile().await, before, "nothing changed");
    // Nor anyone else's row (RLS: zero rows).
    assert_eq!(
        changed(
            &pool,
            &staff,
            "update public.profiles set nome = 'x' where id <> auth.uid()"
        )
        .await,
        0
    );
    // Their own name, yes (within bounds).
    assert_eq!(
        changed(
            &pool,
            &staff,
            "update public.profiles set nome = 'Carlos' where id = auth.uid()"
        )
        .await,
        1
    );
    assert_eq!(profile().await.0, "Carlos");
    assert_eq!(
        refused(
            &pool,
            &staff,
            "update public.profiles set nome = repeat('x', 100000) where id = auth.uid()"
        )
        .await,
        "23514"
    );
    // Deactivated by an operator, they cannot turn themselves on again: their session
    // opens nothing any more.
    sqlx::query("update public.profiles set ativo = false where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .expect("deactivated");
    assert_eq!(
        changed(
            &pool,
            &staff,
            "update public.profiles set ativo = true where id = auth.uid()"
        )
        .await,
        0
    );
    assert!(!profile().await.2, "still inactive");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_deactivated_user_cannot_sign_in_and_their_tokens_stop_working(pool: PgPool) {
    seeded(&pool).await;
    let keys = backend::auth::JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef");
    let email = "equipe@contmax.com.br";
    let id = backend::auth::authenticate(&pool, email, backend::demo::DEMO_PASSWORD)
        .await
        .expect("active user signs in");
    let token = backend::auth::start_session(&pool, &keys, id, email, Some("test"))
        .await
        .expect("session");
    let claims = keys.verify(&token).expect("valid token");
    backend::auth::ensure_live(&pool, &claims)
        .await
        .expect("live");
    // A Supabase-style token (no portal session) of the same user.
    let bare = keys.verify(&keys.issue(id, email).unwrap()).unwrap();
    backend::auth::ensure_live(&pool, &bare)
        .await
        .expect("live");

    let (_, admin) = user(&pool, "ti@contmax.com.br").await;
    assert_eq!(
        changed(
            &pool,
            &admin,
            &format!("update public.profiles set ativo = false where id = '{id}'")
        )
        .await,
        1,
        "a global admin deactivates"
    );
    for c in [&claims, &bare] {
        assert!(matches!(
            backend::auth::ensure_live(&pool, c).await,
            Err(backend::Error::Unauthenticated(_))
        ));
    }
    assert!(matches!(
        backend::auth::authenticate(&pool, email, backend::demo::DEMO_PASSWORD).await,
        Err(backend::Error::Unauthenticated(_))
    ));
    // A deleted user's token is refused too.
    let (gone, _) = user(&pool, "equipe@pg.com.br").await;
    let gone_claims = keys.verify(&keys.issue(gone, "x").unwrap()).unwrap();
    sqlx::query("delete from auth.users where id = $1")
        .bind(gone)
        .execute(&pool)
        .await
        .expect("deleted");
    assert!(backend::auth::ensure_live(&pool, &gone_claims)
        .await
        .is_err());
}

// Item 7 ---------------------------------------------------------------------------------

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn signing_out_ends_the_session_and_everywhere_ends_them_all(pool: PgPool) {
    seeded(&pool).await;
    let keys = backend::auth::JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef");
    let email = "admin@contmax.com.br";
    let (id, _) = user(&pool, email).await;
    let session = |ua: &'static str| {
        let pool = pool.clone();
        let keys = &keys;
        async move {
            let t = backend::auth::start_session(&pool, keys, id, email, Some(ua))
                .await
                .expect("session");
            keys.verify(&t).expect("token")
        }
    };
    let laptop = session("laptop").await;
    let phone = session("phone").await;
    backend::auth::end_session(&pool, &laptop)
        .await
        .expect("sign out");
    assert!(backend::auth::ensure_live(&pool, &laptop).await.is_err());
    backend::auth::ensure_live(&pool, &phone)
        .await
        .expect("the other session goes on");
    // A token naming a session of another user is no key to it.
    let (other, _) = user(&pool, "equipe@contmax.com.br").await;
    let stolen = Claims {
        sub: other,
        ..phone.clone()
    };
    assert!(backend::auth::ensure_live(&pool, &stolen).await.is_err());

    let bare = keys.verify(&keys.issue(id, email).unwrap()).unwrap();
    backend::auth::end_all_sessions(&pool, id)
        .await
        .expect("everywhere");
    assert!(backend::auth::ensure_live(&pool, &phone).await.is_err());
    assert!(
        backend::auth::ensure_live(&pool, &bare).await.is_err(),
        "older tokens without a session too"
    );
    // Signing in again right away works.
    let again = session("laptop again").await;
    backend::auth::ensure_live(&pool, &again)
        .await
        .expect("new session");
    // The sessions table is the server's: no client role sees or changes it.
    let (_, me) = user(&pool, email).await;
    assert_eq!(
        refused(&pool, &me, "select * from public.portal_sessions").await,
        "42501"
    );
    assert_eq!(
        refused(
            &pool,
            &me,
            "update public.portal_sessions set revoked_at = null"
        )
        .await,
        "42501"
    );
}

// Item 3 ---------------------------------------------------------------------------------

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn tenant_admins_change_roles_of_their_members_only(pool: PgPool) {
    seeded(&pool).await;
    let contmax = common::org_id(&pool, "contmax").await;
    let (admin_id, admin) = user(&pool, "admin@contmax.com.br").await;
    let (outsider, _) = user(&pool, "equipe@pg.com.br").await;
    let (staff_id, _) = user(&pool, "equipe@contmax.com.br").await;
    let members = "select count(*) from public.user_tenants";
    let before = count(&pool, members).await;

    // Add an outsider (or a made-up id: no foreign-key oracle either).
    for who in [outsider, Uuid::new_v4()] {
        let add = format!(
            "insert into public.user_tenants (user_id, tenant_id, role) values ('{who}', '{contmax}', 'admin')"
        );
        assert_eq!(refused(&pool, &admin, &add).await, "42501");
    }
    // Promote themselves, move a member to another tenant, remove one.
    assert_eq!(
        changed(
            &pool,
            &admin,
            &format!("update public.user_tenants set role = 'staff' where user_id = '{admin_id}'")
        )
        .await,
        0
    );
    let pg = common::org_id(&pool, "pg").await;
    assert_eq!(
        refused(
            &pool,
            &admin,
            &format!(
                "update public.user_tenants set tenant_id = '{pg}' where user_id = '{staff_id}'"
            )
        )
        .await,
        "42501"
    );
    assert_eq!(
        changed(
            &pool,
            &admin,
            &format!("delete from public.user_tenants where user_id = '{staff_id}'")
        )
        .await,
        0
    );
    // A role outside the vocabulary.
    assert_eq!(
        refused(
            &pool,
            &admin,
            &format!("update public.user_tenants set role = 'owner' where user_id = '{staff_id}'")
        )
        .await,
        "23514"
    );
    assert_eq!(
        count(&pool, members).await,
        before,
        "nobody added or removed"
    );
    // What they may do: change a member's role.
    assert_eq!(
        changed(
            &pool,
            &admin,
            &format!(
                "update public.user_tenants set role = 'admin' where user_id = '{staff_id}' and tenant_id = '{contmax}'"
            )
        )
        .await,
        1
    );
    // A global admin adds people.
    let (_, global) = user(&pool, "ti@contmax.com.br").await;
    assert_eq!(
        changed(
            &pool,
            &global,
            &format!(
                "insert into public.user_tenants (user_id, tenant_id, role) values ('{outsider}', '{contmax}', 'staff')"
            )
        )
        .await,
        1
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn webhook_addresses_are_read_by_the_tenants_admins_only_and_written_by_nobody(pool: PgPool) {
    seeded(&pool).await;
    let contmax = common::org_id(&pool, "contmax").await;
    let (_, admin) = user(&pool, "admin@contmax.com.br").await;
    let (_, staff) = user(&pool, "equipe@contmax.com.br").await;
    let (_, other_admin) = user(&pool, "admin@pg.com.br").await;
    let tokens = "select count(*) from public.tenant_integration_webhooks";
    let snapshot = "select string_agg(concat_ws('|', tenant_integration_id, tenant_id, token), ',' order by token) from public.tenant_integration_webhooks";
    let all = count(&pool, tokens).await;
    let contmax_tokens = count(
        &pool,
        &format!(
            "select count(*) from public.tenant_integration_webhooks where tenant_id = '{contmax}'"
        ),
    )
    .await;
    assert!(contmax_tokens > 0, "every integration has an address");
    let before: String = sqlx::query_scalar(snapshot)
        .fetch_one(&pool)
        .await
        .expect("snapshot");
    let visible = |claims: Claims| {
        let pool = pool.clone();
        async move {
            let mut tx = begin_as(&pool, &claims).await.expect("tx");
            let n: i64 = sqlx::query_scalar(tokens)
                .fetch_one(&mut *tx)
                .await
                .expect("read");
            n
        }
    };
    assert_eq!(
        visible(admin.clone()).await,
        contmax_tokens,
        "the tenant's admin reads its own"
    );
    assert_eq!(visible(staff.clone()).await, 0, "staff read no address");
    assert!(
        visible(other_admin).await < all,
        "another tenant's admin reads only theirs"
    );
    // Not through the integration's row either: the column is gone from it.
    assert_eq!(
        refused(
            &pool,
            &staff,
            "select webhook_token from public.tenant_integrations"
        )
        .await,
        "42703"
    );
    for sql in [
        format!("update public.tenant_integration_webhooks set token = repeat('a', 64) where tenant_id = '{contmax}'"),
        format!("delete from public.tenant_integration_webhooks where tenant_id = '{contmax}'"),
        format!("insert into public.tenant_integration_webhooks (tenant_integration_id, tenant_id, token) select id, tenant_id, repeat('b', 64) from public.tenant_integrations where tenant_id = '{contmax}' limit 1"),
    ] {
        assert_eq!(refused(&pool, &admin, &sql).await, "42501", "{sql}");
    }
    let after: String = sqlx::query_scalar(snapshot)
        .fetch_one(&pool)
        .await
        .expect("snapshot");
    assert_eq!(before, after, "no address changed");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn an_integrations_provider_text_and_id_always_agree(pool: PgPool) {
    seeded(&pool).await;
    let contmax = common::org_id(&pool, "contmax").await;
    let (_, admin) = user(&pool, "admin@contmax.com.br").await;
    sqlx::query(
        "delete from public.tenant_integrations where tenant_id = $1 and provider = 'onecode'",
    )
    .bind(contmax)
    .execute(&pool)
    .await
    .expect("room for a new one");
    let rows =
        format!("select count(*) from public.tenant_integrations where tenant_id = '{contmax}'");
    let before = count(&pool, &rows).await;
    // OneCode's text with BomControle's id: the pages and the engine would disagree.
    let sql = format!(
        "insert into public.tenant_integrations (tenant_id, provider, provider_id)
         values ('{contmax}', 'onecode', (select id from public.integration_providers where slug = 'bomcontrole'))"
    );
    assert_eq!(refused(&pool, &admin, &sql).await, "23514");
    assert_eq!(count(&pool, &rows).await, before, "nothing inserted");
    // The old portal writes only the text: the id follows it, and an address is made.
    let sql = format!(
        "insert into public.tenant_integrations (tenant_id, provider) values ('{contmax}', 'onecode')"
    );
    assert_eq!(changed(&pool, &admin, &sql).await, 1);
    let agree = count(
        &pool,
        &format!(
            "select count(*) from public.tenant_integrations t
             join public.integration_providers p on p.id = t.provider_id and p.slug = t.provider
             join public.tenant_integration_webhooks w on w.tenant_integration_id = t.id
             where t.tenant_id = '{contmax}' and t.provider = 'onecode'"
        ),
    )
    .await;
    assert_eq!(agree, 1);
}

// Items 4 and 5 ----------------------------------------------------------------------------

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn anon_executes_no_function_of_ours(pool: PgPool) {
    seeded(&pool).await;
    // Every function in `public` (the customer's security-definer helpers included).
    let callable: Vec<String> = sqlx::query_scalar(
        "select p.oid::regprocedure::text from pg_proc p
         join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and has_function_privilege('anon', p.oid, 'execute')
           and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')",
    )
    .fetch_all(&pool)
    .await
    .expect("functions");
    // PostgREST's pre-request hook runs as the request's role, anon included; it reveals
    // nothing and changes nothing.
    assert_eq!(
        callable,
        vec!["portal_pre_request()".to_owned()],
        "anon may execute only the pre-request hook"
    );
    // And for real, as anon with PostgREST's claims.
    for sql in [
        "select public.has_role('00000000-0000-0000-0000-000000000000', 'admin')",
        "select public.is_global_admin()",
        "select public.is_tenant_member(gen_random_uuid())",
        "select public.log_tenant_id('contmax')",
        "select public.member_tenant_ids()",
    ] {
        let mut tx = begin_anon(&pool).await;
        let err = sqlx::query(sql).execute(&mut *tx).await.expect_err(sql);
        assert_eq!(
            err.as_database_error().and_then(|e| e.code()).as_deref(),
            Some("42501"),
            "{sql}: {err}"
        );
    }
    // Security-definer functions that only the server calls are not `authenticated`'s.
    let server_only: Vec<String> = sqlx::query_scalar(
        "select p.oid::regprocedure::text from pg_proc p
         join pg_namespace n on n.oid = p.pronamespace
         where n.nspname = 'public' and p.prosecdef
           and has_function_privilege('authenticated', p.oid, 'execute')",
    )
    .fetch_all(&pool)
    .await
    .expect("functions");
    let allowed = [
        "has_role(uuid,app_role)",
        "is_global_admin()",
        "is_tenant_member(uuid)",
        "is_tenant_admin(uuid)",
        "log_tenant_id(text)",
        "member_tenant_ids()",
        "admin_tenant_ids()",
        "caller_session_ok()",
        "member_tenant_keys()",
        // A waiting run's place in the queue, for members of its tenant (a number only).
        "queue_position(uuid,uuid)",
    ];
    for f in &server_only {
        assert!(
            allowed.iter().any(|a| f.ends_with(a)),
            "authenticated may execute {f}"
        );
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_claim_saying_service_role_is_not_the_service(pool: PgPool) {
    seeded(&pool).await;
    let pg = common::org_id(&pool, "pg").await;
    let (id, staff) = user(&pool, "equipe@contmax.com.br").await;
    // A Contmax staff user's session, with the role claim rewritten (as `set_config` can).
    let forged = Claims {
        role: "service_role".into(),
        ..staff
    };
    let logs = "select count(*) from public.integration_logs";
    let before = count(&pool, logs).await;
    for sql in [
        format!("select * from public.claim_integration_run('{pg}', 'acessorias', 'schedule')"),
        format!("select * from public.claim_integration_run('{pg}', 'acessorias', 'manual')"),
        "select public.enqueue_integration_run(gen_random_uuid(), 1, null)".to_owned(),
        "select public.dequeue_integration_run(gen_random_uuid(), 1)".to_owned(),
    ] {
        let mut tx = begin_as(&pool, &forged).await.expect("claims");
        let err = sqlx::query(&sql).execute(&mut *tx).await.expect_err(&sql);
        let code = err.as_database_error().and_then(|e| e.code());
        assert!(
            matches!(code.as_deref(), Some("P0002" | "42501")),
            "{sql}: {err}"
        );
    }
    assert_eq!(count(&pool, logs).await, before, "no run claimed");
    let running: i64 = sqlx::query_scalar(
        "select count(*) from public.tenant_integrations where tenant_id = $1 and last_status = 'running'",
    )
    .bind(pg)
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(running, 0);

    // The triggers that let the service through ask the database role, not the claim:
    // with the forged claim, `caller_is_service()` says no and the profile guard holds.
    let mut tx = begin_as(&pool, &forged).await.expect("claims");
    let service: bool = sqlx::query_scalar("select public.caller_is_service()")
        .fetch_one(&mut *tx)
        .await
        .expect("asked");
    assert!(!service, "a claim does not make the service");
    let err = sqlx::query(&format!(
        "update public.profiles set ativo = false, email = 'x@evil.example' where id = '{id}'"
    ))
    .execute(&mut *tx)
    .await
    .expect_err("the guard refuses");
    assert_eq!(
        err.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("42501"),
        "{err}"
    );
    drop(tx);
    let (ativo, email): (bool, String) =
        sqlx::query_as("select ativo, email from public.profiles where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("profile");
    assert!(ativo);
    assert_eq!(email, "equipe@contmax.com.br");
}

// Items 2 and 7 in the database: a signed-out session or a deactivated user's JWT reaches
// PostgREST without our server; the policies refuse it there too.

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn an_ended_session_opens_nothing_through_postgrest(pool: PgPool) {
    seeded(&pool).await;
    let keys = backend::auth::JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef");
    let sees = |claims: Claims| {
        let pool = pool.clone();
        async move {
            let mut tx = begin_as(&pool, &claims).await.expect("tx");
            let rows: i64 = sqlx::query_scalar(
                "select (select count(*) from public.tenant_integrations)
                      + (select count(*) from public.integration_logs)
                      + (select count(*) from public.empresas)
                      + (select count(*) from public.user_tenants)
                      -- Every signed-in user's catalogs, but only while signed in (0033).
                      + (select count(*) from public.organizacoes)
                      + (select count(*) from public.integration_providers)",
            )
            .fetch_one(&mut *tx)
            .await
            .expect("reads");
            let admin: bool = sqlx::query_scalar("select public.is_global_admin()")
                .fetch_one(&mut *tx)
                .await
                .expect("admin?");
            let changed = sqlx::query("update public.tenant_integrations set is_enabled = false")
                .execute(&mut *tx)
                .await
                .expect("update")
                .rows_affected();
            tx.rollback().await.expect("rollback");
            (rows, admin, changed)
        }
    };
    for email in ["admin@contmax.com.br", "ti@contmax.com.br"] {
        let (id, _) = user(&pool, email).await;
        let token = backend::auth::start_session(&pool, &keys, id, email, None)
            .await
            .expect("session");
        let claims = keys.verify(&token).expect("claims");
        let (rows, _, changed) = sees(claims.clone()).await;
        assert!(rows > 0 && changed > 0, "{email}: a live session works");
        backend::auth::end_session(&pool, &claims)
            .await
            .expect("signed out");
        assert_eq!(sees(claims).await, (0, false, 0), "{email}: signed out");
    }
    // Deactivated: their session-less (Supabase-style) token too.
    let (id, staff) = user(&pool, "equipe@contmax.com.br").await;
    assert!(sees(staff.clone()).await.0 > 0);
    sqlx::query("update public.profiles set ativo = false where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .expect("deactivated");
    assert_eq!(sees(staff.clone()).await, (0, false, 0));
    // Turned on again, tokens issued before stay dead (fresh sign-ins work).
    sqlx::query("update public.profiles set ativo = true where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .expect("reactivated");
    assert_eq!(sees(staff).await, (0, false, 0));
    // Supabase's anonymous sign-ins see nothing either.
    let (admin_id, admin) = user(&pool, "admin@contmax.com.br").await;
    let _ = admin_id;
    let anonymous = Claims {
        is_anonymous: true,
        ..admin
    };
    assert_eq!(sees(anonymous).await, (0, false, 0));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_tenant_admin_writes_only_the_configuration_columns(pool: PgPool) {
    seeded(&pool).await;
    let contmax = common::org_id(&pool, "contmax").await;
    let (_, admin) = user(&pool, "admin@contmax.com.br").await;
    let snapshot = || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select string_agg(concat_ws('|', id, provider_id, last_status, last_error, last_run, tenant_id, schedule_last_at), ',' order by id)
                 from public.tenant_integrations",
            )
            .fetch_one(&pool)
            .await
            .expect("snapshot")
        }
    };
    let before = snapshot().await;
    for sql in [
        format!("update public.tenant_integrations set last_status = 'success' where tenant_id = '{contmax}'"),
        format!("update public.tenant_integrations set last_error = 'x' where tenant_id = '{contmax}'"),
        format!("update public.tenant_integrations set provider_id = (select id from public.integration_providers limit 1) where tenant_id = '{contmax}'"),
        format!("update public.tenant_integrations set tenant_id = tenant_id where tenant_id = '{contmax}'"),
        // The scheduler's clock: 'infinity' there once stopped every tenant's schedules.
        format!("update public.tenant_integrations set schedule_last_at = 'infinity' where tenant_id = '{contmax}'"),
    ] {
        assert_eq!(refused(&pool, &admin, &sql).await, "42501", "{sql}");
    }
    // Sizes are bounded (each change is copied into the audit trail).
    for sql in [
        format!("update public.tenant_integrations set config = jsonb_build_object('x', repeat('a', 200000)) where tenant_id = '{contmax}'"),
        format!("update public.tenant_integrations set schedule = repeat('1', 1000) where tenant_id = '{contmax}'"),
    ] {
        assert_eq!(refused(&pool, &admin, &sql).await, "23514", "{sql}");
    }
    assert_eq!(snapshot().await, before, "nothing changed");
    // Not even the server can store a clock the scheduler could not read.
    let err = sqlx::query(&format!(
        "update public.tenant_integrations set schedule_last_at = 'infinity' where tenant_id = '{contmax}'"
    ))
    .execute(&pool)
    .await
    .expect_err("bounded");
    assert_eq!(
        err.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("23514")
    );
}

/// The session check the policies reach (`caller_session_ok()`, migration 0021: checked by
/// shape, without exception blocks): the claims issuers write are a session (a portal
/// session's, Supabase's without one, a real `iat`, an uppercase `sub`); a `sub`, `sid` or
/// `iat` no issuer writes, an unknown session or an anonymous token is none; and the
/// session is checked for the user `auth.uid()` reads, not another one named by the
/// legacy `request.jwt.claim` setting. (The JWT's signature is what keeps a caller from
/// writing claims; this keeps odd ones from being a session.)
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn malformed_session_claims_are_no_session(pool: PgPool) {
    seeded(&pool).await;
    let (id, admin) = user(&pool, "admin@contmax.com.br").await;
    // A token without a session (Supabase's) and one of an open portal session.
    let supabase = serde_json::to_value(&admin).expect("claims");
    let sid: Uuid = sqlx::query_scalar(
        "insert into public.portal_sessions (user_id, expires_at)
         values ($1, now() + interval '1 hour') returning id",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .expect("session");
    let mut good = supabase.clone();
    good["sid"] = serde_json::json!(sid);
    let session_ok = |claims: serde_json::Value| {
        let pool = pool.clone();
        async move {
            let mut tx = pool.begin().await.expect("tx");
            sqlx::query(
                "select set_config('request.jwt.claims', $1, true),
                        set_config('role', 'authenticated', true)",
            )
            .bind(claims.to_string())
            .execute(&mut *tx)
            .await
            .expect("claims");
            sqlx::query_scalar::<_, bool>("select public.caller_session_ok()")
                .fetch_one(&mut *tx)
                .await
                .expect("checked")
        }
    };
    assert!(session_ok(supabase.clone()).await);
    assert!(session_ok(good.clone()).await);
    let now = chrono::Utc::now().timestamp();
    for (field, fine) in [
        ("iat", serde_json::json!(now)),
        ("iat", serde_json::json!(now as f64 + 0.5)),
        ("sub", serde_json::json!(id.to_string().to_uppercase())),
        ("is_anonymous", serde_json::json!(false)),
    ] {
        let mut claims = good.clone();
        claims[field] = fine.clone();
        assert!(session_ok(claims).await, "{field}: {fine}");
    }
    // Another user's claims in the legacy singular setting: auth.uid() reads the plural
    // one, so the session checked must be that user's, and is not.
    let (_, staff) = user(&pool, "equipe@contmax.com.br").await;
    let mut tx = pool.begin().await.expect("tx");
    sqlx::query(
        "select set_config('request.jwt.claims', $1, true),
                set_config('request.jwt.claim', $2, true),
                set_config('role', 'authenticated', true)",
    )
    .bind(serde_json::to_value(&admin).expect("claims").to_string())
    .bind(serde_json::to_value(&staff).expect("claims").to_string())
    .execute(&mut *tx)
    .await
    .expect("claims");
    let mixed: bool = sqlx::query_scalar("select public.caller_session_ok()")
        .fetch_one(&mut *tx)
        .await
        .expect("checked");
    assert!(!mixed, "the session of a user the policies do not act as");
    drop(tx);
    for (field, bad) in [
        ("sub", serde_json::json!("nope")),
        ("sub", serde_json::json!(12)),
        ("sid", serde_json::json!("x")),
        ("sid", serde_json::json!(12)),
        ("sid", serde_json::json!(Uuid::new_v4())),
        ("iat", serde_json::json!("abc")),
        ("iat", serde_json::json!(-5)),
        ("iat", serde_json::json!("1e400")),
        ("iat", serde_json::json!("Infinity")),
        ("sid", serde_json::json!(format!("{{{sid}}}"))),
        ("is_anonymous", serde_json::json!(true)),
    ] {
        let mut claims = good.clone();
        claims[field] = bad.clone();
        assert!(!session_ok(claims).await, "{field}: {bad}");
    }
}

/// `has_role` answers about the caller to the caller (every policy asks it so), and about
/// another person only to the server and to a platform administrator: a tenant's admin or
/// member cannot learn through `/rpc/has_role` which accounts administer the platform.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn only_the_platform_asks_about_another_persons_role(pool: PgPool) {
    seeded(&pool).await;
    let (platform_id, platform) = user(&pool, "ti@contmax.com.br").await;
    let (admin_id, admin) = user(&pool, "admin@contmax.com.br").await;
    let (_, staff) = user(&pool, "equipe@pg.com.br").await;
    let ask = |claims: Claims, who: Uuid, role: &'static str| {
        let pool = pool.clone();
        async move {
            let mut tx = begin_as(&pool, &claims).await.expect("tx");
            sqlx::query_scalar::<_, bool>("select public.has_role($1, $2::public.app_role)")
                .bind(who)
                .bind(role)
                .fetch_one(&mut *tx)
                .await
                .expect("has_role")
        }
    };
    // About themselves: the truth.
    assert!(ask(platform.clone(), platform_id, "admin").await);
    assert!(!ask(admin.clone(), admin_id, "admin").await);
    // About the platform's administrator, asked by a tenant's admin and by another
    // tenant's member: nothing.
    assert!(!ask(admin.clone(), platform_id, "admin").await);
    assert!(!ask(staff.clone(), platform_id, "admin").await);
    // The platform's administrator and the server still may ask about anyone.
    let other_admin: bool = sqlx::query_scalar("select public.has_role($1, 'admin')")
        .bind(platform_id)
        .fetch_one(&pool)
        .await
        .expect("as the server");
    assert!(other_admin);
    // The server as it acts (role service_role in its transaction).
    let mut tx = backend::scope::begin_service(&pool).await.expect("service");
    let as_service: bool = sqlx::query_scalar("select public.has_role($1, 'admin')")
        .bind(platform_id)
        .fetch_one(&mut *tx)
        .await
        .expect("as service_role");
    assert!(as_service);
    drop(tx);
    let (pg_admin_id, _) = user(&pool, "admin@pg.com.br").await;
    assert!(!ask(platform, pg_admin_id, "admin").await);
    sqlx::query("insert into public.user_roles (user_id, role) values ($1, 'admin')")
        .bind(pg_admin_id)
        .execute(&pool)
        .await
        .expect("grant");
    let (_, platform) = user(&pool, "ti@contmax.com.br").await;
    assert!(ask(platform, pg_admin_id, "admin").await);
}
