//! The stock events a change makes: `stock.low` when a variant's stock falls to the low-stock
//! threshold or below from above it, `stock.out` when it reaches 0. Their data is the variant as
//! staff see it, with its product's id.

use sea_orm::DbErr;
use serde::Serialize;

use super::Applied;
use crate::catalog::variant;
use crate::catalog::variants::views::VariantView;
use crate::events::kind::EventType;
use crate::events::service::{NewEvent, Resource};
use crate::money::Currency;

/// A `stock.*` event's data.
#[derive(Debug, Serialize)]
struct StockData {
    product_id: i64,
    #[serde(flatten)]
    variant: VariantView,
}

/// The events of the variants `applied` took stock from (`variants` as read before, `taken`
/// the units each lost), at `threshold`.
pub fn stock_events(
    applied: &[Applied],
    variants: &[&variant::Model],
    taken: &[(i64, i64)],
    threshold: i64,
    currency: Currency,
) -> Result<Vec<NewEvent>, DbErr> {
    let mut events = Vec::new();
    for a in applied {
        let units: i64 = taken
            .iter()
            .filter(|(id, _)| *id == a.variant_id)
            .map(|(_, q)| *q)
            .sum();
        let before = a.stock_after + units;
        let event_type = if a.stock_after <= 0 && before > 0 {
            EventType::StockOut
        } else if a.stock_after <= threshold && before > threshold {
            EventType::StockLow
        } else {
            continue;
        };
        let Some(row) = variants.iter().find(|v| v.id == a.variant_id) else {
            continue;
        };
        let now = variant::Model {
            stock: a.stock_after,
            price: a.price,
            sku: a.sku.clone(),
            ..(*row).clone()
        };
        let data = StockData {
            product_id: a.product_id,
            variant: VariantView::new(&now, currency),
        };
        events.push(NewEvent::of(
            event_type,
            Resource::Variant(a.variant_id),
            &data,
        )?);
    }
    Ok(events)
}
