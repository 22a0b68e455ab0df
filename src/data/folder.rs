//! Scanning a dataset folder in torchvision's ImageFolder layout (one subfolder per class).
//! Every file that cannot be used is reported with its reason and skipped; nothing stops the scan.

use super::decode::{SkipReason, decode_bytes, io_reason, probe, read_file};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One class and its usable images (paths relative to the dataset root, sorted).
#[derive(Debug, Clone, Serialize)]
pub struct ClassImages {
    pub name: String,
    pub images: Vec<PathBuf>,
}

/// A file or folder that was left out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Relative to the dataset root.
    pub path: PathBuf,
    pub reason: String,
}

/// The result of a scan.
#[derive(Debug, Clone, Serialize)]
pub struct ScannedFolder {
    pub root: PathBuf,
    /// Sorted by name; only classes with at least one usable image.
    pub classes: Vec<ClassImages>,
    pub skipped: Vec<Skipped>,
}

/// How thoroughly files are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanDepth {
    /// Read headers only: fast; a corrupt body is found later, when the image is decoded.
    Headers,
    /// Decode every image: finds every corrupt file now.
    Full,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ScanError {
    pub path: PathBuf,
    pub message: String,
}

impl ScannedFolder {
    pub fn image_count(&self) -> usize {
        self.classes.iter().map(|c| c.images.len()).sum()
    }

    pub fn class_names(&self) -> Vec<String> {
        self.classes.iter().map(|c| c.name.clone()).collect()
    }

    /// Whether there is something to train on: at least two classes with images.
    pub fn is_trainable(&self) -> bool {
        self.classes.len() >= 2
    }
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// Scans `root`. Fails only when `root` itself cannot be listed.
pub fn scan_folder(root: &Path, depth: ScanDepth) -> Result<ScannedFolder, ScanError> {
    let entries = std::fs::read_dir(root).map_err(|e| ScanError {
        path: root.to_path_buf(),
        message: format!("cannot open the dataset folder: {e}"),
    })?;
    let mut class_dirs = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = PathBuf::from(&name);
        if is_hidden(&name) {
            skipped.push(Skipped {
                path: relative,
                reason: "hidden, ignored".into(),
            });
            continue;
        }
        match std::fs::metadata(entry.path()) {
            Ok(meta) if meta.is_dir() => class_dirs.push(name),
            Ok(_) => skipped.push(Skipped {
                path: relative,
                reason: "a file at the dataset root, ignored (images belong in a folder named after their class)".into(),
            }),
            Err(e) => skipped.push(Skipped {
                path: relative,
                reason: io_reason(&e).to_string(),
            }),
        }
    }
    class_dirs.sort();

    let mut candidates: Vec<(usize, PathBuf)> = Vec::new();
    for (index, class) in class_dirs.iter().enumerate() {
        let mut visited = HashSet::new();
        collect_files(
            root,
            Path::new(class),
            &mut visited,
            &mut candidates,
            &mut skipped,
            index,
        );
    }

    // Checking files is the slow part: do it on every core.
    let checked: Vec<(usize, PathBuf, Result<(), SkipReason>)> = candidates
        .into_par_iter()
        .map(|(class, relative)| {
            let result = read_file(&root.join(&relative)).and_then(|bytes| match depth {
                ScanDepth::Headers => probe(&bytes).map(|_| ()),
                ScanDepth::Full => decode_bytes(&bytes).map(|_| ()),
            });
            (class, relative, result)
        })
        .collect();

    let mut per_class: Vec<Vec<PathBuf>> = vec![Vec::new(); class_dirs.len()];
    for (class, relative, result) in checked {
        match result {
            Ok(()) => per_class[class].push(relative),
            Err(reason) => skipped.push(Skipped {
                path: relative,
                reason: reason.to_string(),
            }),
        }
    }
    let mut classes = Vec::new();
    for (name, mut images) in class_dirs.into_iter().zip(per_class) {
        if images.is_empty() {
            skipped.push(Skipped {
                path: PathBuf::from(&name),
                reason: "empty class folder (no usable images)".into(),
            });
            continue;
        }
        images.sort();
        classes.push(ClassImages { name, images });
    }
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(ScannedFolder {
        root: root.to_path_buf(),
        classes,
        skipped,
    })
}

/// Files under a class folder, recursively (as ImageFolder does), following symlinks but never
/// into a loop.
fn collect_files(
    root: &Path,
    relative_dir: &Path,
    visited: &mut HashSet<PathBuf>,
    files: &mut Vec<(usize, PathBuf)>,
    skipped: &mut Vec<Skipped>,
    class: usize,
) {
    let dir = root.join(relative_dir);
    let real_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    match std::fs::canonicalize(&dir) {
        // A link back to the dataset root or above it would scan the other classes again.
        Ok(real) if real_root.starts_with(&real) || !visited.insert(real.clone()) => {
            skipped.push(Skipped {
                path: relative_dir.to_path_buf(),
                reason: SkipReason::SymlinkLoop.to_string(),
            });
            return;
        }
        Err(e) => {
            skipped.push(Skipped {
                path: relative_dir.to_path_buf(),
                reason: io_reason(&e).to_string(),
            });
            return;
        }
        Ok(_) => {}
    }
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            skipped.push(Skipped {
                path: relative_dir.to_path_buf(),
                reason: io_reason(&e).to_string(),
            });
            return;
        }
    };
    // OsString, not String: a file name that is not valid UTF-8 must still be found again.
    let mut names: Vec<std::ffi::OsString> = entries.flatten().map(|e| e.file_name()).collect();
    names.sort();
    for name in names {
        let relative = relative_dir.join(&name);
        if is_hidden(&name.to_string_lossy()) {
            skipped.push(Skipped {
                path: relative,
                reason: "hidden, ignored".into(),
            });
            continue;
        }
        match std::fs::metadata(root.join(&relative)) {
            Ok(meta) if meta.is_dir() => {
                collect_files(root, &relative, visited, files, skipped, class)
            }
            Ok(_) => files.push((class, relative)),
            Err(e) => skipped.push(Skipped {
                path: relative,
                reason: io_reason(&e).to_string(),
            }),
        }
    }
}
