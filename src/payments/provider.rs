//! The payment providers behind one interface: the offline `dummy` (intents made locally,
//! confirmed by their owner through a webhook signed like Stripe's and sent through the same
//! verified path) and Stripe's REST API (form-encoded requests, `Authorization: Bearer`, an
//! `Idempotency-Key` on every creation, its `{"error": {...}}` bodies and timeouts understood).
//! Razorpay joins here.

use std::sync::OnceLock;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::settings::{PaymentSettings, Settings, StripeSettings};

/// How long a call to a provider may take before it counts as failed (and is retried later
/// with the same idempotency key).
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// One HTTP client for the process (connections and TLS sessions are reused).
fn client() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .timeout(TIMEOUT)
                .connect_timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default()
        })
        .clone()
}

/// The provider a payment goes through.
#[derive(Clone)]
pub enum Provider {
    /// Offline: nothing leaves the process.
    Dummy {
        /// The secret its webhooks are signed with (derived from `EMPORIUM_SECRET_KEY`).
        webhook_secret: Vec<u8>,
    },
    /// Stripe.
    Stripe(StripeSettings),
}

/// An intent as the provider made it.
#[derive(Clone, Debug)]
pub struct Intent {
    pub provider_ref: String,
    pub client_secret: Option<String>,
}

/// Where a provider says an intent is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntentState {
    /// The provider's word: `succeeded`, `requires_payment_method`, `canceled`, `processing`…
    pub status: String,
    pub amount: i64,
    pub currency: String,
}

/// Why a provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Timed out or could not connect, or the provider failed (5xx): try again later.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (its error body's message).
    #[error("payment provider refused: {0}")]
    Refused(String),
}

#[derive(Deserialize)]
struct StripeErrorBody {
    error: StripeError,
}

#[derive(Deserialize)]
struct StripeError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct StripeIntent {
    id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    amount: i64,
    #[serde(default)]
    currency: String,
}

impl Provider {
    /// The configured provider.
    pub fn from_settings(settings: &Settings) -> Provider {
        match &settings.payments {
            PaymentSettings::Stripe(stripe) => Provider::Stripe(stripe.clone()),
            PaymentSettings::Dummy => {
                let mut mac = Hmac::<Sha256>::new_from_slice(settings.secret_key.expose())
                    .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
                mac.update(b"emporium dummy payments webhook");
                Provider::Dummy {
                    webhook_secret: mac.finalize().into_bytes().to_vec(),
                }
            }
        }
    }

    /// The name stored with each payment and event.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Dummy { .. } => "dummy",
            Provider::Stripe(_) => "stripe",
        }
    }

    /// The secret webhooks from this provider are signed with.
    pub fn webhook_secret(&self) -> &[u8] {
        match self {
            Provider::Dummy { webhook_secret } => webhook_secret,
            Provider::Stripe(stripe) => stripe.webhook_secret.expose(),
        }
    }

    /// Creates the intent for an order's amount. `idempotency_key` names the order, so a retry
    /// (after a timeout, or a lost answer) gets the same intent from the provider.
    pub async fn create_intent(
        &self,
        order_id: &str,
        amount: i64,
        currency: &str,
        idempotency_key: &str,
    ) -> Result<Intent, ProviderError> {
        match self {
            Provider::Dummy { .. } => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                Ok(Intent {
                    client_secret: Some(format!(
                        "dummy_pi_{id}_secret_{}",
                        uuid::Uuid::new_v4().simple()
                    )),
                    provider_ref: format!("dummy_pi_{id}"),
                })
            }
            Provider::Stripe(stripe) => {
                let form = [
                    ("amount", amount.to_string()),
                    ("currency", currency.to_lowercase()),
                    ("metadata[order_id]", order_id.to_owned()),
                    ("automatic_payment_methods[enabled]", "true".to_owned()),
                ];
                let request = client()
                    .post(format!("{}/v1/payment_intents", stripe.api_base))
                    .bearer_auth(stripe.secret_key.expose_str())
                    .header("Idempotency-Key", idempotency_key)
                    .form(&form);
                let intent: StripeIntent = stripe_call(request).await?;
                Ok(Intent {
                    provider_ref: intent.id,
                    client_secret: intent.client_secret,
                })
            }
        }
    }

    /// Where the provider says an intent is (the verification job's question).
    pub async fn intent_state(
        &self,
        provider_ref: &str,
    ) -> Result<Option<IntentState>, ProviderError> {
        match self {
            // The dummy's outcomes arrive only through its confirmation.
            Provider::Dummy { .. } => Ok(None),
            Provider::Stripe(stripe) => {
                let request = client()
                    .get(format!(
                        "{}/v1/payment_intents/{provider_ref}",
                        stripe.api_base
                    ))
                    .bearer_auth(stripe.secret_key.expose_str());
                let intent: StripeIntent = stripe_call(request).await?;
                Ok(Some(IntentState {
                    status: intent.status,
                    amount: intent.amount,
                    currency: intent.currency,
                }))
            }
        }
    }

    /// Refunds a captured payment in full; `idempotency_key` makes a retried refund one refund.
    pub async fn refund(
        &self,
        provider_ref: &str,
        idempotency_key: &str,
    ) -> Result<(), ProviderError> {
        match self {
            Provider::Dummy { .. } => Ok(()),
            Provider::Stripe(stripe) => {
                let request = client()
                    .post(format!("{}/v1/refunds", stripe.api_base))
                    .bearer_auth(stripe.secret_key.expose_str())
                    .header("Idempotency-Key", idempotency_key)
                    .form(&[("payment_intent", provider_ref)]);
                let _: serde_json::Value = stripe_call(request).await?;
                Ok(())
            }
        }
    }
}

/// Sends a request to Stripe and reads its answer: the object on 2xx, its error body's message
/// on 4xx, "unavailable" on 5xx, a timeout or no connection.
async fn stripe_call<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> Result<T, ProviderError> {
    let response = request
        .send()
        .await
        .map_err(|e| ProviderError::Unavailable(e.without_url().to_string()))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ProviderError::Unavailable(e.without_url().to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| ProviderError::Unavailable(format!("unreadable answer: {e}")));
    }
    let message = serde_json::from_slice::<StripeErrorBody>(&bytes)
        .ok()
        .map(|body| {
            format!(
                "{} ({})",
                body.error.message.unwrap_or_default(),
                body.error.kind.unwrap_or_default()
            )
        })
        .unwrap_or_else(|| format!("HTTP {status}"));
    if status.is_server_error() || status.as_u16() == 429 {
        Err(ProviderError::Unavailable(message))
    } else {
        Err(ProviderError::Refused(message))
    }
}
