//! Provider plugins (DESIGN.md §5): one module per provider, each implementing [`Provider`],
//! and the [`Registry`] the engine looks them up in.
//!
//! The catalog (`integration_providers`) and the registry must name the same providers:
//! [`Registry::check_catalog`] runs at start-up and the server refuses to start otherwise.

pub mod acessorias;
pub mod bomcontrole;
pub mod common;
pub mod local_http;
pub mod onecode;
pub mod secrets;
pub mod timeline;

pub use crate::net_guard::http_client;

pub use secrets::Secrets;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// What a provider gets for one attempt.
#[derive(Clone)]
pub struct RunContext {
    pub tenant_id: Uuid,
    /// The tenant integration (`tenant_integrations.id`): the key of its checkpoints.
    pub integration_id: Uuid,
    pub execution_id: Uuid,
    pub attempt: i32,
    /// The tenant integration's `config` (non-secret settings, `base_url` among them).
    pub config: Value,
    /// The tenant integration's credentials from the vault (or the environment):
    /// `ctx.secrets.get("api_token")?` fails with a pt-BR credential error before any HTTP.
    pub secrets: Secrets,
    /// An HTTP client with connect and request timeouts that connects only where
    /// [`crate::net_guard`] allows ([`http_client`]).
    pub http: reqwest::Client,
    /// Cancelled when the run times out, is cancelled by a user or the worker shuts down.
    pub cancel: CancellationToken,
    /// Where a provider reports progress (0..=100); the worker writes it with the heartbeat.
    pub progress: Progress,
    /// What the attempt did, for the drawer's timeline ([`timeline`]); the common HTTP
    /// client and checkpoint writer record into it, the worker stores it.
    pub timeline: timeline::Timeline,
    /// The database, for the provider's writes. Connections from it are the server's own
    /// login: a provider opens [`crate::scope::begin_service`] transactions and filters every
    /// statement by `tenant_id` (the `providers::common` writers do).
    pub db: PgPool,
}

impl RunContext {
    /// `config.base_url`, checked by [`crate::net_guard`] against the process's policy: an
    /// http(s) URL, `https://` unless its destination is an allowed one, never an internal
    /// IP literal (names are judged again, after resolution, by the client's resolver). A
    /// refused destination reads like an unreachable one.
    pub fn base_url(&self) -> Result<reqwest::Url, ProviderError> {
        let raw = self
            .config
            .get("base_url")
            .and_then(Value::as_str)
            .ok_or_else(|| ProviderError::InvalidConfig("base_url não configurada".into()))?;
        let url = reqwest::Url::parse(raw)
            .map_err(|_| ProviderError::InvalidConfig("base_url não é uma URL válida".into()))?;
        crate::net_guard::NetPolicy::process()
            .check_url(&url)
            .map_err(|e| {
                tracing::warn!(
                    tenant_id = %self.tenant_id,
                    integration_id = %self.integration_id,
                    "provider address refused by the network guard: {e}"
                );
                ProviderError::from(e)
            })?;
        Ok(url)
    }
}

/// Progress of the current attempt, shared between the provider and the heartbeat.
#[derive(Clone, Default)]
pub struct Progress(Arc<std::sync::atomic::AtomicI32>);

impl Progress {
    pub fn set(&self, percent: i32) {
        self.0
            .store(percent.clamp(0, 100), std::sync::atomic::Ordering::Relaxed);
    }
    /// `None` until the provider reported something.
    pub fn get(&self) -> Option<i32> {
        let v = self.0.load(std::sync::atomic::Ordering::Relaxed);
        (v > 0).then_some(v)
    }
}

/// What a successful attempt did. `failed > 0` makes the run `partial`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub processed: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub failed: i32,
    /// Records left for a person to review (`total_review`).
    pub review: i32,
    /// Records the provider skipped on purpose (`total_ignored`).
    pub ignored: i32,
    /// Records matched to a company (`total_matched`), for providers that match rather
    /// than create; otherwise `total_matched` is `created + updated`.
    pub matched: Option<i32>,
    /// What was sent (sanitised before it is stored).
    pub payload: Value,
    /// What came back, summarised (sanitised before it is stored).
    pub response: Value,
}

/// Typed errors, so that the engine can decide about retries.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the credentials: not retried.
    #[error("credenciais recusadas pelo provedor: {0}")]
    Auth(String),
    /// 429: retried, after `retry_after` when the provider said so.
    #[error("limite de requisições do provedor atingido")]
    RateLimited { retry_after: Option<Duration> },
    /// Timeouts, 5xx, connection errors: retried.
    #[error("falha temporária: {0}")]
    Transient(String),
    /// Anything that will fail again the same way: not retried.
    #[error("{0}")]
    Permanent(String),
    /// The tenant's configuration is wrong: not retried.
    #[error("configuração inválida: {0}")]
    InvalidConfig(String),
    /// A credential is not configured or cannot be decrypted: not retried.
    #[error("{0}")]
    Credential(String),
    /// The cancellation token fired.
    #[error("execução cancelada")]
    Cancelled,
}

pub use model::NO_CONNECTOR;

impl ProviderError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. } | ProviderError::Transient(_)
        )
    }

    /// Classifies an HTTP status that is not a success.
    pub fn from_status(status: reqwest::StatusCode, retry_after: Option<Duration>) -> Self {
        match status.as_u16() {
            401 | 403 => ProviderError::Auth(format!("HTTP {}", status.as_u16())),
            429 => ProviderError::RateLimited { retry_after },
            408 | 500..=599 => ProviderError::Transient(format!("HTTP {}", status.as_u16())),
            s => ProviderError::Permanent(format!("resposta inesperada do provedor: HTTP {s}")),
        }
    }

    /// Classifies a transport error without its text (which may carry a URL with secrets).
    /// Everything that happens before a response — refused by [`crate::net_guard`], no such
    /// host, port closed or filtered, TLS, time-out, connection dropped — reads the same
    /// ([`crate::net_guard::UNREACHABLE`]), so that an answer never tells an open port from
    /// a closed one or from a refused address; the detail goes to the server's log only.
    pub fn from_reqwest(e: &reqwest::Error) -> Self {
        if e.is_decode() {
            return ProviderError::Permanent("resposta do provedor em formato inesperado".into());
        }
        if e.is_body() {
            // A response had begun: what failed after it says nothing about ports.
            return ProviderError::Transient(if e.is_timeout() {
                "tempo esgotado ao ler a resposta do provedor".into()
            } else {
                "erro de comunicação com o provedor".into()
            });
        }
        if crate::net_guard::refusal_of(e).is_none() {
            tracing::warn!(
                timeout = e.is_timeout(),
                tls = is_tls(e),
                causes = %crate::net_guard::causes(e),
                "provider unreachable"
            );
        }
        ProviderError::Transient(crate::net_guard::UNREACHABLE.into())
    }
}

/// Whether a transport error came from the TLS handshake (a certificate that is invalid,
/// expired or for another host). Reads the causes' kinds, never their text into a message.
fn is_tls(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
            return true;
        }
        source = s.source();
    }
    false
}

/// `Retry-After` in seconds (the HTTP-date form is treated as absent).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// One provider. `run` must watch `ctx.cancel` at its await points (or use
/// [`RunContext::http`] calls inside `tokio::select!` with it).
pub trait Provider: Send + Sync + 'static {
    fn slug(&self) -> &'static str;
    fn name(&self) -> &'static str;
    /// How long one attempt may take before it is cancelled and counted as a timeout.
    fn default_timeout(&self) -> Duration {
        Duration::from_secs(300)
    }
    fn run<'a>(&'a self, ctx: RunContext) -> BoxFuture<'a, Result<Outcome, ProviderError>>;
    /// *Testar conexão*: one cheap authenticated call, never a sync. `Ok` when the provider
    /// answered as expected with the tenant's credentials.
    fn check<'a>(&'a self, _ctx: RunContext) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async {
            Err(ProviderError::Permanent(
                "Este conector ainda não oferece teste de conexão.".into(),
            ))
        })
    }
}

/// The providers this server can run, by slug.
#[derive(Clone, Default)]
pub struct Registry {
    providers: BTreeMap<&'static str, Arc<dyn Provider>>,
}

impl Registry {
    /// The production registry: every provider of the catalog. With `with_sandbox`, also the
    /// local HTTP test provider (demo mode and tests), which is not in the catalog.
    pub fn standard(with_sandbox: bool) -> Self {
        let mut r = Self::default();
        r.register(Arc::new(acessorias::Acessorias));
        r.register(Arc::new(bomcontrole::BomControle));
        r.register(Arc::new(onecode::OneCode));
        if with_sandbox {
            r.register(Arc::new(local_http::LocalHttp));
        }
        r
    }

    pub fn register(&mut self, provider: Arc<dyn Provider>) {
        self.providers.insert(provider.slug(), provider);
    }

    pub fn get(&self, slug: &str) -> Option<Arc<dyn Provider>> {
        self.providers.get(slug).cloned()
    }

    pub fn slugs(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.providers.keys().copied()
    }

    /// Sets `has_connector` on integrations as this server sees them.
    pub fn mark(&self, items: &mut [model::IntegrationSummary]) {
        for i in items {
            i.has_connector = self.get(&i.slug).is_some();
        }
    }

    /// Refuses to run (or schedule) `slug` when this server has no connector for it: a
    /// catalog row may come before its connector (added by a global admin, or a provider
    /// planned), and its card says why instead of failing at every run.
    pub fn require(&self, slug: &str) -> crate::Result<()> {
        match self.get(slug) {
            Some(_) => Ok(()),
            None => Err(crate::Error::Conflict(NO_CONNECTOR.into())),
        }
    }

    /// Every plugin has a catalog row (otherwise an error naming them: a plugin without a
    /// row is a bug of ours); returns the catalog rows without a plugin, which the server
    /// logs and the portal shows as not runnable.
    pub async fn check_catalog(&self, pool: &PgPool) -> Result<Vec<String>, String> {
        let catalog: Vec<String> =
            sqlx::query_scalar!("select slug from public.integration_providers order by slug")
                .fetch_all(pool)
                .await
                .map_err(|e| format!("reading the provider catalog: {e}"))?;
        let without_plugin: Vec<&str> = catalog
            .iter()
            .map(String::as_str)
            .filter(|s| !self.providers.contains_key(s))
            .collect();
        let without_row: Vec<&str> = self
            .slugs()
            .filter(|s| !catalog.iter().any(|c| c == s))
            .collect();
        if without_row.is_empty() {
            return Ok(without_plugin.into_iter().map(str::to_owned).collect());
        }
        Err(format!(
            "plugins without a catalog row (add one in a migration, or the demo seed for the sandbox): {}",
            without_row.join(", ")
        ))
    }
}
