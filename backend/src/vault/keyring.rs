//! The encryption keys of the vault and the AEAD that uses them (AES-256-GCM, RustCrypto's
//! `aes-gcm`).
//!
//! Each value gets a fresh random 96-bit nonce, and the tenant integration's id and the
//! field's name are bound as associated data: a ciphertext copied to another row or field
//! does not decrypt. Keys are 32 random bytes, given in base64; the first key of the list
//! encrypts, every key decrypts (rotation: put the new key first, run `server secrets
//! rotate`, then drop the old one). A key's id is the first 8 hex digits of its SHA-256.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A value as the vault stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub ciphertext: Vec<u8>,
    pub nonce: Vec<u8>,
    pub key_id: String,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("bytes", &self.ciphertext.len())
            .finish()
    }
}

/// Why a key list or a stored value could not be used. No variant carries key material or
/// plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("chave de criptografia inválida na posição {0}: use 32 bytes em base64 (openssl rand -base64 32)")]
    BadKey(usize),
    #[error("nenhuma chave de criptografia configurada")]
    NoKey,
    #[error("a chave {0} que cifrou esta credencial não está configurada")]
    UnknownKey(String),
    #[error("a credencial não pôde ser decifrada (alterada ou copiada de outro registro)")]
    Tampered,
    #[error("a credencial é grande demais")]
    TooLarge,
}

/// The configured keys, the current (encrypting) one first.
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

fn key_id(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// The largest plaintext the vault takes (a token or a key, never a document).
pub const MAX_SECRET_BYTES: usize = 8192;

impl Keyring {
    /// Parses `INTEGRATIONS_ENCRYPTION_KEY`: one or more base64 keys of 32 bytes,
    /// separated by commas or whitespace; the first encrypts.
    pub fn parse(list: &SecretString) -> Result<Self, VaultError> {
        let mut keys = Vec::new();
        let items = list
            .expose_secret()
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty());
        for (i, item) in items.enumerate() {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(item)
                .map_err(|_| VaultError::BadKey(i + 1))?;
            if raw.len() != 32 {
                return Err(VaultError::BadKey(i + 1));
            }
            let cipher = Aes256Gcm::new_from_slice(&raw).map_err(|_| VaultError::BadKey(i + 1))?;
            keys.push((key_id(&raw), cipher));
        }
        if keys.is_empty() {
            return Err(VaultError::NoKey);
        }
        Ok(Self { keys })
    }

    /// A new random key, in the base64 form `parse` reads.
    pub fn generate_key() -> SecretString {
        let key = Aes256Gcm::generate_key(OsRng);
        SecretString::from(base64::engine::general_purpose::STANDARD.encode(key))
    }

    /// A keyring with one fresh random key (tests; values sealed with it die with it).
    pub fn ephemeral() -> Self {
        Self::parse(&Self::generate_key()).unwrap_or_else(|_| unreachable!("a generated key"))
    }

    /// The id of the key that encrypts.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(id, _)| id.as_str())
    }

    fn aad(tenant_integration_id: Uuid, field: &str) -> Vec<u8> {
        format!("portal-contmax/integration-secret/v1/{tenant_integration_id}/{field}").into_bytes()
    }

    /// Encrypts `plaintext` for one tenant integration's field, under the current key.
    pub fn seal(
        &self,
        tenant_integration_id: Uuid,
        field: &str,
        plaintext: &SecretString,
    ) -> Result<Sealed, VaultError> {
        let msg = plaintext.expose_secret().as_bytes();
        if msg.len() > MAX_SECRET_BYTES {
            return Err(VaultError::TooLarge);
        }
        let (id, cipher) = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = Self::aad(tenant_integration_id, field);
        let ciphertext = cipher
            .encrypt(&nonce, Payload { msg, aad: &aad })
            .map_err(|_| VaultError::TooLarge)?;
        Ok(Sealed {
            ciphertext,
            nonce: nonce.to_vec(),
            key_id: id.clone(),
        })
    }

    /// Decrypts a stored value; fails when its key is not configured, or when it was
    /// changed or belongs to another row or field.
    pub fn open(
        &self,
        tenant_integration_id: Uuid,
        field: &str,
        sealed: &Sealed,
    ) -> Result<SecretString, VaultError> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != 12 {
            return Err(VaultError::Tampered);
        }
        let nonce = Nonce::from_slice(&sealed.nonce);
        let aad = Self::aad(tenant_integration_id, field);
        let plain = cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Tampered)?;
        let text = String::from_utf8(plain).map_err(|_| VaultError::Tampered)?;
        Ok(SecretString::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn a_value_opens_only_for_its_own_row_and_field() {
        let k = Keyring::ephemeral();
        let row = Uuid::new_v4();
        let sealed = k.seal(row, "api_token", &secret("tok-123")).unwrap();
        assert_eq!(sealed.nonce.len(), 12);
        assert!(!sealed
            .ciphertext
            .windows(7)
            .any(|w| w == b"tok-123".as_slice()));
        assert_eq!(
            k.open(row, "api_token", &sealed).unwrap().expose_secret(),
            "tok-123"
        );
        assert_eq!(
            k.open(Uuid::new_v4(), "api_token", &sealed).unwrap_err(),
            VaultError::Tampered
        );
        assert_eq!(
            k.open(row, "api_key", &sealed).unwrap_err(),
            VaultError::Tampered
        );
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert_eq!(
            k.open(row, "api_token", &flipped).unwrap_err(),
            VaultError::Tampered
        );
    }

    #[test]
    fn nonces_are_fresh_and_old_keys_still_decrypt() {
        let old = Keyring::generate_key();
        let new = Keyring::generate_key();
        let k1 = Keyring::parse(&old).unwrap();
        let row = Uuid::new_v4();
        let a = k1.seal(row, "f", &secret("same")).unwrap();
        let b = k1.seal(row, "f", &secret("same")).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        let both = Keyring::parse(&secret(&format!(
            "{}, {}",
            new.expose_secret(),
            old.expose_secret()
        )))
        .unwrap();
        assert_ne!(both.current_id(), k1.current_id());
        assert_eq!(both.open(row, "f", &a).unwrap().expose_secret(), "same");
        let only_new = Keyring::parse(&new).unwrap();
        assert_eq!(
            only_new.open(row, "f", &a).unwrap_err(),
            VaultError::UnknownKey(k1.current_id().to_owned())
        );
    }

    #[test]
    fn bad_key_lists_are_refused_without_echoing_them() {
        let e = Keyring::parse(&secret("c2hvcnQ=")).unwrap_err();
        assert_eq!(e, VaultError::BadKey(1));
        assert!(!e.to_string().contains("c2hvcnQ="));
        assert_eq!(
            Keyring::parse(&secret(" , ")).unwrap_err(),
            VaultError::NoKey
        );
        let debug = format!("{:?}", Keyring::ephemeral());
        assert!(debug.starts_with("Keyring") && debug.contains("key_ids"));
    }
}
