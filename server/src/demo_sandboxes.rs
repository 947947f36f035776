//! Demo mode's provider sandboxes, in process: Contmax's Acessórias and BomControle point at
//! sandboxes of their own (with `DEMO_SEED`). P&G keeps the customer's own settings (its
//! Acessórias without a token, BomControle to add from the catalog), so the demo shows
//! both an integration that runs and one that is still to be configured. The two
//! sandboxes share a seed, so BomControle's clients are Acessórias' companies and the
//! receivables match once the companies are synced.

use anyhow::Context;
use backend::providers::common::faults::Faults;
use backend::providers::{acessorias, bomcontrole};
use backend::vault::Keyring;
use sqlx::PgPool;

/// `(tenant, companies, seed)` of the demo's Acessórias.
const ACESSORIAS: &[(&str, usize, u64)] = &[("contmax", 60, 1)];
/// `(tenant, clients, seed)` of the demo's BomControle: 50 of Contmax's 60 companies.
const BOMCONTROLE: &[(&str, usize, u64)] = &[("contmax", 50, 1)];

/// Some latency, as a real API has: a run is seen going, with its progress (Acessórias:
/// about 60 requests, some 4 seconds).
fn demo_latency() -> Faults {
    Faults {
        latency_ms: 60,
        ..Faults::default()
    }
}

pub async fn start(pool: &PgPool, keyring: &Keyring, seed_demo: bool) -> anyhow::Result<()> {
    for &(tenant, companies, seed) in ACESSORIAS {
        let sandbox = acessorias::sandbox::Sandbox::new(acessorias::sandbox::Options {
            companies,
            seed,
            without_document: 1,
            closed_every: 12,
            ..Default::default()
        });
        sandbox.switches.set(demo_latency());
        let addr = acessorias::sandbox::spawn(sandbox, ([127, 0, 0, 1], 0).into())
            .await
            .context("starting the Acessórias sandbox")?;
        tracing::info!(%addr, tenant, "Acessórias sandbox listening");
        if seed_demo {
            backend::demo::seed_provider_sandbox(
                pool,
                keyring,
                tenant,
                acessorias::SLUG,
                acessorias::TOKEN_FIELD,
                addr,
            )
            .await?;
        }
    }
    for &(tenant, clients, seed) in BOMCONTROLE {
        let sandbox = bomcontrole::sandbox::Sandbox::new(bomcontrole::sandbox::Options {
            clients,
            seed,
            ..Default::default()
        });
        sandbox.switches.set(demo_latency());
        let addr = bomcontrole::sandbox::spawn(sandbox, ([127, 0, 0, 1], 0).into())
            .await
            .context("starting the BomControle sandbox")?;
        tracing::info!(%addr, tenant, "BomControle sandbox listening");
        if seed_demo {
            backend::demo::seed_provider_sandbox(
                pool,
                keyring,
                tenant,
                bomcontrole::SLUG,
                bomcontrole::TOKEN_FIELD,
                addr,
            )
            .await?;
        }
    }
    Ok(())
}
