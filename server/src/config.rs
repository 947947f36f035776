//! Configuration from the environment (see README.md, "Environment variables").

use std::path::Path;

use anyhow::{Context, Result};

pub struct Config {
    pub database_url: String,
    pub jwt_secret: String,
    pub demo_seed: bool,
}

impl Config {
    pub fn from_env() -> Result<Self> {
        let database_url = std::env::var("DATABASE_URL").context(
            "DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/portal_contmax)",
        )?;
        let jwt_secret = match std::env::var("JWT_SECRET") {
            Ok(s) if s.len() >= 32 => s,
            Ok(_) => anyhow::bail!("JWT_SECRET must have at least 32 characters"),
            Err(_) => dev_secret(Path::new(".data/jwt_secret"))?,
        };
        let demo_seed = std::env::var("DEMO_SEED").is_ok_and(|v| v == "1" || v == "true");
        Ok(Self {
            database_url,
            jwt_secret,
            demo_seed,
        })
    }
}

/// A development secret, generated once and kept under `.data/` so sessions survive a
/// restart. Production sets JWT_SECRET (a Supabase project's JWT secret, to accept its
/// tokens too).
fn dev_secret(path: &Path) -> Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, &secret).with_context(|| format!("writing {}", path.display()))?;
    tracing::warn!(
        "JWT_SECRET not set: using a development secret kept in {}",
        path.display()
    );
    Ok(secret)
}
