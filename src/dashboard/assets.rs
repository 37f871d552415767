//! The dashboard's stylesheet and script, compiled into the binary and served under a name
//! that carries a digest of their content, so a browser may keep them for a year and a new
//! build's files are new URLs. Nothing comes from a CDN.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One file.
pub struct Asset {
    /// Its name before the digest, e.g. `admin.css`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    url: OnceLock<String>,
}

/// The stylesheet.
pub static STYLE: Asset = Asset {
    name: "admin.css",
    content_type: "text/css; charset=utf-8",
    bytes: include_bytes!("assets/admin.css"),
    url: OnceLock::new(),
};

/// The script: confirmations before money and stock actions.
pub static SCRIPT: Asset = Asset {
    name: "admin.js",
    content_type: "text/javascript; charset=utf-8",
    bytes: include_bytes!("assets/admin.js"),
    url: OnceLock::new(),
};

static ALL: [&Asset; 2] = [&STYLE, &SCRIPT];

/// `admin.css` → `admin.1a2b3c4d5e6f.css`.
fn hashed_name(asset: &Asset) -> String {
    let digest = Sha256::digest(asset.bytes);
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    match asset.name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{short}.{extension}"),
        None => format!("{}.{short}", asset.name),
    }
}

/// The URL the pages use for `asset`.
pub fn url(asset: &'static Asset) -> &'static str {
    asset
        .url
        .get_or_init(|| format!("/admin/static/{}", hashed_name(asset)))
}

/// `GET /admin/static/{file}`: a file under its hashed name, cacheable for a year.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = ALL.iter().find(|a| hashed_name(a) == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        asset.bytes,
    )
        .into_response()
}
