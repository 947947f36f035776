//! The BomControle API as it really answers (../shared/PROVIDERS.md, NOTES.md §2): GET with
//! query parameters, `Authorization: ApiKey <key>`, dates `aaaa-mm-dd hh24:mi:ss` whose
//! space must travel as `%20` (a `+` is refused), ids as numbers or strings, money as a
//! JSON number with trailing zeros (`850.00000`), moments `YYYY-MM-DDTHH:MM:SS[.f]` without
//! a timezone, a bare array for clients and `{Itens, TotalItens}` for financial entries.
//! Errors come as ASP.NET's `{"Message": ...}` (the common HTTP layer reads it).

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::providers::common::documents;
use crate::providers::common::http::{Api, ApiSpec};
use crate::providers::{ProviderError, RunContext};

pub const SLUG: &str = "bomcontrole";
/// The vault field with the API key.
pub const TOKEN_FIELD: &str = "api_key";
/// Entries per page of `Financeiro/Pesquisar` (the API's maximum).
pub const ENTRIES_PER_PAGE: u32 = 100;

/// What a query value keeps unencoded: letters, digits, `-_.~` and `:` (readable dates).
/// Everything else is percent-encoded, the space as `%20`, never `+`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':');

/// A query value, percent-encoded (`2026-01-31 23:59:59` → `2026-01-31%2023:59:59`).
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// A moment as the API's date parameters want it (`aaaa-mm-dd hh24:mi:ss`), encoded.
pub fn query_datetime(t: NaiveDateTime) -> String {
    encode(&t.format("%Y-%m-%d %H:%M:%S").to_string())
}

pub use crate::providers::common::text;

/// An id (number or string); `0`, blank and null are `None` (the API's "no such link").
pub fn id(v: &Value, key: &str) -> Option<String> {
    text(v, key).filter(|s| s != "0")
}

/// A boolean, also when sent as `"true"`/`"false"` or `1`/`0`.
pub fn flag(v: &Value, key: &str) -> Option<bool> {
    match v.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "sim" => Some(true),
            "false" | "0" | "nao" | "não" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A moment `YYYY-MM-DDTHH:MM:SS[.f]` (no timezone; a `Z` or an offset is dropped, the
/// wall-clock time kept); a space instead of the `T` and a bare date are accepted too.
pub fn datetime(v: &Value, key: &str) -> Option<NaiveDateTime> {
    parse_datetime(&text(v, key)?)
}

/// See [`datetime`].
pub fn parse_datetime(raw: &str) -> Option<NaiveDateTime> {
    let s = raw.trim();
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t);
        }
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_local());
    }
    if let Some(t) = s.strip_suffix('Z').and_then(parse_datetime) {
        return Some(t);
    }
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// The date part of a moment (`DataVencimento`, `DataQuitacao`, ...).
pub fn date(v: &Value, key: &str) -> Option<NaiveDate> {
    datetime(v, key).map(|t| t.date())
}

/// Money as a plain decimal string (`850.00000` → `"850.0"`, exact as sent: never through
/// a rounding of ours), or `None` when it is absent or not a plain decimal that fits
/// `numeric(14, 2)`. A string with a decimal comma (`"850,00"`) is accepted; one with
/// thousands separators is not (it would be a guess).
pub fn decimal(v: &Value, key: &str) -> Option<String> {
    let raw = match v.get(key)? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let s = s.trim();
            if s.contains('.') && s.contains(',') {
                return None;
            }
            s.replace(',', ".")
        }
        _ => return None,
    };
    let unsigned = raw.strip_prefix('-').unwrap_or(&raw);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let plain = !int.is_empty()
        && int.len() <= 12
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (frac.is_empty() != unsigned.contains('.'));
    plain.then_some(raw)
}

/// A client's CNPJ/CPF digits (`PessoaJuridica.Documento` or `PessoaFisica.Documento`),
/// when it is a valid document.
pub fn client_document(client: &Value) -> Option<String> {
    ["PessoaJuridica", "PessoaFisica"]
        .iter()
        .filter_map(|k| text(client.get(k)?, "Documento"))
        .find_map(|d| documents::document_key(&d))
}

/// A client's name: company name, then trade name, then the person's name.
pub fn client_name(client: &Value) -> Option<String> {
    let pj = client.get("PessoaJuridica").unwrap_or(&Value::Null);
    let pf = client.get("PessoaFisica").unwrap_or(&Value::Null);
    text(pj, "RazaoSocial")
        .or_else(|| text(pj, "NomeFantasia"))
        .or_else(|| text(pf, "Nome"))
}

/// One page of `Financeiro/Pesquisar`.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Value>,
    /// `TotalItens`: every entry of the search, across pages.
    pub total: u64,
}

impl Page {
    /// How many pages of `per_page` the search has.
    pub fn pages(&self, per_page: u32) -> u32 {
        let per = u64::from(per_page.max(1));
        u32::try_from(self.total.div_ceil(per)).unwrap_or(u32::MAX)
    }
}

/// The API client of one run.
pub struct Client {
    pub api: Api,
}

const SPEC: ApiSpec = ApiSpec {
    slug: SLUG,
    name: "BomControle",
    secret_field: TOKEN_FIELD,
    scheme: "ApiKey",
    default_per_minute: 120,
};

impl Client {
    pub fn new(ctx: &RunContext) -> Result<Self, ProviderError> {
        Ok(Self {
            api: Api::new(ctx, &SPEC)?,
        })
    }

    /// `path` under the base URL's own path (`.../integracao/Cliente/Pesquisar`), with
    /// `query` as given (already encoded).
    fn url(&self, path: &str, query: Option<&str>) -> Result<reqwest::Url, ProviderError> {
        self.api.url(path, query)
    }

    /// One GET whose body must be JSON.
    async fn json(&self, ctx: &RunContext, url: reqwest::Url) -> Result<Value, ProviderError> {
        let answer = self.api.get(ctx, url).await?;
        if answer.status == reqwest::StatusCode::NO_CONTENT
            || answer.body.iter().all(u8::is_ascii_whitespace)
        {
            return Ok(Value::Null);
        }
        answer.json().ok_or_else(|| {
            ProviderError::Transient("resposta da BomControle em formato inesperado".into())
        })
    }

    /// A body that should have been data but is the API's `{"Message": ...}`.
    fn refusal(ctx: &RunContext, body: &Value) -> Option<ProviderError> {
        let said = body.get("Message").and_then(Value::as_str)?;
        let said: String = ctx.secrets.scrub(said).chars().take(200).collect();
        Some(ProviderError::Permanent(format!(
            "a BomControle respondeu: {said}"
        )))
    }

    /// `Cliente/Pesquisar?pesquisa=`: every client, one bare array (no paging). An
    /// `{Itens: [...]}` envelope is accepted too (other searches of the API use it). An
    /// empty list is asked again before it is trusted.
    pub async fn clients(&self, ctx: &RunContext) -> Result<Vec<Value>, ProviderError> {
        let url = self.url("Cliente/Pesquisar", Some("pesquisa="))?;
        let mut clients = self.client_list(ctx, url.clone()).await?;
        if clients.is_empty() {
            for pause in &self.api.reask {
                pause_for(ctx, *pause).await?;
                clients = self.client_list(ctx, url.clone()).await?;
                if !clients.is_empty() {
                    break;
                }
            }
        }
        Ok(clients)
    }

    async fn client_list(
        &self,
        ctx: &RunContext,
        url: reqwest::Url,
    ) -> Result<Vec<Value>, ProviderError> {
        let body = self.json(ctx, url).await?;
        match body {
            Value::Array(items) => Ok(items),
            Value::Null => Ok(Vec::new()),
            Value::Object(ref m) if m.get("Itens").is_some_and(Value::is_array) => Ok(m
                .get("Itens")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()),
            other => Err(Self::refusal(ctx, &other).unwrap_or_else(|| {
                ProviderError::Permanent(
                    "resposta da BomControle em formato inesperado (lista de clientes)".into(),
                )
            })),
        }
    }

    /// `Cliente/Obter/{id}`: one client.
    pub async fn client(&self, ctx: &RunContext, id: &str) -> Result<Value, ProviderError> {
        let path = format!(
            "Cliente/Obter/{}",
            utf8_percent_encode(id, NON_ALPHANUMERIC)
        );
        let body = self.json(ctx, self.url(&path, None)?).await?;
        if let Some(e) = Self::refusal(ctx, &body) {
            return Err(e);
        }
        if !body.is_object() {
            return Err(ProviderError::Permanent(
                "resposta da BomControle em formato inesperado (cliente)".into(),
            ));
        }
        Ok(body)
    }

    /// One page (1-based) of the financial entries changed in `(from, to]`
    /// (`tipoData=UltimaAlteracao`), `per_page` at most 100. A page that comes back empty
    /// although `TotalItens` says it has entries (the API under load) is asked again; if it
    /// stays empty the attempt fails (transient), to resume from its checkpoint.
    pub async fn entries(
        &self,
        ctx: &RunContext,
        from: NaiveDateTime,
        to: NaiveDateTime,
        page: u32,
        per_page: u32,
    ) -> Result<Page, ProviderError> {
        let per_page = per_page.clamp(1, ENTRIES_PER_PAGE);
        let query = format!(
            "dataInicio={}&dataTermino={}&tipoData=UltimaAlteracao\
             &paginacao.itensPorPagina={per_page}&paginacao.numeroDaPagina={page}",
            query_datetime(from),
            query_datetime(to)
        );
        let url = self.url("Financeiro/Pesquisar", Some(&query))?;
        let mut got = self.entries_page(ctx, url.clone()).await?;
        let expected =
            |p: &Page| p.items.is_empty() && p.total > u64::from(page - 1) * u64::from(per_page);
        if expected(&got) {
            for pause in &self.api.reask {
                pause_for(ctx, *pause).await?;
                got = self.entries_page(ctx, url.clone()).await?;
                if !expected(&got) {
                    tracing::info!(page, "an empty page of entries was not the end");
                    break;
                }
            }
            if expected(&got) {
                return Err(ProviderError::Transient(format!(
                    "a BomControle devolveu a página {page} vazia, mas informa {} lançamentos",
                    got.total
                )));
            }
        }
        Ok(got)
    }

    async fn entries_page(
        &self,
        ctx: &RunContext,
        url: reqwest::Url,
    ) -> Result<Page, ProviderError> {
        let body = self.json(ctx, url).await?;
        if body.is_null() {
            return Ok(Page::default());
        }
        let items = match body.get("Itens") {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Null) => Vec::new(),
            _ => {
                return Err(Self::refusal(ctx, &body).unwrap_or_else(|| {
                    ProviderError::Permanent(
                        "resposta da BomControle em formato inesperado (sem Itens)".into(),
                    )
                }))
            }
        };
        let total = text(&body, "TotalItens")
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(items.len() as u64);
        Ok(Page { items, total })
    }
}

async fn pause_for(ctx: &RunContext, pause: Duration) -> Result<(), ProviderError> {
    tokio::select! {
        () = tokio::time::sleep(pause) => Ok(()),
        () = ctx.cancel.cancelled() => Err(ProviderError::Cancelled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_travel_with_the_space_as_percent_20() {
        let t = NaiveDate::from_ymd_opt(2026, 1, 31)
            .and_then(|d| d.and_hms_opt(23, 59, 5))
            .expect("moment");
        assert_eq!(query_datetime(t), "2026-01-31%2023:59:05");
        assert!(!query_datetime(t).contains('+'));
        assert_eq!(encode("a+b c&d"), "a%2Bb%20c%26d");
    }

    #[test]
    fn moments_with_and_without_fractions() {
        let v = json!({"A": "2026-05-11T08:15:32.5", "B": "2026-05-10T00:00:00", "C": null,
                       "D": "2026-05-10 01:02:03", "E": "2026-05-10T01:02:03Z", "F": "2026-05-10",
                       "G": "10/05/2026"});
        let a = datetime(&v, "A").expect("fraction");
        assert_eq!(a.format("%H:%M:%S%.3f").to_string(), "08:15:32.500");
        assert_eq!(date(&v, "B"), NaiveDate::from_ymd_opt(2026, 5, 10));
        assert_eq!(datetime(&v, "C"), None);
        assert!(datetime(&v, "D").is_some());
        assert!(datetime(&v, "E").is_some());
        assert_eq!(date(&v, "F"), NaiveDate::from_ymd_opt(2026, 5, 10));
        assert_eq!(datetime(&v, "G"), None);
    }

    #[test]
    fn money_stays_a_plain_decimal() {
        let v: Value = serde_json::from_str(
            r#"{"A": 850.00000, "B": 312.40000, "C": "1500.5", "D": "850,00", "E": 1e30,
                "F": "1.234,56", "G": "abc", "H": -10, "I": null, "J": 0.1}"#,
        )
        .expect("json");
        assert_eq!(decimal(&v, "A").as_deref(), Some("850.0"));
        assert_eq!(decimal(&v, "B").as_deref(), Some("312.4"));
        assert_eq!(decimal(&v, "C").as_deref(), Some("1500.5"));
        assert_eq!(decimal(&v, "D").as_deref(), Some("850.00"));
        assert_eq!(decimal(&v, "E"), None);
        assert_eq!(decimal(&v, "F"), None);
        assert_eq!(decimal(&v, "G"), None);
        assert_eq!(decimal(&v, "H").as_deref(), Some("-10"));
        assert_eq!(decimal(&v, "I"), None);
        assert_eq!(decimal(&v, "J").as_deref(), Some("0.1"));
    }

    #[test]
    fn ids_are_numbers_or_strings_and_zero_is_none() {
        let v = json!({"A": 3187, "B": "3187", "C": 0, "D": null, "E": " "});
        assert_eq!(id(&v, "A").as_deref(), Some("3187"));
        assert_eq!(id(&v, "B").as_deref(), Some("3187"));
        assert_eq!(id(&v, "C"), None);
        assert_eq!(id(&v, "D"), None);
        assert_eq!(id(&v, "E"), None);
        assert_eq!(flag(&json!({"x": "true"}), "x"), Some(true));
        assert_eq!(flag(&json!({"x": false}), "x"), Some(false));
    }

    #[test]
    fn the_example_payloads_parse() {
        let clients: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/bomcontrole/cliente-pesquisar.json"
        ))
        .expect("example clients");
        let list = clients.as_array().cloned().unwrap_or_default();
        assert_eq!(list.len(), 2);
        assert_eq!(client_document(&list[0]).as_deref(), Some("48392017000168"));
        assert_eq!(
            client_name(&list[0]).as_deref(),
            Some("Padaria Estrela do Vale Ltda")
        );
        assert_eq!(client_document(&list[1]).as_deref(), Some("52601938498"));
        assert_eq!(client_name(&list[1]).as_deref(), Some("Ana Beatriz Lopes"));
        let one: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/bomcontrole/cliente-obter.json"
        ))
        .expect("example client");
        assert_eq!(id(&one, "Id").as_deref(), Some("3187"));

        let entries: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/bomcontrole/financeiro-pesquisar.json"
        ))
        .expect("example entries");
        let items = entries["Itens"].as_array().cloned().unwrap_or_default();
        assert_eq!(text(&entries, "TotalItens").as_deref(), Some("2"));
        assert_eq!(flag(&items[0], "Debito"), Some(false));
        assert_eq!(flag(&items[1], "Debito"), Some(true));
        assert_eq!(decimal(&items[0], "Valor").as_deref(), Some("850.0"));
        assert_eq!(
            date(&items[0], "DataQuitacao"),
            NaiveDate::from_ymd_opt(2026, 5, 9)
        );
        assert_eq!(date(&items[1], "DataQuitacao"), None);
        assert!(datetime(&items[0], "DataUltimaAlteracao").is_some());
        assert_eq!(id(&items[0], "IdCliente").as_deref(), Some("3187"));
        let err: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/bomcontrole/error-401.json"
        ))
        .expect("example error");
        assert!(crate::providers::common::http::their_words(err.to_string().as_bytes()).is_some());
    }

    #[test]
    fn pages_round_up() {
        let p = Page {
            items: Vec::new(),
            total: 201,
        };
        assert_eq!(p.pages(100), 3);
        assert_eq!(Page::default().pages(100), 0);
    }
}
