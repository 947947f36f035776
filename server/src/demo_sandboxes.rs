//! Demo mode's provider sandboxes, in process: Contmax's Acessórias, BomControle and OneCode
//! point at sandboxes of their own (with `DEMO_SEED`). P&G keeps the customer's own
//! settings (its Acessórias without a token, BomControle to add from the catalog), so the
//! demo shows both an integration that runs and one that is still to be configured. The
//! sandboxes share a seed, so BomControle's clients are Acessórias' companies and the
//! receivables match once the companies are synced, and OneCode's WhatsApp contacts are
//! made from the same companies (most match, some wait in *Revisar contatos*).

use anyhow::Context;
use backend::providers::common::faults::Faults;
use backend::providers::{acessorias, bomcontrole, onecode};
use backend::vault::Keyring;
use sqlx::PgPool;

/// `(tenant, companies, seed)` of the demo's Acessórias.
const ACESSORIAS: &[(&str, usize, u64)] = &[("contmax", 60, 1)];
/// The demo's Acessórias companies without a document (the last ones).
const ACESSORIAS_WITHOUT_DOCUMENT: usize = 1;
/// `(tenant, clients, seed)` of the demo's BomControle: 50 of Contmax's 60 companies.
const BOMCONTROLE: &[(&str, usize, u64)] = &[("contmax", 50, 1)];
/// `(tenant, contacts)` of the demo's OneCode, made from the tenant's Acessórias companies
/// (its entry in [`ACESSORIAS`]): 80 contacts, of which 40 match, 16 go to review and 24
/// are ignored (people, groups, blocked).
const ONECODE: &[(&str, usize)] = &[("contmax", 80)];

/// The demo OneCode sandbox of `tenant`: its contacts made from the tenant's Acessórias
/// companies (its entry in [`ACESSORIAS`]), and the seed they share.
fn onecode_sandbox(tenant: &str, contacts: usize) -> Option<(onecode::sandbox::Sandbox, u64)> {
    let &(_, companies, seed) = ACESSORIAS.iter().find(|(t, _, _)| *t == tenant)?;
    let sandbox = onecode::sandbox::Sandbox::new(onecode::sandbox::Options {
        contacts,
        companies,
        seed,
        without_document: ACESSORIAS_WITHOUT_DOCUMENT,
        ..Default::default()
    });
    Some((sandbox, seed))
}

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
            without_document: ACESSORIAS_WITHOUT_DOCUMENT,
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
    for &(tenant, contacts) in ONECODE {
        let Some((sandbox, _)) = onecode_sandbox(tenant, contacts) else {
            continue;
        };
        sandbox.switches.set(demo_latency());
        let addr = onecode::sandbox::spawn(sandbox, ([127, 0, 0, 1], 0).into())
            .await
            .context("starting the OneCode sandbox")?;
        tracing::info!(%addr, tenant, "OneCode sandbox listening");
        if seed_demo {
            backend::demo::seed_provider_sandbox(
                pool,
                keyring,
                tenant,
                onecode::SLUG,
                onecode::TOKEN_FIELD,
                addr,
            )
            .await?;
            backend::demo::seed_provider_secret(
                pool,
                keyring,
                tenant,
                onecode::SLUG,
                onecode::WEBHOOK_SECRET_FIELD,
                backend::demo::SANDBOX_WEBHOOK_SECRET,
            )
            .await?;
        }
    }
    Ok(())
}

/// Demo mode: each demo OneCode sandbox posts a few signed events to this server's own
/// webhook address, as OneCode would (`server sandbox onecode --send-events` does the same
/// by hand), so the history shows batches with origin *Webhook*. The same events at every
/// start: after the first start they are acknowledged as repeats and not stored again.
pub async fn send_demo_events(pool: PgPool, addr: std::net::SocketAddr) {
    for &(tenant, contacts) in ONECODE {
        let Some((sandbox, seed)) = onecode_sandbox(tenant, contacts) else {
            continue;
        };
        let token: Option<String> = sqlx::query_scalar(
            "select w.token from public.tenant_integration_webhooks w
             join public.tenant_integrations t on t.id = w.tenant_integration_id
             join public.integration_providers p on p.id = t.provider_id
             join public.organizacoes o on o.id = t.tenant_id
             where o.slug = $1 and p.slug = 'onecode'",
        )
        .bind(tenant)
        .fetch_optional(&pool)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "demo webhook events: no address");
            None
        });
        let Some(token) = token else { continue };
        let url = format!("http://{addr}/functions/v1/onecode-webhook/{token}");
        let opts = onecode::sandbox::SendOptions {
            events: 20,
            seed,
            concurrency: 4,
            first: 0,
        };
        match onecode::sandbox::send_events_to(
            &url,
            backend::demo::SANDBOX_WEBHOOK_SECRET,
            &sandbox,
            opts,
        )
        .await
        {
            Ok(r) => tracing::info!(
                tenant,
                acknowledged = r.acknowledged,
                sent = r.sent,
                "demo OneCode events sent"
            ),
            Err(e) => tracing::warn!(tenant, error = %e, "demo OneCode events not sent"),
        }
    }
}
