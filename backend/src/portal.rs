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
