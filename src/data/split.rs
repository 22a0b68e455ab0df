//! Stratified, seeded train/validation splits, recorded as a manifest (relative paths, labels and
//! SHA-256 of every file) so an experiment can be reproduced exactly and a changed dataset is
//! detected. The same manifest format lists a labelled dataset that is not a class-folder tree.

use super::folder::ScannedFolder;
use crate::files::{sha256_file, write_atomic};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subset {
    Train,
    Validation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SplitSettings {
    /// Share of each class held out for validation.
    pub validation_fraction: f64,
    pub seed: u64,
}

impl Default for SplitSettings {
    fn default() -> Self {
        Self {
            validation_fraction: 0.2,
            seed: 42,
        }
    }
}

/// One labelled file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Relative to the manifest's root, with `/` separators.
    pub path: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset: Option<Subset>,
}

/// A labelled dataset as a list of files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Folder the entries are relative to: absolute, or relative to the manifest file's folder.
    pub root: String,
    /// Class names; a class's index is its position here.
    pub classes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSettings>,
    pub entries: Vec<ManifestEntry>,
}

/// A file whose content is not what the manifest recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedFile {
    pub path: String,
    pub change: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ManifestError {
    pub path: PathBuf,
    pub message: String,
}

/// Splits each class on its own, so validation has every class in proportion. Each class with at
/// least 2 images gets at least one validation image and keeps at least one for training; a
/// class with fewer gets a warning and is used for training only.
pub fn stratified_split(
    scanned: &ScannedFolder,
    settings: &SplitSettings,
) -> (Manifest, Vec<String>) {
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let mut warnings = Vec::new();
    let mut entries = Vec::new();
    let fraction = settings.validation_fraction.clamp(0.0, 1.0);
    for class in &scanned.classes {
        let mut images = class.images.clone();
        images.shuffle(&mut rng);
        let n = images.len();
        let validation = if n < 2 || fraction == 0.0 {
            if n < 2 {
                warnings.push(format!(
                    "class `{}` has {n} image; it needs at least 2 to appear in both training and validation",
                    class.name
                ));
            }
            0
        } else {
            ((n as f64 * fraction).round() as usize).clamp(1, n - 1)
        };
        for (i, path) in images.into_iter().enumerate() {
            entries.push(ManifestEntry {
                path: relative_string(&path),
                label: class.name.clone(),
                sha256: None,
                subset: Some(if i < validation {
                    Subset::Validation
                } else {
                    Subset::Train
                }),
            });
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest {
        root: scanned.root.to_string_lossy().into_owned(),
        classes: scanned.class_names(),
        split: Some(settings.clone()),
        entries,
    };
    (manifest, warnings)
}

fn relative_string(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

impl Manifest {
    /// The folder entries are relative to, given where the manifest file is.
    pub fn root_dir(&self, manifest_path: Option<&Path>) -> PathBuf {
        let root = PathBuf::from(&self.root);
        match manifest_path.and_then(Path::parent) {
            Some(dir) if root.is_relative() => dir.join(root),
            _ => root,
        }
    }

    /// Records the SHA-256 of every file (in parallel).
    pub fn record_hashes(&mut self, root: &Path) -> Result<(), ManifestError> {
        let hashes: Vec<Result<String, ManifestError>> = self
            .entries
            .par_iter()
            .map(|e| {
                let path = root.join(&e.path);
                sha256_file(&path).map_err(|err| ManifestError {
                    path: path.clone(),
                    message: format!("cannot read: {err}"),
                })
            })
            .collect();
        for (entry, hash) in self.entries.iter_mut().zip(hashes) {
            entry.sha256 = Some(hash?);
        }
        Ok(())
    }

    /// Files that are missing or whose content changed since the hashes were recorded.
    pub fn verify(&self, root: &Path) -> Vec<ChangedFile> {
        let mut changes: Vec<ChangedFile> = self
            .entries
            .par_iter()
            .filter_map(|e| {
                let recorded = e.sha256.as_ref()?;
                let change = match sha256_file(&root.join(&e.path)) {
                    Ok(actual) if &actual == recorded => return None,
                    Ok(_) => "content changed".to_string(),
                    Err(err) => format!("cannot be read: {err}"),
                };
                Some(ChangedFile {
                    path: e.path.clone(),
                    change,
                })
            })
            .collect();
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        changes
    }

    /// Checks labels refer to listed classes and paths stay inside the root.
    pub fn validate(&self) -> Result<(), String> {
        if self.classes.is_empty() {
            return Err("`classes` is empty".into());
        }
        for entry in &self.entries {
            if !self.classes.contains(&entry.label) {
                return Err(format!(
                    "entry `{}` has label `{}`, which is not in `classes`",
                    entry.path, entry.label
                ));
            }
            let path = Path::new(&entry.path);
            if path.is_absolute()
                || path
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(format!(
                    "entry `{}` must be a path inside the root (relative, no `..`)",
                    entry.path
                ));
            }
        }
        Ok(())
    }

    pub fn class_index(&self, label: &str) -> Option<usize> {
        self.classes.iter().position(|c| c == label)
    }

    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let error = |message: String| ManifestError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| error(format!("cannot read the manifest: {e}")))?;
        let manifest: Manifest =
            ron::from_str(&text).map_err(|e| error(format!("not a valid manifest: {e}")))?;
        manifest.validate().map_err(error)?;
        Ok(manifest)
    }

    pub fn save(&self, path: &Path) -> Result<(), ManifestError> {
        let text =
            ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default()).map_err(|e| {
                ManifestError {
                    path: path.to_path_buf(),
                    message: format!("cannot encode: {e}"),
                }
            })?;
        write_atomic(path, text.as_bytes()).map_err(|e| ManifestError {
            path: path.to_path_buf(),
            message: format!("cannot write: {e}"),
        })
    }
}
