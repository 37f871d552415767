//! The `payments` table: an order's payment with its provider — the intent, its amount (from
//! the order, never the client) and where it stands.

use sea_orm::entity::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

/// A payment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub order_id: String,
    pub user_id: i64,
    pub provider: String,
    /// The provider's id of the intent (`pi_…` at Stripe).
    pub provider_ref: String,
    /// The provider's id of the captured payment, where it differs from the intent's
    /// (Razorpay's `pay_…`; refunds name it).
    pub captured_ref: Option<String>,
    /// What the app's payment sheet needs; shown to the payment's owner only.
    pub client_secret: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub status: PaymentState,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where a payment stands with its provider.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "UPPERCASE")]
pub enum PaymentState {
    /// The intent exists; no outcome yet.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Captured.
    #[sea_orm(string_value = "PAID")]
    Paid,
    /// The attempt failed (the customer may try again with the same intent).
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// Given back in full.
    #[sea_orm(string_value = "REFUNDED")]
    Refunded,
}

impl PaymentState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Pending => "PENDING",
            PaymentState::Paid => "PAID",
            PaymentState::Failed => "FAILED",
            PaymentState::Refunded => "REFUNDED",
        }
    }
}
