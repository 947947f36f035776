//! *Testar conexão*: one cheap authenticated call to the provider with the tenant's
//! configuration and credentials ([`crate::providers::Provider::check`]), never a sync.
//! Tenant admins only (they are the ones who set credentials), rate-limited per tenant
//! integration, audited as `connection_tested`, answered in pt-BR.

use std::time::{Duration, Instant};

use futures::FutureExt;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Action, Actor};
use crate::providers::{Progress, ProviderError, Registry, RunContext};
use crate::scope::{begin_as, elevate, restore_role, Claims};
use crate::vault::Keyring;
use crate::{Error, Result};
use model::ConnectionCheck;

/// How long one test may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// Tests per tenant integration: a burst of 3, then one every 10 s (governor's GCRA).
pub struct CheckLimiter(governor::DefaultKeyedRateLimiter<(Uuid, String)>);

impl Default for CheckLimiter {
    fn default() -> Self {
        use governor::{Quota, RateLimiter};
        use std::num::NonZeroU32;
        let quota = Quota::with_period(Duration::from_secs(10))
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN));
        Self(RateLimiter::keyed(quota))
    }
}

impl CheckLimiter {
    pub fn check(&self, tenant_id: Uuid, slug: &str) -> Result<()> {
        self.0
            .check_key(&(tenant_id, slug.to_owned()))
            .map_err(|_| {
                Error::TooManyRequests(
                    "Muitos testes de conexão seguidos. Aguarde alguns segundos e tente novamente."
                        .into(),
                )
            })
    }
}

/// What a test result says to a person.
pub fn message(result: &std::result::Result<(), ProviderError>, elapsed: Duration) -> String {
    let ms = elapsed.as_millis();
    match result {
        Ok(()) => format!("Conexão OK ({ms} ms)"),
        Err(ProviderError::Auth(m)) => {
            format!("O provedor recusou a credencial ({m}). Verifique o token cadastrado.")
        }
        Err(ProviderError::RateLimited { retry_after }) => match retry_after {
            Some(d) => format!(
                "O provedor limitou as requisições (HTTP 429). Tente novamente em {} s.",
                d.as_secs().max(1)
            ),
            None => {
                "O provedor limitou as requisições (HTTP 429). Tente novamente mais tarde.".into()
            }
        },
        Err(ProviderError::Transient(m)) if m.starts_with("HTTP ") => {
            format!("O provedor está com uma falha temporária ({m}). Tente novamente em instantes.")
        }
        Err(ProviderError::Transient(m)) => format!("{}.", capitalised(m)),
        Err(ProviderError::Permanent(m)) => capitalised(m),
        Err(ProviderError::InvalidConfig(m)) => format!("Configuração inválida: {m}."),
        Err(ProviderError::Credential(m)) => m.clone(),
        Err(ProviderError::Cancelled) => {
            format!("O provedor não respondeu em {} s.", CHECK_TIMEOUT.as_secs())
        }
    }
}

fn capitalised(m: &str) -> String {
    let mut c = m.chars();
    match c.next() {
        Some(first) => format!("{}{}", first.to_uppercase(), c.as_str()),
        None => "Resposta inesperada do provedor.".into(),
    }
}

/// What the test needs from the server.
pub struct Tester<'a> {
    pub pool: &'a sqlx::PgPool,
    pub keyring: &'a Keyring,
    pub registry: &'a Registry,
    pub http: &'a reqwest::Client,
    pub limiter: &'a CheckLimiter,
}

impl Tester<'_> {
    /// Runs the test for the caller: 403 unless a tenant admin (or global admin), 404 when
    /// the tenant has no such integration, 429 over the rate limit.
    pub async fn run(
        &self,
        claims: &Claims,
        actor: &Actor,
        tenant_id: Uuid,
        slug: &str,
    ) -> Result<ConnectionCheck> {
        let mut tx = begin_as(self.pool, claims).await?;
        crate::scope::require_tenant_admin(
            &mut tx,
            tenant_id,
            "Apenas administradores da organização podem testar a conexão.",
        )
        .await?;
        let visible = sqlx::query_scalar!(
            r#"select exists(select 1 from public.tenant_integrations t
                             join public.integration_providers p on p.id = t.provider_id
                             where t.tenant_id = $1 and p.slug = $2) as "visible!""#,
            tenant_id,
            slug
        )
        .fetch_one(&mut *tx)
        .await?;
        if !visible {
            return Err(Error::NotFound(model::INTEGRATION_NOT_FOUND.into()));
        }
        // Counted before anything is decrypted.
        self.limiter.check(tenant_id, slug)?;
        let previous = elevate(&mut tx).await?;
        let inputs = crate::vault::run_inputs(&mut tx, self.keyring, tenant_id, slug).await?;
        restore_role(&mut tx, &previous).await?;
        tx.commit().await?;
        let inputs = inputs.ok_or_else(|| Error::NotFound(model::INTEGRATION_NOT_FOUND.into()))?;
        let secrets = inputs.secrets.clone();
        let started = Instant::now();
        let result = match self.registry.get(slug) {
            None => Err(ProviderError::Permanent(
                "nenhum conector instalado para este provedor".into(),
            )),
            Some(plugin) => {
                let cancel = tokio_util::sync::CancellationToken::new();
                let ctx = RunContext {
                    tenant_id,
                    integration_id: inputs.tenant_integration_id,
                    execution_id: Uuid::nil(),
                    attempt: 0,
                    config: inputs.config,
                    secrets: inputs.secrets,
                    http: self.http.clone(),
                    cancel: cancel.clone(),
                    progress: Progress::default(),
                    timeline: Default::default(),
                    db: self.pool.clone(),
                };
                // A connector that panics answers like one that failed (and the panic's
                // message, which might quote a credential, goes nowhere).
                let guarded = std::panic::AssertUnwindSafe(plugin.check(ctx)).catch_unwind();
                tokio::select! {
                    r = guarded => r.unwrap_or_else(|_| {
                        tracing::error!(provider = slug, "connector panicked during a connection test");
                        Err(ProviderError::Permanent("erro interno no conector".into()))
                    }),
                    () = tokio::time::sleep(CHECK_TIMEOUT) => {
                        cancel.cancel();
                        Err(ProviderError::Cancelled)
                    }
                }
            }
        };
        let elapsed = started.elapsed();
        let result = result.map_err(|e| secrets.scrub_error(e));
        let text = secrets.scrub(&message(&result, elapsed));
        let out = ConnectionCheck {
            ok: result.is_ok(),
            message: text.clone(),
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        };
        let mut tx = begin_as(self.pool, claims).await?;
        audit::record(
            &mut tx,
            actor,
            tenant_id,
            Some(slug),
            Action::ConnectionTested,
            json!({"ok": out.ok, "message": text, "elapsed_ms": out.elapsed_ms}),
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_failure_reads_in_portuguese() {
        let ms = Duration::from_millis(42);
        assert_eq!(message(&Ok(()), ms), "Conexão OK (42 ms)");
        assert!(message(&Err(ProviderError::Auth("HTTP 401".into())), ms)
            .contains("recusou a credencial"));
        assert!(message(
            &Err(ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            }),
            ms
        )
        .contains("7 s"));
        assert!(message(
            &Err(ProviderError::Transient(
                "não foi possível conectar ao provedor".into()
            )),
            ms
        )
        .starts_with("Não foi possível conectar ao provedor."));
        assert_eq!(
            message(
                &Err(ProviderError::Permanent(
                    "resposta inesperada do provedor: HTTP 404".into()
                )),
                ms
            ),
            "Resposta inesperada do provedor: HTTP 404"
        );
    }

    #[test]
    fn the_limiter_allows_a_burst_then_refuses() {
        let l = CheckLimiter::default();
        let t = Uuid::new_v4();
        for _ in 0..3 {
            l.check(t, "x").unwrap();
        }
        assert!(matches!(l.check(t, "x"), Err(Error::TooManyRequests(_))));
        l.check(t, "y").unwrap();
    }
}
