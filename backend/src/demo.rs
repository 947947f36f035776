//! Demo users for `make run` (DEMO_SEED=1): an admin and a staff user per tenant, a user of
//! both tenants and a global admin. Idempotent: existing users are left as they are.

use sqlx::PgPool;

use crate::auth::hash_password;
use crate::Result;

/// The password of every demo user. Demo mode only: never set DEMO_SEED in production.
pub const DEMO_PASSWORD: &str = "contmax123";

pub struct DemoUser {
    pub email: &'static str,
    pub nome: &'static str,
    /// `(tenant slug, role in it)`
    pub tenants: &'static [(&'static str, &'static str)],
    pub global_admin: bool,
}

pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        email: "ti@contmax.com.br",
        nome: "TI Contmax",
        tenants: &[],
        global_admin: true,
    },
    DemoUser {
        email: "admin@contmax.com.br",
        nome: "Ana Admin (Contmax)",
        tenants: &[("contmax", "admin")],
        global_admin: false,
    },
    DemoUser {
        email: "equipe@contmax.com.br",
        nome: "Carlos Equipe (Contmax)",
        tenants: &[("contmax", "staff")],
        global_admin: false,
    },
    DemoUser {
        email: "admin@pg.com.br",
        nome: "Paula Admin (P&G)",
        tenants: &[("pg", "admin")],
        global_admin: false,
    },
    DemoUser {
        email: "equipe@pg.com.br",
        nome: "Gabriel Equipe (P&G)",
        tenants: &[("pg", "staff")],
        global_admin: false,
    },
    DemoUser {
        email: "socio@contmax.com.br",
        nome: "Sofia Sócia (Contmax e P&G)",
        tenants: &[("contmax", "admin"), ("pg", "staff")],
        global_admin: false,
    },
];

/// Creates the demo users that are missing. Runs as the server's own login role (an
/// operator action at start-up, not a user request).
pub async fn seed_demo_users(pool: &PgPool) -> Result<()> {
    let mut tx = pool.begin().await?;
    for user in DEMO_USERS {
        let exists = sqlx::query_scalar!(
            r#"select exists(select 1 from auth.users where lower(email) = lower($1)) as "e!""#,
            user.email
        )
        .fetch_one(&mut *tx)
        .await?;
        if exists {
            continue;
        }
        let hash = hash_password(DEMO_PASSWORD)?;
        let id = sqlx::query_scalar!(
            r#"insert into auth.users (email, encrypted_password, raw_user_meta_data)
               values ($1, $2, jsonb_build_object('nome', $3::text))
               returning id"#,
            user.email,
            hash,
            user.nome
        )
        .fetch_one(&mut *tx)
        .await?;
        if user.global_admin {
            sqlx::query!(
                "insert into public.user_roles (user_id, role) values ($1, 'admin') on conflict do nothing",
                id
            )
            .execute(&mut *tx)
            .await?;
        }
        for (slug, role) in user.tenants {
            sqlx::query!(
                r#"insert into public.user_tenants (user_id, tenant_id, role)
                   select $1, o.id, $3 from public.organizacoes o where o.slug = $2
                   on conflict (user_id, tenant_id) do nothing"#,
                id,
                slug,
                role
            )
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
