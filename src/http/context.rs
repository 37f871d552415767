//! Who is asking and where they reached us: the client's IP address and the absolute base URL
//! for links, honouring `EMPORIUM_PUBLIC_URL` and, only from trusted proxies, `X-Forwarded-*`.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::error::{ApiError, internal};
use crate::settings::Settings;

/// Facts about the current request, computed once by [`attach`].
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// The client's address: the peer, or the first untrusted hop of `X-Forwarded-For` when the
    /// peer is a trusted proxy.
    pub client_ip: IpAddr,
    /// `scheme://host[:port]` (no trailing slash) for absolute links.
    pub base_url: Arc<str>,
}

fn first_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A host is only copied into links when it is made of host characters.
fn plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]_".contains(c))
}

fn is_trusted(settings: &Settings, ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    settings.trusted_proxies.iter().any(|net| net.contains(&ip))
}

/// Works out [`RequestContext`] from the peer address and the headers.
pub fn resolve(settings: &Settings, peer: IpAddr, headers: &HeaderMap) -> RequestContext {
    let trusted = is_trusted(settings, peer);
    let client_ip = if trusted {
        // Walk right to left: the first hop that is not one of our proxies is the client.
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        hops.iter()
            .rev()
            .find(|ip| !is_trusted(settings, **ip))
            .or(hops.first())
            .copied()
            .unwrap_or(peer)
    } else {
        peer
    };

    let base_url: Arc<str> = match &settings.public_url {
        Some(url) => url.as_str().into(),
        None => {
            let forwarded = |name| trusted.then(|| first_header(headers, name)).flatten();
            let scheme = match forwarded("x-forwarded-proto") {
                Some("https") => "https",
                _ => "http",
            };
            let host = forwarded("x-forwarded-host")
                .or_else(|| first_header(headers, "host"))
                .filter(|h| plausible_host(h))
                .map_or_else(|| settings.listen.to_string(), str::to_owned);
            format!("{scheme}://{host}").into()
        }
    };
    RequestContext {
        client_ip,
        base_url,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| internal("RequestContext middleware is not installed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&'static str, &str)]) -> Settings {
        let mut map: HashMap<&'static str, String> =
            pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        map.insert("EMPORIUM_SECRET_KEY", "k".repeat(32));
        Settings::from_source(&map, std::path::Path::new("/nonexistent")).expect("valid")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().expect("header value"));
        }
        map
    }

    #[test]
    fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
        let s = settings(&[]);
        let h = headers(&[
            ("host", "shop.example:8000"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
        ]);
        let ctx = resolve(&s, "203.0.113.9".parse().expect("ip"), &h);
        assert_eq!(ctx.client_ip.to_string(), "203.0.113.9");
        assert_eq!(&*ctx.base_url, "http://shop.example:8000");
    }

    #[test]
    fn a_trusted_proxy_tells_the_client_and_the_public_host() {
        let s = settings(&[("EMPORIUM_TRUSTED_PROXIES", "10.0.0.0/8")]);
        let h = headers(&[
            ("host", "backend:8000"),
            ("x-forwarded-for", "198.51.100.7, 10.0.0.3"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "shop.example"),
        ]);
        let ctx = resolve(&s, "10.0.0.2".parse().expect("ip"), &h);
        assert_eq!(ctx.client_ip.to_string(), "198.51.100.7");
        assert_eq!(&*ctx.base_url, "https://shop.example");
    }

    #[test]
    fn the_public_url_setting_wins() {
        let s = settings(&[("EMPORIUM_PUBLIC_URL", "https://api.shop.example/")]);
        let ctx = resolve(
            &s,
            "127.0.0.1".parse().expect("ip"),
            &headers(&[("host", "x")]),
        );
        assert_eq!(&*ctx.base_url, "https://api.shop.example");
    }

    #[test]
    fn a_host_header_with_odd_characters_is_not_copied_into_links() {
        let s = settings(&[]);
        let h = headers(&[("host", "evil.example/\"><script>")]);
        let ctx = resolve(&s, "127.0.0.1".parse().expect("ip"), &h);
        assert_eq!(&*ctx.base_url, "http://127.0.0.1:8000");
    }
}
