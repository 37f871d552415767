//! Reading one variable: trimmed, typed and validated, with an error that names it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::{EmailTransport, MediaSettings, MediaStore, S3Settings, Secret, SecretUrl};
use super::{SettingsError, Source, invalid};
use crate::throttle::Rate;

/// A variable that is set to something other than blank.
pub(super) fn value(
    source: &dyn Source,
    name: &'static str,
) -> Result<Option<String>, SettingsError> {
    Ok(source
        .get(name)?
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty()))
}

pub(super) fn duration(
    source: &dyn Source,
    name: &'static str,
    default: Duration,
) -> Result<Duration, SettingsError> {
    match value(source, name)? {
        None => Ok(default),
        Some(text) => {
            let parsed = humantime::parse_duration(&text).map_err(|e| {
                invalid(
                    name,
                    format!("{text:?} is not a duration like 30s or 5m ({e})"),
                )
            })?;
            if parsed.is_zero() {
                return Err(invalid(name, "must be longer than zero"));
            }
            Ok(parsed)
        }
    }
}

pub(super) fn positive_integer<T: std::str::FromStr + PartialOrd + From<u8>>(
    source: &dyn Source,
    name: &'static str,
    default: T,
) -> Result<T, SettingsError> {
    match value(source, name)? {
        None => Ok(default),
        Some(text) => match text.parse::<T>() {
            Ok(n) if n >= T::from(1) => Ok(n),
            _ => Err(invalid(name, format!("{text:?} is not a positive integer"))),
        },
    }
}

/// An absolute `http(s)://host[:port][/path]` URL, returned without its trailing slash.
pub(super) fn base_url(name: &'static str, text: &str) -> Result<String, SettingsError> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| {
            invalid(
                name,
                format!("{text:?} must start with http:// or https://"),
            )
        })?;
    let host = rest.split('/').next().unwrap_or_default();
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-.:[]_".contains(c);
    if host.is_empty() || !host.chars().all(allowed) || text.contains(['?', '#', ' ']) {
        return Err(invalid(name, format!("{text:?} is not an absolute URL")));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

pub(super) fn email_transport(source: &dyn Source) -> Result<EmailTransport, SettingsError> {
    const NAME: &str = "EMAIL_URL";
    let Some(url) = value(source, NAME)? else {
        return Ok(EmailTransport::Console);
    };
    if url == "console" {
        return Ok(EmailTransport::Console);
    }
    if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
        return Err(invalid(NAME, "must be console, smtp://… or smtps://…"));
    }
    // smtp:// upgrades with STARTTLS where the server offers it, unless the URL says
    // otherwise (`?tls=required`, or `?tls=none` for a local relay without TLS).
    let url = if url.starts_with("smtp://") && !url.contains("tls=") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}tls=opportunistic")
    } else if url.contains("tls=none") {
        url.replace("?tls=none", "").replace("&tls=none", "")
    } else {
        url
    };
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&url)
        .map_err(|e| invalid(NAME, format!("not a usable SMTP URL: {e}")))?;
    Ok(EmailTransport::Smtp(SecretUrl::new(url)))
}

/// A DRF-style rate (`1200/min`), or `None` for `off`.
pub(super) fn rate(
    source: &dyn Source,
    name: &'static str,
    default: &str,
) -> Result<Option<Rate>, SettingsError> {
    let text = value(source, name)?.unwrap_or_else(|| default.to_owned());
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|e: String| invalid(name, e))
}

pub(super) fn boolean(
    source: &dyn Source,
    name: &'static str,
    default: bool,
) -> Result<bool, SettingsError> {
    match value(source, name)?
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(invalid(name, format!("{other:?} is not true or false"))),
    }
}

pub(super) fn media(source: &dyn Source) -> Result<MediaSettings, SettingsError> {
    let url = value(source, "EMPORIUM_MEDIA_URL")?
        .map(|text| base_url("EMPORIUM_MEDIA_URL", &text))
        .transpose()?;
    let store = match value(source, "EMPORIUM_MEDIA_STORE")?.as_deref() {
        None | Some("local") => MediaStore::Local {
            root: PathBuf::from(
                value(source, "EMPORIUM_MEDIA_ROOT")?.unwrap_or_else(|| "./media".to_owned()),
            ),
        },
        Some(spec) => {
            let rest = spec.strip_prefix("s3://").ok_or_else(|| {
                invalid(
                    "EMPORIUM_MEDIA_STORE",
                    "must be local or s3://bucket/prefix",
                )
            })?;
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let plain = |s: &str| {
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
            };
            if bucket.is_empty() || !plain(bucket) || !plain(prefix) || prefix.contains("..") {
                return Err(invalid(
                    "EMPORIUM_MEDIA_STORE",
                    format!("{spec:?} is not s3://bucket/prefix"),
                ));
            }
            let endpoint = value(source, "AWS_ENDPOINT_URL")?
                .map(|text| base_url("AWS_ENDPOINT_URL", &text))
                .transpose()?;
            MediaStore::S3(S3Settings {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
                region: value(source, "AWS_REGION")?.unwrap_or_else(|| "us-east-1".to_owned()),
                endpoint,
                access_key_id: value(source, "AWS_ACCESS_KEY_ID")?,
                secret_access_key: value(source, "AWS_SECRET_ACCESS_KEY")?
                    .map(|s| Secret::new(s.into_bytes())),
                allow_http: boolean(source, "AWS_ALLOW_HTTP", false)?,
            })
        }
    };
    let (image_workers, image_queue) = image_work(source)?;
    Ok(MediaSettings {
        store,
        url,
        image_workers,
        image_queue,
    })
}

/// Reads `EMPORIUM_IMAGE_WORKERS` (default: the cores, at most 2) and `EMPORIUM_IMAGE_QUEUE`
/// (default 4 × the workers).
fn image_work(source: &dyn Source) -> Result<(usize, usize), SettingsError> {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let workers = positive_integer(source, "EMPORIUM_IMAGE_WORKERS", cores.min(2))?;
    let queue = match value(source, "EMPORIUM_IMAGE_QUEUE")? {
        None => workers.saturating_mul(4),
        Some(text) => text.parse().map_err(|_| {
            invalid(
                "EMPORIUM_IMAGE_QUEUE",
                format!("{text:?} is not a whole number"),
            )
        })?,
    };
    Ok((workers, queue))
}

/// Reads the key file, or creates it with 64 random bytes (hex) and mode 0600.
pub(super) fn load_or_create_secret(path: &PathBuf) -> Result<Secret, SettingsError> {
    const NAME: &str = "EMPORIUM_SECRET_KEY";
    let read = |path: &PathBuf| -> Result<Secret, SettingsError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid(NAME, format!("{} could not be read: {e}", path.display())))?;
        let key = text.trim();
        if key.len() < 32 {
            return Err(invalid(
                NAME,
                format!("{} holds fewer than 32 bytes", path.display()),
            ));
        }
        Ok(Secret::new(key.as_bytes().to_vec()))
    };
    if path.exists() {
        return read(path);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| invalid(NAME, format!("no randomness to generate a key: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(hex.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| {
                    invalid(
                        NAME,
                        format!("{} could not be written: {e}", path.display()),
                    )
                })?;
            Ok(Secret::new(hex.into_bytes()))
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(invalid(
            NAME,
            format!("{} could not be created: {e}", path.display()),
        )),
    }
}
