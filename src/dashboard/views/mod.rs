//! The dashboard's pages: one struct per template (`src/dashboard/templates/`), compiled into
//! the binary by askama and HTML-escaped unless a value is marked safe — none is: everything a
//! customer or staff member wrote is escaped.

use askama::Template;

use super::assets;

pub mod forms;
pub mod operations;
pub mod orders;
pub mod overview;
pub mod pager;
pub mod people;
pub mod products;
pub mod resource;

/// One entry of the navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The sections, in the navigation's order: (key, path, label).
const SECTIONS: &[(&str, &str, &str)] = &[
    ("overview", "/admin/", "Overview"),
    ("orders", "/admin/orders/", "Orders"),
    ("products", "/admin/products/", "Products"),
    ("categories", "/admin/categories/", "Categories"),
    ("customers", "/admin/customers/", "Customers"),
    ("coupons", "/admin/coupons/", "Coupons"),
    ("shipping", "/admin/shipping/zones/", "Shipping"),
    ("tax", "/admin/tax/rates/", "Tax"),
    ("reviews", "/admin/reviews/", "Reviews"),
    ("webhooks", "/admin/webhooks/", "Webhooks"),
    ("jobs", "/admin/jobs/", "Jobs"),
];

/// What every signed-in page shows around its content.
pub struct Layout {
    /// The shop's name.
    pub shop: String,
    /// Who is signed in (their email).
    pub who: String,
    /// The session's CSRF token, for every form of the page.
    pub csrf: String,
    /// The section the page belongs to.
    pub section: &'static str,
}

impl Layout {
    /// A new key for a form that creates something, so that posting it twice creates once
    /// ([`crate::dashboard::resubmit`]); a fresh one each time the page is shown.
    pub fn form_key(&self) -> String {
        crate::dashboard::service::random_token().unwrap_or_default()
    }

    /// The navigation, with the current section marked.
    pub fn nav(&self) -> Vec<NavItem> {
        SECTIONS
            .iter()
            .map(|&(key, href, label)| NavItem {
                href,
                label,
                current: key == self.section,
            })
            .collect()
    }

    /// The stylesheet's URL (named by its content, so it is cached for a year).
    pub fn css(&self) -> &'static str {
        assets::url(&assets::STYLE)
    }

    /// The script's URL.
    pub fn js(&self) -> &'static str {
        assets::url(&assets::SCRIPT)
    }
}

/// A refusal.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub message: String,
}

impl ErrorPage {
    pub fn css(&self) -> &'static str {
        assets::url(&assets::STYLE)
    }
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "sign_in.html")]
pub struct SignInPage {
    pub shop: String,
    pub csrf: String,
    pub email: String,
    pub next: Option<String>,
    pub error: Option<String>,
}

impl SignInPage {
    pub fn css(&self) -> &'static str {
        assets::url(&assets::STYLE)
    }
}
