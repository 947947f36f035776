//! The organizations a user may switch to, found by name: a platform administrator's
//! header searches them instead of listing hundreds with every page.

use model::TenantRef;

use crate::Result;

/// The most suggestions one search returns.
pub const SEARCH_LIMIT: i64 = 20;

/// The longest text searched for, in characters: no organization's name is longer, and
/// a longer one would only make every comparison dearer.
pub const QUERY_MAX: usize = 100;

/// Organizations the caller may act in (their tenants; every organization for a global
/// admin: `member_tenant_ids()`, as every policy asks) whose name or slug contains `query`,
/// ignoring case: an exact slug first, then an exact name, then by name; at most
/// [`SEARCH_LIMIT`]. Nothing for a text longer than [`QUERY_MAX`].
/// The caller's role in each is their membership's, `admin` for a global admin's others.
pub async fn search(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    query: &str,
) -> Result<Vec<TenantRef>> {
    let query = query.trim();
    // No PostgreSQL text holds a NUL: sent, it would be the database's error (a 500).
    if query.is_empty() || query.chars().count() > QUERY_MAX || query.contains('\0') {
        return Ok(Vec::new());
    }
    // `strpos`, not `like`: what the user typed is text, never a pattern (`%`, `_`).
    // The baseline lets anyone signed in read `organizacoes`: the filter by the caller's
    // tenants is this query's own.
    let found = sqlx::query_as!(
        TenantRef,
        r#"select o.id as "id!", o.nome as "nome!", o.slug as "slug!",
                  coalesce(ut.role, 'admin') as "role!"
           from public.organizacoes o
           left join public.user_tenants ut
             on ut.tenant_id = o.id and ut.user_id = (select auth.uid())
           where o.id = any ((select public.member_tenant_ids())::uuid[])
             and (strpos(lower(o.nome), lower($1)) > 0 or strpos(lower(o.slug), lower($1)) > 0)
           order by lower(o.slug) = lower($1) desc, lower(o.nome) = lower($1) desc, o.nome, o.slug
           limit $2"#,
        query,
        SEARCH_LIMIT
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(found)
}

/// The one organization the caller may act in that `text` names: its slug, or else its
/// whole name when no other of the caller's organizations has it (both ignoring case).
pub async fn resolve(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    text: &str,
) -> Result<Option<TenantRef>> {
    let text = text.trim();
    let found = search(tx, text).await?;
    let wanted = text.to_lowercase();
    if let Some(by_slug) = found.iter().find(|t| t.slug.to_lowercase() == wanted) {
        return Ok(Some(by_slug.clone()));
    }
    let mut by_name = found
        .into_iter()
        .filter(|t| t.nome.to_lowercase() == wanted);
    Ok(match (by_name.next(), by_name.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    })
}
