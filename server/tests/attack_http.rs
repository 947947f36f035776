//! The attack suite, HTTP part (issue "Security"): the release server `make test` builds,
//! started by `scripts/attack.sh` on a fresh database with the demo tenants and the
//! production defaults (sign-in and run limits, `PUBLIC_URL` on https behind a proxy at
//! 127.0.0.1 that `TRUSTED_PROXIES` names), attacked over real HTTP as a hostile tenant
//! user, an outsider and a cross-site page would. Every case checks the database too:
//! nothing changed, not only the status code.
//!
//! A plain `cargo test` skips these (they need that server); `make test` runs them with
//! `scripts/attack.sh`, and so can anyone: `make test-attack` after `make build`.
//!
//! Each test is on its own: it signs in from a client address of its own (a documentation
//! address in `X-Forwarded-For`, never contacted), so that the per-address sign-in limit of
//! one test never touches another's.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Response, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

struct Target {
    base: String,
    http: reqwest::Client,
    db: PgPool,
    jwt_secret: String,
}

async fn target() -> Target {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by scripts/attack.sh"))
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client");
    let db = PgPool::connect(&var("ATTACK_DATABASE_URL"))
        .await
        .expect("the attacked server's database");
    Target {
        base: var("ATTACK_BASE_URL"),
        http,
        db,
        jwt_secret: var("ATTACK_JWT_SECRET"),
    }
}

/// A browser session: the client address it comes from and its cookies.
#[derive(Clone)]
struct Client {
    address: String,
    cookies: Vec<String>,
}

impl Client {
    fn from(address: &str) -> Self {
        Self {
            address: address.to_owned(),
            cookies: Vec::new(),
        }
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_str(&self.address).expect("an address"),
        );
        if !self.cookies.is_empty() {
            h.insert(
                header::COOKIE,
                HeaderValue::from_str(&self.cookies.join("; ")).expect("cookie header"),
            );
        }
        h
    }

    fn session_token(&self) -> String {
        self.cookies
            .iter()
            .find_map(|c| c.strip_prefix("__Host-portal_session="))
            .expect("signed in")
            .to_owned()
    }
}

impl Target {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A server function, called as the page's own code calls it (form-encoded arguments;
    /// the answer keeps its status, and a redirect comes as a `Location` header).
    async fn form(&self, client: &Client, path: &str, body: &str) -> Response {
        self.http
            .post(self.url(path))
            .headers(client.headers())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .expect("the server answers")
    }

    async fn login_as(&self, client: &Client, email: &str, password: &str, next: &str) -> Response {
        let body = format!(
            "email={}&password={}&next={}",
            enc(email),
            enc(password),
            enc(next)
        );
        self.form(client, "/api/login", &body).await
    }

    /// Signs in with the demo password; the client now carries the session cookie.
    async fn sign_in(&self, address: &str, email: &str) -> Client {
        let mut client = Client::from(address);
        let res = self
            .login_as(&client, email, backend::demo::DEMO_PASSWORD, "/")
            .await;
        assert!(res.status().is_success(), "{email}: {}", res.status());
        assert_eq!(location(&res), "/", "{email}");
        for c in set_cookies(&res) {
            client
                .cookies
                .push(c.split(';').next().unwrap_or_default().to_owned());
        }
        assert!(!client.session_token().is_empty());
        client
    }

    /// Sends only the head of a POST that declares `declared` body bytes over a raw
    /// connection, and returns the status of the answer, read to the end.
    async fn declare_oversized(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        declared: usize,
    ) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let authority = self.base.trim_start_matches("http://");
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-length: {declared}\r\nconnection: close\r\n"
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut socket = tokio::net::TcpStream::connect(authority)
            .await
            .expect("connect");
        socket.write_all(head.as_bytes()).await.expect("send head");
        let mut answer = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            socket.read_to_end(&mut answer),
        )
        .await
        .expect("the server answers without waiting for the body")
        .expect("read the answer");
        let answer = String::from_utf8_lossy(&answer);
        answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("a status line: {answer:?}"))
    }

    /// The JSON API with a Bearer token.
    async fn api(&self, token: &str, path: &str, body: serde_json::Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("the server answers")
    }

    async fn scalar(&self, sql: &str) -> String {
        sqlx::query_scalar::<_, Option<String>>(sql)
            .fetch_one(&self.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .unwrap_or_default()
    }

    async fn org(&self, slug: &str) -> Uuid {
        sqlx::query_scalar("select id from public.organizacoes where slug = $1")
            .bind(slug)
            .fetch_one(&self.db)
            .await
            .expect("demo tenant")
    }

    /// What a tenant's people set: integrations' configuration, credentials (their sealed
    /// values), runs someone started, memberships and profiles. (Not what the server does
    /// by itself meanwhile: the demo's webhook events at start and the engine's retries.)
    async fn fingerprint(&self, tenant: &str) -> String {
        let id = self.org(tenant).await;
        self.scalar(&format!(
            "select concat_ws(' / ',
               (select string_agg(concat_ws('|', id, provider, base_url, is_enabled, config::text, schedule), ',' order by id)
                  from public.tenant_integrations where tenant_id = '{id}'),
               (select string_agg(concat_ws('|', s.tenant_integration_id, s.field, md5(s.ciphertext::text)), ',' order by s.tenant_integration_id, s.field)
                  from public.integration_secrets s join public.tenant_integrations t on t.id = s.tenant_integration_id
                  where t.tenant_id = '{id}'),
               (select count(*)::text from public.integration_logs
                  where tenant_id = '{id}' and trigger in ('manual', 'api', 'schedule')),
               (select string_agg(concat_ws('|', user_id, role), ',' order by user_id)
                  from public.user_tenants where tenant_id = '{id}'),
               (select string_agg(concat_ws('|', p.id, p.email, p.nome, p.ativo), ',' order by p.id)
                  from public.profiles p join public.user_tenants ut on ut.user_id = p.id
                  where ut.tenant_id = '{id}'))"
        ))
        .await
    }
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn set_cookies(res: &Response) -> Vec<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

fn location(res: &Response) -> String {
    res.headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn forge(secret: &str, claims: serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("token")
}

// Item 11: cookies ------------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn the_session_cookie_is_host_only_secure_and_unreadable_by_scripts() {
    let t = target().await;
    let res = t
        .login_as(
            &Client::from("192.0.2.11"),
            "equipe@pg.com.br",
            backend::demo::DEMO_PASSWORD,
            "/",
        )
        .await;
    let cookies = set_cookies(&res);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("__Host-portal_session="))
        .unwrap_or_else(|| panic!("a __Host- session cookie: {cookies:?}"));
    let attributes = session.to_ascii_lowercase();
    for want in ["; secure", "; httponly", "; samesite=lax", "; path=/"] {
        assert!(attributes.contains(want), "{want} in {session}");
    }
    assert!(!attributes.contains("domain="), "host-only: {session}");
    assert!(
        !session.contains(backend::demo::DEMO_PASSWORD),
        "no secret in the cookie"
    );
}

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn tokens_that_are_not_ours_get_one_refusal_and_change_nothing() {
    let t = target().await;
    let contmax = t.org("contmax").await;
    let before = t.fingerprint("contmax").await;
    let staff: Uuid =
        sqlx::query_scalar("select id from auth.users where email = 'equipe@contmax.com.br'")
            .fetch_one(&t.db)
            .await
            .expect("demo user");
    let claims = |sub: Uuid| {
        json!({"sub": sub, "role": "authenticated", "aud": "authenticated",
               "exp": now() + 3600, "iat": now(), "email": "equipe@contmax.com.br"})
    };
    let mut anonymous = claims(staff);
    anonymous["is_anonymous"] = json!(true);
    let mut expired = claims(staff);
    expired["exp"] = json!(now() - 3600);
    let mut service = claims(staff);
    service["role"] = json!("service_role");
    let tokens = [
        (
            "wrong secret",
            forge("not-the-servers-secret-not-the-servers", claims(staff)),
        ),
        (
            "Supabase anonymous sign-in",
            forge(&t.jwt_secret, anonymous),
        ),
        (
            "a user that does not exist",
            forge(&t.jwt_secret, claims(Uuid::new_v4())),
        ),
        ("expired", forge(&t.jwt_secret, expired)),
        ("role service_role", forge(&t.jwt_secret, service)),
        ("not a JWT", "abc.def.ghi".to_owned()),
    ];
    let mut bodies = std::collections::BTreeSet::new();
    for (what, token) in &tokens {
        let res = t
            .api(
                token,
                "/functions/v1/run-integration",
                json!({"tenant_id": contmax, "provider_slug": "acessorias"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
        bodies.insert(res.text().await.expect("body"));
    }
    assert_eq!(bodies.len(), 1, "the refusal never says why: {bodies:?}");
    assert_eq!(t.fingerprint("contmax").await, before, "nothing changed");
}

// Item 6: redirects -----------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn after_sign_in_and_tenant_switch_the_redirect_stays_on_this_site() {
    let t = target().await;
    let hostile = [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/x\r\nSet-Cookie: a=b",
        "/\n/evil.example",
        "javascript:alert(1)",
    ];
    let on_this_site = |loc: &str| {
        loc.starts_with('/')
            && !loc.starts_with("//")
            && !loc.contains('\\')
            && !loc.contains("evil.example")
            && !loc.contains('\n')
    };
    // Each sign-in from an address of its own (there are more than one account's quota).
    for (i, next) in hostile.into_iter().enumerate() {
        let client = Client::from(&format!("198.51.100.{}", 10 + i));
        let res = t
            .login_as(
                &client,
                "socio@contmax.com.br",
                backend::demo::DEMO_PASSWORD,
                next,
            )
            .await;
        assert!(res.status().is_success(), "{next:?}: {}", res.status());
        let loc = location(&res);
        assert!(on_this_site(&loc), "{next:?} led to {loc:?}");
        assert!(
            set_cookies(&res).iter().all(|c| !c.starts_with("a=")),
            "{next:?} set a cookie of the attacker's"
        );
    }
    // A path of this site with its query survives.
    let res = t
        .login_as(
            &Client::from("198.51.100.30"),
            "socio@contmax.com.br",
            backend::demo::DEMO_PASSWORD,
            "/integracoes/acessorias?status=error",
        )
        .await;
    assert_eq!(location(&res), "/integracoes/acessorias?status=error");

    let socio = t.sign_in("192.0.2.13", "socio@contmax.com.br").await;
    for back_to in hostile {
        let res = t
            .form(
                &socio,
                "/api/switch-tenant",
                &format!("slug=pg&back_to={}", enc(back_to)),
            )
            .await;
        assert!(res.status().is_success(), "{back_to:?}: {}", res.status());
        let loc = location(&res);
        assert!(on_this_site(&loc), "{back_to:?} led to {loc:?}");
    }
    // The server is still up and serving (no panic took a worker thread).
    let health = t.http.get(t.url("/healthz")).send().await.expect("health");
    assert_eq!(health.status(), StatusCode::OK);
}

// Item 7: sessions ------------------------------------------------------------------------

async fn session_state(t: &Target, token: &str) -> (StatusCode, StatusCode) {
    let page = t
        .http
        .get(t.url("/integracoes"))
        .header(header::COOKIE, format!("__Host-portal_session={token}"))
        .header("x-forwarded-for", "192.0.2.99")
        .send()
        .await
        .expect("page");
    let api = t
        .api(
            token,
            "/functions/v1/test-connection",
            json!({"tenant_id": Uuid::nil(), "provider_slug": "acessorias"}),
        )
        .await;
    (page.status(), api.status())
}

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn signing_out_ends_the_token_at_once_everywhere_it_is_used() {
    let t = target().await;
    let browser = t.sign_in("192.0.2.14", "equipe@pg.com.br").await;
    let token = browser.session_token();
    let (page, _) = session_state(&t, &token).await;
    assert_eq!(page, StatusCode::OK, "signed in");
    let res = t.form(&browser, "/api/logout", "").await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(location(&res), "/login");
    let (page, api) = session_state(&t, &token).await;
    assert!(
        page.is_redirection(),
        "the page sends the old cookie to sign in: {page}"
    );
    assert_eq!(
        api,
        StatusCode::UNAUTHORIZED,
        "the API refuses the old token"
    );
    let revoked = t
        .scalar(&format!(
            "select (revoked_at is not null)::text from public.portal_sessions where id = '{}'",
            session_id(&token)
        ))
        .await;
    assert_eq!(revoked, "true", "the session row is ended");
}

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn sair_de_todos_os_dispositivos_ends_the_other_browsers_too() {
    let t = target().await;
    let laptop = t.sign_in("192.0.2.15", "admin@pg.com.br").await;
    let phone = t.sign_in("192.0.2.16", "admin@pg.com.br").await;
    // A cross-site page cannot do it for the user.
    let res = t
        .http
        .post(t.url("/api/logout-all"))
        .headers(laptop.headers())
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        session_state(&t, &phone.session_token()).await.0,
        StatusCode::OK
    );

    let res = t.form(&laptop, "/api/logout-all", "").await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(location(&res), "/login");
    for token in [laptop.session_token(), phone.session_token()] {
        let (page, api) = session_state(&t, &token).await;
        assert!(page.is_redirection(), "{page}");
        assert_eq!(api, StatusCode::UNAUTHORIZED);
    }
}

fn session_id(token: &str) -> Uuid {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    claims["sid"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("the portal's tokens name their session")
}

// Item 2: a deactivated user ----------------------------------------------------------------

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn a_deactivated_user_is_out_at_once_and_cannot_sign_in_again() {
    let t = target().await;
    let pg = t.org("pg").await;
    // A user of this test's own, so no other test loses a demo user.
    let email = format!("saiu-{}@pg.com.br", Uuid::new_v4().simple());
    let hash = backend::auth::hash_password(backend::demo::DEMO_PASSWORD).expect("hash");
    let id: Uuid = sqlx::query_scalar(
        "insert into auth.users (email, encrypted_password, raw_user_meta_data)
         values ($1, $2, jsonb_build_object('nome', 'Funcionário que saiu')) returning id",
    )
    .bind(&email)
    .bind(&hash)
    .fetch_one(&t.db)
    .await
    .expect("user");
    sqlx::query("insert into public.profiles (id, email, nome) values ($1, $2, 'Funcionário que saiu') on conflict (id) do nothing")
        .bind(id)
        .bind(&email)
        .execute(&t.db)
        .await
        .expect("profile");
    sqlx::query(
        "insert into public.user_tenants (user_id, tenant_id, role) values ($1, $2, 'staff')",
    )
    .bind(id)
    .bind(pg)
    .execute(&t.db)
    .await
    .expect("membership");
    let client = t.sign_in("192.0.2.17", &email).await;
    assert_eq!(
        session_state(&t, &client.session_token()).await.0,
        StatusCode::OK
    );

    // The office deactivates them (the customer's own screen writes this column).
    sqlx::query("update public.profiles set ativo = false where id = $1")
        .bind(id)
        .execute(&t.db)
        .await
        .expect("deactivated");
    let before = t.fingerprint("pg").await;
    let (page, api) = session_state(&t, &client.session_token()).await;
    assert!(page.is_redirection(), "{page}");
    assert_eq!(api, StatusCode::UNAUTHORIZED);
    let res = t
        .login_as(
            &Client::from("192.0.2.18"),
            &email,
            backend::demo::DEMO_PASSWORD,
            "/",
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        set_cookies(&res)
            .iter()
            .all(|c| !c.starts_with("__Host-portal_session=")),
        "no new session"
    );
    assert_eq!(t.fingerprint("pg").await, before, "nothing changed");
    // Nor can they reactivate themselves through PostgREST: see backend/tests/security.rs.
}

// Item 8: unbounded input, sign-in and run limits ----------------------------------------

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn oversized_bodies_get_413_and_change_nothing() {
    let t = target().await;
    let admin = t.sign_in("192.0.2.19", "admin@contmax.com.br").await;
    let before = t.fingerprint("contmax").await;
    // Declared over the 64 KiB limit and never sent: the server must answer 413 from the
    // header alone, before reading anything. (Sending the body too would race the answer:
    // a server that closes with unread bytes resets the connection, and the reset can
    // reach the client before it has read the 413.)
    let cookies = admin.cookies.join("; ");
    let declared = 200 * 1024;
    let status = t
        .declare_oversized(
            "/api/save-config",
            &[
                ("x-forwarded-for", admin.address.as_str()),
                ("cookie", cookies.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            declared,
        )
        .await;
    assert_eq!(status, 413, "save-config");
    let bearer = format!("Bearer {}", admin.session_token());
    let status = t
        .declare_oversized(
            "/functions/v1/run-integration",
            &[
                ("x-forwarded-for", admin.address.as_str()),
                ("authorization", bearer.as_str()),
                ("content-type", "application/json"),
            ],
            declared,
        )
        .await;
    assert_eq!(status, 413, "run-integration");
    // Bodies sent whole (and chunked ones without a length) are refused the same way in
    // process: server/tests/limits.rs.
    // A long e-mail at sign-in is a clear refusal, not a key the limiter keeps.
    let res = t
        .login_as(
            &Client::from("192.0.2.20"),
            &format!("{}@contmax.com.br", "a".repeat(5000)),
            "x",
            "/",
        )
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(t.fingerprint("contmax").await, before, "nothing changed");
}

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn password_guessing_locks_out_the_guesser_only() {
    let t = target().await;
    let guesser = Client::from("192.0.2.21");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let res = t
            .login_as(&guesser, "admin@pg.com.br", "tentativa-errada", "/")
            .await;
        statuses.push(res.status().as_u16());
    }
    assert!(statuses.contains(&429), "throttled: {statuses:?}");
    // The right password from the guesser's address waits too…
    let res = t
        .login_as(
            &guesser,
            "admin@pg.com.br",
            backend::demo::DEMO_PASSWORD,
            "/",
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // …and a forged X-Forwarded-For does not get around it: the trusted proxy's entry (the
    // rightmost) is the address.
    let res = t
        .http
        .post(t.url("/api/login"))
        .header("x-forwarded-for", "198.51.100.77, 192.0.2.21")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "email=admin%40pg.com.br&password={}&next=%2F",
            backend::demo::DEMO_PASSWORD
        ))
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // The owner, elsewhere, signs in…
    let owner = t.sign_in("192.0.2.22", "admin@pg.com.br").await;
    // …and so does the owner's browser behind the guesser's own address (one office's NAT):
    // a browser the account signed in from before is not held back by strangers.
    let device = owner
        .cookies
        .iter()
        .find(|c| c.starts_with("__Host-portal_device="))
        .expect("a known-device cookie")
        .clone();
    let mut behind_the_same_nat = Client::from("192.0.2.21");
    behind_the_same_nat.cookies.push(device);
    let res = t
        .login_as(
            &behind_the_same_nat,
            "admin@pg.com.br",
            backend::demo::DEMO_PASSWORD,
            "/",
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    // The guesser, still without it, still waits.
    let res = t
        .login_as(
            &guesser,
            "admin@pg.com.br",
            backend::demo::DEMO_PASSWORD,
            "/",
        )
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn runs_are_limited_per_user() {
    let t = target().await;
    let contmax = t.org("contmax").await;
    let admin = t.sign_in("192.0.2.23", "socio@contmax.com.br").await;
    let executions = format!(
        "select count(distinct execution_id)::text from public.integration_logs
         where tenant_id = '{contmax}' and trigger = 'api'"
    );
    let before: i64 = t.scalar(&executions).await.parse().expect("count");
    let mut statuses = Vec::new();
    for _ in 0..15 {
        let res = t
            .api(
                &admin.session_token(),
                "/functions/v1/run-integration",
                json!({"tenant_id": contmax, "provider_slug": "acessorias"}),
            )
            .await;
        statuses.push(res.status().as_u16());
    }
    // The quota (10 a minute) is spent by every request, started or refused as running.
    assert!(
        statuses[..10].iter().all(|s| [202, 409].contains(s)),
        "{statuses:?}"
    );
    assert!(statuses[10..].contains(&429), "limited: {statuses:?}");
    let started = statuses.iter().filter(|&&s| s == 202).count() as i64;
    let after: i64 = t.scalar(&executions).await.parse().expect("count");
    assert!(
        after - before <= started,
        "nothing but the accepted requests started: {}",
        after - before
    );
}

// Tenants and roles over HTTP ------------------------------------------------------------

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn another_tenants_admin_and_staff_change_nothing_of_contmax() {
    let t = target().await;
    let contmax = t.org("contmax").await;
    let before = t.fingerprint("contmax").await;

    // P&G's admin: Contmax's tenant named in the request, or its tenant cookie forged.
    let mut outsider = t.sign_in("192.0.2.24", "admin@pg.com.br").await;
    for path in [
        "/functions/v1/run-integration",
        "/functions/v1/test-connection",
    ] {
        let res = t
            .api(
                &outsider.session_token(),
                path,
                json!({"tenant_id": contmax, "provider_slug": "acessorias"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let res = t
        .form(&outsider, "/api/switch-tenant", "slug=contmax&back_to=%2F")
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(set_cookies(&res).is_empty(), "no tenant cookie for Contmax");
    outsider
        .cookies
        .push("__Host-portal_tenant=contmax".to_owned());
    let res = t
        .http
        .post(t.url("/api/get-session"))
        .headers(outsider.headers())
        .send()
        .await
        .expect("answer");
    let session: serde_json::Value = res.json().await.expect("the session as JSON");
    assert_eq!(
        session["current_tenant"]["slug"], "pg",
        "a forged tenant cookie is not a membership: {session}"
    );

    // Contmax's staff: members, but not allowed to configure.
    let staff = t.sign_in("192.0.2.25", "equipe@contmax.com.br").await;
    let writes = [
        (
            "/api/save-config",
            "slug=acessorias&config[base_url]=https%3A%2F%2Fevil.example",
        ),
        (
            "/api/set-secret",
            "slug=acessorias&field=api_token&value=roubado",
        ),
        ("/api/remove-secret", "slug=acessorias&field=api_token"),
        (
            "/api/set-integration-enabled",
            "slug=acessorias&enabled=false",
        ),
        ("/api/add-integration", "slug=onecode"),
    ];
    for (path, body) in writes {
        let res = t.form(&staff, path, body).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let res = t
        .api(
            &staff.session_token(),
            "/functions/v1/test-connection",
            json!({"tenant_id": contmax, "provider_slug": "acessorias"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.fingerprint("contmax").await, before, "nothing changed");
}

// Item 9: SSRF at save time ---------------------------------------------------------------

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn internal_destinations_are_refused_with_a_field_error() {
    let t = target().await;
    let admin = t.sign_in("192.0.2.26", "admin@contmax.com.br").await;
    let before = t.fingerprint("contmax").await;
    // Resolution and refusal only: the server refuses these before any connection.
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:5432/",
        "http://[::1]/",
        "http://10.0.0.1/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "http://localhost:5432/",
    ] {
        let res = t
            .form(
                &admin,
                "/api/save-config",
                &format!("slug=acessorias&config[base_url]={}", enc(url)),
            )
            .await;
        let status = res.status();
        let body = res.text().await.expect("body");
        assert!(
            status.is_success() || status.is_client_error(),
            "{url}: {status}"
        );
        assert!(body.contains("base_url"), "{url}: a field error: {body}");
        let lower = body.to_lowercase();
        for leak in ["refused", "recusad", "timed out", "open", "5432"] {
            assert!(!lower.contains(leak), "{url}: says {leak:?}: {body}");
        }
    }
    assert_eq!(t.fingerprint("contmax").await, before, "nothing saved");
}

// The webhook ------------------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs the release server: scripts/attack.sh"]
async fn webhook_deliveries_that_are_not_onecodes_store_nothing() {
    let t = target().await;
    let before = t.fingerprint("contmax").await;
    let token = t
        .scalar(
            "select w.token from public.tenant_integration_webhooks w
             join public.tenant_integrations ti on ti.id = w.tenant_integration_id
             join public.organizacoes o on o.id = ti.tenant_id
             where o.slug = 'contmax' and ti.provider = 'onecode'",
        )
        .await;
    assert!(!token.is_empty(), "Contmax's OneCode has an address");
    let marker = format!("Falso {}", Uuid::new_v4());
    let event = json!({"event": "contact.created", "data": {"object": "contact", "action": "create", "payload": {"id": 1, "name": marker}}}).to_string();
    let post = |path: String, signature: Option<&'static str>, body: String| {
        let mut req = t
            .http
            .post(t.url(&path))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(s) = signature {
            req = req.header("x-jupiter-signature", s);
        }
        req.send()
    };
    let path = format!("/functions/v1/onecode-webhook/{token}");
    let res = post(path.clone(), None, event.clone())
        .await
        .expect("answer");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "unsigned");
    let res = post(
        path.clone(),
        Some("sha256=0000000000000000000000000000000000000000000000000000000000000000"),
        event.clone(),
    )
    .await
    .expect("answer");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a wrong signature");
    let res = post(
        format!("/functions/v1/onecode-webhook/{}", "f".repeat(64)),
        Some("sha256=00"),
        event.clone(),
    )
    .await
    .expect("answer");
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "an unknown address");
    let res = post(path, Some("sha256=00"), "a".repeat(300 * 1024))
        .await
        .expect("answer");
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let stored = t
        .scalar(&format!(
            "select count(*)::text from public.onecode_eventos where payload::text like '%{marker}%'"
        ))
        .await;
    assert_eq!(stored, "0", "no event stored");
    assert_eq!(t.fingerprint("contmax").await, before, "nothing changed");
}
