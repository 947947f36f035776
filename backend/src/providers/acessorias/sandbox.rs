//! A fake Acessórias API for tests, the demo and anyone testing a client: the documented
//! shapes (../shared/providers/acessorias) over generated companies of any count,
//! deterministic by seed, with the fault switches of [`Faults`] and a control plane to
//! change, close and count records between runs.
//!
//! API: `GET /companies/ListAll?Pagina=N` (20 a page, `[]` past the end; 204 on
//! `?Pagina=0`), `GET /companies/{cnpj}`, `GET /deliveries/{cnpj}?DtInitial&DtFinal&Pagina
//! [&config][&DtLastDH]` (50 a page; without both dates an empty answer, as the real API;
//! one company block, or an array of them with `deliveries_as_array`). Every request wants
//! `Authorization: Bearer sbx_...`.
//!
//! Control: `GET /_sandbox/stats`, `POST /_sandbox/faults` (a [`Faults`] JSON),
//! `POST /_sandbox/change?count=N`, `POST /_sandbox/close?count=N`,
//! `POST /_sandbox/change-deliveries?count=N`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::providers::common::documents::format_document;
use crate::providers::common::faults::{mix, token_ok, Switches, Verdict, NAMES, SUFFIXES, TRADES};

/// What the sandbox generates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Options {
    pub companies: usize,
    pub seed: u64,
    /// Companies (the last ones) whose `Identificador` is blank.
    pub without_document: usize,
    /// Every n-th company is closed (`Status: Inativa`); 0: none.
    pub closed_every: usize,
    /// Deliveries per company (each with a deadline in the months around today).
    pub deliveries_per_company: usize,
    /// Answer deliveries as an array of company blocks instead of one object.
    pub deliveries_as_array: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            companies: 60,
            seed: 1,
            without_document: 0,
            closed_every: 0,
            deliveries_per_company: 3,
            deliveries_as_array: false,
        }
    }
}

#[derive(Default)]
struct World {
    /// Per company: how many times it changed, and whether it was closed.
    version: Vec<u32>,
    closed: Vec<bool>,
    delivery_version: Vec<u32>,
    /// When each company's deliveries last changed (Brasília time), if they did.
    delivery_changed_at: Vec<Option<chrono::NaiveDateTime>>,
    /// Where the next `change` starts (changes walk the companies in turn).
    change_cursor: usize,
    close_cursor: usize,
    delivery_cursor: usize,
}

#[derive(Clone)]
pub struct Sandbox {
    opts: Arc<Options>,
    /// Company index by document digits.
    index: Arc<std::collections::HashMap<String, usize>>,
    world: Arc<Mutex<World>>,
    pub switches: Switches,
    today: NaiveDate,
}

/// Counts of what the sandbox serves now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    pub companies: usize,
    pub with_document: usize,
    pub active: usize,
    pub closed: usize,
    pub deliveries: usize,
    pub requests: u64,
}

impl Sandbox {
    pub fn new(opts: Options) -> Self {
        let n = opts.companies;
        let world = World {
            version: vec![0; n],
            closed: (0..n)
                .map(|i| opts.closed_every > 0 && i % opts.closed_every == opts.closed_every - 1)
                .collect(),
            delivery_version: vec![0; n],
            delivery_changed_at: vec![None; n],
            ..World::default()
        };
        let mut sandbox = Self {
            opts: Arc::new(opts),
            index: Arc::default(),
            world: Arc::new(Mutex::new(world)),
            switches: Switches::default(),
            today: crate::providers::common::brasilia_now().date(),
        };
        let index = (0..sandbox.opts.companies)
            .filter(|&i| sandbox.has_document(i))
            .map(|i| (sandbox.document(i), i))
            .collect();
        sandbox.index = Arc::new(index);
        sandbox
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn has_document(&self, i: usize) -> bool {
        i < self.opts.companies - self.opts.without_document.min(self.opts.companies)
    }

    /// The CNPJ/CPF digits of record `i`, whether or not it is served with them
    /// ([`crate::providers::common::faults::document`]).
    pub fn document(&self, i: usize) -> String {
        crate::providers::common::faults::document(self.opts.seed, i)
    }

    /// Company `i` as `companies/ListAll` shows it.
    pub fn company(&self, i: usize) -> Value {
        let (version, closed) = {
            let w = self.world();
            (w.version[i], w.closed[i])
        };
        let r = mix(self.opts.seed, i as u64);
        let trade = TRADES[(r % TRADES.len() as u64) as usize];
        let name = NAMES[((r >> 8) % NAMES.len() as u64) as usize];
        let suffix = SUFFIXES[((r >> 16) % SUFFIXES.len() as u64) as usize];
        let razao = format!("{trade} {name} {} {suffix}", i + 1);
        let id = if self.has_document(i) {
            format_document(&self.document(i))
        } else {
            String::new()
        };
        let since = NaiveDate::from_ymd_opt(2015 + (r % 10) as i32, 1 + ((r >> 4) % 12) as u32, 1)
            .unwrap_or(self.today);
        let uf = ["SP", "MG", "PR", "RJ"][((r >> 24) % 4) as usize];
        let regime =
            ["Simples Nacional", "Lucro Presumido", "Lucro Real", "MEI"][((r >> 32) % 4) as usize];
        json!({
            "ID": (i + 1).to_string(),
            "Identificador": id,
            "Razao": razao,
            "Fantasia": format!("{trade} {name}"),
            "Status": if closed { "Inativa" } else { "Ativa" },
            "Telefone": format!("19{:08}", (r >> 20) % 100_000_000 + u64::from(version)),
            "UF": uf,
            "ClienteDesde": since.to_string(),
            "ClienteAte": if closed { self.today.to_string() } else { "0000-00-00".to_owned() },
            "DataDoCadastro": since.to_string(),
            "Honorario": format!("{}.00", 300 + (r >> 28) % 2000),
            "DtLastDH": format!("2026-01-01 00:00:{:02}", version % 60),
            "Regime": regime,
            "Obrigacoes": [
                {"Nome": "DAS - SIMPLES NACIONAL", "Status": "Ativa", "Entregues": (r % 40).to_string(),
                 "Atrasadas": "0", "Proximos30D": "1", "Futuras30+": "11"}
            ]
        })
    }

    /// The deliveries of company `i`.
    fn deliveries(&self, i: usize) -> Vec<Value> {
        let (v, changed_at) = {
            let w = self.world();
            (w.delivery_version[i], w.delivery_changed_at[i])
        };
        let last_dh = changed_at
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "2026-01-01 00:00:00".to_owned());
        let r = mix(self.opts.seed ^ 0xD1, i as u64);
        let first = self.today.with_day(1).unwrap_or(self.today);
        (0..self.opts.deliveries_per_company)
            .map(|j| {
                let month = first
                    .checked_sub_months(Months::new(1))
                    .and_then(|m| m.checked_add_months(Months::new(j as u32)))
                    .unwrap_or(first);
                let prazo = month.with_day(15).unwrap_or(month);
                let delivered = j == 0;
                let (nome, tipo) = [("DAS - SIMPLES NACIONAL", "O"), ("DCTFWEB", "O"), ("Conferir extrato bancário", "T")][j % 3];
                json!({
                    "Nome": nome,
                    "EntCompetencia": month.checked_sub_months(Months::new(1)).unwrap_or(month).to_string(),
                    "EntDtPrazo": prazo.to_string(),
                    "EntDtAtraso": prazo.to_string(),
                    "EntDtEntrega": if delivered { (prazo - chrono::Duration::days(3)).to_string() } else { "0000-00-00".into() },
                    "EntDtFinalizacao": "0000-00-00 00:00:00",
                    "EntMulta": if r.is_multiple_of(2) { "S" } else { "N" },
                    "Status": if delivered { "Ent. antecipada" } else if v > 0 { "Entregue" } else { "Pendente" },
                    "EntGuiaLida": "",
                    "EntLastDH": last_dh,
                    "Config": {
                        "EntID": (i * 10 + j + 1).to_string(), "Tipo": tipo, "ID": "230",
                        "DptoID": "1", "DptoNome": "Fiscal", "CriadorID": "12",
                        "RespPrazo": "Juliana Prado", "RespPrazoID": "37",
                        "RespEntrega": "", "RespEntregaID": "0"
                    }
                })
            })
            .collect()
    }

    fn index_of(&self, cnpj: &str) -> Option<usize> {
        let digits: String = cnpj.chars().filter(char::is_ascii_digit).collect();
        self.index.get(&digits).copied()
    }

    /// Changes `n` companies (name of trade and phone move), walking them in turn.
    pub fn change(&self, n: usize) -> Vec<String> {
        let mut w = self.world();
        let total = self.opts.companies;
        let mut changed = Vec::new();
        for _ in 0..n.min(total) {
            let i = w.change_cursor % total;
            w.change_cursor += 1;
            w.version[i] += 1;
            changed.push(self.document(i));
        }
        changed
    }

    /// Closes `n` open companies (`Status: Inativa`).
    pub fn close(&self, n: usize) -> Vec<String> {
        let mut w = self.world();
        let total = self.opts.companies;
        let mut closed = Vec::new();
        let mut tries = 0;
        while closed.len() < n && tries < total {
            let i = total - 1 - (w.close_cursor % total);
            w.close_cursor += 1;
            tries += 1;
            if !w.closed[i] && self.has_document(i) {
                w.closed[i] = true;
                closed.push(self.document(i));
            }
        }
        closed
    }

    /// Changes the deliveries of `n` companies.
    pub fn change_deliveries(&self, n: usize) {
        let mut w = self.world();
        let total = self.opts.companies;
        for _ in 0..n.min(total) {
            let i = w.delivery_cursor % total;
            w.delivery_cursor += 1;
            w.delivery_version[i] += 1;
            w.delivery_changed_at[i] =
                Some((chrono::Utc::now() - chrono::Duration::hours(3)).naive_utc());
        }
    }

    pub fn stats(&self) -> Stats {
        let w = self.world();
        let with_document = (0..self.opts.companies)
            .filter(|&i| self.has_document(i))
            .count();
        let closed = (0..self.opts.companies).filter(|&i| w.closed[i]).count();
        Stats {
            companies: self.opts.companies,
            with_document,
            active: self.opts.companies - closed,
            closed,
            deliveries: with_document * self.opts.deliveries_per_company,
            requests: self
                .switches
                .requests
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/companies/{id}", get(companies))
            .route("/deliveries/{id}", get(deliveries))
            .route(
                "/_sandbox/stats",
                get(|State(s): State<Sandbox>| async move { Json(s.stats()) }),
            )
            .route("/_sandbox/change", post(control))
            .route("/_sandbox/close", post(control))
            .route("/_sandbox/change-deliveries", post(control))
            .with_state(self.clone())
            .merge(self.switches.routes())
    }
}

fn erro() -> Response {
    Json(json!({"Erro": "Entrega [DAS para 48.392.017/0001-68] inexistente [Comp. 04/2026]."}))
        .into_response()
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(rename = "Pagina")]
    pagina: Option<u32>,
}

async fn companies(
    State(s): State<Sandbox>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let page = q.pagina.unwrap_or(1);
    let list = id == "ListAll";
    match s
        .switches
        .decide(list.then_some(page), token_ok(&headers, "Bearer"), list)
        .await
    {
        Verdict::Answer(r) => return r,
        Verdict::Empty => return Json(json!([])).into_response(),
        Verdict::Error200 => return erro(),
        Verdict::Serve => {}
    }
    if !list {
        return match s.index_of(&id) {
            Some(i) => Json(s.company(i)).into_response(),
            None => Json(json!({"Erro": format!("Empresa [{id}] inexistente.")})).into_response(),
        };
    }
    if page == 0 {
        return StatusCode::NO_CONTENT.into_response();
    }
    let per = super::api::COMPANIES_PER_PAGE;
    let start = (page as usize - 1) * per;
    let items: Vec<Value> = (start..(start + per).min(s.opts.companies))
        .map(|i| s.company(i))
        .collect();
    Json(Value::Array(items)).into_response()
}

async fn deliveries(
    State(s): State<Sandbox>,
    Path(id): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let page: u32 = param("Pagina").and_then(|p| p.parse().ok()).unwrap_or(1);
    match s
        .switches
        .decide(Some(page), token_ok(&headers, "Bearer"), true)
        .await
    {
        Verdict::Answer(r) => return r,
        Verdict::Empty => return Json(json!([])).into_response(),
        Verdict::Error200 => return erro(),
        Verdict::Serve => {}
    }
    let Some(i) = s.index_of(&id) else {
        return Json(json!({"Erro": format!("Empresa [{id}] inexistente.")})).into_response();
    };
    let date = |k: &str| param(k).and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
    let (Some(from), Some(to)) = (date("DtInitial"), date("DtFinal")) else {
        // Without both dates the real API answers nothing, silently.
        return StatusCode::NO_CONTENT.into_response();
    };
    let since = param("DtLastDH")
        .and_then(|d| chrono::NaiveDateTime::parse_from_str(&d, "%Y-%m-%d %H:%M:%S").ok());
    // `config` with a value filters by delivery id; the bare flag adds `Config`.
    let config = params
        .iter()
        .find(|(n, _)| n == "config")
        .map(|(_, v)| v.clone());
    let mut items: Vec<Value> = s
        .deliveries(i)
        .into_iter()
        .filter(|d| {
            let prazo = d["EntDtPrazo"]
                .as_str()
                .and_then(|p| NaiveDate::parse_from_str(p, "%Y-%m-%d").ok());
            prazo.is_some_and(|p| p >= from && p <= to)
        })
        // Only what changed after `DtLastDH`, when asked.
        .filter(|d| {
            let dh = d["EntLastDH"]
                .as_str()
                .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok());
            since.is_none_or(|since| dh.is_some_and(|dh| dh > since))
        })
        .collect();
    match config.as_deref() {
        Some("") => {}
        Some(id) => items.retain(|d| d["Config"]["EntID"].as_str() == Some(id)),
        None => {
            for d in &mut items {
                if let Value::Object(m) = d {
                    m.remove("Config");
                }
            }
        }
    }
    let per = super::api::DELIVERIES_PER_PAGE;
    let page_items: Vec<Value> = items
        .into_iter()
        .skip((page as usize - 1) * per)
        .take(per)
        .collect();
    if page_items.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let company = s.company(i);
    let block = json!({
        "ID": company["ID"], "Identificador": company["Identificador"],
        "Razao": company["Razao"], "Fantasia": company["Fantasia"],
        "Entregas": page_items,
    });
    if s.opts.deliveries_as_array {
        Json(json!([block])).into_response()
    } else {
        Json(block).into_response()
    }
}

#[derive(Deserialize)]
struct CountQuery {
    count: Option<usize>,
}

async fn control(
    State(s): State<Sandbox>,
    uri: axum::http::Uri,
    Query(q): Query<CountQuery>,
) -> impl IntoResponse {
    let n = q.count.unwrap_or(1);
    let changed = match uri.path() {
        "/_sandbox/close" => s.close(n),
        "/_sandbox/change-deliveries" => {
            s.change_deliveries(n);
            Vec::new()
        }
        _ => s.change(n),
    };
    Json(json!({"changed": changed, "stats": s.stats()}))
}

/// Serves `sandbox` on `addr` in the background; returns the bound address.
pub async fn spawn(sandbox: Sandbox, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    crate::providers::common::faults::serve(sandbox.router(), addr, "Acessórias").await
}
