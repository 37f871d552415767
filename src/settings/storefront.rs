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

/// Reads `EMPORIUM_TIME_ZONE`: an IANA name such as `Europe/Berlin` (default `UTC`). The
/// dashboard's "today" and its days are the shop's.
pub(super) fn time_zone(source: &dyn Source) -> Result<chrono_tz::Tz, SettingsError> {
    match value(source, "EMPORIUM_TIME_ZONE")? {
        None => Ok(chrono_tz::Tz::UTC),
        Some(name) => name.trim().parse().map_err(|_| {
            invalid(
                "EMPORIUM_TIME_ZONE",
                "must be an IANA time zone name such as UTC or Europe/Berlin",
            )
        }),
    }
}

/// How the shop prices tax, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxSettings {
    /// `EMPORIUM_PRICES_INCLUDE_TAX`: prices contain their tax (EU shops) rather than have it
    /// added (US shops; the default).
    pub prices_include_tax: bool,
    /// `EMPORIUM_SHOP_COUNTRY`: the shop's own country (ISO 3166 alpha-2, default `US`), whose
    /// rates a cart with tax-inclusive prices shows before a destination is chosen.
    pub shop_country: String,
    /// `EMPORIUM_SHOP_ADDRESS`: the shop's postal address on invoices, lines separated by `|`
    /// (default: none).
    pub shop_address: Vec<String>,
}

impl TaxSettings {
    /// Reads `EMPORIUM_PRICES_INCLUDE_TAX`, `EMPORIUM_SHOP_COUNTRY` and `EMPORIUM_SHOP_ADDRESS`.
    pub(super) fn read(source: &dyn Source) -> Result<TaxSettings, SettingsError> {
        let prices_include_tax =
            super::read::boolean(source, "EMPORIUM_PRICES_INCLUDE_TAX", false)?;
        let shop_country = match value(source, "EMPORIUM_SHOP_COUNTRY")? {
            None => "US".to_owned(),
            Some(code) => {
                let code = code.trim().to_ascii_uppercase();
                if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(invalid(
                        "EMPORIUM_SHOP_COUNTRY",
                        format!("{code:?} is not an ISO 3166 alpha-2 code like US"),
                    ));
                }
                code
            }
        };
        let shop_address = value(source, "EMPORIUM_SHOP_ADDRESS")?
            .map(|text| {
                text.split('|')
                    .map(|line| line.trim().to_owned())
                    .filter(|line| !line.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(TaxSettings {
            prices_include_tax,
            shop_country,
            shop_address,
        })
    }
}
