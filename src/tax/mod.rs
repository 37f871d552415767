//! Tax: staff-managed rates per country, region and tax class, and the one pricing function
//! ([`pricing::price`]) every amount of a cart and an order comes from.

pub mod classes;
pub mod lines;
pub mod lookup;
pub mod pricing;
pub mod rate;
