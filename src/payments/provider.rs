//! The payment providers behind one interface: the offline `dummy` (intents made locally,
//! confirmed by their owner through a webhook signed like Stripe's and sent through the same
//! verified path) and Stripe's REST API (form-encoded requests, `Authorization: Bearer`, an
//! `Idempotency-Key` on every creation, its `{"error": {...}}` bodies and timeouts understood).
//! Razorpay joins here.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::payment;
use crate::settings::{PaymentSettings, RazorpaySettings, Settings, StripeSettings, Timeouts};

/// The HTTP client for calls bounded by `timeouts` (`EMPORIUM_OUTGOING_CONNECT_TIMEOUT` to
/// connect, `EMPORIUM_OUTGOING_TIMEOUT` for the whole call, after which it counts as failed and
/// is retried later with the same idempotency key); one per set of timeouts in the process, so
/// connections and TLS sessions are reused. Redirects are never followed.
fn client(timeouts: &Timeouts) -> reqwest::Client {
    static CLIENTS: OnceLock<Mutex<HashMap<Timeouts, reqwest::Client>>> = OnceLock::new();
    let mut clients = CLIENTS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    clients
        .entry(*timeouts)
        .or_insert_with(|| {
            reqwest::Client::builder()
                .timeout(timeouts.outgoing)
                .connect_timeout(timeouts.connect)
                .redirect(reqwest::redirect::Policy::none())
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
    /// Razorpay.
    Razorpay(RazorpaySettings),
}

/// An intent as the provider made it.
#[derive(Clone, Debug)]
pub struct Intent {
    pub provider_ref: String,
    pub client_secret: Option<String>,
}

/// What Razorpay Checkout in the app needs besides the amount: the order to pay and the key.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RazorpayCheckout {
    pub order_id: String,
    pub key_id: String,
}

/// Where a provider says an intent is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntentState {
    /// Settled one way or the other, or still on its way.
    pub status: IntentStatus,
    pub amount: i64,
    pub currency: String,
}

/// A provider's word for an intent, in Stripe's vocabulary (Razorpay's `paid` is `succeeded`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IntentStatus {
    /// Captured.
    Succeeded,
    /// Given up.
    Canceled,
    /// Anything else (`requires_payment_method`, `processing`, Razorpay's `attempted` …): the
    /// provider's word, as said.
    InProgress(String),
}

impl IntentStatus {
    /// Reads the provider's word.
    pub fn parse(word: &str) -> IntentStatus {
        match word {
            "succeeded" => IntentStatus::Succeeded,
            "canceled" => IntentStatus::Canceled,
            other => IntentStatus::InProgress(other.to_owned()),
        }
    }
}

impl std::fmt::Display for IntentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IntentStatus::Succeeded => "succeeded",
            IntentStatus::Canceled => "canceled",
            IntentStatus::InProgress(word) => word,
        })
    }
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
struct RazorpayOrder {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    amount: i64,
    #[serde(default)]
    currency: String,
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
            PaymentSettings::Razorpay(razorpay) => Provider::Razorpay(razorpay.clone()),
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

    /// The longest a call to the provider may take (nothing for the offline dummy).
    pub fn call_timeout(&self) -> std::time::Duration {
        match self {
            Provider::Dummy { .. } => std::time::Duration::ZERO,
            Provider::Stripe(stripe) => stripe.timeouts.outgoing,
            Provider::Razorpay(razorpay) => razorpay.timeouts.outgoing,
        }
    }

    /// The name stored with each payment and event.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Dummy { .. } => "dummy",
            Provider::Stripe(_) => "stripe",
            Provider::Razorpay(_) => "razorpay",
        }
    }

    /// The secret webhooks from this provider are signed with.
    pub fn webhook_secret(&self) -> &[u8] {
        match self {
            Provider::Dummy { webhook_secret } => webhook_secret,
            Provider::Stripe(stripe) => stripe.webhook_secret.expose(),
            Provider::Razorpay(razorpay) => razorpay.webhook_secret.expose(),
        }
    }

    /// Razorpay Checkout's parameters for a payment, when the provider is Razorpay.
    pub fn checkout(&self, payment: &payment::Model) -> Option<RazorpayCheckout> {
        match self {
            Provider::Razorpay(razorpay) => Some(RazorpayCheckout {
                order_id: payment.provider_ref.clone(),
                key_id: razorpay.key_id.clone(),
            }),
            _ => None,
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
                let request = client(&stripe.timeouts)
                    .post(format!("{}/v1/payment_intents", stripe.api_base))
                    .bearer_auth(stripe.secret_key.expose_str())
                    .header("Idempotency-Key", idempotency_key)
                    .form(&form);
                let intent: StripeIntent = call(request, stripe_error).await?;
                Ok(Intent {
                    provider_ref: intent.id,
                    client_secret: intent.client_secret,
                })
            }
            Provider::Razorpay(razorpay) => {
                // The receipt names the order (Razorpay keeps it unique per order it made).
                let body = serde_json::json!({
                    "amount": amount,
                    "currency": currency.to_uppercase(),
                    "receipt": order_id,
                    "notes": {"order_id": order_id, "idempotency_key": idempotency_key},
                });
                let request = client(&razorpay.timeouts)
                    .post(format!("{}/v1/orders", razorpay.api_base))
                    .basic_auth(&razorpay.key_id, Some(razorpay.key_secret.expose_str()))
                    .json(&body);
                let order: RazorpayOrder = call(request, razorpay_error).await?;
                Ok(Intent {
                    provider_ref: order.id,
                    client_secret: None,
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
                let request = client(&stripe.timeouts)
                    .get(format!(
                        "{}/v1/payment_intents/{provider_ref}",
                        stripe.api_base
                    ))
                    .bearer_auth(stripe.secret_key.expose_str());
                let intent: StripeIntent = call(request, stripe_error).await?;
                Ok(Some(IntentState {
                    status: IntentStatus::parse(&intent.status),
                    amount: intent.amount,
                    currency: intent.currency,
                }))
            }
            Provider::Razorpay(razorpay) => {
                let request = client(&razorpay.timeouts)
                    .get(format!("{}/v1/orders/{provider_ref}", razorpay.api_base))
                    .basic_auth(&razorpay.key_id, Some(razorpay.key_secret.expose_str()));
                let order: RazorpayOrder = call(request, razorpay_error).await?;
                // Razorpay's order is `paid` once a payment of it is captured.
                let status = match order.status.as_str() {
                    "paid" => IntentStatus::Succeeded,
                    other => IntentStatus::parse(other),
                };
                Ok(Some(IntentState {
                    status,
                    amount: order.amount,
                    currency: order.currency,
                }))
            }
        }
    }

    /// Refunds a captured payment in full; `idempotency_key` makes a retried refund one refund
    /// (Razorpay refuses a second full refund, which counts as done).
    pub async fn refund(
        &self,
        payment: &payment::Model,
        idempotency_key: &str,
    ) -> Result<(), ProviderError> {
        match self {
            Provider::Dummy { .. } => Ok(()),
            Provider::Stripe(stripe) => {
                let request = client(&stripe.timeouts)
                    .post(format!("{}/v1/refunds", stripe.api_base))
                    .bearer_auth(stripe.secret_key.expose_str())
                    .header("Idempotency-Key", idempotency_key)
                    .form(&[("payment_intent", payment.provider_ref.as_str())]);
                let _: serde_json::Value = call(request, stripe_error).await?;
                Ok(())
            }
            Provider::Razorpay(razorpay) => {
                let captured = payment.captured_ref.as_deref().ok_or_else(|| {
                    ProviderError::Refused("no captured Razorpay payment to refund".to_owned())
                })?;
                let request = client(&razorpay.timeouts)
                    .post(format!(
                        "{}/v1/payments/{captured}/refund",
                        razorpay.api_base
                    ))
                    .basic_auth(&razorpay.key_id, Some(razorpay.key_secret.expose_str()))
                    .json(&serde_json::json!({"notes": {"idempotency_key": idempotency_key}}));
                match call::<serde_json::Value>(request, razorpay_error).await {
                    Err(ProviderError::Refused(reason)) if reason.contains("fully refunded") => {
                        Ok(())
                    }
                    other => other.map(|_| ()),
                }
            }
        }
    }
}

impl Provider {
    /// Refunds one capture in full — `amount` minor units of Stripe's charge or Razorpay's
    /// payment `capture` — whatever intent it belongs to (an extra capture of an order already
    /// paid). `idempotency_key` makes a retried refund one refund (Razorpay refuses a second
    /// full refund, which counts as done).
    pub async fn refund_capture(
        &self,
        capture: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<(), ProviderError> {
        match self {
            Provider::Dummy { .. } => Ok(()),
            Provider::Stripe(stripe) => {
                let request = client(&stripe.timeouts)
                    .post(format!("{}/v1/refunds", stripe.api_base))
                    .bearer_auth(stripe.secret_key.expose_str())
                    .header("Idempotency-Key", idempotency_key)
                    .form(&[
                        ("charge", capture.to_owned()),
                        ("amount", amount.to_string()),
                    ]);
                let _: serde_json::Value = call(request, stripe_error).await?;
                Ok(())
            }
            Provider::Razorpay(razorpay) => {
                let request = client(&razorpay.timeouts)
                    .post(format!(
                        "{}/v1/payments/{capture}/refund",
                        razorpay.api_base
                    ))
                    .basic_auth(&razorpay.key_id, Some(razorpay.key_secret.expose_str()))
                    .json(&serde_json::json!({
                        "amount": amount,
                        "notes": {"idempotency_key": idempotency_key},
                    }));
                match call::<serde_json::Value>(request, razorpay_error).await {
                    Err(ProviderError::Refused(reason)) if reason.contains("fully refunded") => {
                        Ok(())
                    }
                    other => other.map(|_| ()),
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct RazorpayErrorBody {
    error: RazorpayError,
}

#[derive(Deserialize)]
struct RazorpayError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// The message of Stripe's error body, `{"error": {"message", "type"}}`.
fn stripe_error(bytes: &[u8]) -> Option<String> {
    let body: StripeErrorBody = serde_json::from_slice(bytes).ok()?;
    Some(format!(
        "{} ({})",
        body.error.message.unwrap_or_default(),
        body.error.kind.unwrap_or_default()
    ))
}

/// The message of Razorpay's error body, `{"error": {"description", "code"}}`.
fn razorpay_error(bytes: &[u8]) -> Option<String> {
    let body: RazorpayErrorBody = serde_json::from_slice(bytes).ok()?;
    Some(format!(
        "{} ({})",
        body.error.description.unwrap_or_default(),
        body.error.code.unwrap_or_default()
    ))
}

/// Sends a request to a provider and reads its answer: the object on 2xx; the error body's
/// message (read by `read_error`) as a refusal on 4xx; "unavailable" on 5xx, 429, a timeout or
/// no connection.
async fn call<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    read_error: fn(&[u8]) -> Option<String>,
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
    let message = read_error(&bytes).unwrap_or_else(|| format!("HTTP {status}"));
    if status.is_server_error() || status.as_u16() == 429 {
        Err(ProviderError::Unavailable(message))
    } else {
        Err(ProviderError::Refused(message))
    }
}
