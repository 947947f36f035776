//! Runs that end, as they end: the database says so on the channel `run_ended` (trigger
//! `integration_logs_rollup`, migration 0014) with the execution id, and one listener per
//! server process passes it on to whoever waits (`?wait=true` of the JSON API), instead of
//! each waiter polling the database.
//!
//! Runs that change (an attempt starts, moves its progress, ends): channel `run_changed`
//! (migration 0016) with the tenant key and the provider, passed on to the open pages of
//! that tenant (the portal's Server-Sent Events, `server/src/live.rs`).
//!
//! A notification carries nothing but an id (or a tenant key and a provider): a waiter or
//! a page still reads the attempt or the summary under its own RLS. Notifications can be
//! missed (a listener reconnecting): waiters also look again every [`FALLBACK_LOOK`], so a
//! missed one costs at most that, and pages are told to read their data again.

use std::time::Duration;

use tokio::sync::{broadcast, watch};
use uuid::Uuid;

/// The channel the database notifies on when an execution ends.
pub const CHANNEL: &str = "run_ended";
/// The channel the database notifies on when a run changes.
pub const CHANGED: &str = "run_changed";

/// A run of `provider_slug` changed in the tenant whose key (its id or, in rows of the
/// previous portal, its slug) is `tenant_key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunChange {
    pub tenant_key: String,
    pub provider_slug: String,
}

impl RunChange {
    fn parse(payload: &str) -> Option<Self> {
        // Provider slugs have no spaces; an old portal's tenant slug might.
        let (tenant_key, provider_slug) = payload.rsplit_once(' ')?;
        // "*" is ours (a resync), never a tenant's: a notification sent by hand cannot
        // make every stream of every tenant read again.
        if tenant_key == "*" || tenant_key.is_empty() {
            return None;
        }
        Some(Self {
            tenant_key: tenant_key.to_owned(),
            provider_slug: provider_slug.to_owned(),
        })
    }

    /// Not a change: changes may have been missed (the listener lost its connection).
    pub fn resync() -> Self {
        Self {
            tenant_key: "*".into(),
            provider_slug: "*".into(),
        }
    }

    pub fn is_resync(&self) -> bool {
        self.tenant_key == "*"
    }

    /// Whether the change is of the tenant `id` (slug `slug`).
    pub fn is_of(&self, id: Uuid, slug: Option<&str>) -> bool {
        self.tenant_key.eq_ignore_ascii_case(&id.to_string())
            || slug.is_some_and(|s| s == self.tenant_key)
    }
}
/// How often a waiter looks again on its own.
pub const FALLBACK_LOOK: Duration = Duration::from_secs(1);

/// Ended executions, for this process's waiters.
#[derive(Clone)]
pub struct RunEvents {
    ended: broadcast::Sender<Uuid>,
    changed: broadcast::Sender<RunChange>,
    /// Whether the listener is listening now.
    listening: watch::Sender<bool>,
}

impl RunEvents {
    /// Starts listening on `pool`'s database (in the background, reconnecting on errors)
    /// when called inside a Tokio runtime; outside one, waiters only poll.
    pub fn start(pool: &sqlx::PgPool) -> Self {
        let (ended, _) = broadcast::channel(1024);
        let (changed, _) = broadcast::channel(4096);
        let events = Self {
            ended,
            changed,
            listening: watch::Sender::new(false),
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(listen(pool.clone(), events.clone()));
        }
        events
    }

    /// A receiver of the ids of executions that end from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.ended.subscribe()
    }

    /// Returns once the listener listens (at once when it does already): what is notified
    /// after that reaches the receivers. Tests and benchmarks wait for it instead of
    /// guessing how long connecting takes.
    pub async fn listening(&self) {
        let mut rx = self.listening.subscribe();
        let _ = rx.wait_for(|l| *l).await;
    }

    /// Whether the listener listens now (notifications reach the receivers).
    pub fn is_listening(&self) -> bool {
        *self.listening.borrow()
    }

    /// A receiver of the runs that change from now on, of every tenant: the receiver
    /// filters (and reads what changed under its caller's row-level security).
    pub fn subscribe_changes(&self) -> broadcast::Receiver<RunChange> {
        self.changed.subscribe()
    }
}

async fn listen(pool: sqlx::PgPool, events: RunEvents) {
    let mut listened_before = false;
    let mut pause = Duration::from_millis(100);
    // Until the pool is closed (the server stopping, a test ending).
    while !pool.is_closed() {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                if !pool.is_closed() {
                    tracing::warn!(error = %e, "run events: cannot listen; retrying");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                continue;
            }
        };
        if let Err(e) = listener.listen_all([CHANNEL, CHANGED]).await {
            tracing::warn!(error = %e, "run events: LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        }
        events.listening.send_replace(true);
        let listening_since = tokio::time::Instant::now();
        if listened_before {
            // Listening again after a break: what was notified meanwhile is lost, so open
            // pages read their data again (waiters look on their own anyway).
            let _ = events.changed.send(RunChange::resync());
        }
        listened_before = true;
        loop {
            match listener.try_recv().await {
                // The connection broke: listen again on a new one (above), after a pause
                // that grows while it keeps breaking.
                Ok(None) => {
                    events.listening.send_replace(false);
                    if listening_since.elapsed() > Duration::from_secs(60) {
                        pause = Duration::from_millis(100);
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(30));
                    break;
                }
                // Nobody waiting is fine: sends to no receiver are dropped.
                Ok(Some(n)) if n.channel() == CHANGED => {
                    if let Some(change) = RunChange::parse(n.payload()) {
                        let _ = events.changed.send(change);
                    }
                }
                Ok(Some(n)) => {
                    if let Ok(id) = n.payload().parse::<Uuid>() {
                        let _ = events.ended.send(id);
                    }
                }
                Err(e) => {
                    events.listening.send_replace(false);
                    if !pool.is_closed() {
                        tracing::warn!(error = %e, "run events: connection lost; listening again");
                    }
                    break;
                }
            }
        }
    }
}
