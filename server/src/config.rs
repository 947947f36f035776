//! Configuration from the environment (see README.md, "Environment variables").

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use backend::engine::EngineConfig;

pub struct Config {
    pub database_url: String,
    pub jwt_secret: String,
    pub demo_seed: bool,
    pub role: Role,
    /// Whether the local HTTP test provider and its sandbox run (PORTAL_SANDBOX, default:
    /// on in demo mode).
    pub sandbox: bool,
    /// Jobs one worker runs at once (WORKER_CONCURRENCY, default 4).
    pub worker_concurrency: usize,
    pub engine: EngineConfig,
    /// The vault's keys (INTEGRATIONS_ENCRYPTION_KEY, or a development key under .data/).
    pub keyring: std::sync::Arc<backend::vault::Keyring>,
    /// Sign-in attempts a minute from one client address (LOGIN_ATTEMPTS_PER_ADDRESS,
    /// default 30): an office behind one address may need more.
    pub login_per_address: u32,
    /// Sign-in attempts a minute for one account (LOGIN_ATTEMPTS_PER_ACCOUNT, default 5).
    pub login_per_account: u32,
    /// Private destinations providers may reach all the same (ALLOWED_PRIVATE_HOSTS, default
    /// none): installed in the process's network policy by [`Config::from_env`].
    pub allowed_private_hosts: Vec<backend::net_guard::AllowedHost>,
    /// Runs a minute one user may start (RUNS_PER_USER_PER_MINUTE, default 10).
    pub runs_per_user: u32,
    /// Reverse proxies whose X-Forwarded-For is believed (TRUSTED_PROXIES, default none).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// What this process does: serve HTTP, run queue jobs, or both (`--role`, default `all`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Web,
    Worker,
    All,
}

impl Role {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "web" => Ok(Role::Web),
            "worker" => Ok(Role::Worker),
            "all" => Ok(Role::All),
            other => anyhow::bail!("unknown role {other:?}: use web, worker or all"),
        }
    }
    pub fn serves_http(self) -> bool {
        matches!(self, Role::Web | Role::All)
    }
    pub fn runs_jobs(self) -> bool {
        matches!(self, Role::Worker | Role::All)
    }
}

/// The role from `--role X` / `--role=X` in `args`, else PORTAL_ROLE, else `all`.
pub fn role_from(args: &[String]) -> Result<Role> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--role" {
            let v = it
                .next()
                .context("--role needs a value: web, worker or all")?;
            return Role::parse(v);
        }
        if let Some(v) = a.strip_prefix("--role=") {
            return Role::parse(v);
        }
    }
    match std::env::var("PORTAL_ROLE") {
        Ok(v) => Role::parse(&v),
        Err(_) => Ok(Role::All),
    }
}

fn env_num<T: std::str::FromStr>(name: &str) -> Result<Option<T>> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse::<T>()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{name} must be a number, got {v:?}")),
        Err(_) => Ok(None),
    }
}

/// The engine's tunables from the environment (README.md lists them).
pub fn engine_from_env() -> Result<EngineConfig> {
    let mut c = EngineConfig::default();
    if let Some(s) = env_num::<u64>("HEARTBEAT_SECS")? {
        c.heartbeat_every = Duration::from_secs(s.max(1));
    }
    if let Some(s) = env_num::<u64>("STALE_AFTER_SECS")? {
        c.stale_after = Duration::from_secs(s.max(2));
    }
    if let Some(s) = env_num::<u64>("REAP_EVERY_SECS")? {
        c.reap_every = Duration::from_secs(s.max(1));
    }
    if let Some(n) = env_num::<i32>("RUN_MAX_ATTEMPTS")? {
        c.max_attempts = n.clamp(1, 10);
    }
    if let Some(ms) = env_num::<u64>("RETRY_BACKOFF_MIN_MS")? {
        c.backoff_min = Duration::from_millis(ms);
    }
    if let Some(ms) = env_num::<u64>("RETRY_BACKOFF_MAX_MS")? {
        c.backoff_max = Duration::from_millis(ms);
    }
    if let Some(d) = env_num::<i32>("LOG_RETENTION_DAYS")? {
        anyhow::ensure!(d >= 1, "LOG_RETENTION_DAYS must be at least 1");
        c.retention_days = d;
    }
    // RUN_TIMEOUTS="acessorias=600,bomcontrole=300": seconds per provider.
    if let Ok(list) = std::env::var("RUN_TIMEOUTS") {
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (slug, secs) = item
                .split_once('=')
                .with_context(|| format!("RUN_TIMEOUTS: {item:?} is not slug=seconds"))?;
            let secs: u64 = secs
                .trim()
                .parse()
                .with_context(|| format!("RUN_TIMEOUTS: {item:?} is not slug=seconds"))?;
            c.timeouts
                .insert(slug.trim().to_owned(), Duration::from_secs(secs.max(1)));
        }
    }
    c.validate().map_err(anyhow::Error::msg)?;
    Ok(c)
}

/// ALLOWED_PRIVATE_HOSTS: comma-separated host names or IP addresses, each optionally with
/// `:port` (`erp.interno:8443,10.0.0.5,[fd00::5]:443`), that providers may reach although
/// they are (or resolve to) loopback, private or link-local addresses. Empty by default:
/// only public addresses (and, in demo mode, the sandboxes the process starts itself).
pub fn allowed_private_hosts_from_env() -> Result<Vec<backend::net_guard::AllowedHost>> {
    match std::env::var("ALLOWED_PRIVATE_HOSTS") {
        Ok(v) => backend::net_guard::parse_allowed(&v)
            .map_err(|e| anyhow::anyhow!("ALLOWED_PRIVATE_HOSTS: {e}")),
        Err(_) => Ok(Vec::new()),
    }
}

impl Config {
    /// The configuration, and ALLOWED_PRIVATE_HOSTS installed in the process's network
    /// policy ([`backend::net_guard::NetPolicy::process`]).
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
        let sandbox = match std::env::var("PORTAL_SANDBOX") {
            Ok(v) => v == "1" || v == "true",
            Err(_) => demo_seed,
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        if let Ok(v) = std::env::var("COOKIE_SECURE") {
            if backend::cookies::parse_flag(&v).is_none() {
                anyhow::bail!("COOKIE_SECURE must be 1 or 0 (true/false), not {v:?}");
            }
        }
        let allowed_private_hosts = allowed_private_hosts_from_env()?;
        for host in &allowed_private_hosts {
            backend::net_guard::NetPolicy::process().allow(host.clone());
        }
        if !allowed_private_hosts.is_empty() {
            tracing::info!(
                hosts = %backend::net_guard::NetPolicy::process().to_env_value(),
                "providers may reach these private destinations (ALLOWED_PRIVATE_HOSTS)"
            );
        }
        Ok(Self {
            database_url,
            jwt_secret,
            demo_seed,
            role: role_from(&args)?,
            sandbox,
            worker_concurrency: env_num::<usize>("WORKER_CONCURRENCY")?
                .unwrap_or(4)
                .clamp(1, 64),
            engine: engine_from_env()?,
            keyring: std::sync::Arc::new(keyring_from_env(demo_seed)?),
            login_per_address: env_num::<u32>("LOGIN_ATTEMPTS_PER_ADDRESS")?
                .unwrap_or(backend::auth::LOGIN_PER_ADDRESS)
                .clamp(1, 100_000),
            login_per_account: env_num::<u32>("LOGIN_ATTEMPTS_PER_ACCOUNT")?
                .unwrap_or(backend::auth::LOGIN_PER_ACCOUNT)
                .clamp(1, 100_000),
            allowed_private_hosts,
            runs_per_user: env_num::<u32>("RUNS_PER_USER_PER_MINUTE")?
                .unwrap_or(backend::auth::RUNS_PER_USER)
                .clamp(1, 100_000),
            trusted_proxies: match std::env::var("TRUSTED_PROXIES") {
                Ok(v) => backend::auth::parse_trusted_proxies(&v)
                    .map_err(|e| anyhow::anyhow!("TRUSTED_PROXIES: {e}"))?,
                Err(_) => Vec::new(),
            },
        })
    }
}

/// Where the development encryption key is kept when INTEGRATIONS_ENCRYPTION_KEY is unset.
pub const DEV_KEY_PATH: &str = ".data/integrations_encryption_key";

/// The vault's keys: INTEGRATIONS_ENCRYPTION_KEY (one or more base64 keys of 32 bytes,
/// comma-separated, the first encrypts). Without it, and only with `dev_key` (demo mode),
/// a development key generated once under `.data/` with mode 0600 (and a warning at every
/// start); otherwise an error that says how to make one — a production server must not
/// invent a key of its own (each process would have another, and a restart on a fresh
/// disk would lose every credential).
pub fn keyring_from_env(dev_key: bool) -> Result<backend::vault::Keyring> {
    use backend::vault::Keyring;
    match std::env::var("INTEGRATIONS_ENCRYPTION_KEY") {
        Ok(v) => Keyring::parse(&secrecy::SecretString::from(v))
            .map_err(|e| anyhow::anyhow!("INTEGRATIONS_ENCRYPTION_KEY: {e}")),
        Err(_) if !dev_key => anyhow::bail!(
            "INTEGRATIONS_ENCRYPTION_KEY is not set: generate one with `openssl rand -base64 32` \
             and give every server process the same value (only demo mode, DEMO_SEED=1, makes \
             a development key by itself)"
        ),
        Err(_) => {
            let path = Path::new(DEV_KEY_PATH);
            let key = match std::fs::read_to_string(path) {
                Ok(k) => secrecy::SecretString::from(k.trim().to_owned()),
                Err(_) => {
                    let key = Keyring::generate_key();
                    write_private(path, secrecy::ExposeSecret::expose_secret(&key))?;
                    key
                }
            };
            let keyring =
                Keyring::parse(&key).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            tracing::warn!(
                key_id = keyring.current_id(),
                "INTEGRATIONS_ENCRYPTION_KEY not set: credentials are encrypted with a development key kept in {} (set the variable in production)",
                path.display()
            );
            Ok(keyring)
        }
    }
}

/// Writes a file only its owner may read (0600), creating its folder.
fn write_private(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(content.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A development secret, generated once and kept under `.data/` so sessions survive a
/// restart. Production sets JWT_SECRET (a Supabase project's JWT secret, to accept its
/// tokens too).
fn dev_secret(path: &Path) -> Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            // Written 0644 by versions before 0600 was the rule: tightened now.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("restricting {}", path.display()))?;
            }
            return Ok(existing);
        }
        // Too short to be a secret: replaced.
        std::fs::remove_file(path).with_context(|| format!("replacing {}", path.display()))?;
    }
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    write_private(path, &secret)?;
    tracing::warn!(
        "JWT_SECRET not set: using a development secret kept in {}",
        path.display()
    );
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_development_jwt_secret_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("portal-secret-{}", uuid::Uuid::new_v4()));
        let path = dir.join("jwt_secret");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let first = dev_secret(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        // Kept across restarts; one written 0644 by an older version is tightened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(dev_secret(&path).unwrap(), first);
        assert_eq!(mode(&path), 0o600);
        // A file too short to be a secret is replaced, still 0600.
        std::fs::write(&path, "short").unwrap();
        let replaced = dev_secret(&path).unwrap();
        assert!(replaced.len() >= 32 && replaced != first);
        assert_eq!(mode(&path), 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
