//! OneCode's webhook, after the HTTP layer authenticated a delivery: [`store`] keeps the
//! event (once per provider event, in the same transaction as the queue job that will
//! process it, so an event acknowledged with 2xx is never lost), and [`process_pending`]
//! handles a tenant integration's pending events in one batch: contacts created or updated
//! are matched like the sync does, messages move their contact's last-message time, and
//! anything else is kept as `ignored`. Each batch writes one log row with trigger
//! `webhook`. A batch that fails leaves its events pending; the queue retries it, and the
//! schedule's sweep re-queues what is left.

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

/// What makes two deliveries the same event: a message's id (and its action); a record's
/// id and `updatedAt`; otherwise the hash of the whole event.
pub fn event_key(e: &Event) -> String {
    let id = e.payload.get("id").and_then(|v| match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let updated = e.payload.get("updatedAt").and_then(Value::as_str);
    match (e.object.as_str(), id, updated) {
        ("messages", Some(id), _) if e.action == "create" => format!("messages:{id}"),
        (object, Some(id), Some(at)) => format!("{object}.{}:{id}@{at}", e.action),
        _ => format!(
            "sha256:{}",
            payload::hash(&json!({"object": e.object, "action": e.action, "payload": e.payload}))
        ),
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

/// Re-queues the integrations whose events have waited longer than a job should take (a
/// job that failed for good, a server that died between two steps). Returns how many.
pub async fn sweep(pool: &PgPool) -> Result<usize> {
    let mut tx = crate::scope::begin_service(pool).await?;
    let ids = sqlx::query_scalar!(
        r#"select distinct tenant_integration_id as "id!" from public.onecode_eventos
           where status = 'pending' and received_at < now() - interval '1 minute'"#
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

/// What one batch did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchReport {
    pub events: usize,
    pub contacts: sync::Tally,
    pub messages: usize,
    pub ignored: usize,
    /// Events left pending for the next batch.
    pub more: bool,
}

/// Handles the pending events of one tenant integration, oldest first, in one
/// transaction with the log row that reports them.
pub async fn process_pending(pool: &PgPool, tenant_integration_id: Uuid) -> Result<BatchReport> {
    let started = std::time::Instant::now();
    let mut tx = crate::scope::begin_service(pool).await?;
    let Some(ti) = sqlx::query!(
        r#"select t.tenant_id, t.config from public.tenant_integrations t
           where t.id = $1"#,
        tenant_integration_id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(BatchReport::default());
    };
    // Another worker handling the same integration's batch skips these rows.
    let events = sqlx::query!(
        r#"select id, object, action, payload from public.onecode_eventos
           where tenant_integration_id = $1 and status = 'pending'
           order by id limit $2
           for update skip locked"#,
        tenant_integration_id,
        BATCH + 1
    )
    .fetch_all(&mut *tx)
    .await?;
    let more = events.len() as i64 > BATCH;
    let events = &events[..events.len().min(BATCH as usize)];
    if events.is_empty() {
        return Ok(BatchReport::default());
    }
    let mut report = BatchReport {
        events: events.len(),
        more,
        ..BatchReport::default()
    };
    let mut contacts: BTreeMap<i64, Value> = BTreeMap::new();
    let mut messages: Vec<(i64, chrono::DateTime<chrono::Utc>)> = Vec::new();
    let mut handled: Vec<i64> = Vec::new();
    let mut ignored: Vec<i64> = Vec::new();
    for e in events {
        let id_of = |v: &Value| {
            v.get("id")
                .and_then(|i| i.as_i64().or_else(|| i.as_str()?.parse().ok()))
        };
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
                    .and_then(Value::as_i64)
                    .or_else(|| contact.and_then(id_of));
                let at = e
                    .payload
                    .get("createdAt")
                    .and_then(Value::as_str)
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .map(|d| d.with_timezone(&chrono::Utc));
                match (contact_id, at) {
                    (Some(cid), Some(at)) => {
                        // A message from a contact the portal does not know yet brings it.
                        if let Some(c) = contact {
                            contacts.entry(cid).or_insert_with(|| c.clone());
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
        let mut companies = sync::load_companies(pool, tenant).await?;
        let list: Vec<Value> = contacts.into_values().collect();
        let tally =
            sync::write_contacts(&mut tx, tenant, &list, &mut companies, thresholds).await?;
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
    let elapsed = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    sqlx::query!(
        r#"insert into public.integration_logs
             (tenant_id, integration, provider_slug, status, trigger, attempt, started_at,
              finished_at, execution_time_ms, progress, total_processados, total_matched,
              total_review, total_ignored, total_created, total_updated, total_unchanged,
              total_failed, payload, response)
           values ($1, 'onecode', 'onecode', 'success', 'webhook', 1, now(), now(), $2, 100,
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
    )
    .execute(&mut *tx)
    .await?;
    if more {
        enqueue(&mut tx, tenant_integration_id).await?;
    }
    tx.commit().await?;
    Ok(report)
}

/// Records that a batch failed on its events (they stay pending, and the error is kept
/// for whoever looks), in a transaction of its own.
pub async fn note_failure(pool: &PgPool, tenant_integration_id: Uuid, error: &str) -> Result<()> {
    let mut tx = crate::scope::begin_service(pool).await?;
    sqlx::query!(
        r#"update public.onecode_eventos set attempts = attempts + 1, error = $2
           where tenant_integration_id = $1 and status = 'pending'"#,
        tenant_integration_id,
        error.chars().take(500).collect::<String>()
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
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
        assert_eq!(event_key(&m), "messages:ABC");
        let c = parse(br#"{"data": {"object": "contacts", "action": "update", "payload": {"id": 7, "updatedAt": "2026-05-18T12:31:07.000Z"}}}"#)
            .expect("event");
        assert_eq!(event_key(&c), "contacts.update:7@2026-05-18T12:31:07.000Z");
        let q =
            parse(br#"{"data": {"object": "queues", "action": "update", "payload": {"x": 1}}}"#)
                .expect("event");
        let q2 = parse(br#"{"data":{"payload":{"x":1},"action":"update","object":"queues"}}"#)
            .expect("event");
        assert!(event_key(&q).starts_with("sha256:"));
        assert_eq!(event_key(&q), event_key(&q2));
    }
}
