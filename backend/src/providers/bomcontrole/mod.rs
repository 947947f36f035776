//! BomControle (financial ERP): the firm's clients into `bomcontrole_clientes`, matched to
//! the tenant's companies by CNPJ/CPF, and its receivables (fees and other income) into
//! `financeiro_recebiveis`, so the portal knows who paid which month without writing to
//! the ERP.
//!
//! A run has two passes, each resumable from its checkpoint:
//! 1. **Clients**: `Cliente/Pesquisar?pesquisa=` (every client, one array), written in
//!    batches of [`CLIENTS_PER_BATCH`] in id order, each with its checkpoint. A client is
//!    `matched` to exactly one company with its document, else `review` (none, or no
//!    valid document) or `ambiguous` (several): nothing is guessed. When a match moved,
//!    the receivables of that client follow it.
//! 2. **Entries**: `Financeiro/Pesquisar` with `tipoData=UltimaAlteracao`, from the start
//!    of the last complete pass (minus [`SAFETY_MARGIN_MINUTES`]; the first pass from the
//!    setting `lancamentos_desde`, or 12 months back) to tomorrow, 100 a page, pages known
//!    from `TotalItens`. Receivables (`Debito: false`) are upserted, one statement and
//!    one checkpoint per page; payables are counted as ignored. A retry of the same
//!    execution resumes at the page after the last committed one, with the same window,
//!    and reports the whole execution's totals.
//!
//! Totals on the log row are the entries'; the response keeps both passes' totals.

pub mod api;
pub mod sandbox;
pub mod sync;

use std::time::Duration;

use chrono::{Months, NaiveDate, NaiveDateTime};
use futures::future::BoxFuture;
use serde_json::json;

use super::common::Counts;
use super::common::{report_pages, state};
use super::{Outcome, Provider, ProviderError, RunContext};
use api::{Client, ENTRIES_PER_PAGE};
use sync::{client_order, ClientsState, EntriesPass, EntriesState, CLIENTS, ENTRIES};

pub use api::{SLUG, TOKEN_FIELD};

/// Clients per upsert statement.
pub const CLIENTS_PER_BATCH: usize = 500;
/// How far before the last pass's start the next pass asks again (clocks differ; an
/// entry changed while the pass ran must not be lost).
pub const SAFETY_MARGIN_MINUTES: i64 = 10;
/// A guard against a search that never ends.
const MAX_PAGES: u32 = 100_000;

pub struct BomControle;

impl Provider for BomControle {
    fn slug(&self) -> &'static str {
        SLUG
    }
    fn name(&self) -> &'static str {
        "BomControle"
    }
    /// A first sync of a year of entries is a few hundred pages; a retry resumes from the
    /// checkpoint.
    fn default_timeout(&self) -> Duration {
        Duration::from_secs(3600)
    }
    fn run<'a>(&'a self, ctx: RunContext) -> BoxFuture<'a, Result<Outcome, ProviderError>> {
        Box::pin(run(ctx))
    }
    /// One page of one entry changed in the last day: authenticated, and cheap whatever
    /// the size of the account.
    fn check<'a>(&'a self, ctx: RunContext) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let mut client = Client::new(&ctx)?;
            client.api.policy.attempts = 1;
            client.api.reask.clear();
            let now = brasilia_now();
            client
                .entries(&ctx, now - chrono::Duration::days(1), now, 1, 1)
                .await
                .map(|_| ())
        })
    }
}

pub use super::common::brasilia_now;

/// Where the first pass starts: the setting `lancamentos_desde` (`aaaa-mm-dd`), or 12
/// months before `now`.
pub fn first_start(config: &serde_json::Value, now: NaiveDateTime) -> NaiveDateTime {
    config
        .get("lancamentos_desde")
        .and_then(serde_json::Value::as_str)
        .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_else(|| now.checked_sub_months(Months::new(12)).unwrap_or(now))
}

async fn run(ctx: RunContext) -> Result<Outcome, ProviderError> {
    let client = Client::new(&ctx)?;

    // 1. Clients.
    let mut cs: ClientsState = state::load(&ctx.db, ctx.integration_id, CLIENTS)
        .await?
        .unwrap_or_default();
    if cs.execution_id != Some(ctx.execution_id) {
        cs = ClientsState {
            execution_id: Some(ctx.execution_id),
            ..ClientsState::default()
        };
    }
    if !cs.done {
        let listed = client.clients(&ctx).await?;
        let mut unreadable = 0;
        let mut rows: Vec<sync::ClientRow> = Vec::with_capacity(listed.len());
        for v in &listed {
            match sync::client(v) {
                Some(c) => rows.push(c),
                None => unreadable += 1,
            }
        }
        rows.sort_by(|a, b| client_order(&a.id).cmp(&client_order(&b.id)));
        if let Some(after) = cs.after.clone() {
            rows.retain(|c| client_order(&c.id) > client_order(&after));
        }
        let batches = rows.len().div_ceil(CLIENTS_PER_BATCH) as u64;
        for (i, batch) in rows.chunks(CLIENTS_PER_BATCH).enumerate() {
            if ctx.cancel.is_cancelled() {
                return Err(ProviderError::Cancelled);
            }
            sync::write_clients(&ctx.db, ctx.tenant_id, ctx.integration_id, batch, &mut cs).await?;
            ctx.timeline.rows(batch.len() as u64);
            report_pages(&ctx.progress, i as u64 + 1, Some(batches), 0, 10);
        }
        if cs.counts.created + cs.counts.updated > 0 {
            cs.relinked = sync::relink_receivables(&ctx.db, ctx.tenant_id).await?;
        }
        cs.counts.processed += unreadable;
        cs.counts.failed += unreadable;
        cs.done = true;
        state::save_now(&ctx.db, ctx.integration_id, CLIENTS, &cs).await?;
    }
    report_pages(&ctx.progress, 1, Some(1), 0, 10);

    // 2. Entries.
    let mut es: EntriesState = state::load(&ctx.db, ctx.integration_id, ENTRIES)
        .await?
        .unwrap_or_default();
    let resumed = es
        .pass
        .as_ref()
        .is_some_and(|p| p.execution_id == ctx.execution_id);
    if !resumed {
        let now = brasilia_now();
        es.pass = Some(EntriesPass {
            execution_id: ctx.execution_id,
            started: now,
            from: es.since.unwrap_or_else(|| first_start(&ctx.config, now)),
            to: now + chrono::Duration::days(1),
            next_page: 1,
            pages: None,
            total: None,
            unstable: false,
            counts: Counts::default(),
            done: false,
        });
    }
    let Some(start) = es.pass.clone() else {
        return Err(ProviderError::Permanent(
            "checkpoint de lançamentos inválido".into(),
        ));
    };
    let resumed_at = start.next_page;
    let mut done = start.done;
    while !done {
        let page = es.pass.as_ref().map_or(1, |p| p.next_page);
        let got = client
            .entries(&ctx, start.from, start.to, page, ENTRIES_PER_PAGE)
            .await?;
        let pages = got.pages(ENTRIES_PER_PAGE);
        if let Some(p) = &mut es.pass {
            p.pages = Some(pages);
            match p.total {
                None => p.total = Some(got.total),
                Some(t) if t != got.total => {
                    tracing::info!(
                        before = t,
                        now = got.total,
                        "BomControle entries changed during the pass"
                    );
                    p.unstable = true;
                }
                Some(_) => {}
            }
        }
        if got.items.is_empty() || page > pages {
            break;
        }
        sync::write_entries(
            &ctx.db,
            ctx.tenant_id,
            ctx.integration_id,
            &got.items,
            &mut es,
        )
        .await?;
        ctx.timeline.rows(got.items.len() as u64);
        report_pages(
            &ctx.progress,
            u64::from(page),
            Some(u64::from(pages)),
            10,
            100,
        );
        done = page >= pages || page >= MAX_PAGES;
    }
    let mut pass = es.pass.clone().unwrap_or(start);
    if !pass.done {
        pass.done = true;
        if !pass.unstable {
            es.since = Some(pass.started - chrono::Duration::minutes(SAFETY_MARGIN_MINUTES));
        }
        es.pass = Some(pass.clone());
        state::save_now(&ctx.db, ctx.integration_id, ENTRIES, &es).await?;
    }
    ctx.progress.set(100);
    let entries = pass.counts;
    let clients = cs.counts;

    Ok(Outcome {
        processed: entries.processed,
        created: entries.created,
        updated: entries.updated,
        unchanged: entries.unchanged,
        failed: entries.failed + clients.failed,
        review: entries.review,
        ignored: entries.ignored,
        matched: None,
        payload: json!({
            "requests": [
                "GET Cliente/Pesquisar?pesquisa=",
                "GET Financeiro/Pesquisar?dataInicio&dataTermino&tipoData=UltimaAlteracao&paginacao.itensPorPagina=100&paginacao.numeroDaPagina=N",
            ],
            "headers": {"authorization": "ApiKey <chave do cofre>"},
            "dataInicio": pass.from.format("%Y-%m-%d %H:%M:%S").to_string(),
            "dataTermino": pass.to.format("%Y-%m-%d %H:%M:%S").to_string(),
            "resumed_at_page": (resumed && resumed_at > 1).then_some(resumed_at),
        }),
        response: json!({
            "clientes": clients,
            "clientes_em_revisao": clients.review,
            "clientes_ambiguos": clients.ambiguous,
            "recebiveis_revinculados": cs.relinked,
            "lancamentos": entries,
            "paginas_lancamentos": pass.pages,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_pass_starts_at_the_setting_or_a_year_back() {
        let now = NaiveDate::from_ymd_opt(2026, 5, 20)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .expect("moment");
        let start = first_start(&json!({"lancamentos_desde": "2025-01-15"}), now);
        assert_eq!(start.to_string(), "2025-01-15 00:00:00");
        assert_eq!(
            first_start(&json!({}), now).to_string(),
            "2025-05-20 10:00:00"
        );
        assert_eq!(
            first_start(&json!({"lancamentos_desde": "ontem"}), now).to_string(),
            "2025-05-20 10:00:00"
        );
    }
}
