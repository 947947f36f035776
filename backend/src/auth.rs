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
        }
    }

    /// A session token for a user, valid for [`SESSION_SECONDS`].
    pub fn issue(&self, user_id: Uuid, email: &str) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            role: AUDIENCE.to_owned(),
            aud: AUDIENCE.to_owned(),
            exp: now + SESSION_SECONDS,
            iat: now,
            email: email.to_owned(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| Error::Invalid("não foi possível emitir a sessão".into()))
    }

    /// Checks signature, algorithm (HS256 only: `alg: none` is refused), audience, expiry
    /// and role. The messages are safe to show.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        use jsonwebtoken::errors::ErrorKind;
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
            Error::Unauthenticated(
                match e.kind() {
                    ErrorKind::ExpiredSignature => "Sessão expirada: entre novamente.",
                    ErrorKind::InvalidSignature => "Token com assinatura inválida.",
                    ErrorKind::InvalidAlgorithm => "Token com algoritmo não aceito.",
                    ErrorKind::InvalidAudience => "Token com audiência inválida.",
                    _ => "Token malformado ou inválido.",
                }
                .into(),
            )
        })?;
        if data.claims.role != AUDIENCE {
            return Err(Error::Unauthenticated("Token sem papel de usuário.".into()));
        }
        Ok(data.claims)
    }
}

/// An argon2id hash in PHC format, as stored in `auth.users.encrypted_password`.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::Invalid("senha não pôde ser processada".into()))
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
    let mut tx = begin_service(pool).await?;
    let row = sqlx::query!(
        r#"select u.id, u.encrypted_password
           from auth.users u
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
            Ok(r.id)
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

/// The signed-in user, their tenants, and the one the portal shows now (`preferred` when the
/// user belongs to it, else the first). Read as the user, under row-level security.
pub async fn session_user(
    pool: &PgPool,
    claims: &Claims,
    preferred: Option<&str>,
) -> Result<SessionUser> {
    let mut tx = begin_as(pool, claims).await?;
    let profile = sqlx::query!(
        r#"select p.nome, p.email, public.is_global_admin() as "is_global_admin!"
           from public.profiles p where p.id = auth.uid()"#
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::Unauthenticated("Usuário não encontrado ou inativo.".into()))?;
    // A global admin may act in every tenant; everyone else in the tenants they belong to.
    let tenants = sqlx::query_as!(
        TenantRef,
        r#"select o.id, o.nome, o.slug,
                  coalesce(ut.role, 'admin') as "role!"
           from public.organizacoes o
           left join public.user_tenants ut on ut.tenant_id = o.id and ut.user_id = auth.uid()
           where ut.id is not null or public.is_global_admin()
           order by o.nome"#
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
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

/// Sign-in attempts allowed per account and per client address: a burst, then one more
/// every few seconds (governor's GCRA). Kept in memory per server process.
pub struct LoginLimiter {
    by_account: governor::DefaultKeyedRateLimiter<String>,
    by_address: governor::DefaultKeyedRateLimiter<String>,
}

/// Sign-in attempts a minute per account, unless configured otherwise.
pub const LOGIN_PER_ACCOUNT: u32 = 5;
/// Sign-in attempts a minute per client address, unless configured otherwise.
pub const LOGIN_PER_ADDRESS: u32 = 30;

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS)
    }
}

impl LoginLimiter {
    /// `per_account` attempts a minute per account, `per_address` per client address.
    pub fn new(per_account: u32, per_address: u32) -> Self {
        use governor::{Quota, RateLimiter};
        use std::num::NonZeroU32;
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Self {
            by_account: RateLimiter::keyed(per_minute(per_account)),
            by_address: RateLimiter::keyed(per_minute(per_address)),
        }
    }

    /// Counts one attempt; refuses it when the account or the address is over its quota.
    pub fn check(&self, email: &str, address: &str) -> Result<()> {
        let address_ok = self.by_address.check_key(&address.to_owned()).is_ok();
        let account_ok = self
            .by_account
            .check_key(&email.trim().to_lowercase())
            .is_ok();
        if address_ok && account_ok {
            Ok(())
        } else {
            Err(Error::TooManyRequests(
                "Muitas tentativas de login. Aguarde um minuto e tente novamente.".into(),
            ))
        }
    }
}

/// The cookie that carries the session token (HttpOnly, SameSite=Lax).
pub const SESSION_COOKIE: &str = "portal_session";
/// The cookie that remembers the tenant chosen in the header.
pub const TENANT_COOKIE: &str = "portal_tenant";

/// The value of one cookie of a request.
pub fn cookie<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The caller's claims, from `Authorization: Bearer` (API clients) or the session cookie
/// (the browser). No token at all is a 401 like a bad one.
pub fn caller(keys: &JwtKeys, headers: &http::HeaderMap) -> Result<Claims> {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    match bearer.or_else(|| cookie(headers, SESSION_COOKIE)) {
        Some(token) => keys.verify(token.trim()),
        None => Err(Error::Unauthenticated("Entre para continuar.".into())),
    }
}

/// `Set-Cookie` for a new session; `secure` behind https.
pub fn session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_SECONDS}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that ends the session.
pub fn clear_session_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that remembers the chosen tenant for a year.
pub fn tenant_cookie(slug: &str, secure: bool) -> String {
    format!(
        "{TENANT_COOKIE}={slug}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{}",
        if secure { "; Secure" } else { "" }
    )
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
        assert!(matches!(caller(&keys, &h), Err(Error::Unauthenticated(_))));
        h.insert(
            http::header::COOKIE,
            format!("x=1; {SESSION_COOKIE}={token}").parse().unwrap(),
        );
        assert_eq!(caller(&keys, &h).unwrap().sub, id);
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        assert_eq!(caller(&keys, &h).unwrap().sub, id);
        h.insert(
            http::header::AUTHORIZATION,
            "Bearer garbage".parse().unwrap(),
        );
        assert!(caller(&keys, &h).is_err());
    }

    #[test]
    fn the_login_limiter_stops_a_burst_on_one_account_but_not_others() {
        let limiter = LoginLimiter::default();
        for _ in 0..5 {
            assert!(limiter.check("a@b.c", "1.2.3.4").is_ok());
        }
        let err = limiter.check("A@B.C", "5.6.7.8").unwrap_err();
        assert!(matches!(err, Error::TooManyRequests(_)));
        assert!(limiter.check("other@b.c", "1.2.3.4").is_ok());
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
        };
        let t = encode(&Header::new(Algorithm::HS256), &expired, &keys.encoding).unwrap();
        let err = keys.verify(&t).unwrap_err().to_string();
        assert!(err.contains("expirada"), "{err}");

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
