//! Request and response types of `/api/payments/`, with their OpenAPI schemas.

use serde::Serialize;
use utoipa::ToSchema;

use super::payment::{self, PaymentState};
use super::provider::RazorpayCheckout;
use crate::http::extract::{Fields, FromFields};
use crate::money::{Currency, Money};

/// The providers a payment can go through: `dummy` (offline), `stripe`, `razorpay`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum PaymentProvider {
    Dummy,
    Stripe,
    Razorpay,
}

/// A payment as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// A UUID.
    pub payment_id: String,
    /// Who takes the payment.
    #[schema(value_type = PaymentProvider)]
    pub provider: String,
    /// What the app's payment sheet needs.
    pub client_secret: Option<String>,
    /// The order's total, never the client's.
    #[schema(example = "46.30")]
    pub amount: String,
    #[schema(example = "USD")]
    pub currency: String,
    pub status: PaymentState,
    /// With Razorpay: what its Checkout needs (the order to pay and the key id); else null.
    pub razorpay: Option<RazorpayCheckout>,
}

impl PaymentView {
    /// The view of a payment, with Razorpay Checkout's parameters when they apply.
    pub fn new(p: payment::Model, razorpay: Option<RazorpayCheckout>) -> PaymentView {
        let currency = Currency::from_code(&p.currency).unwrap_or(Currency::USD);
        PaymentView {
            payment_id: p.id,
            provider: p.provider,
            client_secret: p.client_secret,
            amount: Money::from_minor(p.amount).format(currency),
            currency: p.currency,
            status: p.status,
            razorpay,
        }
    }
}

/// `POST /api/payments/razorpay/verify/`: what Razorpay Checkout hands the app.
#[derive(Debug, ToSchema)]
pub struct RazorpayVerify {
    #[schema(min_length = 1, max_length = 100)]
    pub razorpay_order_id: String,
    #[schema(min_length = 1, max_length = 100)]
    pub razorpay_payment_id: String,
    /// Hex HMAC-SHA256 of `razorpay_order_id|razorpay_payment_id` with the key secret.
    #[schema(min_length = 1, max_length = 200)]
    pub razorpay_signature: String,
}

impl FromFields for RazorpayVerify {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let order = fields.required_text("razorpay_order_id", 100);
        let payment = fields.required_text("razorpay_payment_id", 100);
        let signature = fields.required_text("razorpay_signature", 200);
        Some(RazorpayVerify {
            razorpay_order_id: order?,
            razorpay_payment_id: payment?,
            razorpay_signature: signature?,
        })
    }
}

/// `POST /api/payments/create-intent/`.
#[derive(Debug, ToSchema)]
pub struct CreateIntent {
    /// The order to pay (a UUID).
    pub order_id: uuid::Uuid,
}

impl FromFields for CreateIntent {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        Some(CreateIntent {
            order_id: fields.required("order_id")?,
        })
    }
}

/// `POST /api/payments/{payment_id}/confirm/` (the dummy provider).
#[derive(Debug, ToSchema)]
pub struct Confirm {
    /// How the payment ends.
    pub outcome: Outcome,
}

/// How a dummy payment ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Outcome {
    /// Paid.
    Succeeded,
    /// Declined.
    Failed,
}

impl FromFields for Confirm {
    fn from_fields(fields: &mut Fields) -> Option<Self> {
        let word = fields.required::<String>("outcome")?;
        let outcome = match word.as_str() {
            "succeeded" => Outcome::Succeeded,
            "failed" => Outcome::Failed,
            _ => {
                fields.error("outcome", format!("\"{word}\" is not a valid choice."));
                return None;
            }
        };
        Some(Confirm { outcome })
    }
}
