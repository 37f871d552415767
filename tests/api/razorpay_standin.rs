//! A stand-in for Razorpay's API on a random port, speaking its wire format: JSON requests with
//! HTTP basic auth (key id and secret), JSON entities back, and its `{"error": {"code",
//! "description"}}` bodies. Tests pay an order (as Checkout would), sign Checkout's result and
//! webhooks the way Razorpay does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

pub const KEY_ID: &str = "rzp_test_standin";
pub const KEY_SECRET: &str = "rzp_secret_standin_0123456789";
pub const WEBHOOK_SECRET: &str = "rzp_webhook_standin_0123456789";

/// A request the stand-in received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: &'static str,
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    /// How long to sit on an order's creation (after making it), to widen a race.
    delay: Option<std::time::Duration>,
    orders: HashMap<String, Value>,
    refunded: Vec<String>,
    received: Vec<Received>,
}

/// A running stand-in.
#[derive(Clone)]
pub struct Razorpay {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

fn error(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": {"code": "BAD_REQUEST_ERROR", "description": description}})),
    )
        .into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    use base64::Engine;
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY_ID}:{KEY_SECRET}"));
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Basic {expected}"))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(
            json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed"}}),
        ),
    )
        .into_response()
}

async fn create_order(State(rzp): State<Razorpay>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return error("The request body is not valid JSON");
    };
    let (answer, delay) = {
        let mut inner = rzp.inner.lock().expect("lock");
        let delay = inner.delay;
        (order_answer(&mut inner, body), delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    answer
}

fn order_answer(inner: &mut Inner, body: Value) -> Response {
    inner.received.push(Received {
        method: "POST",
        path: "/v1/orders".to_owned(),
        body: body.clone(),
    });
    let amount = body["amount"].as_i64().unwrap_or(0);
    if amount < 100 {
        return error("Order amount less than minimum amount allowed");
    }
    let id = format!("order_{}", &uuid::Uuid::new_v4().simple().to_string()[..14]);
    let order = json!({"id": id, "entity": "order", "amount": amount, "amount_paid": 0,
        "currency": body["currency"], "receipt": body["receipt"], "status": "created",
        "notes": body["notes"]});
    inner.orders.insert(id, order.clone());
    axum::Json(order).into_response()
}

async fn read_order(
    State(rzp): State<Razorpay>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let mut inner = rzp.inner.lock().expect("lock");
    inner.received.push(Received {
        method: "GET",
        path: format!("/v1/orders/{id}"),
        body: Value::Null,
    });
    match inner.orders.get(&id) {
        Some(order) => axum::Json(order.clone()).into_response(),
        None => error("The id provided does not exist"),
    }
}

async fn refund(
    State(rzp): State<Razorpay>,
    headers: HeaderMap,
    Path(payment): Path<String>,
    body: String,
) -> Response {
    if !authorized(&headers) {
        return unauthorized();
    }
    let mut inner = rzp.inner.lock().expect("lock");
    inner.received.push(Received {
        method: "POST",
        path: format!("/v1/payments/{payment}/refund"),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    });
    if inner.refunded.contains(&payment) {
        return error("The payment has been fully refunded already");
    }
    inner.refunded.push(payment.clone());
    axum::Json(
        json!({"id": format!("rfnd_{}", uuid::Uuid::new_v4().simple()), "entity": "refund",
        "payment_id": payment, "status": "processed"}),
    )
    .into_response()
}

impl Razorpay {
    /// Starts the stand-in on a random local port.
    pub async fn start() -> Razorpay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let rzp = Razorpay {
            addr: listener.local_addr().expect("addr"),
            inner: Arc::new(Mutex::new(Inner::default())),
        };
        let app = Router::new()
            .route("/v1/orders", post(create_order))
            .route("/v1/orders/{id}", get(read_order))
            .route("/v1/payments/{id}/refund", post(refund))
            .with_state(rzp.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        rzp
    }

    /// The settings that point Emporium at this stand-in (a shop in rupees).
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("EMPORIUM_CURRENCY", "INR".to_owned()),
            ("EMPORIUM_PAYMENT_PROVIDER", "razorpay".to_owned()),
            ("RAZORPAY_API_BASE", format!("http://{}", self.addr)),
            ("RAZORPAY_KEY_ID", KEY_ID.to_owned()),
            ("RAZORPAY_KEY_SECRET", KEY_SECRET.to_owned()),
            ("RAZORPAY_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ]
    }

    /// Makes order creations answer only after `delay` (the order is made at once), or at
    /// once again with `None`.
    pub fn set_delay(&self, delay: Option<std::time::Duration>) {
        self.inner.lock().expect("lock").delay = delay;
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("lock").received.clone()
    }

    /// The payments refunded (a second refund of one is refused, as Razorpay does).
    pub fn refunded(&self) -> Vec<String> {
        self.inner.lock().expect("lock").refunded.clone()
    }

    /// A customer pays the order in Checkout: the order is `paid`; returns the payment's id.
    pub fn pay(&self, order_id: &str) -> String {
        let mut inner = self.inner.lock().expect("lock");
        if let Some(order) = inner.orders.get_mut(order_id) {
            order["status"] = json!("paid");
            order["amount_paid"] = order["amount"].clone();
        }
        format!("pay_{}", &uuid::Uuid::new_v4().simple().to_string()[..14])
    }

    /// Checkout's `razorpay_signature` for a payment of an order.
    pub fn checkout_signature(order_id: &str, payment_id: &str) -> String {
        emporium::payments::signature::sign_razorpay(
            KEY_SECRET.as_bytes(),
            format!("{order_id}|{payment_id}").as_bytes(),
        )
    }

    /// A webhook as Razorpay sends it: (body, `X-Razorpay-Signature`, `X-Razorpay-Event-Id`).
    pub fn webhook(
        &self,
        event: &str,
        order_id: &str,
        payment_id: &str,
    ) -> (Vec<u8>, String, String) {
        let order = self
            .inner
            .lock()
            .expect("lock")
            .orders
            .get(order_id)
            .cloned()
            .unwrap_or(Value::Null);
        let body = serde_json::to_vec(&json!({
            "entity": "event",
            "account_id": "acc_standin",
            "event": event,
            "contains": ["payment"],
            "payload": {"payment": {"entity": {
                "id": payment_id, "entity": "payment", "order_id": order_id,
                "amount": order["amount"], "currency": order["currency"], "status": "captured",
            }}},
            "created_at": chrono::Utc::now().timestamp(),
        }))
        .expect("json");
        let signature =
            emporium::payments::signature::sign_razorpay(WEBHOOK_SECRET.as_bytes(), &body);
        (
            body,
            signature,
            format!("evt_{}", uuid::Uuid::new_v4().simple()),
        )
    }
}
