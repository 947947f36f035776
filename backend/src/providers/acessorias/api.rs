//! The Acessórias API as it really answers (../shared/PROVIDERS.md): every scalar a string
//! (or, now and then, a number), `0000-00-00` for "no date", formatted or bare CNPJ,
//! object-or-array bodies, business errors as HTTP 200 with `{"Erro": "..."}`, 204 for
//! "nothing", and an empty `[]` under load that must be asked again before it is trusted.

use chrono::{NaiveDate, NaiveDateTime};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::providers::common::http::{Api, ApiSpec};
use crate::providers::{ProviderError, RunContext};

pub const SLUG: &str = "acessorias";
/// The vault field with the Bearer token.
pub const TOKEN_FIELD: &str = "api_token";
/// Companies per page of `companies/ListAll` (fixed by the API).
pub const COMPANIES_PER_PAGE: usize = 20;
/// Deliveries per page of `deliveries/{cnpj}` (fixed by the API).
pub const DELIVERIES_PER_PAGE: usize = 50;

pub use crate::providers::common::text;

/// A `YYYY-MM-DD` date; `0000-00-00`, blank and anything unreadable are `None`.
pub fn date(v: &Value, key: &str) -> Option<NaiveDate> {
    let s = text(v, key)?;
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// A `YYYY-MM-DD HH:MM:SS` moment; `0000-00-00 00:00:00` is `None`.
pub fn datetime(v: &Value, key: &str) -> Option<NaiveDateTime> {
    let s = text(v, key)?;
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S").ok()
}

/// A list in a body that is sometimes an array and sometimes one object.
pub fn as_list(body: Value) -> Vec<Value> {
    match body {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    }
}

/// The API client of one run.
pub struct Client {
    pub api: Api,
}

const SPEC: ApiSpec = ApiSpec {
    slug: SLUG,
    name: "Acessórias",
    secret_field: TOKEN_FIELD,
    scheme: "Bearer",
    default_per_minute: 100,
};

impl Client {
    pub fn new(ctx: &RunContext) -> Result<Self, ProviderError> {
        Ok(Self {
            api: Api::new(ctx, &SPEC)?,
        })
    }

    fn url(&self, path: &str, query: &str) -> Result<reqwest::Url, ProviderError> {
        self.api.url(path, Some(query))
    }

    /// One GET; `{"Erro": ...}` with 200 is a permanent error. Returns the list and whether
    /// the API said "nothing" outright (204 or no body), as opposed to a `[]` that may be
    /// the API under load.
    async fn list(
        &self,
        ctx: &RunContext,
        url: reqwest::Url,
    ) -> Result<(Vec<Value>, bool), ProviderError> {
        let answer = self.api.get(ctx, url).await?;
        if answer.status == reqwest::StatusCode::NO_CONTENT
            || answer.body.iter().all(u8::is_ascii_whitespace)
        {
            return Ok((Vec::new(), true));
        }
        let body = answer.json().ok_or_else(|| {
            ProviderError::Transient("resposta da Acessórias em formato inesperado".into())
        })?;
        if let Some(erro) = body.get("Erro").and_then(Value::as_str) {
            let said: String = ctx.secrets.scrub(erro).chars().take(200).collect();
            return Err(ProviderError::Permanent(format!(
                "a Acessórias respondeu: {said}"
            )));
        }
        if !matches!(body, Value::Array(_) | Value::Object(_) | Value::Null) {
            return Err(ProviderError::Permanent(
                "resposta da Acessórias em formato inesperado".into(),
            ));
        }
        Ok((as_list(body), false))
    }

    /// [`Client::list`], asking an empty `[]` again (twice, after a pause) before it is
    /// trusted: under load the API answers `[]` instead of 429. Returns the list and
    /// whether it is sure: `false` when it is a `[]` that stayed empty (not a 204).
    async fn list_reasked(
        &self,
        ctx: &RunContext,
        url: reqwest::Url,
    ) -> Result<(Vec<Value>, bool), ProviderError> {
        let (items, nothing) = self.list(ctx, url.clone()).await?;
        if !items.is_empty() || nothing {
            return Ok((items, true));
        }
        for pause in &self.api.reask {
            tokio::select! {
                () = tokio::time::sleep(*pause) => {}
                () = ctx.cancel.cancelled() => return Err(ProviderError::Cancelled),
            }
            let (again, nothing) = self.list(ctx, url.clone()).await?;
            if !again.is_empty() || nothing {
                tracing::info!("an empty answer of Acessórias was not the last word");
                return Ok((again, true));
            }
        }
        Ok((Vec::new(), false))
    }

    /// `companies/ListAll?Pagina=N`. An empty first page, or an empty page after a full
    /// one, is asked again (the API answers `[]` under load instead of 429) before it is
    /// taken as the end.
    pub async fn companies(
        &self,
        ctx: &RunContext,
        page: u32,
        after_full_page: bool,
    ) -> Result<Vec<Value>, ProviderError> {
        let url = self.url("companies/ListAll", &format!("Pagina={page}"))?;
        if after_full_page || page == 1 {
            Ok(self.list_reasked(ctx, url).await?.0)
        } else {
            Ok(self.list(ctx, url).await?.0)
        }
    }

    /// One page of a company's deliveries whose deadline falls in `[from, to]` (changed
    /// after `since`, when given), with `Config` (the bare `config` flag: `config=1` would
    /// filter by delivery id). The body may be one company block or an array of them; a
    /// `[]` is asked again before it is trusted (204 is "nothing" outright). Returns the
    /// deliveries and whether the answer is sure (`false`: a `[]` that stayed empty, which
    /// may be the API under load).
    pub async fn deliveries(
        &self,
        ctx: &RunContext,
        cnpj: &str,
        from: NaiveDate,
        to: NaiveDate,
        since: Option<NaiveDateTime>,
        page: u32,
    ) -> Result<(Vec<Value>, bool), ProviderError> {
        let mut query = format!(
            "DtInitial={}&DtFinal={}&Pagina={page}&config",
            from.format("%Y-%m-%d"),
            to.format("%Y-%m-%d")
        );
        if let Some(since) = since {
            let s = since.format("%Y-%m-%d %H:%M:%S").to_string();
            query.push_str(&format!(
                "&DtLastDH={}",
                utf8_percent_encode(&s, NON_ALPHANUMERIC)
            ));
        }
        let digits: String = cnpj.chars().filter(char::is_ascii_digit).collect();
        let url = self.url(&format!("deliveries/{digits}"), &query)?;
        let (blocks, sure) = self.list_reasked(ctx, url).await?;
        let items = blocks
            .into_iter()
            .flat_map(|b| match b.get("Entregas") {
                Some(Value::Array(e)) => e.clone(),
                _ => Vec::new(),
            })
            .collect();
        Ok((items, sure))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_arrive_as_strings_or_numbers_and_zero_dates_are_none() {
        let v = json!({"ID": "214", "N": 214, "Blank": " ", "D": "0000-00-00", "Ok": "2026-05-15",
                       "DH": "2026-05-09 10:03:51", "DH0": "0000-00-00 00:00:00"});
        assert_eq!(text(&v, "ID").as_deref(), Some("214"));
        assert_eq!(text(&v, "N").as_deref(), Some("214"));
        assert_eq!(text(&v, "Blank"), None);
        assert_eq!(date(&v, "D"), None);
        assert_eq!(date(&v, "Ok"), NaiveDate::from_ymd_opt(2026, 5, 15));
        assert!(datetime(&v, "DH").is_some());
        assert_eq!(datetime(&v, "DH0"), None);
    }

    #[test]
    fn bodies_are_arrays_or_one_object() {
        assert_eq!(as_list(json!([{"a": 1}, {"a": 2}])).len(), 2);
        assert_eq!(as_list(json!({"a": 1})).len(), 1);
        assert!(as_list(Value::Null).is_empty());
    }

    #[test]
    fn the_example_payloads_parse() {
        let companies: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/acessorias/companies-listall.json"
        ))
        .expect("example companies");
        let list = as_list(companies);
        assert!(!list.is_empty());
        assert_eq!(
            text(&list[0], "Identificador").as_deref(),
            Some("48.392.017/0001-68")
        );
        let deliveries: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/acessorias/deliveries-by-cnpj.json"
        ))
        .expect("example deliveries");
        let entregas = as_list(deliveries)[0]["Entregas"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(entregas.len() >= 2);
        assert_eq!(
            text(&entregas[0]["Config"], "EntID").as_deref(),
            Some("88412")
        );
        assert_eq!(date(&entregas[1], "EntDtEntrega"), None);
    }
}
