//! Webhook signing secrets: made (`whsec_` + 32 random bytes in base64), and kept encrypted at
//! rest with AES-256-GCM under a key derived from `EMPORIUM_SECRET_KEY`, so a database dump does
//! not hand them out. A stored value is base64 of `nonce ‖ ciphertext ‖ tag`, with a fresh
//! random nonce per encryption.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// What the key is derived for: another use of `EMPORIUM_SECRET_KEY` gets another key.
const LABEL: &[u8] = b"emporium webhook secrets v1";
/// Bound to every ciphertext, so one cannot be passed off as another kind of secret.
const AAD: &[u8] = b"webhook_endpoints.secret";

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// A stored secret that does not decrypt under this key (another `EMPORIUM_SECRET_KEY`, or a
/// damaged value).
#[derive(Debug, thiserror::Error)]
#[error("a webhook secret does not decrypt: was EMPORIUM_SECRET_KEY changed?")]
pub struct Undecryptable;

/// The key webhook secrets are encrypted with.
pub struct SecretCipher {
    key: LessSafeKey,
}

impl fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretCipher(..)")
    }
}

impl SecretCipher {
    /// The cipher keyed by HMAC-SHA256(`secret_key`, [`LABEL`]).
    pub fn new(secret_key: &[u8]) -> SecretCipher {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret_key).expect("HMAC takes a key of any length");
        mac.update(LABEL);
        let derived = mac.finalize().into_bytes();
        let key = UnboundKey::new(&AES_256_GCM, &derived).expect("32 bytes is an AES-256 key");
        SecretCipher {
            key: LessSafeKey::new(key),
        }
    }

    /// `plain` encrypted under a fresh random nonce, as base64.
    pub fn encrypt(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the operating system gives random bytes");
        let mut sealed = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut sealed,
            )
            .expect("AES-GCM seals a short text");
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        STANDARD.encode(stored)
    }

    /// The secret `stored` holds.
    pub fn decrypt(&self, stored: &str) -> Result<String, Undecryptable> {
        let bytes = STANDARD.decode(stored).map_err(|_| Undecryptable)?;
        if bytes.len() < NONCE_LEN {
            return Err(Undecryptable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Undecryptable)?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(AAD), &mut sealed)
            .map_err(|_| Undecryptable)?;
        String::from_utf8(plain.to_vec()).map_err(|_| Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_whsec_and_32_random_bytes() {
        let secret = generate();
        let encoded = secret.strip_prefix("whsec_").expect("prefix");
        assert_eq!(STANDARD.decode(encoded).expect("base64").len(), 32);
        assert_ne!(generate(), secret);
    }

    #[test]
    fn a_stored_secret_hides_it_decrypts_back_and_not_under_another_key() {
        let cipher = SecretCipher::new(&[7u8; 32]);
        let secret = generate();
        let stored = cipher.encrypt(&secret);
        assert!(!stored.contains(&secret));
        assert!(!stored.contains(secret.trim_start_matches("whsec_")));
        let raw = STANDARD.decode(&stored).expect("base64");
        let body = STANDARD
            .decode(secret.trim_start_matches("whsec_"))
            .expect("base64");
        assert!(!raw.windows(body.len()).any(|w| w == body.as_slice()));
        assert_eq!(cipher.decrypt(&stored).expect("decrypts"), secret);
        // A fresh nonce each time: the same secret is never stored the same way twice.
        assert_ne!(cipher.encrypt(&secret), stored);

        let other = SecretCipher::new(&[8u8; 32]);
        assert!(other.decrypt(&stored).is_err());
        assert!(cipher.decrypt("not base64!").is_err());
        assert!(cipher.decrypt(&STANDARD.encode([0u8; 20])).is_err());
    }
}
