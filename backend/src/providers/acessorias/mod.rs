//! Acessórias (fiscal): the firm's client companies into `empresas` and their deliveries
//! (obrigações and tarefas) into `acessorias_entregas`.
//!
//! A run has two passes, each resumable from its checkpoint:
//! 1. **Companies**: `companies/ListAll?Pagina=N` to the end (a short page, or an empty one
//!    that stays empty when asked again), one transaction per page with its checkpoint.
//!    A retry of the same execution resumes at the page after the last committed one.
//! 2. **Deliveries** (`sync_entregas`): for each open synced company, in document order,
//!    `deliveries/{cnpj}` over the configured window of deadlines, only what changed since
//!    that company's cursor (`DtLastDH`; the whole window for a company without one, or
//!    when the window moved). A company whose deliveries are refused is counted as failed
//!    (the run ends `partial`) and keeps its old cursor, so the next pass asks again.
//!
//! Totals on the log row are the companies'; the response keeps both passes' totals.

pub mod api;
pub mod sandbox;
pub mod sync;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{Datelike, Months, NaiveDate};
use futures::future::BoxFuture;
use serde_json::{json, Value};

use super::common::{brasilia_now, config_bool, config_int, report_pages, state};
use super::{Outcome, Provider, ProviderError, RunContext};
use api::{text, Client, COMPANIES_PER_PAGE, DELIVERIES_PER_PAGE};
use sync::{CompaniesState, CompanyCursor, Counts, DeliveriesState, Pass, COMPANIES, DELIVERIES};

pub use api::{SLUG, TOKEN_FIELD};

pub struct Acessorias;

impl Provider for Acessorias {
    fn slug(&self) -> &'static str {
        SLUG
    }
    fn name(&self) -> &'static str {
        "Acessórias"
    }
    /// 10,000 companies at the API's 100 requests a minute take about 100 minutes for the
    /// deliveries alone; a retry resumes from the checkpoint.
    fn default_timeout(&self) -> Duration {
        Duration::from_secs(3 * 3600)
    }
    fn run<'a>(&'a self, ctx: RunContext) -> BoxFuture<'a, Result<Outcome, ProviderError>> {
        Box::pin(run(ctx))
    }
    fn check<'a>(&'a self, ctx: RunContext) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let mut client = Client::new(&ctx)?;
            client.api.policy.attempts = 1;
            client.api.reask.clear();
            client.companies(&ctx, 1, false).await.map(|_| ())
        })
    }
}

/// The window of deadlines the deliveries pass asks for: from the first day of the month
/// `back` months ago to the last day of the month `ahead` months from now.
pub fn window(today: NaiveDate, back: u32, ahead: u32) -> (NaiveDate, NaiveDate) {
    let first = today.with_day(1).unwrap_or(today);
    let from = first.checked_sub_months(Months::new(back)).unwrap_or(first);
    let to = first
        .checked_add_months(Months::new(ahead + 1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(today);
    (from, to)
}

async fn run(ctx: RunContext) -> Result<Outcome, ProviderError> {
    let client = Client::new(&ctx)?;
    let with_deliveries = config_bool(&ctx.config, "sync_entregas", true);
    let companies_band = if with_deliveries { 50 } else { 100 };
    let today = brasilia_now().date();

    // 1. Companies.
    let mut cs: CompaniesState = state::load(&ctx.db, ctx.integration_id, COMPANIES)
        .await?
        .unwrap_or_default();
    if cs.execution_id != Some(ctx.execution_id) || cs.next_page == 0 {
        cs = CompaniesState {
            execution_id: Some(ctx.execution_id),
            next_page: 1,
            counts: Counts::default(),
            last_pages: cs.last_pages,
            done: false,
            // An early end seen by an earlier execution counts as the first sighting.
            empty_seen_at: cs.empty_seen_at,
        };
    }
    let resumed_at = cs.next_page;
    let mut previous: Option<Vec<Option<String>>> = None;
    let mut after_full = cs.next_page > 1;
    while !cs.done {
        let page = cs.next_page;
        let items = client.companies(&ctx, page, after_full).await?;
        if items.is_empty() {
            // The list ended earlier than last time. Under sustained load the API keeps
            // answering `[]`: end this attempt (the engine retries it from this page) and
            // trust the end only when the retry sees it too.
            let shorter = cs.last_pages.is_some_and(|last| page <= last);
            if shorter && cs.empty_seen_at != Some(page) {
                cs.empty_seen_at = Some(page);
                state::save_now(&ctx.db, ctx.integration_id, COMPANIES, &cs).await?;
                return Err(ProviderError::Transient(format!(
                    "a Acessórias devolveu a página {page} de empresas vazia, mas a última sincronização tinha {} páginas; será pedida de novo",
                    cs.last_pages.unwrap_or(page)
                )));
            }
            break;
        }
        let ids: Vec<Option<String>> = items.iter().map(|v| text(v, "Identificador")).collect();
        if previous.as_ref() == Some(&ids) {
            tracing::warn!(
                page,
                "Acessórias repeated the previous page; taking it as the end"
            );
            break;
        }
        sync::write_companies(
            &ctx.db,
            ctx.tenant_id,
            ctx.integration_id,
            &items,
            today,
            &mut cs,
        )
        .await?;
        ctx.timeline.rows(items.len() as u64);
        report_pages(
            &ctx.progress,
            u64::from(cs.next_page - 1),
            cs.last_pages.map(u64::from),
            0,
            companies_band,
        );
        if items.len() < COMPANIES_PER_PAGE {
            break;
        }
        after_full = true;
        previous = Some(ids);
    }
    if !cs.done {
        cs.done = true;
        cs.empty_seen_at = None;
        cs.last_pages = Some(cs.next_page.saturating_sub(1).max(1));
        state::save_now(&ctx.db, ctx.integration_id, COMPANIES, &cs).await?;
    }
    let companies = cs.counts;

    // 2. Deliveries.
    let mut deliveries = Counts::default();
    let mut deliveries_unsure = 0;
    let mut window_used = Value::Null;
    if with_deliveries {
        let back = config_int(&ctx.config, "entregas_meses_atras", 1, 0, 24) as u32;
        let ahead = config_int(&ctx.config, "entregas_meses_adiante", 2, 0, 24) as u32;
        let (from, to) = window(today, back, ahead);
        window_used = json!({"DtInitial": from.to_string(), "DtFinal": to.to_string()});
        let mut ds: DeliveriesState = state::load(&ctx.db, ctx.integration_id, DELIVERIES)
            .await?
            .unwrap_or_default();
        let started = brasilia_now() - chrono::Duration::minutes(10);
        match &mut ds.pass {
            // A pass another execution left half-done goes on where it stopped; its
            // totals so far were that execution's.
            Some(p) if p.execution_id != Some(ctx.execution_id) => {
                p.execution_id = Some(ctx.execution_id);
                p.counts = Counts::default();
            }
            Some(_) => {}
            None => {
                ds.pass = Some(Pass {
                    execution_id: Some(ctx.execution_id),
                    started,
                    after: None,
                    counts: Counts::default(),
                });
            }
        }
        let after = ds.pass.as_ref().and_then(|p| p.after.clone());
        let pass_started = ds.pass.as_ref().map_or(started, |p| p.started);
        let mut unsure = 0;
        let cursors: HashMap<String, CompanyCursor> =
            state::load_all(&ctx.db, ctx.integration_id, DELIVERIES).await?;
        let todo = sync::open_companies(&ctx.db, ctx.tenant_id, after.as_deref()).await?;
        let total = todo.len() as u64;
        for (i, (empresa_id, key)) in todo.iter().enumerate() {
            // Only what changed since this company's cursor, when its window is today's.
            let since = cursors
                .get(key)
                .filter(|c| c.from == from && c.to == to)
                .map(|c| c.since);
            let mut items: Vec<Value> = Vec::new();
            let mut page = 1u32;
            let fetched = loop {
                match client.deliveries(&ctx, key, from, to, since, page).await {
                    Ok((batch, sure)) => {
                        let n = batch.len();
                        items.extend(batch);
                        if !sure {
                            break Ok(false);
                        }
                        if n < DELIVERIES_PER_PAGE || page >= 1000 {
                            break Ok(true);
                        }
                        page += 1;
                    }
                    Err(e) => break Err(e),
                }
            };
            match fetched {
                Ok(true) => {}
                // A `[]` that stayed empty may be the API under load: nothing is written and
                // the company's cursor stays where it was, so the next pass asks again.
                Ok(false) => {
                    tracing::info!(company = %key, "deliveries stayed `[]`; asked again next pass");
                    unsure += 1;
                    continue;
                }
                // One company's refusal (an `Erro` with HTTP 200) fails that company, not
                // the run: its cursor stays, so the next pass asks again. Anything else
                // (credentials, limits, outages, bodies that are not JSON) ends the attempt,
                // which a retry resumes at this company.
                Err(ProviderError::Permanent(msg)) => {
                    tracing::warn!(company = %key, %msg, "deliveries of one company failed");
                    if let Some(p) = &mut ds.pass {
                        p.counts.failed += 1;
                    }
                    continue;
                }
                Err(e) => return Err(e),
            }
            let cursor = CompanyCursor {
                since: pass_started,
                from,
                to,
            };
            sync::write_deliveries(
                &ctx.db,
                ctx.tenant_id,
                ctx.integration_id,
                (*empresa_id, key),
                &items,
                &cursor,
                &mut ds,
            )
            .await?;
            ctx.timeline.rows(items.len() as u64);
            report_pages(
                &ctx.progress,
                i as u64 + 1,
                Some(total),
                companies_band,
                100,
            );
        }
        if let Some(pass) = ds.pass.take() {
            deliveries = pass.counts;
        }
        deliveries_unsure = unsure;
        state::save_now(&ctx.db, ctx.integration_id, DELIVERIES, &ds).await?;
    }

    Ok(Outcome {
        processed: companies.processed,
        created: companies.created,
        updated: companies.updated,
        unchanged: companies.unchanged,
        failed: companies.failed + deliveries.failed,
        review: companies.review,
        ignored: companies.ignored,
        matched: None,
        payload: json!({
            "requests": ["GET /companies/ListAll?Pagina=N", "GET /deliveries/{cnpj}?DtInitial&DtFinal&Pagina&config&DtLastDH"],
            "headers": {"authorization": "Bearer <token do cofre>"},
            "resumed_at_page": (resumed_at > 1).then_some(resumed_at),
            "janela_entregas": window_used,
        }),
        response: json!({
            "empresas": companies,
            "entregas": with_deliveries.then_some(deliveries),
            "entregas_a_confirmar": with_deliveries.then_some(deliveries_unsure),
            "paginas_empresas": cs.last_pages,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::window;
    use chrono::NaiveDate;

    #[test]
    fn the_window_spans_whole_months() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("date");
        assert_eq!(
            window(d(2026, 11, 29), 1, 2),
            (d(2026, 10, 1), d(2027, 1, 31))
        );
        assert_eq!(
            window(d(2026, 3, 31), 0, 0),
            (d(2026, 3, 1), d(2026, 3, 31))
        );
        assert_eq!(
            window(d(2026, 1, 15), 2, 1),
            (d(2025, 11, 1), d(2026, 2, 28))
        );
    }
}
