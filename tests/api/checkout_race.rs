//! A checkout orders the cart as it was when the checkout was asked for. The benchmark saw an
//! add answer 200 and the same user's next checkout find the cart empty: a checkout from an
//! earlier round, whose client had gone, was still waiting for a database connection; it then
//! took the cart — with the new line in it — and ordered it. Now a cart that changed after the
//! checkout arrived is refused, and the line stays in the cart for the checkout that follows.

use chrono::{TimeDelta, Utc};
use emporium::cart::shopping_cart;
use emporium::orders::order;
use sea_orm::sea_query::Expr;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

use crate::fixtures::{add_to_cart, address, cart, place_order, product, stock};
use crate::helpers::spawn_app;

/// Moves every cart's last change to `at`: as if an add had committed then.
async fn changed_at(app: &crate::helpers::TestApp, at: chrono::DateTime<Utc>) {
    shopping_cart::Entity::update_many()
        .col_expr(shopping_cart::Column::UpdatedAt, Expr::value(at))
        .exec(&app.state.db)
        .await
        .expect("moved");
}

#[tokio::test]
async fn a_checkout_never_orders_a_line_added_after_it_was_asked_for() {
    let app = spawn_app().await;
    let staff = app.staff_token().await;
    let buyer = app.customer_token().await;
    let lamp = product(&app, &staff, "Lamp", "12.50", 5).await;
    let (status, _) = add_to_cart(&app, &buyer, json!({"product_id": lamp, "quantity": 2})).await;
    assert_eq!(status, 200);

    // The add committed after the checkout arrived (the checkout waited): refused, and nothing
    // moved — the line is still in the cart, no order, no stock taken.
    changed_at(&app, Utc::now() + TimeDelta::seconds(30)).await;
    let (status, body) = place_order(&app, &buyer, json!({"shipping_address": address()})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["detail"],
        "Your cart changed while the order was being placed; nothing was ordered. Review it and place the order again."
    );
    assert_eq!(cart(&app, &buyer).await["items"][0]["quantity"], 2);
    assert_eq!(
        order::Entity::find()
            .count(&app.state.db)
            .await
            .expect("count"),
        0
    );
    assert_eq!(stock(&app, lamp).await, 5);

    // The next checkout, asked for after the change, orders it.
    changed_at(&app, Utc::now() - TimeDelta::seconds(1)).await;
    let (status, placed) = place_order(&app, &buyer, json!({"shipping_address": address()})).await;
    assert_eq!(status, 201, "{placed}");
    assert_eq!(placed["items"][0]["quantity"], 2);
    assert_eq!(stock(&app, lamp).await, 3);
}
