//! Invoices: when an order is paid, a job renders its PDF (shop, order number, date, lines with
//! their snapshot prices, discount, total, currency, shipping address), keeps it in the
//! database — private, served only to the owner and staff — and queues the confirmation email
//! with the PDF attached, both in one transaction so a job that runs twice issues and mails once.

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Set, TransactionTrait};
use serde::{Deserialize, Serialize};

use super::views::ShippingAddress;
use super::{charges, invoice_row, order, order_item, store};
use crate::auth::user;
use crate::email::{self, Attachment, ORDER_CONFIRMATION};
use crate::jobs::{Job, JobContext, JobError};
use crate::money::{Currency, Money};
use crate::pdf::{self, Line};
use crate::tax::pricing::format_rate;
use crate::{db, time};

/// Issues a paid order's invoice and queues its confirmation email, once.
#[derive(Debug, Serialize, Deserialize)]
pub struct MakeInvoice {
    /// The order.
    pub order_id: String,
}

impl Job for MakeInvoice {
    const KIND: &'static str = "orders.invoice";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        issue(&ctx, &self.order_id).await
    }
}

/// True while the order stands paid (paid, shipped or delivered). An order cancelled before
/// its payment landed — refunded at once — gets no invoice; one cancelled after it keeps the
/// invoice already issued.
pub fn is_paid(order: &order::Model) -> bool {
    order.status.is_paid()
}

/// The shop as its invoices name it: `EMPORIUM_SHOP_NAME` and `EMPORIUM_SHOP_ADDRESS`.
#[derive(Clone, Copy, Debug)]
pub struct Issuer<'a> {
    pub name: &'a str,
    pub address: &'a [String],
}

impl<'a> Issuer<'a> {
    /// The issuer the settings name.
    pub fn of(settings: &'a crate::settings::Settings) -> Issuer<'a> {
        Issuer {
            name: &settings.shop_name,
            address: &settings.tax.shop_address,
        }
    }
}

/// The PDF of an order's invoice.
pub fn render(
    shop: Issuer<'_>,
    customer: &str,
    order: &order::Model,
    items: &[order_item::Model],
) -> Vec<u8> {
    let currency = Currency::from_code(&order.currency).unwrap_or(Currency::USD);
    let money = |minor: i64| {
        format!(
            "{} {}",
            Money::from_minor(minor).format(currency),
            currency.code()
        )
    };
    let mut lines = vec![Line::bold(shop.name)];
    lines.extend(shop.address.iter().map(Line::plain));
    lines.extend([
        Line::plain(""),
        Line::bold("INVOICE"),
        Line::plain(""),
        Line::plain(format!("Order: {}", order.id)),
        Line::plain(format!("Date: {}", order.created_at.format("%Y-%m-%d"))),
        Line::plain(format!("Customer: {customer}")),
        Line::plain(""),
        Line::bold("Ship to"),
    ]);
    if let Ok(address) = serde_json::from_str::<ShippingAddress>(&order.shipping_address) {
        lines.push(Line::plain(address.full_name));
        lines.push(Line::plain(address.line1));
        if !address.line2.is_empty() {
            lines.push(Line::plain(address.line2));
        }
        let state = if address.state.is_empty() {
            String::new()
        } else {
            format!(" {}", address.state)
        };
        lines.push(Line::plain(format!(
            "{}{state} {}",
            address.city, address.postal_code
        )));
        lines.push(Line::plain(address.country));
        if let Some(phone) = address.phone {
            lines.push(Line::plain(phone));
        }
    }
    lines.push(Line::plain(""));
    lines.push(Line::bold("Items"));
    for item in items {
        let tax = if item.tax_rate > 0 {
            format!(" (tax {} %)", format_rate(item.tax_rate))
        } else {
            String::new()
        };
        lines.push(Line::plain(format!(
            "{} x {}{} at {} = {}{tax}",
            item.quantity,
            item.product_name,
            variant_text(item),
            money(item.price_snapshot),
            money(item.subtotal)
        )));
    }
    lines.push(Line::plain(""));
    lines.extend(totals(order).into_iter().map(|(label, minor)| {
        let text = format!("{label}: {}", money(minor));
        if label == "Total" {
            Line::bold(text)
        } else {
            Line::plain(text)
        }
    }));
    if order.prices_include_tax {
        lines.push(Line::plain("Prices include tax."));
    }
    lines.push(Line::plain("Paid. Thank you."));
    pdf::document(&format!("Invoice {}", order.id), &lines)
}

/// The invoice's amounts, in order: subtotal, discount, shipping, net (what is taxed), tax per
/// name and rate, total.
fn totals(order: &order::Model) -> Vec<(String, i64)> {
    let mut rows = vec![("Subtotal".to_owned(), order.subtotal)];
    if order.discount > 0 {
        let code = order.coupon.as_deref().unwrap_or("coupon");
        rows.push((format!("Discount ({code})"), -order.discount));
    }
    if let Some(method) = &order.shipping_method_name {
        rows.push((format!("Shipping ({method})"), order.shipping_amount));
    }
    let gross = order.subtotal - order.discount + order.shipping_amount;
    let net = if order.prices_include_tax {
        gross - order.tax_amount
    } else {
        gross
    };
    let tax_lines = charges::tax_lines(order.tax_lines.as_deref());
    if !tax_lines.is_empty() {
        rows.push(("Net".to_owned(), net));
    }
    for line in tax_lines {
        rows.push((
            format!("{} {} %", line.name, format_rate(line.rate)),
            line.amount,
        ));
    }
    rows.push(("Total".to_owned(), order.total_amount));
    rows
}

async fn customer_email<C: ConnectionTrait>(conn: &C, user_id: i64) -> Result<String, DbErr> {
    Ok(user::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .map(|u| u.email)
        .unwrap_or_default())
}

/// The order's invoice: as issued, or — paid but not issued yet — rendered now (the same
/// document). `None` before the order is paid.
pub async fn invoice(
    db: &DatabaseConnection,
    shop: Issuer<'_>,
    order: &order::Model,
) -> Result<Option<Vec<u8>>, DbErr> {
    if let Some(issued) = invoice_row::Entity::find_by_id(order.id.clone())
        .one(db)
        .await?
    {
        return Ok(Some(issued.pdf));
    }
    if !is_paid(order) {
        return Ok(None);
    }
    let items = store::items_of(db, std::slice::from_ref(&order.id))
        .await?
        .remove(&order.id)
        .unwrap_or_default();
    let customer = customer_email(db, order.user_id).await?;
    Ok(Some(render(shop, &customer, order, &items)))
}

async fn issue(ctx: &JobContext, order_id: &str) -> Result<(), JobError> {
    let state = &ctx.state;
    let Some(order) = store::order(&state.db, order_id).await? else {
        return Ok(());
    };
    if !is_paid(&order) {
        return Ok(());
    }
    let issuer = Issuer::of(&state.settings);
    let shop = issuer.name;
    let customer = customer_email(&state.db, order.user_id).await?;
    let items = store::items_of(&state.db, std::slice::from_ref(&order.id))
        .await?
        .remove(&order.id)
        .unwrap_or_default();
    let pdf = render(issuer, &customer, &order, &items);
    let tx = state.db.begin().await?;
    let inserted = invoice_row::Entity::insert(invoice_row::ActiveModel {
        order_id: Set(order.id.clone()),
        pdf: Set(pdf.clone()),
        created_at: Set(time::now()),
    })
    .exec_without_returning(&tx)
    .await;
    match inserted {
        Ok(_) => {}
        // Issued (and mailed) by an earlier run.
        Err(e) if db::is_unique_violation(&e) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let currency = Currency::from_code(&order.currency).unwrap_or(Currency::USD);
    let total = format!(
        "{} {}",
        Money::from_minor(order.total_amount).format(currency),
        currency.code()
    );
    let mut message = ORDER_CONFIRMATION
        .render(
            &customer,
            &[
                ("shop", shop),
                ("order", order.id.as_str()),
                ("total", total.as_str()),
            ],
        )
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    message.attachments.push(Attachment::new(
        &format!("invoice-{}.pdf", order.id),
        "application/pdf",
        &pdf,
    ));
    email::job::enqueue(&tx, message).await?;
    tx.commit().await?;
    Ok(())
}

/// ` (Colour Blue, Size M; SKU TEE-B-M)` for an item of a variant with options; nothing for a
/// product without options.
fn variant_text(item: &order_item::Model) -> String {
    let options: serde_json::Map<String, serde_json::Value> = item
        .variant_options
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    if options.is_empty() {
        return String::new();
    }
    let values: Vec<String> = options
        .iter()
        .map(|(name, value)| format!("{name} {}", value.as_str().unwrap_or_default()))
        .collect();
    match &item.sku {
        Some(sku) => format!(" ({}; SKU {sku})", values.join(", ")),
        None => format!(" ({})", values.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(options: Option<&str>, sku: Option<&str>) -> order_item::Model {
        order_item::Model {
            id: 1,
            order_id: "o".to_owned(),
            product_id: Some(1),
            product_name: "Tee".to_owned(),
            variant_id: Some(2),
            sku: sku.map(str::to_owned),
            variant_options: options.map(str::to_owned),
            price_snapshot: 1800,
            quantity: 1,
            subtotal: 1800,
            tax_rate: 0,
            tax_amount: 0,
        }
    }

    #[test]
    fn an_item_of_a_variant_names_its_options_and_sku() {
        assert_eq!(
            variant_text(&item(
                Some(r#"{"Size":"M","Colour":"Blue"}"#),
                Some("TEE-B-M")
            )),
            " (Colour Blue, Size M; SKU TEE-B-M)"
        );
        assert_eq!(variant_text(&item(Some("{}"), Some("P1"))), "");
        assert_eq!(variant_text(&item(None, None)), "");
    }
}
