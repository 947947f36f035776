//! The Acessórias connector against its sandbox: real HTTP, a real database, the real
//! vault. Each test builds the run's context the way the engine does (inputs from the
//! vault) and runs the provider; every assertion reads the rows the sync wrote.

mod common;

use std::net::SocketAddr;

use backend::providers::acessorias::sandbox::{self, Options, Sandbox};
use backend::providers::acessorias::{Acessorias, SLUG, TOKEN_FIELD};
use backend::providers::common::faults::Faults;
use backend::providers::{Outcome, Provider, ProviderError};
use backend::scope::{begin_as, begin_service};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

struct Rig {
    c: common::ConnectorRig,
    sandbox: Sandbox,
}

impl std::ops::Deref for Rig {
    type Target = common::ConnectorRig;
    fn deref(&self) -> &Self::Target {
        &self.c
    }
}

async fn rig(test_pool: PgPool, opts: Options, settings: serde_json::Value) -> Rig {
    let sandbox = Sandbox::new(opts);
    let addr: SocketAddr = sandbox::spawn(sandbox.clone(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("sandbox");
    let c = common::ConnectorRig::new(
        test_pool,
        SLUG,
        TOKEN_FIELD,
        &format!("http://{addr}"),
        settings,
    )
    .await;
    Rig { c, sandbox }
}

impl Rig {
    /// The companies pass of a new execution, alone (attempt 1, deliveries off): a retry
    /// of that execution then goes straight to the deliveries.
    async fn companies_pass_alone(&self) -> Uuid {
        let execution = Uuid::new_v4();
        let mut ctx = self.ctx(execution, 1).await;
        ctx.config["sync_entregas"] = json!(false);
        Acessorias.run(ctx).await.expect("companies pass");
        execution
    }

    async fn run(&self) -> Result<Outcome, ProviderError> {
        Acessorias.run(self.ctx(Uuid::new_v4(), 1).await).await
    }

    async fn faults(&self, f: Faults) {
        self.sandbox.switches.set(f);
    }

    async fn companies(&self) -> i64 {
        self.count("select count(*) from public.empresas where organizacao_id = $1 and external_source = 'acessorias'")
            .await
    }

    async fn closed(&self) -> i64 {
        self.count("select count(*) from public.empresas where organizacao_id = $1 and external_source = 'acessorias' and coalesce(data_baixa, '') <> ''")
            .await
    }

    async fn deliveries(&self) -> i64 {
        self.count("select count(*) from public.acessorias_entregas where tenant_id = $1")
            .await
    }
}

fn companies_only(n: usize) -> Options {
    Options {
        companies: n,
        deliveries_per_company: 0,
        ..Options::default()
    }
}

fn no_deliveries() -> serde_json::Value {
    json!({"sync_entregas": false})
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn ten_thousand_companies_then_nothing_then_exactly_what_changed(pool: PgPool) {
    let r = rig(pool, companies_only(10_000), no_deliveries()).await;
    let first = r.run().await.expect("first sync");
    let stats = r.sandbox.stats();
    assert_eq!(first.processed as usize, stats.companies);
    assert_eq!(first.created as usize, stats.with_document);
    assert_eq!(
        (first.updated, first.unchanged, first.review, first.failed),
        (0, 0, 0, 0)
    );
    assert_eq!(r.companies().await, 10_000);
    // Formatted CNPJ in `cnpj`, digits in `external_key`, a payload and its hash.
    let bad: i64 = r
        .count("select count(*) from public.empresas where organizacao_id = $1 and (external_key !~ '^[0-9]{11}([0-9]{3})?$' or regexp_replace(cnpj, '\\D', '', 'g') <> external_key or hash_payload is null or raw_payload is null)")
        .await;
    assert_eq!(bad, 0);

    let second = r.run().await.expect("second sync");
    assert_eq!((second.created, second.updated), (0, 0));
    assert_eq!(second.unchanged, 10_000);

    let changed = r.sandbox.change(10);
    assert_eq!(changed.len(), 10);
    let third = r.run().await.expect("third sync");
    assert_eq!(
        (third.created, third.updated, third.unchanged),
        (0, 10, 9_990)
    );
    let touched: i64 = sqlx::query_scalar(
        "select count(*) from public.empresas where organizacao_id = $1 and external_key = any($2) and synced_at > now() - interval '1 minute' and updated_at > created_at",
    )
    .bind(r.tenant)
    .bind(&changed)
    .fetch_one(&r.pool)
    .await
    .expect("changed rows");
    assert_eq!(touched, 10);

    assert_eq!(r.closed().await, 0);
    r.sandbox.close(3);
    let fourth = r.run().await.expect("fourth sync");
    assert_eq!((fourth.created, fourth.updated), (0, 3));
    assert_eq!(r.closed().await, 3);
    assert_eq!(r.companies().await, 10_000);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_run_that_dies_at_page_50_resumes_there_and_leaves_every_company_once(pool: PgPool) {
    let r = rig(pool, companies_only(10_000), no_deliveries()).await;
    r.faults(Faults {
        fail_from_page: Some(50),
        ..Faults::default()
    })
    .await;
    let execution = Uuid::new_v4();
    let mut ctx = r.ctx(execution, 1).await;
    // Retries of one call are quick here; the outage outlasts them.
    ctx.config["requisicoes_por_minuto"] = json!(6000);
    let died = Acessorias.run(ctx).await;
    assert!(matches!(died, Err(ProviderError::Transient(_))), "{died:?}");
    // Pages 1..=49 were committed, each with its checkpoint.
    assert_eq!(r.companies().await, 49 * 20);

    r.faults(Faults::default()).await;
    let before = r.sandbox.stats().requests;
    let retried = Acessorias
        .run(r.ctx(execution, 2).await)
        .await
        .expect("the retry finishes");
    // The retry asked from page 50 on: 452 pages (50..=500, and the empty one after).
    let asked = r.sandbox.stats().requests - before;
    assert!(asked < 460, "the retry started over: {asked} requests");
    assert_eq!(retried.processed, 10_000, "the execution's totals");
    assert_eq!(retried.created, 10_000);
    assert_eq!(r.companies().await, 10_000);
    let duplicates: i64 = r
        .count("select count(*) from (select external_key from public.empresas where organizacao_id = $1 group by 1 having count(*) > 1) d")
        .await;
    assert_eq!(duplicates, 0);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn every_fault_in_turn_still_ends_with_every_company(pool: PgPool) {
    // 45 companies: two full pages and a short one.
    let r = rig(pool, companies_only(45), no_deliveries()).await;
    let survivable = common::survivable_faults();
    for (what, faults) in survivable {
        sqlx::query("delete from public.empresas where organizacao_id = $1")
            .bind(r.tenant)
            .execute(&r.pool)
            .await
            .expect("clean");
        r.faults(faults).await;
        let out = r.run().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!((out.processed, out.created), (45, 45), "{what}");
        assert_eq!(r.companies().await, 45, "{what}");
        let left = r.sandbox.switches.get();
        assert_eq!(
            (
                left.rate_limit,
                left.server_error,
                left.garbage,
                left.hang,
                left.empty
            ),
            (0, 0, 0, 0, 0),
            "{what}: the fault was met"
        );
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn errors_that_must_not_be_retried_end_the_run_with_their_reason_and_no_rows(pool: PgPool) {
    let r = rig(pool, companies_only(45), no_deliveries()).await;
    r.faults(Faults {
        error_200: 1,
        ..Faults::default()
    })
    .await;
    match r.run().await {
        Err(ProviderError::Permanent(m)) => assert!(m.contains("inexistente"), "{m}"),
        other => panic!("an Erro with HTTP 200 is an error: {other:?}"),
    }
    assert_eq!(r.companies().await, 0);

    r.faults(Faults {
        refuse_token: true,
        ..Faults::default()
    })
    .await;
    assert!(matches!(r.run().await, Err(ProviderError::Auth(_))));
    assert_eq!(r.companies().await, 0);

    // After the faults, the same integration syncs.
    r.faults(Faults::default()).await;
    assert_eq!(r.run().await.expect("sync").created, 45);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn companies_without_a_document_go_to_review_and_typed_ones_are_adopted(pool: PgPool) {
    let opts = Options {
        companies: 30,
        without_document: 2,
        closed_every: 10,
        deliveries_per_company: 0,
        ..Options::default()
    };
    let r = rig(pool, opts, no_deliveries()).await;
    // A person typed company 0 before any sync, with its formatted CNPJ.
    let typed = r.sandbox.document(0);
    sqlx::query("insert into public.empresas (nome, cnpj, organizacao_id) values ('Digitada à mão', $2, $1)")
        .bind(r.tenant)
        .bind(backend::providers::common::documents::format_document(&typed))
        .execute(&r.pool)
        .await
        .expect("typed company");
    let out = r.run().await.expect("sync");
    assert_eq!(out.processed, 30);
    assert_eq!(out.review, 2);
    assert_eq!((out.created, out.updated), (27, 1));
    let all: i64 = r
        .count("select count(*) from public.empresas where organizacao_id = $1")
        .await;
    assert_eq!(all, 28, "the typed company was adopted, not duplicated");
    assert_eq!(r.companies().await, 28);
    // Every tenth is closed in the sandbox: indexes 9, 19, 29 (29 has no document).
    assert_eq!(r.closed().await, 2);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn deliveries_land_in_their_table_and_later_runs_ask_only_for_changes(pool: PgPool) {
    for as_array in [false, true] {
        let opts = Options {
            companies: 25,
            deliveries_per_company: 3,
            closed_every: 5,
            deliveries_as_array: as_array,
            ..Options::default()
        };
        let r = rig(pool.clone(), opts, json!({})).await;
        sqlx::query("delete from public.acessorias_entregas")
            .execute(&r.pool)
            .await
            .expect("clean");
        sqlx::query("delete from public.empresas")
            .execute(&r.pool)
            .await
            .expect("clean");
        sqlx::query("delete from public.integration_sync_state")
            .execute(&r.pool)
            .await
            .expect("clean");
        let first = r.run().await.expect("first sync");
        // 5 closed companies: their deliveries are not asked for.
        let open = 20;
        assert_eq!(first.created, 25);
        assert_eq!(r.deliveries().await, open * 3, "as array: {as_array}");
        assert_eq!(first.response["entregas"]["created"], json!(open * 3));
        // Each delivery points at its company; this month's deadlines are one query away.
        let orphans: i64 = r
            .count("select count(*) from public.acessorias_entregas a left join public.empresas e on e.id = a.empresa_id where a.tenant_id = $1 and (e.id is null or e.external_key <> a.cnpj)")
            .await;
        assert_eq!(orphans, 0);
        let this_month: i64 = r
            .count("select count(*) from public.acessorias_entregas where tenant_id = $1 and prazo >= date_trunc('month', (now() at time zone 'America/Sao_Paulo')::date) and prazo < date_trunc('month', (now() at time zone 'America/Sao_Paulo')::date) + interval '1 month'")
            .await;
        assert_eq!(
            this_month, open,
            "one delivery per open company falls due this month"
        );

        let second = r.run().await.expect("second sync");
        assert_eq!(
            second.response["entregas"]["processed"],
            json!(0),
            "nothing changed since the cursor"
        );
        r.sandbox.change_deliveries(4);
        let third = r.run().await.expect("third sync");
        // Companies 0..=3 changed (all open: every fifth, from index 4, is closed): 4 × 3.
        assert_eq!(third.response["entregas"]["updated"], json!(12));
        assert_eq!(
            third.response["entregas"]["processed"],
            json!(12),
            "only what changed was asked"
        );
        assert_eq!(third.response["entregas"]["created"], json!(0));
        assert_eq!(r.deliveries().await, open * 3);
        let delivered: i64 = r
            .count("select count(*) from public.acessorias_entregas where tenant_id = $1 and status = 'Entregue'")
            .await;
        assert_eq!(
            delivered,
            4 * 2,
            "the changed pending deliveries are now delivered"
        );
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn deliveries_survive_the_faults_too_and_an_empty_answer_is_asked_again(pool: PgPool) {
    let opts = Options {
        companies: 8,
        deliveries_per_company: 3,
        ..Options::default()
    };
    let r = rig(pool, opts, json!({})).await;
    let execution = r.companies_pass_alone().await;
    // The retry's first requests are deliveries: each meets a fault, then an empty `[]`.
    r.faults(Faults {
        rate_limit: 1,
        retry_after: Some(1),
        server_error: 1,
        garbage: 1,
        empty: 1,
        ..Faults::default()
    })
    .await;
    let out = Acessorias
        .run(r.ctx(execution, 2).await)
        .await
        .expect("deliveries despite the faults");
    assert_eq!(out.failed, 0);
    assert_eq!(
        r.deliveries().await,
        8 * 3,
        "the empty answer was not trusted"
    );
    assert_eq!(out.response["entregas"]["created"], json!(24));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn deliveries_that_stay_empty_under_load_are_asked_again_next_pass(pool: PgPool) {
    let opts = Options {
        companies: 6,
        deliveries_per_company: 2,
        ..Options::default()
    };
    let r = rig(pool, opts, json!({})).await;
    let execution = r.companies_pass_alone().await;
    // The first company's deliveries answer `[]` three times: not trusted.
    r.faults(Faults {
        empty: 3,
        ..Faults::default()
    })
    .await;
    let out = Acessorias
        .run(r.ctx(execution, 2).await)
        .await
        .expect("deliveries");
    assert_eq!(out.response["entregas_a_confirmar"], json!(1));
    assert_eq!(r.deliveries().await, 5 * 2);
    let cursors: i64 = r
        .count("select count(*) from public.integration_sync_state s join public.tenant_integrations t on t.id = s.tenant_integration_id where t.tenant_id = $1 and s.stream like 'deliveries:%'")
        .await;
    assert_eq!(
        cursors, 5,
        "no cursor for the company whose answer was not sure"
    );
    // The next pass asks that company for its whole window.
    let next = r.run().await.expect("next run");
    assert_eq!(next.response["entregas_a_confirmar"], json!(0));
    assert_eq!(r.deliveries().await, 6 * 2);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_list_that_ends_early_is_doubted_once_and_never_closes_anything(pool: PgPool) {
    let r = rig(pool, companies_only(45), no_deliveries()).await;
    assert_eq!(r.run().await.expect("first sync").created, 45);
    // Page 1 answers `[]` however often it is asked: under load, or a list that shrank.
    r.faults(Faults {
        empty: 3,
        ..Faults::default()
    })
    .await;
    let doubted = r.run().await;
    assert!(
        matches!(doubted, Err(ProviderError::Transient(_))),
        "{doubted:?}"
    );
    // Seen again (here by the next execution): taken as the end, and nothing is closed.
    r.faults(Faults {
        empty: 3,
        ..Faults::default()
    })
    .await;
    let trusted = r.run().await.expect("the end is trusted the second time");
    assert_eq!(trusted.processed, 0);
    assert_eq!(r.companies().await, 45);
    assert_eq!(r.closed().await, 0);
    // And when the API answers again, everything is there.
    let back = r.run().await.expect("sync");
    assert_eq!((back.processed, back.unchanged), (45, 45));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_recreated_company_gets_its_deliveries_back(pool: PgPool) {
    let opts = Options {
        companies: 3,
        deliveries_per_company: 2,
        ..Options::default()
    };
    let r = rig(pool, opts, json!({})).await;
    r.run().await.expect("first sync");
    assert_eq!(r.deliveries().await, 6);
    // A person deletes a company: its deliveries lose their company.
    let key = r.sandbox.document(0);
    sqlx::query("delete from public.empresas where organizacao_id = $1 and external_key = $2")
        .bind(r.tenant)
        .bind(&key)
        .execute(&r.pool)
        .await
        .expect("delete");
    let orphans = "select count(*) from public.acessorias_entregas where tenant_id = $1 and empresa_id is null";
    assert_eq!(r.count(orphans).await, 2);
    // The next sync creates it again and its deliveries point at the new row.
    let out = r.run().await.expect("second sync");
    assert_eq!(out.created, 1);
    assert_eq!(r.count(orphans).await, 0);
    assert_eq!(r.deliveries().await, 6);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_credential_or_address_change_starts_the_checkpoints_over(pool: PgPool) {
    let opts = Options {
        companies: 4,
        deliveries_per_company: 1,
        ..Options::default()
    };
    let r = rig(pool, opts, json!({})).await;
    r.run().await.expect("sync");
    let states = || async {
        let n: i64 = sqlx::query_scalar("select count(*) from public.integration_sync_state")
            .fetch_one(&r.pool)
            .await
            .expect("count");
        n
    };
    assert!(states().await > 0);
    // A new token (another account on the same API host): the checkpoints go.
    let id: Uuid = sqlx::query_scalar(
        "select t.id from public.tenant_integrations t where t.tenant_id = $1 and t.provider = 'acessorias'",
    )
    .bind(r.tenant)
    .fetch_one(&r.pool)
    .await
    .expect("integration");
    let mut tx = begin_service(&r.pool).await.expect("tx");
    backend::vault::store::put(
        &mut tx,
        &r.keyring,
        id,
        TOKEN_FIELD,
        &secrecy::SecretString::from("sbx_another_account".to_owned()),
        &backend::audit::Actor::system(backend::audit::Source::System),
    )
    .await
    .expect("new token");
    tx.commit().await.expect("commit");
    assert_eq!(states().await, 0);
    // A new address: the same.
    r.run().await.expect("sync");
    assert!(states().await > 0);
    sqlx::query(
        r#"update public.tenant_integrations
           set config = config || '{"base_url": "https://api.acessorias.example"}'
           where id = $1"#,
    )
    .bind(id)
    .execute(&r.pool)
    .await
    .expect("move");
    assert_eq!(states().await, 0);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn one_company_refused_fails_that_company_and_keeps_the_cursor(pool: PgPool) {
    let opts = Options {
        companies: 10,
        deliveries_per_company: 2,
        ..Options::default()
    };
    let r = rig(pool, opts, json!({})).await;
    let execution = r.companies_pass_alone().await;
    assert_eq!(r.companies().await, 10);
    // Its retry skips the finished companies pass: its first request is the first
    // company's deliveries, which answers an `Erro` with HTTP 200.
    r.faults(Faults {
        error_200: 1,
        ..Faults::default()
    })
    .await;
    let out = Acessorias
        .run(r.ctx(execution, 2).await)
        .await
        .expect("a partial run");
    assert_eq!(out.failed, 1, "one company failed");
    assert_eq!(
        r.deliveries().await,
        18,
        "the other nine companies' deliveries"
    );
    // Nine companies have a cursor; the refused one has none, so the next pass asks for
    // its whole window.
    let cursors: Vec<String> = sqlx::query_scalar(
        "select stream from public.integration_sync_state where stream like 'deliveries:%'",
    )
    .fetch_all(&r.pool)
    .await
    .expect("cursors");
    assert_eq!(cursors.len(), 9);
    // The next run asks everything again and fills the gap.
    let next = r.run().await.expect("next run");
    assert_eq!(next.failed, 0);
    assert_eq!(r.deliveries().await, 20);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn members_read_their_tenants_deliveries_and_nobody_writes_them(pool: PgPool) {
    let opts = Options {
        companies: 5,
        deliveries_per_company: 1,
        ..Options::default()
    };
    let r = rig(pool, opts, json!({})).await;
    backend::demo::seed_demo_users(&r.pool)
        .await
        .expect("demo users");
    r.run().await.expect("sync");
    let count_as = |email: &'static str| {
        let pool = r.pool.clone();
        async move {
            let claims = common::demo_claims(&pool, email).await;
            let mut tx = begin_as(&pool, &claims).await.expect("tx");
            let n: i64 = sqlx::query_scalar("select count(*) from public.acessorias_entregas")
                .fetch_one(&mut *tx)
                .await
                .expect("count");
            n
        }
    };
    assert_eq!(count_as("equipe@contmax.com.br").await, 5);
    assert_eq!(count_as("admin@pg.com.br").await, 0);
    let claims = common::demo_claims(&r.pool, "admin@contmax.com.br").await;
    for sql in [
        "insert into public.acessorias_entregas (tenant_id, external_key, cnpj, nome, raw_payload, hash_payload) select tenant_id, 'x', 'x', 'x', '{}', 'x' from public.acessorias_entregas limit 1",
        "update public.acessorias_entregas set status = 'Entregue'",
        "delete from public.acessorias_entregas",
        "select count(*) from public.integration_sync_state",
        "select raw_payload from public.acessorias_entregas",
    ] {
        let mut tx = begin_as(&r.pool, &claims).await.expect("tx");
        let e = sqlx::query(sql).execute(&mut *tx).await.expect_err(sql);
        assert!(e.to_string().contains("permission denied"), "{sql}: {e}");
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn testar_conexao_makes_one_call_and_reads_a_refusal(pool: PgPool) {
    let r = rig(pool, companies_only(45), no_deliveries()).await;
    let before = r.sandbox.stats().requests;
    Acessorias
        .check(r.ctx(Uuid::nil(), 0).await)
        .await
        .expect("the sandbox accepts the token");
    assert_eq!(r.sandbox.stats().requests - before, 1, "one cheap call");
    assert_eq!(r.companies().await, 0, "a check never syncs");
    r.faults(Faults {
        refuse_token: true,
        ..Faults::default()
    })
    .await;
    let refused = Acessorias.check(r.ctx(Uuid::nil(), 0).await).await;
    assert!(
        matches!(refused, Err(ProviderError::Auth(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn the_sandbox_switches_are_set_over_http_too() {
    let sandbox = Sandbox::new(companies_only(3));
    let addr = sandbox::spawn(sandbox.clone(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("sandbox");
    let http = reqwest::Client::new();
    let set: Faults = http
        .post(format!("http://{addr}/_sandbox/faults"))
        .json(&json!({"rate_limit": 2, "retry_after": 1}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("faults");
    assert_eq!((set.rate_limit, set.retry_after), (2, Some(1)));
    assert_eq!(sandbox.switches.get(), set);
    let read: Faults = http
        .get(format!("http://{addr}/_sandbox/faults"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("faults");
    assert_eq!(read, set);
}

/// The attempt's timeline (issue "The engine under pressure", item 11) as the real
/// connector records it against the sandbox: the pages in a row, the 503 it tried again and
/// after what pause, the companies written, the checkpoint moved; a few entries, not one
/// per page.
#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_timeline_says_what_the_sync_did(pool: PgPool) {
    // 45 companies: two full pages and a short one; the first request answers 503.
    let r = rig(pool, companies_only(45), no_deliveries()).await;
    r.faults(Faults {
        server_error: 1,
        ..Faults::default()
    })
    .await;
    let ctx = r.ctx(Uuid::new_v4(), 1).await;
    let timeline = ctx.timeline.clone();
    let out = Acessorias.run(ctx).await.expect("sync");
    assert_eq!(out.created, 45);
    let (_, events) = timeline.snapshot();
    assert!(events.len() <= 10, "merged, not one per page: {events:?}");
    let pages: u32 = events
        .iter()
        .filter_map(|e| match e {
            model::RunEvent::Pages { first, last, .. } => Some(last - first + 1),
            _ => None,
        })
        .sum();
    assert!(pages >= 3, "every page fetched is counted: {events:?}");
    let rows: u64 = events
        .iter()
        .filter_map(|e| match e {
            model::RunEvent::Rows { n, .. } => Some(*n),
            _ => None,
        })
        .sum();
    assert_eq!(rows, 45, "{events:?}");
    assert!(
        events.iter().any(
            |e| matches!(e, model::RunEvent::Checkpoint { stream, .. } if stream == "companies")
        ),
        "{events:?}"
    );
    match events.first() {
        Some(model::RunEvent::Retry {
            reason, pause_ms, ..
        }) => assert!(reason.contains("503") && *pause_ms > 0, "{reason}"),
        other => panic!("the 503 first: {other:?}"),
    }
}
