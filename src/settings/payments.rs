//! The payment provider and its credentials.

use super::read::{base_url, value};
use super::values::Secret;
use super::{SettingsError, Source, invalid};

/// Which provider takes payments.
#[derive(Clone, Debug)]
pub enum PaymentSettings {
    /// `EMPORIUM_PAYMENT_PROVIDER=dummy` (the default): offline, confirmed by the app itself.
    Dummy,
    /// `EMPORIUM_PAYMENT_PROVIDER=stripe`.
    Stripe(StripeSettings),
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
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSettings")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

fn required(source: &dyn Source, name: &'static str) -> Result<Secret, SettingsError> {
    match value(source, name)? {
        Some(text) if !text.trim().is_empty() => Ok(Secret::new(text.trim().as_bytes().to_vec())),
        _ => Err(invalid(
            name,
            "is required with EMPORIUM_PAYMENT_PROVIDER=stripe",
        )),
    }
}

impl PaymentSettings {
    /// Reads `EMPORIUM_PAYMENT_PROVIDER` and the chosen provider's variables.
    pub(super) fn read(source: &dyn Source) -> Result<PaymentSettings, SettingsError> {
        match value(source, "EMPORIUM_PAYMENT_PROVIDER")?.as_deref() {
            None | Some("dummy") => Ok(PaymentSettings::Dummy),
            Some("stripe") => {
                let api_base = match value(source, "STRIPE_API_BASE")? {
                    Some(text) => base_url("STRIPE_API_BASE", &text)?,
                    None => "https://api.stripe.com".to_owned(),
                };
                Ok(PaymentSettings::Stripe(StripeSettings {
                    secret_key: required(source, "STRIPE_SECRET_KEY")?,
                    webhook_secret: required(source, "STRIPE_WEBHOOK_SECRET")?,
                    api_base,
                }))
            }
            Some(other) => Err(invalid(
                "EMPORIUM_PAYMENT_PROVIDER",
                format!("{other:?} is not one of dummy, stripe"),
            )),
        }
    }
}
