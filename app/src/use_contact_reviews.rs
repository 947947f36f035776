//! *Revisar contatos* (OneCode): the server functions of the review queue on
//! `/integracoes/onecode`. Reads run as the caller under row-level security; a decision is
//! checked as the caller and written by the server (members have no write grant).

use leptos::prelude::*;
use model::{CompanyChoice, ReviewOutcome, ReviewPage};

#[cfg(feature = "ssr")]
use crate::ssr;

/// The provider whose detail page has the review queue and the webhook address.
pub const ONECODE: &str = "onecode";

#[cfg(feature = "ssr")]
fn invalid(message: &str) -> ServerFnError {
    ssr::fail(backend::Error::Invalid(message.to_owned()))
}

/// A page of the current tenant's contacts waiting for review, best suggestions first.
#[server(endpoint = "contact-reviews")]
pub async fn load_contact_reviews(
    busca: Option<String>,
    after: Option<String>,
) -> Result<ReviewPage, ServerFnError> {
    let (_, _, tenant, mut tx) = ssr::tenant_scope().await?;
    let page =
        backend::contact_reviews::list(&mut tx, tenant, &model::ReviewQuery { busca, after })
            .await
            .map_err(ssr::fail)?;
    ssr::end_read(tx);
    Ok(page)
}

/// "Escolher outra empresa": the current tenant's companies by name or CNPJ (up to 10).
#[server(endpoint = "review-companies")]
pub async fn search_review_companies(busca: String) -> Result<Vec<CompanyChoice>, ServerFnError> {
    let (_, _, tenant, mut tx) = ssr::tenant_scope().await?;
    let found = backend::contact_reviews::search_companies(&mut tx, tenant, &busca)
        .await
        .map_err(ssr::fail)?;
    ssr::end_read(tx);
    Ok(found)
}

/// *Aceitar* (`decisao = aceita`, with the `sugestao` the person saw), *Escolher outra
/// empresa* (`escolhida` with `empresa_id`) or *Ignorar* (`ignorada`) for a contact of the
/// current tenant. Tenant admins decide (403 otherwise); a contact decided already is a 409.
#[server(endpoint = "decide-contact")]
pub async fn decide_contact(
    contato_id: String,
    decisao: String,
    empresa_id: Option<String>,
    sugestao: Option<String>,
) -> Result<ReviewOutcome, ServerFnError> {
    let decision =
        model::ReviewDecision::from_form(&decisao, empresa_id.as_deref()).map_err(invalid)?;
    let contato =
        uuid::Uuid::parse_str(contato_id.trim()).map_err(|_| invalid("Contato inválido."))?;
    let shown = match sugestao.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(uuid::Uuid::parse_str(s).map_err(|_| invalid("Sugestão inválida."))?),
        None => None,
    };
    let (_, user, tenant, mut tx) = ssr::tenant_scope().await?;
    let actor = ssr::actor(&user).await;
    let outcome = backend::contact_reviews::decide_as_shown(
        &mut tx, &actor, tenant, contato, decision, shown,
    )
    .await
    .map_err(ssr::fail)?;
    ssr::commit(tx).await?;
    Ok(outcome)
}
