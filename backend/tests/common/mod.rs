//! Helpers shared by the database tests.
#![allow(dead_code)]

use backend::scope::Claims;
use sqlx::PgPool;
use uuid::Uuid;

/// The claims a session of this user would carry.
pub fn claims_for(id: Uuid, email: &str) -> Claims {
    Claims {
        sub: id,
        role: "authenticated".into(),
        aud: "authenticated".into(),
        exp: chrono::Utc::now().timestamp() + 600,
        iat: 0,
        email: email.into(),
    }
}

/// A demo user's claims (the demo users must have been seeded).
pub async fn demo_claims(pool: &PgPool, email: &str) -> Claims {
    let id: Uuid = sqlx::query_scalar("select id from auth.users where email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .expect("demo user exists");
    claims_for(id, email)
}

pub async fn org_id(pool: &PgPool, slug: &str) -> Uuid {
    sqlx::query_scalar("select id from public.organizacoes where slug = $1")
        .bind(slug)
        .fetch_one(pool)
        .await
        .expect("organization exists")
}
