//! Our migrations on the customer's real database shape (BASELINE.md), and on an empty one.

mod common;

use std::collections::BTreeSet;

use sqlx::postgres::PgConnectOptions;
use sqlx::{PgPool, Row};
use uuid::Uuid;

const CUSTOMER_DB: &str = include_str!("fixtures/customer_supabase.sql");

async fn ids(pool: &PgPool, table: &str) -> BTreeSet<Uuid> {
    sqlx::query_scalar(&format!("select id from public.{table}"))
        .fetch_all(pool)
        .await
        .expect("ids")
        .into_iter()
        .collect()
}

const OLD_TABLES: &[&str] = &[
    "organizacoes",
    "profiles",
    "user_roles",
    "user_tenants",
    "modules",
    "user_modules",
    "tenant_integrations",
    "integration_logs",
    "empresas",
];

#[sqlx::test(migrations = false)]
async fn the_customer_database_upgrades_without_losing_or_hiding_a_row(pool: PgPool) {
    sqlx::raw_sql(CUSTOMER_DB)
        .execute(&pool)
        .await
        .expect("customer fixture");
    let mut before = Vec::new();
    for t in OLD_TABLES {
        before.push(ids(&pool, t).await);
    }

    backend::db::migrate(&pool)
        .await
        .expect("migrations apply to the customer's database");

    // Every old row is still there; the baseline added no demo data to a live database
    // (only the new `integracoes` module row is new).
    for (t, old) in OLD_TABLES.iter().zip(&before) {
        let now = ids(&pool, t).await;
        assert!(old.is_subset(&now), "{t}: old rows lost");
        let added = now.len() - old.len();
        let expected = usize::from(*t == "modules");
        assert_eq!(added, expected, "{t}: unexpected new rows");
    }

    // provider_id and provider_slug are filled, onecode-contacts maps to onecode.
    let missing: i64 =
        sqlx::query_scalar("select count(*) from tenant_integrations where provider_id is null")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(missing, 0);
    let slugs: Vec<(String, Option<String>)> = sqlx::query_as(
        "select distinct integration, provider_slug from integration_logs order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        slugs,
        vec![
            ("acessorias".into(), Some("acessorias".into())),
            ("bomcontrole".into(), Some("bomcontrole".into())),
            ("onecode-contacts".into(), Some("onecode".into())),
        ]
    );

    // The previous portal's run left running is ended once, as interrupted (not retried:
    // nothing is queued for it).
    let legacy: Vec<(String, Option<String>, bool)> = sqlx::query_as(
        "select status, error_message, finished_at is not null from integration_logs
         where tenant_id = '00000000-0000-4000-a000-000000000001' and integration = 'acessorias'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        legacy,
        vec![(
            "error".to_owned(),
            Some("interrompida (portal anterior)".to_owned()),
            true
        )]
    );

    // Each card's last sync (0017's pointer) is its newest finished run of the old log, the
    // rows written with the tenant's slug included.
    let (pointed, wrong): (i64, i64) = sqlx::query_as(
        "select count(ti.last_sync_log_id),
                count(*) filter (where ti.last_sync_log_id is distinct from (
                  select l.id from integration_logs l
                  join organizacoes o on o.id = ti.tenant_id
                  where l.tenant_id in (o.id::text, o.slug) and l.provider_slug = p.slug
                    and l.status in ('success', 'partial') and l.trigger <> 'webhook'
                  order by l.created_at desc, l.id desc limit 1))
         from tenant_integrations ti join integration_providers p on p.id = ti.provider_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(pointed > 0, "some cards point at their last sync");
    assert_eq!(wrong, 0, "every pointer is the newest finished run");

    // Each card's last run (0029) is its newest settled sync of the old log, not "never
    // run": its time, its status and its error. (Webhook batches and a card the engine
    // already wrote: backend/tests/vault.rs, `an_integration_added_later_…`.)
    let (with_run, wrong): (i64, i64) = sqlx::query_as(
        "select count(ti.last_run),
                count(*) filter (where (ti.last_run, ti.last_status, ti.last_error)
                                       is distinct from (
                  select (l.created_at, l.status, left(l.error_message, 2000))
                  from integration_logs l
                  join organizacoes o on o.id = ti.tenant_id
                  where l.tenant_id in (o.id::text, o.slug) and l.provider_slug = p.slug
                    and l.status in ('success', 'partial', 'error', 'cancelled')
                    and l.trigger is distinct from 'webhook'
                  order by l.created_at desc, l.id desc limit 1)
                  and exists (select 1 from integration_logs l
                              join organizacoes o on o.id = ti.tenant_id
                              where l.tenant_id in (o.id::text, o.slug)
                                and l.provider_slug = p.slug))
         from tenant_integrations ti join integration_providers p on p.id = ti.provider_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        with_run > 0,
        "the cards with an old history have a last run"
    );
    assert_eq!(
        wrong, 0,
        "every last run is the newest settled one of the log"
    );
    // The first tenant's last run was still "running" in the old log: interrupted (0015),
    // and so its card says.
    let failed: (Option<String>, Option<String>) = sqlx::query_as(
        "select last_status, last_error from tenant_integrations
         where tenant_id = '00000000-0000-4000-a000-000000000001' and provider = 'acessorias'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        failed,
        (
            Some("error".to_owned()),
            Some("interrompida (portal anterior)".to_owned())
        )
    );

    // execution_id has a default, and old rows each got their own.
    let (n, distinct): (i64, i64) =
        sqlx::query_as("select count(*), count(distinct execution_id) from integration_logs")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(n, distinct);
    let row = sqlx::query(
        "insert into integration_logs (tenant_id, integration, status) values ('x', 'acessorias', 'success') returning execution_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(row.get::<Option<Uuid>, _>("execution_id").is_some());

    // (tenant_id, provider_id) is unique.
    let dup = sqlx::query(
        "insert into tenant_integrations (tenant_id, provider, provider_id)
         select tenant_id, 'acessorias-2', provider_id from tenant_integrations limit 1",
    )
    .execute(&pool)
    .await;
    let err = dup.expect_err("a second row for the same tenant and provider is refused");
    // By the guard (the text names no provider of that id) before the unique index.
    assert!(
        err.to_string().contains("provider_mismatch")
            || err
                .to_string()
                .contains("tenant_integrations_tenant_id_provider_id_key"),
        "{err}"
    );

    // Old rows are visible to the right tenant, including the one written with a slug.
    let ana = common::claims_for(
        "00000000-0000-4000-b000-000000000001".parse().unwrap(),
        "ana@contmax.com.br",
    );
    let mut tx = backend::scope::begin_as(&pool, &ana).await.unwrap();
    let seen: Vec<String> =
        sqlx::query_scalar("select tenant_id from integration_logs order by created_at")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(seen.len(), 4, "Contmax's four old logs: {seen:?}");
    assert!(
        seen.contains(&"contmax".to_owned()),
        "the slug-tenant row is Contmax's"
    );
    assert!(seen
        .iter()
        .all(|t| t == "contmax" || t == "00000000-0000-4000-a000-000000000002"));

    let paulo = common::claims_for(
        "00000000-0000-4000-b000-000000000002".parse().unwrap(),
        "paulo@pg.com.br",
    );
    let mut tx = backend::scope::begin_as(&pool, &paulo).await.unwrap();
    let seen: Vec<String> = sqlx::query_scalar("select tenant_id from integration_logs")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen
        .iter()
        .all(|t| t == "00000000-0000-4000-a000-000000000001"));
    let empresas: i64 = sqlx::query_scalar("select count(*) from empresas")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(empresas, 1);
    tx.commit().await.unwrap();
}

/// Columns, constraints and indexes of the public schema, as comparable text.
async fn schema_signature(pool: &PgPool) -> Vec<String> {
    let mut sig: Vec<String> = sqlx::query_scalar(
        "select format('column %s.%s %s %s default=%s', table_name, column_name, udt_name, is_nullable, column_default)
         from information_schema.columns where table_schema = 'public'
         union all
         select format('constraint %s %s', conrelid::regclass::text, pg_get_constraintdef(oid))
         from pg_constraint where connamespace = 'public'::regnamespace
         union all
         select format('index %s', indexdef) from pg_indexes where schemaname = 'public'
         union all
         select format('rls %s %s', relname, relrowsecurity) from pg_class
         where relnamespace = 'public'::regnamespace and relkind = 'r'",
    )
    .fetch_all(pool)
    .await
    .expect("schema signature");
    sig.sort();
    sig
}

#[sqlx::test(migrations = false)]
async fn an_empty_database_gets_the_same_schema_as_the_upgraded_customer_one(pool: PgPool) {
    sqlx::raw_sql(CUSTOMER_DB)
        .execute(&pool)
        .await
        .expect("customer fixture");
    backend::db::migrate(&pool).await.expect("migrate customer");

    // A second, empty database on the same server.
    let name = format!("portal_empty_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("create database {name}"))
        .execute(&pool)
        .await
        .unwrap();
    let options: PgConnectOptions = (*pool.connect_options()).clone().database(&name);
    let empty = PgPool::connect_with(options).await.unwrap();
    backend::db::migrate(&empty).await.expect("migrate empty");

    let a = schema_signature(&pool).await;
    let b = schema_signature(&empty).await;
    empty.close().await;
    sqlx::query(&format!("drop database {name} with (force)"))
        .execute(&pool)
        .await
        .unwrap();

    let only_a: Vec<_> = a.iter().filter(|x| !b.contains(x)).collect();
    let only_b: Vec<_> = b.iter().filter(|x| !a.contains(x)).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "customer only: {only_a:#?}\nempty only: {only_b:#?}"
    );
    assert!(a
        .iter()
        .any(|s| s.starts_with("column integration_providers.config_schema")));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_fresh_install_has_the_old_data_and_the_module(pool: PgPool) {
    let orgs: Vec<String> = sqlx::query_scalar("select slug from organizacoes order by slug")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(orgs, ["contmax", "pg"]);
    let configured: i64 = sqlx::query_scalar(
        "select count(*) from tenant_integrations ti join integration_providers p on p.id = ti.provider_id where p.slug = 'acessorias'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(configured, 2);
    let slug_rows: i64 =
        sqlx::query_scalar("select count(*) from integration_logs where tenant_id = 'contmax'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(slug_rows, 1);
    let (icone, nome): (String, String) =
        sqlx::query_as("select icone, nome from modules where slug = 'integracoes'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((icone.as_str(), nome.as_str()), ("Settings", "Integrações"));
    let providers: Vec<(String, String)> =
        sqlx::query_as("select slug, category from integration_providers order by slug")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        providers,
        vec![
            ("acessorias".into(), "fiscal".into()),
            ("bomcontrole".into(), "financeiro".into()),
            ("onecode".into(), "messaging".into()),
        ]
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn every_table_has_row_level_security(pool: PgPool) {
    let without: Vec<String> = sqlx::query_scalar(
        "select n.nspname || '.' || c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind = 'r' and n.nspname in ('public', 'auth') and not c.relrowsecurity",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(without.is_empty(), "tables without RLS: {without:?}");
}

/// On the customer's Supabase database (default privileges that give client roles all of
/// every new object), no client role gets the vault, the audit sequence, write access to the
/// audit trail, or the security-definer helpers meant for triggers and the server.
#[sqlx::test(migrations = false)]
async fn supabase_default_privileges_do_not_open_the_vault_or_the_audit(pool: PgPool) {
    sqlx::raw_sql(CUSTOMER_DB)
        .execute(&pool)
        .await
        .expect("customer fixture");
    backend::db::migrate(&pool).await.expect("migrations");
    let granted = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            let v: bool = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
            v
        }
    };
    for role in ["anon", "authenticated"] {
        for privilege in [
            "select",
            "insert",
            "update",
            "delete",
            "truncate",
            "references",
        ] {
            let sql = format!(
                "select has_table_privilege('{role}', 'public.integration_secrets', '{privilege}')"
            );
            let v: bool = sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap();
            assert!(!v, "{role} has {privilege} on the vault");
        }
        for privilege in ["insert", "update", "delete", "truncate"] {
            let sql = format!(
                "select has_table_privilege('{role}', 'public.integration_audit', '{privilege}')"
            );
            let v: bool = sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap();
            assert!(!v, "{role} has {privilege} on the audit trail");
        }
        for privilege in ["usage", "update"] {
            let sql = format!(
                "select has_sequence_privilege('{role}', 'public.integration_audit_id_seq', '{privilege}')"
            );
            let v: bool = sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap();
            assert!(!v, "{role} has {privilege} on the audit sequence");
        }
        for function in [
            "public.audit_actor_row()",
            "public.audit_tenant_integration_change()",
            "public.audit_run_requested()",
            "public.audit_member_role_change()",
            "public.integration_audit_append_only()",
            "public.integration_audit_retention_only()",
        ] {
            let sql = format!("select has_function_privilege('{role}', '{function}', 'execute')");
            let v: bool = sqlx::query_scalar(&sql).fetch_one(&pool).await.unwrap();
            assert!(!v, "{role} may execute {function}");
        }
    }
    assert!(
        !granted("select has_function_privilege('anon', 'public.admin_tenant_ids()', 'execute')")
            .await
    );
    assert!(
        granted(
            "select has_table_privilege('authenticated', 'public.integration_audit', 'select')"
        )
        .await,
        "admins read the trail through RLS"
    );
}
