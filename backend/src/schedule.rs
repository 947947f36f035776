//! Schedules of tenant integrations (`tenant_integrations.schedule`): an interval such as
//! `15m`, `2h` or `1d` (at least 5 minutes), or a five-field cron expression in UTC
//! (`0 6 * * 1-5`). The queue's own cron runs [`tick`] every minute; it enqueues what is
//! due through the same [`crate::engine::start_run`] as every other entry point.
//!
//! A run that is still going when its time comes is not doubled (the claim answers
//! "already running" and the tick moves on), and after downtime a schedule that missed N
//! times runs once: `schedule_last_at` jumps to now, not by one period.

use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use sqlx::PgPool;

use crate::engine::start_run;
use crate::providers::Registry;
use crate::runs::Claim;
use crate::scope::begin_service;
use crate::{Error, Result};
use model::Trigger;

/// The shortest interval accepted.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone)]
pub enum Schedule {
    Every(Duration),
    Cron(Box<Cron>),
}

impl Schedule {
    /// Parses and validates; the error is pt-BR, for the configuration form.
    pub fn parse(raw: &str) -> std::result::Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("Informe um intervalo (ex.: 15m, 2h, 1d) ou uma expressão cron.".into());
        }
        if let Some(d) = parse_interval(s) {
            return if d < MIN_INTERVAL {
                Err("O intervalo mínimo é de 5 minutos.".into())
            } else {
                Ok(Schedule::Every(d))
            };
        }
        if s.split_whitespace().count() != 5 {
            return Err(
                "Use um intervalo (ex.: 15m, 2h, 1d) ou uma expressão cron de 5 campos (ex.: 0 6 * * 1-5)."
                    .into(),
            );
        }
        let mut cron = Cron::new(s);
        let cron = cron.parse().map_err(|_| "Expressão cron inválida.")?;
        if fires_closer_than(&cron, MIN_INTERVAL) {
            return Err(
                "Esta expressão cron executa mais de uma vez a cada 5 minutos; o intervalo mínimo é de 5 minutos."
                    .into(),
            );
        }
        Ok(Schedule::Cron(Box::new(cron)))
    }

    /// Whether a run is due at `now`, given when the scheduler last acted (`None`: never).
    pub fn is_due(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        match self {
            Schedule::Every(d) => match last {
                None => true,
                Some(l) => (now - l).to_std().is_ok_and(|since| since >= *d),
            },
            Schedule::Cron(c) => {
                // Never acted: due at the first occurrence from the previous minute on.
                let from = last.unwrap_or(now - chrono::Duration::minutes(1));
                c.find_next_occurrence(&from, false)
                    .is_ok_and(|next| next <= now)
            }
        }
    }
}

/// Whether two consecutive occurrences of `cron` come less than `min` apart, over its
/// next 400 from a fixed day (a cron at most every 5 minutes fires at most 288 times a
/// day, so 400 cover day and month boundaries, where such pairs hide: `58 23 31 * *` with
/// `0 0 1 * *` in one expression).
fn fires_closer_than(cron: &Cron, min: Duration) -> bool {
    let Some(mut at) = DateTime::from_timestamp(1_767_225_600, 0) else {
        return false;
    };
    let mut previous: Option<DateTime<Utc>> = None;
    for _ in 0..400 {
        let Ok(next) = cron.find_next_occurrence(&at, false) else {
            return false;
        };
        if let Some(p) = previous {
            if (next - p).to_std().is_ok_and(|gap| gap < min) {
                return true;
            }
        }
        previous = Some(next);
        at = next;
    }
    false
}

/// `15m`, `2h`, `1d` (also `15 min`, `2 h`).
fn parse_interval(s: &str) -> Option<Duration> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let unit = s[digits.len()..].trim();
    let secs = match unit {
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(secs).map(Duration::from_secs)
}

/// Validates and stores a schedule (`None` clears it), in the caller's transaction: RLS
/// lets only tenant admins update `tenant_integrations`. A changed schedule restarts its
/// clock (`schedule_last_at`, set by the table's guard trigger: clients cannot write it).
pub async fn set_schedule(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant_id: uuid::Uuid,
    provider_slug: &str,
    schedule: Option<&str>,
) -> Result<()> {
    let value = match schedule.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => {
            Schedule::parse(s).map_err(Error::Invalid)?;
            Some(s.to_owned())
        }
        None => None,
    };
    let n = sqlx::query!(
        r#"update public.tenant_integrations t
           set schedule = $3
           from public.integration_providers p
           where p.id = t.provider_id and t.tenant_id = $1 and p.slug = $2"#,
        tenant_id,
        provider_slug,
        value
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(Error::NotFound(
            "Integração não encontrada ou sem permissão para alterá-la.".into(),
        ));
    }
    Ok(())
}

/// What one tick did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    pub started: usize,
    pub already_running: usize,
    pub invalid: usize,
    /// Due schedules that could not be started (logged; the others went on).
    pub failed: usize,
    /// Due schedules of a provider without a connector on this server (not started).
    pub no_connector: usize,
}

/// Enqueues every due schedule once. Rows are locked (`skip locked`) so two workers'
/// ticks never start the same schedule twice.
pub async fn tick(pool: &PgPool, connectors: &Registry, now: DateTime<Utc>) -> Result<TickReport> {
    let mut report = TickReport::default();
    let mut tx = begin_service(pool).await?;
    // The runs this tick starts are audited as coming from the schedule.
    crate::audit::bind(
        &mut tx,
        &crate::audit::Actor::system(crate::audit::Source::Schedule),
    )
    .await?;
    let rows = sqlx::query!(
        r#"select t.id, t.tenant_id, p.slug, t.schedule as "schedule!", t.schedule_last_at
           from public.tenant_integrations t
           join public.integration_providers p on p.id = t.provider_id
           where t.is_enabled and t.schedule is not null
             -- Paused after consecutive failures (crate::alerts): not until resumed.
             and t.paused_at is null
           for update of t skip locked"#
    )
    .fetch_all(&mut *tx)
    .await?;
    for r in rows {
        let schedule = match Schedule::parse(&r.schedule) {
            Ok(s) => s,
            Err(_) => {
                tracing::warn!(tenant_integration = %r.id, "invalid schedule ignored");
                report.invalid += 1;
                continue;
            }
        };
        if !schedule.is_due(r.schedule_last_at, now) {
            continue;
        }
        // A catalog provider this server has no connector for is not run (its card says
        // why); its clock stays, so it runs once a connector is installed.
        if connectors.get(&r.slug).is_none() {
            report.no_connector += 1;
            continue;
        }
        // Each schedule in a savepoint of its own: one that cannot start is logged and
        // skipped, and never takes the others of the tick with it.
        sqlx::query("savepoint schedule_row")
            .execute(&mut *tx)
            .await?;
        match start_scheduled(&mut tx, r.id, r.tenant_id, &r.slug, now).await {
            Ok(claim) => {
                sqlx::query("release savepoint schedule_row")
                    .execute(&mut *tx)
                    .await?;
                match claim {
                    Claim::Started(_) => report.started += 1,
                    Claim::AlreadyRunning(_) => report.already_running += 1,
                }
            }
            Err(e) => {
                sqlx::query("rollback to savepoint schedule_row")
                    .execute(&mut *tx)
                    .await?;
                tracing::error!(tenant_integration = %r.id, error = %e, "scheduled run not started; skipped");
                report.failed += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

/// Starts one due schedule's run and moves its clock.
async fn start_scheduled(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    id: uuid::Uuid,
    tenant_id: uuid::Uuid,
    slug: &str,
    now: DateTime<Utc>,
) -> Result<Claim> {
    let claim = start_run(tx, tenant_id, slug, Trigger::Schedule).await?;
    sqlx::query!(
        "update public.tenant_integrations set schedule_last_at = $2 where id = $1",
        id,
        now
    )
    .execute(&mut **tx)
    .await?;
    Ok(claim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, h, m, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn intervals_parse_and_have_a_minimum() {
        assert!(
            matches!(Schedule::parse("15m"), Ok(Schedule::Every(d)) if d == Duration::from_secs(900))
        );
        assert!(
            matches!(Schedule::parse("2 h"), Ok(Schedule::Every(d)) if d == Duration::from_secs(7200))
        );
        assert!(
            matches!(Schedule::parse("1d"), Ok(Schedule::Every(d)) if d == Duration::from_secs(86_400))
        );
        assert_eq!(
            Schedule::parse("1m").err().as_deref(),
            Some("O intervalo mínimo é de 5 minutos.")
        );
        assert!(Schedule::parse("").is_err());
        assert!(Schedule::parse("15x").is_err());
        assert!(Schedule::parse("99999999999999999999m").is_err());
    }

    #[test]
    fn cron_expressions_are_validated() {
        assert!(matches!(
            Schedule::parse("0 6 * * 1-5"),
            Ok(Schedule::Cron(_))
        ));
        assert!(Schedule::parse("61 * * * *").is_err());
        // The same 5-minute minimum as intervals, wherever the close pair hides.
        assert!(matches!(
            Schedule::parse("*/5 * * * *"),
            Ok(Schedule::Cron(_))
        ));
        for too_often in [
            "* * * * *",
            "*/2 * * * *",
            "0,58 * * * *",
            "0,58 0,23 1,31 * *",
        ] {
            assert!(
                Schedule::parse(too_often).is_err_and(|e| e.contains("mínimo é de 5 minutos")),
                "{too_often}"
            );
        }
        assert!(Schedule::parse("* * *").is_err());
        assert!(
            Schedule::parse("0 0 6 * * 1-5").is_err(),
            "six fields are refused"
        );
    }

    #[test]
    fn an_interval_is_due_once_its_period_has_passed() {
        let s = Schedule::parse("15m").expect("valid");
        assert!(s.is_due(None, at(10, 0)));
        assert!(!s.is_due(Some(at(10, 0)), at(10, 14)));
        assert!(s.is_due(Some(at(10, 0)), at(10, 15)));
    }

    #[test]
    fn cron_is_due_at_its_minute_and_missed_runs_collapse_into_one() {
        let s = Schedule::parse("0 6 * * *").expect("valid");
        assert!(!s.is_due(Some(at(5, 0)), at(5, 59)));
        assert!(s.is_due(Some(at(5, 59)), at(6, 0)));
        // Down from 05:00 until 06:00 three days later: due (once: the tick then sets
        // schedule_last_at to now, so the next check is not due).
        let three_days_later = at(6, 0) + chrono::Duration::days(3);
        assert!(s.is_due(Some(at(5, 0)), three_days_later));
        assert!(!s.is_due(
            Some(three_days_later),
            three_days_later + chrono::Duration::minutes(1)
        ));
    }
}
