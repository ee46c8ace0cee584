//! The landing area: `<landing>/<yyyy-mm>/<office>_<yyyy-mm>_<kind>.<csv|csv.gz|xlsx>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ansinh_core::{DELIVERY_EXTENSIONS, Delivery, DeliveryKind};
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::path::Path as StorePath;
use url::Url;

use crate::error::{Error, Result};
use crate::source::SourcePattern;
use crate::storage::{Storage, object_path};

/// A delivery file found in the landing area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandedFile {
    /// What it is.
    pub delivery: Delivery,
    /// Where it is: the local file, or the object's URL for a remote landing area.
    pub path: PathBuf,
    /// Path relative to the landing root, as recorded in `_loads`.
    pub relative: String,
    /// The object, when the landing area is an object store.
    pub remote: Option<RemoteObject>,
}

/// An object in a remote landing area.
#[derive(Clone)]
pub struct RemoteObject {
    /// The store.
    pub store: Arc<dyn ObjectStore>,
    /// The object's path in the store.
    pub location: StorePath,
    /// Its size in bytes.
    pub size: u64,
    /// Its entity tag, which changes whenever its content does, if the store gives one.
    pub etag: Option<String>,
}

impl std::fmt::Debug for RemoteObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteObject")
            .field("location", &self.location)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl PartialEq for RemoteObject {
    fn eq(&self, other: &Self) -> bool {
        self.location == other.location && self.size == other.size
    }
}

impl Eq for RemoteObject {}

/// Where offices drop their extracts: a local directory or an object-store prefix.
#[derive(Debug, Clone)]
pub enum LandingArea {
    /// A local directory.
    Local(PathBuf),
    /// A prefix in an object store.
    Remote {
        /// The prefix as a URL ending in `/`.
        url: Url,
        /// The store.
        store: Arc<dyn ObjectStore>,
    },
}

/// A file of a landing area, by its path relative to the root.
#[derive(Debug, Clone)]
pub struct ListedFile {
    /// Relative path with `/` separators.
    pub relative: String,
    /// The local path, or the object's URL.
    pub path: PathBuf,
    /// The object, for a remote landing area.
    pub remote: Option<RemoteObject>,
}

impl LandingArea {
    /// Opens a landing area: a local directory that must exist, or an `s3://`, `gs://` or
    /// `az://` prefix.
    pub fn open(location: &str, storage: &Storage) -> Result<Self> {
        let bad = |message: String| Error::Landing {
            location: location.to_string(),
            message,
        };
        match Url::parse(location) {
            Ok(url) if url.scheme().len() > 1 && url.scheme() != "file" => {
                let mut url = url;
                if !url.path().ends_with('/') {
                    let path = format!("{}/", url.path());
                    url.set_path(&path);
                }
                let (store, _) = storage.store(&url)?;
                Ok(Self::Remote { url, store })
            }
            _ => {
                let path = PathBuf::from(location.strip_prefix("file://").unwrap_or(location));
                if !path.is_dir() {
                    return Err(bad("does not exist or is not a directory".into()));
                }
                Ok(Self::Local(path))
            }
        }
    }

    /// The local directory, if the landing area is one.
    pub fn local(&self) -> Option<&Path> {
        match self {
            Self::Local(path) => Some(path),
            Self::Remote { .. } => None,
        }
    }

    /// Where it is, for messages.
    pub fn display(&self) -> String {
        match self {
            Self::Local(path) => path.display().to_string(),
            Self::Remote { url, .. } => url.to_string(),
        }
    }

    /// Every file under `prefix` (relative, ending in `/` or empty), recursively; hidden names
    /// (starting with `.`) are left out.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ListedFile>> {
        let landing_error = |message: String| Error::Landing {
            location: self.display(),
            message,
        };
        // Hidden below the listed prefix: the prefix itself may be anything.
        let hidden = |relative: &str| {
            relative
                .strip_prefix(prefix)
                .unwrap_or(relative)
                .split('/')
                .any(|part| part.starts_with('.'))
        };
        let mut out = Vec::new();
        match self {
            Self::Local(root) => {
                let start = root.join(prefix);
                if !start.is_dir() {
                    return Ok(out);
                }
                // Symbolic links to directories are followed, each directory once: a link back
                // up the tree would otherwise be walked for ever. A link that leads out of the
                // landing area is not followed: a delivery is what the landing area holds.
                let inside = std::fs::canonicalize(root)
                    .map_err(|e| landing_error(format!("{}: {e}", root.display())))?;
                let leads_out = |path: &Path| {
                    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
                        && !std::fs::canonicalize(path).is_ok_and(|real| real.starts_with(&inside))
                };
                let mut visited = std::collections::HashSet::new();
                let mut stack = vec![start];
                while let Some(dir) = stack.pop() {
                    let real = std::fs::canonicalize(&dir)
                        .map_err(|e| landing_error(format!("{}: {e}", dir.display())))?;
                    if !visited.insert(real) {
                        continue;
                    }
                    let mut entries = std::fs::read_dir(&dir)
                        .and_then(|entries| {
                            entries
                                .map(|e| e.map(|e| e.path()))
                                .collect::<std::io::Result<Vec<_>>>()
                        })
                        .map_err(|e| landing_error(format!("{}: {e}", dir.display())))?;
                    // In name order, the first of several ways to one directory is the one
                    // listed, whatever order the file system returns.
                    entries.sort();
                    let mut subdirectories = Vec::new();
                    for path in entries {
                        let Some(relative) = path
                            .strip_prefix(root)
                            .ok()
                            .and_then(|p| p.to_str())
                            .map(|p| p.replace(std::path::MAIN_SEPARATOR, "/"))
                        else {
                            continue;
                        };
                        if hidden(&relative) {
                            continue;
                        }
                        if leads_out(&path) {
                            tracing::warn!(
                                file = %relative,
                                "a symbolic link out of the landing area, not followed"
                            );
                            continue;
                        }
                        if path.is_dir() {
                            subdirectories.push(path);
                        } else if path.is_file() {
                            out.push(ListedFile {
                                relative,
                                path,
                                remote: None,
                            });
                        }
                    }
                    stack.extend(subdirectories.into_iter().rev());
                }
            }
            Self::Remote { url, store } => {
                let listed = url.join(prefix).map_err(|e| landing_error(e.to_string()))?;
                let root = object_path(url)?;
                let start = object_path(&listed)?;
                let objects: Vec<_> =
                    store
                        .list(Some(&start))
                        .try_collect()
                        .await
                        .map_err(|e| Error::Store {
                            location: listed.to_string(),
                            message: e.to_string(),
                        })?;
                for meta in objects {
                    let full = meta.location.as_ref();
                    let root_text = root.as_ref();
                    let relative = if root_text.is_empty() {
                        full.to_string()
                    } else {
                        match full
                            .strip_prefix(root_text)
                            .and_then(|r| r.strip_prefix('/'))
                        {
                            Some(r) => r.to_string(),
                            None => continue,
                        }
                    };
                    if hidden(&relative) {
                        continue;
                    }
                    let object_url = url
                        .join(&relative)
                        .map_err(|e| landing_error(e.to_string()))?;
                    out.push(ListedFile {
                        relative,
                        path: PathBuf::from(object_url.as_str()),
                        remote: Some(RemoteObject {
                            store: Arc::clone(store),
                            location: meta.location.clone(),
                            size: meta.size,
                            etag: meta.e_tag.clone(),
                        }),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.relative.cmp(&b.relative));
        Ok(out)
    }
}

/// What a scan of the landing area found.
#[derive(Debug, Clone, Default)]
pub struct LandingScan {
    /// Deliveries, sorted by period, office and kind.
    pub files: Vec<LandedFile>,
    /// Files that are not deliveries, with the reason.
    pub ignored: Vec<(String, String)>,
    /// Deliveries present as more than one file (`.csv` and `.xlsx`, say), with the files:
    /// none of them is loaded.
    pub ambiguous: BTreeMap<Delivery, Vec<String>>,
}

/// The contract's name of a delivery of `kind`: `<period>/<office>_<period>_<kind>.<ext>`.
pub fn contract_pattern(kind: DeliveryKind) -> SourcePattern {
    let text = format!("{{period}}/{{office}}_{{period}}_{}.{{ext}}", kind.name());
    match SourcePattern::parse(&text) {
        Ok(pattern) => pattern,
        // The text is fixed above and has every placeholder the parser requires.
        Err(message) => unreachable!("the contract pattern is valid: {message}"),
    }
}

impl LandingScan {
    /// The deliveries of `listed` (a listing of the whole landing area) named as the contract
    /// says; every other file is ignored with the reason. A delivery with more than one file
    /// (`.csv` and `.xlsx`, say) is ambiguous: none of its files is taken.
    pub fn from_listing(listed: &[ListedFile]) -> Self {
        let mut scan = LandingScan::default();
        let mut matched = std::collections::BTreeSet::new();
        for kind in DeliveryKind::ALL {
            let listing = contract_pattern(kind).select(listed, kind);
            matched.extend(listing.files.iter().map(|f| f.relative.clone()));
            matched.extend(listing.ambiguous.iter().map(|f| f.relative.clone()));
            scan.files.extend(listing.files);
            let mut by_delivery: BTreeMap<&Delivery, Vec<&str>> = BTreeMap::new();
            for f in &listing.ambiguous {
                by_delivery
                    .entry(&f.delivery)
                    .or_default()
                    .push(&f.relative);
            }
            for (delivery, names) in by_delivery {
                scan.ambiguous.insert(
                    delivery.clone(),
                    names.iter().map(|n| n.to_string()).collect(),
                );
                for name in &names {
                    scan.ignored.push((
                        name.to_string(),
                        format!(
                            "{delivery} is delivered more than once ({}); keep one",
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        // Only files directly in a month's folder are meant as deliveries; the rest of the
        // landing area (reference data, the generator's manifest, archives) is not reported.
        let in_month_folder = |relative: &str| {
            relative.split_once('/').is_some_and(|(folder, name)| {
                folder.parse::<ansinh_core::YearMonth>().is_ok() && !name.contains('/')
            })
        };
        for file in listed
            .iter()
            .filter(|f| !matched.contains(&f.relative) && in_month_folder(&f.relative))
        {
            scan.ignored.push((
                file.relative.clone(),
                format!(
                    "not named <yyyy-mm>/<office>_<yyyy-mm>_<participants|beneficiaries>.<{}>",
                    DELIVERY_EXTENSIONS.join("|")
                ),
            ));
        }
        scan.files.sort_by(|a, b| {
            (a.delivery.period, &a.delivery.office, a.delivery.kind).cmp(&(
                b.delivery.period,
                &b.delivery.office,
                b.delivery.kind,
            ))
        });
        scan.ignored.sort();
        scan
    }
}

/// Lists every delivery of a landing area: files named `<period>/<office>_<period>_<kind>.<ext>`.
pub async fn scan_area(area: &LandingArea) -> Result<LandingScan> {
    Ok(LandingScan::from_listing(&area.list("").await?))
}

/// Lists every delivery under a local landing root.
pub fn scan(root: &Path) -> Result<LandingScan> {
    let area = LandingArea::Local(root.to_path_buf());
    if !root.is_dir() {
        return Err(Error::Landing {
            location: root.display().to_string(),
            message: "does not exist or is not a directory".into(),
        });
    }
    futures::executor::block_on(scan_area(&area))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_names_and_what_is_ignored() {
        let listed: Vec<ListedFile> = [
            "2024-01/568_2024-01_participants.csv.gz",
            "2024-01/568_2024-01_beneficiaries.csv",
            "2024-01/569_2024-01_participants.csv",
            "2024-01/569_2024-01_participants.xlsx",
            "2024-01/568_2024-02_participants.csv",
            "2024-01/568_2024-01_participants.txt",
            "2024-01/568_2024-01_pensions.csv",
            "notes.txt",
            "reference/geography.csv",
            "2024-01/archive/568_2024-01_participants.csv",
        ]
        .into_iter()
        .map(|relative| ListedFile {
            relative: relative.into(),
            path: PathBuf::from(relative),
            remote: None,
        })
        .collect();
        let scan = LandingScan::from_listing(&listed);
        let files: Vec<String> = scan.files.iter().map(|f| f.delivery.to_string()).collect();
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(scan.files[0].delivery.kind, DeliveryKind::Participants);
        assert_eq!(scan.files[0].delivery.office, "568");
        let ignored: Vec<&str> = scan.ignored.iter().map(|(f, _)| f.as_str()).collect();
        // Files outside a month's folder, or below it, are not deliveries and not reported.
        assert_eq!(ignored.len(), 5, "{ignored:?}");
        assert!(
            scan.ignored
                .iter()
                .any(|(f, why)| f.ends_with("569_2024-01_participants.xlsx")
                    && why.contains("more than once"))
        );
    }

    #[tokio::test]
    async fn symbolic_links_out_of_the_landing_area_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let month = dir.path().join("2024-01");
        std::fs::create_dir(&month).unwrap();
        std::fs::write(month.join("568_2024-01_participants.csv"), "x").unwrap();
        let secret = outside.path().join("secret.csv");
        std::fs::write(&secret, "x").unwrap();
        std::os::unix::fs::symlink(&secret, month.join("569_2024-01_participants.csv")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("2024-02")).unwrap();
        // A link that stays inside is followed.
        std::os::unix::fs::symlink(
            month.join("568_2024-01_participants.csv"),
            month.join("570_2024-01_participants.csv"),
        )
        .unwrap();
        let area = LandingArea::Local(dir.path().to_path_buf());
        let listed = area.list("").await.unwrap();
        let names: Vec<&str> = listed.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(
            names,
            [
                "2024-01/568_2024-01_participants.csv",
                "2024-01/570_2024-01_participants.csv"
            ]
        );
    }

    #[tokio::test]
    async fn a_symbolic_link_loop_is_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        let month = dir.path().join("2024-01");
        std::fs::create_dir(&month).unwrap();
        std::fs::write(month.join("568_2024-01_participants.csv"), "x").unwrap();
        // A link from inside the month back to the landing root, and one to the month.
        std::os::unix::fs::symlink(dir.path(), month.join("loop")).unwrap();
        std::os::unix::fs::symlink(&month, dir.path().join("2024-01-again")).unwrap();
        let area = LandingArea::Local(dir.path().to_path_buf());
        let listed = area.list("").await.unwrap();
        let names: Vec<&str> = listed.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(names, ["2024-01/568_2024-01_participants.csv"]);
    }
}
