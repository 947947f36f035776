//! What the connectors share, written once (DESIGN.md §5): CNPJ/CPF digits, payload
//! hashes, the per-integration rate limiter, HTTP calls with retries, checkpoints, and the
//! look-up of the tenant's companies by document.

pub mod documents;
pub mod empresas;
pub mod faults;
pub mod http;
pub mod limiter;
pub mod payload;
pub mod state;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Totals of one kind of record in a sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counts {
    pub processed: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    /// Left for a person: no document, no matching company.
    pub review: i32,
    /// A document that names more than one company (never guessed; also in review).
    pub ambiguous: i32,
    /// Skipped on purpose (payables, deliveries without a key).
    pub ignored: i32,
    /// Could not be read or written.
    pub failed: i32,
}

impl Counts {
    /// Tallies an upsert of `sent` rows that returned one `inserted` flag (`xmax = 0`) per
    /// row it wrote: rows equal to what was stored are not written, hence unchanged.
    pub fn tally_upsert(&mut self, sent: usize, inserted: impl ExactSizeIterator<Item = bool>) {
        let written = inserted.len() as i32;
        let created = inserted.filter(|i| *i).count() as i32;
        self.created += created;
        self.updated += written - created;
        self.unchanged += sent as i32 - written;
    }

    pub fn add(&mut self, o: Counts) {
        self.processed += o.processed;
        self.created += o.created;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.review += o.review;
        self.ambiguous += o.ambiguous;
        self.ignored += o.ignored;
        self.failed += o.failed;
    }
}

/// A scalar as text, whether the API sent it as a string or a number; blank is `None`
/// (Acessórias sends every scalar as a string, BomControle mixes them).
pub fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Now in Brasília time, to the second: both APIs keep local time without a zone (UTC−3,
/// no daylight saving since 2019).
pub fn brasilia_now() -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let t = (chrono::Utc::now() - chrono::Duration::hours(3)).naive_utc();
    t.with_nanosecond(0).unwrap_or(t)
}

/// An integer setting of the integration's `config`, or its default when absent or
/// not a number (the form validated it against the schema when it was saved).
pub fn config_int(config: &Value, key: &str, default: i64, min: i64, max: i64) -> i64 {
    config
        .get(key)
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.trim().parse().ok()))
        .unwrap_or(default)
        .clamp(min, max)
}

/// A boolean setting, or its default.
pub fn config_bool(config: &Value, key: &str, default: bool) -> bool {
    config.get(key).and_then(Value::as_bool).unwrap_or(default)
}

/// Progress of a run made of pages: `done` of `known` pages, in the band `[from, to]` of
/// the whole run (a connector with two phases gives each its band). When the total is not
/// known yet the bar creeps towards the end of the band without reaching it.
pub fn report_pages(progress: &super::Progress, done: u64, known: Option<u64>, from: i32, to: i32) {
    let span = f64::from(to - from);
    let value = match known {
        Some(k) if k > 0 => from + (span * (done as f64 / k as f64).min(1.0)).round() as i32,
        // Unknown total: never the end of the band before the pass says it is done.
        _ => (from + (span * done as f64 / (done as f64 + 5.0)).floor() as i32).min(to - 1),
    };
    progress.set(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_fall_back_to_their_defaults_and_stay_in_range() {
        let c = json!({"n": 7, "s": "12", "big": 100000, "b": false});
        assert_eq!(config_int(&c, "n", 1, 0, 10), 7);
        assert_eq!(config_int(&c, "s", 1, 0, 100), 12);
        assert_eq!(config_int(&c, "big", 1, 0, 6000), 6000);
        assert_eq!(config_int(&c, "missing", 3, 0, 10), 3);
        assert!(!config_bool(&c, "b", true));
        assert!(config_bool(&c, "missing", true));
    }

    #[test]
    fn progress_stays_inside_its_band() {
        let p = super::super::Progress::default();
        report_pages(&p, 5, Some(10), 0, 50);
        assert_eq!(p.get(), Some(25));
        report_pages(&p, 500, None, 50, 100);
        assert!(p.get().is_some_and(|v| (90..100).contains(&v)));
        report_pages(&p, 12, Some(10), 0, 50);
        assert_eq!(p.get(), Some(50));
    }
}
