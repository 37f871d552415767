//! Media storage: one interface over a local folder or an S3-compatible bucket.
//!
//! Keys are generated here ([`Storage::new_key`]: a prefix, a random name and an extension),
//! so no client-chosen name ever reaches the file system or the bucket. Public URLs are built
//! from `EMPORIUM_MEDIA_URL` (a CDN in production) or, by default, the request's own base URL
//! plus `/media/`, which the application serves from whichever backend is configured.

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};

use crate::settings::{MediaStore, Settings};

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The key is not one this module makes.
    #[error("invalid storage key {0:?}")]
    InvalidKey(String),
    /// The backend failed.
    #[error("storage backend: {0}")]
    Backend(#[from] object_store::Error),
    /// The backend could not be set up.
    #[error("storage setup: {0}")]
    Setup(String),
}

/// A stored object.
pub struct Stored {
    /// Its bytes.
    pub bytes: Bytes,
    /// Its media type.
    pub content_type: &'static str,
}

/// The media store of the application.
#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    public_url: Option<String>,
    /// Object attributes (Content-Type, Cache-Control) are stored by S3, not by the local
    /// folder, which derives the type from the extension when serving.
    attributes: bool,
}

/// Media types by extension; anything else is served as bytes.
const MEDIA_TYPES: &[(&str, &str)] = &[
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("webp", "image/webp"),
    ("gif", "image/gif"),
    ("pdf", "application/pdf"),
    ("txt", "text/plain; charset=utf-8"),
];

/// The media type for a key, from its extension.
pub fn media_type(key: &str) -> &'static str {
    let extension = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    extension
        .and_then(|e| MEDIA_TYPES.iter().find(|(x, _)| *x == e).map(|(_, t)| *t))
        .unwrap_or("application/octet-stream")
}

/// Keys are `segment/segment/name.ext` of plain characters: no `..`, no absolute paths, no
/// empty segments, nothing a file system or URL could read differently.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
}

impl Storage {
    /// The store for the settings: a local folder (created when missing) or an S3 bucket.
    pub fn from_settings(settings: &Settings) -> Result<Storage, StorageError> {
        let attributes = matches!(settings.media.store, MediaStore::S3(_));
        let (store, prefix): (Arc<dyn ObjectStore>, String) = match &settings.media.store {
            MediaStore::Local { root } => {
                std::fs::create_dir_all(root).map_err(|e| {
                    StorageError::Setup(format!("cannot create {}: {e}", root.display()))
                })?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(root)?;
                (Arc::new(store), String::new())
            }
            MediaStore::S3(s3) => {
                let timeouts = &settings.timeouts;
                // One retry, and never past the outgoing timeout: a bucket that is down fails
                // the upload (or the job) in seconds, not minutes.
                let retry = object_store::RetryConfig {
                    max_retries: 1,
                    retry_timeout: timeouts.outgoing,
                    ..Default::default()
                };
                // The client options first: they replace any set before (`allow_http` is one).
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_client_options(
                        object_store::ClientOptions::new()
                            .with_connect_timeout(timeouts.connect)
                            .with_timeout(timeouts.outgoing),
                    )
                    .with_retry(retry)
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_allow_http(s3.allow_http);
                if let Some(endpoint) = &s3.endpoint {
                    // Local S3-compatible servers want path-style requests.
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_virtual_hosted_style_request(false);
                }
                if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
                    builder = builder
                        .with_access_key_id(id)
                        .with_secret_access_key(secret.expose_str());
                }
                (Arc::new(builder.build()?), s3.prefix.clone())
            }
        };
        Ok(Storage {
            store,
            prefix,
            public_url: settings.media.url.clone(),
            attributes,
        })
    }

    fn path(&self, key: &str) -> Result<Path, StorageError> {
        if !is_valid_key(key) {
            return Err(StorageError::InvalidKey(key.to_owned()));
        }
        let full = if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        };
        Ok(Path::from(full))
    }

    /// A fresh random key: `prefix/<uuid>.<extension>`.
    pub fn new_key(prefix: &str, extension: &str) -> String {
        format!("{prefix}/{}.{extension}", uuid::Uuid::new_v4().simple())
    }

    /// Stores `bytes` under `key`, replacing what was there.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        let path = self.path(key)?;
        let mut options = PutOptions::default();
        if self.attributes {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, media_type(key).into());
            attributes.insert(
                Attribute::CacheControl,
                "public, max-age=31536000, immutable".into(),
            );
            options.attributes = attributes;
        }
        self.store
            .put_opts(&path, PutPayload::from(bytes), options)
            .await?;
        Ok(())
    }

    /// The object under `key`, or `None`.
    pub async fn get(&self, key: &str) -> Result<Option<Stored>, StorageError> {
        let path = self.path(key)?;
        match self.store.get(&path).await {
            Ok(result) => Ok(Some(Stored {
                bytes: result.bytes().await?,
                content_type: media_type(key),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes `key`; deleting what is not there is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path(key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The public URL of `key`: under `EMPORIUM_MEDIA_URL`, else `{request base}/media/`.
    pub fn url(&self, key: &str, request_base: &str) -> String {
        match &self.public_url {
            Some(base) => format!("{}/{key}", base.trim_end_matches('/')),
            None => format!("{request_base}/media/{key}"),
        }
    }

    /// `scheme://host[:port]` of `EMPORIUM_MEDIA_URL` when media are served from elsewhere (the
    /// dashboard's content security policy allows images from there).
    pub fn public_origin(&self) -> Option<String> {
        let url = url::Url::parse(self.public_url.as_deref()?).ok()?;
        let origin = url.origin();
        origin.is_tuple().then(|| origin.ascii_serialization())
    }

    /// Reaches the backend (for `emporium check`): lists at most one object.
    pub async fn check(&self) -> Result<(), StorageError> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        self.store.list_with_delimiter(prefix.as_ref()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_keys_are_valid() {
        assert!(is_valid_key("products/ab12.png"));
        assert!(is_valid_key("a/b/c-d_e.jpeg"));
        for bad in [
            "",
            "/etc/passwd",
            "../secret",
            "a/../b",
            "a//b",
            "a/",
            ".env",
            "a/.hidden",
            "a\\b",
            "a b.png",
            "a/%2e%2e/b",
            "products/x.png?x=1",
        ] {
            assert!(!is_valid_key(bad), "{bad:?}");
        }
    }

    #[test]
    fn media_types_follow_the_extension() {
        assert_eq!(media_type("p/x.PNG"), "image/png");
        assert_eq!(media_type("p/x.jpg"), "image/jpeg");
        assert_eq!(media_type("p/x.webp"), "image/webp");
        assert_eq!(media_type("p/x"), "application/octet-stream");
        assert_eq!(media_type("p/x.html"), "application/octet-stream");
    }
}
