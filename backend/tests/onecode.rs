//! The OneCode contacts sync against its sandbox: real HTTP, a real database, the real
//! vault. The sandbox's contacts are made from the Acessórias sandbox's companies, which
//! each test puts in `empresas` first, and it says what the matcher should decide for each
//! contact: every assertion compares the rows the sync wrote with that.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;

use backend::providers::common::documents::format_document;
use backend::providers::common::faults::Faults;
use backend::providers::onecode::sandbox::{self, Options, Sandbox};
use backend::providers::onecode::{OneCode, SLUG, TOKEN_FIELD};
use backend::providers::{Outcome, Provider, ProviderError};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

struct Rig {
    c: common::ConnectorRig,
    sandbox: Sandbox,
    /// Company id by the Acessórias sandbox's company index.
    companies: HashMap<usize, Uuid>,
}

impl std::ops::Deref for Rig {
    type Target = common::ConnectorRig;
    fn deref(&self) -> &Self::Target {
        &self.c
    }
}

/// The sandbox, the tenant's OneCode pointed at it, and the tenant's companies replaced by
/// the sandbox's (with an empty `whatsapp`).
async fn rig(test_pool: PgPool, opts: Options) -> Rig {
    let sandbox = Sandbox::new(opts.clone());
    let addr: SocketAddr = sandbox::spawn(sandbox.clone(), ([127, 0, 0, 1], 0).into())
        .await
        .expect("sandbox");
    let c = common::ConnectorRig::new(
        test_pool,
        SLUG,
        TOKEN_FIELD,
        &format!("http://{addr}"),
        json!({}),
    )
    .await;
    sqlx::query("delete from public.empresas where organizacao_id = $1")
        .bind(c.tenant)
        .execute(&c.pool)
        .await
        .expect("no other companies");
    let mut companies = HashMap::new();
    for i in 0..opts.companies {
        let nome = sandbox.company_name(i).unwrap_or_default().to_owned();
        let cnpj = sandbox
            .company_document(i)
            .map(format_document)
            .unwrap_or_default();
        let id: Uuid = sqlx::query_scalar(
            "insert into public.empresas (nome, cnpj, organizacao_id, whatsapp)
             values ($1, $2, $3, '') returning id",
        )
        .bind(nome)
        .bind(cnpj)
        .bind(c.tenant)
        .fetch_one(&c.pool)
        .await
        .expect("company");
        companies.insert(i, id);
    }
    Rig {
        c,
        sandbox,
        companies,
    }
}

impl Rig {
    async fn run(&self) -> Result<Outcome, ProviderError> {
        OneCode.run(self.ctx(Uuid::new_v4(), 1).await).await
    }

    /// (status, empresa_id, decisao) by contact id.
    async fn rows(&self) -> HashMap<i64, (String, Option<Uuid>, Option<String>)> {
        let rows: Vec<(i64, String, Option<Uuid>, Option<String>)> = sqlx::query_as(
            "select contact_id, status, empresa_id, decisao from public.onecode_contatos
             where tenant_id = $1",
        )
        .bind(self.tenant)
        .fetch_all(&self.pool)
        .await
        .expect("rows");
        rows.into_iter()
            .map(|(id, s, e, d)| (id, (s, e, d)))
            .collect()
    }

    /// Every contact's row says what the sandbox expects of it.
    async fn assert_as_expected(&self) {
        let rows = self.rows().await;
        assert_eq!(rows.len(), self.sandbox.len());
        for i in 0..self.sandbox.len() {
            let want = self.sandbox.expected(i);
            let id = Sandbox::contact_id(i) as i64;
            let (status, empresa, _) = rows.get(&id).expect("every contact stored");
            assert_eq!(status, want.status, "contact {i} ({:?})", want.kind);
            if want.status == "matched" {
                let company = want.company.and_then(|c| self.companies.get(&c)).copied();
                assert_eq!(*empresa, company, "contact {i} ({:?})", want.kind);
            }
        }
    }
}

fn totals_add_up(o: &Outcome) {
    let matched = o.matched.expect("OneCode reports matches");
    assert_eq!(
        o.processed,
        matched + o.review + o.ignored + o.failed,
        "{o:?}"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn each_kind_of_contact_lands_where_it_should(pool: PgPool) {
    let r = rig(
        pool,
        Options {
            contacts: 450,
            companies: 60,
            ..Options::default()
        },
    )
    .await;
    let out = r.run().await.expect("sync");
    totals_add_up(&out);
    assert_eq!(out.processed, 450);
    assert_eq!(out.created, 450);
    let stats = r.sandbox.stats();
    for (status, n) in [
        ("matched", out.matched.unwrap_or(-1)),
        ("review", out.review),
        ("ignored", out.ignored),
    ] {
        assert_eq!(
            stats.expected.get(status).copied().unwrap_or(0) as i32,
            n,
            "{status}: {stats:?}"
        );
    }
    assert!(out.review > 0 && out.ignored > 0);
    r.assert_as_expected().await;
    // Matched companies got the contact's number where they had none.
    let filled = r
        .count("select count(*) from public.empresas where organizacao_id = $1 and whatsapp <> ''")
        .await;
    assert!(filled > 0);
    assert_eq!(
        out.response["empresas_com_whatsapp_preenchido"],
        json!(filled)
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn five_thousand_contacts_then_nothing_then_decisions_survive(pool: PgPool) {
    let r = rig(
        pool,
        Options {
            contacts: 5000,
            companies: 400,
            ..Options::default()
        },
    )
    .await;
    let first = r.run().await.expect("first sync");
    totals_add_up(&first);
    assert_eq!((first.processed, first.created), (5000, 5000));
    assert!(
        first.response["paginas"].as_u64().is_some_and(|p| p >= 25),
        "{}",
        first.response
    );
    r.assert_as_expected().await;

    // A person decides two contacts in review: one ignored, one linked to a company.
    let review: Vec<i64> = sqlx::query_scalar(
        "select contact_id from public.onecode_contatos where tenant_id = $1 and status = 'review'
         order by contact_id limit 2",
    )
    .bind(r.tenant)
    .fetch_all(&r.pool)
    .await
    .expect("review rows");
    assert_eq!(review.len(), 2);
    let chosen = r.companies[&3];
    sqlx::query(
        "update public.onecode_contatos set decisao = 'ignorada', status = 'ignored',
           motivo = 'decisao' where tenant_id = $1 and contact_id = $2",
    )
    .bind(r.tenant)
    .bind(review[0])
    .execute(&r.pool)
    .await
    .expect("ignored");
    sqlx::query(
        "update public.onecode_contatos set decisao = 'escolhida', status = 'matched',
           motivo = 'decisao', empresa_id = $3 where tenant_id = $1 and contact_id = $2",
    )
    .bind(r.tenant)
    .bind(review[1])
    .bind(chosen)
    .execute(&r.pool)
    .await
    .expect("chosen");

    let second = r.run().await.expect("second sync");
    totals_add_up(&second);
    assert_eq!(
        (second.created, second.updated, second.unchanged),
        (0, 0, 5000),
        "nothing changed"
    );
    assert_eq!(
        second.review,
        first.review - 2,
        "decided contacts are not asked again"
    );
    let rows = r.rows().await;
    assert_eq!(
        rows[&review[0]],
        ("ignored".into(), None, Some("ignorada".into()))
    );
    assert_eq!(
        rows[&review[1]],
        ("matched".into(), Some(chosen), Some("escolhida".into()))
    );

    // Renamed contacts are written again, and only they.
    let renamed = r.sandbox.rename(7);
    let third = r.run().await.expect("third sync");
    assert_eq!(third.updated as usize, renamed.len());
    assert_eq!(third.unchanged as usize, 5000 - renamed.len());
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_number_a_person_set_is_never_overwritten(pool: PgPool) {
    let r = rig(
        pool,
        Options {
            contacts: 60,
            companies: 60,
            ..Options::default()
        },
    )
    .await;
    sqlx::query("update public.empresas set whatsapp = '(11) 5555-0000' where organizacao_id = $1")
        .bind(r.tenant)
        .execute(&r.pool)
        .await
        .expect("numbers typed by a person");
    let out = r.run().await.expect("sync");
    assert!(out.matched.unwrap_or(0) > 0);
    assert_eq!(out.response["empresas_com_whatsapp_preenchido"], json!(0));
    let kept = r
        .count("select count(*) from public.empresas where organizacao_id = $1 and whatsapp = '(11) 5555-0000'")
        .await;
    assert_eq!(kept, 60);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_rate_limit_headers_are_respected_and_faults_survived(pool: PgPool) {
    let r = rig(
        pool,
        Options {
            contacts: 1200,
            companies: 60,
            // Four requests a second: the sync must wait for each window's reset.
            rate_limit_per_minute: 4,
            rate_window_secs: 1,
            ..Options::default()
        },
    )
    .await;
    let out = r.run().await.expect("sync");
    assert_eq!(out.processed, 1200);
    assert_eq!(
        r.sandbox.stats().rate_limited,
        0,
        "waited for the window instead of hitting 429"
    );
    for (what, faults) in common::survivable_faults() {
        r.sandbox.switches.set(faults);
        let out = r.run().await.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(out.processed, 1200, "{what}");
        totals_add_up(&out);
    }
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_refused_token_ends_the_run_with_its_reason_and_no_rows(pool: PgPool) {
    let r = rig(pool, Options::default()).await;
    r.sandbox.switches.set(Faults {
        refuse_token: true,
        ..Faults::default()
    });
    match r.run().await {
        Err(ProviderError::Auth(m)) => assert!(m.contains("401"), "{m}"),
        other => panic!("a refused token is an auth error: {other:?}"),
    }
    assert_eq!(
        r.count("select count(*) from public.onecode_contatos where tenant_id = $1")
            .await,
        0
    );
    assert!(matches!(
        OneCode.check(r.ctx(Uuid::new_v4(), 1).await).await,
        Err(ProviderError::Auth(_))
    ));
    r.sandbox.switches.set(Faults::default());
    OneCode
        .check(r.ctx(Uuid::new_v4(), 1).await)
        .await
        .expect("Testar conexão with a good token");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_webhook_secret_stays_when_the_api_moves_elsewhere(pool: PgPool) {
    let r = rig(pool, Options::default()).await;
    backend::demo::seed_provider_secret(
        &r.pool,
        &r.keyring,
        "contmax",
        SLUG,
        backend::providers::onecode::WEBHOOK_SECRET_FIELD,
        "whsec_x",
    )
    .await
    .expect("webhook secret");
    let fields = || async {
        let f: Vec<String> = sqlx::query_scalar(
            "select s.field from public.integration_secrets s
             join public.tenant_integrations t on t.id = s.tenant_integration_id
             join public.integration_providers p on p.id = t.provider_id
             where t.tenant_id = $1 and p.slug = 'onecode' order by s.field",
        )
        .bind(r.tenant)
        .fetch_all(&r.pool)
        .await
        .expect("fields");
        f
    };
    assert_eq!(fields().await, vec!["api_token", "webhook_secret"]);
    sqlx::query(
        "update public.tenant_integrations t
         set base_url = 'https://api-outra.onecode.chat',
             config = t.config || '{\"base_url\": \"https://api-outra.onecode.chat\"}'
         from public.integration_providers p
         where p.id = t.provider_id and t.tenant_id = $1 and p.slug = 'onecode'",
    )
    .bind(r.tenant)
    .execute(&r.pool)
    .await
    .expect("moved");
    // The API token would be sent to the new address: gone. The webhook secret is only
    // ever compared with what OneCode sends: kept.
    assert_eq!(fields().await, vec!["webhook_secret"]);
}
