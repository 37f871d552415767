//! The payment provider and its credentials.

use super::read::{base_url, value};
use super::values::Secret;
use super::{SettingsError, Source, Timeouts, invalid};

/// Which provider takes payments.
#[derive(Clone, Debug)]
pub enum PaymentSettings {
    /// `EMPORIUM_PAYMENT_PROVIDER=dummy` (the default): offline, confirmed by the app itself.
    Dummy,
    /// `EMPORIUM_PAYMENT_PROVIDER=stripe`.
    Stripe(StripeSettings),
    /// `EMPORIUM_PAYMENT_PROVIDER=razorpay`.
    Razorpay(RazorpaySettings),
}

/// Stripe's API and webhook credentials.
#[derive(Clone)]
pub struct StripeSettings {
    /// `STRIPE_SECRET_KEY`: `sk_test_…` or `sk_live_…`.
    pub secret_key: Secret,
    /// `STRIPE_WEBHOOK_SECRET`: the endpoint's signing secret, `whsec_…`.
    pub webhook_secret: Secret,
    /// `STRIPE_API_BASE`: default `https://api.stripe.com` (tests point it at a stand-in).
    pub api_base: String,
    /// How long a call to it may take (`EMPORIUM_OUTGOING_*`).
    pub timeouts: Timeouts,
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSettings")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

fn required(
    source: &dyn Source,
    name: &'static str,
    provider: &str,
) -> Result<Secret, SettingsError> {
    match value(source, name)? {
        Some(text) if !text.trim().is_empty() => Ok(Secret::new(text.trim().as_bytes().to_vec())),
        _ => Err(invalid(
            name,
            format!("is required with EMPORIUM_PAYMENT_PROVIDER={provider}"),
        )),
    }
}

fn api_base(
    source: &dyn Source,
    name: &'static str,
    default: &str,
) -> Result<String, SettingsError> {
    match value(source, name)? {
        Some(text) => base_url(name, &text),
        None => Ok(default.to_owned()),
    }
}

impl PaymentSettings {
    /// Reads `EMPORIUM_PAYMENT_PROVIDER` and the chosen provider's variables; calls to the
    /// provider are bounded by `timeouts`.
    pub(super) fn read(
        source: &dyn Source,
        timeouts: Timeouts,
    ) -> Result<PaymentSettings, SettingsError> {
        match value(source, "EMPORIUM_PAYMENT_PROVIDER")?.as_deref() {
            None | Some("dummy") => Ok(PaymentSettings::Dummy),
            Some("stripe") => Ok(PaymentSettings::Stripe(StripeSettings {
                secret_key: required(source, "STRIPE_SECRET_KEY", "stripe")?,
                webhook_secret: required(source, "STRIPE_WEBHOOK_SECRET", "stripe")?,
                api_base: api_base(source, "STRIPE_API_BASE", "https://api.stripe.com")?,
                timeouts,
            })),
            Some("razorpay") => Ok(PaymentSettings::Razorpay(RazorpaySettings {
                key_id: required(source, "RAZORPAY_KEY_ID", "razorpay")?
                    .expose_str()
                    .to_owned(),
                key_secret: required(source, "RAZORPAY_KEY_SECRET", "razorpay")?,
                webhook_secret: required(source, "RAZORPAY_WEBHOOK_SECRET", "razorpay")?,
                api_base: api_base(source, "RAZORPAY_API_BASE", "https://api.razorpay.com")?,
                timeouts,
            })),
            Some(other) => Err(invalid(
                "EMPORIUM_PAYMENT_PROVIDER",
                format!("{other:?} is not one of dummy, stripe, razorpay"),
            )),
        }
    }
}

/// Razorpay's API, Checkout and webhook credentials.
#[derive(Clone)]
pub struct RazorpaySettings {
    /// `RAZORPAY_KEY_ID`: `rzp_test_…` (public: the app's Checkout gets it).
    pub key_id: String,
    /// `RAZORPAY_KEY_SECRET`: API basic auth and Checkout signatures.
    pub key_secret: Secret,
    /// `RAZORPAY_WEBHOOK_SECRET`: the webhook's signing secret.
    pub webhook_secret: Secret,
    /// `RAZORPAY_API_BASE`: default `https://api.razorpay.com`.
    pub api_base: String,
    /// How long a call to it may take (`EMPORIUM_OUTGOING_*`).
    pub timeouts: Timeouts,
}

impl std::fmt::Debug for RazorpaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RazorpaySettings")
            .field("key_id", &self.key_id)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}
