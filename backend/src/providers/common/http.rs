//! One GET against a provider's API, as every connector needs it: waits for the rate
//! limiter, sends the tenant's credential, retries what is worth retrying (429 after its
//! `Retry-After`, 5xx, timeouts, dropped connections) a few times with backoff (`backon`),
//! stops at once when the run is cancelled, and turns the rest into typed errors that
//! carry the provider's own words (scrubbed of credentials, cut short). Every request's
//! destination is checked by [`crate::net_guard`] first (an internal IP literal is refused
//! before any connection; names are judged again by the client's resolver), and a
//! destination that cannot be reached, for whatever reason, reads the same
//! ([`crate::net_guard::UNREACHABLE`]): what a user sees never tells port states apart.

use std::sync::Arc;
use std::time::Duration;

use backon::BackoffBuilder;
use governor::DefaultDirectRateLimiter;
use reqwest::header::HeaderValue;
use reqwest::StatusCode;
use serde_json::Value;

use super::super::{retry_after, ProviderError, RunContext};

/// How many times a call is tried, and the backoff between tries.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this ends the attempt instead (the engine re-queues the
    /// run for later, resuming from its checkpoint).
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_wait: Duration::from_secs(90),
        }
    }
}

/// A successful answer: its status (2xx) and body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    /// The body as JSON, or `None` when it is not JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A GET of `url` with `authorization`, through `limiter`, under `policy`; `url` is checked
/// against the process's [`crate::net_guard::NetPolicy`] before every try.
pub async fn get(
    ctx: &RunContext,
    limiter: &Arc<DefaultDirectRateLimiter>,
    url: reqwest::Url,
    authorization: &HeaderValue,
    policy: RetryPolicy,
) -> Result<Answer, ProviderError> {
    let mut delays = backon::ExponentialBuilder::default()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay)
        .with_jitter()
        .with_max_times(policy.attempts.saturating_sub(1))
        .build();
    loop {
        let asked = std::time::Instant::now();
        tokio::select! {
            () = limiter.until_ready() => {}
            () = ctx.cancel.cancelled() => return Err(ProviderError::Cancelled),
        }
        let waited = asked.elapsed();
        if let Err(refused) = crate::net_guard::NetPolicy::process().check_url(&url) {
            tracing::warn!(
                tenant_id = %ctx.tenant_id,
                integration_id = %ctx.integration_id,
                "provider request refused by the network guard: {refused}"
            );
            return Err(refused.into());
        }
        let req = ctx
            .http
            .get(url.clone())
            .header(reqwest::header::AUTHORIZATION, authorization.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        let sent = tokio::select! {
            r = req.send() => r,
            () = ctx.cancel.cancelled() => return Err(ProviderError::Cancelled),
        };
        let error = match sent {
            Err(e) => ProviderError::from_reqwest(&e),
            Ok(resp) => {
                let status = resp.status();
                let wait = retry_after(resp.headers());
                let headers = resp.headers().clone();
                let body = tokio::select! {
                    b = read_capped(resp) => b,
                    () = ctx.cancel.cancelled() => return Err(ProviderError::Cancelled),
                };
                match body {
                    // A 2xx whose body is not JSON (a maintenance page from a proxy) is
                    // asked again, like a 5xx.
                    Ok(body)
                        if status.is_success()
                            && !body.iter().all(u8::is_ascii_whitespace)
                            && serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() =>
                    {
                        ProviderError::Transient(
                            "resposta do provedor em formato inesperado (não é JSON)".into(),
                        )
                    }
                    Ok(body) if status.is_success() => {
                        ctx.timeline.page(asked.elapsed(), waited);
                        return Ok(Answer {
                            status,
                            headers,
                            body,
                        });
                    }
                    Ok(body) => {
                        with_their_words(ctx, ProviderError::from_status(status, wait), &body)
                    }
                    Err(e) => e,
                }
            }
        };
        if !error.is_retryable() {
            return Err(error);
        }
        let Some(backoff) = delays.next() else {
            return Err(error);
        };
        let pause = match &error {
            ProviderError::RateLimited {
                retry_after: Some(w),
            } if *w > policy.max_wait => return Err(error),
            ProviderError::RateLimited {
                retry_after: Some(w),
            } => (*w).max(backoff),
            _ => backoff,
        };
        tracing::debug!(?pause, %error, "provider call failed; retrying");
        ctx.timeline
            .retry(&crate::redact::redact_text(&error.to_string()), pause);
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = ctx.cancel.cancelled() => return Err(ProviderError::Cancelled),
        }
    }
}

/// The most a provider's answer may weigh: a page of the three APIs is a few hundred KiB.
/// A larger one (a misconfigured or hostile `base_url`) is refused before it fills the
/// worker's memory.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// The body, read chunk by chunk up to [`MAX_BODY`].
async fn read_capped(mut resp: reqwest::Response) -> Result<bytes::Bytes, ProviderError> {
    let too_big = || {
        ProviderError::Permanent(format!(
            "resposta do provedor maior que {} MiB",
            MAX_BODY / (1024 * 1024)
        ))
    };
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_big());
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ProviderError::from_reqwest(&e))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The provider's own message, from the keys the three APIs use for it.
pub fn their_words(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    ["Erro", "error", "Message", "message", "detail", "title"]
        .iter()
        .find_map(|k| v.get(k).and_then(Value::as_str).map(str::to_owned))
        .filter(|s| !s.trim().is_empty())
}

fn with_their_words(ctx: &RunContext, e: ProviderError, body: &[u8]) -> ProviderError {
    let Some(said) = their_words(body) else {
        return e;
    };
    let said: String = ctx.secrets.scrub(&said).chars().take(200).collect();
    match e {
        ProviderError::Permanent(m) => ProviderError::Permanent(format!("{m}: {said}")),
        ProviderError::Auth(m) => ProviderError::Auth(format!("{m}: {said}")),
        ProviderError::Transient(m) => ProviderError::Transient(format!("{m}: {said}")),
        other => other,
    }
}

/// What every connector's client holds for one run: the base URL, the credential header
/// (marked sensitive), the integration's rate limiter, the retry policy and the pauses
/// before an empty answer is asked again.
pub struct Api {
    base: reqwest::Url,
    auth: HeaderValue,
    limiter: Arc<DefaultDirectRateLimiter>,
    pub policy: RetryPolicy,
    pub reask: Vec<Duration>,
}

/// How a provider authenticates and paces its calls.
pub struct ApiSpec {
    pub slug: &'static str,
    /// The provider's name in pt-BR messages.
    pub name: &'static str,
    /// The vault field with the credential.
    pub secret_field: &'static str,
    /// `Bearer`, `ApiKey`, ...
    pub scheme: &'static str,
    /// Requests a minute when the tenant did not set `requisicoes_por_minuto`.
    pub default_per_minute: i64,
}

impl Api {
    pub fn new(ctx: &RunContext, spec: &ApiSpec) -> Result<Self, ProviderError> {
        use secrecy::ExposeSecret;
        // The credential first: its absence is the admin's to fix whatever the address.
        let secret = ctx.secrets.get(spec.secret_field)?;
        let base = ctx.base_url()?;
        let mut auth =
            HeaderValue::from_str(&format!("{} {}", spec.scheme, secret.expose_secret())).map_err(
                |_| {
                    ProviderError::Credential(format!(
                        "A credencial da {} tem caracteres inválidos.",
                        spec.name
                    ))
                },
            )?;
        auth.set_sensitive(true);
        let per_minute = super::config_int(
            &ctx.config,
            "requisicoes_por_minuto",
            spec.default_per_minute,
            1,
            6000,
        );
        Ok(Self {
            base,
            auth,
            limiter: super::limiter::for_integration(
                spec.slug,
                ctx.integration_id,
                per_minute as u32,
            ),
            policy: RetryPolicy::default(),
            reask: vec![Duration::from_millis(500), Duration::from_millis(1500)],
        })
    }

    /// `path` under the base URL's own path (`https://host/integracao` + `Cliente/Obter/1`),
    /// with `query` as given (already encoded).
    pub fn url(&self, path: &str, query: Option<&str>) -> Result<reqwest::Url, ProviderError> {
        let mut url = self
            .base
            .join(&format!(
                "{}/{path}",
                self.base.path().trim_end_matches('/')
            ))
            .map_err(|_| ProviderError::InvalidConfig("base_url não é uma URL válida".into()))?;
        url.set_query(query);
        Ok(url)
    }

    /// [`get`] with this client's limiter, credential and policy.
    pub async fn get(&self, ctx: &RunContext, url: reqwest::Url) -> Result<Answer, ProviderError> {
        get(ctx, &self.limiter, url, &self.auth, self.policy).await
    }
}

#[cfg(test)]
mod tests {
    use super::their_words;

    #[test]
    fn their_words_come_from_any_of_the_known_keys() {
        assert_eq!(
            their_words(br#"{"Erro": "Empresa inexistente"}"#).as_deref(),
            Some("Empresa inexistente")
        );
        assert_eq!(
            their_words(br#"{"Message": "Authorization has been denied for this request."}"#)
                .as_deref(),
            Some("Authorization has been denied for this request.")
        );
        assert_eq!(
            their_words(br#"{"error": "ERR_INVALID_API_KEY"}"#).as_deref(),
            Some("ERR_INVALID_API_KEY")
        );
        assert_eq!(their_words(b"<html>"), None);
        assert_eq!(their_words(br#"{"Erro": " "}"#), None);
    }
}
