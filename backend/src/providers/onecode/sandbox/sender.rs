//! OneCode's webhook, played by the sandbox: events about the sandbox's contacts, signed
//! as OneCode signs them (`X-Jupiter-Signature: sha256=<hex HMAC-SHA256 of the body>`,
//! [`signature::sign`]) and posted to an address, some at a time.
//!
//! Event `i` of a seed is always the same bytes (while the contacts are not renamed), so
//! sending a seed twice is a replay. Per twenty events: fifteen `messages.create` (each
//! with its own message id), two `contacts.update`, two `tickets.update` and one of an
//! object the connector does not know (`queues.update`).

use std::collections::BTreeMap;

use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};

use super::{format_moment, Sandbox};
use crate::providers::common::faults::mix;
use crate::providers::onecode::signature;

/// What to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    pub events: usize,
    pub seed: u64,
    /// Requests in flight at once (at least one).
    pub concurrency: usize,
    /// The index of the first event (the events are `first..first + events`).
    pub first: usize,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            events: 100,
            seed: 1,
            concurrency: 8,
            first: 0,
        }
    }
}

/// How the receiver answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SendReport {
    pub sent: usize,
    /// Answered 2xx.
    pub acknowledged: usize,
    /// Answered anything else.
    pub rejected: usize,
    /// No answer (connection refused, timeout...).
    pub errors: usize,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, usize>,
}

impl SendReport {
    pub fn all_acknowledged(&self) -> bool {
        self.acknowledged == self.sent
    }
}

/// The object and action of event `i`.
pub fn event_kind(i: usize) -> (&'static str, &'static str) {
    match i % 20 {
        3 | 13 => ("contacts", "update"),
        6 | 16 => ("tickets", "update"),
        19 => ("queues", "update"),
        _ => ("messages", "create"),
    }
}

/// The message id of event `i` of `seed` (unique per seed and index: `mix` is one-to-one
/// in the index for a seed, and the seed is written in front).
pub fn message_id(seed: u64, i: usize) -> String {
    format!("3EB0{seed:X}{:016X}", mix(seed ^ 0x3EB0, i as u64))
}

const BODIES: &[&str] = &[
    "Bom dia, segue o comprovante do DAS.",
    "Boa tarde! A guia do FGTS já foi paga.",
    "Vocês podem me enviar a nota fiscal de outubro?",
    "Obrigado!",
    "Qual o prazo para entregar os extratos?",
    "Segue em anexo o contrato social atualizado.",
    "Preciso de uma declaração de faturamento, por favor.",
    "O boleto dos honorários venceu ontem, pode reenviar?",
];

/// Event `i`'s moment: fixed per index (2026-05-18 12:00 UTC on, 41 s apart), so that a
/// replay carries the same bytes.
fn event_time(i: usize) -> String {
    let start = chrono::DateTime::from_timestamp(1_779_105_600, 0).unwrap_or_default();
    format_moment(start + chrono::Duration::seconds(41 * i as i64))
}

/// The ticket of contact `id`'s conversation.
fn ticket_id(contact_id: u64) -> u64 {
    66_000 + contact_id
}

/// Event `i` of `seed` about the contacts of `contacts`.
pub fn event(seed: u64, i: usize, contacts: &Sandbox) -> Value {
    let r = mix(seed ^ 0xE7, i as u64);
    let contact = if contacts.is_empty() {
        json!({"id": 0, "name": "", "number": "", "email": "", "profilePicUrl": null, "isGroup": false})
    } else {
        contacts.contact((r % contacts.len() as u64) as usize)
    };
    let contact_id = contact["id"].as_u64().unwrap_or_default();
    let at = event_time(i);
    let ticket_id = ticket_id(contact_id);
    let user = json!({"id": 12, "name": "Juliana Prado"});
    let short_contact = json!({
        "id": contact_id, "name": contact["name"], "number": contact["number"],
    });
    let (object, action) = event_kind(i);
    let payload = match object {
        "contacts" => {
            let mut c = contact.clone();
            c["updatedAt"] = json!(at);
            c
        }
        "tickets" => json!({
            "id": ticket_id,
            "status": if (r >> 8).is_multiple_of(2) { "closed" } else { "open" },
            "userId": 12, "contactId": contact_id, "whatsappId": 1, "queueId": 3,
            "isGroup": contact["isGroup"], "unreadMessages": 0,
            "lastMessage": BODIES[(r >> 16) as usize % BODIES.len()],
            "createdAt": event_time(i.saturating_sub(40)), "updatedAt": at,
            "contact": short_contact, "user": user,
            "queue": {"id": 3, "name": "Fiscal", "color": "#1565C0"},
        }),
        "queues" => json!({"id": 3, "name": "Fiscal", "color": "#1565C0", "updatedAt": at}),
        _ => {
            let body = BODIES[(r >> 16) as usize % BODIES.len()];
            json!({
                "id": message_id(seed, i),
                "body": body,
                "ack": 0, "read": false,
                // Every seventh is the firm's own answer.
                "fromMe": i % 7 == 5,
                "mediaType": "chat", "mediaUrl": null, "isDeleted": false, "quotedMsgId": null,
                "ticketId": ticket_id, "contactId": contact_id,
                "createdAt": at, "updatedAt": at,
                "contact": {
                    "id": contact_id, "name": contact["name"], "number": contact["number"],
                    "email": contact["email"], "profilePicUrl": contact["profilePicUrl"],
                    "isGroup": contact["isGroup"],
                },
                "ticket": {
                    "id": ticket_id, "status": "open", "userId": 12, "contactId": contact_id,
                    "whatsappId": 1, "queueId": 3, "isGroup": contact["isGroup"],
                    "unreadMessages": 1, "lastMessage": body,
                    "user": {"id": 12, "name": "Juliana Prado", "email": "juliana.prado@escritorio-exemplo.com.br"},
                    "contact": short_contact,
                },
            })
        }
    };
    json!({"data": {"object": object, "action": action, "payload": payload}})
}

/// The bytes of event `i` of `seed`, as they are posted and signed.
pub fn event_body(seed: u64, i: usize, contacts: &Sandbox) -> Vec<u8> {
    // Serialising a `Value` cannot fail (its keys are strings).
    serde_json::to_vec(&event(seed, i, contacts)).unwrap_or_default()
}

/// Posts events `opts.first..opts.first + opts.events` to `to`, each signed with `secret`
/// in `X-Jupiter-Signature`, `opts.concurrency` at a time.
pub async fn send_events(
    http: &reqwest::Client,
    to: &reqwest::Url,
    secret: &str,
    contacts: &Sandbox,
    opts: SendOptions,
) -> SendReport {
    let outcomes: Vec<Option<u16>> =
        futures::stream::iter(opts.first..opts.first.saturating_add(opts.events))
            .map(|i| {
                let body = event_body(opts.seed, i, contacts);
                let sig = signature::sign(secret.as_bytes(), &body);
                let request = http
                    .post(to.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header("X-Jupiter-Signature", sig)
                    .body(body);
                async move { request.send().await.ok().map(|r| r.status().as_u16()) }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
    let mut report = SendReport::default();
    for outcome in outcomes {
        report.sent += 1;
        match outcome {
            Some(status) => {
                *report.statuses.entry(status).or_insert(0) += 1;
                if (200..300).contains(&status) {
                    report.acknowledged += 1;
                } else {
                    report.rejected += 1;
                }
            }
            None => report.errors += 1,
        }
    }
    report
}

/// [`send_events`] to the address `to` (the portal's own webhook, usually on loopback: an
/// operator's choice, never a tenant's, so a plain client rather than the providers'
/// guarded one); `Err` when it is not a URL.
pub async fn send_events_to(
    to: &str,
    secret: &str,
    contacts: &Sandbox,
    opts: SendOptions,
) -> Result<SendReport, String> {
    let url = reqwest::Url::parse(to).map_err(|e| format!("endereço inválido ({to}): {e}"))?;
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cliente HTTP: {e}"))?;
    Ok(send_events(&http, &url, secret, contacts, opts).await)
}
