//! Live run status: `GET /api/run-events`, a stream of Server-Sent Events for the pages of
//! the signed-in user's current tenant (the one chosen in the header).
//!
//! The database tells the server's one listener of every run change, of every tenant
//! (`backend::run_events`, channel `run_changed`). Each stream keeps only its tenant's
//! (a string comparison, no query, for the others') and, for each, reads in one transaction
//! scoped to its caller whether the session still holds (`caller_session_ok()`) and the
//! tenant's integrations (a few rows, the same `list_for_tenant` as `list-integrations`), so
//! what a browser receives is exactly what that user may see at that moment (row-level
//! security decides; a user removed from the tenant gets nothing). The session is also
//! checked at least every [`SESSION_CHECK`], and a stream ends when its token expires, its
//! session ends or the server stops.
//!
//! Events: `run` (data: the `IntegrationSummary` JSON; first one for each of the tenant's
//! integrations as it stands when the stream opens, then one per change) and `resync` (this
//! stream may have missed changes: the page reads its data again). Without a session: 401
//! JSON, or for a browser's EventSource (it asks for `text/event-stream`) 204, which tells
//! it to stop reconnecting. At most [`MAX_PER_USER`] streams per user and [`MAX_STREAMS`]
//! in all at once (429). Changes heard within [`GATHER`] of each other are read together
//! (each integration sent once), and at most [`MAX_CONCURRENT_READS`] streams read at once.
//!
//! A run waiting for a worker shows its place in the queue ("Na fila · posição N"), which
//! moves when other jobs, of any tenant, start: no notification of this tenant's says so.
//! While one of its integrations has a place, a stream reads its list again every
//! [`QUEUE_LOOK`] (and a second at random, so streams spread out), at most
//! [`MAX_QUEUE_READS`] such reads at once across the process (a look that finds none free
//! waits for the next), and sends the cards that changed.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use backend::run_events::RunChange;
use backend::scope::Claims;
use backend::AppState;
use model::IntegrationSummary;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

/// How often an idle stream checks that its session still holds.
pub const SESSION_CHECK: Duration = Duration::from_secs(30);
/// Streams one user may hold open at once (a tab each).
pub const MAX_PER_USER: usize = 8;
/// Streams this process holds open at once, all users together.
pub const MAX_STREAMS: usize = 4096;
/// Changes of a stream's tenant that arrive within this time after a first one are read
/// together (one query for a burst: a schedule tick starting many runs).
pub const GATHER: Duration = Duration::from_millis(250);
/// Streams reading the database at once, across the process: a change heard by thousands
/// of streams of one tenant queues their reads instead of taking the whole pool.
pub const MAX_CONCURRENT_READS: usize = 8;

/// How often a stream with a waiting run looks at its place again (plus up to a second).
pub const QUEUE_LOOK: Duration = Duration::from_secs(3);
/// Streams looking at their places at once, across the process.
pub const MAX_QUEUE_READS: usize = 2;

static READS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_CONCURRENT_READS);
static QUEUE_READS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_QUEUE_READS);
static OPEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/run-events", get(run_events))
        .with_state(state)
}

fn wants_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

fn refuse(e: backend::Error) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    e.log_if_internal("run events");
    (status, Json(json!({ "error": e.to_string() }))).into_response()
}

async fn run_events(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // Changes are heard from the subscription on (at start-up, once the listener listens:
    // a moment); subscribed before the first read, so nothing falls in between.
    let _ = tokio::time::timeout(Duration::from_secs(2), state.run_events.listening()).await;
    let changes = state.run_events.subscribe_changes();
    let preferred = backend::cookies::read(&headers, backend::cookies::TENANT);
    let session =
        backend::auth::scoped_session(&state.pool, &state.jwt, &headers, preferred.as_deref())
            .await;
    let (claims, user, mut tx) = match session {
        Ok(s) => s,
        // A browser's EventSource is told to stop trying by a 204, which it takes quietly;
        // a 401 would only make it log errors. Other clients get the usual JSON 401.
        Err(backend::Error::Unauthenticated(_)) if wants_event_stream(&headers) => {
            return StatusCode::NO_CONTENT.into_response();
        }
        Err(e) => return refuse(e),
    };
    let Some(tenant) = user.current_tenant else {
        return refuse(backend::Error::NotFound(
            "Nenhuma organização escolhida.".into(),
        ));
    };
    let Some(slot) = Slot::take(&state, claims.sub) else {
        return refuse(backend::Error::TooManyRequests(
            "Acompanhamentos ao vivo demais abertos agora: feche alguma aba e recarregue a página."
                .into(),
        ));
    };
    // First, where every integration stands now, read in the transaction that checked the
    // session: what changed before this stream opened (the page was rendered a moment ago;
    // the browser may have reconnected after a break) is not missed.
    let mut list = match backend::integrations::list_for_tenant(&mut tx, tenant.id).await {
        Ok(list) => list,
        Err(e) => return refuse(e.into()),
    };
    if let Err(e) = tx.commit().await {
        return refuse(e.into());
    }
    state.registry.mark(&mut list);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let left = u64::try_from(claims.exp).unwrap_or(0).saturating_sub(now);
    let expires = tokio::time::Instant::now()
        .checked_add(Duration::from_secs(left.min(366 * 24 * 3600)))
        .unwrap_or_else(tokio::time::Instant::now);
    // Streams opened together (after a restart) check their sessions at spread moments,
    // not all in the same instant.
    let check_every = SESSION_CHECK
        + Duration::from_millis(u64::try_from(Uuid::new_v4().as_u128() % 5_000).unwrap_or(0));
    let mut stream = Stream {
        state: state.clone(),
        claims,
        tenant: tenant.id,
        tenant_slug: tenant.slug,
        changes,
        next_check: tokio::time::Instant::now() + check_every,
        check_every,
        expires,
        ended: false,
        backlog: list
            .iter()
            .rev()
            .filter_map(|s| Event::default().event("run").json_data(s).ok())
            .collect(),
        next_queue_look: None,
        known: Vec::new(),
        _slot: slot,
    };
    stream.know(list);
    let events = futures::stream::unfold(stream, |mut s| async move {
        let event = s.next().await?;
        Some((Ok::<_, Infallible>(event), s))
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    // Proxies must pass events on as they come.
    response.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    response
}

/// One of a user's [`MAX_PER_USER`] streams (and of the process's [`MAX_STREAMS`]), given
/// back when the stream is dropped.
struct Slot {
    state: AppState,
    user: Uuid,
}

impl Slot {
    fn take(state: &AppState, user: Uuid) -> Option<Self> {
        let mut open = state
            .live_streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(user).or_insert(0);
        if *n >= MAX_PER_USER || OPEN.load(std::sync::atomic::Ordering::Relaxed) >= MAX_STREAMS {
            if *n == 0 {
                open.remove(&user);
            }
            return None;
        }
        *n += 1;
        OPEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(Self {
            state: state.clone(),
            user,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .state
            .live_streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        OPEN.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(n) = open.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}

struct Stream {
    state: AppState,
    claims: Claims,
    tenant: Uuid,
    tenant_slug: String,
    changes: tokio::sync::broadcast::Receiver<RunChange>,
    next_check: tokio::time::Instant,
    /// [`SESSION_CHECK`] and this stream's own few seconds more.
    check_every: Duration,
    /// When the token expires: the stream ends then.
    expires: tokio::time::Instant,
    ended: bool,
    /// Events to send before any change (last first).
    backlog: Vec<Event>,
    /// When to look at the queue again: while one of the tenant's runs waits for a worker.
    next_queue_look: Option<tokio::time::Instant>,
    /// The tenant's integrations as this stream last sent or read them.
    known: Vec<IntegrationSummary>,
    _slot: Slot,
}

/// [`QUEUE_LOOK`] and up to a second more, at random.
fn queue_look() -> Duration {
    QUEUE_LOOK + Duration::from_millis(u64::try_from(Uuid::new_v4().as_u128() % 1_000).unwrap_or(0))
}

/// The same card on the page: equal but for the seconds since the last run and since the
/// last webhook batch, which every read counts again.
fn same_card(a: &IntegrationSummary, b: &IntegrationSummary) -> bool {
    let mut b = b.clone();
    b.last_run_seconds_ago = a.last_run_seconds_ago;
    b.last_webhook_seconds_ago = a.last_webhook_seconds_ago;
    *a == b
}

impl Stream {
    /// The next event for this page, or `None` when the stream ends.
    async fn next(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        if let Some(e) = self.backlog.pop() {
            return Some(e);
        }
        loop {
            let wake = self.next_check.min(self.expires);
            let wake = self.next_queue_look.map_or(wake, |q| q.min(wake));
            let received = tokio::select! {
                () = self.state.shutdown.cancelled() => return None,
                r = tokio::time::timeout_at(wake, self.changes.recv()) => r,
            };
            let change = match received {
                Ok(Ok(c)) if c.is_resync() || self.is_mine(&c) => Some(c),
                Ok(Ok(_)) => continue,
                // This stream fell behind: changes were missed.
                Ok(Err(RecvError::Lagged(_))) => Some(RunChange::resync()),
                Ok(Err(RecvError::Closed)) => return None,
                // Time to look at the session again (or the token expired).
                Err(_) => None,
            };
            // A waiting run's place: read the list again, send what moved.
            let now = tokio::time::Instant::now();
            if change.is_none()
                && self.next_queue_look.is_some_and(|q| now >= q)
                && now < self.next_check
                && now < self.expires
            {
                self.next_queue_look = Some(now + queue_look());
                let Ok(_permit) = QUEUE_READS.try_acquire() else {
                    continue;
                };
                match self.read().await {
                    Ok(Some(list)) => self.send_changed(&[], list),
                    Ok(None) => {
                        self.ended = true;
                        return None;
                    }
                    Err(e) => e.log_if_internal("run events"),
                }
                if let Some(e) = self.backlog.pop() {
                    return Some(e);
                }
                continue;
            }
            // A burst is read once: the changes of the next moment join this one.
            let mut slugs: Vec<String> = Vec::new();
            let change = match change {
                Some(c) if !c.is_resync() => {
                    slugs.push(c.provider_slug.clone());
                    if self.gather(&mut slugs).await {
                        Some(c)
                    } else {
                        Some(RunChange::resync())
                    }
                }
                other => other,
            };
            if tokio::time::Instant::now() >= self.expires {
                self.ended = true;
                return None;
            }
            // Missed changes: the page reads its data again through its own server
            // functions (each checks the session), so this stream reads nothing itself; after
            // a reconnect of the listener every stream says so at once, without a query each.
            if change.as_ref().is_some_and(RunChange::is_resync) {
                return Some(Event::default().event("resync").data("{}"));
            }
            // Time to look at the session: that alone, cheap and outside the read limit.
            if change.is_none() {
                match self.session_ok().await {
                    Ok(true) => {}
                    Ok(false) => {
                        self.ended = true;
                        return None;
                    }
                    Err(e) => e.log_if_internal("run events"),
                }
                self.next_check = tokio::time::Instant::now() + self.check_every;
                // While the listener does not listen (reconnecting; or a database pooler in
                // transaction mode, which never delivers notifications), nothing is pushed:
                // the page reads its data again at every check instead.
                if !self.state.run_events.is_listening() {
                    return Some(Event::default().event("resync").data("{}"));
                }
                continue;
            }
            let list = match self.read().await {
                Ok(Some(list)) => list,
                // The session ended (signed out, deactivated).
                Ok(None) => {
                    self.ended = true;
                    return None;
                }
                Err(e) => {
                    e.log_if_internal("run events");
                    self.next_check = tokio::time::Instant::now() + self.check_every;
                    return Some(Event::default().event("resync").data("{}"));
                }
            };
            self.next_check = tokio::time::Instant::now() + self.check_every;
            self.send_changed(&slugs, list);
            if let Some(e) = self.backlog.pop() {
                return Some(e);
            }
        }
    }

    /// Queues for sending each integration heard of (once, in the order heard), then every
    /// other one that changed since this stream last knew it (a waiting run's place moved);
    /// one that is not this user's to see (any more): nothing. Then knows `list`.
    fn send_changed(&mut self, heard: &[String], list: Vec<IntegrationSummary>) {
        let mut out: Vec<&IntegrationSummary> = heard
            .iter()
            .filter_map(|slug| list.iter().find(|i| &i.slug == slug))
            .collect();
        out.extend(list.iter().filter(|card| {
            !heard.contains(&card.slug)
                && !self
                    .known
                    .iter()
                    .any(|k| k.id == card.id && same_card(k, card))
        }));
        for summary in out.into_iter().rev() {
            match Event::default().event("run").json_data(summary) {
                Ok(e) => self.backlog.push(e),
                Err(e) => tracing::warn!(error = %e, "run events: cannot encode"),
            }
        }
        self.know(list);
    }

    /// Keeps `list` as what the page has, and looks at the queue again a [`queue_look`]
    /// after this read while one of its runs has a place in it. A run without one (a retry
    /// sitting out its backoff, a job a worker took) moves on by a notification: its
    /// start, or its end.
    fn know(&mut self, list: Vec<IntegrationSummary>) {
        self.next_queue_look = list
            .iter()
            .any(|s| s.is_queued() && s.queue_position.is_some())
            .then(|| tokio::time::Instant::now() + queue_look());
        self.known = list;
    }

    fn is_mine(&self, c: &RunChange) -> bool {
        c.is_of(self.tenant, Some(&self.tenant_slug))
    }

    /// Adds to `slugs` the changes of this stream's tenant heard within [`GATHER`] (each
    /// once). `false` when changes were missed meanwhile (the page must read again).
    async fn gather(&mut self, slugs: &mut Vec<String>) -> bool {
        let until = tokio::time::Instant::now() + GATHER;
        loop {
            match tokio::time::timeout_at(until, self.changes.recv()).await {
                Ok(Ok(c)) if c.is_resync() => return false,
                Ok(Ok(c)) if self.is_mine(&c) => {
                    if !slugs.contains(&c.provider_slug) {
                        slugs.push(c.provider_slug);
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(RecvError::Lagged(_))) => return false,
                Ok(Err(RecvError::Closed)) | Err(_) => return true,
            }
        }
    }

    /// Whether the caller's session still holds (signed out, deactivated: no).
    async fn session_ok(&self) -> backend::Result<bool> {
        let mut tx = backend::scope::begin_as(&self.state.pool, &self.claims).await?;
        let live: bool = sqlx::query_scalar("select public.caller_session_ok()")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(live)
    }

    /// In one transaction scoped to the caller: whether their session still holds and, if
    /// it does, the tenant's integrations as `list-integrations` shows them to them.
    async fn read(&self) -> backend::Result<Option<Vec<IntegrationSummary>>> {
        // Bounded across the process (the semaphore is never closed).
        let _permit = READS
            .acquire()
            .await
            .map_err(|e| backend::Error::Internal(e.to_string()))?;
        let mut tx = backend::scope::begin_as(&self.state.pool, &self.claims).await?;
        let live: bool = sqlx::query_scalar("select public.caller_session_ok()")
            .fetch_one(&mut *tx)
            .await?;
        if !live {
            tx.commit().await?;
            return Ok(None);
        }
        let mut list = backend::integrations::list_for_tenant(&mut tx, self.tenant).await?;
        tx.commit().await?;
        self.state.registry.mark(&mut list);
        Ok(Some(list))
    }
}

#[cfg(test)]
mod tests {
    use super::same_card;
    use model::IntegrationSummary;

    fn card() -> IntegrationSummary {
        serde_json::from_value(serde_json::json!({
            "id": "00000000-0000-0000-0000-000000000001", "slug": "onecode", "name": "OneCode",
            "category": null, "is_enabled": true, "last_status": "success",
            "last_run": "2026-12-06T10:00:00.000Z", "last_run_seconds_ago": 60,
            "progress": null, "last_processed": 3, "last_created": 1, "last_updated": 0,
            "last_review": 0, "last_failed": 0, "last_matched": 2, "last_ignored": 0,
            "has_connector": true, "paused_after": null,
            "last_webhook": "2026-12-06T10:00:30.000Z", "last_webhook_seconds_ago": 30
        }))
        .expect("a card")
    }

    /// A card read again a few seconds later is not pushed again (every push rebuilds the
    /// card on the page); a new batch or run is.
    #[test]
    fn a_card_is_the_same_but_for_the_seconds_counted_again() {
        let a = card();
        let mut later = a.clone();
        later.last_run_seconds_ago = Some(64);
        later.last_webhook_seconds_ago = Some(34);
        assert!(same_card(&a, &later));
        let mut batch = later.clone();
        batch.last_webhook = Some("2026-12-06T10:01:03.000Z".into());
        assert!(!same_card(&a, &batch));
        let mut run = later;
        run.last_processed = Some(4);
        assert!(!same_card(&a, &run));
    }
}
