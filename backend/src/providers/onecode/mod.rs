//! OneCode (messaging): the firm's WhatsApp contacts matched to its companies, and the
//! webhook's events.
//!
//! A run pages `GET /api/contacts` to the end (a short or empty page: `count`
//! over-reports), one transaction per page with its checkpoint, so a retry of the same
//! execution resumes at the page after the last committed one. Each contact is matched
//! ([`matcher`]) unless a person decided about it in *Revisar contatos*; the log row's
//! totals are exact: processed = matched + review + ignored + failed.
//!
//! Webhook deliveries are authenticated ([`signature`]), stored ([`webhook::store`]) and
//! processed from the queue in batches ([`webhook::process_pending`]).

pub mod api;
pub mod matcher;
pub mod sandbox;
pub mod signature;
pub mod sync;
pub mod webhook;

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::json;

use super::common::{report_pages, state};
use super::{Outcome, Provider, ProviderError, RunContext};
use api::{Client, PAGE_SIZE};
use matcher::Thresholds;
use sync::{ContactsState, Tally, CONTACTS};

pub use api::{SLUG, TOKEN_FIELD};

/// The secret field that authenticates webhook deliveries.
pub const WEBHOOK_SECRET_FIELD: &str = "webhook_secret";

pub struct OneCode;

impl Provider for OneCode {
    fn slug(&self) -> &'static str {
        SLUG
    }
    fn name(&self) -> &'static str {
        "OneCode"
    }
    fn default_timeout(&self) -> Duration {
        Duration::from_secs(3600)
    }
    fn run<'a>(&'a self, ctx: RunContext) -> BoxFuture<'a, Result<Outcome, ProviderError>> {
        Box::pin(run(ctx))
    }
    fn check<'a>(&'a self, ctx: RunContext) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let mut client = Client::new(&ctx)?;
            client.api.policy.attempts = 1;
            client.api.reask.clear();
            client.contacts(&ctx, 1, 1).await.map(|_| ())
        })
    }
}

async fn run(ctx: RunContext) -> Result<Outcome, ProviderError> {
    let mut client = Client::new(&ctx)?;
    let thresholds = Thresholds::from_config(&ctx.config);
    let mut companies = sync::load_companies(&ctx.db, ctx.tenant_id).await?;

    let mut cs: ContactsState = state::load(&ctx.db, ctx.integration_id, CONTACTS)
        .await?
        .unwrap_or_default();
    if cs.execution_id != Some(ctx.execution_id) || cs.next_page == 0 {
        cs = ContactsState {
            execution_id: Some(ctx.execution_id),
            next_page: 1,
            tally: Tally::default(),
            last_pages: cs.last_pages,
        };
    }
    let resumed_at = cs.next_page;
    let mut previous: Option<Vec<Option<i64>>> = None;
    loop {
        let page = cs.next_page;
        let items = client.contacts(&ctx, page, PAGE_SIZE).await?;
        if items.is_empty() {
            break;
        }
        let ids: Vec<Option<i64>> = items
            .iter()
            .map(|v| v.get("id").and_then(serde_json::Value::as_i64))
            .collect();
        if previous.as_ref() == Some(&ids) {
            tracing::warn!(
                page,
                "OneCode repeated the previous page; taking it as the end"
            );
            break;
        }
        let mut tx = crate::scope::begin_service(&ctx.db)
            .await
            .map_err(state::db_error)?;
        let t = sync::write_contacts(&mut tx, ctx.tenant_id, &items, &mut companies, thresholds)
            .await?;
        cs.tally.add(t);
        cs.next_page = page + 1;
        state::save(&mut tx, ctx.integration_id, CONTACTS, &cs).await?;
        tx.commit().await.map_err(state::db_error)?;
        ctx.timeline.rows(items.len() as u64);
        report_pages(
            &ctx.progress,
            u64::from(page),
            cs.last_pages.map(u64::from),
            0,
            100,
        );
        // A short page ends the list; "short" against what the provider says it served,
        // should it serve fewer than asked.
        let full = client
            .served_page_size
            .filter(|s| *s > 0)
            .map_or(PAGE_SIZE, |s| s.min(PAGE_SIZE));
        if items.len() < full {
            break;
        }
        previous = Some(ids);
    }
    let tally = cs.tally;
    // The pass is complete: the next execution starts from the first page again.
    cs.last_pages = Some(cs.next_page.saturating_sub(1).max(1));
    cs.next_page = 0;
    state::save_now(&ctx.db, ctx.integration_id, CONTACTS, &cs).await?;
    ctx.progress.set(100);

    Ok(Outcome {
        processed: tally.processed,
        created: tally.created,
        updated: tally.updated,
        unchanged: tally.unchanged,
        failed: tally.failed,
        review: tally.review,
        ignored: tally.ignored,
        matched: Some(tally.matched),
        payload: json!({
            "requests": [format!("GET /api/contacts?page=N&pageSize={PAGE_SIZE}")],
            "headers": {"authorization": "Bearer <token do cofre>"},
            "resumed_at_page": (resumed_at > 1).then_some(resumed_at),
            "limiares": {"vincular": thresholds.link, "revisar": thresholds.review},
        }),
        response: json!({
            "contatos": tally,
            "empresas_com_whatsapp_preenchido": tally.whatsapp_filled,
            "empresas_comparadas": companies.len(),
            "paginas": cs.last_pages,
        }),
    })
}
