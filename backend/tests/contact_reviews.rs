//! *Revisar contatos*: the queue lists the tenant's undecided review items only; a decision
//! links (or ignores) at once, fills an empty WhatsApp and never overwrites one, is audited,
//! happens once, and only for the tenant's own contacts and companies.

mod common;

use backend::audit::{Actor, Source};
use backend::contact_reviews::{self, decide, decide_as_shown, Decision};
use backend::scope::{begin_as, Claims};
use backend::Error;
use model::{ReviewPage, ReviewQuery};
use sqlx::PgPool;
use uuid::Uuid;

struct World {
    contmax: Uuid,
    pg: Uuid,
    /// Contmax's companies: an empty WhatsApp, one a person set, another empty one.
    padaria: Uuid,
    mercado: Uuid,
    oficina: Uuid,
    /// P&G's company.
    farmacia: Uuid,
    /// Contmax's contacts in review.
    c_padaria: Uuid,
    c_mercado: Uuid,
    c_oficina: Uuid,
    c_sem_sugestao: Uuid,
    /// Contmax's contacts already decided or matched (never listed).
    c_decidido: Uuid,
    /// P&G's contact in review.
    c_pg: Uuid,
}

async fn empresa(pool: &PgPool, tenant: Uuid, nome: &str, cnpj: &str, whatsapp: &str) -> Uuid {
    sqlx::query_scalar(
        "insert into public.empresas (nome, cnpj, organizacao_id, whatsapp) values ($1, $2, $3, $4) returning id",
    )
    .bind(nome)
    .bind(cnpj)
    .bind(tenant)
    .bind(whatsapp)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[allow(clippy::too_many_arguments)]
async fn contato(
    pool: &PgPool,
    tenant: Uuid,
    contact_id: i64,
    nome: &str,
    numero: &str,
    status: &str,
    score: Option<f32>,
    sugestao: Option<Uuid>,
    decisao: Option<&str>,
) -> Uuid {
    sqlx::query_scalar(
        r#"insert into public.onecode_contatos
             (tenant_id, contact_id, nome, numero, status, motivo, score, sugestao_empresa_id,
              empresa_id, decisao)
           values ($1, $2, $3, $4, $5, case when $5 = 'review' then 'semelhanca' else 'nome' end,
                   $6, $7, case when $5 = 'matched' then $7 end, $8)
           returning id"#,
    )
    .bind(tenant)
    .bind(contact_id)
    .bind(nome)
    .bind(numero)
    .bind(status)
    .bind(score)
    .bind(sugestao)
    .bind(decisao)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The demo's users and organizations, and a small queue for each tenant, inserted as the
/// test's superuser (as the sync would, as service_role).
async fn world(pool: &PgPool) -> World {
    backend::demo::seed_demo_users(pool).await.unwrap();
    let contmax = common::org_id(pool, "contmax").await;
    let pg = common::org_id(pool, "pg").await;
    let padaria = empresa(pool, contmax, "Padaria Sol Ltda", "11.222.333/0001-81", "").await;
    let mercado = empresa(
        pool,
        contmax,
        "Mercado Lua ME",
        "22.333.444/0001-05",
        "5511900000000",
    )
    .await;
    let oficina = empresa(pool, contmax, "Oficina Estrela", "33.444.555/0001-10", "").await;
    let farmacia = empresa(pool, pg, "Farmácia Central", "44.555.666/0001-20", "").await;
    let c_padaria = contato(
        pool,
        contmax,
        1,
        "Padaria do Sol",
        "5511911112222",
        "review",
        Some(0.9),
        Some(padaria),
        None,
    )
    .await;
    let c_mercado = contato(
        pool,
        contmax,
        2,
        "Mercado da Lua",
        "5511933334444",
        "review",
        Some(0.85),
        Some(mercado),
        None,
    )
    .await;
    let c_oficina = contato(
        pool,
        contmax,
        3,
        "Oficina",
        "5511955556666",
        "review",
        Some(0.83),
        Some(oficina),
        None,
    )
    .await;
    let c_sem_sugestao = contato(
        pool,
        contmax,
        4,
        "Ana (sem sugestão)",
        "5511977778888",
        "review",
        None,
        None,
        None,
    )
    .await;
    let c_decidido = contato(
        pool,
        contmax,
        5,
        "Padaria do Sol (outro número)",
        "5511999990000",
        "review",
        Some(0.95),
        Some(padaria),
        Some("ignorada"),
    )
    .await;
    contato(
        pool,
        contmax,
        6,
        "Oficina Estrela",
        "5511944445555",
        "matched",
        Some(1.0),
        Some(oficina),
        None,
    )
    .await;
    let c_pg = contato(
        pool,
        pg,
        1,
        "Farmácia Central",
        "5521988887777",
        "review",
        Some(0.88),
        Some(farmacia),
        None,
    )
    .await;
    World {
        contmax,
        pg,
        padaria,
        mercado,
        oficina,
        farmacia,
        c_padaria,
        c_mercado,
        c_oficina,
        c_sem_sugestao,
        c_decidido,
        c_pg,
    }
}

fn actor(claims: &Claims) -> Actor {
    Actor {
        user_id: Some(claims.sub),
        email: Some(claims.email.clone()),
        name: None,
        source: Source::Ui,
        request_id: Some("req-review".into()),
    }
}

async fn list_as(pool: &PgPool, email: &str, tenant: Uuid, q: ReviewQuery) -> ReviewPage {
    let claims = common::demo_claims(pool, email).await;
    let mut tx = begin_as(pool, &claims).await.unwrap();
    let page = contact_reviews::list(&mut tx, tenant, &q).await.unwrap();
    tx.commit().await.unwrap();
    page
}

/// One decision in its own transaction, committed when it succeeded.
async fn decide_as(
    pool: &PgPool,
    email: &str,
    tenant: Uuid,
    contato: Uuid,
    decision: Decision,
) -> backend::Result<model::ReviewOutcome> {
    let claims = common::demo_claims(pool, email).await;
    let mut tx = begin_as(pool, &claims).await.unwrap();
    let outcome = decide(&mut tx, &actor(&claims), tenant, contato, decision).await?;
    tx.commit().await.unwrap();
    Ok(outcome)
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct ContactRow {
    status: String,
    motivo: String,
    empresa_id: Option<Uuid>,
    decisao: Option<String>,
    decidido_por: Option<Uuid>,
    decidido: bool,
}

async fn contact_row(pool: &PgPool, id: Uuid) -> ContactRow {
    sqlx::query_as(
        "select status, motivo, empresa_id, decisao, decidido_por, decidido_em is not null as decidido
         from public.onecode_contatos where id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn whatsapp(pool: &PgPool, empresa: Uuid) -> String {
    sqlx::query_scalar("select coalesce(whatsapp, '') from public.empresas where id = $1")
        .bind(empresa)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn decisions_audited(pool: &PgPool, tenant: Uuid) -> Vec<(Option<Uuid>, serde_json::Value)> {
    sqlx::query_as(
        "select actor_id, details from public.integration_audit
         where tenant_id = $1 and action = 'contact_decided' order by id",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn the_queue_lists_the_tenants_undecided_review_items_best_first(pool: PgPool) {
    let w = world(&pool).await;
    let page = list_as(
        &pool,
        "equipe@contmax.com.br",
        w.contmax,
        ReviewQuery::default(),
    )
    .await;
    let ids: Vec<Uuid> = page.rows.iter().map(|r| r.id).collect();
    // Score descending; the contact without a score last. Neither the decided one, nor the
    // matched one, nor P&G's.
    assert_eq!(
        ids,
        vec![w.c_padaria, w.c_mercado, w.c_oficina, w.c_sem_sugestao]
    );
    assert_eq!(page.total, 4);
    assert!(page.next_after.is_none());
    let first = &page.rows[0];
    assert_eq!(first.nome, "Padaria do Sol");
    assert_eq!(first.numero, "5511911112222");
    assert_eq!(first.score, Some(0.9));
    let s = first.sugestao.as_ref().expect("a suggestion");
    assert_eq!(
        (s.id, s.nome.as_str(), s.cnpj.as_str(), s.baixada),
        (w.padaria, "Padaria Sol Ltda", "11.222.333/0001-81", false)
    );
    assert!(page.rows[3].sugestao.is_none());
    assert!(!ids.contains(&w.c_decidido) && !ids.contains(&w.c_pg));

    // The filter: a contact's name, a phone's digits, a suggested company's name or CNPJ.
    for (busca, expected) in [
        ("lua", vec![w.c_mercado]),
        ("3333-4444", vec![w.c_mercado]),
        ("estrela", vec![w.c_oficina]),
        ("11.222", vec![w.c_padaria]),
        (
            "%",
            vec![w.c_padaria, w.c_mercado, w.c_oficina, w.c_sem_sugestao],
        ),
        ("ninguém", vec![]),
    ] {
        let q = ReviewQuery {
            busca: Some(busca.into()),
            after: None,
        };
        let page = list_as(&pool, "equipe@contmax.com.br", w.contmax, q).await;
        let ids: Vec<Uuid> = page.rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, expected, "busca {busca:?}");
        assert_eq!(page.total, expected.len() as i64, "busca {busca:?}");
    }

    // Another tenant's member asking for Contmax's queue sees nothing (RLS), and P&G's
    // own queue holds P&G's contact only.
    let page = list_as(&pool, "equipe@pg.com.br", w.contmax, ReviewQuery::default()).await;
    assert_eq!((page.total, page.rows.len()), (0, 0));
    let page = list_as(&pool, "equipe@pg.com.br", w.pg, ReviewQuery::default()).await;
    assert_eq!(
        page.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![w.c_pg]
    );

    // Bad input is a pt-BR 422, not a database error.
    let claims = common::demo_claims(&pool, "equipe@contmax.com.br").await;
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    let bad = ReviewQuery {
        busca: None,
        after: Some("não-é-um-id".into()),
    };
    assert!(matches!(
        contact_reviews::list(&mut tx, w.contmax, &bad).await,
        Err(Error::Invalid(_))
    ));
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn keyset_pages_cover_the_queue_once_in_order(pool: PgPool) {
    let w = world(&pool).await;
    // 116 more, with ties on the score (the name, then the id, breaks them).
    sqlx::query(
        r#"insert into public.onecode_contatos
             (tenant_id, contact_id, nome, numero, status, motivo, score)
           select $1, 100 + g, 'Contato ' || (g % 7), '55119' || lpad(g::text, 8, '0'),
                  'review', 'semelhanca', 0.82 + (g % 5) / 100.0
           from generate_series(1, 116) g"#,
    )
    .bind(w.contmax)
    .execute(&pool)
    .await
    .unwrap();
    let mut q = ReviewQuery::default();
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let page = list_as(&pool, "admin@contmax.com.br", w.contmax, q.clone()).await;
        assert_eq!(page.total, 120);
        sizes.push(page.rows.len());
        seen.extend(
            page.rows
                .iter()
                .map(|r| (r.score.unwrap_or(0.0), r.nome.clone(), r.id)),
        );
        match page.next_after {
            Some(after) => q.after = Some(after),
            None => break,
        }
    }
    assert_eq!(sizes, vec![50, 50, 20]);
    let mut unique: Vec<Uuid> = seen.iter().map(|s| s.2).collect();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 120, "every contact once");
    assert!(
        seen.windows(2).all(|p| p[0].0 >= p[1].0),
        "best suggestions first"
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn accepting_links_the_company_fills_an_empty_whatsapp_only_and_is_audited(pool: PgPool) {
    let w = world(&pool).await;
    // Staff see the queue but do not decide: a decision may fill a company's WhatsApp,
    // and only admins edit companies.
    let err = decide_as(
        &pool,
        "equipe@contmax.com.br",
        w.contmax,
        w.c_padaria,
        Decision::Accept,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    let staff = common::demo_claims(&pool, "admin@contmax.com.br").await;
    let outcome = decide_as(
        &pool,
        "admin@contmax.com.br",
        w.contmax,
        w.c_padaria,
        Decision::Accept,
    )
    .await
    .unwrap();
    assert_eq!(outcome.empresa.as_deref(), Some("Padaria Sol Ltda"));
    assert!(outcome.whatsapp_preenchido);
    assert_eq!(
        contact_row(&pool, w.c_padaria).await,
        ContactRow {
            status: "matched".into(),
            motivo: "decisao".into(),
            empresa_id: Some(w.padaria),
            decisao: Some("aceita".into()),
            decidido_por: Some(staff.sub),
            decidido: true,
        }
    );
    assert_eq!(whatsapp(&pool, w.padaria).await, "5511911112222");

    // A number a person set stays.
    let outcome = decide_as(
        &pool,
        "admin@contmax.com.br",
        w.contmax,
        w.c_mercado,
        Decision::Accept,
    )
    .await
    .unwrap();
    assert!(!outcome.whatsapp_preenchido);
    assert_eq!(
        contact_row(&pool, w.c_mercado).await.empresa_id,
        Some(w.mercado)
    );
    assert_eq!(whatsapp(&pool, w.mercado).await, "5511900000000");

    // Both are in the trail, with the person, the contact, the company and no full number.
    let audited = decisions_audited(&pool, w.contmax).await;
    assert_eq!(audited.len(), 2);
    assert_eq!(audited[0].0, Some(staff.sub));
    let d = &audited[0].1;
    assert_eq!(d["contato"], "Padaria do Sol");
    assert_eq!(d["decisao"], "aceita");
    assert_eq!(d["empresa"], "Padaria Sol Ltda");
    assert_eq!(d["numero"], "…2222");
    assert!(!d.to_string().contains("5511911112222"));
    let admin = common::demo_claims(&pool, "admin@contmax.com.br").await;
    let mut tx = begin_as(&pool, &admin).await.unwrap();
    let trail = backend::audit::page(
        &mut tx,
        w.contmax,
        &model::AuditQuery {
            action: Some("contact_decided".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let summaries: Vec<&str> = trail.rows.iter().map(|r| r.summary.as_str()).collect();
    assert_eq!(
        summaries,
        vec![
            "Contato “Mercado da Lua” (…4444) vinculado a “Mercado Lua ME” (sugestão aceita).",
            "Contato “Padaria do Sol” (…2222) vinculado a “Padaria Sol Ltda” (sugestão aceita).",
        ]
    );
    assert!(trail.rows.iter().all(|r| r.source == "ui"));
    tx.commit().await.unwrap();

    // Decided contacts leave the queue.
    let page = list_as(
        &pool,
        "admin@contmax.com.br",
        w.contmax,
        ReviewQuery::default(),
    )
    .await;
    assert_eq!(
        page.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![w.c_oficina, w.c_sem_sugestao]
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn choosing_takes_only_the_tenants_companies_and_ignoring_unlinks(pool: PgPool) {
    let w = world(&pool).await;
    let before = contact_row(&pool, w.c_oficina).await;

    // Another tenant's company, by its id: as if it did not exist, and nothing changes.
    let err = decide_as(
        &pool,
        "admin@contmax.com.br",
        w.contmax,
        w.c_oficina,
        Decision::Choose(w.farmacia),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(contact_row(&pool, w.c_oficina).await, before);
    assert_eq!(whatsapp(&pool, w.farmacia).await, "");
    assert!(decisions_audited(&pool, w.contmax).await.is_empty());

    // Another company of the tenant: linked, its empty WhatsApp filled.
    let outcome = decide_as(
        &pool,
        "admin@contmax.com.br",
        w.contmax,
        w.c_oficina,
        Decision::Choose(w.padaria),
    )
    .await
    .unwrap();
    assert_eq!(
        (outcome.empresa.as_deref(), outcome.decisao.as_str()),
        (Some("Padaria Sol Ltda"), "escolhida")
    );
    let row = contact_row(&pool, w.c_oficina).await;
    assert_eq!(
        (row.status.as_str(), row.empresa_id, row.decisao.as_deref()),
        ("matched", Some(w.padaria), Some("escolhida"))
    );
    assert_eq!(whatsapp(&pool, w.padaria).await, "5511955556666");
    assert_eq!(
        whatsapp(&pool, w.oficina).await,
        "",
        "the suggestion is untouched"
    );

    // Ignoring: ignored, linked to nothing, audited as such.
    let outcome = decide_as(
        &pool,
        "admin@contmax.com.br",
        w.contmax,
        w.c_mercado,
        Decision::Ignore,
    )
    .await
    .unwrap();
    assert_eq!(outcome.empresa, None);
    let row = contact_row(&pool, w.c_mercado).await;
    assert_eq!(
        (row.status.as_str(), row.empresa_id, row.decisao.as_deref()),
        ("ignored", None, Some("ignorada"))
    );
    assert_eq!(whatsapp(&pool, w.mercado).await, "5511900000000");
    let audited = decisions_audited(&pool, w.contmax).await;
    assert_eq!(audited.len(), 2);
    assert_eq!(
        backend::audit::summary("contact_decided", &audited[1].1),
        "Contato “Mercado da Lua” (…4444) ignorado."
    );

    // Accepting a contact without a suggestion: there is nothing to accept.
    let err = decide_as(
        &pool,
        "admin@contmax.com.br",
        w.contmax,
        w.c_sem_sugestao,
        Decision::Accept,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn a_contact_is_decided_once_even_by_two_people_at_the_same_moment(pool: PgPool) {
    let w = world(&pool).await;
    decide_as(
        &pool,
        "admin@contmax.com.br",
        w.contmax,
        w.c_padaria,
        Decision::Accept,
    )
    .await
    .unwrap();
    for again in [
        Decision::Accept,
        Decision::Ignore,
        Decision::Choose(w.oficina),
    ] {
        let err = decide_as(&pool, "admin@contmax.com.br", w.contmax, w.c_padaria, again)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{again:?}: {err:?}");
    }
    // A row that carries a decision is never asked about again, whatever its status says.
    let err = decide_as(
        &pool,
        "admin@contmax.com.br",
        w.contmax,
        w.c_decidido,
        Decision::Accept,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");

    // Two people at once: the second waits for the first's row lock, then reads its
    // decision. Exactly one wins.
    let (a, b) = tokio::join!(
        decide_as(
            &pool,
            "admin@contmax.com.br",
            w.contmax,
            w.c_mercado,
            Decision::Accept
        ),
        decide_as(
            &pool,
            "admin@contmax.com.br",
            w.contmax,
            w.c_mercado,
            Decision::Ignore
        ),
    );
    let wins = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(wins, 1, "{a:?} / {b:?}");
    for r in [&a, &b] {
        if let Err(e) = r {
            assert!(matches!(e, Error::Conflict(_)), "{e:?}");
        }
    }
    let mercado: Vec<(Option<Uuid>, serde_json::Value)> = decisions_audited(&pool, w.contmax)
        .await
        .into_iter()
        .filter(|(_, d)| d["contato"] == "Mercado da Lua")
        .collect();
    assert_eq!(mercado.len(), 1, "one decision, one entry");

    // A suggestion that moved since the person looked is not accepted blindly.
    let claims = common::demo_claims(&pool, "admin@contmax.com.br").await;
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    let err = decide_as_shown(
        &mut tx,
        &actor(&claims),
        w.contmax,
        w.c_oficina,
        Decision::Accept,
        Some(w.padaria),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    drop(tx);
    assert_eq!(contact_row(&pool, w.c_oficina).await.decisao, None);
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn other_tenants_cannot_decide_and_members_cannot_write_the_queue(pool: PgPool) {
    let w = world(&pool).await;
    // A P&G admin naming Contmax as the tenant: not a member.
    let err = decide_as(
        &pool,
        "admin@pg.com.br",
        w.contmax,
        w.c_padaria,
        Decision::Ignore,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    // …or naming P&G with Contmax's contact: no such contact in P&G.
    let err = decide_as(
        &pool,
        "admin@pg.com.br",
        w.pg,
        w.c_padaria,
        Decision::Ignore,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(contact_row(&pool, w.c_padaria).await.decisao, None);

    // The company search is the tenant's, under RLS.
    let claims = common::demo_claims(&pool, "admin@pg.com.br").await;
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    let found = contact_reviews::search_companies(&mut tx, w.contmax, "padaria")
        .await
        .unwrap();
    assert!(found.is_empty());
    let found = contact_reviews::search_companies(&mut tx, w.pg, "44.555")
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![w.farmacia]
    );
    tx.commit().await.unwrap();
    let claims = common::demo_claims(&pool, "equipe@contmax.com.br").await;
    let mut tx = begin_as(&pool, &claims).await.unwrap();
    let found = contact_reviews::search_companies(&mut tx, w.contmax, "ESTRELA")
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![w.oficina]
    );
    assert!(contact_reviews::search_companies(&mut tx, w.contmax, "  ")
        .await
        .unwrap()
        .is_empty());
    tx.commit().await.unwrap();

    // Members read the queue but cannot write it, or forge a decision, directly.
    for email in ["admin@contmax.com.br", "ti@contmax.com.br"] {
        let claims = common::demo_claims(&pool, email).await;
        for sql in [
            format!(
                "update public.onecode_contatos set decisao = 'aceita', status = 'matched' where id = '{}'",
                w.c_padaria
            ),
            format!("delete from public.onecode_contatos where id = '{}'", w.c_padaria),
            format!(
                "insert into public.onecode_contatos (tenant_id, contact_id, status, motivo) values ('{}', 99, 'review', 'x')",
                w.contmax
            ),
        ] {
            let mut tx = backend::scope::begin_as(&pool, &claims).await.unwrap();
            let err = sqlx::query(&sql).execute(&mut *tx).await.unwrap_err();
            let code = err
                .as_database_error()
                .and_then(|d| d.code().map(|c| c.into_owned()));
            assert_eq!(code.as_deref(), Some("42501"), "{email}: {sql}");
        }
    }
    assert_eq!(contact_row(&pool, w.c_padaria).await.decisao, None);
}
