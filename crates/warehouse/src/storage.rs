//! Object stores behind warehouse and landing URLs: local directories, `s3://` (AWS or any
//! S3-compatible endpoint), `gs://` and `az://`, with credentials from the standard environment
//! variables and the configured endpoint, region, timeouts and retry policy.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ansinh_core::StorageConfig;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use url::Url;

use crate::error::{Error, Result};

/// How to reach object stores.
#[derive(Debug, Clone, PartialEq)]
pub struct Storage {
    config: StorageConfig,
}

impl Default for Storage {
    fn default() -> Self {
        Self::new(StorageConfig::default())
    }
}

static HANDLERS: std::sync::Once = std::sync::Once::new();

/// Registers the Delta Lake handlers of `s3://`, `gs://` and `az://` once per process.
fn register_delta_handlers() {
    HANDLERS.call_once(|| {
        deltalake::aws::register_handlers(None);
        deltalake::gcp::register_handlers(None);
        deltalake::azure::register_handlers(None);
    });
}

impl Storage {
    /// Storage with these settings.
    pub fn new(config: StorageConfig) -> Self {
        register_delta_handlers();
        Self { config }
    }

    fn retry(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: self.config.max_retries,
            retry_timeout: Duration::from_secs(self.config.retry_timeout_seconds),
        }
    }

    fn client(&self) -> ClientOptions {
        ClientOptions::new()
            .with_timeout(Duration::from_secs(self.config.request_timeout_seconds))
            .with_connect_timeout(Duration::from_secs(self.config.connect_timeout_seconds))
            .with_allow_http(self.config.allow_http)
    }

    /// Options for Delta tables at `url` (credentials are read from the environment by
    /// delta-rs itself).
    pub fn delta_options(&self, url: &Url) -> HashMap<String, String> {
        let mut options = HashMap::new();
        if url.scheme() == "file" {
            return options;
        }
        let c = &self.config;
        options.insert("max_retries".into(), c.max_retries.to_string());
        options.insert(
            "retry_timeout".into(),
            format!("{}s", c.retry_timeout_seconds),
        );
        options.insert("timeout".into(), format!("{}s", c.request_timeout_seconds));
        options.insert(
            "connect_timeout".into(),
            format!("{}s", c.connect_timeout_seconds),
        );
        if c.allow_http {
            options.insert("allow_http".into(), "true".into());
        }
        if matches!(url.scheme(), "s3" | "s3a") {
            if let Some(endpoint) = &c.endpoint {
                options.insert("aws_endpoint".into(), endpoint.clone());
            }
            if let Some(region) = &c.region {
                options.insert("aws_region".into(), region.clone());
            }
        }
        options
    }

    /// The object store holding `url` (a bucket or container, or the local file system), and
    /// the URL of its root (`s3://bucket`) for registering it in a query session.
    pub fn store(&self, url: &Url) -> Result<(Arc<dyn ObjectStore>, Url)> {
        let bad = |message: String| Error::Location {
            location: url.to_string(),
            message,
        };
        let base = Url::parse(&format!(
            "{}://{}",
            url.scheme(),
            url.host_str().unwrap_or("")
        ))
        .map_err(|e| bad(e.to_string()))?;
        let store: Arc<dyn ObjectStore> = match url.scheme() {
            "file" => Arc::new(LocalFileSystem::new()),
            "s3" | "s3a" => {
                let mut builder = AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .with_retry(self.retry())
                    .with_client_options(self.client());
                if let Some(endpoint) = &self.config.endpoint {
                    builder = builder.with_config(AmazonS3ConfigKey::Endpoint, endpoint);
                }
                if let Some(region) = &self.config.region {
                    builder = builder.with_config(AmazonS3ConfigKey::Region, region);
                }
                Arc::new(builder.build().map_err(|e| bad(e.to_string()))?)
            }
            "gs" => Arc::new(
                GoogleCloudStorageBuilder::from_env()
                    .with_url(url.as_str())
                    .with_retry(self.retry())
                    .with_client_options(self.client())
                    .build()
                    .map_err(|e| bad(e.to_string()))?,
            ),
            "az" | "azure" | "abfs" | "abfss" => Arc::new(
                MicrosoftAzureBuilder::from_env()
                    .with_url(url.as_str())
                    .with_retry(self.retry())
                    .with_client_options(self.client())
                    .build()
                    .map_err(|e| bad(e.to_string()))?,
            ),
            other => {
                return Err(bad(format!(
                    "unsupported scheme {other}://; use a local path, file://, s3://, gs:// or az://"
                )));
            }
        };
        Ok((store, base))
    }
}

/// The object path of `url` in its store.
pub fn object_path(url: &Url) -> Result<object_store::path::Path> {
    object_store::path::Path::from_url_path(url.path()).map_err(|e| Error::Location {
        location: url.to_string(),
        message: e.to_string(),
    })
}
