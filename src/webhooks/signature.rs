//! The `Emporium-Signature` header: Stripe's scheme, so a receiver verifies it with the code it
//! already has for Stripe — HMAC-SHA256 keyed with the whole `whsec_…` string over
//! `"<t>.<body>"`, one `v1` per secret that signs (two during a rotation).

use std::fmt::Write as _;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// `t=<t>,v1=<hex hmac>[,v1=<hex hmac>]`: `body` at unix time `t`, signed with each secret.
pub fn signature_header(secrets: &[&str], t: i64, body: &[u8]) -> String {
    let mut header = format!("t={t}");
    for secret in secrets {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        header.push_str(",v1=");
        for byte in mac.finalize().into_bytes() {
            let _ = write!(header, "{byte:02x}");
        }
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed apart, with Python:
    // hmac.new(b"whsec_test_secret", b'1700000000.{"id":"evt_1"}', hashlib.sha256).hexdigest()
    const CURRENT: &str = "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a";
    const PREVIOUS: &str = "6dc3855b845a24ac8ac412b25b4fc16893a8194315480344360bcacdb1183294";

    #[test]
    fn the_header_is_stripes_scheme_keyed_with_the_whole_secret() {
        let body = br#"{"id":"evt_1"}"#;
        assert_eq!(
            signature_header(&["whsec_test_secret"], 1_700_000_000, body),
            format!("t=1700000000,v1={CURRENT}")
        );
    }

    #[test]
    fn during_a_rotation_each_secret_adds_a_v1() {
        let body = br#"{"id":"evt_1"}"#;
        assert_eq!(
            signature_header(
                &["whsec_test_secret", "whsec_old_secret"],
                1_700_000_000,
                body
            ),
            format!("t=1700000000,v1={CURRENT},v1={PREVIOUS}")
        );
    }
}
