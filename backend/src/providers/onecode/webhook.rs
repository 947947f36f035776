//! OneCode's webhook, after the HTTP layer authenticated a delivery: [`store`] keeps the
//! event (once per provider event, in the same transaction as the queue job that will
//! process it, so an event acknowledged with 2xx is never lost), and [`process_pending`]
//! handles a tenant integration's pending events in one batch: contacts created or updated
//! are matched like the sync does, messages move their contact's last-message time, and
//! anything else is kept as `ignored`. Each batch writes one log row with trigger
//! `webhook`. A batch that fails is retried event by event; an event that keeps failing is
//! set aside as `failed` after [`MAX_ATTEMPTS`]; the schedule's sweep re-queues what is
//! left. Processed events are purged after 30 days (they hold people's messages).

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
    pub enabled: bool,
}

/// By the token of its address (`/functions/v1/onecode-webhook/<token>`).
pub async fn by_token(pool: &PgPool, token: &str) -> Result<Option<Target>> {
    let mut tx = crate::scope::begin_service(pool).await?;
    let row = sqlx::query!(
        r#"select t.id, t.tenant_id, t.is_enabled, o.slug
           from public.tenant_integrations t
           join public.integration_providers p on p.id = t.provider_id
           join public.organizacoes o on o.id = t.tenant_id
           where t.webhook_token = $1 and p.slug = 'onecode'"#,
        token
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|r| Target {
        tenant_id: r.tenant_id,
        tenant_integration_id: r.id,
        tenant_slug: r.slug,
        enabled: r.is_enabled,
    }))
}

/// By the tenant's slug in `x-onecode-source` (the old single address).
pub async fn by_source(pool: &PgPool, tenant_slug: &str) -> Result<Option<Target>> {
    let mut tx = crate::scope::begin_service(pool).await?;
    let row = sqlx::query!(
        r#"select t.id, t.tenant_id, t.is_enabled, o.slug
           from public.tenant_integrations t
           join public.integration_providers p on p.id = t.provider_id
           join public.organizacoes o on o.id = t.tenant_id
           where o.slug = $1 and p.slug = 'onecode'"#,
        tenant_slug
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|r| Target {
        tenant_id: r.tenant_id,
        tenant_integration_id: r.id,
        tenant_slug: r.slug,
        enabled: r.is_enabled,
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
    // Postgres' jsonb refuses U+0000: such an event could never be stored (a 503 OneCode
    // would retry forever), so it is refused as malformed.
    if body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return Err("O evento contém um caractere nulo (\\u0000).");
    }
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
        payload,
    })
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

/// Tries an event that fails on its own gets; then it is `failed` (kept, with its error,
/// for an operator) and the events after it go on.
pub const MAX_ATTEMPTS: i32 = 5;

/// What one batch did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchReport {
    pub events: usize,
    pub contacts: sync::Tally,
    pub messages: usize,
    pub ignored: usize,
    /// Events left pending for the next batch.
    pub more: bool,
    /// Another worker is processing this integration's events (this one did nothing).
    pub busy: bool,
}

/// Handles the pending events of one tenant integration, oldest first: a batch of
/// [`BATCH`]; when it fails, event by event, so that one event that cannot be processed
/// is retried on its own and, after [`MAX_ATTEMPTS`], set aside as `failed` instead of
/// holding every later event back. Returns the batches' reports.
pub async fn process_pending(
    pool: &PgPool,
    tenant_integration_id: Uuid,
) -> Result<Vec<BatchReport>> {
    match process_batch(pool, tenant_integration_id, BATCH).await {
        Ok(r) => Ok(vec![r]),
        Err(e) => {
            tracing::warn!(tenant_integration = %tenant_integration_id, error = ?e, "a batch of OneCode events failed; trying them one by one");
            let mut reports = Vec::new();
            for _ in 0..BATCH {
                match process_batch(pool, tenant_integration_id, 1).await {
                    Ok(r) if r.events == 0 || r.busy => break,
                    Ok(r) => reports.push(r),
                    Err(e) => {
                        note_failure(pool, tenant_integration_id, &e.to_string()).await?;
                        return Err(e);
                    }
                }
            }
            Ok(reports)
        }
    }
}

/// Handles up to `limit` pending events of one tenant integration, oldest first, in one
/// transaction with the log row that reports them.
pub async fn process_batch(
    pool: &PgPool,
    tenant_integration_id: Uuid,
    limit: i64,
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
    // One batch at a time per integration, so that events are applied in the order they
    // were received.
    let mine = sqlx::query_scalar!(
        r#"select pg_try_advisory_xact_lock(hashtextextended('onecode-events:' || $1::text, 0)) as "got!""#,
        tenant_integration_id.to_string()
    )
    .fetch_one(&mut *tx)
    .await?;
    if !mine {
        return Ok(BatchReport {
            busy: true,
            ..BatchReport::default()
        });
    }
    let events = sqlx::query!(
        r#"select id, object, action, payload from public.onecode_eventos
           where tenant_integration_id = $1 and status = 'pending'
           order by id limit $2
           for update"#,
        tenant_integration_id,
        limit
    )
    .fetch_all(&mut *tx)
    .await?;
    if events.is_empty() {
        return Ok(BatchReport::default());
    }
    let mut report = BatchReport {
        events: events.len(),
        ..BatchReport::default()
    };
    // Contacts sent as such (created or updated) are matched as the sync does. A message
    // carries only part of its contact (no `blocked`, no `extraInfo`): it brings a contact
    // the portal does not know yet, never rewrites one it knows.
    let mut contacts: BTreeMap<i64, Value> = BTreeMap::new();
    let mut brought: BTreeMap<i64, Value> = BTreeMap::new();
    let mut messages: Vec<(i64, chrono::DateTime<chrono::Utc>)> = Vec::new();
    let mut handled: Vec<i64> = Vec::new();
    let mut ignored: Vec<i64> = Vec::new();
    let id_of = |v: &Value| {
        v.get("id")
            .and_then(|i| i.as_i64().or_else(|| i.as_str()?.trim().parse().ok()))
    };
    let now = chrono::Utc::now();
    for e in &events {
        match (e.object.as_str(), e.action.as_str()) {
            ("contacts", "create" | "update") if id_of(&e.payload).is_some() => {
                if let Some(id) = id_of(&e.payload) {
                    contacts.insert(id, e.payload.clone());
                }
                handled.push(e.id);
            }
            ("messages", "create" | "update") => {
                let contact = e.payload.get("contact").filter(|c| id_of(c).is_some());
                let contact_id = e
                    .payload
                    .get("contactId")
                    .and_then(|i| i.as_i64().or_else(|| i.as_str()?.trim().parse().ok()))
                    .or_else(|| contact.and_then(id_of));
                // A time in the future (a wrong clock) is not kept: it would stay the
                // "last message" for good.
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
                        handled.push(e.id);
                    }
                    _ => ignored.push(e.id),
                }
            }
            _ => ignored.push(e.id),
        }
    }
    let tenant = ti.tenant_id;
    let thresholds = Thresholds::from_config(&ti.config);
    let work = async {
        if !brought.is_empty() {
            let ids: Vec<i64> = brought.keys().copied().collect();
            let known = sqlx::query_scalar!(
                "select contact_id from public.onecode_contatos
                 where tenant_id = $1 and contact_id = any($2)",
                tenant,
                &ids
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(crate::providers::common::state::db_error)?;
            for (id, c) in brought {
                if !known.contains(&id) && !contacts.contains_key(&id) {
                    contacts.insert(id, c);
                }
            }
        }
        let list: Vec<Value> = contacts.into_values().collect();
        let tally = if list.is_empty() {
            sync::Tally::default()
        } else {
            let mut companies = sync::load_companies(pool, tenant).await?;
            sync::write_contacts(&mut tx, tenant, &list, &mut companies, thresholds).await?
        };
        let mut touched = 0;
        for (cid, at) in &messages {
            if sync::touch_last_message(&mut tx, tenant, *cid, *at).await? {
                touched += 1;
            }
        }
        Ok::<_, ProviderError>((tally, touched))
    };
    let (tally, touched) = work.await.map_err(|e| Error::Internal(e.to_string()))?;
    report.contacts = tally;
    report.messages = touched;
    report.ignored = ignored.len();
    sqlx::query!(
        r#"update public.onecode_eventos
           set status = case when id = any($2) then 'ignored' else 'processed' end,
               processed_at = now(), attempts = attempts + 1, error = null
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
    if tally.processed > 0 || touched > 0 {
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
            tally.failed,
            json!({"eventos": report.events, "origem": "webhook"}),
            json!({
                "contatos": tally,
                "mensagens": touched,
                "eventos_ignorados": report.ignored,
            }),
            if tally.failed > 0 {
                "partial"
            } else {
                "success"
            },
        )
        .execute(&mut *tx)
        .await?;
    }
    report.more = sqlx::query_scalar!(
        r#"select exists (select 1 from public.onecode_eventos
                          where tenant_integration_id = $1 and status = 'pending'
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

/// Records that the oldest pending event failed on its own: its attempts and error (only
/// the server reads `error`), and `failed` once it has had [`MAX_ATTEMPTS`].
pub async fn note_failure(pool: &PgPool, tenant_integration_id: Uuid, error: &str) -> Result<()> {
    let mut tx = crate::scope::begin_service(pool).await?;
    sqlx::query!(
        r#"update public.onecode_eventos
           set attempts = attempts + 1, error = $2,
               status = case when attempts + 1 >= $3 then 'failed' else status end
           where id = (select id from public.onecode_eventos
                       where tenant_integration_id = $1 and status = 'pending'
                       order by id limit 1)"#,
        tenant_integration_id,
        error.chars().take(500).collect::<String>(),
        MAX_ATTEMPTS
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
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
        assert!(
            parse(br#"{"data": {"object": "m", "action": "c", "payload": {"b": "\u0000"}}}"#)
                .is_err()
        );
        assert_eq!(event_key(&q), event_key(&q2));
    }
}
