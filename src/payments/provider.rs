//! The payment providers behind one interface. Today the offline `dummy` provider: intents made
//! locally, confirmed by their owner through a webhook signed like Stripe's and sent through the
//! same verified path as a real provider's; Stripe and Razorpay join here.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::settings::Settings;

/// The provider a payment goes through.
#[derive(Clone)]
pub enum Provider {
    /// Offline: nothing leaves the process.
    Dummy {
        /// The secret its webhooks are signed with (derived from `EMPORIUM_SECRET_KEY`).
        webhook_secret: Vec<u8>,
    },
}

/// An intent as the provider made it.
#[derive(Clone, Debug)]
pub struct Intent {
    pub provider_ref: String,
    pub client_secret: Option<String>,
}

impl Provider {
    /// The configured provider.
    pub fn from_settings(settings: &Settings) -> Provider {
        let mut mac = Hmac::<Sha256>::new_from_slice(settings.secret_key.expose())
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(b"emporium dummy payments webhook");
        Provider::Dummy {
            webhook_secret: mac.finalize().into_bytes().to_vec(),
        }
    }

    /// The name stored with each payment and event.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Dummy { .. } => "dummy",
        }
    }

    /// The secret webhooks from this provider are signed with.
    pub fn webhook_secret(&self) -> &[u8] {
        match self {
            Provider::Dummy { webhook_secret } => webhook_secret,
        }
    }

    /// Creates the intent for an order's amount (called once per order: the order's id is the
    /// idempotency key a remote provider gets).
    pub async fn create_intent(&self, _order_id: &str, _amount: i64, _currency: &str) -> Intent {
        match self {
            Provider::Dummy { .. } => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                Intent {
                    client_secret: Some(format!(
                        "dummy_pi_{id}_secret_{}",
                        uuid::Uuid::new_v4().simple()
                    )),
                    provider_ref: format!("dummy_pi_{id}"),
                }
            }
        }
    }

    /// Refunds a captured payment in full (the dummy has nothing to send back).
    pub async fn refund(&self, _provider_ref: &str, _amount: i64) -> Result<(), String> {
        match self {
            Provider::Dummy { .. } => Ok(()),
        }
    }
}
