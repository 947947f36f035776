//! The tenant's companies (`empresas`) found by CNPJ/CPF digits: a synced company by its
//! `external_key`, one a person typed by the digits of its `cnpj`. Both are index scans
//! (migration 0007). Matching never guesses: a document that names two companies is
//! ambiguous and left for a person (a connector may still recognise the one row it wrote
//! itself among them, [`Match::own`]).

use std::collections::HashMap;

use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::state::db_error;
use crate::providers::ProviderError;

#[derive(Debug, Clone)]
pub struct Existing {
    pub id: Uuid,
    pub hash_payload: Option<String>,
    pub data_baixa: Option<String>,
    pub external_source: Option<String>,
    pub external_key: Option<String>,
    /// The provider's `Status` in the payload the last sync stored, if any.
    pub synced_status: Option<String>,
}

/// What a document matches among the tenant's companies.
#[derive(Debug, Clone)]
pub enum Match {
    None,
    One(Existing),
    /// More than one company has this document: the candidates, for a person to decide
    /// (a connector may recognise its own row among them, see [`Match::own`]).
    Ambiguous(Vec<Existing>),
}

impl Match {
    /// The one row `source` itself wrote for `key`, when the document matches several
    /// companies and exactly one of them is that sync's own (a person typed a duplicate
    /// after the sync created it): updating its own row is not a guess.
    pub fn own(&self, source: &str, key: &str) -> Option<&Existing> {
        let Match::Ambiguous(candidates) = self else {
            return None;
        };
        let mut own = candidates.iter().filter(|e| {
            e.external_source.as_deref() == Some(source) && e.external_key.as_deref() == Some(key)
        });
        match (own.next(), own.next()) {
            (Some(e), None) => Some(e),
            _ => None,
        }
    }
}

/// The companies of `tenant` whose document is one of `keys` (digits), by key.
pub async fn by_document(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
    keys: &[String],
) -> Result<HashMap<String, Match>, ProviderError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    // Planned for these keys and the table as it is now, never from a generic plan cached
    // while it was small: a first sync grows a tenant's companies from none to thousands
    // in one connection's life, and a plan cached at the start scans them all per page
    // (100,000 companies took minutes instead of seconds: `make bench`).
    crate::scope::plan_for_bound_values(tx)
        .await
        .map_err(db_error)?;
    let rows = sqlx::query!(
        r#"select id, external_key, regexp_replace(cnpj, '\D', '', 'g') as "digits!",
                  hash_payload, data_baixa, external_source,
                  raw_payload ->> 'Status' as synced_status
           from public.empresas
           where organizacao_id = $1
             and (external_key = any($2) or regexp_replace(cnpj, '\D', '', 'g') = any($2))"#,
        tenant,
        keys
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(db_error)?;
    let mut found: HashMap<String, Vec<Existing>> = HashMap::new();
    for r in rows {
        let e = Existing {
            id: r.id,
            hash_payload: r.hash_payload,
            data_baixa: r.data_baixa,
            external_source: r.external_source,
            external_key: r.external_key.clone(),
            synced_status: r.synced_status,
        };
        // A company is found under its synced key, and under its typed document when that
        // differs (a row is counted once per key).
        let mut under: Vec<String> = Vec::with_capacity(2);
        if let Some(k) = r.external_key.filter(|k| !k.is_empty()) {
            under.push(k);
        }
        if !under.contains(&r.digits) {
            under.push(r.digits);
        }
        for k in under {
            found.entry(k).or_default().push(e.clone());
        }
    }
    Ok(keys
        .iter()
        .map(|k| {
            let m = match found.remove(k) {
                None => Match::None,
                Some(mut v) if v.len() == 1 => Match::One(v.remove(0)),
                Some(v) => Match::Ambiguous(v),
            };
            (k.clone(), m)
        })
        .collect())
}

/// Serialises the writers of one tenant's companies (two syncs of different providers, or
/// a retry racing a late attempt): look-up and insert happen under the same lock, so a
/// document is never inserted twice. Held until the transaction ends.
pub async fn lock_tenant(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
) -> Result<(), ProviderError> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('empresas:' || $1::text, 0))",
        tenant.to_string()
    )
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(())
}
