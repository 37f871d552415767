//! Customers and reviews.

use askama::Template;

use super::Layout;
use super::forms::FormErrors;
use super::orders::OrderRow;
use super::pager::Pager;

/// One account in the list.
pub struct CustomerRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub joined: String,
    pub is_staff: bool,
    pub is_active: bool,
}

#[derive(Template)]
#[template(path = "customers.html")]
pub struct CustomersPage {
    pub layout: Layout,
    pub q: String,
    pub rows: Vec<CustomerRow>,
    pub pager: Pager,
}

/// A review as staff see it.
pub struct ReviewRow {
    pub id: i64,
    pub product_id: i64,
    pub product: String,
    pub author_id: i64,
    pub author: String,
    pub rating: i32,
    pub title: String,
    pub body: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "customer.html")]
pub struct CustomerPage {
    pub layout: Layout,
    pub customer: CustomerRow,
    pub last_login: String,
    pub addresses: Vec<Vec<String>>,
    pub orders: Vec<OrderRow>,
    pub order_count: u64,
    pub reviews: Vec<ReviewRow>,
    pub errors: FormErrors,
    pub notice: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "reviews.html")]
pub struct ReviewsPage {
    pub layout: Layout,
    pub rows: Vec<ReviewRow>,
    pub pager: Pager,
    pub errors: FormErrors,
    pub notice: Option<&'static str>,
}
