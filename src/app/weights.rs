//! Pretrained weights for the Architecture panel's slots: downloading torchvision's files with
//! progress, and checking a user's own `.pth` file against the slot's network (official files
//! are recognised by their hash and put in the cache), all off the UI thread.

use super::background::Job;
use crate::model::Architecture;
use crate::weights::fetch::{fetch_official, import_official};
use crate::weights::file::{compare_keys, expected_keys, read_weight_file};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A download in progress: bytes so far and the total (0 until the server says).
pub struct Download {
    pub done: Arc<AtomicU64>,
    pub total: Arc<AtomicU64>,
    job: Job<Result<PathBuf, String>>,
}

impl Download {
    pub fn fraction(&self) -> Option<f32> {
        let total = self.total.load(Ordering::Relaxed);
        (total > 0).then(|| self.done.load(Ordering::Relaxed) as f32 / total as f32)
    }
}

/// What became of a file the user chose for a slot.
pub struct CheckedFile {
    pub slot: usize,
    pub outcome: Result<(PathBuf, String), String>,
}

#[derive(Default)]
pub struct WeightsJobs {
    pub downloads: HashMap<String, Download>,
    checks: Vec<(usize, Job<Result<(PathBuf, String), String>>)>,
}

impl WeightsJobs {
    pub fn busy(&self) -> bool {
        !self.downloads.is_empty() || !self.checks.is_empty()
    }

    /// Starts downloading official weights `name` into the cache.
    pub fn download(&mut self, ctx: &egui::Context, name: &str) {
        if self.downloads.contains_key(name) {
            return;
        }
        let (done, total) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (d, t, owned, repaint) = (done.clone(), total.clone(), name.to_string(), ctx.clone());
        let job = Job::spawn("skiplane-fetch", ctx, move || {
            fetch_official(&owned, &mut |bytes, size| {
                d.store(bytes, Ordering::Relaxed);
                if let Some(size) = size {
                    t.store(size, Ordering::Relaxed);
                }
                repaint.request_repaint();
            })
            .map_err(|e| e.to_string())
        });
        self.downloads
            .insert(name.to_string(), Download { done, total, job });
    }

    /// Checks `path` against `architecture` for slot `slot`.
    pub fn check_file(
        &mut self,
        ctx: &egui::Context,
        slot: usize,
        path: PathBuf,
        architecture: Architecture,
    ) {
        let job = Job::spawn("skiplane-weights-check", ctx, move || {
            check(&path, &architecture)
        });
        self.checks.push((slot, job));
    }

    /// Finished downloads (name, outcome) and checked files.
    pub fn poll(&mut self) -> (Vec<(String, Result<PathBuf, String>)>, Vec<CheckedFile>) {
        let mut downloads = Vec::new();
        self.downloads
            .retain(|name, download| match download.job.poll() {
                Some(outcome) => {
                    downloads.push((name.clone(), outcome));
                    false
                }
                None => true,
            });
        let mut checked = Vec::new();
        self.checks.retain_mut(|(slot, job)| match job.poll() {
            Some(outcome) => {
                checked.push(CheckedFile {
                    slot: *slot,
                    outcome,
                });
                false
            }
            None => true,
        });
        (downloads, checked)
    }
}

/// Official files go into the cache; any other file must hold the slot's backbone (its head may
/// differ: a new one is trained). Returns the file to use and a sentence about it.
fn check(path: &Path, architecture: &Architecture) -> Result<(PathBuf, String), String> {
    let file = read_weight_file(path).map_err(|e| e.to_string())?;
    let is_head = |key: &str| key.starts_with("fc.") || key.starts_with("classifier.");
    let expected: Vec<_> = expected_keys(architecture)
        .into_iter()
        .filter(|(key, _)| !is_head(key))
        .collect();
    let backbone = file
        .tensors
        .iter()
        .filter(|(key, _)| !is_head(key))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let diff = compare_keys(&expected, &backbone);
    if !diff.is_empty() {
        let looks_like = file
            .recognise()
            .map(|arch| format!(" It looks like {}.", arch.describe()))
            .unwrap_or_default();
        return Err(format!(
            "{}: does not fit {}: {}.{looks_like}",
            path.display(),
            architecture.describe(),
            diff.summary()
        ));
    }
    match import_official(path).map_err(|e| e.to_string())? {
        Some(cached) => Ok((
            cached.clone(),
            format!(
                "torchvision's official file, now in the cache as {}",
                cached.display()
            ),
        )),
        None => Ok((
            path.to_path_buf(),
            format!(
                "{} fits this network ({} format)",
                path.display(),
                file.format
            ),
        )),
    }
}
