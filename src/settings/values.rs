//! The value types of the settings: secrets and URLs that never print their credentials, and
//! the choices of mail transport, media store and log format.

use std::fmt;
use std::path::PathBuf;

/// Bytes that must not be printed: `Debug` shows only their length.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as text (secrets read from the environment are always UTF-8).
    pub fn expose_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// A URL that may carry a password (`postgres://user:pw@host/db`): `Debug` shows it with the
/// password replaced by `***`, so settings can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> SecretUrl {
        SecretUrl(url.into())
    }

    /// The whole URL, password included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL with the password (between `user:` and `@`) replaced by `***`.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return self.0.clone();
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        match rest[..authority_end].rsplit_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split_once(':').map_or(credentials, |(u, _)| u);
                let hidden = if credentials.contains(':') {
                    ":***"
                } else {
                    ""
                };
                format!("{scheme}://{user}{hidden}@{host}{}", &rest[authority_end..])
            }
            None => self.0.clone(),
        }
    }
}

impl std::ops::Deref for SecretUrl {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for SecretUrl {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

/// How mail leaves the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmailTransport {
    /// Printed to the log (the development default).
    Console,
    /// An SMTP URL in the form lettre reads (`smtp://…?tls=opportunistic`, `smtps://…`).
    Smtp(SecretUrl),
}

/// An S3-compatible bucket for media.
#[derive(Clone, Debug)]
pub struct S3Settings {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix inside the bucket (no slashes at either end; may be empty).
    pub prefix: String,
    /// `AWS_REGION` (default `us-east-1`).
    pub region: String,
    /// `AWS_ENDPOINT_URL`, for S3-compatible servers.
    pub endpoint: Option<String>,
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<Secret>,
    /// `AWS_ALLOW_HTTP`: allow a plain-HTTP endpoint.
    pub allow_http: bool,
}

/// Where media files live.
#[derive(Clone, Debug)]
pub enum MediaStore {
    /// A local folder (`EMPORIUM_MEDIA_ROOT`).
    Local {
        /// The folder.
        root: PathBuf,
    },
    /// An S3-compatible bucket (`EMPORIUM_MEDIA_STORE=s3://bucket/prefix`).
    S3(S3Settings),
}

/// Media storage settings.
#[derive(Clone, Debug)]
pub struct MediaSettings {
    /// The backend.
    pub store: MediaStore,
    /// `EMPORIUM_MEDIA_URL`: public base URL of media, without a trailing slash.
    pub url: Option<String>,
    /// `EMPORIUM_IMAGE_WORKERS`: uploaded images decoded and resized at once (default: the
    /// cores, at most 2 — each may hold up to ~200 MB while it runs).
    pub image_workers: usize,
    /// `EMPORIUM_IMAGE_QUEUE`: uploads that may wait for an image worker; more get 503 at once
    /// (default 4 × the workers; 0 lets none wait).
    pub image_queue: usize,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object a line.
    Json,
}

/// Where the secret key came from, so start-up can warn about a generated one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretOrigin {
    /// `EMPORIUM_SECRET_KEY`.
    Environment,
    /// Generated once and kept in [`SECRET_FILE`].
    File,
}

/// Where the response cache keeps its versions (`EMPORIUM_CACHE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheMode {
    /// Redis when configured; in process on SQLite; off otherwise.
    Auto,
    /// In process, whatever the database (one node).
    Local,
    /// No cache.
    Off,
}
