//! Request extractors: JSON bodies read the contract's way, and typed field access that collects
//! DRF-style per-field messages.
//!
//! A body goes through three gates before a handler sees it: the `Content-Type` must be JSON
//! (415 otherwise), it must fit `EMPORIUM_MAX_BODY_SIZE` (413), and it must parse to a JSON
//! object (400 `{"detail"}`). serde_json's recursion limit turns absurdly deep nesting into a
//! parse error instead of a stack overflow. Then [`Fields`] reads typed values out of the object,
//! recording `{"field": ["message"]}` errors, and ignores every key the endpoint did not ask
//! for, so nothing a client adds is ever written (no mass assignment).
//!
//! The pieces: `body.rs` the body gates and [`Form`], `fields.rs` [`Fields`] and the value
//! conversions, `text.rs` the text checks, `params.rs` the path and header extractors.

mod body;
mod fields;
mod params;
mod text;

pub use body::{Form, JsonObject, read, read_body};
pub use fields::{FieldValue, Fields, FromFields, SECRET_MAX};
pub use params::{IDEMPOTENCY_KEY_MAX, IdempotencyKey, PathId, PathIds};
pub use text::text_problem;
