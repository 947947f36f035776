//! Runs that end, as they end: the database says so on the channel `run_ended` (trigger
//! `integration_logs_rollup`, migration 0014) with the execution id, and one listener per
//! server process passes it on to whoever waits (`?wait=true` of the JSON API), instead of
//! each waiter polling the database.
//!
//! A notification carries nothing but an id: a waiter still reads the attempt under its
//! own RLS. Notifications can be missed (a listener reconnecting): waiters also look again
//! every [`FALLBACK_LOOK`], so a missed one costs at most that.

use std::time::Duration;

use tokio::sync::broadcast;
use uuid::Uuid;

/// The channel the database notifies on.
pub const CHANNEL: &str = "run_ended";
/// How often a waiter looks again on its own.
pub const FALLBACK_LOOK: Duration = Duration::from_secs(1);

/// Ended executions, for this process's waiters.
#[derive(Clone)]
pub struct RunEvents {
    ended: broadcast::Sender<Uuid>,
}

impl RunEvents {
    /// Starts listening on `pool`'s database (in the background, reconnecting on errors)
    /// when called inside a Tokio runtime; outside one, waiters only poll.
    pub fn start(pool: &sqlx::PgPool) -> Self {
        let (ended, _) = broadcast::channel(1024);
        let events = Self { ended };
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(listen(pool.clone(), events.ended.clone()));
        }
        events
    }

    /// A receiver of the ids of executions that end from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.ended.subscribe()
    }
}

async fn listen(pool: sqlx::PgPool, ended: broadcast::Sender<Uuid>) {
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
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "run events: LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(n) => {
                    if let Ok(id) = n.payload().parse::<Uuid>() {
                        // Nobody waiting is fine.
                        let _ = ended.send(id);
                    }
                }
                Err(e) => {
                    if !pool.is_closed() {
                        tracing::warn!(error = %e, "run events: connection lost; listening again");
                    }
                    break;
                }
            }
        }
    }
}
