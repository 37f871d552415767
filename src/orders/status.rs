//! Where an order is, where its payment is, and every move an order's status may make — in one
//! `match`, so the rule a reader looks for is in one place.
//!
//! `PENDING → PAID → SHIPPED → DELIVERED`; `PENDING → CANCELLED` by its owner, staff or the
//! expiry of an unpaid order; `PAID → CANCELLED` by staff (the payment is refunded); `PENDING`
//! or `PAID → CANCELLED` by a full refund made at the provider (the money already went back).
//! `PAID` comes only from a payment.

use sea_orm::entity::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

/// Where an order is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "UPPERCASE")]
pub enum OrderStatus {
    /// Placed, not paid yet: its stock is held until it is paid or expires.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Paid: staff ship it.
    #[sea_orm(string_value = "PAID")]
    Paid,
    /// On its way.
    #[sea_orm(string_value = "SHIPPED")]
    Shipped,
    /// Arrived.
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    /// Cancelled: its stock and coupon use came back.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}

/// Who moves an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The customer who placed it.
    Owner,
    /// A staff member.
    Staff,
    /// The expiry of an unpaid order.
    Expiry,
    /// A payment that succeeded.
    Payment,
    /// A full refund made at the provider, before the order shipped.
    Refund,
}

impl OrderStatus {
    /// Every status.
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Paid => "PAID",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }

    /// The status called `name` (as stored and shown).
    pub fn parse(name: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether `by` may move an order from `self` to `to`: the whole lifecycle.
    pub fn can_move(self, to: OrderStatus, by: Actor) -> bool {
        use OrderStatus::{Cancelled, Delivered, Paid, Pending, Shipped};
        matches!(
            (self, to, by),
            (Pending, Paid, Actor::Payment)
                | (Paid, Shipped, Actor::Staff)
                | (Shipped, Delivered, Actor::Staff)
                | (
                    Pending,
                    Cancelled,
                    Actor::Owner | Actor::Staff | Actor::Expiry
                )
                | (Paid, Cancelled, Actor::Staff)
                | (Pending | Paid, Cancelled, Actor::Refund)
        )
    }

    /// The statuses from which `by` may move an order to `to` (what a conditional update
    /// requires the row to be in).
    pub fn sources(to: OrderStatus, by: Actor) -> Vec<OrderStatus> {
        OrderStatus::ALL
            .into_iter()
            .filter(|from| from.can_move(to, by))
            .collect()
    }

    /// True while the order stands paid: paid, shipped or delivered.
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            OrderStatus::Paid | OrderStatus::Shipped | OrderStatus::Delivered
        )
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an order's payment is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "UPPERCASE")]
pub enum PaymentStatus {
    /// No payment started.
    #[sea_orm(string_value = "UNPAID")]
    Unpaid,
    /// An intent exists; the customer has not paid yet.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Paid.
    #[sea_orm(string_value = "PAID")]
    Paid,
    /// The last attempt failed; the customer may try again.
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// The money went back.
    #[sea_orm(string_value = "REFUNDED")]
    Refunded,
}

impl PaymentStatus {
    /// Every payment status, in the order a payment goes through them.
    pub const ALL: [PaymentStatus; 5] = [
        PaymentStatus::Unpaid,
        PaymentStatus::Pending,
        PaymentStatus::Paid,
        PaymentStatus::Failed,
        PaymentStatus::Refunded,
    ];

    /// The status named `name` (as stored), if there is one.
    pub fn parse(name: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Unpaid => "UNPAID",
            PaymentStatus::Pending => "PENDING",
            PaymentStatus::Paid => "PAID",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::Refunded => "REFUNDED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole table: every (from, to, actor) not listed here is refused.
    #[test]
    fn the_lifecycle_allows_exactly_its_moves() {
        use Actor::{Expiry, Owner, Payment, Refund, Staff};
        use OrderStatus::{Cancelled, Delivered, Paid, Pending, Shipped};
        let allowed = [
            (Pending, Paid, Payment),
            (Paid, Shipped, Staff),
            (Shipped, Delivered, Staff),
            (Pending, Cancelled, Owner),
            (Pending, Cancelled, Staff),
            (Pending, Cancelled, Expiry),
            (Paid, Cancelled, Staff),
            (Pending, Cancelled, Refund),
            (Paid, Cancelled, Refund),
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                for by in [Owner, Staff, Expiry, Payment, Refund] {
                    assert_eq!(
                        from.can_move(to, by),
                        allowed.contains(&(from, to, by)),
                        "{from} -> {to} by {by:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn sources_are_the_statuses_a_move_starts_from() {
        assert_eq!(
            OrderStatus::sources(OrderStatus::Cancelled, Actor::Staff),
            [OrderStatus::Pending, OrderStatus::Paid]
        );
        assert_eq!(
            OrderStatus::sources(OrderStatus::Cancelled, Actor::Owner),
            [OrderStatus::Pending]
        );
        assert_eq!(
            OrderStatus::sources(OrderStatus::Cancelled, Actor::Refund),
            [OrderStatus::Pending, OrderStatus::Paid],
            "a refund never cancels what has shipped"
        );
        assert!(OrderStatus::sources(OrderStatus::Pending, Actor::Staff).is_empty());
    }

    #[test]
    fn names_round_trip() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::parse("paid"), None);
    }
}
