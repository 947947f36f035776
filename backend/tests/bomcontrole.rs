//! The BomControle connector against its sandbox: real HTTP, a real database, the real
//! vault. Each test builds the run's context the way the engine does (inputs from the
//! vault) and runs the provider; every assertion reads the rows the sync wrote.

mod common;

use std::net::SocketAddr;

use backend::providers::bomcontrole::sandbox::{self, Options, Sandbox};
use backend::providers::bomcontrole::{BomControle, SLUG, TOKEN_FIELD};
use backend::providers::common::documents::format_document;
use backend::providers::common::faults::Faults;
use backend::providers::{Outcome, Provider, ProviderError};
use backend::scope::begin_as;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

struct Rig {
    c: common::ConnectorRig,
    sandbox: Sandbox,
    addr: SocketAddr,
}

impl std::ops::Deref for Rig {
    type Target = common::ConnectorRig;
    fn deref(&self) -> &Self::Target {
        &self.c
    }
}

/// The sandbox, and the tenant's BomControle pointed at it under `/integracao` (the real
/// base URL has a path too).
async fn rig(test_pool: PgPool, opts: Options) -> Rig {
    let sandbox = Sandbox::new(opts);
    let addr: SocketAddr = sandbox::spawn(sandbox.clone(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("sandbox");
    let c = common::ConnectorRig::new(
        test_pool,
        SLUG,
        TOKEN_FIELD,
        &format!("http://{addr}/integracao"),
        json!({}),
    )
    .await;
    Rig { c, sandbox, addr }
}

impl Rig {
    async fn run(&self) -> Result<Outcome, ProviderError> {
        BomControle.run(self.ctx(Uuid::new_v4(), 1).await).await
    }

    fn faults(&self, f: Faults) {
        self.sandbox.switches.set(f);
    }

    async fn receivables(&self) -> i64 {
        self.count("select count(*) from public.financeiro_recebiveis where tenant_id = $1")
            .await
    }

    async fn clients(&self) -> i64 {
        self.count("select count(*) from public.bomcontrole_clientes where tenant_id = $1")
            .await
    }

    /// Companies for the clients `indexes`, typed with their formatted document, in one
    /// statement.
    async fn companies_for(&self, indexes: impl IntoIterator<Item = usize>) {
        let docs: Vec<String> = indexes
            .into_iter()
            .map(|i| format_document(&self.sandbox.document(i)))
            .collect();
        sqlx::query(
            "insert into public.empresas (nome, cnpj, organizacao_id)
             select 'Empresa ' || n, c, $1 from unnest($2::text[]) with ordinality as u(c, n)",
        )
        .bind(self.tenant)
        .bind(&docs)
        .execute(&self.pool)
        .await
        .expect("companies");
    }

    /// Forgets every row and checkpoint of the connector (the next run is a first sync).
    async fn forget(&self) {
        for sql in [
            "delete from public.financeiro_recebiveis where tenant_id = $1",
            "delete from public.bomcontrole_clientes where tenant_id = $1",
            "delete from public.integration_sync_state s using public.tenant_integrations t
             where t.id = s.tenant_integration_id and t.tenant_id = $1",
        ] {
            sqlx::query(sql)
                .bind(self.tenant)
                .execute(&self.pool)
                .await
                .expect("forget");
        }
    }

    /// The receivables of the first `n` entries (the sandbox serves them in order).
    fn receivables_among_first(&self, n: usize) -> usize {
        (0..n).filter(|&e| !self.sandbox.is_payable(e)).count()
    }
}

fn big() -> Options {
    Options {
        clients: 500,
        entries_per_client: 20,
        without_document: 5,
        ..Options::default()
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn ten_thousand_entries_then_nothing_then_exactly_what_changed(pool: PgPool) {
    let r = rig(pool, big()).await;
    // Companies for clients 0..480; client 7 has two (ambiguous); 480..500 have none
    // (the last five have no document at all).
    r.companies_for((0..480).chain([7])).await;
    let unmatched: Vec<usize> = std::iter::once(7).chain(480..500).collect();
    let review: usize = unmatched.iter().map(|&i| r.sandbox.receivables_of(i)).sum();

    let first = r.run().await.expect("first sync");
    let stats = r.sandbox.stats();
    assert_eq!(stats.entries, 10_000);
    assert_eq!(first.processed as usize, stats.entries);
    assert_eq!(first.created as usize, stats.receivables);
    assert_eq!(
        first.ignored as usize, stats.payables,
        "payables are counted, not stored"
    );
    assert_eq!((first.updated, first.unchanged, first.failed), (0, 0, 0));
    assert_eq!(first.review as usize, review);
    assert_eq!(first.response["clientes"]["created"], json!(500));
    assert_eq!(first.response["clientes_em_revisao"], json!(20));
    assert_eq!(first.response["clientes_ambiguos"], json!(1));
    assert_eq!(first.response["paginas_lancamentos"], json!(100));

    // The rows: one per receivable, money to the cent, paid ones with their date.
    assert_eq!(r.receivables().await as usize, stats.receivables);
    let cents = r
        .count("select (sum(valor) * 100)::bigint from public.financeiro_recebiveis where tenant_id = $1")
        .await;
    assert_eq!(cents, stats.receivables_cents);
    let paid = r
        .count("select count(*) from public.financeiro_recebiveis where tenant_id = $1 and status = 'pago' and pago_em is not null")
        .await;
    assert_eq!(paid as usize, stats.receivables_paid);
    let open = r
        .count("select count(*) from public.financeiro_recebiveis where tenant_id = $1 and status = 'aberto' and pago_em is null")
        .await;
    assert_eq!(open as usize, stats.receivables_open);
    let incomplete = r
        .count("select count(*) from public.financeiro_recebiveis where tenant_id = $1 and (competencia is null or vencimento is null or alterado_em is null or cliente_external_id is null or raw_payload ? 'TotalItens')")
        .await;
    assert_eq!(incomplete, 0);
    let without_company = r
        .count("select count(*) from public.financeiro_recebiveis where tenant_id = $1 and empresa_id is null")
        .await;
    assert_eq!(without_company as usize, review);
    // Every matched receivable belongs to the company with its client's document.
    let mismatched = r
        .count("select count(*) from public.financeiro_recebiveis f join public.empresas e on e.id = f.empresa_id where f.tenant_id = $1 and regexp_replace(e.cnpj, '\\D', '', 'g') <> f.documento")
        .await;
    assert_eq!(mismatched, 0);

    // Clients: matched, ambiguous, review; never a guess.
    assert_eq!(r.clients().await, 500);
    let by_match = |m: &'static str| {
        let r = &r;
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from public.bomcontrole_clientes where tenant_id = $1 and match = $2",
            )
            .bind(r.tenant)
            .bind(m)
            .fetch_one(&r.pool)
            .await
            .expect("count")
        }
    };
    assert_eq!(by_match("matched").await, 479);
    assert_eq!(by_match("ambiguous").await, 1);
    assert_eq!(by_match("review").await, 20);
    let guessed = r
        .count("select count(*) from public.bomcontrole_clientes where tenant_id = $1 and (match = 'matched') <> (empresa_id is not null)")
        .await;
    assert_eq!(guessed, 0);

    let second = r.run().await.expect("second sync");
    assert_eq!((second.created, second.updated), (0, 0));
    assert_eq!(second.processed, 0, "nothing changed since the last pass");
    assert_eq!(second.response["clientes"]["unchanged"], json!(500));

    let changed = r.sandbox.change(10);
    assert_eq!(changed.len(), 10);
    let third = r.run().await.expect("third sync");
    assert_eq!((third.processed, third.created, third.updated), (10, 0, 10));
    let touched: i64 = sqlx::query_scalar(
        "select count(*) from public.financeiro_recebiveis where tenant_id = $1 and external_key = any($2) and status = 'pago' and updated_at > created_at and raw_payload ->> 'Observacao' is not null",
    )
    .bind(r.tenant)
    .bind(&changed)
    .fetch_one(&r.pool)
    .await
    .expect("changed rows");
    assert_eq!(touched, 10);
    assert_eq!(r.receivables().await as usize, stats.receivables);
    let recently = r
        .count("select count(*) from public.financeiro_recebiveis where tenant_id = $1 and updated_at > created_at")
        .await;
    assert_eq!(
        recently, 10,
        "only the changed receivables were written again"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_run_that_dies_at_page_50_resumes_there_without_duplicates(pool: PgPool) {
    let r = rig(pool, big()).await;
    r.faults(Faults {
        fail_from_page: Some(50),
        ..Faults::default()
    });
    let execution = Uuid::new_v4();
    let died = BomControle.run(r.ctx(execution, 1).await).await;
    assert!(matches!(died, Err(ProviderError::Transient(_))), "{died:?}");
    // Pages 1..=49 were committed, each with its checkpoint.
    assert_eq!(
        r.receivables().await as usize,
        r.receivables_among_first(49 * 100)
    );
    assert_eq!(r.clients().await, 500);
    let next: i64 = sqlx::query_scalar(
        "select (state -> 'pass' ->> 'next_page')::bigint from public.integration_sync_state where stream = 'entries'",
    )
    .fetch_one(&r.pool)
    .await
    .expect("checkpoint");
    assert_eq!(next, 50);

    r.faults(Faults::default());
    let before = r.sandbox.stats().requests;
    let retried = BomControle
        .run(r.ctx(execution, 2).await)
        .await
        .expect("the retry finishes");
    // The retry skipped the finished clients pass and asked pages 50..=100 only.
    let asked = r.sandbox.stats().requests - before;
    assert_eq!(asked, 51, "the retry started over");
    let stats = r.sandbox.stats();
    assert_eq!(
        retried.processed as usize, stats.entries,
        "the execution's totals"
    );
    assert_eq!(retried.created as usize, stats.receivables);
    assert_eq!(retried.ignored as usize, stats.payables);
    assert_eq!(retried.payload["resumed_at_page"], json!(50));
    assert_eq!(retried.response["clientes"]["created"], json!(500));
    assert_eq!(r.receivables().await as usize, stats.receivables);
    let keys = r
        .count("select count(distinct external_key) from public.financeiro_recebiveis where tenant_id = $1")
        .await;
    assert_eq!(keys as usize, stats.receivables, "no duplicates");

    // The next execution asks only for what changed after the pass began.
    let next = r.run().await.expect("next run");
    assert_eq!((next.processed, next.created, next.updated), (0, 0, 0));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn every_fault_in_turn_still_ends_with_every_receivable(pool: PgPool) {
    // 150 entries: a full page and a half.
    let r = rig(
        pool,
        Options {
            clients: 30,
            entries_per_client: 5,
            ..Options::default()
        },
    )
    .await;
    let stats = r.sandbox.stats();
    let survivable = common::survivable_faults();
    for (what, faults) in survivable {
        r.forget().await;
        r.faults(faults);
        let out = r.run().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(out.processed as usize, stats.entries, "{what}");
        assert_eq!(out.created as usize, stats.receivables, "{what}");
        assert_eq!(r.receivables().await as usize, stats.receivables, "{what}");
        assert_eq!(r.clients().await, 30, "{what}");
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
            "{what}: the fault was used"
        );
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_refused_key_or_request_ends_the_run_with_its_reason_and_no_rows(pool: PgPool) {
    let r = rig(pool, Options::default()).await;
    r.faults(Faults {
        refuse_token: true,
        ..Faults::default()
    });
    match r.run().await {
        Err(ProviderError::Auth(m)) => assert!(m.contains("401"), "{m}"),
        other => panic!("a refused key is an auth error: {other:?}"),
    }
    assert_eq!((r.clients().await, r.receivables().await), (0, 0));
    let mut ctx = r.ctx(Uuid::new_v4(), 1).await;
    ctx.config["requisicoes_por_minuto"] = json!(6000);
    assert!(matches!(
        BomControle.check(ctx).await,
        Err(ProviderError::Auth(_))
    ));

    // BomControle has no error-with-200: the sandbox's `error_200` is a 400 with a Message.
    r.faults(Faults {
        error_200: 1,
        ..Faults::default()
    });
    match r.run().await {
        Err(ProviderError::Permanent(m)) => assert!(m.contains("inválida"), "{m}"),
        other => panic!("a 400 is a permanent error: {other:?}"),
    }
    assert_eq!((r.clients().await, r.receivables().await), (0, 0));

    r.faults(Faults::default());
    BomControle
        .check(r.ctx(Uuid::new_v4(), 1).await)
        .await
        .expect("the connection test passes");
    let out = r.run().await.expect("sync");
    assert_eq!(out.created as usize, r.sandbox.stats().receivables);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn dates_travel_with_percent_20_never_plus(pool: PgPool) {
    let r = rig(pool, Options::default()).await;
    // The sandbox refuses a `+` for the space, as the real API does...
    let base = format!("http://{}/integracao/Financeiro/Pesquisar", r.addr);
    let ask = |start: &str| {
        let url = format!(
            "{base}?dataInicio={start}&dataTermino=2099-01-01%2000:00:00&tipoData=UltimaAlteracao\
             &paginacao.itensPorPagina=100&paginacao.numeroDaPagina=1"
        );
        let http = r.http.clone();
        async move {
            let resp = http
                .get(url)
                .header(
                    "authorization",
                    format!("ApiKey {}", backend::demo::SANDBOX_TOKEN),
                )
                .send()
                .await
                .expect("answer");
            (
                resp.status().as_u16(),
                resp.json::<serde_json::Value>().await.expect("json"),
            )
        }
    };
    let (status, body) = ask("2000-01-01+00:00:00").await;
    assert_eq!(status, 400);
    assert_eq!(body["Message"], json!("dataInicio inválida"));
    let (status, body) = ask("2000-01-01%2000:00:00").await;
    assert_eq!(status, 200);
    assert_eq!(body["TotalItens"], json!(r.sandbox.stats().entries));
    // ... so a sync that ends with every receivable sent its dates with `%20`.
    let out = r.run().await.expect("sync");
    assert_eq!(out.created as usize, r.sandbox.stats().receivables);
    assert_eq!(
        r.receivables().await as usize,
        r.sandbox.stats().receivables
    );
    assert!(out.payload["dataInicio"]
        .as_str()
        .is_some_and(|d| d.contains(' ')));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn matching_never_guesses_and_receivables_follow_a_later_match(pool: PgPool) {
    let r = rig(
        pool,
        Options {
            clients: 10,
            entries_per_client: 4,
            without_document: 1,
            ..Options::default()
        },
    )
    .await;
    // Client 0: one company. Client 1: two with its document. Client 2: a company with the
    // document of client 2 but another name. Clients 3..9: none (client 9 has no document).
    r.companies_for([0, 1, 1, 2]).await;
    let out = r.run().await.expect("sync");
    let row = |i: usize| {
        let r = &r;
        async move {
            sqlx::query_as::<_, (String, Option<Uuid>, Option<String>)>(
                "select match, empresa_id, documento from public.bomcontrole_clientes
                 where tenant_id = $1 and external_id = $2",
            )
            .bind(r.tenant)
            .bind(r.sandbox.client_id(i).to_string())
            .fetch_one(&r.pool)
            .await
            .expect("client row")
        }
    };
    let receivables_with_company = |i: usize| {
        let r = &r;
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from public.financeiro_recebiveis
                 where tenant_id = $1 and cliente_external_id = $2 and empresa_id is not null",
            )
            .bind(r.tenant)
            .bind(r.sandbox.client_id(i).to_string())
            .fetch_one(&r.pool)
            .await
            .expect("count")
        }
    };
    let (m, empresa, _) = row(0).await;
    assert_eq!((m.as_str(), empresa.is_some()), ("matched", true));
    assert_eq!(
        receivables_with_company(0).await as usize,
        r.sandbox.receivables_of(0)
    );
    let (m, empresa, _) = row(1).await;
    assert_eq!(
        (m.as_str(), empresa),
        ("ambiguous", None),
        "two companies: not guessed"
    );
    assert_eq!(receivables_with_company(1).await, 0);
    let (m, empresa, _) = row(2).await;
    assert_eq!((m.as_str(), empresa.is_some()), ("matched", true));
    let (m, empresa, _) = row(3).await;
    assert_eq!((m.as_str(), empresa), ("review", None));
    let (m, empresa, documento) = row(9).await;
    assert_eq!((m.as_str(), empresa, documento), ("review", None, None));
    assert_eq!(out.response["clientes_em_revisao"], json!(7));
    assert_eq!(out.response["clientes_ambiguos"], json!(1));
    let unmatched: usize = (1..10)
        .filter(|&i| i != 2)
        .map(|i| r.sandbox.receivables_of(i))
        .sum();
    assert_eq!(out.review as usize, unmatched);

    // A company for client 3 appears: the next run matches the client, and its receivables
    // (which did not change in BomControle) follow.
    r.companies_for([3]).await;
    let next = r.run().await.expect("next sync");
    assert_eq!(next.response["clientes"]["updated"], json!(1));
    assert_eq!(
        next.response["recebiveis_revinculados"],
        json!(r.sandbox.receivables_of(3))
    );
    assert_eq!(next.processed, 0);
    let (m, empresa, _) = row(3).await;
    assert_eq!((m.as_str(), empresa.is_some()), ("matched", true));
    assert_eq!(
        receivables_with_company(3).await as usize,
        r.sandbox.receivables_of(3)
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn members_read_their_tenants_receivables_and_nobody_writes_them(pool: PgPool) {
    let r = rig(
        pool,
        Options {
            clients: 5,
            entries_per_client: 4,
            ..Options::default()
        },
    )
    .await;
    backend::demo::seed_demo_users(&r.pool)
        .await
        .expect("demo users");
    r.run().await.expect("sync");
    let receivables = r.sandbox.stats().receivables as i64;
    let count_as = |email: &'static str, table: &'static str| {
        let pool = r.pool.clone();
        async move {
            let claims = common::demo_claims(&pool, email).await;
            let mut tx = begin_as(&pool, &claims).await.expect("tx");
            let n: i64 = sqlx::query_scalar(&format!("select count(*) from public.{table}"))
                .fetch_one(&mut *tx)
                .await
                .expect("count");
            n
        }
    };
    assert_eq!(
        count_as("equipe@contmax.com.br", "financeiro_recebiveis").await,
        receivables
    );
    assert_eq!(
        count_as("equipe@contmax.com.br", "bomcontrole_clientes").await,
        5
    );
    assert_eq!(
        count_as("admin@pg.com.br", "financeiro_recebiveis").await,
        0
    );
    assert_eq!(count_as("admin@pg.com.br", "bomcontrole_clientes").await, 0);
    let claims = common::demo_claims(&r.pool, "admin@contmax.com.br").await;
    for sql in [
        "insert into public.financeiro_recebiveis (tenant_id, external_key, valor, status, raw_payload, hash_payload) select tenant_id, 'x', 1, 'aberto', '{}', 'x' from public.financeiro_recebiveis limit 1",
        "update public.financeiro_recebiveis set status = 'pago'",
        "delete from public.financeiro_recebiveis",
        "insert into public.bomcontrole_clientes (tenant_id, external_id, nome, match, raw_payload, hash_payload) select tenant_id, 'x', 'x', 'review', '{}', 'x' from public.bomcontrole_clientes limit 1",
        "update public.bomcontrole_clientes set match = 'matched'",
        "select count(*) from public.integration_sync_state",
    ] {
        let mut tx = begin_as(&r.pool, &claims).await.expect("tx");
        let e = sqlx::query(sql).execute(&mut *tx).await.expect_err(sql);
        assert!(e.to_string().contains("permission denied"), "{sql}: {e}");
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn testar_conexao_makes_one_call_and_reads_a_refusal(pool: PgPool) {
    let r = rig(pool, Options::default()).await;
    let before = r.sandbox.stats().requests;
    BomControle
        .check(r.ctx(Uuid::nil(), 0).await)
        .await
        .expect("the sandbox accepts the key");
    assert_eq!(r.sandbox.stats().requests - before, 1, "one cheap call");
    assert_eq!(r.receivables().await, 0, "a check never syncs");
    r.faults(Faults {
        refuse_token: true,
        ..Faults::default()
    });
    let refused = BomControle.check(r.ctx(Uuid::nil(), 0).await).await;
    assert!(
        matches!(refused, Err(ProviderError::Auth(_))),
        "{refused:?}"
    );
}
