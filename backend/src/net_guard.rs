//! Where the server may connect on a tenant's behalf (SSRF). A tenant admin chooses an
//! integration's `base_url`; without this guard the server would reach for them what only
//! it can reach: the cloud's metadata service (`169.254.169.254`), its own database
//! (`127.0.0.1:5432`), the private network (`10.x`, `[::1]`, `0.0.0.0`).
//!
//! The rule: loopback, private, shared (CGNAT), link-local, unspecified, broadcast,
//! multicast, reserved and documentation addresses ([`is_forbidden`]) are refused, judged
//! **after DNS resolution** and **on every redirect**:
//!
//! - names: the HTTP client's resolver ([`NetPolicy::client`]) resolves with the system's
//!   resolver and drops every forbidden address; when none is left the connection fails
//!   before any packet is sent to the host. The client connects only to the addresses the
//!   resolver returned, so a name cannot be re-resolved elsewhere between check and use;
//! - IP literals (`http://10.0.0.1/`, which reqwest never gives to a resolver): checked by
//!   [`NetPolicy::check_url`] before every request (`RunContext::base_url`,
//!   `providers::common::http::get`) and by the client's redirect policy;
//! - redirects: every target is checked; a forbidden one fails the request, a same-origin one
//!   is followed (at most [`MAX_REDIRECTS`]), any other is not followed (the 3xx comes back,
//!   and a credential never travels to a host the admin did not name);
//! - `http://` is accepted only to an allowed destination (below); everywhere else `https://`.
//!
//! The only exceptions ([`AllowedHost`]) are the operator's `ALLOWED_PRIVATE_HOSTS`
//! (host names or IPs, each with or without a port) and the provider sandboxes this process
//! started itself (demo mode and tests: [`NetPolicy::allow_local_server`], called where a
//! sandbox binds). Both live in [`NetPolicy::process`].
//!
//! At save time [`NetPolicy::check_destination`] gives the same verdict as a field error.
//! At connect time every refusal reads like any unreachable address
//! ([`UNREACHABLE`]): what a user sees never tells an open port from a closed one or from a
//! refused address; the detail goes to the server's log only.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// What a user is told when a provider cannot be reached, whatever the reason: refused by
/// this guard, no such host, port closed, nothing answering, TLS failure, time-out.
pub const UNREACHABLE: &str = "não foi possível conectar ao provedor";

/// Redirects followed within one origin.
pub const MAX_REDIRECTS: usize = 5;

/// How long a name may take to resolve when a connection needs it.
const CONNECT_LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a name may take to resolve when a form is saved (an unresolved name is left to
/// connect time: the form must not wait on a slow resolver).
const SAVE_LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether a connection to `ip` is refused unless allowed: anything but a public unicast
/// address. IPv4: `0/8` (unspecified, "this network"), `10/8`, `100.64/10` (CGNAT),
/// `127/8`, `169.254/16` (link-local, cloud metadata), `172.16/12`, `192.0.0/24`,
/// `192.0.2/24`, `198.18/15`, `198.51.100/24`, `203.0.113/24`, `192.168/16`, `224/4`
/// (multicast), `240/4` (reserved) and broadcast. IPv6: `::`, `::1`, `fc00::/7` (ULA),
/// `fe80::/10`, `fec0::/10`, `ff00::/8`, `2001:db8::/32`, `100::/64` (discard),
/// `2001::/32` (Teredo); forms that carry an IPv4 address are judged by it: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`,
/// `64:ff9b:1::/48`) and 6to4 (`2002::/16`).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_forbidden(v4),
        IpAddr::V6(v6) => v6_forbidden(v6),
    }
}

fn v4_forbidden(v4: Ipv4Addr) -> bool {
    let o = v4.octets();
    v4.is_loopback()
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
        || o[0] >= 240
}

fn v6_forbidden(v6: Ipv6Addr) -> bool {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return v4_forbidden(v4);
    }
    let s = v6.segments();
    let embedded =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    // IPv4-compatible (::a.b.c.d); `::` and `::1` themselves are below.
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return v4_forbidden(embedded(s[6], s[7]));
    }
    // NAT64 well-known prefix (64:ff9b::/96): judged by the IPv4 address it carries.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_forbidden(embedded(s[6], s[7]));
    }
    // Local-use NAT64 (64:ff9b:1::/48) and SIIT's IPv4-translated (::ffff:0:a.b.c.d):
    // translators inside a network, never a public destination.
    if (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) || s[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return true;
    }
    // 6to4.
    if s[0] == 0x2002 {
        return v4_forbidden(embedded(s[1], s[2]));
    }
    v6.is_loopback()
        || v6.is_unspecified()
        || v6.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x2001 && s[1] == 0)
        || s[..4] == [0x100, 0, 0, 0]
}

/// Why the guard refused a destination (or could not resolve it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// Neither `http` nor `https`.
    #[error("scheme {0:?} is not http or https")]
    Scheme(String),
    /// `http://` to a destination that is not allowed (only `https://` goes there).
    #[error("plain http to {0}, which is not an allowed destination")]
    PlainHttp(String),
    /// The URL names no host.
    #[error("the URL names no host")]
    NoHost,
    /// A forbidden address: an IP literal, a name that resolves only to forbidden
    /// addresses, `localhost`, or an allowed name on a port it is not allowed on.
    #[error("{0} is not a public address")]
    Forbidden(String),
    /// The name did not resolve (no such host, resolver failure or time-out).
    #[error("{0} did not resolve")]
    Unresolved(String),
}

impl GuardError {
    /// The field error a form shows for `base_url`, in pt-BR.
    pub fn field_message(&self) -> &'static str {
        match self {
            GuardError::Scheme(_) | GuardError::NoHost => {
                "Informe a URL completa, como https://api.exemplo.com."
            }
            GuardError::PlainHttp(_) => {
                "Use https:// (http:// só é aceito para endereços liberados pelo operador)."
            }
            GuardError::Forbidden(_) => "Endereço não permitido: aponta para uma rede interna.",
            GuardError::Unresolved(_) => "Não foi possível resolver o endereço.",
        }
    }
}

impl From<GuardError> for crate::providers::ProviderError {
    /// A wrong URL is a configuration error; a refused or unresolved destination reads like
    /// any unreachable one (and is retried like one: it costs no packet).
    fn from(e: GuardError) -> Self {
        use crate::providers::ProviderError;
        match e {
            GuardError::Scheme(_) | GuardError::NoHost => {
                ProviderError::InvalidConfig("base_url deve começar com http:// ou https://".into())
            }
            GuardError::PlainHttp(_) => {
                ProviderError::InvalidConfig("base_url deve começar com https://".into())
            }
            GuardError::Forbidden(_) | GuardError::Unresolved(_) => {
                ProviderError::Transient(UNREACHABLE.into())
            }
        }
    }
}

/// The guard's refusal found among the causes of a transport error, if it was one.
pub fn refusal_of<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a GuardError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(g) = s.downcast_ref::<GuardError>() {
            return Some(g);
        }
        source = s.source();
    }
    None
}

/// The causes of a transport error, for the server's log (never for a user: they tell an
/// open port from a closed one). Leaves out reqwest's own text, which quotes the URL.
pub fn causes(e: &reqwest::Error) -> String {
    let mut out = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push(s.to_string());
        source = s.source();
    }
    out.join(": ")
}

/// One exception to the rule: a host name or an IP address, on one port or on all.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AllowedHost {
    host: AllowedName,
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum AllowedName {
    Name(String),
    Ip(IpAddr),
}

impl AllowedHost {
    /// `ip` on `port` only.
    pub fn socket(addr: SocketAddr) -> Self {
        Self {
            host: AllowedName::Ip(addr.ip()),
            port: Some(addr.port()),
        }
    }

    fn port_ok(&self, port: Option<u16>) -> bool {
        self.port.is_none() || self.port == port
    }
}

impl From<SocketAddr> for AllowedHost {
    fn from(addr: SocketAddr) -> Self {
        Self::socket(addr)
    }
}

impl FromStr for AllowedHost {
    type Err = String;

    /// `host`, `host:port`, `10.0.0.5`, `10.0.0.5:8443`, `::1`, `[::1]`, `[::1]:8443`.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || format!("{s:?} is not a host, host:port, IP or IP:port");
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Self {
                host: AllowedName::Ip(ip),
                port: None,
            });
        }
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(Self::socket(addr));
        }
        if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            let ip = inner.parse::<Ipv6Addr>().map_err(|_| bad())?;
            return Ok(Self {
                host: AllowedName::Ip(IpAddr::V6(ip)),
                port: None,
            });
        }
        let (name, port) = match s.rsplit_once(':') {
            Some((name, port)) => (name, Some(port.parse::<u16>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let name = normalise(name);
        let valid = !name.is_empty()
            && name.len() <= 253
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
            && !name.split('.').any(str::is_empty);
        if !valid {
            return Err(bad());
        }
        Ok(Self {
            host: AllowedName::Name(name),
            port,
        })
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.host, self.port) {
            (AllowedName::Name(n), None) => f.write_str(n),
            (AllowedName::Name(n), Some(p)) => write!(f, "{n}:{p}"),
            (AllowedName::Ip(ip), None) => write!(f, "{ip}"),
            (AllowedName::Ip(ip), Some(p)) => write!(f, "{}", SocketAddr::new(*ip, p)),
        }
    }
}

/// A list such as `ALLOWED_PRIVATE_HOSTS`: entries separated by commas (or blanks).
pub fn parse_allowed(list: &str) -> Result<Vec<AllowedHost>, String> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

/// A host name as compared: lower case, without the root's trailing dot.
fn normalise(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// `localhost` and its subdomains (RFC 6761: always loopback).
fn is_localhost(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost")
}

/// Names under the special-use domains no public resolver answers (RFC 2606, 6761):
/// not looked up at save time.
fn never_public(name: &str) -> bool {
    ["test", "example", "invalid"]
        .iter()
        .any(|tld| name == *tld || name.ends_with(&format!(".{tld}")))
}

/// The URL's host: an IP literal or a (normalised) name.
enum UrlHost {
    Ip(IpAddr),
    Name(String),
}

/// The URL parser has already made every IPv4 form (`2130706433`, `0x7f.1`, `127.1`) a
/// plain dotted literal and bracketed IPv6 ones.
fn url_host(url: &Url) -> Option<UrlHost> {
    let host = url.host_str().filter(|h| !h.is_empty())?;
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse().ok().map(|ip| UrlHost::Ip(IpAddr::V6(ip)));
    }
    Some(match host.parse::<Ipv4Addr>() {
        Ok(ip) => UrlHost::Ip(IpAddr::V4(ip)),
        Err(_) => UrlHost::Name(normalise(host)),
    })
}

/// Where connections may go: the rule, with its exceptions. Clones share the exceptions
/// (adding to one adds to all), so a client built before a sandbox starts still lets it in.
#[derive(Clone, Default)]
pub struct NetPolicy {
    allowed: Arc<RwLock<Vec<AllowedHost>>>,
    /// A fixed name table used instead of the system's resolver (tests: names resolve
    /// without a DNS query). `None`: the system's resolver.
    fixed: Option<Arc<HashMap<String, Vec<IpAddr>>>>,
}

impl fmt::Debug for NetPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetPolicy")
            .field("allowed", &self.allowed())
            .field("fixed_names", &self.fixed.as_ref().map(|t| t.len()))
            .finish()
    }
}

static PROCESS: LazyLock<NetPolicy> = LazyLock::new(NetPolicy::default);

impl NetPolicy {
    /// A policy with these exceptions only (none: public addresses only).
    pub fn new(allowed: impl IntoIterator<Item = AllowedHost>) -> Self {
        Self {
            allowed: Arc::new(RwLock::new(allowed.into_iter().collect())),
            fixed: None,
        }
    }

    /// The policy of this process, which every provider connection and every save of a
    /// `base_url` use: `ALLOWED_PRIVATE_HOSTS` (installed by the server's configuration) and
    /// the sandboxes this process started.
    pub fn process() -> &'static NetPolicy {
        &PROCESS
    }

    /// This policy, resolving names from `table` only, never with a DNS query (tests).
    pub fn with_fixed_names(mut self, table: HashMap<String, Vec<IpAddr>>) -> Self {
        let table = table.into_iter().map(|(k, v)| (normalise(&k), v)).collect();
        self.fixed = Some(Arc::new(table));
        self
    }

    /// Adds an exception (to every clone of this policy).
    pub fn allow(&self, host: AllowedHost) {
        let mut list = self.allowed.write().unwrap_or_else(|e| e.into_inner());
        if !list.contains(&host) {
            list.push(host);
        }
    }

    /// Allows a server this process started on `addr` (a provider sandbox): exactly that
    /// address and port; when it listens on every interface, its loopback address.
    pub fn allow_local_server(&self, addr: SocketAddr) {
        let ip = match addr.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        self.allow(AllowedHost::socket(SocketAddr::new(ip, addr.port())));
    }

    /// The exceptions, in the order they were added.
    pub fn allowed(&self) -> Vec<AllowedHost> {
        self.allowed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The exceptions as `ALLOWED_PRIVATE_HOSTS` writes them (for a child process).
    pub fn to_env_value(&self) -> String {
        self.allowed()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    fn any_allowed(&self, f: impl Fn(&AllowedHost) -> bool) -> bool {
        self.allowed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(f)
    }

    /// Whether `ip` is an exception on `port` (`None`: only an entry for every port).
    fn allows_ip(&self, ip: IpAddr, port: Option<u16>) -> bool {
        self.any_allowed(|a| {
            a.host == AllowedName::Ip(ip)
                && match port {
                    Some(_) => a.port_ok(port),
                    None => a.port.is_none(),
                }
        })
    }

    /// Whether the name `name` is an exception on `port`.
    fn allows_name(&self, name: &str, port: Option<u16>) -> bool {
        self.any_allowed(|a| {
            matches!(&a.host, AllowedName::Name(n) if n == name) && a.port_ok(port)
        })
    }

    /// Whether the name `name` is an exception on some port (then its resolver lets every
    /// address of the name through; the port is checked by [`NetPolicy::check_url`]).
    fn allows_name_somewhere(&self, name: &str) -> bool {
        self.any_allowed(|a| matches!(&a.host, AllowedName::Name(n) if n == name))
    }

    /// What can be decided without resolving: the scheme, IP literals, `localhost`, an
    /// allowed name on another port, `http://` to anything not allowed. A name that passes
    /// is judged again by the client's resolver at connect time.
    pub fn check_url(&self, url: &Url) -> Result<(), GuardError> {
        let scheme = url.scheme();
        if !matches!(scheme, "http" | "https") {
            return Err(GuardError::Scheme(scheme.to_owned()));
        }
        let port = url.port_or_known_default();
        let shown = || match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
            None => url.host_str().unwrap_or("").to_owned(),
        };
        let allowed = match url_host(url).ok_or(GuardError::NoHost)? {
            UrlHost::Ip(ip) => {
                let allowed = self.allows_ip(ip, port);
                if !allowed && is_forbidden(ip) {
                    return Err(GuardError::Forbidden(shown()));
                }
                allowed
            }
            UrlHost::Name(name) => {
                let allowed = self.allows_name(&name, port);
                if !allowed && (is_localhost(&name) || self.allows_name_somewhere(&name)) {
                    return Err(GuardError::Forbidden(shown()));
                }
                allowed
            }
        };
        if scheme == "http" && !allowed {
            return Err(GuardError::PlainHttp(shown()));
        }
        Ok(())
    }

    /// The addresses of `name` a connection may use: all of them for an allowed name,
    /// otherwise the ones that are not forbidden (or are allowed on every port); an error
    /// when the name does not resolve in `limit` or nothing is left. `localhost` names are
    /// refused without a look-up.
    pub async fn resolve(&self, name: &str, limit: Duration) -> Result<Vec<IpAddr>, GuardError> {
        let name = normalise(name);
        let allowed_name = self.allows_name_somewhere(&name);
        if is_localhost(&name) && !allowed_name {
            return Err(GuardError::Forbidden(name));
        }
        let found: Vec<IpAddr> = match &self.fixed {
            Some(table) => table.get(&name).cloned().unwrap_or_default(),
            None => match tokio::time::timeout(limit, tokio::net::lookup_host((name.as_str(), 0)))
                .await
            {
                Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
                Ok(Err(_)) | Err(_) => Vec::new(),
            },
        };
        if found.is_empty() {
            return Err(GuardError::Unresolved(name));
        }
        if allowed_name {
            return Ok(found);
        }
        let kept: Vec<IpAddr> = found
            .into_iter()
            .filter(|ip| !is_forbidden(*ip) || self.allows_ip(*ip, None))
            .collect();
        if kept.is_empty() {
            return Err(GuardError::Forbidden(name));
        }
        Ok(kept)
    }

    /// The save-time verdict on a `base_url`: [`NetPolicy::check_url`], then the name
    /// resolved (briefly) and refused when every address is forbidden. A name that does not
    /// resolve now is accepted (connect time decides; the server may have no DNS, or the
    /// provider's name may not exist yet), as are names under `.test`, `.example` and
    /// `.invalid`, which are not looked up.
    pub async fn check_destination(&self, url: &Url) -> Result<(), GuardError> {
        self.check_url(url)?;
        let Some(UrlHost::Name(name)) = url_host(url) else {
            return Ok(());
        };
        if self.allows_name(&name, url.port_or_known_default()) || never_public(&name) {
            return Ok(());
        }
        match self.resolve(&name, SAVE_LOOKUP_TIMEOUT).await {
            Ok(_) | Err(GuardError::Unresolved(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A client builder that connects only where this policy allows: the filtering
    /// resolver, the checking redirect policy, no proxy from the environment (a proxy would
    /// resolve names where they cannot be checked).
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: self.clone(),
            }))
            .redirect(redirect_policy(self.clone()))
    }

    /// The HTTP client providers use: [`NetPolicy::client_builder`] with connect and
    /// request timeouts and our user agent.
    pub fn client(&self) -> reqwest::Client {
        self.client_builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent("portal-contmax-integracoes")
            .build()
            // Fails only when the TLS backend cannot start: nothing would work, so fail
            // loudly rather than fall back to a client without these rules.
            .unwrap_or_else(|e| panic!("the providers' HTTP client cannot be built: {e}"))
    }
}

/// The providers' HTTP client ([`NetPolicy::client`] of [`NetPolicy::process`]): in every
/// mode the same; the sandboxes a process starts are exceptions of its policy.
pub fn http_client() -> reqwest::Client {
    NetPolicy::process().client()
}

/// The resolver of [`NetPolicy::client`]: the system's answer, filtered by the policy.
struct GuardedResolver {
    policy: NetPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            match policy.resolve(&host, CONNECT_LOOKUP_TIMEOUT).await {
                Ok(ips) => {
                    let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
                    Ok(addrs)
                }
                Err(e) => {
                    if matches!(e, GuardError::Forbidden(_)) {
                        tracing::warn!(host, "connection refused by the network guard: {e}");
                    }
                    Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
                }
            }
        })
    }
}

/// Every redirect target checked: forbidden → the request fails; same origin → followed
/// (up to [`MAX_REDIRECTS`]); elsewhere → not followed (the 3xx is the answer).
fn redirect_policy(policy: NetPolicy) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let next = attempt.url();
        if let Err(e) = policy.check_url(next) {
            tracing::warn!("redirect refused by the network guard: {e}");
            return attempt.error(e);
        }
        let same_origin = attempt
            .previous()
            .last()
            .is_some_and(|prev| prev.origin() == next.origin());
        if same_origin && attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn classifies_addresses() {
        for forbidden in [
            "127.0.0.1",
            "127.255.255.254",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.251",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "::1",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "2001:db8::1",
            "2001:0:4136:e378::1",
        ] {
            assert!(is_forbidden(forbidden.parse().unwrap()), "{forbidden}");
        }
        for public in [
            "8.8.8.8",
            "200.147.3.157",
            "172.32.0.1",
            "100.128.0.1",
            "2804:14c::1",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(!is_forbidden(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn allowed_hosts_parse_and_print() {
        for (text, shown) in [
            ("sandbox.interno", "sandbox.interno"),
            ("Sandbox.Interno.:8080", "sandbox.interno:8080"),
            ("10.0.0.5", "10.0.0.5"),
            ("10.0.0.5:8443", "10.0.0.5:8443"),
            ("::1", "::1"),
            ("[::1]", "::1"),
            ("[::1]:4001", "[::1]:4001"),
        ] {
            let h: AllowedHost = text.parse().unwrap();
            assert_eq!(h.to_string(), shown, "{text}");
            assert_eq!(h.to_string().parse::<AllowedHost>().unwrap(), h);
        }
        for bad in ["", "http://x", "a b", "x:porta", "x:99999", "a..b", "[::1"] {
            assert!(bad.parse::<AllowedHost>().is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_allowed(" a.interno, 10.0.0.5:80 ,,").unwrap(),
            vec!["a.interno".parse().unwrap(), "10.0.0.5:80".parse().unwrap()]
        );
        assert!(parse_allowed("a, b c, x:y").is_err());
    }

    #[test]
    fn urls_are_checked_by_scheme_literal_and_exception() {
        let p = NetPolicy::new([
            "10.0.0.5:8443".parse().unwrap(),
            "erp.interno".parse().unwrap(),
        ]);
        assert_eq!(p.check_url(&url("https://api.exemplo.com/x")), Ok(()));
        assert!(matches!(
            p.check_url(&url("ftp://api.exemplo.com/")),
            Err(GuardError::Scheme(_))
        ));
        assert!(matches!(
            p.check_url(&url("http://api.exemplo.com/")),
            Err(GuardError::PlainHttp(_))
        ));
        assert!(matches!(p.check_url(&url("https://8.8.8.8/")), Ok(())));
        assert!(matches!(
            p.check_url(&url("http://8.8.8.8/")),
            Err(GuardError::PlainHttp(_))
        ));
        for internal in [
            "https://10.0.0.1/",
            "https://10.0.0.5/",
            "https://10.0.0.5:22/",
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:5432/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://127.1/",
            "https://localhost/",
            "https://LOCALHOST./",
            "https://db.localhost/",
        ] {
            assert!(
                matches!(p.check_url(&url(internal)), Err(GuardError::Forbidden(_))),
                "{internal}"
            );
        }
        assert_eq!(p.check_url(&url("https://10.0.0.5:8443/api")), Ok(()));
        assert_eq!(p.check_url(&url("http://10.0.0.5:8443/api")), Ok(()));
        assert_eq!(p.check_url(&url("http://erp.interno:9000/")), Ok(()));
        let ported = NetPolicy::new(["erp.interno:8080".parse().unwrap()]);
        assert_eq!(ported.check_url(&url("http://erp.interno:8080/")), Ok(()));
        assert!(matches!(
            ported.check_url(&url("https://erp.interno/")),
            Err(GuardError::Forbidden(_))
        ));
    }

    #[tokio::test]
    async fn names_are_judged_by_what_they_resolve_to() {
        let table = HashMap::from([
            (
                "intranet.exemplo.com".to_owned(),
                vec!["10.0.0.5".parse().unwrap()],
            ),
            (
                "misto.exemplo.com".to_owned(),
                vec!["10.0.0.5".parse().unwrap(), "8.8.8.8".parse().unwrap()],
            ),
            (
                "publico.exemplo.com".to_owned(),
                vec!["8.8.4.4".parse().unwrap()],
            ),
        ]);
        let p = NetPolicy::default().with_fixed_names(table.clone());
        let limit = Duration::from_secs(1);
        assert!(matches!(
            p.resolve("intranet.exemplo.com", limit).await,
            Err(GuardError::Forbidden(_))
        ));
        assert_eq!(
            p.resolve("misto.exemplo.com", limit).await,
            Ok(vec!["8.8.8.8".parse().unwrap()])
        );
        assert!(matches!(
            p.resolve("nenhum.exemplo.com", limit).await,
            Err(GuardError::Unresolved(_))
        ));
        let allowed =
            NetPolicy::new(["intranet.exemplo.com".parse().unwrap()]).with_fixed_names(table);
        assert_eq!(
            allowed.resolve("intranet.exemplo.com", limit).await,
            Ok(vec!["10.0.0.5".parse().unwrap()])
        );
    }
}
