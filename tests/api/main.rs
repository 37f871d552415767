//! The one integration-test binary: black-box tests that start the real application on a random
//! port and talk HTTP to it, as the app does.

mod fixtures;
mod helpers;
mod probes;
mod razorpay;
mod razorpay_standin;
mod reviews;
mod standins;
mod stripe;
mod stripe_standin;

mod accounts;
mod broker;
mod cache_log;
mod cart;
mod catalog;
mod cli;
mod conventions;
mod coupons;
mod database;
mod email;
mod engines;
mod events;
mod extra_captures;
mod free_orders;
mod hardening;
mod idempotent_posts;
mod image_files;
mod image_sizes;
mod intent_claims;
mod inventory;
mod invoices;
mod jobs;
mod media;
mod operations;
mod orders;
mod outages;
mod payments;
mod provider_refunds;
mod search;
mod shipping_admin;
mod shipping_tax;
mod variant_filters;
mod variant_migration;
mod variants;
mod webhooks;
