//! A stand-in for Stripe's REST API on a random port, speaking its wire format: form-encoded
//! requests with `Authorization: Bearer` and `Idempotency-Key`, JSON objects back, and its
//! `{"error": {...}}` bodies. Tests set an intent's status (as a customer paying would) and sign
//! webhooks with the endpoint secret the way Stripe does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// The secret key the stand-in accepts.
pub const SECRET_KEY: &str = "sk_test_standin_0123456789";
/// The webhook endpoint secret.
pub const WEBHOOK_SECRET: &str = "whsec_standin_0123456789";

/// A request the stand-in received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: &'static str,
    pub path: String,
    pub form: HashMap<String, String>,
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
struct Inner {
    /// How long to sit on an answer (after doing the work), to play a timeout.
    delay: Option<std::time::Duration>,
    intents: HashMap<String, Value>,
    by_key: HashMap<String, Value>,
    received: Vec<Received>,
}

/// A running stand-in.
#[derive(Clone)]
pub struct Stripe {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"type": kind, "message": message}})),
    )
        .into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {SECRET_KEY}"))
}

fn form(headers: &HeaderMap, body: &str) -> Option<HashMap<String, String>> {
    let form_encoded = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    form_encoded.then(|| serde_urlencoded::from_str(body).unwrap_or_default())
}

async fn create_intent(State(stripe): State<Stripe>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
        );
    }
    let Some(form) = form(&headers, &body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Expected form data",
        );
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (answer, delay) = {
        let mut inner = stripe.inner.lock().expect("lock");
        let delay = inner.delay;
        (intent_answer(&mut inner, form, key), delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    answer
}

fn intent_answer(
    inner: &mut Inner,
    form: HashMap<String, String>,
    key: Option<String>,
) -> Response {
    inner.received.push(Received {
        method: "POST",
        path: "/v1/payment_intents".to_owned(),
        form: form.clone(),
        idempotency_key: key.clone(),
    });
    if let Some(previous) = key.as_ref().and_then(|k| inner.by_key.get(k)) {
        return axum::Json(previous.clone()).into_response();
    }
    let amount: i64 = form.get("amount").and_then(|a| a.parse().ok()).unwrap_or(0);
    if amount < 50 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Amount must be at least $0.50 usd",
        );
    }
    let id = format!("pi_{}", uuid::Uuid::new_v4().simple());
    let intent = json!({
        "id": id,
        "object": "payment_intent",
        "amount": amount,
        "currency": form.get("currency"),
        "status": "requires_payment_method",
        "client_secret": format!("{id}_secret_{}", uuid::Uuid::new_v4().simple()),
        "metadata": {"order_id": form.get("metadata[order_id]")},
    });
    inner.intents.insert(id, intent.clone());
    if let Some(key) = key {
        inner.by_key.insert(key, intent.clone());
    }
    axum::Json(intent).into_response()
}

async fn read_intent(
    State(stripe): State<Stripe>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
        );
    }
    let mut inner = stripe.inner.lock().expect("lock");
    inner.received.push(Received {
        method: "GET",
        path: format!("/v1/payment_intents/{id}"),
        form: HashMap::new(),
        idempotency_key: None,
    });
    match inner.intents.get(&id) {
        Some(intent) => axum::Json(intent.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "No such payment_intent",
        ),
    }
}

async fn refund(State(stripe): State<Stripe>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "Invalid API Key provided",
        );
    }
    let Some(form) = form(&headers, &body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Expected form data",
        );
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut inner = stripe.inner.lock().expect("lock");
    inner.received.push(Received {
        method: "POST",
        path: "/v1/refunds".to_owned(),
        form: form.clone(),
        idempotency_key: key,
    });
    // A charge (any `ch_…`: the stand-in keeps no charges) or a known payment intent.
    if let Some(charge) = form.get("charge").filter(|c| c.starts_with("ch_")) {
        return axum::Json(
            json!({"id": format!("re_{}", uuid::Uuid::new_v4().simple()), "object": "refund",
            "charge": charge, "amount": form.get("amount"), "status": "succeeded"}),
        )
        .into_response();
    }
    let intent = form.get("payment_intent").cloned().unwrap_or_default();
    if !inner.intents.contains_key(&intent) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "No such payment_intent",
        );
    }
    axum::Json(
        json!({"id": format!("re_{}", uuid::Uuid::new_v4().simple()), "object": "refund",
        "payment_intent": intent, "status": "succeeded"}),
    )
    .into_response()
}

impl Stripe {
    /// Starts the stand-in on a random local port.
    pub async fn start() -> Stripe {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let stripe = Stripe {
            addr: listener.local_addr().expect("addr"),
            inner: Arc::new(Mutex::new(Inner::default())),
        };
        let app = Router::new()
            .route("/v1/payment_intents", post(create_intent))
            .route("/v1/payment_intents/{id}", get(read_intent))
            .route("/v1/refunds", post(refund))
            .with_state(stripe.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        stripe
    }

    /// The base URL for `STRIPE_API_BASE`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The settings that point Emporium at this stand-in.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("EMPORIUM_PAYMENT_PROVIDER", "stripe".to_owned()),
            ("STRIPE_API_BASE", self.url()),
            ("STRIPE_SECRET_KEY", SECRET_KEY.to_owned()),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ]
    }

    /// Makes intent creations answer only after `delay` (the work is done at once), or at
    /// once again with `None`.
    pub fn set_delay(&self, delay: Option<std::time::Duration>) {
        self.inner.lock().expect("lock").delay = delay;
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("lock").received.clone()
    }

    /// Sets an intent's status, as a customer paying (or abandoning) would.
    pub fn set_status(&self, id: &str, status: &str) {
        let mut inner = self.inner.lock().expect("lock");
        if let Some(intent) = inner.intents.get_mut(id) {
            intent["status"] = json!(status);
        }
    }

    /// An event about an intent, as Stripe posts it to the webhook endpoint.
    pub fn event(&self, kind: &str, intent_id: &str) -> Vec<u8> {
        let inner = self.inner.lock().expect("lock");
        let mut object = inner
            .intents
            .get(intent_id)
            .cloned()
            .unwrap_or_else(|| json!({"id": intent_id}));
        if kind == "charge.refunded" {
            object = json!({"id": format!("ch_{}", uuid::Uuid::new_v4().simple()), "object": "charge",
                "payment_intent": intent_id, "amount_refunded": object["amount"], "refunded": true});
        }
        serde_json::to_vec(&json!({
            "id": format!("evt_{}", uuid::Uuid::new_v4().simple()),
            "object": "event",
            "api_version": "2024-06-20",
            "type": kind,
            "data": {"object": object},
        }))
        .expect("json")
    }

    /// The `Stripe-Signature` header for `body`, signed now.
    pub fn sign(body: &[u8]) -> String {
        emporium::payments::signature::sign(
            WEBHOOK_SECRET.as_bytes(),
            chrono::Utc::now().timestamp(),
            body,
        )
    }
}
