//! From OneCode contacts to `onecode_contatos` (and `empresas.whatsapp`): each contact of a
//! page is matched ([`super::matcher`]) unless a person already decided about it, stored
//! when something changed, and a matched company whose `whatsapp` is empty gets the
//! contact's number. One transaction per page (the sync adds its checkpoint to it; the
//! webhook its events' status).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::matcher::{self, Companies, Company, Contact, Motivo, Thresholds, Verdict};
use crate::providers::common::empresas;
use crate::providers::common::payload;
use crate::providers::common::state::db_error;
use crate::providers::ProviderError;

/// Totals of contacts: `processed = matched + review + ignored + failed`; `created`,
/// `updated` and `unchanged` say what was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tally {
    pub processed: i32,
    pub matched: i32,
    pub review: i32,
    pub ignored: i32,
    pub failed: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    /// Companies whose empty `whatsapp` a match filled.
    pub whatsapp_filled: i32,
}

impl Tally {
    pub fn add(&mut self, o: Tally) {
        self.processed += o.processed;
        self.matched += o.matched;
        self.review += o.review;
        self.ignored += o.ignored;
        self.failed += o.failed;
        self.created += o.created;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.whatsapp_filled += o.whatsapp_filled;
    }
}

/// Where the contacts' pass of one execution stands (a retry of the same execution
/// resumes at `next_page` and reports the whole execution's totals).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ContactsState {
    pub execution_id: Option<Uuid>,
    pub next_page: u32,
    pub tally: Tally,
    /// Pages the last complete pass had (what progress measures against).
    pub last_pages: Option<u32>,
}

pub const CONTACTS: &str = "contacts";

/// Every `motivo` a row may hold (a kept link keeps the one it was made with).
const MOTIVOS: &[&str] = &[
    "vinculo",
    "telefone",
    "cnpj",
    "nome",
    "decisao",
    "grupo",
    "bloqueado",
    "ambiguo",
    "semelhanca",
    "sem_correspondencia",
];

/// A contact of the API as the matcher sees it, its id and the hash of what matters.
pub struct Parsed {
    pub id: i64,
    pub contact: Contact,
    pub hash: String,
}

/// The most of a contact the portal reads: a name's first 150 characters, a number's 32,
/// ten `extraInfo` values of 100.
pub const MAX_NAME: usize = 150;
const MAX_NUMBER: usize = 32;
const MAX_EXTRA: usize = 10;
const MAX_EXTRA_LEN: usize = 100;

/// `None` when the record has no numeric `id` (it cannot be stored: counted as failed).
pub fn parse(v: &Value) -> Option<Parsed> {
    let id = match v.get("id")? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    // Bounded, whatever the provider (or a webhook) sends: names are matched word by word
    // against every company, and `nome` is indexed.
    let text = |k: &str, max: usize| -> String {
        let t = v.get(k).and_then(Value::as_str).unwrap_or("").trim();
        t.chars().filter(|c| *c != '\0').take(max).collect()
    };
    let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    let extra: Vec<String> = v
        .get("extraInfo")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("value").and_then(Value::as_str))
                .take(MAX_EXTRA)
                .map(|s| s.chars().take(MAX_EXTRA_LEN).collect())
                .collect()
        })
        .unwrap_or_default();
    let contact = Contact {
        name: text("name", MAX_NAME),
        number: text("number", MAX_NUMBER),
        is_group: flag("isGroup"),
        blocked: flag("blocked"),
        extra,
    };
    // What decides the match; e-mails, pictures, tags and times are not kept.
    let hash = payload::hash(&json!({
        "name": contact.name, "number": contact.number, "isGroup": contact.is_group,
        "blocked": contact.blocked, "extra": contact.extra,
    }));
    Some(Parsed { id, contact, hash })
}

/// The tenant's companies, prepared for matching (one query per run).
pub async fn load_companies(db: &sqlx::PgPool, tenant: Uuid) -> Result<Companies, ProviderError> {
    let mut tx = crate::scope::begin_service(db).await.map_err(db_error)?;
    let companies = load_companies_in(&mut tx, tenant).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(companies)
}

/// [`load_companies`] in a transaction the caller holds (no second connection).
pub async fn load_companies_in(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
) -> Result<Companies, ProviderError> {
    let rows = sqlx::query!(
        r#"select id, nome, regexp_replace(cnpj, '\D', '', 'g') as "digits!", external_key,
                  coalesce(whatsapp, '') as "whatsapp!"
           from public.empresas where organizacao_id = $1"#,
        tenant
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(Companies::new(
        rows.into_iter()
            .map(|r| {
                let mut docs = vec![r.digits];
                if let Some(k) = r
                    .external_key
                    .filter(|k| !k.is_empty() && !docs.contains(k))
                {
                    docs.push(k);
                }
                docs.retain(|d| !d.is_empty());
                Company::new(r.id, &r.nome, docs, &r.whatsapp)
            })
            .collect(),
    ))
}

struct Stored {
    empresa_id: Option<Uuid>,
    sugestao: Option<Uuid>,
    status: String,
    motivo: String,
    score: Option<f32>,
    decisao: Option<String>,
    hash: Option<String>,
}

/// What a contact's row should hold.
struct Row {
    id: i64,
    nome: String,
    numero: String,
    is_group: bool,
    bloqueado: bool,
    status: &'static str,
    motivo: &'static str,
    score: Option<f32>,
    empresa: Option<Uuid>,
    sugestao: Option<Uuid>,
    hash: String,
    /// A person's decision that no longer holds (its company is gone): cleared.
    clear_decision: bool,
}

/// Matches and stores `contacts` in `tx` (the tenant's companies locked for it). Contacts
/// whose row would not change are not written.
pub async fn write_contacts(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
    contacts: &[Value],
    companies: &mut Companies,
    t: Thresholds,
) -> Result<Tally, ProviderError> {
    let mut tally = Tally {
        processed: contacts.len() as i32,
        ..Tally::default()
    };
    // The last occurrence of a contact in the batch wins.
    let mut parsed: Vec<Parsed> = Vec::with_capacity(contacts.len());
    for v in contacts {
        match parse(v) {
            None => tally.failed += 1,
            Some(p) => {
                // Counted once.
                if let Some(i) = parsed.iter().position(|x| x.id == p.id) {
                    parsed.remove(i);
                    tally.processed -= 1;
                }
                parsed.push(p);
            }
        }
    }
    if parsed.is_empty() {
        return Ok(tally);
    }
    empresas::lock_tenant(tx, tenant).await?;
    let ids: Vec<i64> = parsed.iter().map(|p| p.id).collect();
    // Locked, so that a decision a person makes meanwhile waits for this page, then wins.
    let stored: HashMap<i64, Stored> = sqlx::query!(
        r#"select contact_id, empresa_id, sugestao_empresa_id, status, motivo, score, decisao,
                  hash_payload
           from public.onecode_contatos
           where tenant_id = $1 and contact_id = any($2)
           for update"#,
        tenant,
        &ids
    )
    .fetch_all(&mut **tx)
    .await
    .map_err(db_error)?
    .into_iter()
    .map(|r| {
        (
            r.contact_id,
            Stored {
                empresa_id: r.empresa_id,
                sugestao: r.sugestao_empresa_id,
                status: r.status,
                motivo: r.motivo,
                score: r.score,
                decisao: r.decisao,
                hash: r.hash_payload,
            },
        )
    })
    .collect();

    let mut rows: Vec<Row> = Vec::new();
    let mut fill: Vec<(Uuid, String)> = Vec::new();
    for p in parsed {
        let old = stored.get(&p.id);
        let decided = old.and_then(|o| o.decisao.as_deref());
        let mut clear_decision = false;
        let verdict = match (decided, old.and_then(|o| o.empresa_id)) {
            (Some("ignorada"), _) => Some(Verdict::Ignored {
                motivo: Motivo::Vinculo,
                score: None,
            }),
            (Some(_), Some(company)) if companies.get(company).is_some() => {
                Some(Verdict::Matched {
                    company,
                    motivo: Motivo::Vinculo,
                    score: None,
                })
            }
            (Some(_), _) => {
                clear_decision = true;
                None
            }
            (None, _) => None,
        };
        let verdict = verdict.unwrap_or_else(|| {
            let linked = old
                .filter(|o| o.status == "matched" && o.decisao.is_none())
                .and_then(|o| o.empresa_id);
            matcher::decide(&p.contact, companies, t, linked)
        });
        let (status, motivo, score, empresa, sugestao) = match &verdict {
            Verdict::Matched {
                company,
                motivo,
                score,
            } => ("matched", *motivo, *score, Some(*company), None),
            Verdict::Review {
                suggestion,
                motivo,
                score,
            } => ("review", *motivo, *score, None, *suggestion),
            Verdict::Ignored { motivo, score } => ("ignored", *motivo, *score, None, None),
        };
        // A decision is shown as such: its motivo is `decisao`. A link kept from an earlier
        // sync keeps the reason and score it was made with.
        let kept_link = motivo == Motivo::Vinculo && decided.is_none();
        let (motivo, score): (&str, Option<f64>) = match old {
            Some(o) if kept_link && o.empresa_id == empresa => {
                let reason = MOTIVOS
                    .iter()
                    .find(|m| **m == o.motivo)
                    .copied()
                    .unwrap_or("vinculo");
                (reason, o.score.map(f64::from))
            }
            // A decided row keeps what the person saw (score, suggestion).
            Some(o) if decided.is_some() && !clear_decision => ("decisao", o.score.map(f64::from)),
            _ => (motivo.as_str(), score),
        };
        let sugestao = match old {
            Some(o) if decided.is_some() && !clear_decision => o.sugestao,
            _ => sugestao,
        };
        match status {
            "matched" => tally.matched += 1,
            "review" => tally.review += 1,
            _ => tally.ignored += 1,
        }
        if let Some(company) = empresa {
            if companies.get(company).is_some_and(|c| c.whatsapp_empty)
                && !p.contact.number.is_empty()
            {
                fill.push((company, p.contact.number.clone()));
                companies.whatsapp_filled(company, &p.contact.number);
            }
        }
        let score = score.map(|s| s as f32);
        let same = old.is_some_and(|o| {
            o.hash.as_deref() == Some(p.hash.as_str())
                && o.status == status
                && o.motivo == motivo
                && o.empresa_id == empresa
                && o.sugestao == sugestao
                && match (o.score, score) {
                    (Some(a), Some(b)) => (a - b).abs() < 1e-4,
                    (None, None) => true,
                    _ => false,
                }
                && !clear_decision
        });
        if same {
            tally.unchanged += 1;
            continue;
        }
        rows.push(Row {
            id: p.id,
            nome: p.contact.name,
            numero: p.contact.number,
            is_group: p.contact.is_group,
            bloqueado: p.contact.blocked,
            status,
            motivo,
            score,
            empresa,
            sugestao,
            hash: p.hash,
            clear_decision,
        });
    }

    if !rows.is_empty() {
        let inserted: Vec<bool> = sqlx::query_scalar!(
            r#"insert into public.onecode_contatos as c
                 (tenant_id, contact_id, nome, numero, is_group, bloqueado, status, motivo, score,
                  empresa_id, sugestao_empresa_id, hash_payload)
               select $1, u.* from unnest($2::bigint[], $3::text[], $4::text[], $5::bool[],
                                          $6::bool[], $7::text[], $8::text[], $9::real[],
                                          $10::uuid[], $11::uuid[], $12::text[]) as u
               on conflict (tenant_id, contact_id) do update set
                 nome = excluded.nome, numero = excluded.numero, is_group = excluded.is_group,
                 bloqueado = excluded.bloqueado, status = excluded.status,
                 motivo = excluded.motivo, score = excluded.score,
                 empresa_id = excluded.empresa_id,
                 sugestao_empresa_id = excluded.sugestao_empresa_id,
                 hash_payload = excluded.hash_payload,
                 decisao = case when c.contact_id = any($13::bigint[]) then null else c.decisao end,
                 decidido_por = case when c.contact_id = any($13::bigint[]) then null
                                     else c.decidido_por end,
                 decidido_em = case when c.contact_id = any($13::bigint[]) then null
                                    else c.decidido_em end,
                 synced_at = now(), updated_at = now()
               returning (xmax = 0) as "inserted!""#,
            tenant,
            &rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.nome.clone()).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.numero.clone()).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.is_group).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.bloqueado).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.status.to_owned()).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.motivo.to_owned()).collect::<Vec<_>>(),
            &rows.iter().map(|r| r.score).collect::<Vec<Option<f32>>>() as &[Option<f32>],
            &rows
                .iter()
                .map(|r| r.empresa)
                .collect::<Vec<Option<Uuid>>>() as &[Option<Uuid>],
            &rows
                .iter()
                .map(|r| r.sugestao)
                .collect::<Vec<Option<Uuid>>>() as &[Option<Uuid>],
            &rows.iter().map(|r| r.hash.clone()).collect::<Vec<_>>(),
            &rows
                .iter()
                .filter(|r| r.clear_decision)
                .map(|r| r.id)
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(db_error)?;
        let created = inserted.iter().filter(|i| **i).count() as i32;
        tally.created += created;
        tally.updated += inserted.len() as i32 - created;
    }
    if !fill.is_empty() {
        // Only a company whose `whatsapp` is still empty: a number a person set stays.
        let filled = sqlx::query!(
            r#"update public.empresas e set whatsapp = u.numero, updated_at = now()
               from unnest($2::uuid[], $3::text[]) as u(id, numero)
               where e.id = u.id and e.organizacao_id = $1 and coalesce(e.whatsapp, '') = ''"#,
            tenant,
            &fill.iter().map(|f| f.0).collect::<Vec<_>>(),
            &fill.iter().map(|f| f.1.clone()).collect::<Vec<_>>(),
        )
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
        tally.whatsapp_filled += filled.rows_affected() as i32;
    }
    Ok(tally)
}

/// Records the times of contacts' last messages (events `messages.*`), never moving one
/// back, in one statement for a batch. Returns how many known contacts moved.
pub async fn touch_last_messages(
    tx: &mut Transaction<'static, Postgres>,
    tenant: Uuid,
    messages: &[(i64, chrono::DateTime<chrono::Utc>)],
) -> Result<u64, ProviderError> {
    if messages.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query!(
        r#"update public.onecode_contatos c
           set ultima_mensagem_em = greatest(c.ultima_mensagem_em, m.at), updated_at = now()
           from (select contact_id, max(at) as at
                 from unnest($2::bigint[], $3::timestamptz[]) as u(contact_id, at)
                 group by contact_id) m
           where c.tenant_id = $1 and c.contact_id = m.contact_id"#,
        tenant,
        &messages.iter().map(|m| m.0).collect::<Vec<_>>(),
        &messages.iter().map(|m| m.1).collect::<Vec<_>>()
    )
    .execute(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected())
}
