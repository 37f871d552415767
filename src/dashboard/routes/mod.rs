//! The dashboard's handlers: thin, as the API's are; the rules are in the apps' services.

mod catalog_page;
pub mod images;
pub mod operations;
pub mod orders;
pub mod overview;
pub mod people;
pub mod products;
pub mod session;
pub mod settings;
pub mod variants;

use super::service::Session;
use super::views::Layout;
use crate::state::AppState;

/// The layout of a signed-in page of `section`.
pub fn layout(state: &AppState, staff: &Session, section: &'static str) -> Layout {
    Layout {
        shop: state.settings.shop_name.clone(),
        who: staff.user.email.clone(),
        csrf: staff.csrf.clone(),
        section,
    }
}
