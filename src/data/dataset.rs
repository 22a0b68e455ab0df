//! A dataset as training sees it: class names and labelled files, from a class-folder tree or a
//! RON manifest, with the train/validation split.

use super::folder::{ScanDepth, Skipped, scan_folder};
use super::loader::Sample;
use super::split::{Manifest, SplitSettings, Subset, stratified_split};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Dataset {
    /// Where it came from: the folder or the manifest file.
    pub source: PathBuf,
    pub classes: Vec<String>,
    /// Every labelled file, with its subset.
    pub manifest: Manifest,
    /// Folder the manifest's paths are relative to.
    pub root: PathBuf,
    /// Files a folder scan left out.
    pub skipped: Vec<Skipped>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DatasetError {
    pub path: PathBuf,
    pub message: String,
}

impl Dataset {
    /// Opens a class-folder tree (split with `split`) or a manifest (`.ron`; its own split if it
    /// records one, else split with `split`).
    pub fn open(path: &Path, split: &SplitSettings) -> Result<Dataset, DatasetError> {
        let error = |message: String| DatasetError {
            path: path.to_path_buf(),
            message,
        };
        if path.is_dir() {
            let scanned = scan_folder(path, ScanDepth::Headers).map_err(|e| error(e.message))?;
            let (manifest, warnings) = stratified_split(&scanned, split);
            return Ok(Dataset {
                source: path.to_path_buf(),
                classes: manifest.classes.clone(),
                root: path.to_path_buf(),
                manifest,
                skipped: scanned.skipped,
                warnings,
            });
        }
        if !path.exists() {
            return Err(error("no such folder or manifest".into()));
        }
        let mut manifest = Manifest::load(path).map_err(|e| error(e.message))?;
        let root = manifest.root_dir(Some(path));
        // Recorded absolute, so a copy of this manifest elsewhere (a run folder) still finds the files.
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        manifest.root = root.to_string_lossy().into_owned();
        let mut warnings = Vec::new();
        if manifest.entries.iter().any(|e| e.subset.is_none()) {
            warnings.extend(split_manifest(&mut manifest, split));
        }
        Ok(Dataset {
            source: path.to_path_buf(),
            classes: manifest.classes.clone(),
            root,
            manifest,
            skipped: Vec::new(),
            warnings,
        })
    }

    /// The samples of one subset, with absolute paths and class indices.
    pub fn samples(&self, subset: Subset) -> Vec<Sample> {
        self.manifest
            .entries
            .iter()
            .filter(|e| e.subset == Some(subset))
            .filter_map(|e| {
                Some(Sample {
                    path: self.root.join(&e.path),
                    label: self.manifest.class_index(&e.label)?,
                })
            })
            .collect()
    }
}

/// Stratified split of a manifest's entries, the same way folders are split.
fn split_manifest(manifest: &mut Manifest, settings: &SplitSettings) -> Vec<String> {
    use super::folder::{ClassImages, ScannedFolder};
    let scanned = ScannedFolder {
        root: PathBuf::from(&manifest.root),
        classes: manifest
            .classes
            .iter()
            .map(|name| ClassImages {
                name: name.clone(),
                images: manifest
                    .entries
                    .iter()
                    .filter(|e| &e.label == name)
                    .map(|e| PathBuf::from(&e.path))
                    .collect(),
            })
            .filter(|c| !c.images.is_empty())
            .collect(),
        skipped: Vec::new(),
    };
    let (split, warnings) = stratified_split(&scanned, settings);
    for entry in &mut manifest.entries {
        entry.subset = split
            .entries
            .iter()
            .find(|s| s.path == entry.path)
            .and_then(|s| s.subset);
    }
    manifest.split = Some(settings.clone());
    warnings
}
