//! Webhook signatures in Stripe's scheme, which the offline `dummy` provider uses too: the
//! header `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, each `v1` an HMAC-SHA256 of `"{t}.{raw
//! body}"` with the endpoint's secret. Checked over the raw bytes before anything is parsed;
//! any `v1` may match (a secret being rolled), compared in constant time; a timestamp more than
//! the tolerance away from now is refused, so a captured delivery cannot be replayed later.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a signature's time may be from now (Stripe's default).
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature header")]
    Missing,
    #[error("the signature header cannot be read")]
    Malformed,
    #[error("the signature's time is outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // An HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The header value for `body` signed at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let signature = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex(&signature))
}

/// Checks `header` against `body` at `now` (unix seconds).
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                );
            }
            Some(("v1", value)) => candidates.extend(unhex(value)),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > TOLERANCE_SECONDS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, body);
    if candidates
        .iter()
        .any(|candidate| expected.clone().verify_slice(candidate).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Checks Razorpay's signature: the hex HMAC-SHA256 of `message` with `secret` — the raw body
/// of a webhook (`X-Razorpay-Signature`), or `"{order_id}|{payment_id}"` from its Checkout.
pub fn verify_razorpay(
    secret: &[u8],
    signature: Option<&str>,
    message: &[u8],
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing)?;
    let bytes = unhex(signature.trim()).ok_or(SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(message);
    mac.verify_slice(&bytes)
        .map_err(|_| SignatureError::Mismatch)
}

/// Razorpay's signature of `message` (what its servers and Checkout send).
pub fn sign_razorpay(secret: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(message);
    hex(&mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";

    #[test]
    fn a_signature_made_here_verifies() {
        let header = sign(SECRET, 1_700_000_000, b"{\"id\":1}");
        assert_eq!(
            verify(SECRET, Some(&header), b"{\"id\":1}", 1_700_000_100),
            Ok(())
        );
    }

    #[test]
    fn each_kind_of_bad_signature_is_refused() {
        let body = b"{\"id\":1}";
        let header = sign(SECRET, 1_700_000_000, body);
        let now = 1_700_000_000;
        assert_eq!(
            verify(SECRET, None, body, now),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(SECRET, Some("v1=abcd"), body, now),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(SECRET, Some("t=x,v1=ab"), body, now),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(SECRET, Some(&header), body, now + TOLERANCE_SECONDS + 1),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, Some(&header), b"{\"id\":2}", now),
            Err(SignatureError::Mismatch),
            "a tampered body"
        );
        assert_eq!(
            verify(b"another secret", Some(&header), body, now),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn razorpay_signatures_are_checked_in_constant_time_over_the_message() {
        let signature = sign_razorpay(SECRET, b"order_1|pay_2");
        assert_eq!(
            verify_razorpay(SECRET, Some(&signature), b"order_1|pay_2"),
            Ok(())
        );
        assert_eq!(
            verify_razorpay(SECRET, Some(&signature), b"order_1|pay_3"),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_razorpay(SECRET, None, b"x"),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_razorpay(SECRET, Some("zz"), b"x"),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn any_of_several_v1_may_match() {
        let body = b"payload";
        let good = sign(SECRET, 1_700_000_000, body);
        let good_v1 = good.split("v1=").nth(1).expect("v1");
        let header = format!("t=1700000000,v1={},v1={good_v1},v0=zz", "0".repeat(64));
        assert_eq!(verify(SECRET, Some(&header), body, 1_700_000_000), Ok(()));
    }
}
