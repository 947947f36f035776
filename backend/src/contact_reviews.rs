//! *Revisar contatos*: the OneCode contacts the matcher could not place with certainty
//! (`onecode_contatos.status = 'review'`), and the decisions people make about them.
//!
//! Reads run as the caller, under row-level security (members read the queue and the
//! tenant's companies). A decision is checked as the caller (a member of the tenant, the
//! same people who may run its integrations), then written as `service_role` — members
//! have no write grant on the queue — in the caller's transaction, with its audit entry:
//! the contact's row is locked and re-read first, so two people deciding at once get one
//! decision and one 409. The sync keeps every row that has a `decisao`, so a decision is
//! asked once.

use serde_json::json;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::audit::{self, Action, Actor};
use crate::scope::{elevate, restore_role};
use crate::{Error, Result};
use model::reviews::{COMPANY_SEARCH_LIMIT, REVIEW_PAGE_SIZE, REVIEW_SEARCH_MAX};
use model::{CompanyChoice, ReviewItem, ReviewOutcome, ReviewPage, ReviewQuery};

pub use model::ReviewDecision as Decision;

/// The provider whose queue this is (the audit entries name its tenant integration).
const SLUG: &str = "onecode";

/// A search text made safe: trimmed, bounded, without LIKE's wildcards; `None` when empty.
/// Returns the `ILIKE` pattern and the digits (for phones and CNPJs), when any.
fn search_terms(text: Option<&str>) -> Result<(Option<String>, Option<String>)> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok((None, None));
    };
    if text.chars().count() > REVIEW_SEARCH_MAX {
        return Err(Error::Invalid(format!(
            "A busca aceita no máximo {REVIEW_SEARCH_MAX} caracteres."
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "A busca contém caracteres inválidos.".into(),
        ));
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let pattern = format!("%{}%", text.replace(['%', '_', '\\'], ""));
    Ok((Some(pattern), Some(digits).filter(|d| !d.is_empty())))
}

/// A page of the tenant's contacts waiting for a person (in review, undecided), the most
/// likely suggestions first, then by name; filtered by `q.busca` (the contact's name or
/// phone, or the suggested company's name or CNPJ). Keyset pages of
/// [`REVIEW_PAGE_SIZE`] after the contact `q.after`.
pub async fn list(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    q: &ReviewQuery,
) -> Result<ReviewPage> {
    let (pattern, digits) = search_terms(q.busca.as_deref())?;
    let after = match q.after.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => Some(Uuid::parse_str(a).map_err(|_| Error::Invalid("Página inválida.".into()))?),
        None => None,
    };
    let total = sqlx::query_scalar!(
        r#"select count(*) as "n!"
           from public.onecode_contatos c
           left join public.empresas e on e.id = c.sugestao_empresa_id
           where c.tenant_id = $1 and c.status = 'review' and c.decisao is null
             and ($2::text is null or c.nome ilike $2 or e.nome ilike $2
                  or ($3::text is not null
                      and (c.numero like '%' || $3 || '%'
                           or regexp_replace(e.cnpj, '\D', '', 'g') like $3 || '%')))"#,
        tenant_id,
        pattern,
        digits
    )
    .fetch_one(&mut **tx)
    .await?;
    // Score descending, then name and id ascending: the cursor row's own values bound the
    // page (mixed directions, so spelled out rather than one row comparison).
    let rows = sqlx::query!(
        r#"select c.id, c.nome, c.numero, c.score, c.motivo,
                  e.id as "sugestao_id?", e.nome as "sugestao_nome?", e.cnpj as "sugestao_cnpj?",
                  (nullif(e.data_baixa, '') is not null) as "sugestao_baixada?"
           from public.onecode_contatos c
           left join public.empresas e on e.id = c.sugestao_empresa_id
           where c.tenant_id = $1 and c.status = 'review' and c.decisao is null
             and ($2::text is null or c.nome ilike $2 or e.nome ilike $2
                  or ($3::text is not null
                      and (c.numero like '%' || $3 || '%'
                           or regexp_replace(e.cnpj, '\D', '', 'g') like $3 || '%')))
             and ($4::uuid is null or exists (
                   select 1 from public.onecode_contatos k
                   where k.id = $4 and k.tenant_id = $1
                     and (coalesce(c.score, 0) < coalesce(k.score, 0)
                          or (coalesce(c.score, 0) = coalesce(k.score, 0)
                              and (c.nome, c.id) > (k.nome, k.id)))))
           order by coalesce(c.score, 0) desc, c.nome, c.id
           limit $5"#,
        tenant_id,
        pattern,
        digits,
        after,
        REVIEW_PAGE_SIZE + 1
    )
    .fetch_all(&mut **tx)
    .await?;
    let more = rows.len() as i64 > REVIEW_PAGE_SIZE;
    let rows: Vec<ReviewItem> = rows
        .into_iter()
        .take(usize::try_from(REVIEW_PAGE_SIZE).unwrap_or(50))
        .map(|r| ReviewItem {
            id: r.id,
            nome: r.nome,
            numero: r.numero,
            score: r.score,
            motivo: r.motivo,
            sugestao: match (r.sugestao_id, r.sugestao_nome) {
                (Some(id), Some(nome)) => Some(CompanyChoice {
                    id,
                    nome,
                    cnpj: r.sugestao_cnpj.unwrap_or_default(),
                    baixada: r.sugestao_baixada.unwrap_or(false),
                }),
                _ => None,
            },
        })
        .collect();
    let next_after = if more {
        rows.last().map(|r| r.id.to_string())
    } else {
        None
    };
    Ok(ReviewPage {
        total,
        rows,
        next_after,
    })
}

/// Up to [`COMPANY_SEARCH_LIMIT`] of the tenant's companies whose name contains `text` or
/// whose CNPJ/CPF starts with its digits, open ones first (for "Escolher outra empresa").
/// As the caller; an empty text finds nothing.
pub async fn search_companies(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    text: &str,
) -> Result<Vec<CompanyChoice>> {
    let (Some(pattern), digits) = search_terms(Some(text))? else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query!(
        r#"select e.id, e.nome, e.cnpj, (nullif(e.data_baixa, '') is not null) as "baixada!"
           from public.empresas e
           where e.organizacao_id = $1
             and (e.nome ilike $2
                  or ($3::text is not null and regexp_replace(e.cnpj, '\D', '', 'g') like $3 || '%'))
           order by (nullif(e.data_baixa, '') is not null), e.nome, e.id
           limit $4"#,
        tenant_id,
        pattern,
        digits,
        COMPANY_SEARCH_LIMIT
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| CompanyChoice {
            id: r.id,
            nome: r.nome,
            cnpj: r.cnpj,
            baixada: r.baixada,
        })
        .collect())
}

/// Records a person's decision about a contact in review (see [`decide_as_shown`]).
pub async fn decide(
    tx: &mut Transaction<'static, Postgres>,
    actor: &Actor,
    tenant_id: Uuid,
    contato_id: Uuid,
    decision: Decision,
) -> Result<ReviewOutcome> {
    decide_as_shown(tx, actor, tenant_id, contato_id, decision, None).await
}

/// Records a person's decision about a contact in review, in `tx` (the caller's, from
/// [`crate::scope::begin_as`]): tenant admins decide (a decision may fill a company's
/// WhatsApp, and only admins edit companies). Accepting or choosing links the company at once and gives it the
/// contact's number when its WhatsApp is empty (a number a person set is kept); ignoring
/// leaves the contact unlinked. Audited as `contact_decided`.
///
/// `shown` is the suggestion the person saw: when the sync has suggested another company
/// since, accepting is refused (409) instead of linking a company nobody looked at.
///
/// Errors: 403 not a tenant admin; 404 no such contact in this tenant, or a chosen company that
/// is not the tenant's; 409 already decided / no longer in review / nothing to accept.
pub async fn decide_as_shown(
    tx: &mut Transaction<'static, Postgres>,
    actor: &Actor,
    tenant_id: Uuid,
    contato_id: Uuid,
    decision: Decision,
    shown: Option<Uuid>,
) -> Result<ReviewOutcome> {
    // Tenant admins decide: accepting or choosing fills the company's WhatsApp, and only
    // admins edit companies (the customer's `empresas` policies).
    crate::scope::require_tenant_admin(
        tx,
        tenant_id,
        "Apenas administradores da organização decidem sobre os contatos.",
    )
    .await?;
    let previous = elevate(tx).await?;
    let written = write_decision(tx, tenant_id, contato_id, decision, shown).await;
    // Back to the caller's role whatever happened, so the transaction never stays elevated;
    // the decision's own error, if any, is the one reported.
    let restored = restore_role(tx, &previous).await;
    let (outcome, numero) = written?;
    restored?;
    audit::record(
        tx,
        actor,
        tenant_id,
        Some(SLUG),
        Action::ContactDecided,
        json!({
            "contato": outcome.contato,
            "numero": numero,
            "decisao": outcome.decisao,
            "empresa": outcome.empresa,
        }),
    )
    .await?;
    Ok(outcome)
}

/// The last four digits of a phone as the audit keeps it (`…4321`): enough to tell two
/// contacts of the same name apart, not the person's number.
fn phone_tail(numero: &str) -> String {
    let digits: Vec<char> = numero.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        0 => String::new(),
        n => format!(
            "…{}",
            digits[n.saturating_sub(4)..].iter().collect::<String>()
        ),
    }
}

/// The decision's writes, as `service_role` (the caller was checked): the outcome and the
/// contact's phone as the audit shows it.
async fn write_decision(
    tx: &mut Transaction<'static, Postgres>,
    tenant_id: Uuid,
    contato_id: Uuid,
    decision: Decision,
    shown: Option<Uuid>,
) -> Result<(ReviewOutcome, String)> {
    // Locked, then checked: a second decision waits here for the first one's commit and
    // then reads it (read committed re-reads a row it waited for).
    let contact = sqlx::query!(
        r#"select c.nome, c.numero, c.status, c.decisao, c.sugestao_empresa_id
           from public.onecode_contatos c
           where c.id = $1 and c.tenant_id = $2
           for update"#,
        contato_id,
        tenant_id
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| Error::NotFound("Contato não encontrado nesta organização.".into()))?;
    if contact.decisao.is_some() || contact.status != "review" {
        return Err(Error::Conflict(
            "Este contato já foi decidido (ou não está mais em revisão). Atualize a lista.".into(),
        ));
    }
    let company = match decision {
        Decision::Ignore => None,
        Decision::Accept => {
            let Some(suggested) = contact.sugestao_empresa_id else {
                return Err(Error::Conflict(
                    "Este contato não tem empresa sugerida: escolha uma empresa.".into(),
                ));
            };
            if shown.is_some_and(|s| s != suggested) {
                return Err(Error::Conflict(
                    "A sugestão deste contato mudou desde que a lista foi aberta. Atualize a lista."
                        .into(),
                ));
            }
            Some(suggested)
        }
        // Never trusted as sent: the company must be this tenant's.
        Decision::Choose(id) => Some(id),
    };
    let company = match company {
        None => None,
        Some(id) => Some(
            sqlx::query!(
                "select e.id, e.nome from public.empresas e where e.id = $1 and e.organizacao_id = $2",
                id,
                tenant_id
            )
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| Error::NotFound("Empresa não encontrada nesta organização.".into()))?,
        ),
    };
    let status = if company.is_some() {
        "matched"
    } else {
        "ignored"
    };
    sqlx::query!(
        r#"update public.onecode_contatos
           set status = $3, motivo = 'decisao', empresa_id = $4, decisao = $5,
               decidido_por = auth.uid(), decidido_em = now(), updated_at = now()
           where id = $1 and tenant_id = $2"#,
        contato_id,
        tenant_id,
        status,
        company.as_ref().map(|c| c.id),
        decision.as_str()
    )
    .execute(&mut **tx)
    .await?;
    let mut filled = false;
    if let Some(c) = &company {
        // A number a person set on the company is theirs: only an empty one is filled.
        filled = sqlx::query!(
            r#"update public.empresas set whatsapp = $3, updated_at = now()
               where id = $1 and organizacao_id = $2 and coalesce(whatsapp, '') = ''
                 and $3 <> ''"#,
            c.id,
            tenant_id,
            contact.numero.trim()
        )
        .execute(&mut **tx)
        .await?
        .rows_affected()
            > 0;
    }
    Ok((
        ReviewOutcome {
            contato: contact.nome,
            empresa: company.map(|c| c.nome),
            decisao: decision.as_str().to_owned(),
            whatsapp_preenchido: filled,
        },
        phone_tail(&contact.numero),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_drop_wildcards_and_keep_digits() {
        assert_eq!(search_terms(None).unwrap(), (None, None));
        assert_eq!(search_terms(Some("  ")).unwrap(), (None, None));
        assert_eq!(
            search_terms(Some(" 12.345%_ ")).unwrap(),
            (Some("%12.345%".into()), Some("12345".into()))
        );
        assert_eq!(
            search_terms(Some("Padaria")).unwrap(),
            (Some("%Padaria%".into()), None)
        );
        assert!(search_terms(Some(&"x".repeat(REVIEW_SEARCH_MAX + 1))).is_err());
        assert!(search_terms(Some("a\nb")).is_err());
    }

    #[test]
    fn the_audit_keeps_the_last_four_digits_only() {
        assert_eq!(phone_tail("5511987654321"), "…4321");
        assert_eq!(phone_tail("12"), "…12");
        assert_eq!(phone_tail(""), "");
    }
}
