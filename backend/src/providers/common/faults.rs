//! The fault switches every provider sandbox has (DESIGN.md §5): latency, 429 with and
//! without `Retry-After`, 5xx, a body that is not JSON, a hang, the provider's "error with
//! 200", an empty page under load, a refused token, and an outage from a page on. Counted
//! switches apply to the next N requests of the API (not of the control endpoints).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Every answer waits this long.
    pub latency_ms: u64,
    /// The next N requests answer 429.
    pub rate_limit: u32,
    /// ... with this `Retry-After` (seconds); none when absent.
    pub retry_after: Option<u64>,
    /// The next N requests answer 503.
    pub server_error: u32,
    /// The next N requests answer 200 with HTML.
    pub garbage: u32,
    /// The next N requests never answer.
    pub hang: u32,
    /// The next N requests answer the provider's business error with HTTP 200.
    pub error_200: u32,
    /// The next N list requests answer an empty page (as under load).
    pub empty: u32,
    /// Every request for this page or a later one answers 503 (an outage mid-run).
    pub fail_from_page: Option<u32>,
    /// Every token is refused (401).
    pub refuse_token: bool,
}

/// What a fault decided for one request.
pub enum Verdict {
    Answer(Response),
    /// Serve an empty list (the provider's own shape of "nothing").
    Empty,
    /// Serve the provider's error-with-200.
    Error200,
    Serve,
}

/// The switches and the counters of a running sandbox.
#[derive(Clone, Default)]
pub struct Switches {
    faults: Arc<Mutex<Faults>>,
    pub requests: Arc<std::sync::atomic::AtomicU64>,
}

impl Switches {
    /// `GET` and `POST /_sandbox/faults` (read, or replace, the switches): every sandbox
    /// merges these into its router.
    pub fn routes(&self) -> axum::Router {
        async fn set(
            axum::extract::State(s): axum::extract::State<Switches>,
            axum::Json(f): axum::Json<Faults>,
        ) -> axum::Json<Faults> {
            s.set(f);
            axum::Json(s.get())
        }
        axum::Router::new()
            .route(
                "/_sandbox/faults",
                axum::routing::post(set).get(
                    |axum::extract::State(s): axum::extract::State<Switches>| async move {
                        axum::Json(s.get())
                    },
                ),
            )
            .with_state(self.clone())
    }

    pub fn set(&self, f: Faults) {
        *self.faults.lock().unwrap_or_else(|p| p.into_inner()) = f;
    }

    pub fn get(&self) -> Faults {
        self.faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Decides one API request: `page` is the page asked for (list endpoints), `token_ok`
    /// whether its credential is a sandbox token.
    pub async fn decide(&self, page: Option<u32>, token_ok: bool, list: bool) -> Verdict {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (latency, verdict) = {
            let mut f = self.faults.lock().unwrap_or_else(|p| p.into_inner());
            let take = |n: &mut u32| {
                if *n > 0 {
                    *n -= 1;
                    true
                } else {
                    false
                }
            };
            let v = if f.refuse_token || !token_ok {
                Verdict::Answer(
                    (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(serde_json::json!({"Message": "token inválido"})),
                    )
                        .into_response(),
                )
            } else if take(&mut f.hang) {
                Verdict::Answer(StatusCode::REQUEST_TIMEOUT.into_response())
            } else if take(&mut f.rate_limit) {
                let mut h = HeaderMap::new();
                if let Some(s) = f.retry_after {
                    h.insert("retry-after", s.into());
                }
                Verdict::Answer(
                    (StatusCode::TOO_MANY_REQUESTS, h, "Too Many Requests").into_response(),
                )
            } else if take(&mut f.server_error)
                || f.fail_from_page
                    .is_some_and(|from| page.is_some_and(|p| p >= from))
            {
                Verdict::Answer(
                    (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response(),
                )
            } else if take(&mut f.garbage) {
                Verdict::Answer(
                    (
                        StatusCode::OK,
                        [("content-type", "text/html")],
                        "<html><body>Manutenção</body></html>",
                    )
                        .into_response(),
                )
            } else if take(&mut f.error_200) {
                Verdict::Error200
            } else if list && take(&mut f.empty) {
                Verdict::Empty
            } else {
                Verdict::Serve
            };
            let hang =
                matches!(&v, Verdict::Answer(r) if r.status() == StatusCode::REQUEST_TIMEOUT);
            (
                if hang {
                    Duration::from_secs(3600)
                } else {
                    Duration::from_millis(f.latency_ms)
                },
                v,
            )
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        verdict
    }
}

/// Serves a sandbox's `router` on `addr` in the background; returns the bound address,
/// which becomes an exception of this process's [`crate::net_guard::NetPolicy`].
pub async fn serve(
    router: axum::Router,
    addr: std::net::SocketAddr,
    name: &'static str,
) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    // A sandbox this process started: providers of this process may reach it.
    crate::net_guard::NetPolicy::process().allow_local_server(bound);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, sandbox = name, "a provider sandbox stopped");
        }
    });
    Ok(bound)
}

/// Whether `Authorization` carries a sandbox token with `scheme` (`Bearer`, `ApiKey`).
pub fn token_ok(headers: &HeaderMap, scheme: &str) -> bool {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix(scheme))
        .and_then(|v| v.strip_prefix(' '))
        .is_some_and(|t| t.starts_with(crate::sandbox::TOKEN_PREFIX))
}

/// A small deterministic generator (SplitMix64) for the sandboxes' data: the same seed
/// gives the same companies on every machine.
pub fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The CNPJ/CPF digits of the sandboxes' record `i` for `seed` (unique for a seed: a
/// multiplier prime to the modulus; every tenth a person's CPF). The Acessórias and
/// BomControle sandboxes share it, so the same seed gives the same companies in both and
/// the demo's receivables match the demo's companies.
pub fn document(seed: u64, i: usize) -> String {
    let base = 10_000_000 + (i as u64 * 7_919 + seed * 104_729) % 89_999_999;
    if i % 10 == 9 {
        super::documents::with_check_digits(&format!("{:09}", base % 1_000_000_000 + 100_000_000))
    } else {
        super::documents::with_check_digits(&format!("{base:08}0001"))
    }
}

/// Names that look like the firm's clients.
pub const TRADES: &[&str] = &[
    "PADARIA",
    "MERCADO",
    "AUTO PEÇAS",
    "CLÍNICA",
    "CONSTRUTORA",
    "RESTAURANTE",
    "FARMÁCIA",
    "OFICINA",
    "TRANSPORTES",
    "COMÉRCIO DE TECIDOS",
    "ACADEMIA",
    "PAPELARIA",
    "DISTRIBUIDORA",
    "LABORATÓRIO",
    "IMOBILIÁRIA",
    "ÓTICA",
    "PET SHOP",
    "SALÃO",
    "ESCOLA",
    "AGROPECUÁRIA",
];
pub const NAMES: &[&str] = &[
    "ESTRELA DO VALE",
    "SÃO JOÃO",
    "BOA VISTA",
    "NOVA ERA",
    "PRIMAVERA",
    "SANTA LUZIA",
    "BOM JESUS",
    "LIDER",
    "MONTE SIÃO",
    "ALVORADA",
    "PAULISTA",
    "CAMPINEIRA",
    "AURORA",
    "SOL NASCENTE",
    "TRÊS IRMÃOS",
    "PORTO SEGURO",
    "BELA VISTA",
    "ITAPEMA",
    "SERRA AZUL",
    "RIO CLARO",
    "VILA RICA",
    "GUARANI",
    "IPÊ AMARELO",
    "JACARANDÁ",
    "CANAÃ",
];
pub const SUFFIXES: &[&str] = &["LTDA", "ME", "EIRELI", "LTDA EPP", "S/A", "LTDA ME"];
