//! `local-http`: a provider that does real HTTP against a local endpoint (the sandbox in
//! [`crate::sandbox`], or anything that speaks its shape). It pages through
//! `GET <base_url>/records?page=N` and counts what each record says happened. Tests and
//! the demo use it; it is not in the production catalog (the demo seed adds its row).

use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{retry_after, Outcome, Provider, ProviderError, RunContext};

pub const SLUG: &str = "local-http";

pub struct LocalHttp;

#[derive(Deserialize)]
struct Page {
    data: Vec<Value>,
    total_pages: u32,
}

impl Provider for LocalHttp {
    fn slug(&self) -> &'static str {
        SLUG
    }
    fn name(&self) -> &'static str {
        "Teste local (HTTP)"
    }
    fn default_timeout(&self) -> Duration {
        Duration::from_secs(60)
    }
    fn run<'a>(&'a self, ctx: RunContext) -> BoxFuture<'a, Result<Outcome, ProviderError>> {
        Box::pin(run(ctx))
    }
}

async fn run(ctx: RunContext) -> Result<Outcome, ProviderError> {
    let base = ctx.base_url()?;
    let records_url = format!("{}/records", base.as_str().trim_end_matches('/'));
    let token = ctx.config.get("api_token").and_then(Value::as_str);
    let mut out = Outcome::default();
    let mut page = 1u32;
    let mut sample = Value::Null;
    loop {
        let mut req = ctx
            .http
            .get(&records_url)
            .query(&[("page", page)])
            .header("x-execution-id", ctx.execution_id.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = tokio::select! {
            r = req.send() => r.map_err(|e| ProviderError::from_reqwest(&e))?,
            () = ctx.cancel.cancelled() => return Err(ProviderError::Cancelled),
        };
        let status = resp.status();
        if !status.is_success() {
            return Err(ProviderError::from_status(
                status,
                retry_after(resp.headers()),
            ));
        }
        let body: Page = resp
            .json()
            .await
            .map_err(|e| ProviderError::from_reqwest(&e))?;
        for rec in &body.data {
            out.processed += 1;
            match rec.get("acao").and_then(Value::as_str) {
                Some("created") => out.created += 1,
                Some("updated") => out.updated += 1,
                Some("unchanged") => out.unchanged += 1,
                Some("failed") => out.failed += 1,
                _ => out.ignored += 1,
            }
        }
        if sample.is_null() {
            sample = body.data.first().cloned().unwrap_or(Value::Null);
        }
        if let Some(pct) = (page.min(body.total_pages) * 100).checked_div(body.total_pages) {
            ctx.progress.set(i32::try_from(pct).unwrap_or(100));
        }
        if page >= body.total_pages || body.data.is_empty() {
            break;
        }
        page += 1;
    }
    // What was sent and what came back; the engine redacts both before storing them, so
    // the token and the CNPJ of the sample never reach the log row.
    out.payload = json!({
        "url": records_url,
        "pages": page,
        "headers": {"authorization": token.map(|t| format!("Bearer {t}"))},
    });
    out.response = json!({"records": out.processed, "sample": sample});
    Ok(out)
}
