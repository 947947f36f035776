//! `local-http`: a provider that does real HTTP against a local endpoint (the sandbox in
//! [`crate::sandbox`], or anything that speaks its shape). It pages through
//! `GET <base_url>/records?page=N` with the tenant's token from the vault
//! (`Authorization: Bearer`), and counts what each record says happened. Tests and the
//! demo use it; it is not in the production catalog (the demo seed adds its row).

use std::time::Duration;

use futures::future::BoxFuture;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{retry_after, Outcome, Provider, ProviderError, RunContext};

pub const SLUG: &str = "local-http";
/// The vault field holding the token.
pub const TOKEN_FIELD: &str = "api_token";

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
    fn check<'a>(&'a self, ctx: RunContext) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move { fetch(&ctx, 1).await.map(|_| ()) })
    }
}

/// One page, authenticated; a non-success status becomes a typed error that carries the
/// provider's own `error` text (which the engine scrubs of secrets before storing it).
async fn fetch(ctx: &RunContext, page: u32) -> Result<Page, ProviderError> {
    // The credential first: its absence is the admin's to fix whatever the address.
    let token = ctx.secrets.get(TOKEN_FIELD)?;
    let base = ctx.base_url()?;
    let url = format!("{}/records", base.as_str().trim_end_matches('/'));
    let req = ctx
        .http
        .get(&url)
        .query(&[("page", page)])
        .header("x-execution-id", ctx.execution_id.to_string())
        .bearer_auth(token.expose_secret());
    let resp = tokio::select! {
        r = req.send() => r.map_err(|e| ProviderError::from_reqwest(&e))?,
        () = ctx.cancel.cancelled() => return Err(ProviderError::Cancelled),
    };
    let status = resp.status();
    if !status.is_success() {
        let wait = retry_after(resp.headers());
        // The provider's own words, scrubbed of credentials before they are cut short.
        let said = resp
            .json::<Value>()
            .await
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .map(|t| ctx.secrets.scrub(&t));
        return Err(match (ProviderError::from_status(status, wait), said) {
            (ProviderError::Permanent(m), Some(said)) => {
                ProviderError::Permanent(format!("{m}: {}", truncate(&said, 200)))
            }
            (ProviderError::Auth(m), Some(said)) => {
                ProviderError::Auth(format!("{m}: {}", truncate(&said, 200)))
            }
            (e, _) => e,
        });
    }
    resp.json()
        .await
        .map_err(|e| ProviderError::from_reqwest(&e))
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

async fn run(ctx: RunContext) -> Result<Outcome, ProviderError> {
    let mut out = Outcome::default();
    let mut page = 1u32;
    let mut sample = Value::Null;
    loop {
        let asked = std::time::Instant::now();
        let body = fetch(&ctx, page).await?;
        ctx.timeline
            .page(asked.elapsed(), std::time::Duration::ZERO);
        ctx.timeline.rows(body.data.len() as u64);
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
    // What was sent and what came back; the engine redacts both before storing them (the
    // authorization header by its name, any echo of a credential by its value).
    out.payload = json!({
        "path": "/records",
        "pages": page,
        "headers": {"authorization": "Bearer <token do cofre>"},
    });
    out.response = json!({"records": out.processed, "sample": sample});
    Ok(out)
}
