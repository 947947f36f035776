//! Passwords (argon2) and session tokens (HS256 JWTs with Supabase's claims).

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sqlx::PgPool;
use uuid::Uuid;

use crate::scope::{begin_as, begin_service, Claims};
use crate::{Error, Result};
use model::{SessionUser, TenantRef};

/// The audience and role of every user token, as in Supabase.
pub const AUDIENCE: &str = "authenticated";
/// How long a session lasts.
pub const SESSION_SECONDS: i64 = 8 * 60 * 60;

/// Signing and verification keys, built once from `JWT_SECRET`.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Signs the "known device" cookie (derived from the same secret, for another use).
    device_key: Vec<u8>,
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            device_key: [b"portal-known-device:".as_slice(), secret].concat(),
        }
    }

    fn device_mac(&self, user_id: Uuid) -> hmac::Hmac<sha2::Sha256> {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.device_key)
            .expect("HMAC takes a key of any length");
        mac.update(user_id.as_bytes());
        mac
    }

    /// The "known device" cookie's value for a browser `user_id` signed in from: their id
    /// and its signature. Such a browser is not held back by the delays strangers' wrong
    /// passwords put on the account ([`LoginLimiter`]).
    pub fn device_token(&self, user_id: Uuid) -> String {
        use hmac::Mac;
        let tag = self.device_mac(user_id).finalize().into_bytes();
        format!("{user_id}.{}", hex::encode(tag))
    }

    /// The user a "known device" cookie was given to, if its signature holds (compared
    /// in constant time).
    pub fn device_user(&self, token: &str) -> Option<Uuid> {
        use hmac::Mac;
        let (user, tag) = token.split_once('.')?;
        let user = Uuid::parse_str(user).ok()?;
        let tag = hex::decode(tag).ok()?;
        self.device_mac(user).verify_slice(&tag).ok()?;
        Some(user)
    }

    /// A session token for a user, valid for [`SESSION_SECONDS`], naming no portal
    /// session (as Supabase's do). Sign-ins use [`start_session`], whose tokens can be
    /// revoked one by one.
    pub fn issue(&self, user_id: Uuid, email: &str) -> Result<String> {
        self.issue_with(user_id, email, None)
    }

    fn issue_with(&self, user_id: Uuid, email: &str, sid: Option<Uuid>) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            role: AUDIENCE.to_owned(),
            aud: AUDIENCE.to_owned(),
            exp: now + SESSION_SECONDS,
            iat: now,
            email: email.to_owned(),
            sid,
            is_anonymous: false,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| Error::Internal("não foi possível emitir a sessão".into()))
    }

    /// Checks signature, algorithm (HS256 only: `alg: none` is refused), audience, expiry
    /// and role, and refuses Supabase's anonymous sign-ins. Whatever failed, the message
    /// is the same: it does not tell a forger which part to fix.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| Error::Unauthenticated(BAD_SESSION.into()))?;
        if data.claims.role != AUDIENCE || data.claims.is_anonymous {
            return Err(Error::Unauthenticated(BAD_SESSION.into()));
        }
        Ok(data.claims)
    }
}

/// What every refused token hears.
pub const BAD_SESSION: &str = "Sessão inválida ou expirada: entre novamente.";

/// Opens a portal session for a user who just signed in and returns its token.
pub async fn start_session(
    pool: &PgPool,
    keys: &JwtKeys,
    user_id: Uuid,
    email: &str,
    user_agent: Option<&str>,
) -> Result<String> {
    let user_agent = user_agent.map(|ua| ua.chars().take(300).collect::<String>());
    let mut tx = begin_service(pool).await?;
    let sid = sqlx::query_scalar!(
        r#"insert into public.portal_sessions (user_id, expires_at, user_agent)
           values ($1, now() + make_interval(secs => $2), $3)
           returning id"#,
        user_id,
        SESSION_SECONDS as f64,
        user_agent
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    keys.issue_with(user_id, email, Some(sid))
}

/// Whether a verified token may still act: its user exists and is active, its session
/// (if it names one) was not ended, and it is not older than a "sign out everywhere".
/// One look-up by primary key per request.
pub async fn ensure_live(pool: &PgPool, claims: &Claims) -> Result<()> {
    let mut tx = begin_service(pool).await?;
    let live = sqlx::query_scalar!(
        r#"select public.session_is_valid($1, $2, to_timestamp($3::float8)) as "live!""#,
        claims.sub,
        claims.sid,
        claims.iat as f64
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if live {
        Ok(())
    } else {
        Err(Error::Unauthenticated(BAD_SESSION.into()))
    }
}

/// Ends the session a token belongs to (signing out).
pub async fn end_session(pool: &PgPool, claims: &Claims) -> Result<()> {
    let Some(sid) = claims.sid else {
        return Ok(());
    };
    let mut tx = begin_service(pool).await?;
    sqlx::query!(
        r#"update public.portal_sessions set revoked_at = now()
           where id = $1 and user_id = $2 and revoked_at is null"#,
        sid,
        claims.sub
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of a user, and refuses any token of theirs issued before now
/// (Supabase's included): "Sair de todos os dispositivos".
pub async fn end_all_sessions(pool: &PgPool, user_id: Uuid) -> Result<()> {
    let mut tx = begin_service(pool).await?;
    sqlx::query!(
        r#"update public.portal_sessions set revoked_at = now()
           where user_id = $1 and revoked_at is null"#,
        user_id
    )
    .execute(&mut *tx)
    .await?;
    // To the second, as tokens' `iat`: a token issued in the same second is refused too.
    sqlx::query!(
        r#"insert into public.portal_user_revocations (user_id, revoked_before)
           values ($1, date_trunc('second', now()) + interval '1 second')
           on conflict (user_id) do update set revoked_before = excluded.revoked_before"#,
        user_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes sessions that ended more than a day ago (the daily retention job).
pub async fn purge_sessions(pool: &PgPool) -> Result<u64> {
    let mut tx = begin_service(pool).await?;
    let n = sqlx::query!(
        r#"delete from public.portal_sessions
           where expires_at < now() - interval '1 day'
              or revoked_at < now() - interval '1 day'"#
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n)
}

/// An argon2id hash in PHC format, as stored in `auth.users.encrypted_password`.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::Internal("senha não pôde ser processada".into()))
}

fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

const BAD_LOGIN: &str = "E-mail ou senha inválidos.";

/// Checks an e-mail and password against `auth.users`; returns the user's id.
pub async fn authenticate(pool: &PgPool, email: &str, password: &str) -> Result<Uuid> {
    let email = email.trim();
    if email.is_empty() || password.is_empty() {
        return Err(Error::Invalid("Informe e-mail e senha.".into()));
    }
    if email.len() > MAX_EMAIL_LEN || password.len() > MAX_PASSWORD_LEN || email.contains('\0') {
        return Err(Error::Unauthenticated(BAD_LOGIN.into()));
    }
    let mut tx = begin_service(pool).await?;
    let row = sqlx::query!(
        r#"select u.id, u.encrypted_password, coalesce(p.ativo, false) as "ativo!"
           from auth.users u
           left join public.profiles p on p.id = u.id
           where lower(u.email) = lower($1)"#,
        email
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    match row {
        Some(r)
            if r.encrypted_password
                .as_deref()
                .is_some_and(|h| verify_password(password, h)) =>
        {
            if r.ativo {
                Ok(r.id)
            } else {
                // Said only to whoever knows the password.
                Err(Error::Unauthenticated(
                    "Usuário desativado: fale com o administrador do portal.".into(),
                ))
            }
        }
        Some(_) => Err(Error::Unauthenticated(BAD_LOGIN.into())),
        None => {
            // Spend the same time as a real check, so the answer does not tell which
            // e-mails exist.
            let _ = hash_password(password);
            Err(Error::Unauthenticated(BAD_LOGIN.into()))
        }
    }
}

/// Whose sign-in attempts these are, for the limiter: the account the e-mail names,
/// matched exactly as [`authenticate`] matches it (so that spellings the database takes as
/// one address, `ADMİN@…` and `admin@…`, are one key), or the e-mail itself when it names
/// no account.
pub async fn attempt_key(pool: &PgPool, email: &str) -> Result<String> {
    let email = email.trim();
    // Nothing the database cannot hold is looked up (a NUL would be its error, a 500).
    if email.is_empty() || email.len() > MAX_EMAIL_LEN || email.contains('\0') {
        return Ok(format!(
            "email:{}",
            email.chars().take(MAX_EMAIL_LEN).collect::<String>()
        ));
    }
    let mut tx = begin_service(pool).await?;
    let id = sqlx::query_scalar!(
        "select u.id from auth.users u where lower(u.email) = lower($1)",
        email
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(match id {
        Some(id) => format!("user:{id}"),
        None => format!("email:{}", email.to_lowercase()),
    })
}

/// The signed-in user, their tenants, and the one the portal shows now (`preferred` when the
/// user belongs to it, else the first). Read as the user, under row-level security.
pub async fn session_user(
    pool: &PgPool,
    claims: &Claims,
    preferred: Option<&str>,
) -> Result<SessionUser> {
    let mut tx = begin_as(pool, claims).await?;
    let user = session_user_in(&mut tx, claims, preferred).await?;
    tx.commit().await?;
    Ok(user)
}

/// A caller, their session, and a transaction scoped to them.
pub type Scoped = (
    Claims,
    SessionUser,
    sqlx::Transaction<'static, sqlx::Postgres>,
);

/// The caller of a request and their session, in one transaction scoped to them that goes
/// on for the request's own statements: the token's signature (no database), then in the
/// transaction the session still open (what [`ensure_live`] asks, here through
/// `caller_session_ok()` under the caller's own claims), the profile and the tenants. One
/// BEGIN and COMMIT per server function instead of three.
pub async fn scoped_session(
    pool: &PgPool,
    keys: &JwtKeys,
    headers: &http::HeaderMap,
    preferred: Option<&str>,
) -> Result<Scoped> {
    let claims = token_claims(keys, headers)?;
    let mut tx = begin_as(pool, &claims).await?;
    let user = session_user_in(&mut tx, &claims, preferred).await?;
    Ok((claims, user, tx))
}

/// One request's session, read once. A page's server rendering calls a server function
/// per panel (the header's, the list's, the metrics'…), each of which read the session
/// again: the profile, the tenants and the session check, the same answers a few
/// milliseconds apart. The first to ask reads it (in its own transaction, as
/// [`scoped_session`]); the others wait for that answer and open only their own
/// transaction scoped to the caller. Row-level security still checks the session in every
/// statement (`caller_session_ok()` in every policy), so a session ended meanwhile reads
/// nothing. Provided per request (a new one each time), never shared between requests.
///
/// A page's gate reads it before rendering ([`RequestSession::check`]): the transaction
/// that read it stays open for the first panel that asks, so the page's first statements
/// are its panels' own.
#[derive(Clone, Default)]
pub struct RequestSession {
    session: std::sync::Arc<tokio::sync::OnceCell<(Claims, SessionUser)>>,
    spare: std::sync::Arc<std::sync::Mutex<Option<sqlx::Transaction<'static, sqlx::Postgres>>>>,
}

impl RequestSession {
    /// [`scoped_session`], read once per request.
    pub async fn scoped(
        &self,
        pool: &PgPool,
        keys: &JwtKeys,
        headers: &http::HeaderMap,
        preferred: Option<&str>,
    ) -> Result<Scoped> {
        let (claims, user, first) = self.read(pool, keys, headers, preferred).await?;
        let tx = match first.or_else(|| self.take_spare()) {
            Some(tx) => tx,
            None => begin_as(pool, &claims).await?,
        };
        Ok((claims, user, tx))
    }

    /// The session, read now if no one has yet (a page's gate, before rendering; the
    /// header's `get-session`), with no transaction for the caller: the one that read it
    /// stays for the first panel ([`begin`](Self::begin), [`scoped`](Self::scoped)). An
    /// error when there is no open session.
    pub async fn check(
        &self,
        pool: &PgPool,
        keys: &JwtKeys,
        headers: &http::HeaderMap,
        preferred: Option<&str>,
    ) -> Result<SessionUser> {
        let (_, user, first) = self.read(pool, keys, headers, preferred).await?;
        if let (Some(tx), Ok(mut spare)) = (first, self.spare.lock()) {
            spare.get_or_insert(tx);
        }
        Ok(user)
    }

    /// The session with the token's claims, for a function with work of its own before
    /// its statements (`ssr::caller_session`): a transaction that read it now ends at once
    /// (dropped: rolled back as its connection goes back to the pool). Kept, it would stay
    /// open and idle through that work: a connection test's call to the provider holds
    /// the function up to 20 s. The function then opens its own ([`begin`](Self::begin)).
    pub async fn session(
        &self,
        pool: &PgPool,
        keys: &JwtKeys,
        headers: &http::HeaderMap,
        preferred: Option<&str>,
    ) -> Result<(Claims, SessionUser)> {
        let (claims, user, _) = self.read(pool, keys, headers, preferred).await?;
        Ok((claims, user))
    }

    /// The session, read once per request: the transaction that read it, when this call
    /// is the one that did.
    async fn read(
        &self,
        pool: &PgPool,
        keys: &JwtKeys,
        headers: &http::HeaderMap,
        preferred: Option<&str>,
    ) -> Result<(
        Claims,
        SessionUser,
        Option<sqlx::Transaction<'static, sqlx::Postgres>>,
    )> {
        let mut first = None;
        let slot = &mut first;
        let (claims, user) = self
            .session
            .get_or_try_init(|| async move {
                let (claims, user, tx) = scoped_session(pool, keys, headers, preferred).await?;
                *slot = Some(tx);
                Ok::<_, Error>((claims, user))
            })
            .await?
            .clone();
        Ok((claims, user, first))
    }

    /// A transaction scoped to `claims`: the one that read this request's session if no
    /// panel took it yet and it was read for these claims, or a new one ([`begin_as`]).
    pub async fn begin(
        &self,
        pool: &PgPool,
        claims: &Claims,
    ) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let same_caller = self.session.get().is_some_and(|(read, _)| read == claims);
        match self.take_spare().filter(|_| same_caller) {
            Some(tx) => Ok(tx),
            None => begin_as(pool, claims).await,
        }
    }

    fn take_spare(&self) -> Option<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.spare.lock().ok().and_then(|mut spare| spare.take())
    }
}

/// [`session_user`] in the caller's transaction (scoped to `claims`). Refuses a session
/// that is no longer open, as [`ensure_live`] does.
pub async fn session_user_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    claims: &Claims,
    preferred: Option<&str>,
) -> Result<SessionUser> {
    let profile = sqlx::query!(
        r#"select p.nome, p.email, public.is_global_admin() as "is_global_admin!",
                  public.caller_session_ok() as "live!"
           -- An init plan: the row by its key, not every profile through the policy.
           from public.profiles p where p.id = (select auth.uid())"#
    )
    .fetch_optional(&mut **tx)
    .await?
    .filter(|p| p.live)
    .ok_or_else(|| Error::Unauthenticated(BAD_SESSION.into()))?;
    // The tenants the user belongs to, found by their memberships' index. A global admin
    // may act in every organization (a portal has hundreds: the header searches them,
    // `crate::tenants::search`), so of the others only two are listed, each found by an
    // index or one short scan, and only for a global admin (an init plan decides once):
    // the one chosen in the header, and the first by name (the default). Sending every
    // organization with each page made a platform administrator's pages 100 KB at 500.
    let tenants = sqlx::query_as!(
        TenantRef,
        r#"select o.id as "id!", o.nome as "nome!", o.slug as "slug!", ut.role as "role!"
           from public.user_tenants ut
           join public.organizacoes o on o.id = ut.tenant_id
           where ut.user_id = (select auth.uid())
           union
           (select o.id, o.nome, o.slug, 'admin'
            from public.organizacoes o
            where (select public.is_global_admin()) and o.slug = $1
              and not exists (select 1 from public.user_tenants ut
                              where ut.user_id = (select auth.uid()) and ut.tenant_id = o.id))
           union
           (select o.id, o.nome, o.slug, 'admin'
            from public.organizacoes o
            where (select public.is_global_admin())
              and not exists (select 1 from public.user_tenants ut
                              where ut.user_id = (select auth.uid()) and ut.tenant_id = o.id)
            order by o.nome, o.slug
            limit 1)
           -- By name, then slug (unique): the first is the default tenant.
           order by 2, 3"#,
        preferred
    )
    .fetch_all(&mut **tx)
    .await?;
    let current_tenant = preferred
        .and_then(|slug| tenants.iter().find(|t| t.slug == slug))
        .or_else(|| tenants.first())
        .cloned();
    Ok(SessionUser {
        id: claims.sub,
        nome: profile.nome,
        email: profile.email,
        is_global_admin: profile.is_global_admin,
        tenants,
        current_tenant,
    })
}

/// Sign-in attempts, counted two ways (governor's GCRA: a burst, then one more every few
/// seconds), in memory per server process:
/// - per account *and* client address: password guessing from one place stops after a few
///   tries, and a stranger hammering someone's account locks out only themselves (there is
///   deliberately no per-account limit across addresses: that is the lever a stranger
///   would use to lock the owner out);
/// - per client address: one place cannot try many accounts.
///
/// IPv6 clients are counted per /64 (one customer's whole network), IPv4 per address. An
/// attempt refused by the address limit spends nothing from the account's.
///
/// On top of the quotas, failed passwords make the account wait *from that address* for
/// longer and longer: after [`FREE_FAILURES`] in a row, 30 s, then 1, 2, 4, 8 and at most
/// 15 minutes between tries ([`failure_delay`]). A success, or a quiet quarter of an hour
/// after the delay, starts the count again.
pub struct LoginLimiter {
    by_account_address: governor::DefaultKeyedRateLimiter<(String, String)>,
    by_address: governor::DefaultKeyedRateLimiter<String>,
    failures: std::sync::Mutex<std::collections::HashMap<(String, String), Failures>>,
    checks: std::sync::atomic::AtomicU64,
}

fn too_many_sign_ins() -> Error {
    Error::TooManyRequests(
        "Muitas tentativas de login. Aguarde um minuto e tente novamente.".into(),
    )
}

/// Failed passwords in a row for one account from one address.
#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: std::time::Instant,
}

/// Failed passwords in a row (per account and address) before each try must wait.
pub const FREE_FAILURES: u32 = 5;
const LONGEST_DELAY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// How long the next try waits after `count` failures in a row: nothing up to
/// [`FREE_FAILURES`], then 30 s doubling up to 15 minutes.
pub fn failure_delay(count: u32) -> std::time::Duration {
    match count.checked_sub(FREE_FAILURES) {
        None => std::time::Duration::ZERO,
        Some(extra) => std::time::Duration::from_secs(30u64 << extra.min(5)).min(LONGEST_DELAY),
    }
}

/// Sign-in attempts a minute per account from one address, unless configured otherwise.
pub const LOGIN_PER_ACCOUNT: u32 = 5;
/// Sign-in attempts a minute per client address, unless configured otherwise.
pub const LOGIN_PER_ADDRESS: u32 = 30;
/// Longest e-mail address (RFC 5321) and password accepted at sign-in.
pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_PASSWORD_LEN: usize = 1024;
/// Keys kept before the limiters forget the ones back to a fresh state (looked at every
/// [`PRUNE_EVERY`] checks, not on each).
const LIMITER_PRUNE_AT: usize = 10_000;
const PRUNE_EVERY: u64 = 1_000;

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS)
    }
}

/// The key a client address is counted under: an IPv6 address's /64, anything else as is.
pub fn address_key(address: &str) -> String {
    match address
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_canonical())
    {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(ip) => ip.to_string(),
        Err(_) => address.chars().take(64).collect(),
    }
}

impl LoginLimiter {
    /// `per_account` attempts a minute per account from one address, `per_address` per
    /// client address.
    pub fn new(per_account: u32, per_address: u32) -> Self {
        use governor::{Quota, RateLimiter};
        use std::num::NonZeroU32;
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Self {
            by_account_address: RateLimiter::keyed(per_minute(per_account)),
            by_address: RateLimiter::keyed(per_minute(per_address)),
            failures: Default::default(),
            checks: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn key(email: &str, address: &str) -> (String, String) {
        let account: String = email
            .trim()
            .chars()
            .take(MAX_EMAIL_LEN)
            .flat_map(char::to_lowercase)
            .collect();
        (account, address_key(address))
    }

    /// Counts one attempt; refuses it when the address, or the account from this address,
    /// is over its quota or still waiting after failed passwords.
    pub fn check(&self, email: &str, address: &str) -> Result<()> {
        self.check_at(email, address, std::time::Instant::now())
    }

    /// [`Self::check`] at a given time (the failure delays; the quotas use the clock).
    pub fn check_at(&self, email: &str, address: &str, now: std::time::Instant) -> Result<()> {
        self.check_address(address)?;
        self.check_account_at(email, address, false, now)
    }

    /// The client address's quota (first, before anything is looked up).
    pub fn check_address(&self, address: &str) -> Result<()> {
        if self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .is_multiple_of(PRUNE_EVERY)
        {
            self.prune();
        }
        if self.by_address.check_key(&address_key(address)).is_err() {
            return Err(too_many_sign_ins());
        }
        Ok(())
    }

    /// The account's quota and failure delay from this address (`account`: an
    /// [`attempt_key`]). A browser the account signed in from before (`known_device`) is
    /// held by neither: strangers behind the same address cannot keep its owner out.
    pub fn check_account(&self, account: &str, address: &str, known_device: bool) -> Result<()> {
        self.check_account_at(account, address, known_device, std::time::Instant::now())
    }

    fn check_account_at(
        &self,
        account: &str,
        address: &str,
        known_device: bool,
        now: std::time::Instant,
    ) -> Result<()> {
        if known_device {
            return Ok(());
        }
        let key = Self::key(account, address);
        if let Some(wait) = self.waiting(&key, now) {
            let minutes = wait.as_secs().div_ceil(60).max(1);
            return Err(Error::TooManyRequests(format!(
                "Muitas tentativas de login com senha errada. Tente novamente em {minutes} min."
            )));
        }
        if self.by_account_address.check_key(&key).is_err() {
            return Err(too_many_sign_ins());
        }
        Ok(())
    }

    /// How long this account must still wait from this address, if at all.
    fn waiting(
        &self,
        key: &(String, String),
        now: std::time::Instant,
    ) -> Option<std::time::Duration> {
        let failures = self.failures.lock().ok()?;
        let f = failures.get(key)?;
        let free_at = f.last + failure_delay(f.count);
        (now < free_at).then(|| free_at - now)
    }

    /// A wrong password for this account from this address: the next try waits longer.
    pub fn failed(&self, email: &str, address: &str) {
        self.failed_at(email, address, std::time::Instant::now());
    }

    pub fn failed_at(&self, email: &str, address: &str, now: std::time::Instant) {
        let key = Self::key(email, address);
        if let Ok(mut failures) = self.failures.lock() {
            let f = failures.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            // A quiet quarter of an hour after the delay forgives the earlier failures.
            if now.saturating_duration_since(f.last) > failure_delay(f.count) + LONGEST_DELAY {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
    }

    /// Signed in: the account's failures from this address are forgotten.
    pub fn succeeded(&self, email: &str, address: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&Self::key(email, address));
        }
    }

    /// Keys back to a fresh state are dropped once there are many: memory stays bounded
    /// by the attempts of the last minute, not by every e-mail ever typed.
    fn prune(&self) {
        if self.by_account_address.len() > LIMITER_PRUNE_AT {
            self.by_account_address.retain_recent();
            self.by_account_address.shrink_to_fit();
        }
        if self.by_address.len() > LIMITER_PRUNE_AT {
            self.by_address.retain_recent();
            self.by_address.shrink_to_fit();
        }
        if let Ok(mut failures) = self.failures.lock() {
            if failures.len() > LIMITER_PRUNE_AT {
                let now = std::time::Instant::now();
                failures.retain(|_, f| {
                    now.saturating_duration_since(f.last) <= failure_delay(f.count) + LONGEST_DELAY
                });
                failures.shrink_to_fit();
            }
        }
    }

    /// Keys held now (for the memory test).
    pub fn keys_held(&self) -> usize {
        self.by_account_address.len()
            + self.by_address.len()
            + self.failures.lock().map(|f| f.len()).unwrap_or(0)
    }
}

/// The client's address for rate limits: the connection's peer, unless the peer is one of
/// the operator's `TRUSTED_PROXIES`; then the nearest `X-Forwarded-For` hop that is not a
/// trusted proxy, read from the right (hops further left were written by the client and
/// can say anything). Hops may carry a port (`1.2.3.4:5678`, `[::1]:80`); one that is not
/// an address at all is taken as the client's own words and counted as such.
pub fn client_address(
    peer: std::net::IpAddr,
    headers: &http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> String {
    let is_trusted = |ip: &std::net::IpAddr| {
        let ip = ip.to_canonical();
        trusted.iter().any(|n| n.contains(&ip))
    };
    if !is_trusted(&peer) {
        return peer.to_canonical().to_string();
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if is_trusted(&ip) => continue,
            Some(ip) => return ip.to_canonical().to_string(),
            None => return hop.chars().take(64).collect(),
        }
    }
    peer.to_canonical().to_string()
}

fn parse_hop(hop: &str) -> Option<std::net::IpAddr> {
    hop.parse::<std::net::IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
}

/// Parses `TRUSTED_PROXIES`: comma-separated addresses or networks (`10.0.0.1,10.1.0.0/16`).
pub fn parse_trusted_proxies(value: &str) -> std::result::Result<Vec<ipnet::IpNet>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("não é um endereço nem uma rede: {p}"))
        })
        .collect()
}

/// Runs a user may start a minute (*Executar* and the API together): a burst of
/// [`RUNS_PER_USER`], then one more every 6 s. Each run costs a provider's quota and a worker, so one user's script
/// cannot take them all.
pub struct RunLimiter(governor::DefaultKeyedRateLimiter<Uuid>);

/// Runs a minute per user, unless configured otherwise (RUNS_PER_USER_PER_MINUTE).
pub const RUNS_PER_USER: u32 = 10;

impl Default for RunLimiter {
    fn default() -> Self {
        Self::new(RUNS_PER_USER)
    }
}

impl RunLimiter {
    pub fn new(per_minute: u32) -> Self {
        use governor::{Quota, RateLimiter};
        use std::num::NonZeroU32;
        Self(RateLimiter::keyed(Quota::per_minute(
            NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
        )))
    }

    pub fn check(&self, user: Uuid) -> Result<()> {
        if self.0.len() > LIMITER_PRUNE_AT {
            self.0.retain_recent();
        }
        self.0.check_key(&user).map_err(|_| {
            Error::TooManyRequests(
                "Muitas execuções iniciadas em pouco tempo. Aguarde um minuto e tente novamente."
                    .into(),
            )
        })
    }
}

/// The caller's claims, from `Authorization: Bearer` (API clients) or the session cookie
/// (the browser), checked against the database: a token of a signed-out session, of a
/// deactivated or deleted user is refused like a forged one. No token at all is a 401 too.
pub async fn caller(pool: &PgPool, keys: &JwtKeys, headers: &http::HeaderMap) -> Result<Claims> {
    let claims = token_claims(keys, headers)?;
    ensure_live(pool, &claims).await?;
    Ok(claims)
}

/// The claims of the request's token, checked by signature only (no database).
pub fn token_claims(keys: &JwtKeys, headers: &http::HeaderMap) -> Result<Claims> {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    let token = bearer
        .map(str::to_owned)
        .or_else(|| crate::cookies::read(headers, crate::cookies::SESSION));
    match token {
        Some(token) => keys.verify(token.trim()),
        None => Err(Error::Unauthenticated("Entre para continuar.".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_comes_from_a_bearer_header_or_the_session_cookie() {
        let keys = JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let id = Uuid::new_v4();
        let token = keys.issue(id, "a@b.c").unwrap();
        let mut h = http::HeaderMap::new();
        assert!(matches!(
            token_claims(&keys, &h),
            Err(Error::Unauthenticated(_))
        ));
        h.insert(
            http::header::COOKIE,
            format!("x=1; {}={token}", crate::cookies::SESSION)
                .parse()
                .unwrap(),
        );
        assert_eq!(token_claims(&keys, &h).unwrap().sub, id);
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        assert_eq!(token_claims(&keys, &h).unwrap().sub, id);
        h.insert(
            http::header::AUTHORIZATION,
            "Bearer garbage".parse().unwrap(),
        );
        assert!(token_claims(&keys, &h).is_err());
    }

    #[test]
    fn the_login_limiter_stops_a_burst_on_one_account_but_not_others() {
        let limiter = LoginLimiter::default();
        for _ in 0..5 {
            assert!(limiter.check("a@b.c", "1.2.3.4").is_ok());
        }
        let err = limiter.check("A@B.C", "1.2.3.4").unwrap_err();
        assert!(matches!(err, Error::TooManyRequests(_)));
        assert!(limiter.check("other@b.c", "1.2.3.4").is_ok());
    }

    #[test]
    fn a_stranger_hammering_an_account_does_not_lock_its_owner_out() {
        let limiter = LoginLimiter::default();
        for _ in 0..20 {
            let _ = limiter.check("victim@b.c", "6.6.6.6");
        }
        assert!(limiter.check("victim@b.c", "6.6.6.6").is_err());
        assert!(
            limiter.check("victim@b.c", "10.1.1.1").is_ok(),
            "the owner, from their own address"
        );
        // Nor from many addresses: no limit across addresses to exhaust.
        for i in 0..200 {
            let _ = limiter.check("victim@b.c", &format!("7.7.{i}.1"));
        }
        assert!(limiter.check("victim@b.c", "10.1.1.2").is_ok());
    }

    #[test]
    fn failed_passwords_make_the_next_try_wait_longer_and_longer_from_that_address_only() {
        // Quotas out of the way: only the delays are looked at.
        let limiter = LoginLimiter::new(1000, 1000);
        let t0 = std::time::Instant::now();
        let mut now = t0;
        for _ in 0..FREE_FAILURES {
            assert!(limiter.check_at("ana@b.c", "6.6.6.6", now).is_ok());
            limiter.failed_at("ana@b.c", "6.6.6.6", now);
        }
        // Then 30 s, 60 s, 120 s…
        for wait in [30, 60, 120, 240] {
            let soon = now + std::time::Duration::from_secs(wait - 1);
            assert!(
                limiter.check_at("Ana@B.c ", "6.6.6.6", soon).is_err(),
                "waits {wait} s"
            );
            assert!(
                limiter.check_at("ana@b.c", "10.1.1.1", soon).is_ok(),
                "the owner, from their own address, does not wait"
            );
            now += std::time::Duration::from_secs(wait);
            assert!(limiter.check_at("ana@b.c", "6.6.6.6", now).is_ok());
            limiter.failed_at("ana@b.c", "6.6.6.6", now);
        }
        assert_eq!(failure_delay(FREE_FAILURES + 30), LONGEST_DELAY, "bounded");
        // A success forgets the failures.
        limiter.succeeded("ana@b.c", "6.6.6.6");
        assert!(limiter.check_at("ana@b.c", "6.6.6.6", now).is_ok());
        // And a long quiet time after the delay starts the count again.
        for _ in 0..FREE_FAILURES + 1 {
            limiter.failed_at("bia@b.c", "6.6.6.6", t0);
        }
        let later = t0 + std::time::Duration::from_secs(3600);
        limiter.failed_at("bia@b.c", "6.6.6.6", later);
        assert!(limiter.check_at("bia@b.c", "6.6.6.6", later).is_ok());
    }

    #[test]
    fn a_known_device_is_not_held_back_by_strangers_failures() {
        let limiter = LoginLimiter::new(1000, 1000);
        for _ in 0..10 {
            limiter.failed("user:1", "6.6.6.6");
        }
        assert!(limiter.check_account("user:1", "6.6.6.6", false).is_err());
        assert!(limiter.check_account("user:1", "6.6.6.6", true).is_ok());
    }

    #[test]
    fn a_device_token_names_its_user_and_cannot_be_forged() {
        let keys = JwtKeys::from_secret(b"device-test-secret-device-test-secret");
        let user = Uuid::new_v4();
        let token = keys.device_token(user);
        assert_eq!(keys.device_user(&token), Some(user));
        let other = Uuid::new_v4();
        let forged = format!(
            "{other}.{}",
            token.split_once('.').map(|(_, t)| t).unwrap_or("")
        );
        assert_eq!(keys.device_user(&forged), None, "another user's id");
        let elsewhere = JwtKeys::from_secret(b"another-secret-another-secret-another");
        assert_eq!(
            elsewhere.device_user(&token),
            None,
            "another server's secret"
        );
        for junk in ["", ".", "x.y", &format!("{user}."), &format!("{user}.zz")] {
            assert_eq!(keys.device_user(junk), None, "{junk}");
        }
    }

    #[test]
    fn an_ipv6_network_counts_as_one_address() {
        let limiter = LoginLimiter::new(5, 3);
        for i in 0..3 {
            assert!(limiter
                .check(&format!("u{i}@b.c"), &format!("2001:db8:1:2::{i}"))
                .is_ok());
        }
        assert!(limiter.check("u9@b.c", "2001:db8:1:2:ffff::9").is_err());
        assert!(limiter.check("u9@b.c", "2001:db8:1:3::1").is_ok());
        assert_eq!(address_key("::ffff:10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn an_address_over_its_limit_spends_nothing_from_the_account() {
        let limiter = LoginLimiter::new(5, 6);
        for i in 0..6 {
            assert!(limiter.check(&format!("u{i}@b.c"), "1.1.1.1").is_ok());
        }
        for _ in 0..10 {
            assert!(limiter.check("victim@b.c", "1.1.1.1").is_err());
        }
        for _ in 0..5 {
            assert!(limiter.check("victim@b.c", "2.2.2.2").is_ok());
        }
    }

    #[test]
    fn a_flood_of_new_e_mails_from_one_address_holds_only_a_minutes_keys() {
        let limiter = LoginLimiter::default();
        for i in 0..30_000 {
            let _ = limiter.check(&format!("{}{i}@b.c", "x".repeat(200)), "1.1.1.1");
        }
        // The address is counted first: past its 30 attempts, no e-mail is even stored.
        // (Before, every e-mail typed was a key, kept forever, at any length.)
        assert_eq!(limiter.keys_held(), 1 + 30);
    }

    #[test]
    fn the_client_address_is_read_from_a_trusted_proxy_only() {
        let trusted = parse_trusted_proxies("10.0.0.1, 10.9.0.0/16").unwrap();
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 203.0.113.7:4711, 10.9.1.2".parse().unwrap(),
        );
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        // From a trusted proxy: the nearest untrusted hop (not the client's own claim).
        assert_eq!(client_address(ip("10.0.0.1"), &h, &trusted), "203.0.113.7");
        // The proxy seen as an IPv4-mapped IPv6 peer is still the proxy.
        assert_eq!(
            client_address(ip("::ffff:10.0.0.1"), &h, &trusted),
            "203.0.113.7"
        );
        // From anyone else, the header is ignored.
        assert_eq!(
            client_address(ip("198.51.100.1"), &h, &trusted),
            "198.51.100.1"
        );
        assert_eq!(client_address(ip("10.0.0.1"), &h, &[]), "10.0.0.1");
        // Garbage the client wrote on the left does not hide the real hop; garbage as the
        // nearest hop is counted as itself, never as the proxy.
        let mut g = http::HeaderMap::new();
        g.insert("x-forwarded-for", "x, [2001:db8::7]:80".parse().unwrap());
        assert_eq!(client_address(ip("10.0.0.1"), &g, &trusted), "2001:db8::7");
        g.insert("x-forwarded-for", "1.2.3.4, nonsense".parse().unwrap());
        assert_eq!(client_address(ip("10.0.0.1"), &g, &trusted), "nonsense");
        // A trusted proxy without the header: the proxy itself.
        let empty = http::HeaderMap::new();
        assert_eq!(client_address(ip("10.0.0.1"), &empty, &trusted), "10.0.0.1");
        assert!(parse_trusted_proxies("10.0.0.1,nope").is_err());
        assert_eq!(parse_trusted_proxies("").unwrap(), vec![]);
    }

    #[test]
    fn a_user_starting_runs_in_a_loop_is_stopped() {
        let limiter = RunLimiter::default();
        let me = Uuid::new_v4();
        let allowed = (0..50).filter(|_| limiter.check(me).is_ok()).count();
        assert_eq!(allowed, 10);
        assert!(limiter.check(Uuid::new_v4()).is_ok());
    }

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash_password("segredo-1").unwrap();
        assert!(verify_password("segredo-1", &h));
        assert!(!verify_password("segredo-2", &h));
        assert!(!verify_password("segredo-1", "not a hash"));
    }

    #[test]
    fn tokens_round_trip_and_foreign_or_expired_ones_are_refused() {
        let keys = JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let id = Uuid::new_v4();
        let token = keys.issue(id, "a@b.c").unwrap();
        assert_eq!(keys.verify(&token).unwrap().sub, id);

        let other = JwtKeys::from_secret(b"another-secret-another-secret-xx");
        assert!(matches!(
            other.verify(&token),
            Err(Error::Unauthenticated(_))
        ));

        let expired = Claims {
            sub: id,
            role: AUDIENCE.into(),
            aud: AUDIENCE.into(),
            exp: chrono::Utc::now().timestamp() - 3600,
            iat: 0,
            email: String::new(),
            sid: None,
            is_anonymous: false,
        };
        let t = encode(&Header::new(Algorithm::HS256), &expired, &keys.encoding).unwrap();
        let err = keys.verify(&t).unwrap_err().to_string();
        // One message for every refusal: it does not say what failed.
        assert_eq!(err, BAD_SESSION);
        assert_eq!(other.verify(&token).unwrap_err().to_string(), BAD_SESSION);

        // Supabase's anonymous sign-ins are refused, signature and all valid.
        let anonymous = Claims {
            exp: chrono::Utc::now().timestamp() + 60,
            is_anonymous: true,
            ..expired.clone()
        };
        let t = encode(&Header::new(Algorithm::HS256), &anonymous, &keys.encoding).unwrap();
        assert_eq!(keys.verify(&t).unwrap_err().to_string(), BAD_SESSION);

        // alg: none, with the same claims and no signature.
        let header = r#"{"alg":"none","typ":"JWT"}"#;
        let body = serde_json::to_string(&Claims {
            exp: chrono::Utc::now().timestamp() + 60,
            ..expired
        })
        .unwrap();
        use base64::engine::{general_purpose::URL_SAFE_NO_PAD as B64, Engine};
        let none = format!("{}.{}.", B64.encode(header), B64.encode(body));
        assert!(keys.verify(&none).is_err());
        assert!(keys.verify("not-a-token").is_err());
    }
}
