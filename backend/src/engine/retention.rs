//! The retention job: old ended log rows go.

use super::Engine;
use crate::Result;

impl Engine {
    /// Deletes ended log rows older than `retention_days`.
    pub async fn purge_old_logs(&self) -> Result<u64> {
        let n = sqlx::query!(
            r#"delete from public.integration_logs
               where status <> 'running' and created_at < now() - make_interval(days => $1)"#,
            self.config.retention_days
        )
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n)
    }
}
