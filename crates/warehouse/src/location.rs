//! Warehouse and landing locations: a plain path means a local directory, anything with a
//! scheme is an object-store URL.

use std::path::{Path, PathBuf};

use url::Url;

use crate::error::{Error, Result};

/// Where the warehouse lives. Layout: `<root>/tables/<name>` (Delta tables) and
/// `<root>/marts/<name>.parquet` (plain Parquet marts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    root: Url,
}

impl Location {
    /// Parses a path or URL. Local directories are created when missing.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |message: String| Error::Location {
            location: text.into(),
            message,
        };
        let root = match Url::parse(text) {
            Ok(url) if url.scheme().len() > 1 => url,
            _ => {
                let path = Path::new(text);
                std::fs::create_dir_all(path).map_err(|e| bad(e.to_string()))?;
                let absolute = std::fs::canonicalize(path).map_err(|e| bad(e.to_string()))?;
                Url::from_directory_path(&absolute)
                    .map_err(|_| bad("not an absolute path".into()))?
            }
        };
        let mut root = root;
        if !root.path().ends_with('/') {
            let path = format!("{}/", root.path());
            root.set_path(&path);
        }
        Ok(Self { root })
    }

    /// The root URL, ending in `/`.
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The local directory of the root, for `file://` warehouses.
    pub fn local_root(&self) -> Option<PathBuf> {
        (self.root.scheme() == "file")
            .then(|| self.root.to_file_path().ok())
            .flatten()
    }

    /// URL of the Delta table `name` (which may contain `/` for namespaces).
    pub fn table(&self, name: &str) -> Result<Url> {
        self.root
            .join(&format!("tables/{name}/"))
            .map_err(|e| Error::Location {
                location: self.root.to_string(),
                message: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_become_file_urls() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::parse(dir.path().join("wh").to_str().unwrap()).unwrap();
        assert_eq!(loc.root().scheme(), "file");
        assert!(
            loc.table("participants")
                .unwrap()
                .as_str()
                .ends_with("/wh/tables/participants/")
        );
        let s3 = Location::parse("s3://bucket/prefix").unwrap();
        assert_eq!(
            s3.table("_loads").unwrap().as_str(),
            "s3://bucket/prefix/tables/_loads/"
        );
        assert!(crate::Warehouse::open("s3://bucket/prefix").is_ok());
        let err = crate::Warehouse::open("ftp://host/prefix")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported scheme ftp://"), "{err}");
    }
}
