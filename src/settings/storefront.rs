//! The storefront area: the shop's name, its currency, and the language its search stems in.

use super::read::value;
use super::{SettingsError, Source, invalid};
use crate::money::Currency;
use crate::text::Language;

/// Reads `EMPORIUM_CURRENCY` (default USD).
pub(super) fn currency(source: &dyn Source) -> Result<Currency, SettingsError> {
    let currency = match value(source, "EMPORIUM_CURRENCY")? {
        None => Currency::USD,
        Some(code) => Currency::from_code(&code).ok_or_else(|| {
            invalid(
                "EMPORIUM_CURRENCY",
                format!("{code:?} is not an ISO 4217 code like USD"),
            )
        })?,
    };
    Ok(currency)
}

/// Reads `EMPORIUM_SEARCH_LANGUAGE` (default English; `none` turns stemming off).
pub(super) fn search_language(source: &dyn Source) -> Result<Language, SettingsError> {
    let search_language = match value(source, "EMPORIUM_SEARCH_LANGUAGE")? {
        None => Language::ENGLISH,
        Some(name) => Language::from_name(&name.to_ascii_lowercase()).ok_or_else(|| {
            invalid(
                "EMPORIUM_SEARCH_LANGUAGE",
                format!(
                    "{name:?} is not one of: {}",
                    Language::names().collect::<Vec<_>>().join(", ")
                ),
            )
        })?,
    };
    Ok(search_language)
}

/// Reads `EMPORIUM_SHOP_NAME` (default `Emporium`).
pub(super) fn shop_name(source: &dyn Source) -> Result<String, SettingsError> {
    let shop_name = value(source, "EMPORIUM_SHOP_NAME")?.unwrap_or_else(|| "Emporium".to_owned());
    Ok(shop_name)
}
