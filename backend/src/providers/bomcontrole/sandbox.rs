//! A fake BomControle API for tests, the demo and anyone testing a client: the documented
//! shapes (../shared/providers/bomcontrole) over generated clients and financial entries of
//! any count, deterministic by seed, with the fault switches of [`Faults`] and a control
//! plane to change and count records between runs.
//!
//! API (served at `/` and under `/integracao`, like the real base URL): `GET
//! /Cliente/Pesquisar?pesquisa=` (bare array, no paging), `GET /Cliente/Obter/{id}`, `GET
//! /Financeiro/Pesquisar?dataInicio&dataTermino&tipoData&paginacao.itensPorPagina
//! &paginacao.numeroDaPagina` (`{Itens, TotalItens}`, at most 100 a page, 1-based pages;
//! dates `aaaa-mm-dd hh24:mi:ss`, required; a date sent with `+` for its space, or
//! unreadable, is refused with 400 `{"Message": "dataInicio inválida"}` as the real API
//! refuses it). Every request wants `Authorization: ApiKey sbx_...`.
//!
//! Entries: every `payable_every`-th is a payable (`Debito: true`, a supplier's); the rest
//! are receivables of the clients. An entry that never changed has an old, fixed
//! `DataUltimaAlteracao`; a changed one the moment it changed, so a search by
//! `UltimaAlteracao` from the last sync finds exactly the changed ones.
//!
//! Faults: the common switches; BomControle has no "error with 200", so `error_200` answers
//! 400 `{"Message": ...}`; `empty` answers `{"Itens": [], "TotalItens": <real total>}`.
//!
//! Control: `GET /_sandbox/stats`, `GET|POST /_sandbox/faults` (a [`Faults`] JSON),
//! `POST /_sandbox/change?count=N` (N receivables paid and touched now).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::brasilia_now;
use crate::providers::common::documents::with_check_digits;
use crate::providers::common::faults::{mix, token_ok, Switches, Verdict, NAMES, SUFFIXES, TRADES};

/// What the sandbox generates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    pub clients: usize,
    pub seed: u64,
    /// Financial entries per client (receivables and payables alike).
    pub entries_per_client: usize,
    /// Clients (the last ones) without a document.
    pub without_document: usize,
    /// Every n-th entry is a payable; 0: none.
    pub payable_every: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clients: 40,
            seed: 1,
            entries_per_client: 6,
            without_document: 0,
            payable_every: 4,
        }
    }
}

#[derive(Default)]
struct World {
    /// Per entry: how many times it changed and when it last did.
    version: Vec<u32>,
    changed_at: Vec<Option<NaiveDateTime>>,
    /// Where the next `change` starts (changes walk the receivables in turn).
    change_cursor: usize,
    changes: usize,
}

#[derive(Clone)]
pub struct Sandbox {
    opts: Arc<Options>,
    world: Arc<Mutex<World>>,
    pub switches: Switches,
    /// The `DataUltimaAlteracao` of entries that never changed (30 days before start-up).
    epoch: NaiveDateTime,
    today: NaiveDate,
}

/// Counts of what the sandbox serves now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    pub clients: usize,
    pub with_document: usize,
    pub entries: usize,
    pub receivables: usize,
    pub payables: usize,
    pub receivables_paid: usize,
    pub receivables_open: usize,
    /// The sum of the receivables' `Valor`, in cents.
    pub receivables_cents: i64,
    /// Changes made through `change`.
    pub changes: usize,
    pub requests: u64,
}

impl Sandbox {
    pub fn new(opts: Options) -> Self {
        let n = opts.clients * opts.entries_per_client;
        let now = brasilia_now();
        let epoch = (now - chrono::Duration::days(30))
            .date()
            .and_hms_opt(8, 0, 0)
            .unwrap_or(now);
        Self {
            opts: Arc::new(opts),
            world: Arc::new(Mutex::new(World {
                version: vec![0; n],
                changed_at: vec![None; n],
                ..World::default()
            })),
            switches: Switches::default(),
            epoch,
            today: now.date(),
        }
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many clients there are.
    pub fn clients(&self) -> usize {
        self.opts.clients
    }

    /// How many entries there are.
    pub fn entry_count(&self) -> usize {
        self.opts.clients * self.opts.entries_per_client
    }

    pub fn has_document(&self, i: usize) -> bool {
        i < self.opts.clients - self.opts.without_document.min(self.opts.clients)
    }

    /// The client `i`'s BomControle id.
    pub fn client_id(&self, i: usize) -> u64 {
        1000 + i as u64
    }

    /// The CNPJ/CPF digits of record `i`, whether or not it is served with them
    /// ([`crate::providers::common::faults::document`]).
    pub fn document(&self, i: usize) -> String {
        crate::providers::common::faults::document(self.opts.seed, i)
    }

    /// Whether entry `e` is a payable.
    pub fn is_payable(&self, e: usize) -> bool {
        let every = self.opts.payable_every;
        every > 0 && e % every == every - 1
    }

    /// How many receivables client `i` has.
    pub fn receivables_of(&self, i: usize) -> usize {
        let per = self.opts.entries_per_client;
        (i * per..(i + 1) * per)
            .filter(|&e| !self.is_payable(e))
            .count()
    }

    fn razao(&self, i: usize) -> (String, String) {
        let r = mix(self.opts.seed, i as u64);
        let trade = TRADES[(r % TRADES.len() as u64) as usize];
        let name = NAMES[((r >> 8) % NAMES.len() as u64) as usize];
        let suffix = SUFFIXES[((r >> 16) % SUFFIXES.len() as u64) as usize];
        (
            format!("{trade} {name} {} {suffix}", i + 1),
            format!("{trade} {name}"),
        )
    }

    /// Client `i` as `Cliente/Pesquisar` and `Cliente/Obter` show it.
    pub fn client(&self, i: usize) -> Value {
        let id = self.client_id(i);
        let r = mix(self.opts.seed, i as u64);
        let (razao, fantasia) = self.razao(i);
        let doc = if self.has_document(i) {
            Value::String(self.document(i))
        } else {
            Value::String(String::new())
        };
        let person = i % 10 == 9;
        let contato = json!({
            "Id": 5000 + id, "IdCliente": id, "IdFornecedor": 0, "IdFuncionario": 0,
            "Nome": "Financeiro", "Email": format!("financeiro{}@cliente.exemplo.com.br", i + 1),
            "Telefone": format!("19{:09}", r % 1_000_000_000), "Padrao": true, "Cobranca": true
        });
        json!({
            "Id": id,
            "TipoPessoa": if person { "Fisica" } else { "Juridica" },
            "PaisOrigem": "Brasil",
            "PessoaFisica": if person { json!({"Documento": doc, "Nome": razao, "Sexo": "O",
                                               "DataNascimento": "1980-01-01T00:00:00"}) } else { Value::Null },
            "PessoaJuridica": if person { Value::Null } else { json!({
                "Documento": doc, "NomeFantasia": fantasia, "RazaoSocial": razao,
                "IsentoInscricaoEstadual": r.is_multiple_of(2), "InscricaoEstadual": format!("{}", r % 1_000_000_000_000),
                "UFInscricaoEstadual": "SP", "InscricaoMunicipal": null, "RamoAtividade": null
            }) },
            "Bloqueado": false,
            "Endereco": {"Id": 2000 + id, "TipoLogradouro": "Rua", "Logradouro": "das Acácias",
                         "Numero": format!("{}", 1 + r % 999), "Complemento": null,
                         "Bairro": "Centro", "Cep": "13010-000", "Cidade": "Campinas", "Uf": "SP"},
            "Contatos": [contato],
            "DataCriacao": "2021-02-18T10:41:07"
        })
    }

    /// When entry `e` last changed.
    fn altered(&self, e: usize, w: &World) -> NaiveDateTime {
        w.changed_at[e].unwrap_or(self.epoch - chrono::Duration::minutes((e % 1440) as i64))
    }

    /// The competence month and due date of entry `e`.
    fn dates(&self, e: usize) -> (NaiveDate, NaiveDate) {
        let j = e % self.opts.entries_per_client.max(1);
        let first = self.today.with_day(1).unwrap_or(self.today);
        let month = first
            .checked_sub_months(Months::new((j % 12) as u32))
            .unwrap_or(first);
        (month, month + chrono::Duration::days(9))
    }

    /// The value of entry `e`, in cents.
    fn cents(&self, e: usize) -> i64 {
        let r = mix(self.opts.seed ^ 0xB0, e as u64);
        if self.is_payable(e) {
            5_000 + (r % 50_000) as i64
        } else {
            30_000 + (r % 200_000) as i64
        }
    }

    fn paid(&self, e: usize, w: &World) -> Option<NaiveDate> {
        if w.version[e] > 0 {
            return w.changed_at[e].map(|t| t.date());
        }
        let j = e % self.opts.entries_per_client.max(1);
        j.is_multiple_of(3)
            .then(|| self.dates(e).1 - chrono::Duration::days(1))
    }

    /// Entry `e`'s key (a GUID; the last group is the entry's number, so keys are unique).
    pub fn key(&self, e: usize) -> String {
        let a = mix(self.opts.seed ^ 0x6B, e as u64);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((a >> 48) & 0x3fff),
            e
        )
    }

    /// Entry `e` as `Financeiro/Pesquisar` shows it, with `total` as its `TotalItens`.
    fn entry(&self, e: usize, total: usize, w: &World) -> Value {
        let i = e / self.opts.entries_per_client.max(1);
        let payable = self.is_payable(e);
        let (competencia, vencimento) = self.dates(e);
        let paid = self.paid(e, w);
        let altered = self.altered(e, w);
        // Every seventh moment has a fraction of a second, as the real API sometimes sends.
        let altered_text = if e.is_multiple_of(7) {
            format!("{}.5", altered.format("%Y-%m-%dT%H:%M:%S"))
        } else {
            altered.format("%Y-%m-%dT%H:%M:%S").to_string()
        };
        let cents = self.cents(e);
        let valor =
            serde_json::Number::from_f64(cents as f64 / 100.0).map_or(Value::Null, Value::Number);
        let moment = |d: NaiveDate| format!("{d}T00:00:00");
        let version = w.version[e];
        let (cliente, fornecedor, nome, fantasia, documento) = if payable {
            let supplier = (e % 50) as u64;
            (
                Value::Null,
                json!(200 + supplier),
                format!("FORNECEDOR EXEMPLO {} LTDA", supplier + 1),
                format!("FORNECEDOR {}", supplier + 1),
                json!(with_check_digits(&format!(
                    "{:08}0001",
                    20_000_000 + supplier * 31
                ))),
            )
        } else {
            let (razao, fantasia) = self.razao(i);
            let doc = if self.has_document(i) {
                json!(self.document(i))
            } else {
                Value::Null
            };
            (json!(self.client_id(i)), Value::Null, razao, fantasia, doc)
        };
        json!({
            "IdMovimentacaoFinanceiraParcela": self.key(e),
            "Debito": payable,
            "DataVencimento": moment(vencimento),
            "DataCompetencia": moment(competencia),
            "DataQuitacao": paid.map(moment),
            "DataConciliacao": null,
            "Valor": valor,
            "FormaPagamento": 13,
            "NomeFormaPagamento": "Boleto Bancário",
            "TipoMovimentacao": if payable { 19 } else { 17 },
            "NomeTipoMovimentacao": if payable { "Despesa com fornecedor" } else { "Venda de serviço" },
            "Nome": format!("{} {} ({})", if payable { "Pagamento PARA" } else { "Recebimento DO(A)" }, nome, competencia.format("%m/%Y")),
            "Observacao": (version > 0).then(|| format!("Alterado {version} vez(es) no sandbox")),
            "NumeroParcela": competencia.month(),
            "QuantidadeParcela": 0,
            "IdCategoriaFinanceira": if payable { 0 } else { 46 },
            "NomeCategoriaFinanceira": if payable { Value::Null } else { json!("Honorários Contábeis") },
            "IdContaFinanceira": 2,
            "NomeContaFinanceira": "Conta Movimento",
            "IdEmpresa": 1,
            "NomeEmpresa": "Escritório Contábil Exemplo",
            "DocumentoEmpresa": "39087156000197",
            "IdCliente": cliente,
            "IdFornecedor": fornecedor,
            "IdFuncionario": null,
            "NomeClienteFornecedor": nome,
            "NomeFantasiaClienteFornecedor": fantasia,
            "DocumentoClienteFornecedor": documento,
            "LinkBoletoBancario": if payable { Value::Null } else { json!(format!("https://arquivos.exemplo.invalid/boletos/{}.pdf", self.key(e))) },
            "LinkNotaFiscalServico": null,
            "TotalItens": total,
            "DataCriacaoParcela": moment(competencia - chrono::Duration::days(20)),
            "ValorBruto": valor,
            "DataUltimaAlteracao": altered_text,
        })
    }

    /// The moment of entry `e` a `tipoData` filters on.
    fn moment(&self, e: usize, tipo: Tipo, w: &World) -> Option<NaiveDateTime> {
        let (competencia, vencimento) = self.dates(e);
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
        match tipo {
            Tipo::UltimaAlteracao => Some(self.altered(e, w)),
            Tipo::Vencimento => midnight(vencimento),
            Tipo::Competencia => midnight(competencia),
            Tipo::Pagamento => self.paid(e, w).and_then(midnight),
            Tipo::Criacao => midnight(competencia - chrono::Duration::days(20)),
        }
    }

    /// Changes `n` receivables (paid now, touched now), walking them in turn; returns
    /// their keys.
    pub fn change(&self, n: usize) -> Vec<String> {
        let total = self.entry_count();
        let receivables = (0..total).filter(|&e| !self.is_payable(e)).count();
        let now = brasilia_now();
        let mut w = self.world();
        let mut changed = Vec::new();
        while changed.len() < n.min(receivables) {
            let e = w.change_cursor % total;
            w.change_cursor += 1;
            if self.is_payable(e) {
                continue;
            }
            w.version[e] += 1;
            w.changed_at[e] = Some(now);
            w.changes += 1;
            changed.push(self.key(e));
        }
        changed
    }

    pub fn stats(&self) -> Stats {
        let w = self.world();
        let total = self.entry_count();
        let receivables: Vec<usize> = (0..total).filter(|&e| !self.is_payable(e)).collect();
        let paid = receivables
            .iter()
            .filter(|&&e| self.paid(e, &w).is_some())
            .count();
        Stats {
            clients: self.opts.clients,
            with_document: (0..self.opts.clients)
                .filter(|&i| self.has_document(i))
                .count(),
            entries: total,
            receivables: receivables.len(),
            payables: total - receivables.len(),
            receivables_paid: paid,
            receivables_open: receivables.len() - paid,
            receivables_cents: receivables.iter().map(|&e| self.cents(e)).sum(),
            changes: w.changes,
            requests: self
                .switches
                .requests
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// The API routes, to serve at the root or under a path.
    fn api(&self) -> Router<Sandbox> {
        Router::new()
            .route("/Cliente/Pesquisar", get(search_clients))
            .route("/Cliente/Obter/{id}", get(get_client))
            .route("/Financeiro/Pesquisar", get(search_entries))
    }

    pub fn router(self) -> Router {
        let api = self.api();
        Router::new()
            .merge(api.clone())
            .nest("/integracao", api)
            .route(
                "/_sandbox/stats",
                get(|State(s): State<Sandbox>| async move { Json(s.stats()) }),
            )
            .route("/_sandbox/change", post(change))
            .with_state(self.clone())
            .merge(self.switches.routes())
    }
}

#[derive(Clone, Copy)]
enum Tipo {
    UltimaAlteracao,
    Vencimento,
    Competencia,
    Pagamento,
    Criacao,
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({"Message": text}))).into_response()
}

fn refused() -> Response {
    message(StatusCode::BAD_REQUEST, "A requisição é inválida.")
}

#[derive(Deserialize)]
struct SearchQuery {
    pesquisa: Option<String>,
}

async fn search_clients(
    State(s): State<Sandbox>,
    Query(q): Query<SearchQuery>,
    headers: HeaderMap,
) -> Response {
    match s
        .switches
        .decide(None, token_ok(&headers, "ApiKey"), false)
        .await
    {
        Verdict::Answer(r) => return r,
        Verdict::Empty => return Json(json!([])).into_response(),
        Verdict::Error200 => return refused(),
        Verdict::Serve => {}
    }
    // A broad match on name or document, as the real search (blank: everyone).
    let wanted = q.pesquisa.unwrap_or_default().trim().to_uppercase();
    let items: Vec<Value> = (0..s.opts.clients)
        .filter(|&i| {
            wanted.is_empty()
                || s.razao(i).0.contains(&wanted)
                || (s.has_document(i) && s.document(i).contains(&wanted))
        })
        .map(|i| s.client(i))
        .collect();
    Json(Value::Array(items)).into_response()
}

async fn get_client(
    State(s): State<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match s
        .switches
        .decide(None, token_ok(&headers, "ApiKey"), false)
        .await
    {
        Verdict::Answer(r) => return r,
        Verdict::Empty | Verdict::Error200 => return refused(),
        Verdict::Serve => {}
    }
    let index = id
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|id| id.checked_sub(1000))
        .map(|i| i as usize)
        .filter(|&i| i < s.opts.clients);
    match index {
        Some(i) => Json(s.client(i)).into_response(),
        None => message(StatusCode::NOT_FOUND, "Cliente não encontrado."),
    }
}

/// The query's parameters, values still encoded (to see a `+` the client sent).
fn raw_params(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// A date parameter: required, `aaaa-mm-dd hh24:mi:ss`, its space as `%20` (a `+` is not
/// a space here). The error is the API's message.
fn date_param(params: &[(String, String)], name: &str) -> Result<NaiveDateTime, String> {
    let invalid = || format!("{name} inválida");
    let raw = params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| format!("{name} é obrigatória"))?;
    if raw.contains('+') {
        return Err(invalid());
    }
    let text = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| invalid())?;
    NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S").map_err(|_| invalid())
}

async fn search_entries(State(s): State<Sandbox>, uri: Uri, headers: HeaderMap) -> Response {
    let params = raw_params(&uri);
    let number = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let page = number("paginacao.numeroDaPagina").unwrap_or(1).max(1);
    let per = number("paginacao.itensPorPagina")
        .unwrap_or(50)
        .clamp(1, 100);
    let verdict = s
        .switches
        .decide(u32::try_from(page).ok(), token_ok(&headers, "ApiKey"), true)
        .await;
    match verdict {
        Verdict::Answer(r) => return r,
        Verdict::Error200 => return refused(),
        Verdict::Empty | Verdict::Serve => {}
    }
    let (from, to) = match (
        date_param(&params, "dataInicio"),
        date_param(&params, "dataTermino"),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(m), _) | (_, Err(m)) => return message(StatusCode::BAD_REQUEST, &m),
    };
    let tipo = match params
        .iter()
        .find(|(k, _)| k == "tipoData")
        .map(|(_, v)| v.as_str())
    {
        Some("UltimaAlteracao") => Tipo::UltimaAlteracao,
        Some("DataPadrao") | Some("DataPrevista") => Tipo::Vencimento,
        Some("DataCompetencia") => Tipo::Competencia,
        Some("DataPagamento") => Tipo::Pagamento,
        Some("Criacao") | Some("DataCriacao") => Tipo::Criacao,
        _ => return message(StatusCode::BAD_REQUEST, "tipoData inválido"),
    };
    let w = s.world();
    let matching: Vec<usize> = (0..s.entry_count())
        .filter(|&e| s.moment(e, tipo, &w).is_some_and(|m| m > from && m <= to))
        .collect();
    let total = matching.len();
    if matches!(verdict, Verdict::Empty) {
        return Json(json!({"Itens": [], "TotalItens": total})).into_response();
    }
    let items: Vec<Value> = matching
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .map(|&e| s.entry(e, total, &w))
        .collect();
    drop(w);
    Json(json!({"Itens": items, "TotalItens": total})).into_response()
}

#[derive(Deserialize)]
struct CountQuery {
    count: Option<usize>,
}

async fn change(State(s): State<Sandbox>, Query(q): Query<CountQuery>) -> impl IntoResponse {
    let changed = s.change(q.count.unwrap_or(1));
    Json(json!({"changed": changed, "stats": s.stats()}))
}

/// Serves `sandbox` on `addr` in the background; returns the bound address.
pub async fn spawn(sandbox: Sandbox, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    crate::providers::common::faults::serve(sandbox.router(), addr, "BomControle").await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::common::documents::document_key;

    #[test]
    fn generated_data_is_valid_and_deterministic() {
        let s = Sandbox::new(Options {
            clients: 30,
            without_document: 2,
            ..Options::default()
        });
        let docs: std::collections::HashSet<String> = (0..30).map(|i| s.document(i)).collect();
        assert_eq!(docs.len(), 30);
        assert!(docs.iter().all(|d| document_key(d).is_some()));
        assert_eq!(
            super::super::api::client_document(&s.client(0)).as_deref(),
            Some(s.document(0).as_str())
        );
        assert_eq!(super::super::api::client_document(&s.client(29)), None);
        let keys: std::collections::HashSet<String> =
            (0..s.entry_count()).map(|e| s.key(e)).collect();
        assert_eq!(keys.len(), s.entry_count());
        let again = Sandbox::new(Options {
            clients: 30,
            without_document: 2,
            ..Options::default()
        });
        assert_eq!(s.client(3), again.client(3));
        let st = s.stats();
        assert_eq!(st.receivables + st.payables, 180);
        assert_eq!(st.payables, 45);
        assert_eq!(
            (0..30).map(|i| s.receivables_of(i)).sum::<usize>(),
            st.receivables
        );
    }

    #[test]
    fn entries_parse_with_the_connector() {
        let s = Sandbox::new(Options::default());
        let w = s.world();
        for e in 0..12 {
            let v = s.entry(e, 1, &w);
            match super::super::sync::entry(&v) {
                super::super::sync::Entry::Payable => assert!(s.is_payable(e)),
                super::super::sync::Entry::Receivable(r) => {
                    assert!(!s.is_payable(e));
                    assert_eq!(r.key, s.key(e));
                    assert!(r.alterado_em.is_some());
                    let cents: i64 = (r.valor.parse::<f64>().unwrap_or(0.0) * 100.0).round() as i64;
                    assert_eq!(cents, s.cents(e));
                }
                super::super::sync::Entry::Unreadable(why) => panic!("{why}"),
            }
        }
    }

    #[test]
    fn a_plus_for_a_space_is_refused() {
        let uri: Uri = "/Financeiro/Pesquisar?dataInicio=2026-01-01+00:00:00&dataTermino=2026-01-01%2000:00:00"
            .parse()
            .expect("uri");
        let p = raw_params(&uri);
        assert!(date_param(&p, "dataInicio").is_err());
        assert!(date_param(&p, "dataTermino").is_ok());
    }
}
