//! How a OneCode webhook delivery proves where it came from. OneCode signs the raw body
//! with the secret it gave when the webhook was registered: `X-Jupiter-Signature:
//! sha256=<hex HMAC-SHA256>` (our best reading of its documentation, hence this one small
//! function with its tests). Older installations send the secret itself in a header
//! (`x-onecode-secret`). Both comparisons take constant time (`hmac`'s `verify_slice`,
//! `subtle`).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The header value OneCode sends for `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` (`sha256=<hex>`, hex in either case) signs `body` under `secret`.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Whether a shared-secret header equals the secret (constant time, also in the length:
/// their SHA-256 digests are compared; an empty secret never matches).
pub fn same_secret(secret: &[u8], header: &str) -> bool {
    use sha2::Digest;
    let (a, b) = (
        Sha256::digest(secret),
        Sha256::digest(header.trim().as_bytes()),
    );
    !secret.is_empty() && bool::from(a.as_slice().ct_eq(b.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_its_own_body_and_key() {
        let body = br#"{"data":{"object":"messages","action":"create","payload":{"id":"x"}}}"#;
        let sig = sign(b"whsec_1", body);
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify(b"whsec_1", body, &sig));
        assert!(verify(
            b"whsec_1",
            body,
            &sig.to_uppercase().replace("SHA256=", "sha256=")
        ));
        assert!(!verify(b"whsec_2", body, &sig));
        assert!(!verify(b"whsec_1", b"{}", &sig));
        assert!(!verify(b"whsec_1", body, sig.trim_start_matches("sha256=")));
        assert!(!verify(b"whsec_1", body, "sha256=zz"));
        assert!(!verify(b"whsec_1", body, "sha256="));
    }

    #[test]
    fn known_vector() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn shared_secrets_compare_whole() {
        assert!(same_secret(b"s3cr3t", "s3cr3t"));
        assert!(same_secret(b"s3cr3t", " s3cr3t "));
        assert!(!same_secret(b"s3cr3t", "s3cr3"));
        assert!(!same_secret(b"s3cr3t", "s3cr3t!"));
        assert!(!same_secret(b"", ""));
    }
}
