//! Row-level security decides what a caller sees, with no `where` clause in the query.

mod common;

use backend::scope::begin_as;
use sqlx::PgPool;
use uuid::Uuid;

async fn seeded(pool: &PgPool) {
    backend::demo::seed_demo_users(pool)
        .await
        .expect("demo users");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_pg_staff_user_reads_only_pg_rows_and_cannot_write_for_contmax(pool: PgPool) {
    seeded(&pool).await;
    let pg = common::org_id(&pool, "pg").await;
    let contmax = common::org_id(&pool, "contmax").await;
    let claims = common::demo_claims(&pool, "equipe@pg.com.br").await;

    let mut tx = begin_as(&pool, &claims).await.unwrap();
    let tenants: Vec<Uuid> = sqlx::query_scalar("select tenant_id from tenant_integrations")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert!(!tenants.is_empty());
    assert!(tenants.iter().all(|t| *t == pg), "{tenants:?}");

    let logs: Vec<String> = sqlx::query_scalar("select tenant_id from integration_logs")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert!(!logs.is_empty());
    assert!(
        logs.iter().all(|t| *t == pg.to_string() || t == "pg"),
        "{logs:?}"
    );
    tx.commit().await.unwrap();

    // Writing for Contmax fails in the policy (SQLSTATE 42501), for the log and the config.
    for sql in [
        "insert into integration_logs (tenant_id, integration, status) values ($1::text, 'acessorias', 'success')",
        "insert into tenant_integrations (tenant_id, provider) values ($1, 'bomcontrole')",
    ] {
        let mut tx = begin_as(&pool, &claims).await.unwrap();
        let err = sqlx::query(sql)
            .bind(contmax)
            .execute(&mut *tx)
            .await
            .expect_err("refused by row-level security");
        let code = err.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some("42501"), "{err}");
    }

    // Nor for their own tenant: run history is the engine's to write (runs start through
    // claim_integration_run), so a member cannot fake it.
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    let err = sqlx::query("insert into integration_logs (tenant_id, integration, status) values ($1::text, 'acessorias', 'success')")
        .bind(pg)
        .execute(&mut *tx)
        .await
        .expect_err("no client writes run history");
    let code = err
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("42501"), "{err}");
    tx.rollback().await.unwrap();
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn staff_cannot_change_the_configuration_but_a_tenant_admin_can(pool: PgPool) {
    seeded(&pool).await;
    let update = "update tenant_integrations set is_enabled = false";
    let staff = common::demo_claims(&pool, "equipe@pg.com.br").await;
    let mut tx = begin_as(&pool, &staff).await.unwrap();
    let changed = sqlx::query(update)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 0, "staff updates nothing");
    tx.rollback().await.unwrap();

    let admin = common::demo_claims(&pool, "admin@pg.com.br").await;
    let mut tx = begin_as(&pool, &admin).await.unwrap();
    let changed = sqlx::query(update)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(
        changed, 1,
        "the P&G admin updates only P&G's one integration"
    );
    tx.rollback().await.unwrap();
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn without_the_application_tenant_filter_rls_still_returns_nothing(pool: PgPool) {
    seeded(&pool).await;
    let contmax = common::org_id(&pool, "contmax").await;
    let claims = common::demo_claims(&pool, "equipe@pg.com.br").await;
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    // The repository functions called with another tenant's id, inside the caller's transaction.
    let integrations = backend::integrations::list_for_tenant(&mut tx, contmax)
        .await
        .unwrap();
    assert!(integrations.is_empty(), "{integrations:?}");
    let modules = backend::portal::modules_for_tenant(&mut tx, contmax)
        .await
        .unwrap();
    assert!(
        modules.iter().all(|m| m.slug != "clientes-contmax"),
        "{modules:?}"
    );
    assert!(modules.iter().any(|m| m.slug == "integracoes"));
    tx.commit().await.unwrap();
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_contmax_staff_sees_the_old_log_written_with_the_tenant_slug(pool: PgPool) {
    seeded(&pool).await;
    let claims = common::demo_claims(&pool, "equipe@contmax.com.br").await;
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    let n: i64 =
        sqlx::query_scalar("select count(*) from integration_logs where tenant_id = 'contmax'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(n, 1);
    tx.commit().await.unwrap();
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_claims_do_not_outlive_their_transaction(pool: PgPool) {
    seeded(&pool).await;
    let claims = common::demo_claims(&pool, "equipe@pg.com.br").await;
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    let (role, uid): (String, Option<Uuid>) =
        sqlx::query_as("select current_user::text, auth.uid()")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(role, "authenticated");
    assert_eq!(uid, Some(claims.sub));
    tx.commit().await.unwrap();
    // The same pooled connection, after the transaction: back to the server's own role.
    let mut conn = pool.acquire().await.unwrap();
    let (role, uid): (String, Option<Uuid>) =
        sqlx::query_as("select current_user::text, auth.uid()")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_ne!(role, "authenticated");
    assert_eq!(uid, None);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn login_accepts_the_right_password_only(pool: PgPool) {
    seeded(&pool).await;
    let ok =
        backend::auth::authenticate(&pool, "Equipe@PG.com.br", backend::demo::DEMO_PASSWORD).await;
    assert!(ok.is_ok());
    for (email, password) in [
        ("equipe@pg.com.br", "errada"),
        ("ninguem@pg.com.br", "contmax123"),
        ("", ""),
    ] {
        let err = backend::auth::authenticate(&pool, email, password)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                backend::Error::Unauthenticated(_) | backend::Error::Invalid(_)
            ),
            "{err}"
        );
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_session_lists_the_users_tenants_and_honours_the_choice(pool: PgPool) {
    seeded(&pool).await;
    let socio = common::demo_claims(&pool, "socio@contmax.com.br").await;
    let s = backend::auth::session_user(&pool, &socio, None)
        .await
        .unwrap();
    let slugs: Vec<_> = s.tenants.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(slugs, ["contmax", "pg"]);
    assert_eq!(s.current_tenant.unwrap().slug, "contmax");
    let s = backend::auth::session_user(&pool, &socio, Some("pg"))
        .await
        .unwrap();
    assert_eq!(s.current_tenant.as_ref().unwrap().slug, "pg");
    assert_eq!(s.current_tenant.unwrap().role, "staff");

    // A tenant the user does not belong to is ignored.
    let staff = common::demo_claims(&pool, "equipe@pg.com.br").await;
    let s = backend::auth::session_user(&pool, &staff, Some("contmax"))
        .await
        .unwrap();
    assert_eq!(s.tenants.len(), 1);
    assert_eq!(s.current_tenant.unwrap().slug, "pg");

    // A platform administrator may act in every organization, but the session lists only
    // the default (the first by name) and the one chosen: the rest are searched for.
    let ti = common::demo_claims(&pool, "ti@contmax.com.br").await;
    let extra: Vec<String> = (1..=30).map(|i| format!("Cliente {i:02}")).collect();
    for nome in &extra {
        sqlx::query(
            "insert into organizacoes (nome, slug) values ($1, lower(replace($1, ' ', '-')))",
        )
        .bind(nome)
        .execute(&pool)
        .await
        .unwrap();
    }
    let s = backend::auth::session_user(&pool, &ti, None).await.unwrap();
    assert!(s.is_global_admin);
    let slugs: Vec<_> = s.tenants.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(slugs, ["cliente-01"], "the first by name, only");
    assert_eq!(s.current_tenant.unwrap().role, "admin");
    let s = backend::auth::session_user(&pool, &ti, Some("pg"))
        .await
        .unwrap();
    let slugs: Vec<_> = s.tenants.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(slugs, ["cliente-01", "pg"]);
    assert_eq!(s.current_tenant.unwrap().slug, "pg");
    // The chosen one is the default: listed once.
    let s = backend::auth::session_user(&pool, &ti, Some("cliente-01"))
        .await
        .unwrap();
    let slugs: Vec<_> = s.tenants.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(slugs, ["cliente-01"]);
    // One they belong to is listed with their role in it.
    sqlx::query(
        "insert into user_tenants (user_id, tenant_id, role)
         select $1, id, 'staff' from organizacoes where slug = 'cliente-17'",
    )
    .bind(ti.sub)
    .execute(&pool)
    .await
    .unwrap();
    let s = backend::auth::session_user(&pool, &ti, None).await.unwrap();
    let listed: Vec<_> = s
        .tenants
        .iter()
        .map(|t| (t.slug.as_str(), t.role.as_str()))
        .collect();
    assert_eq!(listed, [("cliente-01", "admin"), ("cliente-17", "staff")]);
    // Chosen, it keeps their role in it.
    let s = backend::auth::session_user(&pool, &ti, Some("cliente-17"))
        .await
        .unwrap();
    assert_eq!(s.tenants.len(), 2);
    assert_eq!(s.current_tenant.unwrap().role, "staff");
}

/// The header's search finds, by name or slug and ignoring case, only organizations the
/// caller may act in: every one for a platform administrator, their own for the rest.
/// What is typed is text, never a pattern.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_tenant_search_finds_only_the_callers_organizations(pool: PgPool) {
    seeded(&pool).await;
    async fn search(pool: &PgPool, email: &str, query: &str) -> Vec<String> {
        let claims = common::demo_claims(pool, email).await;
        let mut tx = begin_as(pool, &claims).await.unwrap();
        let found = backend::tenants::search(&mut tx, query).await.unwrap();
        found.into_iter().map(|t| t.slug).collect()
    }
    async fn resolve(pool: &PgPool, email: &str, text: &str) -> Option<String> {
        let claims = common::demo_claims(pool, email).await;
        let mut tx = begin_as(pool, &claims).await.unwrap();
        let found = backend::tenants::resolve(&mut tx, text).await.unwrap();
        found.map(|t| t.slug)
    }
    let ti = "ti@contmax.com.br";
    assert_eq!(search(&pool, ti, "CONT").await, ["contmax"]);
    assert_eq!(search(&pool, ti, "p&g").await, ["pg"]);
    assert!(search(&pool, ti, "%").await.is_empty(), "a pattern");
    assert!(search(&pool, ti, "_").await.is_empty(), "a pattern");
    assert!(search(&pool, ti, "  ").await.is_empty());
    assert!(
        search(&pool, ti, "p&g\0").await.is_empty(),
        "a NUL: nothing, not an error"
    );
    assert_eq!(resolve(&pool, ti, "pg\0").await, None);
    // P&G's staff: Contmax is not theirs.
    assert!(search(&pool, "equipe@pg.com.br", "contmax")
        .await
        .is_empty());
    assert_eq!(search(&pool, "equipe@pg.com.br", "g").await, ["pg"]);

    // By slug, or by a whole name that only one of theirs has.
    assert_eq!(resolve(&pool, ti, "pg").await.as_deref(), Some("pg"));
    assert_eq!(resolve(&pool, ti, "PG").await.as_deref(), Some("pg"));
    assert_eq!(resolve(&pool, ti, " p&G ").await.as_deref(), Some("pg"));
    assert_eq!(resolve(&pool, ti, "P&").await, None, "a part of a name");
    assert_eq!(resolve(&pool, "equipe@pg.com.br", "contmax").await, None);
    sqlx::query("insert into organizacoes (nome, slug) values ('P&G', 'pg-2')")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(resolve(&pool, ti, "P&G").await, None, "two of that name");
    assert_eq!(resolve(&pool, ti, "pg-2").await.as_deref(), Some("pg-2"));
    // An exact slug comes first, then an exact name, then by name.
    sqlx::query(
        "insert into organizacoes (nome, slug) values ('Alpha PG', 'alpha'), ('pg', 'beta')",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        search(&pool, ti, "pg").await,
        ["pg", "beta", "alpha", "pg-2"]
    );
    // A text longer than 100 characters is not searched, even one a name holds.
    let long = "p".repeat(backend::tenants::QUERY_MAX + 1);
    sqlx::query("insert into organizacoes (nome, slug) values ($1, 'longa')")
        .bind(&long)
        .execute(&pool)
        .await
        .unwrap();
    assert!(search(&pool, ti, &long).await.is_empty());
    assert_eq!(search(&pool, ti, &long[1..]).await, ["longa"]);

    // Signed out everywhere, a platform administrator finds nothing, nor does the staff.
    for email in [ti, "equipe@pg.com.br"] {
        assert!(!search(&pool, email, "p").await.is_empty(), "{email}");
        let claims = common::demo_claims(&pool, email).await;
        backend::auth::end_all_sessions(&pool, claims.sub)
            .await
            .unwrap();
        assert!(
            search(&pool, email, "p").await.is_empty(),
            "{email}, signed out"
        );
    }
}

/// Whether one organization is among a caller's tenants, their admin tenants, and (by its
/// id and by `slug`) the keys the log's policy accepts.
async fn seen_as(
    pool: &PgPool,
    claims: &backend::scope::Claims,
    org: Uuid,
    slug: &str,
) -> (bool, bool, bool, bool) {
    let mut tx = begin_as(pool, claims).await.unwrap();
    let seen = sqlx::query_as(
        "select $1 = any(public.member_tenant_ids()), $1 = any(public.admin_tenant_ids()),
                $1::text = any(public.member_tenant_keys()), $2 = any(public.member_tenant_keys())",
    )
    .bind(org)
    .bind(slug)
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    seen
}

/// A platform administrator's tenants are every organization, kept in one row by a trigger
/// on `organizacoes` (0030): one created, renamed or removed is seen so at once, by its id
/// and by its slug (the old log's key), while a tenant's staff still sees none of it; and
/// `authenticated` can neither read that row nor write it.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_platform_admin_sees_organizations_as_they_are_created_renamed_and_removed(pool: PgPool) {
    seeded(&pool).await;
    let admin = common::demo_claims(&pool, "ti@contmax.com.br").await;
    let staff = common::demo_claims(&pool, "equipe@contmax.com.br").await;
    let org: Uuid = sqlx::query_scalar(
        "insert into public.organizacoes (nome, slug) values ('Nova', 'nova') returning id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        seen_as(&pool, &admin, org, "nova").await,
        (true, true, true, true)
    );
    assert_eq!(
        seen_as(&pool, &staff, org, "nova").await,
        (false, false, false, false)
    );

    // Renamed: the old slug is no longer any organization's key; the new one is.
    sqlx::query("update public.organizacoes set slug = 'nova-2' where id = $1")
        .bind(org)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        seen_as(&pool, &admin, org, "nova").await,
        (true, true, true, false)
    );
    assert_eq!(
        seen_as(&pool, &admin, org, "nova-2").await,
        (true, true, true, true)
    );

    // Removed: nothing of it is anyone's any more.
    sqlx::query("delete from public.organizacoes where id = $1")
        .bind(org)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        seen_as(&pool, &admin, org, "nova-2").await,
        (false, false, false, false)
    );

    // Written by a platform administrator as themselves (as through PostgREST): the
    // trigger runs for them though they may not call its function.
    let mut tx = begin_as(&pool, &admin).await.unwrap();
    let theirs: Uuid = sqlx::query_scalar(
        "insert into public.organizacoes (nome, slug) values ('Deles', 'deles') returning id",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        seen_as(&pool, &admin, theirs, "deles").await,
        (true, true, true, true)
    );
    // And the row is the table, whatever the order of the steps above.
    let (ids, keys): (bool, bool) = sqlx::query_as(
        "select (select array_agg(x order by x) from unnest(c.ids) x)
                  = (select array_agg(o.id order by o.id) from public.organizacoes o),
                (select array_agg(x order by x) from unnest(c.keys) x)
                  = (select array_agg(k order by k) from public.organizacoes o,
                            lateral (values (o.id::text), (o.slug)) v(k))
         from public.tenant_key_cache c",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(ids && keys, "the cached lists differ from organizacoes");

    // The row is the server's: a signed-in user can neither read it nor rebuild it.
    for sql in [
        "select count(*) from public.tenant_key_cache",
        "select public.refresh_tenant_key_cache()::text",
        "update public.tenant_key_cache set keys = '{}'",
    ] {
        let mut tx = begin_as(&pool, &admin).await.unwrap();
        let err = sqlx::query(sql).execute(&mut *tx).await.unwrap_err();
        assert!(
            err.to_string().contains("permission denied"),
            "{sql}: {err}"
        );
    }
}

/// Two transactions adding organizations at once (read committed, as PostgREST's): the
/// second's refresh waits for the first's lock and then sees both, so neither organization
/// is missing from a platform administrator's list.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn organizations_added_at_once_are_both_in_a_platform_admins_list(pool: PgPool) {
    seeded(&pool).await;
    let admin = common::demo_claims(&pool, "ti@contmax.com.br").await;
    let add = "insert into public.organizacoes (nome, slug) values ($1, $1) returning id";
    let mut first = pool.begin().await.unwrap();
    let a: Uuid = sqlx::query_scalar(add)
        .bind("primeira")
        .fetch_one(&mut *first)
        .await
        .unwrap();
    // The second, in its own connection, until its trigger waits for the first's lock.
    let second = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut tx = pool.begin().await.unwrap();
            let b: Uuid = sqlx::query_scalar(add)
                .bind("segunda")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            b
        })
    };
    // (Were there no lock, it would end by itself, and the list would miss one of them.)
    while !second.is_finished() {
        let waiting: bool = sqlx::query_scalar(
            "select exists (select 1 from pg_stat_activity
                            where datname = current_database() and wait_event_type = 'Lock'
                              and query like 'insert into public.organizacoes%')",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if waiting {
            break;
        }
        // Polled, not timed: the loop ends on what it sees, this only spaces the looks.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    first.commit().await.unwrap();
    let b = second.await.unwrap();
    assert_eq!(
        seen_as(&pool, &admin, a, "primeira").await,
        (true, true, true, true)
    );
    assert_eq!(
        seen_as(&pool, &admin, b, "segunda").await,
        (true, true, true, true)
    );
}

/// A signed-in user's statement on `organizacoes` that changes no row (the policies let a
/// tenant's staff change none) neither takes the list's lock nor rebuilds it: otherwise
/// anyone could queue the platform administrators' writes behind theirs (0031). Nor does
/// a platform administrator's rename that keeps every id and slug.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_statement_changing_no_organization_takes_no_lock(pool: PgPool) {
    seeded(&pool).await;
    let staff = common::demo_claims(&pool, "equipe@contmax.com.br").await;
    let mut tx = begin_as(&pool, &staff).await.unwrap();
    for sql in [
        "update public.organizacoes set slug = slug where false",
        "delete from public.organizacoes where slug = 'contmax'",
    ] {
        let done = sqlx::query(sql).execute(&mut *tx).await.unwrap();
        assert_eq!(done.rows_affected(), 0, "{sql}");
    }
    assert_eq!(cache_locks(&mut tx).await, 0, "staff");
    tx.rollback().await.unwrap();

    let admin = common::demo_claims(&pool, "ti@contmax.com.br").await;
    let mut tx = begin_as(&pool, &admin).await.unwrap();
    let renamed = sqlx::query("update public.organizacoes set nome = nome || ' (renomeada)'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert!(renamed.rows_affected() > 0);
    // 0031's update trigger fires for every update (a transition table allows no column
    // list): one that keeps every id and slug returns before the lock.
    assert_eq!(cache_locks(&mut tx).await, 0, "a new name only");
    // A new slug does: the list is rebuilt in the same transaction.
    sqlx::query("update public.organizacoes set slug = 'contmax-nova' where slug = 'contmax'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert!(cache_locks(&mut tx).await > 0, "a new slug");
    let keys: (bool, bool) = sqlx::query_as(
        "select 'contmax-nova' = any(public.member_tenant_keys()),
                'contmax' = any(public.member_tenant_keys())",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    assert_eq!(keys, (true, false), "the list has the new slug only");
    tx.rollback().await.unwrap();
}

/// Locks this connection holds on 0030's list.
async fn cache_locks(tx: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar(
        "select count(*) from pg_locks
         where relation = 'public.tenant_key_cache'::regclass and pid = pg_backend_pid()",
    )
    .fetch_one(tx)
    .await
    .unwrap()
}
