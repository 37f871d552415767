//! Emporium: the backend of a shop, serving a REST API to its mobile app.
//!
//! The library holds everything; `main.rs` only parses the command line. See `README.md` for
//! running it and `docs/design.md` for how it is built.

pub mod accounts;
pub mod auth;
pub mod broker;
pub mod cache;
pub mod cart;
pub mod catalog;
pub mod cli;
pub mod coupons;
pub mod dashboard;
pub mod db;
pub mod email;
pub mod events;
pub mod gate;
pub mod http;
pub mod idempotency;
pub mod jobs;
pub mod money;
pub mod openapi;
pub mod orders;
pub mod payments;
pub mod pdf;
pub mod redis_link;
pub mod replica;
pub mod reviews;
pub mod settings;
pub mod shipping;
pub mod startup;
pub mod state;
pub mod storage;
pub mod tax;
pub mod telemetry;
pub mod text;
pub mod throttle;
pub mod time;
pub mod webhooks;
