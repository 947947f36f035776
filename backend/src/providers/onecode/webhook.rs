//! OneCode's webhook, after the HTTP layer authenticated a delivery: [`store`] keeps the
//! event (once per provider event, in the same transaction as the queue job that will
//! process it, so an event acknowledged with 2xx is never lost), and [`process_pending`]
//! handles a tenant integration's pending events in batches: contacts created or updated
//! are matched like the sync does, messages move their contact's last-message time, and
//! anything else is kept as `ignored`. Each batch writes one log row with trigger
//! `webhook`. A batch that fails is applied again event by event in savepoints; an event
//! that fails on its own is retried with backoff and set aside as `failed` after
//! [`MAX_ATTEMPTS`]; the schedule's sweep re-queues what is left. Processed events are
//! purged after 30 days (they hold people's messages).

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::matcher::Thresholds;
use super::sync;
use crate::providers::common::payload;
use crate::providers::ProviderError;
use crate::{Error, Result};

/// The tenant integration a delivery is for.
#[derive(Debug, Clone)]
pub struct Target {
    pub tenant_id: Uuid,
    pub tenant_integration_id: Uuid,
    pub tenant_slug: String,
}

/// How a delivery names its integration.
pub enum Address<'a> {
    /// The token of its address (`/functions/v1/onecode-webhook/<token>`).
    Token(&'a str),
    /// The tenant's slug in `x-onecode-source` (the old single address).
    Source(&'a str),
}

/// The tenant's OneCode integration a delivery is for.
pub async fn target(pool: &PgPool, address: Address<'_>) -> Result<Option<Target>> {
    let (token, source) = match address {
        Address::Token(t) => (Some(t), None),
        Address::Source(s) => (None, Some(s)),
    };
    let mut tx = crate::scope::begin_service(pool).await?;
    let row = sqlx::query!(
        r#"select t.id, t.tenant_id, o.slug
           from public.tenant_integrations t
           join public.integration_providers p on p.id = t.provider_id
           join public.organizacoes o on o.id = t.tenant_id
           left join public.tenant_integration_webhooks w on w.tenant_integration_id = t.id
           where p.slug = 'onecode'
             and (w.token = $1::text or o.slug = $2::text)"#,
        token,
        source
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|r| Target {
        tenant_id: r.tenant_id,
        tenant_integration_id: r.id,
        tenant_slug: r.slug,
    }))
}

/// An event's `data`, checked: `object` and `action` are texts, `payload` is present.
pub struct Event {
    pub object: String,
    pub action: String,
    pub payload: Value,
}

/// Why a body is not an event (400).
pub fn parse(body: &[u8]) -> std::result::Result<Event, &'static str> {
    let v: Value = serde_json::from_slice(body).map_err(|_| "Corpo não é JSON válido.")?;
    let data = v
        .get("data")
        .filter(|d| d.is_object())
        .ok_or("Falta o objeto \"data\".")?;
    let text = |k: &str| data.get(k).and_then(Value::as_str).map(str::trim);
    let object = text("object")
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .ok_or("\"data.object\" deve ser um texto.")?;
    let action = text("action")
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .ok_or("\"data.action\" deve ser um texto.")?;
    let payload = data
        .get("payload")
        .filter(|p| !p.is_null())
        .cloned()
        .ok_or("Falta \"data.payload\".")?;
    Ok(Event {
        object: object.to_owned(),
        action: action.to_owned(),
        // Postgres' jsonb refuses U+0000: it is dropped, or the event could never be
        // stored (a 503 OneCode would retry forever).
        payload: without_nul(payload),
    })
}

fn without_nul(v: Value) -> Value {
    let clean = |s: String| {
        if s.contains('\0') {
            s.replace('\0', "")
        } else {
            s
        }
    };
    match v {
        Value::String(s) => Value::String(clean(s)),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nul).collect()),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (clean(k), without_nul(v)))
                .collect(),
        ),
        other => other,
    }
}

/// What makes two deliveries the same event: a message's id (a created message is never
/// sent again with other content); for anything else its id, its `updatedAt` and the hash
/// of its content, or the hash alone. A replay is byte for byte the same event; two
/// updates within the same second with different content are two events.
pub fn event_key(e: &Event) -> String {
    let id = e.payload.get("id").and_then(|v| match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let hash =
        payload::hash(&json!({"object": e.object, "action": e.action, "payload": e.payload}));
    match (e.object.as_str(), id) {
        ("messages", Some(id)) if e.action == "create" => format!("messages.create:{id}"),
        _ => format!("{}.{}:{hash}", e.object, e.action),
    }
}

/// Stores `event` for `target` and queues its processing, in one transaction. `false`
/// when the same event was stored before (a replay: acknowledged, not stored again).
pub async fn store(pool: &PgPool, target: &Target, event: &Event) -> Result<bool> {
    let key = event_key(event);
    let mut tx = crate::scope::begin_service(pool).await?;
    let id = sqlx::query_scalar!(
        r#"insert into public.onecode_eventos
             (tenant_id, tenant_integration_id, event_key, object, action, payload)
           values ($1, $2, $3, $4, $5, $6)
           on conflict (tenant_id, event_key) do nothing
           returning id"#,
        target.tenant_id,
        target.tenant_integration_id,
        key,
        event.object,
        event.action,
        event.payload
    )
    .fetch_optional(&mut *tx)
    .await?;
    if id.is_some() {
        enqueue(&mut tx, target.tenant_integration_id).await?;
    }
    tx.commit().await?;
    Ok(id.is_some())
}

/// Queues the processing of an integration's pending events. The job key folds a burst
/// into one job that starts a moment later (`preserve_run_at`), which handles every event
/// pending when it runs.
async fn enqueue(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant_integration_id: Uuid,
) -> Result<()> {
    sqlx::query!(
        "select public.enqueue_onecode_events($1)",
        tenant_integration_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Re-queues the enabled integrations whose events have waited longer than a job should
/// take (a job that failed, a server that died between two steps). Returns how many.
pub async fn sweep(pool: &PgPool) -> Result<usize> {
    let mut tx = crate::scope::begin_service(pool).await?;
    let ids = sqlx::query_scalar!(
        r#"select distinct e.tenant_integration_id as "id!" from public.onecode_eventos e
           join public.tenant_integrations t on t.id = e.tenant_integration_id
           where e.status = 'pending' and e.received_at < now() - interval '1 minute'
             and (e.retry_at is null or e.retry_at <= now())
             and t.is_enabled"#
    )
    .fetch_all(&mut *tx)
    .await?;
    for id in &ids {
        enqueue(&mut tx, *id).await?;
    }
    tx.commit().await?;
    Ok(ids.len())
}

/// Events a batch handles at most; what is left is queued again.
pub const BATCH: i64 = 500;

/// Tries an event that fails on its own gets (spaced 1, 2, 4, 8 minutes apart); then it is
/// `failed` (kept, with its error, for an operator) and the events after it go on.
pub const MAX_ATTEMPTS: i32 = 5;

/// What one batch did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchReport {
    pub events: usize,
    pub contacts: sync::Tally,
    /// Known contacts whose last-message time the batch's messages moved.
    pub messages: usize,
    pub ignored: usize,
    /// Events that failed on their own in this batch (retried later, or set aside).
    pub failed: usize,
    /// Events left pending for the next batch.
    pub more: bool,
    /// Another worker is processing this integration's events (this one did nothing).
    pub busy: bool,
}

/// Handles the pending events of one tenant integration that are due, oldest first, in a
/// batch of [`BATCH`]. When the batch fails, the same events are applied again one by one,
/// each in a savepoint of the same transaction: an event that fails is rolled back alone,
/// retried later with backoff and set aside as `failed` after [`MAX_ATTEMPTS`]; the others
/// are processed, with one log row for the batch. Errors that are not an event's (the
/// database away) leave every event pending and are returned (graphile retries the job).
pub async fn process_pending(
    pool: &PgPool,
    tenant_integration_id: Uuid,
) -> Result<Vec<BatchReport>> {
    match process_batch(pool, tenant_integration_id, false).await {
        Ok(r) => Ok(vec![r]),
        Err(e) => {
            tracing::warn!(tenant_integration = %tenant_integration_id, error = ?e, "a batch of OneCode events failed; applying them one by one");
            Ok(vec![
                process_batch(pool, tenant_integration_id, true).await?,
            ])
        }
    }
}

struct Pending {
    id: i64,
    object: String,
    action: String,
    payload: Value,
}

/// What applying some events did.
#[derive(Default)]
struct Applied {
    tally: sync::Tally,
    touched: usize,
    handled: Vec<i64>,
    ignored: Vec<i64>,
}

fn id_of(v: &Value) -> Option<i64> {
    v.get("id")
        .and_then(|i| i.as_i64().or_else(|| i.as_str()?.trim().parse().ok()))
}

/// Applies `events` in `tx`: contacts sent as such (created or updated) are matched as the
/// sync does; a message moves its contact's last-message time and, since it carries only
/// part of its contact (no `blocked`, no `extraInfo`), brings a contact the portal does not
/// know yet, never rewrites one it knows; anything else is ignored.
async fn apply(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant: Uuid,
    thresholds: Thresholds,
    companies: &mut Option<super::matcher::Companies>,
    events: &[Pending],
) -> std::result::Result<Applied, ProviderError> {
    let mut out = Applied::default();
    let mut contacts: BTreeMap<i64, Value> = BTreeMap::new();
    let mut brought: BTreeMap<i64, Value> = BTreeMap::new();
    let mut messages: Vec<(i64, chrono::DateTime<chrono::Utc>)> = Vec::new();
    let now = chrono::Utc::now();
    for e in events {
        match (e.object.as_str(), e.action.as_str()) {
            ("contacts", "create" | "update") if id_of(&e.payload).is_some() => {
                if let Some(id) = id_of(&e.payload) {
                    contacts.insert(id, e.payload.clone());
                }
                out.handled.push(e.id);
            }
            ("messages", "create" | "update") => {
                let contact = e.payload.get("contact").filter(|c| id_of(c).is_some());
                let contact_id = e
                    .payload
                    .get("contactId")
                    .and_then(|i| i.as_i64().or_else(|| i.as_str()?.trim().parse().ok()))
                    .or_else(|| contact.and_then(id_of));
                // A time in the future (a wrong clock) is kept as now: it would otherwise
                // stay the "last message" for good.
                let at = e
                    .payload
                    .get("createdAt")
                    .and_then(Value::as_str)
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .map(|d| d.with_timezone(&chrono::Utc))
                    .map(|d| d.min(now));
                match (contact_id, at) {
                    (Some(cid), Some(at)) => {
                        if let Some(c) = contact {
                            brought.entry(cid).or_insert_with(|| c.clone());
                        }
                        messages.push((cid, at));
                        out.handled.push(e.id);
                    }
                    _ => out.ignored.push(e.id),
                }
            }
            _ => out.ignored.push(e.id),
        }
    }
    if !brought.is_empty() {
        // Under the tenant's lock, so that a sync inserting the same contact meanwhile is
        // seen here (the sync's writes take the same lock).
        crate::providers::common::empresas::lock_tenant(tx, tenant).await?;
        let ids: Vec<i64> = brought.keys().copied().collect();
        let known = sqlx::query_scalar!(
            "select contact_id from public.onecode_contatos
             where tenant_id = $1 and contact_id = any($2)",
            tenant,
            &ids
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(crate::providers::common::state::db_error)?;
        for (id, c) in brought {
            if !known.contains(&id) && !contacts.contains_key(&id) {
                contacts.insert(id, c);
            }
        }
    }
    let list: Vec<Value> = contacts.into_values().collect();
    if !list.is_empty() {
        if companies.is_none() {
            *companies = Some(sync::load_companies_in(tx, tenant).await?);
        }
        if let Some(cs) = companies.as_mut() {
            out.tally = sync::write_contacts(tx, tenant, &list, cs, thresholds).await?;
        }
    }
    out.touched = sync::touch_last_messages(tx, tenant, &messages).await? as usize;
    Ok(out)
}

/// One batch of an integration's due pending events (see [`process_pending`]); `isolate`
/// applies them one by one in savepoints.
pub async fn process_batch(
    pool: &PgPool,
    tenant_integration_id: Uuid,
    isolate: bool,
) -> Result<BatchReport> {
    let started = std::time::Instant::now();
    let mut tx = crate::scope::begin_service(pool).await?;
    let Some(ti) = sqlx::query!(
        r#"select t.tenant_id, t.config, t.is_enabled from public.tenant_integrations t
           where t.id = $1"#,
        tenant_integration_id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(BatchReport::default());
    };
    // A disabled integration keeps its events pending (nothing is lost): they are
    // processed when it is turned on again (the sweep re-queues them).
    if !ti.is_enabled {
        return Ok(BatchReport::default());
    }
    // One batch at a time per integration, so that events are applied in id order.
    let mine = sqlx::query_scalar!(
        r#"select pg_try_advisory_xact_lock(hashtextextended('onecode-events:' || $1::text, 0)) as "got!""#,
        tenant_integration_id.to_string()
    )
    .fetch_one(&mut *tx)
    .await?;
    if !mine {
        drop(tx);
        // The batch running now may have checked for more already: ask again shortly.
        let mut again = crate::scope::begin_service(pool).await?;
        enqueue(&mut again, tenant_integration_id).await?;
        again.commit().await?;
        return Ok(BatchReport {
            busy: true,
            ..BatchReport::default()
        });
    }
    let events: Vec<Pending> = sqlx::query!(
        r#"select id, object, action, payload from public.onecode_eventos
           where tenant_integration_id = $1 and status = 'pending'
             and (retry_at is null or retry_at <= now())
           order by id limit $2
           for update"#,
        tenant_integration_id,
        BATCH
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| Pending {
        id: r.id,
        object: r.object,
        action: r.action,
        payload: r.payload,
    })
    .collect();
    if events.is_empty() {
        tx.commit().await?;
        return Ok(BatchReport::default());
    }
    let tenant = ti.tenant_id;
    let thresholds = Thresholds::from_config(&ti.config);
    let mut report = BatchReport {
        events: events.len(),
        ..BatchReport::default()
    };
    let mut companies = None;
    let mut applied = Applied::default();
    if !isolate {
        match apply(&mut tx, tenant, thresholds, &mut companies, &events).await {
            Ok(a) => applied = a,
            Err(e) => {
                // Rolled back here, not on drop: a dropped transaction is rolled back only
                // when its connection is next used, and until then it would hold the
                // integration's lock against the event-by-event pass that follows.
                tx.rollback().await?;
                return Err(Error::Internal(e.to_string()));
            }
        }
    } else {
        for e in &events {
            // A savepoint per event: one that fails is undone alone.
            sqlx::query("savepoint onecode_event")
                .execute(&mut *tx)
                .await?;
            let one = apply(
                &mut tx,
                tenant,
                thresholds,
                &mut companies,
                std::slice::from_ref(e),
            )
            .await;
            match one {
                Ok(a) => {
                    sqlx::query("release savepoint onecode_event")
                        .execute(&mut *tx)
                        .await?;
                    applied.tally.add(a.tally);
                    applied.touched += a.touched;
                    applied.handled.extend(a.handled);
                    applied.ignored.extend(a.ignored);
                }
                Err(err) => {
                    sqlx::query("rollback to savepoint onecode_event")
                        .execute(&mut *tx)
                        .await?;
                    // Companies read inside the undone savepoint are read again.
                    companies = None;
                    report.failed += 1;
                    tracing::warn!(event = e.id, error = %err, "a OneCode event failed on its own");
                    sqlx::query!(
                        r#"update public.onecode_eventos
                           set attempts = attempts + 1, error = $2,
                               status = case when attempts + 1 >= $3 then 'failed' else status end,
                               retry_at = now() + make_interval(mins => power(2, least(attempts, 10))::int)
                           where id = $1 and status = 'pending'"#,
                        e.id,
                        err.to_string().chars().take(500).collect::<String>(),
                        MAX_ATTEMPTS
                    )
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
    }
    let Applied {
        tally,
        touched,
        handled,
        ignored,
    } = applied;
    report.contacts = tally;
    report.messages = touched;
    report.ignored = ignored.len();
    sqlx::query!(
        r#"update public.onecode_eventos
           set status = case when id = any($2) then 'ignored' else 'processed' end,
               processed_at = now(), attempts = attempts + 1, error = null, retry_at = null
           where tenant_integration_id = $1 and id = any($3)"#,
        tenant_integration_id,
        &ignored,
        &handled
            .iter()
            .chain(ignored.iter())
            .copied()
            .collect::<Vec<_>>()
    )
    .execute(&mut *tx)
    .await?;
    // A batch that changed nothing the history shows (only ignored events) writes no row.
    if tally.processed > 0 || touched > 0 || report.failed > 0 {
        let elapsed = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        sqlx::query!(
            r#"insert into public.integration_logs
                 (tenant_id, integration, provider_slug, status, trigger, attempt, started_at,
                  finished_at, execution_time_ms, progress, total_processados, total_matched,
                  total_review, total_ignored, total_created, total_updated, total_unchanged,
                  total_failed, payload, response)
               values ($1, 'onecode', 'onecode', $13, 'webhook', 1, now(), now(), $2, 100,
                       $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"#,
            tenant.to_string(),
            elapsed,
            tally.processed,
            tally.matched,
            tally.review,
            tally.ignored,
            tally.created,
            tally.updated,
            tally.unchanged,
            tally.failed + report.failed as i32,
            json!({"eventos": report.events, "origem": "webhook"}),
            json!({
                "contatos": tally,
                "mensagens": touched,
                "eventos_ignorados": report.ignored,
                "eventos_com_falha": report.failed,
            }),
            if tally.failed > 0 || report.failed > 0 {
                model::RunStatus::Partial
            } else {
                model::RunStatus::Success
            }
            .as_str(),
        )
        .execute(&mut *tx)
        .await?;
    }
    report.more = sqlx::query_scalar!(
        r#"select exists (select 1 from public.onecode_eventos
                          where tenant_integration_id = $1 and status = 'pending'
                            and (retry_at is null or retry_at <= now())
                            and not (id = any($2))) as "more!""#,
        tenant_integration_id,
        &events.iter().map(|e| e.id).collect::<Vec<_>>()
    )
    .fetch_one(&mut *tx)
    .await?;
    if report.more {
        enqueue(&mut tx, tenant_integration_id).await?;
    }
    tx.commit().await?;
    Ok(report)
}

/// Retention: processed and ignored events older than `days` (they hold people's
/// messages), in batches. Pending and failed events stay. Returns how many went.
pub async fn purge(pool: &PgPool, days: i32) -> Result<u64> {
    let mut total = 0;
    loop {
        let mut tx = crate::scope::begin_service(pool).await?;
        let gone = sqlx::query!(
            r#"delete from public.onecode_eventos where id in (
                 select id from public.onecode_eventos
                 where status in ('processed', 'ignored')
                   and received_at < now() - make_interval(days => $1)
                 limit 5000)"#,
            days
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        total += gone;
        if gone < 5000 {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_checked_and_keyed_by_what_the_provider_repeats() {
        assert!(parse(b"nope").is_err());
        assert!(parse(br#"{"data": 1}"#).is_err());
        assert!(parse(br#"{"data": {"object": "messages", "payload": {}}}"#).is_err());
        assert!(parse(br#"{"data": {"object": "messages", "action": "create"}}"#).is_err());
        let m = parse(br#"{"data": {"object": "messages", "action": "create", "payload": {"id": "ABC", "updatedAt": "x"}}}"#)
            .expect("event");
        assert_eq!(event_key(&m), "messages.create:ABC");
        let c = parse(br#"{"data": {"object": "contacts", "action": "update", "payload": {"id": 7, "updatedAt": "2026-05-18T12:31:07.000Z"}}}"#)
            .expect("event");
        assert!(event_key(&c).starts_with("contacts.update:"));
        let c2 = parse(br#"{"data": {"object": "contacts", "action": "update", "payload": {"id": 7, "updatedAt": "2026-05-18T12:31:07.000Z", "blocked": true}}}"#)
            .expect("event");
        assert_ne!(event_key(&c), event_key(&c2), "same second, other content");
        let q =
            parse(br#"{"data": {"object": "queues", "action": "update", "payload": {"x": 1}}}"#)
                .expect("event");
        let q2 = parse(br#"{"data":{"payload":{"x":1},"action":"update","object":"queues"}}"#)
            .expect("event");
        assert!(event_key(&q).starts_with("queues.update:"));
        let nul = parse(
            br#"{"data": {"object": "m", "action": "c", "payload": {"b": "a\u0000b", "c": "\\u0000"}}}"#,
        )
        .expect("a NUL is dropped, not refused");
        assert_eq!(nul.payload["b"], "ab");
        assert_eq!(nul.payload["c"], "\\u0000", "the text \\u0000 is not a NUL");
        assert_eq!(event_key(&q), event_key(&q2));
    }
}
