//! The portal home: its module grid.

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use model::ModuleCard;

/// The active modules of the portal for one tenant: the global ones and the tenant's own,
/// in their order. Row-level security already hides other tenants' modules; the tenant
/// filter picks the one chosen in the header among the caller's tenants.
pub async fn modules_for_tenant(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
) -> sqlx::Result<Vec<ModuleCard>> {
    sqlx::query_as!(
        ModuleCard,
        r#"select m.id, m.nome, m.slug, m.descricao,
                  coalesce(m.icone, 'LayoutDashboard') as "icone!"
           from public.modules m
           where m.ativo and (m.organizacao_id is null or m.organizacao_id = $1)
           order by m.ordem, m.nome"#,
        tenant_id
    )
    .fetch_all(&mut **tx)
    .await
}

/// The tenant's companies by name (at most [`model::EMPRESAS_PAGE_SIZE`], filtered by name
/// or CNPJ digits when `search` is given), with their WhatsApp and their deliveries pending
/// this month (the month in Brasília, whatever the database's time zone).
/// Runs as the caller: row-level security is the boundary, the tenant filter the choice.
pub async fn empresas(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    search: Option<&str>,
) -> sqlx::Result<model::EmpresasPage> {
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    let digits: Option<String> = search
        .map(|s| s.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|d| !d.is_empty());
    let pattern = search.map(|s| format!("%{}%", s.replace(['%', '_', '\\'], "")));
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!" from public.empresas e
           where e.organizacao_id = $1
             and ($2::text is null or e.nome ilike $2
                  or ($3::text is not null and regexp_replace(e.cnpj, '\D', '', 'g') like $3 || '%'))"#,
        tenant_id,
        pattern,
        digits
    )
    .fetch_one(&mut **tx)
    .await?;
    let rows = sqlx::query_as!(
        model::EmpresaRow,
        r#"select e.id, e.nome, e.cnpj, e.regime_tributario, nullif(btrim(e.whatsapp), '') as whatsapp,
                  nullif(e.data_baixa, '') as data_baixa,
                  e.external_source,
                  (select count(*) from public.acessorias_entregas a
                   where a.empresa_id = e.id
                     and a.prazo >= date_trunc('month', (now() at time zone 'America/Sao_Paulo')::date)::date
                     and a.prazo < (date_trunc('month', (now() at time zone 'America/Sao_Paulo')::date) + interval '1 month')::date
                     and a.data_entrega is null) as "entregas_pendentes_mes!"
           from public.empresas e
           where e.organizacao_id = $1
             and ($2::text is null or e.nome ilike $2
                  or ($3::text is not null and regexp_replace(e.cnpj, '\D', '', 'g') like $3 || '%'))
           order by e.nome, e.id
           limit $4"#,
        tenant_id,
        pattern,
        digits,
        model::EMPRESAS_PAGE_SIZE
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(model::EmpresasPage { total, rows })
}
