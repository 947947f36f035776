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

/// Puts the local HTTP test provider (`local-http`) in the catalog, unless it is there.
/// Demo mode and tests only: production catalogs never have it.
pub async fn add_local_http_provider(pool: &PgPool) -> Result<()> {
    sqlx::query!(
        r#"insert into public.integration_providers (name, slug, description, category, config_schema)
           values ('Teste local (HTTP)', $1,
                   'Provedor de demonstração: faz chamadas HTTP reais ao sandbox local.',
                   'fiscal',
                   '{"type": "object", "required": ["base_url", "api_token"],
                     "properties": {
                       "base_url": {"type": "string", "format": "uri", "title": "URL do sandbox"},
                       "api_token": {"type": "string", "title": "Token da API", "secret": true,
                                     "description": "O sandbox aceita tokens que começam com sbx_."}}}'::jsonb)
           on conflict (slug) do nothing"#,
        crate::providers::local_http::SLUG
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The token the demo and the tests keep in the vault for the sandbox.
pub const SANDBOX_TOKEN: &str = "sbx_demo_token";

/// The webhook secret the demo keeps in the vault for the OneCode sandbox's events.
pub const SANDBOX_WEBHOOK_SECRET: &str = "sbx_demo_webhook_secret";

/// Gives a tenant the `local-http` integration, enabled, pointing at `base_url` (updated
/// when it exists: the demo's sandbox gets a new port at every start), with
/// [`SANDBOX_TOKEN`] in the vault unless a token is set already.
pub async fn add_local_http_integration(
    pool: &PgPool,
    keyring: &crate::vault::Keyring,
    tenant_id: uuid::Uuid,
    base_url: &str,
) -> Result<()> {
    point_integration(
        pool,
        keyring,
        tenant_id,
        crate::providers::local_http::SLUG,
        base_url,
        crate::providers::local_http::TOKEN_FIELD,
        serde_json::json!({}),
    )
    .await
}

/// Gives a tenant the integration `slug`, enabled, pointing at `base_url` with `settings`
/// merged into its config (updated when it exists: a sandbox gets a new port at every
/// start, which also clears credentials bound to the old address), and [`SANDBOX_TOKEN`] in
/// the vault under `token_field` unless a credential is set already.
pub async fn point_integration(
    pool: &PgPool,
    keyring: &crate::vault::Keyring,
    tenant_id: uuid::Uuid,
    slug: &str,
    base_url: &str,
    token_field: &str,
    settings: serde_json::Value,
) -> Result<()> {
    sqlx::query!(
        r#"insert into public.tenant_integrations
             (tenant_id, provider, base_url, is_enabled, provider_id, config)
           select $1, p.slug, $2, true, p.id, $4::jsonb || jsonb_build_object('base_url', $2::text)
           from public.integration_providers p where p.slug = $3
           on conflict (tenant_id, provider) do update
             set base_url = excluded.base_url, is_enabled = true, provider_id = excluded.provider_id,
                 config = tenant_integrations.config || $4::jsonb
                          || jsonb_build_object('base_url', $2::text)"#,
        tenant_id,
        base_url,
        slug,
        settings
    )
    .execute(pool)
    .await?;
    put_secret_unless_set(pool, keyring, tenant_id, slug, token_field, SANDBOX_TOKEN).await
}

/// Puts `value` in the vault under `field` of the tenant's integration `slug`, unless a
/// credential is set there already (a person's own is never replaced).
async fn put_secret_unless_set(
    pool: &PgPool,
    keyring: &crate::vault::Keyring,
    tenant_id: uuid::Uuid,
    slug: &str,
    field: &str,
    value: &str,
) -> Result<()> {
    let mut tx = crate::scope::begin_service(pool).await?;
    let id = sqlx::query_scalar!(
        r#"select t.id from public.tenant_integrations t
           join public.integration_providers p on p.id = t.provider_id
           where t.tenant_id = $1 and p.slug = $2"#,
        tenant_id,
        slug
    )
    .fetch_one(&mut *tx)
    .await?;
    let has_value = crate::vault::store::list(&mut tx, id)
        .await?
        .iter()
        .any(|s| s.field == field);
    if !has_value {
        crate::vault::store::put(
            &mut tx,
            keyring,
            id,
            field,
            &secrecy::SecretString::from(value.to_owned()),
            &crate::audit::Actor::system(crate::audit::Source::System),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Demo mode: the sandbox provider for every demo tenant, served by the sandbox at `addr`.
/// Its scenario `slow-700` takes about two seconds, so a run is seen going.
pub async fn seed_sandbox(
    pool: &PgPool,
    keyring: &crate::vault::Keyring,
    addr: std::net::SocketAddr,
) -> Result<()> {
    add_local_http_provider(pool).await?;
    let tenants =
        sqlx::query_scalar!("select id from public.organizacoes where slug in ('contmax', 'pg')")
            .fetch_all(pool)
            .await?;
    for t in tenants {
        add_local_http_integration(pool, keyring, t, &format!("http://{addr}/s/slow-700")).await?;
    }
    Ok(())
}

/// Demo mode: the tenant `tenant_slug`'s integration `slug` pointed at its sandbox at
/// `addr`, enabled, with the sandbox token in the vault under `token_field`.
pub async fn seed_provider_sandbox(
    pool: &PgPool,
    keyring: &crate::vault::Keyring,
    tenant_slug: &str,
    slug: &str,
    token_field: &str,
    addr: std::net::SocketAddr,
) -> Result<()> {
    let Some(tenant) = sqlx::query_scalar!(
        "select id from public.organizacoes where slug = $1",
        tenant_slug
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(());
    };
    point_integration(
        pool,
        keyring,
        tenant,
        slug,
        &format!("http://{addr}"),
        token_field,
        // The demo runs at full speed: the sandboxes have no limit of their own, or (OneCode's
        // 600 a minute) one far above what a demo run asks.
        serde_json::json!({"requisicoes_por_minuto": 6000}),
    )
    .await
}

/// Demo mode: `value` under `field` of the tenant `tenant_slug`'s integration `slug` (the
/// integration must exist: call [`seed_provider_sandbox`] first), unless one is set.
pub async fn seed_provider_secret(
    pool: &PgPool,
    keyring: &crate::vault::Keyring,
    tenant_slug: &str,
    slug: &str,
    field: &str,
    value: &str,
) -> Result<()> {
    let Some(tenant) = sqlx::query_scalar!(
        "select id from public.organizacoes where slug = $1",
        tenant_slug
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(());
    };
    put_secret_unless_set(pool, keyring, tenant, slug, field, value).await
}
