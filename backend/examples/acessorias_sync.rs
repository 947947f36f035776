//! Throughput and peak memory of an Acessórias companies sync, measured on the process that
//! runs it (the worker's code path: the provider, its client and its writers), with the
//! sandbox in another process. `scripts/bench/engine.sh` (in `make bench`) runs it for
//! 1,000 and 100,000 companies; run by hand:
//!
//! ```sh
//! target/release/server sandbox acessorias --companies 10000 --port 4001 &
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench SANDBOX_URL=http://127.0.0.1:4001 \
//!   cargo run --release -p backend --example acessorias_sync
//! ```
//!
//! It prints, as one JSON object, the run's totals and rows per second, the process's peak
//! resident set (`VmHWM`) before and after the sync, and the floor: the same companies
//! written again by one `INSERT … UNNEST` per 1,000, with no HTTP and no matching. The
//! companies pass alone by default; `WITH_DELIVERIES=1` adds the deliveries pass (one
//! request per company; the rows per second then no longer compare with the floor).
//! Nothing here is asserted: memory and time are measured, not tested.

use std::time::Instant;

use anyhow::Context;
use backend::providers::acessorias::{Acessorias, SLUG, TOKEN_FIELD};
use backend::providers::{Provider, RunContext};
use serde_json::json;
use tokio_util::sync::CancellationToken;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let database_url = std::env::var("DATABASE_URL").context("DATABASE_URL")?;
    let sandbox = std::env::var("SANDBOX_URL").context("SANDBOX_URL")?;
    // The sandbox runs in another process on loopback: an exception, as an operator's
    // ALLOWED_PRIVATE_HOSTS would make it.
    let sandbox_host = reqwest::Url::parse(&sandbox)
        .ok()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .context("SANDBOX_URL is not a URL")?;
    backend::net_guard::NetPolicy::process().allow(
        sandbox_host
            .parse()
            .map_err(|e| anyhow::anyhow!("SANDBOX_URL: {e}"))?,
    );
    let pool = backend::db::connect(&database_url, 0).await?;
    backend::db::migrate(&pool).await?;
    let keyring = backend::vault::Keyring::ephemeral();
    sqlx::query(
        "insert into public.organizacoes (nome, slug) values ('Contmax', 'contmax')
         on conflict (slug) do nothing",
    )
    .execute(&pool)
    .await?;
    let tenant: uuid::Uuid =
        sqlx::query_scalar("select id from public.organizacoes where slug = 'contmax'")
            .fetch_one(&pool)
            .await?;
    // A fresh start for the tenant: no companies, no checkpoints.
    sqlx::query("delete from public.acessorias_entregas where tenant_id = $1")
        .bind(tenant)
        .execute(&pool)
        .await?;
    sqlx::query("delete from public.empresas where organizacao_id = $1")
        .bind(tenant)
        .execute(&pool)
        .await?;
    sqlx::query("delete from public.integration_sync_state")
        .execute(&pool)
        .await?;
    // This process's vault key is new: a token an earlier run stored cannot be read.
    sqlx::query(
        "delete from public.integration_secrets s using public.tenant_integrations t
         where s.tenant_integration_id = t.id and t.tenant_id = $1 and t.provider = 'acessorias'",
    )
    .bind(tenant)
    .execute(&pool)
    .await?;
    backend::demo::point_integration(
        &pool,
        &keyring,
        tenant,
        SLUG,
        &sandbox,
        TOKEN_FIELD,
        json!({
            "sync_entregas": std::env::var("WITH_DELIVERIES").is_ok_and(|v| v == "1"),
            "requisicoes_por_minuto": 6000
        }),
    )
    .await?;
    let mut tx = backend::scope::begin_service(&pool).await?;
    let inputs = backend::vault::run_inputs(&mut tx, &keyring, tenant, SLUG)
        .await?
        .context("the tenant has Acessórias")?;
    tx.commit().await?;
    let ctx = RunContext {
        tenant_id: tenant,
        integration_id: inputs.tenant_integration_id,
        execution_id: uuid::Uuid::new_v4(),
        attempt: 1,
        config: inputs.config,
        secrets: inputs.secrets,
        http: backend::providers::http_client(),
        cancel: CancellationToken::new(),
        progress: Default::default(),
        timeline: Default::default(),
        db: pool.clone(),
    };
    let before = peak_rss_kib();
    let started = Instant::now();
    let out = Acessorias
        .run(ctx)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let sync_secs = started.elapsed().as_secs_f64();
    let peak = peak_rss_kib();
    let (floor_rows, floor_secs) = floor(&pool, tenant).await?;
    println!(
        "{}",
        json!({
            "processed": out.processed,
            "created": out.created,
            "updated": out.updated,
            "unchanged": out.unchanged,
            "review": out.review,
            "deliveries": out.response["entregas"],
            "sync_secs": sync_secs,
            "rows_per_sec": f64::from(out.processed) / sync_secs,
            "floor_secs": floor_secs,
            "floor_rows": floor_rows,
            "floor_rows_per_sec": floor_rows as f64 / floor_secs,
            "rss_before_kib": before,
            "rss_peak_kib": peak,
        })
    );
    Ok(())
}

/// The floor: the companies the sync wrote, written again with no HTTP and no matching,
/// one `INSERT … SELECT FROM UNNEST(…) ON CONFLICT` per 1,000 (each its own transaction,
/// as the sync commits each page), timed. Returns the rows written and the seconds.
async fn floor(pool: &sqlx::PgPool, tenant: uuid::Uuid) -> anyhow::Result<(usize, f64)> {
    type Company = (
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
    );
    let rows: Vec<Company> = sqlx::query_as(
        "select nome, cnpj, regime_tributario, data_baixa, external_key, raw_payload::text,
                hash_payload
         from public.empresas where organizacao_id = $1 and external_source = 'acessorias'
         order by external_key",
    )
    .bind(tenant)
    .fetch_all(pool)
    .await?;
    sqlx::query("delete from public.empresas where organizacao_id = $1")
        .bind(tenant)
        .execute(pool)
        .await?;
    let started = Instant::now();
    for chunk in rows.chunks(1000) {
        let col = |f: fn(&Company) -> Option<String>| chunk.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "insert into public.empresas
               (organizacao_id, nome, cnpj, regime_tributario, data_baixa, external_source,
                external_key, raw_payload, hash_payload, synced_at)
             select $1, u.nome, u.cnpj, u.regime, u.baixa, 'acessorias', u.key, u.raw::jsonb,
                    u.hash, now()
             from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::text[]) as u(nome, cnpj, regime, baixa, key, raw, hash)
             on conflict do nothing",
        )
        .bind(tenant)
        .bind(col(|c| Some(c.0.clone())))
        .bind(col(|c| Some(c.1.clone())))
        .bind(col(|c| c.2.clone()))
        .bind(col(|c| c.3.clone()))
        .bind(col(|c| Some(c.4.clone())))
        .bind(col(|c| Some(c.5.clone())))
        .bind(col(|c| Some(c.6.clone())))
        .execute(pool)
        .await?;
    }
    Ok((rows.len(), started.elapsed().as_secs_f64()))
}
