//! Fixtures the tests share, each written once: catalog rows made by staff, accounts and an
//! address made through the API, a cart and an order placed from it, a paid order (paid with
//! the offline `dummy` provider) or one moved to a status directly, and an app whose mail goes
//! to an SMTP listener.

use emporium::orders::order;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Spawn, TestApp, spawn};
use crate::standins::{ReceivedMail, SmtpServer};

// The catalog.

/// A category named `name` (under `parent`) made by `staff`; its id.
pub async fn new_category(app: &TestApp, staff: &str, name: &str, parent: Option<i64>) -> i64 {
    category_of(app, staff, json!({"name": name, "parent": parent})).await
}

/// A category with exactly the fields of `fields` (no `parent` key unless given) made by
/// `staff`; its id.
pub async fn category_of(app: &TestApp, staff: &str, fields: Value) -> i64 {
    let (status, body) = app.post("/api/categories/", Some(staff), fields).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

/// A product with `fields` made by `staff`; the created product as answered.
pub async fn new_product(app: &TestApp, staff: &str, fields: Value) -> Value {
    let (status, body) = app.post("/api/products/", Some(staff), fields).await;
    assert_eq!(status, 201, "{body}");
    body
}

/// A product of `stock` units at `price` in a new category of its own (`"{name} shelf"`); its
/// id.
pub async fn product(app: &TestApp, staff: &str, name: &str, price: &str, stock: i64) -> i64 {
    let category = new_category(app, staff, &format!("{name} shelf"), None).await;
    let body = new_product(
        app,
        staff,
        json!({"name": name, "price": price, "category": category, "stock": stock}),
    )
    .await;
    body["id"].as_i64().expect("id")
}

/// The one variant of a product without options.
pub async fn only_variant(app: &TestApp, product_id: i64) -> i64 {
    use sea_orm::{ColumnTrait, QueryFilter};
    let variants = emporium::catalog::variant::Entity::find()
        .filter(emporium::catalog::variant::Column::ProductId.eq(product_id))
        .all(&app.state.db)
        .await
        .expect("query");
    assert_eq!(
        variants.len(),
        1,
        "a product without options has one variant"
    );
    variants[0].id
}

/// The stock of product `id` as stored.
pub async fn stock(app: &TestApp, id: i64) -> i64 {
    emporium::catalog::product::Entity::find_by_id(id)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("product")
        .stock
}

// Accounts and addresses.

/// Registers `email` with `password`: the status and the body.
pub async fn register(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let body = json!({"email": email, "password": password});
    app.post("/api/auth/register/", None, body).await
}

/// Logs `email` in with `password`: the status and the body (the token pair on success).
pub async fn login(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let body = json!({"email": email, "password": password});
    app.post("/api/auth/login/", None, body).await
}

/// Registers `email` with [`PASSWORD`] and logs in; returns (access, refresh).
pub async fn signed_up(app: &TestApp, email: &str) -> (String, String) {
    let (status, _) = register(app, email, PASSWORD).await;
    assert_eq!(status, 201);
    let (status, body) = login(app, email, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let field = |name: &str| body[name].as_str().expect("token").to_owned();
    (field("access"), field("refresh"))
}

/// Trades the refresh `token` for a new pair: the status and the body.
pub async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    app.post("/api/auth/refresh/", None, json!({"refresh": token}))
        .await
}

/// The shipping address the order tests send (Ada Lovelace, Springfield, US).
pub fn address() -> Value {
    json!({"full_name": "Ada Lovelace", "line1": "1 Main St", "city": "Springfield",
        "postal_code": "12345", "country": "US"})
}

/// [`address`] saved in `token`'s address book; its id.
pub async fn new_address(app: &TestApp, token: &str) -> i64 {
    let (status, body) = app
        .post("/api/auth/addresses/", Some(token), address())
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().expect("id")
}

// The cart and orders.

/// Adds to `token`'s cart (`body` as the client sends it): the status and the cart.
pub async fn add_to_cart(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.post("/api/cart/add/", Some(token), body).await
}

/// `token`'s cart (asserting the 200).
pub async fn cart(app: &TestApp, token: &str) -> Value {
    let (status, body) = app.get_as("/api/cart/", Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `n` new customers, customer `i` with `lines[i % len]` (an add-to-cart body) in their cart:
/// their access tokens.
pub async fn buyers(app: &TestApp, lines: &[Value], n: usize) -> Vec<String> {
    let mut tokens = Vec::with_capacity(n);
    for i in 0..n {
        let token = app.customer_token().await;
        let (status, body) = add_to_cart(app, &token, lines[i % lines.len()].clone()).await;
        assert_eq!(status, 200, "{body}");
        tokens.push(token);
    }
    tokens
}

/// Checks out `token`'s cart with `body`: the status and the order.
pub async fn place_order(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.post("/api/orders/create/", Some(token), body).await
}

/// What an order is made of: `quantity` units of a new product (named `name` plus a unique
/// suffix, at `price`, with `stock` units), shipped to `address`.
pub struct Basket<'a> {
    pub name: &'a str,
    pub price: &'a str,
    pub stock: i64,
    pub quantity: i64,
    pub address: Value,
}

impl Basket<'static> {
    /// `quantity` boots at 10.00 of ten in stock, to [`address`].
    pub fn boots(quantity: i64) -> Basket<'static> {
        Basket {
            name: "Boot",
            price: "10.00",
            stock: 10,
            quantity,
            address: address(),
        }
    }
}

/// Makes `basket`'s product as `staff`, puts it in `token`'s cart and checks out (asserting
/// the 201); returns (order id, product id).
pub async fn order_of(
    app: &TestApp,
    staff: &str,
    token: &str,
    basket: Basket<'_>,
) -> (String, i64) {
    let name = format!("{} {}", basket.name, uuid::Uuid::new_v4().simple());
    let item = product(app, staff, &name, basket.price, basket.stock).await;
    let line = json!({"product_id": item, "quantity": basket.quantity});
    add_to_cart(app, token, line).await;
    let body = json!({"shipping_address": basket.address});
    let (status, order) = place_order(app, token, body).await;
    assert_eq!(status, 201, "{order}");
    (order["id"].as_str().expect("id").to_owned(), item)
}

/// An order a new customer placed.
pub struct Placed {
    /// The customer's access token.
    pub token: String,
    /// The order's id.
    pub id: String,
    /// The product ordered.
    pub product: i64,
}

/// A new customer's order of `basket` (see [`order_of`]).
pub async fn customer_order(app: &TestApp, staff: &str, basket: Basket<'_>) -> Placed {
    let token = app.customer_token().await;
    let (id, product) = order_of(app, staff, &token, basket).await;
    Placed { token, id, product }
}

/// Sets order `id`'s status in the database, as a move the API does not offer would.
pub async fn set_status(app: &TestApp, id: &str, status: &str) {
    order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(status))
        .filter(order::Column::Id.eq(id))
        .exec(&app.state.db)
        .await
        .expect("status");
}

// Payments.

/// Asks for a payment intent for `order_id` as `token`'s user, with the fields of `extra` added
/// to the body (a client's amount or currency, which the server ignores).
pub async fn create_intent(
    app: &TestApp,
    token: &str,
    order_id: &str,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let mut body = json!({"order_id": order_id});
    for (name, value) in extra {
        body[*name] = json!(value);
    }
    app.post("/api/payments/create-intent/", Some(token), body)
        .await
}

/// Pays `order_id` with the offline `dummy` provider: its intent (see [`create_intent`]) and
/// the customer's confirmation that it succeeded. Returns the payment id.
pub async fn pay_with_dummy(
    app: &TestApp,
    token: &str,
    order_id: &str,
    extra: &[(&str, &str)],
) -> String {
    let (_, created) = create_intent(app, token, order_id, extra).await;
    let payment_id = created["payment_id"].as_str().expect("id").to_owned();
    let confirm = format!("/api/payments/{payment_id}/confirm/");
    app.post(&confirm, Some(token), json!({"outcome": "succeeded"}))
        .await;
    payment_id
}

/// A new customer's order of `basket`, paid with the `dummy` provider (`extra` as for
/// [`create_intent`]): the order and the payment id.
pub async fn paid_order(
    app: &TestApp,
    staff: &str,
    basket: Basket<'_>,
    extra: &[(&str, &str)],
) -> (Placed, String) {
    let placed = customer_order(app, staff, basket).await;
    let payment = pay_with_dummy(app, &placed.token, &placed.id, extra).await;
    (placed, payment)
}

// Mail.

/// Options for an app whose mail goes to `smtp`, with `settings` after `EMAIL_URL`.
pub fn with_mail(smtp: &SmtpServer, settings: &[(&'static str, &str)]) -> Spawn {
    let mut all = vec![("EMAIL_URL", smtp.url())];
    all.extend(settings.iter().map(|(k, v)| (*k, (*v).to_owned())));
    Spawn {
        settings: all,
        ..Spawn::default()
    }
}

/// An app whose mail goes to `smtp`, with `settings` on top (see [`with_mail`]).
pub async fn app_with_mail(smtp: &SmtpServer, settings: &[(&'static str, &str)]) -> TestApp {
    spawn(with_mail(smtp, settings)).await
}

/// The password reset code in `mail`'s text part.
pub fn reset_code_in(mail: &ReceivedMail) -> String {
    let text = mail.part("text/plain").expect("text part");
    text.lines()
        .map(str::trim)
        .find(|line| line.len() == 64 && line.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_owned()
}
