//! Events: every change an integrator cares about, written to the outbox (`events`) in the
//! transaction of the change, with a stable id and a sequence per resource. Webhooks and a
//! broker take them from there.

pub mod event;
pub mod kind;
pub mod prune;
pub mod publisher;
pub mod service;
pub mod store;
pub mod views;
