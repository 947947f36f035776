//! The part of OneCode's API the connector calls: `GET /api/contacts?page=&pageSize=`
//! (pages to the end: `count` over-reports, so a short or empty page ends the list), with
//! `Authorization: Bearer <api_token>`, the integration's rate limiter, and the
//! `x-ratelimit-*` headers of every answer: when they say the window is spent, the next
//! call waits for its reset.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::providers::common::http::{Answer, Api, ApiSpec};
use crate::providers::{ProviderError, RunContext};

pub const SLUG: &str = "onecode";
pub const TOKEN_FIELD: &str = "api_token";
/// Contacts a page: the old sync asked for 1,000 in one page and stopped there.
pub const PAGE_SIZE: usize = 200;
/// A reset longer than this ends the attempt instead (the engine retries it later, from
/// the checkpoint).
const MAX_RESET_WAIT: Duration = Duration::from_secs(90);

pub const SPEC: ApiSpec = ApiSpec {
    slug: SLUG,
    name: "OneCode",
    secret_field: TOKEN_FIELD,
    scheme: "Bearer",
    default_per_minute: 120,
};

pub struct Client {
    pub api: Api,
    /// When the provider's window resets, if its last answer said nothing is left.
    not_before: Option<Instant>,
    /// The `pageSize` the provider says it served (it may serve fewer than asked).
    pub served_page_size: Option<usize>,
}

impl Client {
    pub fn new(ctx: &RunContext) -> Result<Self, ProviderError> {
        Ok(Self {
            api: Api::new(ctx, &SPEC)?,
            not_before: None,
            served_page_size: None,
        })
    }

    /// One page of contacts (`page` from 1). An empty page where `count` promised
    /// contacts is asked again after the client's pauses (OneCode under load answers `[]`
    /// now and then); if it stays empty it is the end (`count` over-reports).
    pub async fn contacts(
        &mut self,
        ctx: &RunContext,
        page: u32,
        size: usize,
    ) -> Result<Vec<Value>, ProviderError> {
        let pauses = self.api.reask.clone();
        let mut pauses = pauses.into_iter();
        loop {
            let (items, count) = self.contacts_once(ctx, page, size).await?;
            let promised = count.is_some_and(|c| c > u64::from(page - 1) * size as u64);
            if !items.is_empty() || !promised {
                return Ok(items);
            }
            let Some(pause) = pauses.next() else {
                return Ok(items);
            };
            tracing::debug!(
                page,
                ?pause,
                "OneCode answered an empty page inside its count; asking again"
            );
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = ctx.cancel.cancelled() => return Err(ProviderError::Cancelled),
            }
        }
    }

    async fn contacts_once(
        &mut self,
        ctx: &RunContext,
        page: u32,
        size: usize,
    ) -> Result<(Vec<Value>, Option<u64>), ProviderError> {
        self.wait_for_window(ctx).await?;
        let url = self.api.url(
            "api/contacts",
            Some(&format!("page={page}&pageSize={size}")),
        )?;
        let answer = self.api.get(ctx, url).await?;
        self.not_before = window_spent(&answer);
        let body = answer.json().unwrap_or(Value::Null);
        let count = body.get("count").and_then(Value::as_u64);
        if let Some(size) = body.get("pageSize").and_then(Value::as_u64) {
            self.served_page_size = Some(size as usize);
        }
        match body.get("contacts") {
            Some(Value::Array(items)) => Ok((items.clone(), count)),
            Some(Value::Null) => Ok((Vec::new(), count)),
            _ => Err(ProviderError::Permanent(
                "resposta da OneCode sem a lista de contatos".into(),
            )),
        }
    }

    async fn wait_for_window(&mut self, ctx: &RunContext) -> Result<(), ProviderError> {
        let Some(at) = self.not_before.take() else {
            return Ok(());
        };
        let now = Instant::now();
        if at <= now {
            return Ok(());
        }
        if at - now > MAX_RESET_WAIT {
            return Err(ProviderError::RateLimited {
                retry_after: Some(at - now),
            });
        }
        tracing::debug!(wait = ?(at - now), "OneCode rate-limit window spent; waiting for its reset");
        tokio::select! {
            () = tokio::time::sleep_until(at) => Ok(()),
            () = ctx.cancel.cancelled() => Err(ProviderError::Cancelled),
        }
    }
}

/// When the answer's `x-ratelimit-remaining` is 0: the instant its window resets
/// (`x-ratelimit-reset`, in seconds from now, or a Unix time when it is that large).
pub fn window_spent(answer: &Answer) -> Option<Instant> {
    let header = |name: &str| -> Option<u64> {
        answer
            .headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| v.ceil() as u64)
    };
    if header("x-ratelimit-remaining")? > 0 {
        return None;
    }
    let reset = header("x-ratelimit-reset").unwrap_or(1);
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let secs = if reset > 1_000_000_000_000 {
        // A Unix time in milliseconds.
        (reset / 1000).saturating_sub(now)
    } else if reset > 1_000_000_000 {
        reset.saturating_sub(now)
    } else {
        reset
    };
    // Whatever the header says, never more than an hour (an attempt ends after
    // `MAX_RESET_WAIT` anyway, and the engine retries it).
    Instant::now().checked_add(Duration::from_secs(secs.clamp(1, 3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(remaining: &str, reset: &str) -> Answer {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-ratelimit-remaining", remaining.parse().expect("header"));
        headers.insert("x-ratelimit-reset", reset.parse().expect("header"));
        Answer {
            status: reqwest::StatusCode::OK,
            headers,
            body: bytes::Bytes::new(),
        }
    }

    #[test]
    fn a_spent_window_waits_for_its_reset() {
        assert!(window_spent(&answer("3", "40")).is_none());
        let at = window_spent(&answer("0", "40")).expect("spent");
        let wait = at - Instant::now();
        assert!(wait > Duration::from_secs(38) && wait <= Duration::from_secs(40));
        let unix = (chrono::Utc::now().timestamp() + 20).to_string();
        let wait = window_spent(&answer("0", &unix)).expect("spent") - Instant::now();
        assert!(wait > Duration::from_secs(17) && wait <= Duration::from_secs(21));
        let none = Answer {
            status: reqwest::StatusCode::OK,
            headers: reqwest::header::HeaderMap::new(),
            body: bytes::Bytes::new(),
        };
        assert!(window_spent(&none).is_none());
    }
}
