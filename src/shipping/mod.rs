//! Shipping: staff-defined zones (countries, optionally narrowed to regions — the narrower
//! zone winning) and their methods (flat, or by weight bands; free over a subtotal), the
//! methods that reach a destination priced for a cart, and the rules of a method's price.

pub mod method;
pub mod reach;
pub mod rules;
pub mod zone;
pub mod zone_area;
