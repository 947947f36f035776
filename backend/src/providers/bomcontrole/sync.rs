//! From BomControle answers to the portal's tables: clients into `bomcontrole_clientes`
//! (each matched to exactly one of the tenant's companies by CNPJ/CPF digits, or left for
//! review: never guessed), and receivables into `financeiro_recebiveis` (payables are
//! counted and skipped). One statement per batch or page (`UNNEST` arrays), its checkpoint
//! in the same transaction.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::api::{client_document, client_name, date, datetime, decimal, flag, id, text};
use crate::providers::common::empresas::{self, Match};
use crate::providers::common::state::{self, db_error};
use crate::providers::common::{documents, payload, Counts};
use crate::providers::ProviderError;

/// Checkpoint streams.
pub const CLIENTS: &str = "clients";
pub const ENTRIES: &str = "entries";

/// The order clients are written in (ids are numbers: shorter first, then by text), so
/// that a retry can skip what an earlier attempt of the same execution committed.
pub fn client_order(id: &str) -> (usize, &str) {
    (id.len(), id)
}

/// Where the clients' pass of one execution stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientsState {
    pub execution_id: Option<Uuid>,
    /// The last client committed (in [`client_order`]).
    pub after: Option<String>,
    pub counts: Counts,
    /// Receivables whose company followed a client's new match.
    pub relinked: i64,
    pub done: bool,
}

/// A client as the portal keeps it.
#[derive(Debug, Clone)]
pub struct ClientRow {
    pub id: String,
    pub documento: Option<String>,
    pub nome: String,
    pub raw: Value,
    pub hash: String,
}

/// A client of `Cliente/Pesquisar`, or `None` without an `Id` (it cannot be kept).
pub fn client(v: &Value) -> Option<ClientRow> {
    let id = id(v, "Id")?;
    let documento = client_document(v);
    let nome = client_name(v)
        .or_else(|| documento.as_deref().map(documents::format_document))
        .unwrap_or_else(|| format!("Cliente {id}"));
    Some(ClientRow {
        hash: payload::hash(v),
        raw: v.clone(),
        id,
        documento,
        nome,
    })
}

/// Upserts one batch of clients (one statement), matched to the tenant's companies, and
/// moves the pass past them, in one transaction.
pub async fn write_clients(
    db: &sqlx::PgPool,
    tenant: Uuid,
    integration: Uuid,
    batch: &[ClientRow],
    checkpoint: &mut ClientsState,
) -> Result<Counts, ProviderError> {
    let mut counts = Counts {
        processed: batch.len() as i32,
        ..Counts::default()
    };
    // The last occurrence of an id wins (one row may be written once per statement).
    let mut rows: Vec<&ClientRow> = Vec::with_capacity(batch.len());
    for c in batch {
        if let Some(i) = rows.iter().position(|x| x.id == c.id) {
            rows.remove(i);
            counts.unchanged += 1;
        }
        rows.push(c);
    }
    let mut tx = crate::scope::begin_service(db).await.map_err(db_error)?;
    let keys: Vec<String> = rows.iter().filter_map(|c| c.documento.clone()).collect();
    let found = empresas::by_document(&mut tx, tenant, &keys).await?;
    let mut b = ClientBatch::default();
    for c in rows {
        let (empresa, matched) = match c.documento.as_ref().and_then(|d| found.get(d)) {
            Some(Match::One(e)) => (Some(e.id), "matched"),
            Some(Match::Ambiguous(_)) => {
                counts.ambiguous += 1;
                (None, "ambiguous")
            }
            Some(Match::None) | None => {
                counts.review += 1;
                (None, "review")
            }
        };
        b.id.push(c.id.clone());
        b.documento.push(c.documento.clone());
        b.nome.push(c.nome.clone());
        b.empresa.push(empresa);
        b.matched.push(matched.to_owned());
        b.raw.push(c.raw.to_string());
        b.hash.push(c.hash.clone());
    }
    if !b.id.is_empty() {
        let written = sqlx::query!(
            r#"insert into public.bomcontrole_clientes as c
                 (tenant_id, external_id, documento, nome, empresa_id, match, raw_payload,
                  hash_payload)
               select $1, u.id, u.doc, u.nome, u.empresa, u.match, u.raw::jsonb, u.hash
               from unnest($2::text[], $3::text[], $4::text[], $5::uuid[], $6::text[],
                           $7::text[], $8::text[]) as u(id, doc, nome, empresa, match, raw, hash)
               on conflict (tenant_id, external_id) do update
                 set documento = excluded.documento, nome = excluded.nome,
                     empresa_id = excluded.empresa_id, match = excluded.match,
                     raw_payload = excluded.raw_payload, hash_payload = excluded.hash_payload,
                     synced_at = now(), updated_at = now()
                 where c.hash_payload is distinct from excluded.hash_payload
                    or c.empresa_id is distinct from excluded.empresa_id
                    or c.match is distinct from excluded.match
               returning (xmax = 0) as "inserted!""#,
            tenant,
            &b.id,
            &b.documento as &[Option<String>],
            &b.nome,
            &b.empresa as &[Option<Uuid>],
            &b.matched,
            &b.raw,
            &b.hash
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        counts.tally_upsert(b.id.len(), written.iter().map(|r| r.inserted));
    }
    if let Some(last) = batch
        .iter()
        .map(|c| c.id.as_str())
        .max_by_key(|i| client_order(i))
    {
        checkpoint.after = Some(last.to_owned());
    }
    checkpoint.counts.add(counts);
    state::save(&mut tx, integration, CLIENTS, checkpoint).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(counts)
}

#[derive(Default)]
struct ClientBatch {
    id: Vec<String>,
    documento: Vec<Option<String>>,
    nome: Vec<String>,
    empresa: Vec<Option<Uuid>>,
    matched: Vec<String>,
    raw: Vec<String>,
    hash: Vec<String>,
}

/// Receivables follow their client's match: when a client was matched (or unmatched)
/// after its receivables were written, their `empresa_id` moves with it. One statement;
/// returns how many receivables moved.
pub async fn relink_receivables(db: &sqlx::PgPool, tenant: Uuid) -> Result<i64, ProviderError> {
    let mut tx = crate::scope::begin_service(db).await.map_err(db_error)?;
    let moved = sqlx::query!(
        r#"update public.financeiro_recebiveis f
           set empresa_id = c.empresa_id, updated_at = now()
           from public.bomcontrole_clientes c
           where f.tenant_id = $1 and c.tenant_id = $1
             and c.external_id = f.cliente_external_id
             and f.empresa_id is distinct from c.empresa_id"#,
        tenant
    )
    .execute(&mut *tx)
    .await
    .map_err(db_error)?
    .rows_affected();
    tx.commit().await.map_err(db_error)?;
    Ok(moved as i64)
}

/// Where the entries stand: `since` is where the next pass starts (`dataInicio`: the start
/// of the last complete pass, minus a margin); `pass` is the pass of an execution (under
/// way, or `done`), resumed at `next_page` by a retry of the same execution.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EntriesState {
    pub since: Option<NaiveDateTime>,
    pub pass: Option<EntriesPass>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntriesPass {
    pub execution_id: Uuid,
    /// When the pass started (BomControle's clock: Brasília time).
    pub started: NaiveDateTime,
    /// The window asked for (`dataInicio`, `dataTermino`): the same on every page.
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    pub next_page: u32,
    /// Pages of the search, from the last `TotalItens` seen.
    #[serde(default)]
    pub pages: Option<u32>,
    /// `TotalItens` of the first page read.
    #[serde(default)]
    pub total: Option<u64>,
    /// `TotalItens` changed while the pass paged (entries changed under it): offset pages
    /// may have shifted, so the cursor does not move and the next pass asks the same
    /// window again.
    #[serde(default)]
    pub unstable: bool,
    pub counts: Counts,
    #[serde(default)]
    pub done: bool,
}

/// A receivable as the portal keeps it.
#[derive(Debug, Clone)]
pub struct Receivable {
    pub key: String,
    pub cliente: Option<String>,
    pub documento: Option<String>,
    pub cliente_nome: Option<String>,
    pub descricao: Option<String>,
    pub categoria: Option<String>,
    pub competencia: Option<NaiveDate>,
    pub vencimento: Option<NaiveDate>,
    pub valor: String,
    pub pago_em: Option<NaiveDate>,
    pub boleto_url: Option<String>,
    pub alterado_em: Option<NaiveDateTime>,
    pub raw: Value,
    pub hash: String,
}

/// What one financial entry is.
#[derive(Debug, Clone)]
pub enum Entry {
    Receivable(Box<Receivable>),
    /// `Debito: true`: a payable, not the portal's business.
    Payable,
    /// No key, no `Debito`, or a `Valor` that is not a number.
    Unreadable(&'static str),
}

/// The part of an entry that says whether it changed: everything but the per-item
/// `TotalItens` (the size of the search, which moves with the window asked for).
pub fn normalise(v: &Value) -> Value {
    let mut n = v.clone();
    if let Value::Object(m) = &mut n {
        m.remove("TotalItens");
    }
    n
}

/// Reads one item of `Financeiro/Pesquisar`.
pub fn entry(v: &Value) -> Entry {
    let Some(key) = text(v, "IdMovimentacaoFinanceiraParcela").map(|k| k.to_ascii_lowercase())
    else {
        return Entry::Unreadable("sem IdMovimentacaoFinanceiraParcela");
    };
    match flag(v, "Debito") {
        Some(true) => return Entry::Payable,
        Some(false) => {}
        None => return Entry::Unreadable("sem Debito"),
    }
    let Some(valor) = decimal(v, "Valor") else {
        return Entry::Unreadable("Valor inválido");
    };
    let documento = text(v, "DocumentoClienteFornecedor")
        .map(|d| documents::digits(&d))
        .filter(|d| !d.is_empty());
    let raw = normalise(v);
    Entry::Receivable(Box::new(Receivable {
        hash: payload::hash(&raw),
        key,
        cliente: id(v, "IdCliente"),
        documento,
        cliente_nome: text(v, "NomeClienteFornecedor")
            .or_else(|| text(v, "NomeFantasiaClienteFornecedor")),
        descricao: text(v, "Nome"),
        categoria: text(v, "NomeCategoriaFinanceira"),
        competencia: date(v, "DataCompetencia"),
        vencimento: date(v, "DataVencimento"),
        valor,
        pago_em: date(v, "DataQuitacao"),
        boleto_url: text(v, "LinkBoletoBancario"),
        alterado_em: datetime(v, "DataUltimaAlteracao"),
        raw,
    }))
}

/// Upserts one page of receivables (one statement), each with the company of its client
/// (by `IdCliente` among the synced clients; a client not synced yet by the entry's
/// document, only when exactly one company has it), and moves the pass past the page, in
/// one transaction.
pub async fn write_entries(
    db: &sqlx::PgPool,
    tenant: Uuid,
    integration: Uuid,
    items: &[Value],
    checkpoint: &mut EntriesState,
) -> Result<Counts, ProviderError> {
    let mut counts = Counts {
        processed: items.len() as i32,
        ..Counts::default()
    };
    let mut rows: Vec<Receivable> = Vec::with_capacity(items.len());
    for v in items {
        match entry(v) {
            Entry::Payable => counts.ignored += 1,
            Entry::Unreadable(why) => {
                tracing::warn!(why, "a BomControle entry could not be read");
                counts.failed += 1;
            }
            Entry::Receivable(r) => {
                if let Some(i) = rows.iter().position(|x| x.key == r.key) {
                    rows.remove(i);
                    counts.unchanged += 1;
                }
                rows.push(*r);
            }
        }
    }
    let mut tx = crate::scope::begin_service(db).await.map_err(db_error)?;
    let client_ids: Vec<String> = rows.iter().filter_map(|r| r.cliente.clone()).collect();
    let clients: HashMap<String, Option<Uuid>> = if client_ids.is_empty() {
        HashMap::new()
    } else {
        sqlx::query!(
            "select external_id, empresa_id from public.bomcontrole_clientes
             where tenant_id = $1 and external_id = any($2)",
            tenant,
            &client_ids
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|r| (r.external_id, r.empresa_id))
        .collect()
    };
    // Entries whose client is not synced: by their own document, exactly one company.
    let unknown: Vec<String> = rows
        .iter()
        .filter(|r| r.cliente.as_ref().is_none_or(|c| !clients.contains_key(c)))
        .filter_map(|r| r.documento.as_deref().and_then(documents::document_key))
        .collect();
    let by_doc = empresas::by_document(&mut tx, tenant, &unknown).await?;
    let mut b = EntryBatch::default();
    for r in &rows {
        let empresa = match r.cliente.as_ref().and_then(|c| clients.get(c)) {
            Some(known) => *known,
            None => r
                .documento
                .as_deref()
                .and_then(documents::document_key)
                .and_then(|d| match by_doc.get(&d) {
                    Some(Match::One(e)) => Some(e.id),
                    _ => None,
                }),
        };
        if empresa.is_none() {
            counts.review += 1;
        }
        b.push(r, empresa);
    }
    if !b.key.is_empty() {
        let written = sqlx::query!(
            r#"insert into public.financeiro_recebiveis as f
                 (tenant_id, empresa_id, external_key, cliente_external_id, documento,
                  cliente_nome, descricao, categoria, competencia, vencimento, valor, pago_em,
                  status, boleto_url, alterado_em, raw_payload, hash_payload)
               select $1, u.empresa, u.key, u.cliente, u.doc, u.nome, u.descricao, u.categoria,
                      u.competencia, u.vencimento, u.valor::numeric, u.pago_em,
                      case when u.pago_em is null then 'aberto' else 'pago' end,
                      u.boleto, u.alterado, u.raw::jsonb, u.hash
               from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[],
                           $7::text[], $8::text[], $9::date[], $10::date[], $11::text[],
                           $12::date[], $13::text[], $14::timestamp[], $15::text[], $16::text[])
                    as u(empresa, key, cliente, doc, nome, descricao, categoria, competencia,
                         vencimento, valor, pago_em, boleto, alterado, raw, hash)
               on conflict (tenant_id, external_key) do update
                 set empresa_id = excluded.empresa_id,
                     cliente_external_id = excluded.cliente_external_id,
                     documento = excluded.documento, cliente_nome = excluded.cliente_nome,
                     descricao = excluded.descricao, categoria = excluded.categoria,
                     competencia = excluded.competencia, vencimento = excluded.vencimento,
                     valor = excluded.valor, pago_em = excluded.pago_em,
                     status = excluded.status, boleto_url = excluded.boleto_url,
                     alterado_em = excluded.alterado_em, raw_payload = excluded.raw_payload,
                     hash_payload = excluded.hash_payload, synced_at = now(), updated_at = now()
                 where f.hash_payload is distinct from excluded.hash_payload
                    or f.empresa_id is distinct from excluded.empresa_id
               returning (xmax = 0) as "inserted!""#,
            tenant,
            &b.empresa as &[Option<Uuid>],
            &b.key,
            &b.cliente as &[Option<String>],
            &b.documento as &[Option<String>],
            &b.nome as &[Option<String>],
            &b.descricao as &[Option<String>],
            &b.categoria as &[Option<String>],
            &b.competencia as &[Option<NaiveDate>],
            &b.vencimento as &[Option<NaiveDate>],
            &b.valor,
            &b.pago_em as &[Option<NaiveDate>],
            &b.boleto as &[Option<String>],
            &b.alterado as &[Option<NaiveDateTime>],
            &b.raw,
            &b.hash
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        counts.tally_upsert(b.key.len(), written.iter().map(|r| r.inserted));
    }
    if let Some(pass) = &mut checkpoint.pass {
        pass.next_page += 1;
        pass.counts.add(counts);
    }
    state::save(&mut tx, integration, ENTRIES, checkpoint).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(counts)
}

#[derive(Default)]
struct EntryBatch {
    empresa: Vec<Option<Uuid>>,
    key: Vec<String>,
    cliente: Vec<Option<String>>,
    documento: Vec<Option<String>>,
    nome: Vec<Option<String>>,
    descricao: Vec<Option<String>>,
    categoria: Vec<Option<String>>,
    competencia: Vec<Option<NaiveDate>>,
    vencimento: Vec<Option<NaiveDate>>,
    valor: Vec<String>,
    pago_em: Vec<Option<NaiveDate>>,
    boleto: Vec<Option<String>>,
    alterado: Vec<Option<NaiveDateTime>>,
    raw: Vec<String>,
    hash: Vec<String>,
}

impl EntryBatch {
    fn push(&mut self, r: &Receivable, empresa: Option<Uuid>) {
        self.empresa.push(empresa);
        self.key.push(r.key.clone());
        self.cliente.push(r.cliente.clone());
        self.documento.push(r.documento.clone());
        self.nome.push(r.cliente_nome.clone());
        self.descricao.push(r.descricao.clone());
        self.categoria.push(r.categoria.clone());
        self.competencia.push(r.competencia);
        self.vencimento.push(r.vencimento);
        self.valor.push(r.valor.clone());
        self.pago_em.push(r.pago_em);
        self.boleto.push(r.boleto_url.clone());
        self.alterado.push(r.alterado_em);
        self.raw.push(r.raw.to_string());
        self.hash.push(r.hash.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn example() -> Vec<Value> {
        let v: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/bomcontrole/financeiro-pesquisar.json"
        ))
        .expect("example entries");
        v["Itens"].as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn receivables_are_read_and_payables_skipped() {
        let items = example();
        let Entry::Receivable(r) = entry(&items[0]) else {
            panic!("a receivable");
        };
        assert_eq!(r.key, "4f1c9a2e-7b3d-4e8a-9c21-5d6e7f809a1b");
        assert_eq!(r.cliente.as_deref(), Some("3187"));
        assert_eq!(r.documento.as_deref(), Some("48392017000168"));
        assert_eq!(r.valor, "850.0");
        assert_eq!(r.pago_em, NaiveDate::from_ymd_opt(2026, 5, 9));
        assert_eq!(r.competencia, NaiveDate::from_ymd_opt(2026, 5, 1));
        assert_eq!(r.categoria.as_deref(), Some("Honorários Contábeis"));
        assert!(matches!(entry(&items[1]), Entry::Payable));
        assert!(matches!(
            entry(&json!({"Debito": false, "Valor": 1})),
            Entry::Unreadable(_)
        ));
        assert!(matches!(
            entry(
                &json!({"IdMovimentacaoFinanceiraParcela": "x", "Debito": false, "Valor": "1.234,00"})
            ),
            Entry::Unreadable(_)
        ));
    }

    #[test]
    fn the_size_of_the_search_does_not_change_the_hash() {
        let mut a = example()[0].clone();
        let Entry::Receivable(first) = entry(&a) else {
            panic!("a receivable");
        };
        a["TotalItens"] = json!(9999);
        let Entry::Receivable(second) = entry(&a) else {
            panic!("a receivable");
        };
        assert_eq!(first.hash, second.hash);
        a["DataQuitacao"] = Value::Null;
        let Entry::Receivable(third) = entry(&a) else {
            panic!("a receivable");
        };
        assert_ne!(first.hash, third.hash);
        assert_eq!(third.pago_em, None);
    }

    #[test]
    fn clients_need_an_id_and_may_lack_a_document() {
        let c = client(&json!({"Id": 7, "PessoaJuridica": {"Documento": "", "RazaoSocial": "X"}}))
            .expect("a client");
        assert_eq!(c.id, "7");
        assert_eq!(c.documento, None);
        assert_eq!(c.nome, "X");
        assert!(client(&json!({"PessoaJuridica": {"Documento": "48392017000168"}})).is_none());
        assert!(client_order("99") < client_order("100"));
    }
}
