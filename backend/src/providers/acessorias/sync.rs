//! From Acessórias pages to the portal's tables: companies into `empresas` (matched by
//! CNPJ/CPF digits, created, updated when their hash moved, closed with `data_baixa`), and
//! deliveries into `acessorias_entregas`. One statement per page for each kind of write
//! (`UNNEST` arrays), the page's checkpoint in the same transaction.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::api::{date, datetime, text};
use crate::providers::common::empresas::{self, Match};
use crate::providers::common::state::{self, db_error};
use crate::providers::common::{documents, payload};
use crate::providers::ProviderError;

pub use crate::providers::common::Counts;

/// A company as the portal keeps it.
#[derive(Debug, Clone)]
pub struct Company {
    pub key: String,
    pub nome: String,
    pub cnpj: String,
    pub regime: Option<String>,
    pub ativa: bool,
    pub cliente_ate: Option<NaiveDate>,
    pub raw: Value,
    pub hash: String,
}

/// The part of a company that says whether it changed and is kept in `raw_payload`:
/// everything but the delivery counters of `Obrigacoes` and `DtLastDH`, which move with
/// every delivery (the deliveries have their own table), and the contacts' e-mails and
/// phones, with strings trimmed.
pub fn normalise(v: &Value) -> Value {
    fn trim(v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(s.trim().to_owned()),
            Value::Array(a) => Value::Array(a.iter().map(trim).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), trim(v))).collect())
            }
            other => other.clone(),
        }
    }
    let mut n = trim(v);
    if let Value::Object(m) = &mut n {
        m.remove("Obrigacoes");
        m.remove("DtLastDH");
        // People's e-mails and phones are not the portal's to keep: `empresas.raw_payload`
        // is readable by every member of the tenant (the customer's table grants).
        m.remove("ContatosNaEmpresa");
        if let Some(Value::Array(deps)) = m.get_mut("Departamentos") {
            for d in deps {
                if let Value::Object(d) = d {
                    d.remove("RespEmail");
                }
            }
        }
    }
    n
}

/// A company of `companies/ListAll`, or `None` when it has no valid CNPJ/CPF (it goes to
/// review: without a document it cannot be matched).
pub fn company(v: &Value) -> Option<Company> {
    let key = documents::document_key(&text(v, "Identificador")?)?;
    let raw = normalise(v);
    let nome = text(v, "Razao")
        .or_else(|| text(v, "Fantasia"))
        .unwrap_or_else(|| documents::format_document(&key));
    Some(Company {
        cnpj: documents::format_document(&key),
        nome,
        regime: text(v, "Regime"),
        // Only a `Status` that says something else than `Ativa` closes a company.
        ativa: text(v, "Status").is_none_or(|s| s.eq_ignore_ascii_case("ativa")),
        cliente_ate: date(v, "ClienteAte"),
        hash: payload::hash(&raw),
        raw,
        key,
    })
}

/// Where the companies' pass of one execution stands: the next page to ask and the totals
/// of the pages before it (a retry of the same execution resumes there and reports the
/// whole execution's totals).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CompaniesState {
    pub execution_id: Option<Uuid>,
    pub next_page: u32,
    pub counts: Counts,
    /// Pages the last complete pass had (what progress measures against).
    pub last_pages: Option<u32>,
    /// This execution's pass is complete (a retry goes straight to the deliveries).
    #[serde(default)]
    pub done: bool,
    /// A page that stayed empty although the last pass had more: the attempt ended to ask
    /// again later; if the retry finds it empty too, it is the end.
    #[serde(default)]
    pub empty_seen_at: Option<u32>,
}

pub const COMPANIES: &str = "companies";
pub const DELIVERIES: &str = "deliveries";

/// Writes one page of companies and the checkpoint after it, in one transaction.
pub async fn write_companies(
    db: &sqlx::PgPool,
    tenant: Uuid,
    integration: Uuid,
    page: &[Value],
    today: NaiveDate,
    checkpoint: &mut CompaniesState,
) -> Result<Counts, ProviderError> {
    let mut counts = Counts {
        processed: page.len() as i32,
        ..Counts::default()
    };
    // The last occurrence of a document on the page wins.
    let mut companies: Vec<Company> = Vec::with_capacity(page.len());
    for v in page {
        match company(v) {
            None => counts.review += 1,
            Some(c) => {
                if let Some(i) = companies.iter().position(|x| x.key == c.key) {
                    companies.remove(i);
                    counts.unchanged += 1;
                }
                companies.push(c);
            }
        }
    }
    let mut tx = crate::scope::begin_service(db).await.map_err(db_error)?;
    empresas::lock_tenant(&mut tx, tenant).await?;
    let keys: Vec<String> = companies.iter().map(|c| c.key.clone()).collect();
    let found = empresas::by_document(&mut tx, tenant, &keys).await?;

    let mut new = Batch::default();
    let mut changed = Batch::default();
    let mut changed_ids: Vec<Uuid> = Vec::new();
    let mut fresh: Vec<String> = Vec::new();
    for c in &companies {
        let found = found.get(&c.key).cloned().unwrap_or(Match::None);
        let existing = match &found {
            Match::One(e) => Some(e.clone()),
            ambiguous @ Match::Ambiguous(_) => match ambiguous.own(super::api::SLUG, &c.key) {
                Some(e) => Some(e.clone()),
                None => {
                    // The document names several companies: a person decides.
                    counts.review += 1;
                    counts.ambiguous += 1;
                    continue;
                }
            },
            Match::None => None,
        };
        let Some(e) = existing else {
            let baixa = (!c.ativa).then(|| c.cliente_ate.unwrap_or(today).to_string());
            new.push(c, baixa);
            fresh.push(company_stream(&c.key));
            counts.created += 1;
            continue;
        };
        let moved = e.hash_payload.as_deref() != Some(c.hash.as_str());
        let ours = e.external_source.as_deref() == Some(super::api::SLUG);
        let sync_closed_it = ours
            && e.synced_status
                .as_deref()
                .is_some_and(|s| !s.eq_ignore_ascii_case("ativa"));
        let baixa = if !c.ativa {
            e.data_baixa
                .clone()
                .filter(|d| !d.trim().is_empty())
                .or_else(|| Some(c.cliente_ate.unwrap_or(today).to_string()))
        } else if sync_closed_it {
            // Acessórias reopened a company it had closed: the closing date goes. A date a
            // person set on a company Acessórias shows as active stays.
            None
        } else {
            e.data_baixa.clone()
        };
        // A company new to this sync (adopted) or open again gets its deliveries' whole
        // window at the next pass, whatever cursor its document had.
        if !ours || (baixa.is_none() && e.data_baixa.is_some()) {
            fresh.push(company_stream(&c.key));
        }
        if !moved && ours && baixa == e.data_baixa {
            counts.unchanged += 1;
        } else {
            changed.push(c, baixa);
            changed_ids.push(e.id);
            counts.updated += 1;
        }
    }
    if !new.key.is_empty() {
        sqlx::query!(
            r#"insert into public.empresas
                 (organizacao_id, nome, cnpj, regime_tributario, data_baixa, external_source,
                  external_key, raw_payload, hash_payload, synced_at)
               select $1, u.nome, u.cnpj, u.regime, u.baixa, 'acessorias', u.key, u.raw::jsonb,
                      u.hash, now()
               from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                           $7::text[], $8::text[]) as u(nome, cnpj, regime, baixa, key, raw, hash)"#,
            tenant,
            &new.nome,
            &new.cnpj,
            &new.regime as &[Option<String>],
            &new.baixa as &[Option<String>],
            &new.key,
            &new.raw,
            &new.hash
        )
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    }
    if !changed_ids.is_empty() {
        sqlx::query!(
            r#"update public.empresas e
               set nome = u.nome, cnpj = u.cnpj,
                   regime_tributario = coalesce(u.regime, e.regime_tributario),
                   data_baixa = u.baixa, external_source = 'acessorias', external_key = u.key,
                   raw_payload = u.raw::jsonb, hash_payload = u.hash, synced_at = now(),
                   updated_at = now()
               from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                           $7::text[], $8::text[], $9::text[])
                    as u(id, nome, cnpj, regime, baixa, key, raw, hash)
               where e.id = u.id and e.organizacao_id = $1"#,
            tenant,
            &changed_ids,
            &changed.nome,
            &changed.cnpj,
            &changed.regime as &[Option<String>],
            &changed.baixa as &[Option<String>],
            &changed.key,
            &changed.raw,
            &changed.hash
        )
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    }
    if !fresh.is_empty() {
        sqlx::query!(
            "delete from public.integration_sync_state
             where tenant_integration_id = $1 and stream = any($2)",
            integration,
            &fresh
        )
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
    }
    checkpoint.next_page += 1;
    checkpoint.counts.add(counts);
    state::save(&mut tx, integration, COMPANIES, checkpoint).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(counts)
}

/// Columns of a batch, one array each (bound as `text[]` and unnested).
#[derive(Default)]
struct Batch {
    nome: Vec<String>,
    cnpj: Vec<String>,
    regime: Vec<Option<String>>,
    baixa: Vec<Option<String>>,
    key: Vec<String>,
    raw: Vec<String>,
    hash: Vec<String>,
}

impl Batch {
    fn push(&mut self, c: &Company, baixa: Option<String>) {
        self.nome.push(c.nome.clone());
        self.cnpj.push(c.cnpj.clone());
        self.regime.push(c.regime.clone());
        self.baixa.push(baixa);
        self.key.push(c.key.clone());
        self.raw.push(c.raw.to_string());
        self.hash.push(c.hash.clone());
    }
}

/// Where the deliveries pass stands: a pass under way is resumed after the company
/// `after` (companies are walked in document order). Its counts are the execution's.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeliveriesState {
    pub pass: Option<Pass>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pass {
    pub execution_id: Option<Uuid>,
    pub started: chrono::NaiveDateTime,
    pub after: Option<String>,
    pub counts: Counts,
}

/// Where one company's deliveries stand (stream `deliveries:<cnpj>`): everything in the
/// window `[from, to]` changed up to `since` is in the table. The next pass asks only for
/// what changed after `since` — unless the window moved (a new month, other settings),
/// and a company without a cursor (new, adopted, reopened, or whose last ask failed) gets
/// its whole window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyCursor {
    pub since: chrono::NaiveDateTime,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The checkpoint stream of one company's deliveries.
pub fn company_stream(key: &str) -> String {
    format!("{DELIVERIES}:{key}")
}

/// Upserts one company's deliveries (one statement), its cursor, and moves the pass past
/// it, in one transaction. A delivery without `Config.EntID` has no key and is ignored.
pub async fn write_deliveries(
    db: &sqlx::PgPool,
    tenant: Uuid,
    integration: Uuid,
    empresa: (Uuid, &str),
    items: &[Value],
    cursor: &CompanyCursor,
    checkpoint: &mut DeliveriesState,
) -> Result<Counts, ProviderError> {
    let mut counts = Counts {
        processed: items.len() as i32,
        ..Counts::default()
    };
    let mut b = DeliveryBatch::default();
    for v in items {
        let Some(key) = text(&v["Config"], "EntID").filter(|k| k != "0") else {
            counts.ignored += 1;
            continue;
        };
        if let Some(i) = b.key.iter().position(|k| *k == key) {
            b.remove(i);
            counts.unchanged += 1;
        }
        let raw = crate::providers::common::payload::hash(v);
        b.key.push(key);
        b.nome
            .push(text(v, "Nome").unwrap_or_else(|| "(sem nome)".into()));
        b.tipo.push(text(&v["Config"], "Tipo"));
        b.competencia.push(date(v, "EntCompetencia"));
        b.prazo.push(date(v, "EntDtPrazo"));
        b.atraso.push(date(v, "EntDtAtraso"));
        b.entrega.push(date(v, "EntDtEntrega"));
        b.status.push(text(v, "Status"));
        b.departamento.push(text(&v["Config"], "DptoNome"));
        b.responsavel
            .push(text(&v["Config"], "RespEntrega").or_else(|| text(&v["Config"], "RespPrazo")));
        b.multa
            .push(text(v, "EntMulta").map(|m| m.eq_ignore_ascii_case("S")));
        b.last_dh.push(datetime(v, "EntLastDH"));
        b.raw.push(v.to_string());
        b.hash.push(raw);
    }
    let mut tx = crate::scope::begin_service(db).await.map_err(db_error)?;
    if !b.key.is_empty() {
        let written = sqlx::query!(
            r#"insert into public.acessorias_entregas as a
                 (tenant_id, empresa_id, cnpj, external_key, nome, tipo, competencia, prazo,
                  data_atraso, data_entrega, status, departamento, responsavel, multa, last_dh,
                  raw_payload, hash_payload)
               select $1, $2, $3, u.key, u.nome, u.tipo, u.competencia, u.prazo, u.atraso,
                      u.entrega, u.status, u.dpto, u.resp, u.multa, u.last_dh, u.raw::jsonb, u.hash
               from unnest($4::text[], $5::text[], $6::text[], $7::date[], $8::date[],
                           $9::date[], $10::date[], $11::text[], $12::text[], $13::text[],
                           $14::bool[], $15::timestamp[], $16::text[], $17::text[])
                    as u(key, nome, tipo, competencia, prazo, atraso, entrega, status, dpto,
                         resp, multa, last_dh, raw, hash)
               on conflict (tenant_id, external_key) do update
                 set empresa_id = excluded.empresa_id, cnpj = excluded.cnpj,
                     nome = excluded.nome, tipo = excluded.tipo,
                     competencia = excluded.competencia, prazo = excluded.prazo,
                     data_atraso = excluded.data_atraso, data_entrega = excluded.data_entrega,
                     status = excluded.status, departamento = excluded.departamento,
                     responsavel = excluded.responsavel, multa = excluded.multa,
                     last_dh = excluded.last_dh, raw_payload = excluded.raw_payload,
                     hash_payload = excluded.hash_payload, synced_at = now(), updated_at = now()
                 where a.hash_payload is distinct from excluded.hash_payload
                    or a.empresa_id is distinct from excluded.empresa_id
               returning (xmax = 0) as "inserted!""#,
            tenant,
            empresa.0,
            empresa.1,
            &b.key,
            &b.nome,
            &b.tipo as &[Option<String>],
            &b.competencia as &[Option<NaiveDate>],
            &b.prazo as &[Option<NaiveDate>],
            &b.atraso as &[Option<NaiveDate>],
            &b.entrega as &[Option<NaiveDate>],
            &b.status as &[Option<String>],
            &b.departamento as &[Option<String>],
            &b.responsavel as &[Option<String>],
            &b.multa as &[Option<bool>],
            &b.last_dh as &[Option<chrono::NaiveDateTime>],
            &b.raw,
            &b.hash
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        counts.tally_upsert(b.key.len(), written.iter().map(|r| r.inserted));
    }
    if let Some(pass) = &mut checkpoint.pass {
        pass.after = Some(empresa.1.to_owned());
        pass.counts.add(counts);
    }
    state::save(&mut tx, integration, DELIVERIES, checkpoint).await?;
    state::save(&mut tx, integration, &company_stream(empresa.1), cursor).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(counts)
}

#[derive(Default)]
struct DeliveryBatch {
    key: Vec<String>,
    nome: Vec<String>,
    tipo: Vec<Option<String>>,
    competencia: Vec<Option<NaiveDate>>,
    prazo: Vec<Option<NaiveDate>>,
    atraso: Vec<Option<NaiveDate>>,
    entrega: Vec<Option<NaiveDate>>,
    status: Vec<Option<String>>,
    departamento: Vec<Option<String>>,
    responsavel: Vec<Option<String>>,
    multa: Vec<Option<bool>>,
    last_dh: Vec<Option<chrono::NaiveDateTime>>,
    raw: Vec<String>,
    hash: Vec<String>,
}

impl DeliveryBatch {
    fn remove(&mut self, i: usize) {
        self.key.remove(i);
        self.nome.remove(i);
        self.tipo.remove(i);
        self.competencia.remove(i);
        self.prazo.remove(i);
        self.atraso.remove(i);
        self.entrega.remove(i);
        self.status.remove(i);
        self.departamento.remove(i);
        self.responsavel.remove(i);
        self.multa.remove(i);
        self.last_dh.remove(i);
        self.raw.remove(i);
        self.hash.remove(i);
    }
}

/// The synced, open companies of the tenant after `after` in document order: the
/// deliveries pass walks them.
pub async fn open_companies(
    db: &sqlx::PgPool,
    tenant: Uuid,
    after: Option<&str>,
) -> Result<Vec<(Uuid, String)>, ProviderError> {
    let mut tx = crate::scope::begin_service(db).await.map_err(db_error)?;
    let rows = sqlx::query!(
        r#"select id, external_key as "key!" from public.empresas
           where organizacao_id = $1 and external_source = 'acessorias'
             and external_key is not null
             and coalesce(data_baixa, '') = ''
             and external_key > coalesce($2, '')
           order by external_key"#,
        tenant,
        after
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(rows.into_iter().map(|r| (r.id, r.key)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_company_needs_a_valid_document() {
        let ok =
            json!({"Identificador": "48.392.017/0001-68", "Razao": " PADARIA ", "Status": "Ativa"});
        let c = company(&ok).expect("a company");
        assert_eq!(c.key, "48392017000168");
        assert_eq!(c.cnpj, "48.392.017/0001-68");
        assert_eq!(c.nome, "PADARIA");
        assert!(c.ativa);
        assert!(company(&json!({"Identificador": "", "Razao": "X"})).is_none());
        assert!(company(&json!({"Razao": "X"})).is_none());
        assert!(company(&json!({"Identificador": "48.392.017/0001-00"})).is_none());
    }

    #[test]
    fn delivery_counters_do_not_change_the_hash() {
        let a = json!({"Identificador": "48392017000168", "Razao": "A", "DtLastDH": "2026-01-01 00:00:00",
                       "Obrigacoes": [{"Entregues": "1"}]});
        let b = json!({"Identificador": "48392017000168", "Razao": "A ", "DtLastDH": "2026-02-01 00:00:00",
                       "Obrigacoes": [{"Entregues": "2"}]});
        assert_eq!(company(&a).map(|c| c.hash), company(&b).map(|c| c.hash));
        let c = json!({"Identificador": "48392017000168", "Razao": "B"});
        assert_ne!(company(&a).map(|c| c.hash), company(&c).map(|c| c.hash));
    }
}
