//! The typed messages between a training worker and whoever watches it (the CLI now, the GUI
//! later). The worker never blocks on its watcher; stopping is a message, not a panic.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What a watcher can ask of a running training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainCommand {
    Pause,
    Resume,
    /// Finish the current epoch (and its checkpoint), then stop.
    StopAfterEpoch,
    /// Stop at the next batch; the run folder keeps the last finished epoch.
    StopNow,
}

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub validation_loss: f64,
    pub validation_accuracy: f64,
    pub learning_rate: f64,
    pub images_per_second: f64,
    pub seconds: f64,
    /// Peak memory so far, if measured: device memory on wgpu, the process's resident memory on
    /// the CPU backend (see [`Report::memory_kind`]).
    #[serde(default)]
    pub peak_memory_bytes: Option<u64>,
}

/// The end-of-run summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub classes: Vec<String>,
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub best_validation_accuracy: f64,
    pub final_validation_accuracy: f64,
    /// Per class, from the final model on the validation set.
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    /// `confusion[true][predicted]` counts on the validation set.
    pub confusion: Vec<Vec<usize>>,
    pub parameters: usize,
    pub trainable_parameters: usize,
    pub gflops: f64,
    pub seconds_per_epoch: f64,
    pub train_images_per_second: f64,
    /// Memory before training started and its peak during the run, measured: what the device
    /// allocator reserved on wgpu, the process's resident memory on the CPU backend.
    pub baseline_memory_bytes: Option<u64>,
    pub peak_memory_bytes: Option<u64>,
    #[serde(default)]
    pub memory_kind: super::memory::MemoryKind,
    /// The inspector's estimate for this mode and batch, to set beside the measurement.
    pub estimated_memory_bytes: u64,
    /// How the run ended: "finished", "stopped by the user", "stopped early: …".
    pub ended: String,
    /// Every validation image with its true and predicted class index (final model), for
    /// galleries of mistakes and for comparing runs image by image.
    #[serde(default)]
    pub validation_predictions: Vec<Prediction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub path: PathBuf,
    pub label: usize,
    pub predicted: usize,
    /// The image's cross-entropy loss under the final model.
    #[serde(default)]
    pub loss: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TrainEvent {
    Started {
        device: String,
        classes: Vec<String>,
        train_images: usize,
        validation_images: usize,
        /// The inspector's estimate of the memory this run needs (a reference for the measured).
        estimated_memory_bytes: u64,
        /// e.g. "backbone features are computed once and cached".
        notes: Vec<String>,
    },
    BatchDone {
        epoch: usize,
        batch: usize,
        batches: usize,
        loss: f64,
        /// Training images per second so far in this epoch.
        images_per_second: f64,
        /// Estimated seconds until the last epoch ends.
        eta_seconds: f64,
    },
    EpochDone(EpochMetrics),
    CheckpointSaved(PathBuf),
    Finished(Report),
    Failed(String),
}
