//! The portal's two cookies (the session token and the chosen tenant), read and written
//! with the `cookie` crate rather than by hand.
//!
//! Over https they are `Secure` and named with the `__Host-` prefix, which browsers accept
//! only from this exact host, over https, with `Path=/` and no `Domain`: a sibling
//! subdomain or a plain-http page cannot plant a session of its choosing. Secure is on
//! when `COOKIE_SECURE` says so, or by default when `PUBLIC_URL` is an https address.

use cookie::{Cookie, SameSite};

/// The session token (HttpOnly, SameSite=Lax).
pub const SESSION: &str = "portal_session";
/// The tenant chosen in the header.
pub const TENANT: &str = "portal_tenant";
/// How long the tenant choice is remembered.
const TENANT_SECONDS: i64 = 365 * 24 * 60 * 60;

/// `COOKIE_SECURE`'s value: `Some(on)` for a recognised one, `None` otherwise (the server
/// refuses to start on that: see `server::config`).
pub fn parse_flag(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Whether cookies must be `Secure`: `COOKIE_SECURE` when set, else whether `PUBLIC_URL`
/// is https.
pub fn secure_from(cookie_secure: Option<&str>, public_url: Option<&str>) -> bool {
    match cookie_secure.and_then(parse_flag) {
        Some(on) => on,
        None => public_url.is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://")),
    }
}

/// [`secure_from`] with this process's environment, read once.
pub fn secure() -> bool {
    static SECURE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SECURE.get_or_init(|| {
        secure_from(
            std::env::var("COOKIE_SECURE").ok().as_deref(),
            std::env::var("PUBLIC_URL").ok().as_deref(),
        )
    })
}

/// A cookie's name as sent: `__Host-` first when secure.
pub fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The value of the cookie `base` (under the name [`secure`] gives) in a request.
pub fn read(headers: &http::HeaderMap, base: &str) -> Option<String> {
    read_as(headers, &name(base, secure()))
}

/// The value of the cookie named exactly `name`.
pub fn read_as(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(|c| c.ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

fn build(base: &str, value: &str, max_age: i64, secure: bool) -> String {
    Cookie::build((name(base, secure), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age))
        .build()
        .to_string()
}

/// `Set-Cookie` for a new session.
pub fn session(token: &str, secure: bool) -> String {
    build(SESSION, token, crate::auth::SESSION_SECONDS, secure)
}

/// `Set-Cookie` that ends the session in the browser.
pub fn clear_session(secure: bool) -> String {
    build(SESSION, "", 0, secure)
}

/// The browser a user signed in from before ([`crate::auth::JwtKeys::device_token`]):
/// sign-in delays that strangers' wrong passwords cause do not hold it back.
pub const DEVICE: &str = "portal_device";

/// `Set-Cookie` that marks this browser as one the user signed in from, for a year.
pub fn device(token: &str, secure: bool) -> String {
    build(DEVICE, token, TENANT_SECONDS, secure)
}

/// `Set-Cookie` that remembers the chosen tenant for a year.
pub fn tenant(slug: &str, secure: bool) -> String {
    build(TENANT, slug, TENANT_SECONDS, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_follows_the_setting_then_the_public_url() {
        assert!(!secure_from(None, None));
        assert!(!secure_from(None, Some("http://localhost:3000")));
        assert!(secure_from(None, Some("https://portal.contmax.com.br")));
        assert!(secure_from(Some("1"), None));
        assert!(!secure_from(
            Some("false"),
            Some("https://portal.contmax.com.br")
        ));
    }

    #[test]
    fn over_https_cookies_are_secure_host_only_cookies() {
        let c = session("tok", true);
        assert!(c.starts_with("__Host-portal_session=tok"), "{c}");
        for part in [
            "Secure",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=28800",
        ] {
            assert!(c.contains(part), "{part} in {c}");
        }
        assert!(!c.contains("Domain"), "{c}");
        let plain = session("tok", false);
        assert!(plain.starts_with("portal_session=tok"), "{plain}");
        assert!(!plain.contains("Secure"), "{plain}");
        assert!(clear_session(true).contains("Max-Age=0"));
        assert!(tenant("pg", true).starts_with("__Host-portal_tenant=pg"));
    }

    #[test]
    fn a_request_cookie_is_found_by_its_exact_name() {
        let mut h = http::HeaderMap::new();
        h.append(
            http::header::COOKIE,
            "a=1; portal_session_x=no; portal_session=yes"
                .parse()
                .unwrap(),
        );
        h.append(
            http::header::COOKIE,
            "__Host-portal_tenant=pg".parse().unwrap(),
        );
        assert_eq!(read_as(&h, "portal_session").as_deref(), Some("yes"));
        assert_eq!(read_as(&h, "__Host-portal_tenant").as_deref(), Some("pg"));
        // The unprefixed name does not stand in for the prefixed one.
        assert_eq!(read_as(&h, "__Host-portal_session"), None);
        assert_eq!(read_as(&h, "missing"), None);
    }
}
