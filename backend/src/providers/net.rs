//! Where providers may connect. A tenant admin chooses an integration's `base_url`, so the
//! server must not become a way to reach what only it can reach (SSRF): outside sandbox
//! mode only `https://` to public addresses — the host's every resolved address is checked
//! by the HTTP client's resolver (so a name that resolves to 127.0.0.1 or 10.x is refused
//! too), IP literals in the URL are checked before any request, and redirects are not
//! followed (a credential never travels to a host the admin did not name).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is an address on the public internet (not loopback, private, link-local,
/// shared, documentation, multicast or unspecified; IPv4-mapped IPv6 judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::new(
                    (hi >> 8) as u8,
                    hi as u8,
                    (lo >> 8) as u8,
                    lo as u8,
                ))
            };
            // Forms that carry an IPv4 address are judged by it: IPv4-compatible (::a.b.c.d),
            // NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002::/16).
            if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
                return is_public(embedded(s[6], s[7]));
            }
            if s[0] == 0x64 && s[1] == 0xff9b {
                return is_public(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return is_public(embedded(s[1], s[2]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// A resolver that drops every non-public address of a name, and fails when none is left.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if found.is_empty() {
                return Err("o endereço do provedor não é público".into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client providers use: connect and request timeouts, our user agent, rustls, no
/// redirects; with `local_hosts` off (production), public addresses only.
pub fn http_client(local_hosts: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("portal-contmax-integracoes");
    if !local_hosts {
        // No proxy from the environment (it would resolve hosts where we cannot check
        // them), https only, every name checked.
        b = b
            .no_proxy()
            .https_only(true)
            .dns_resolver(Arc::new(PublicOnly));
    }
    // Fails only when the TLS backend cannot start: nothing would work, so fail loudly
    // rather than fall back to a client without these rules.
    b.build()
        .unwrap_or_else(|e| panic!("the providers' HTTP client cannot be built: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "fec0::1",
            "198.18.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "200.147.3.157", "2804:14c::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_never_connected_to() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                let mut request = [0u8; 1024];
                let _ = sock.read(&mut request).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        // The sandbox client reaches it (the control)…
        let ok = http_client(true)
            .get(format!("http://localhost:{port}/"))
            .send()
            .await;
        assert!(ok.is_ok(), "{ok:?}");
        accepted.store(false, std::sync::atomic::Ordering::SeqCst);
        // …the production one never connects, by name or with a plain http URL.
        for url in [
            format!("https://localhost:{port}/"),
            format!("http://localhost:{port}/"),
        ] {
            let err = http_client(false).get(&url).send().await;
            assert!(err.is_err(), "{url}");
        }
        assert!(!accepted.load(std::sync::atomic::Ordering::SeqCst));
    }
}
