//! JSON Web Tokens: HS256 only (the algorithm is pinned, never read from the token), with
//! `user_id`, `exp`, `iat`, `jti` and `token_type`, as SimpleJWT issues them.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Which kind of token a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// Short-lived, sent with every request.
    Access,
    /// Long-lived, exchanged for a new pair at `/api/auth/refresh/`.
    Refresh,
}

/// The claims of both kinds of token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Access or refresh.
    pub token_type: TokenType,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Unique id (a UUID).
    pub jti: String,
    /// The user.
    pub user_id: i64,
}

/// Why a token was refused. The message is what the client sees.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Bad signature, malformed, expired, or another algorithm.
    #[error("Token is invalid or expired")]
    Invalid,
    /// A valid token of the other kind.
    #[error("Token has wrong type")]
    WrongType,
    /// A token could not be signed (a bug, never the client's doing).
    #[error("token not signed: {0}")]
    Signing(String),
}

/// Signs and checks tokens with the secret key.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").finish_non_exhaustive()
    }
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

impl TokenKeys {
    /// Keys from the secret, with the lifetimes of each kind.
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    /// Issues a token of `kind` for `user_id`; returns it with its claims.
    pub fn issue(&self, kind: TokenType, user_id: i64) -> Result<(String, Claims), TokenError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = match kind {
            TokenType::Access => self.access_ttl,
            TokenType::Refresh => self.refresh_ttl,
        };
        let claims = Claims {
            token_type: kind,
            exp: now.saturating_add(seconds(ttl)),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            user_id,
        };
        let token = self.sign(&claims)?;
        Ok((token, claims))
    }

    /// Signs `claims` as they are. Signing the same claims again gives the same token, which
    /// is how a refresh retried within its grace gets back the token it was rotated into.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    /// Checks signature, algorithm, expiry and kind.
    pub fn verify(&self, token: &str, kind: TokenType) -> Result<Claims, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.token_type != kind {
            return Err(TokenError::WrongType);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            b"a-test-secret-that-is-long-enough-123",
            Duration::from_secs(300),
            Duration::from_secs(86_400),
        )
    }

    #[test]
    fn a_token_verifies_only_as_its_own_kind() {
        let keys = keys();
        let (access, claims) = keys.issue(TokenType::Access, 7).expect("issued");
        assert_eq!(
            keys.verify(&access, TokenType::Access).expect("valid"),
            claims
        );
        assert!(matches!(
            keys.verify(&access, TokenType::Refresh),
            Err(TokenError::WrongType)
        ));
        assert_eq!(claims.exp - claims.iat, 300);
        assert_eq!(keys.sign(&claims).expect("signed"), access);
    }

    #[test]
    fn another_key_or_a_tampered_payload_is_refused() {
        let keys = keys();
        let (token, _) = keys.issue(TokenType::Access, 7).expect("issued");
        let other = TokenKeys::new(
            b"another-secret-entirely-0123456789",
            Duration::from_secs(1),
            Duration::from_secs(1),
        );
        assert!(other.verify(&token, TokenType::Access).is_err());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = parts[1].chars().rev().collect();
        assert!(keys.verify(&parts.join("."), TokenType::Access).is_err());
    }
}
