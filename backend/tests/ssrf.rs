//! SSRF through `base_url` (issue #14, item 9): internal destinations are refused after
//! resolution and on every redirect, at save time with a field error and at connect time
//! with the text of any unreachable address.
//!
//! Tested by resolution and refusal only: no test here sends a packet anywhere but to
//! loopback servers it started itself. Names resolve from a fixed table
//! ([`NetPolicy::with_fixed_names`]), never with a DNS query (`localhost` is refused
//! without a look-up, `.example` names are not looked up at save time); every refusal is
//! asserted to happen before a connection (the loopback "tripwire" servers count what they
//! accept).

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use backend::audit::{Actor, Source};
use backend::net_guard::{
    is_forbidden, parse_allowed, refusal_of, AllowedHost, GuardError, NetPolicy, UNREACHABLE,
};
use backend::providers::common::http::{self, RetryPolicy};
use backend::providers::{ProviderError, RunContext, Secrets};
use reqwest::header::HeaderValue;
use reqwest::Url;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

/// A loopback server this test starts: it counts the connections it accepts and answers
/// each request with `answer(path)` (status line and headers), or never when `None`.
struct Tripwire {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Tripwire {
    async fn start(answer: fn(&str, SocketAddr) -> Option<String>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&buf);
                    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    match answer(&path, addr) {
                        Some(head) => {
                            let _ = sock
                                .write_all(
                                    format!("{head}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}")
                                        .as_bytes(),
                                )
                                .await;
                        }
                        // Never answers (an open port that says nothing).
                        None => tokio::time::sleep(Duration::from_secs(30)).await,
                    }
                });
            }
        });
        Self { addr, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

fn ok(_: &str, _: SocketAddr) -> Option<String> {
    Some("HTTP/1.1 200 OK\r\ncontent-type: application/json".into())
}

/// A run's context with `base_url` and the process's client; its pool never connects.
fn ctx(base_url: &str, http: reqwest::Client) -> RunContext {
    RunContext {
        tenant_id: uuid::Uuid::nil(),
        integration_id: uuid::Uuid::new_v4(),
        execution_id: uuid::Uuid::nil(),
        attempt: 1,
        config: serde_json::json!({ "base_url": base_url }),
        secrets: Secrets::from_pairs([("api_token", "sbx_token")]),
        http,
        cancel: tokio_util::sync::CancellationToken::new(),
        progress: Default::default(),
        timeline: Default::default(),
        db: sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap(),
    }
}

/// One GET of `path` under the context's `base_url`, tried once, the way every connector
/// calls its API.
async fn get_once(ctx: &RunContext, path: &str) -> Result<u16, ProviderError> {
    let base = ctx.base_url()?;
    let target = base.join(path).unwrap();
    let limiter =
        backend::providers::common::limiter::for_integration("ssrf", ctx.integration_id, 6000);
    let policy = RetryPolicy {
        attempts: 1,
        ..RetryPolicy::default()
    };
    http::get(
        ctx,
        &limiter,
        target,
        &HeaderValue::from_static("Bearer sbx_token"),
        policy,
    )
    .await
    .map(|a| a.status.as_u16())
}

#[test]
fn internal_addresses_are_forbidden_public_ones_are_not() {
    let table: &[(&str, bool)] = &[
        // IPv4
        ("127.0.0.1", true),
        ("127.8.9.10", true),
        ("10.0.0.1", true),
        ("172.16.0.1", true),
        ("172.31.255.254", true),
        ("172.32.0.1", false),
        ("192.168.0.1", true),
        ("100.64.0.1", true),
        ("100.127.255.254", true),
        ("100.128.0.1", false),
        ("169.254.169.254", true),
        ("0.0.0.0", true),
        ("0.255.255.255", true),
        ("255.255.255.255", true),
        ("224.0.0.1", true),
        ("239.255.255.250", true),
        ("240.0.0.1", true),
        ("192.0.2.10", true),
        ("198.51.100.10", true),
        ("203.0.113.10", true),
        ("8.8.8.8", false),
        ("200.147.3.157", false),
        // IPv6
        ("::1", true),
        ("::", true),
        ("fc00::1", true),
        ("fd12:3456::1", true),
        ("fe80::1", true),
        ("febf::1", true),
        ("ff02::1", true),
        ("ff0e::1", true),
        ("2001:db8::1", true),
        ("2804:14c::1", false),
        ("2606:4700::1111", false),
        // IPv4 inside IPv6: judged by the IPv4 address
        ("::ffff:127.0.0.1", true),
        ("::ffff:169.254.169.254", true),
        ("::ffff:10.0.0.1", true),
        ("::ffff:8.8.8.8", false),
        ("::10.0.0.1", true),
        ("64:ff9b::a9fe:a9fe", true),
        ("64:ff9b::808:808", false),
        // Translators inside a network: refused whatever they carry.
        ("64:ff9b:1::808:808", true),
        ("::ffff:0:808:808", true),
        ("::ffff:0:a00:1", true),
        ("2002:7f00:1::1", true),
        ("2002:808:808::1", false),
    ];
    for &(ip, forbidden) in table {
        assert_eq!(
            is_forbidden(ip.parse::<IpAddr>().unwrap()),
            forbidden,
            "{ip}"
        );
    }
}

#[test]
fn ip_literals_are_refused_by_the_guard_whatever_their_spelling() {
    let policy = NetPolicy::new([]);
    for internal in [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://10.0.0.1/",
        "https://10.255.0.1:8443/api",
        "http://127.0.0.1:5432/",
        "http://[::1]/",
        "http://[::1]:5432/",
        "http://0.0.0.0/",
        "http://0.0.0.0:5432/",
        "https://[fe80::1]/",
        "https://[fd00::1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:7f00:1]/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://localhost/",
        "https://localhost:5432/",
        "https://metadata.localhost/",
    ] {
        assert!(
            matches!(
                policy.check_url(&url(internal)),
                Err(GuardError::Forbidden(_))
            ),
            "{internal}: {:?}",
            policy.check_url(&url(internal))
        );
    }
    assert!(matches!(
        policy.check_url(&url("file:///etc/passwd")),
        Err(GuardError::Scheme(_))
    ));
    assert!(matches!(
        policy.check_url(&url("gopher://10.0.0.1/")),
        Err(GuardError::Scheme(_))
    ));
    assert!(matches!(
        policy.check_url(&url("http://api.exemplo.com/")),
        Err(GuardError::PlainHttp(_))
    ));
    assert_eq!(policy.check_url(&url("https://api.exemplo.com/")), Ok(()));
}

#[test]
fn allowed_private_hosts_are_the_only_exceptions() {
    let policy = NetPolicy::new(
        parse_allowed("erp.interno:8443, 10.0.0.5, [fd00::5]:443, coletor.interno").unwrap(),
    );
    for allowed in [
        "https://erp.interno:8443/api",
        "http://erp.interno:8443/api",
        "https://10.0.0.5/",
        "http://10.0.0.5:9000/",
        "https://[fd00::5]/",
        "http://coletor.interno:81/",
    ] {
        assert_eq!(policy.check_url(&url(allowed)), Ok(()), "{allowed}");
    }
    for refused in [
        "https://erp.interno/",
        "https://erp.interno:22/",
        "https://10.0.0.6/",
        "https://[fd00::5]:22/",
        "https://127.0.0.1/",
    ] {
        assert!(
            matches!(
                policy.check_url(&url(refused)),
                Err(GuardError::Forbidden(_))
            ),
            "{refused}"
        );
    }
    assert!(parse_allowed("erp.interno:porta").is_err());
    assert!(parse_allowed("https://erp.interno").is_err());
    assert_eq!(
        NetPolicy::new(parse_allowed("a.interno,10.0.0.5:80,[::1]:4001").unwrap()).to_env_value(),
        "a.interno,10.0.0.5:80,[::1]:4001"
    );
}

#[tokio::test]
async fn a_sandbox_the_process_started_is_allowed_exactly() {
    let addr = backend::sandbox::spawn().await.unwrap();
    let process = NetPolicy::process();
    assert_eq!(
        process.check_url(&url(&format!("http://{addr}/s/ok"))),
        Ok(())
    );
    assert!(process.allowed().contains(&AllowedHost::socket(addr)));
    // The same address on another port (the database's), and the sandbox by name: refused.
    assert!(matches!(
        process.check_url(&url("http://127.0.0.1:5432/")),
        Err(GuardError::Forbidden(_))
    ));
    assert!(matches!(
        process.check_url(&url(&format!("https://localhost:{}/", addr.port()))),
        Err(GuardError::Forbidden(_))
    ));
}

#[tokio::test]
async fn the_resolver_refuses_names_that_resolve_to_internal_addresses() {
    let tripwire = Tripwire::start(ok).await;
    let port = tripwire.addr.port();
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let names = HashMap::from([
        ("sandbox.exemplo.com".to_owned(), vec![loopback]),
        (
            "metadados.exemplo.com".to_owned(),
            vec!["169.254.169.254".parse().unwrap()],
        ),
        (
            "rebind.exemplo.com".to_owned(),
            vec!["10.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
        ),
    ]);

    // `localhost` (RFC 6761: loopback), refused without a look-up.
    assert!(matches!(
        NetPolicy::new([])
            .resolve("localhost", Duration::from_secs(2))
            .await,
        Err(GuardError::Forbidden(_))
    ));
    for name in [
        "metadados.exemplo.com",
        "rebind.exemplo.com",
        "sandbox.exemplo.com",
    ] {
        assert!(matches!(
            NetPolicy::new([])
                .with_fixed_names(names.clone())
                .resolve(name, Duration::from_secs(1))
                .await,
            Err(GuardError::Forbidden(_))
        ));
    }

    // Through the client: a name that resolves to the tripwire is never connected to, and
    // the error is the guard's (from the resolver), read as any unreachable address.
    let strict = NetPolicy::new([]).with_fixed_names(names.clone()).client();
    for target in [
        format!("https://sandbox.exemplo.com:{port}/"),
        format!("https://localhost:{port}/"),
    ] {
        let err = strict.get(&target).send().await.expect_err(&target);
        assert!(
            matches!(refusal_of(&err), Some(GuardError::Forbidden(_))),
            "{target}: {err:?}"
        );
        assert_eq!(
            ProviderError::from_reqwest(&err),
            ProviderError::Transient(UNREACHABLE.into())
        );
    }
    // An exception for the tripwire's address on its port only does not let a name through
    // (the resolver cannot see the port).
    let by_ip = NetPolicy::new([AllowedHost::socket(tripwire.addr)])
        .with_fixed_names(names.clone())
        .client();
    let err = by_ip
        .get(format!("https://sandbox.exemplo.com:{port}/"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(refusal_of(&err), Some(GuardError::Forbidden(_))));
    assert_eq!(tripwire.accepted(), 0, "nothing reached the tripwire");

    // The control: the name allowed, the same request arrives.
    let allowed = NetPolicy::new(["sandbox.exemplo.com".parse().unwrap()])
        .with_fixed_names(names)
        .client();
    let res = allowed
        .get(format!("http://sandbox.exemplo.com:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(tripwire.accepted(), 1);
}

fn redirects(path: &str, me: SocketAddr) -> Option<String> {
    let to = match path {
        "/metadados" => "http://169.254.169.254/latest/meta-data/".to_owned(),
        "/privado" => "http://10.0.0.1/".to_owned(),
        "/v6" => "http://[::1]:5432/".to_owned(),
        "/zero" => "http://0.0.0.0:5432/".to_owned(),
        "/banco" => "http://127.0.0.1:5432/".to_owned(),
        "/localhost" => format!("https://localhost:{}/", me.port()),
        "/texto-puro" => "http://api.exemplo.com/".to_owned(),
        "/mesma-origem" => "/ok".to_owned(),
        "/outra-origem" => "https://api.exemplo.com/".to_owned(),
        _ => return ok(path, me),
    };
    Some(format!("HTTP/1.1 302 Found\r\nlocation: {to}"))
}

#[tokio::test]
async fn every_redirect_target_is_checked_and_internal_ones_refused() {
    let server = Tripwire::start(redirects).await;
    let tripwire = Tripwire::start(ok).await;
    // Only the redirecting server is allowed (exactly its address and port).
    let client = NetPolicy::new([AllowedHost::socket(server.addr)]).client();
    let base = format!("http://{}", server.addr);
    for path in [
        "/metadados",
        "/privado",
        "/v6",
        "/zero",
        "/banco",
        "/localhost",
        "/texto-puro",
    ] {
        let err = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect_err(path);
        assert!(err.is_redirect(), "{path}: {err:?}");
        assert!(refusal_of(&err).is_some(), "{path}: {err:?}");
        assert_eq!(
            ProviderError::from_reqwest(&err),
            ProviderError::Transient(UNREACHABLE.into()),
            "{path}"
        );
    }
    // A redirect to the tripwire (loopback, not allowed): refused before connecting.
    let to_tripwire = Tripwire::start(|_, _| {
        Some("HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:1/".into())
    })
    .await;
    let err = NetPolicy::new([AllowedHost::socket(to_tripwire.addr)])
        .client()
        .get(format!("http://{}/", to_tripwire.addr))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(refusal_of(&err), Some(GuardError::Forbidden(_))));
    assert_eq!(tripwire.accepted(), 0);

    // Within the origin a redirect is followed; to another origin it is not (the 302 is the
    // answer: a credential never travels to a host the admin did not name).
    let res = client
        .get(format!("{base}/mesma-origem"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.url().path(), "/ok");
    let res = client
        .get(format!("{base}/outra-origem"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
}

#[tokio::test]
async fn a_refused_address_a_closed_port_and_a_silent_one_read_the_same() {
    // A loopback port this test bound and closed again: nothing listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    // A loopback port that accepts and never answers.
    let silent = Tripwire::start(|_, _| None).await;
    let process = NetPolicy::process();
    process.allow(AllowedHost::socket(closed));
    process.allow(AllowedHost::socket(silent.addr));
    let http = process
        .client_builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();

    let mut errors = Vec::new();
    for base in [
        format!("http://{closed}/"),
        format!("http://{}/", silent.addr),
        "http://169.254.169.254/".to_owned(),
        "https://10.0.0.1/".to_owned(),
        "http://[::1]:5432/".to_owned(),
        format!("https://localhost:{}/", closed.port()),
    ] {
        let ctx = ctx(&base, http.clone());
        let err = get_once(&ctx, "api/v1/empresas").await.expect_err(&base);
        let shown = backend::connection::message(&Err(err.clone()), Duration::from_millis(7));
        errors.push((base, err, shown));
    }
    for (base, err, shown) in &errors {
        assert_eq!(*err, ProviderError::Transient(UNREACHABLE.into()), "{base}");
        assert_eq!(shown, "Não foi possível conectar ao provedor.", "{base}");
    }
    // The run's stored message (what the engine writes to integration_logs) too.
    let stored: Vec<String> = errors.iter().map(|(_, e, _)| e.to_string()).collect();
    assert!(stored.windows(2).all(|w| w[0] == w[1]), "{stored:?}");
    assert_eq!(
        silent.accepted(),
        1,
        "only the allowed silent port was connected to"
    );
}

#[tokio::test]
async fn save_time_judges_names_by_what_they_resolve_to() {
    let names = HashMap::from([
        (
            "intranet.exemplo.com".to_owned(),
            vec!["10.0.0.5".parse().unwrap()],
        ),
        (
            "metadados.exemplo.com".to_owned(),
            vec!["fd00:ec2::254".parse().unwrap()],
        ),
        (
            "publico.exemplo.com".to_owned(),
            vec!["8.8.4.4".parse().unwrap()],
        ),
    ]);
    let policy = NetPolicy::new([]).with_fixed_names(names);
    for refused in [
        "https://intranet.exemplo.com/api",
        "https://metadados.exemplo.com/",
        "https://localhost/",
        "https://10.0.0.1/",
    ] {
        let e = policy.check_destination(&url(refused)).await.unwrap_err();
        assert_eq!(
            e.field_message(),
            "Endereço não permitido: aponta para uma rede interna.",
            "{refused}"
        );
    }
    assert_eq!(
        policy
            .check_destination(&url("https://publico.exemplo.com/"))
            .await,
        Ok(())
    );
    // Not resolvable now (no such name, no DNS): left to connect time.
    assert_eq!(
        policy
            .check_destination(&url("https://nenhum.exemplo.com/"))
            .await,
        Ok(())
    );
    assert_eq!(
        policy
            .check_destination(&url("http://publico.exemplo.com/"))
            .await
            .unwrap_err()
            .field_message(),
        "Use https:// (http:// só é aceito para endereços liberados pelo operador)."
    );
}

#[sqlx::test(migrator = "backend::db::MIGRATOR")]
async fn saving_an_internal_base_url_is_a_field_error(pool: PgPool) {
    backend::demo::seed_demo_users(&pool).await.unwrap();
    let admin = common::demo_claims(&pool, "admin@contmax.com.br").await;
    let contmax = common::org_id(&pool, "contmax").await;
    let actor = Actor {
        user_id: Some(admin.sub),
        email: Some(admin.email.clone()),
        name: Some("Admin".into()),
        source: Source::Ui,
        request_id: None,
    };
    let stored = || async {
        let v: Option<String> = sqlx::query_scalar(
            "select config->>'base_url' from tenant_integrations where tenant_id = $1 and provider = 'acessorias'",
        )
        .bind(contmax)
        .fetch_one(&pool)
        .await
        .unwrap();
        v
    };
    let save = |base_url: &'static str| {
        let pool = pool.clone();
        let admin = admin.clone();
        let actor = actor.clone();
        async move {
            let mut tx = backend::scope::begin_as(&pool, &admin).await.unwrap();
            let out = backend::config_form::save(
                &mut tx,
                contmax,
                "acessorias",
                &HashMap::from([("base_url".to_owned(), base_url.to_owned())]),
                Default::default(),
                &actor,
            )
            .await
            .unwrap();
            if out.saved {
                tx.commit().await.unwrap();
            }
            out
        }
    };
    let before = stored().await;
    for internal in [
        "http://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/api",
        "https://127.0.0.1:5432/",
        "http://[::1]:5432/",
        "http://0.0.0.0/",
        "https://localhost/",
        "https://[::ffff:a9fe:a9fe]/",
    ] {
        let out = save(internal).await;
        assert!(!out.saved, "{internal}");
        let e = out
            .errors
            .iter()
            .find(|e| e.field == "base_url")
            .unwrap_or_else(|| panic!("{internal}: {:?}", out.errors));
        assert_eq!(
            e.message, "Endereço não permitido: aponta para uma rede interna.",
            "{internal}"
        );
    }
    let out = save("http://api.acessorias.example").await;
    assert!(!out.saved);
    assert!(out.errors[0].message.starts_with("Use https://"), "{out:?}");
    assert_eq!(stored().await, before, "nothing was written");

    // A public https address saves (its name is not looked up: `.example` never resolves).
    let out = save("https://api.acessorias.example").await;
    assert!(out.saved, "{out:?}");
    assert_eq!(
        stored().await.as_deref(),
        Some("https://api.acessorias.example")
    );
}
