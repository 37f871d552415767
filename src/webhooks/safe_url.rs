//! Where a webhook may be sent: https only (http only to a host staff listed in
//! `EMPORIUM_WEBHOOK_ALLOW_HOSTS`), no credentials in the URL, and never — after DNS — to a
//! loopback, private, link-local, shared, multicast, documentation or otherwise non-public
//! address unless the host is listed. Checked when a URL is given and again before each
//! delivery, since what a name resolves to can change.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// Why a URL is refused; its `Display` is the message of the `url` field error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    /// Not an absolute URL with a host.
    #[error("Enter a valid URL.")]
    Invalid,
    /// Not https, and not http to an allowed host.
    #[error(
        "Only https URLs are allowed (http only to a host listed in EMPORIUM_WEBHOOK_ALLOW_HOSTS)."
    )]
    Scheme,
    /// A user name or password in the URL.
    #[error("A URL with a user name or password is not allowed.")]
    Credentials,
    /// The host does not resolve.
    #[error("The host {0} could not be resolved.")]
    Unresolvable(String),
    /// The host is, or resolves to, an address that is not public.
    #[error("{host} is {address}, a {kind} address; webhooks are only sent to public addresses.")]
    Forbidden {
        host: String,
        address: IpAddr,
        kind: &'static str,
    },
}

/// The addresses `url` may be delivered to, or why it may not be.
pub async fn check_url(url: &str, allow_hosts: &[String]) -> Result<Vec<SocketAddr>, UrlProblem> {
    let parsed = Url::parse(url).map_err(|_| UrlProblem::Invalid)?;
    let host = parsed.host().ok_or(UrlProblem::Invalid)?;
    let port = parsed.port_or_known_default().ok_or(UrlProblem::Invalid)?;
    let name = match &host {
        Host::Domain(domain) => domain.to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    };
    let allowed = is_allowed(&name, port, allow_hosts);
    match parsed.scheme() {
        "https" => {}
        "http" if allowed => {}
        _ => return Err(UrlProblem::Scheme),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlProblem::Credentials);
    }
    let addresses: Vec<SocketAddr> = match host {
        Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Host::Domain(domain) => tokio::net::lookup_host((domain, port))
            .await
            .map_err(|_| UrlProblem::Unresolvable(name.clone()))?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(UrlProblem::Unresolvable(name));
    }
    if !allowed {
        for address in &addresses {
            if let Some(kind) = forbidden_kind(address.ip()) {
                return Err(UrlProblem::Forbidden {
                    host: name,
                    address: address.ip(),
                    kind,
                });
            }
        }
    }
    Ok(addresses)
}

/// True when `host` (lower-case; an IPv6 address without brackets) at `port` is listed: as the
/// host alone, or as `host:port`.
fn is_allowed(host: &str, port: u16, allow_hosts: &[String]) -> bool {
    allow_hosts
        .iter()
        .filter_map(|e| split_entry(e))
        .any(|(entry_host, entry_port)| {
            entry_host.eq_ignore_ascii_case(host) && entry_port.is_none_or(|p| p == port)
        })
}

pub use crate::settings::split_allow_entry as split_entry;

/// What kind of non-public address `ip` is, or `None` when it is public.
pub fn forbidden_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u32, &str)] = &[
        ([0, 0, 0, 0], 8, "unspecified"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([10, 0, 0, 0], 8, "private"),
        ([172, 16, 0, 0], 12, "private"),
        ([192, 168, 0, 0], 16, "private"),
        ([169, 254, 0, 0], 16, "link-local"),
        ([100, 64, 0, 0], 10, "shared (CGNAT)"),
        ([192, 0, 0, 0], 24, "reserved"),
        ([192, 0, 2, 0], 24, "documentation"),
        ([198, 51, 100, 0], 24, "documentation"),
        ([203, 0, 113, 0], 24, "documentation"),
        ([198, 18, 0, 0], 15, "benchmarking"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([255, 255, 255, 255], 32, "broadcast"),
        ([240, 0, 0, 0], 4, "reserved"),
    ];
    RANGES
        .iter()
        .find(|(net, prefix, _)| in_v4(ip, *net, *prefix))
        .map(|(_, _, kind)| *kind)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    // An IPv4 address carried in IPv6 is judged as itself: mapped (::ffff:a.b.c.d), the
    // deprecated compatible form (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:ab:cd::).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let low = Ipv4Addr::new(
        (segments[6] >> 8) as u8,
        segments[6] as u8,
        (segments[7] >> 8) as u8,
        segments[7] as u8,
    );
    if segments[..6] == [0; 6] && u32::from(low) > 1 {
        return forbidden_v4(low).or(Some("IPv4-compatible"));
    }
    // NAT64 (64:ff9b::/96, and the local-use 64:ff9b:1::/48) and IPv4-translated
    // (::ffff:0:a.b.c.d) carry an IPv4 address in their last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || segments[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return forbidden_v4(low);
    }
    if segments[..3] == [0x64, 0xff9b, 1] {
        return forbidden_v4(low).or(Some("NAT64 local-use"));
    }
    if segments[0] == 0x2002 {
        let embedded = Ipv4Addr::new(
            (segments[1] >> 8) as u8,
            segments[1] as u8,
            (segments[2] >> 8) as u8,
            segments[2] as u8,
        );
        return forbidden_v4(embedded);
    }
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some("unique-local")
    } else if segments[0] & 0xffc0 == 0xfec0 {
        Some("site-local")
    } else if (segments[0], segments[1]) == (0x2001, 0x0db8) || segments[0] & 0xfff0 == 0x3ff0 {
        Some("documentation")
    } else if (segments[0], segments[1]) == (0x2001, 0) {
        Some("Teredo")
    } else if segments[..4] == [0x100, 0, 0, 0] {
        Some("discard-only")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(ip: &str) -> Option<&'static str> {
        forbidden_kind(ip.parse().expect("an address"))
    }

    #[test]
    fn non_public_ipv4_addresses_are_refused_with_their_kind() {
        for (ip, expected) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("100.64.0.1", "shared (CGNAT)"),
            ("100.127.255.254", "shared (CGNAT)"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("192.0.2.1", "documentation"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }

    #[test]
    fn non_public_ipv6_addresses_and_ipv4_inside_ipv6_are_refused() {
        for (ip, expected) in [
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::ffff:10.0.0.1", "private"),
            ("64:ff9b::192.168.0.1", "private"),
            ("2002:7f00:1::", "loopback"),
            ("::ffff:0:127.0.0.1", "loopback"),
            ("::ffff:0:10.1.1.1", "private"),
            ("64:ff9b:1::10.0.0.1", "private"),
            ("64:ff9b:1::8.8.8.8", "NAT64 local-use"),
            ("2001:0:4136:e378::1", "Teredo"),
            ("100::1", "discard-only"),
        ] {
            assert_eq!(kind(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn allow_list_entries_name_a_host_or_a_host_and_port() {
        let list = vec!["127.0.0.1".to_owned(), "hooks.test:8080".to_owned()];
        assert!(is_allowed("127.0.0.1", 9999, &list));
        assert!(is_allowed("hooks.test", 8080, &list));
        assert!(!is_allowed("hooks.test", 8081, &list));
        assert!(!is_allowed("example.com", 80, &list));
        assert_eq!(split_entry("[::1]:80"), Some(("::1", Some(80))));
        assert_eq!(split_entry("::1"), Some(("::1", None)));
        assert_eq!(split_entry("hooks.test:x"), None);
        assert_eq!(split_entry(":80"), None);
    }

    #[tokio::test]
    async fn urls_are_https_without_credentials_to_public_addresses() {
        let none: Vec<String> = Vec::new();
        assert_eq!(
            check_url("https://1.1.1.1:8443/hook", &none).await,
            Ok(vec!["1.1.1.1:8443".parse().expect("address")])
        );
        assert_eq!(
            check_url("http://1.1.1.1/", &none).await,
            Err(UrlProblem::Scheme)
        );
        assert_eq!(
            check_url("ftp://1.1.1.1/", &none).await,
            Err(UrlProblem::Scheme)
        );
        assert_eq!(
            check_url("https://user:pw@1.1.1.1/", &none).await,
            Err(UrlProblem::Credentials)
        );
        assert_eq!(
            check_url("not a url", &none).await,
            Err(UrlProblem::Invalid)
        );
        assert!(matches!(
            check_url("https://[::ffff:169.254.169.254]/", &none).await,
            Err(UrlProblem::Forbidden {
                kind: "link-local",
                ..
            })
        ));
        assert!(matches!(
            check_url("https://localhost/", &none).await,
            Err(UrlProblem::Forbidden {
                kind: "loopback",
                ..
            })
        ));
        let allowed = vec!["127.0.0.1".to_owned()];
        assert_eq!(
            check_url("http://127.0.0.1:9000/hook", &allowed).await,
            Ok(vec!["127.0.0.1:9000".parse().expect("address")])
        );
    }
}
