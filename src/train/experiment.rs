//! An experiment: everything a training run needs, as a RON file where every field has a default,
//! so a minimal file names only a dataset and an architecture.

use crate::data::split::SplitSettings;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrainingMode {
    /// Freeze the pretrained backbone and train a new linear head. Backbone features are computed
    /// once and cached, so every epoch after the first costs almost nothing.
    FrozenBackbone,
    /// Train the last N stages (ResNet stages / DenseNet blocks) and the head; the rest stays
    /// frozen (no gradients, BatchNorm in inference mode).
    UnfreezeLast(usize),
    /// Train every layer (BatchNorm in training mode).
    FineTune,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OptimizerChoice {
    /// SGD with momentum (PyTorch's semantics: no dampening).
    Sgd {
        momentum: f64,
    },
    AdamW,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    Constant,
    /// Cosine decay from the learning rate to 0 over all epochs.
    Cosine,
    /// torch's OneCycleLR with its defaults, stepped every batch: a cosine warm-up from
    /// `learning_rate / 25` to `learning_rate` over the first 30% of the steps, then a cosine
    /// anneal down to `learning_rate / 25 / 10⁴`.
    OneCycle,
    /// Multiply the rate by `gamma` every `every_epochs` epochs (torch's StepLR).
    Step {
        every_epochs: usize,
        gamma: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Experiment {
    /// A class-folder dataset or a manifest; relative paths are relative to the experiment file.
    pub dataset: PathBuf,
    /// A preset name (`resnet18`, `densenet121`, …) or a RON architecture file.
    pub architecture: String,
    /// A torchvision `.pth` file, or an official name (`resnet18`) fetched into the cache before;
    /// `None` trains from scratch.
    pub weights: Option<String>,
    pub mode: TrainingMode,
    pub optimizer: OptimizerChoice,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub schedule: Schedule,
    pub batch_size: usize,
    pub epochs: usize,
    /// Shorter side before the center crop.
    pub resize: u32,
    /// Side of the square the network sees.
    pub image_size: u32,
    pub split: SplitSettings,
    pub seed: u64,
    /// Random crops, flips, rotation and colour jitter for training images; `None` trains on the
    /// evaluation transform. Its `size` is replaced by `image_size`.
    pub augmentation: Option<crate::data::augment::Augmentation>,
    /// Stop when validation accuracy has not improved for this many epochs.
    pub early_stopping_patience: Option<usize>,
    /// With FineTune or UnfreezeLast, the backbone learns at this multiple of `learning_rate`
    /// (the head at the full rate): e.g. 0.1 for gentle fine-tuning.
    pub backbone_learning_rate_factor: f64,
    /// With FrozenBackbone and no augmentation, compute the backbone's features once and train
    /// the head on them. `false` runs the backbone over every training image every epoch, as a
    /// plain training loop would (same results, slower; for measuring what the cache saves).
    pub cache_features: bool,
}

impl Default for Experiment {
    fn default() -> Self {
        Self {
            dataset: PathBuf::new(),
            architecture: "resnet18".into(),
            weights: None,
            mode: TrainingMode::FrozenBackbone,
            optimizer: OptimizerChoice::Sgd { momentum: 0.9 },
            learning_rate: 0.01,
            weight_decay: 0.0,
            schedule: Schedule::Cosine,
            batch_size: 32,
            epochs: 10,
            resize: 256,
            image_size: 224,
            split: SplitSettings::default(),
            seed: 42,
            early_stopping_patience: None,
            augmentation: None,
            backbone_learning_rate_factor: 1.0,
            cache_features: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ExperimentError {
    pub path: PathBuf,
    pub message: String,
}

impl Experiment {
    /// Reads an experiment file, resolves its relative paths against the file's folder, and
    /// validates it.
    pub fn load(path: &Path) -> Result<Experiment, ExperimentError> {
        let error = |message: String| ExperimentError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| error(format!("cannot read the experiment: {e}")))?;
        let mut experiment: Experiment =
            ron::from_str(&text).map_err(|e| error(format!("not a valid experiment: {e}")))?;
        experiment.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        experiment.validate().map_err(error)?;
        Ok(experiment)
    }

    /// Makes the dataset, architecture and weights paths absolute, relative to `base` (the folder
    /// of the file they were read from), so the experiment as run (saved in the run folder) still
    /// finds them.
    pub fn resolve_paths(&mut self, base: &Path) {
        let absolute = |p: &Path| {
            let joined = base.join(p);
            std::fs::canonicalize(&joined).unwrap_or(joined)
        };
        self.dataset = absolute(&self.dataset);
        if self.architecture.ends_with(".ron") {
            self.architecture = absolute(Path::new(&self.architecture))
                .to_string_lossy()
                .into_owned();
        }
        if let Some(weights) = &self.weights
            && (weights.ends_with(".pth") || weights.ends_with(".pt"))
        {
            self.weights = Some(absolute(Path::new(weights)).to_string_lossy().into_owned());
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.dataset.as_os_str().is_empty() {
            return Err(
                "`dataset` is missing: name a folder of class folders or a manifest".into(),
            );
        }
        if self.batch_size == 0 {
            return Err("`batch_size` must be at least 1".into());
        }
        if self.epochs == 0 {
            return Err("`epochs` must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(format!(
                "`learning_rate` is {}: must be positive",
                self.learning_rate
            ));
        }
        if !(self.weight_decay >= 0.0) {
            return Err(format!(
                "`weight_decay` is {}: must be 0 or more",
                self.weight_decay
            ));
        }
        if let OptimizerChoice::Sgd { momentum } = self.optimizer
            && !(0.0..1.0).contains(&momentum)
        {
            return Err(format!(
                "`optimizer` momentum is {momentum}: must be in [0, 1)"
            ));
        }
        if self.image_size == 0 || self.resize < self.image_size {
            return Err(format!(
                "`image_size` ({}) must be at least 1 and `resize` ({}) at least as large",
                self.image_size, self.resize
            ));
        }
        if let Schedule::Step {
            every_epochs,
            gamma,
        } = self.schedule
            && (every_epochs == 0 || !(gamma > 0.0))
        {
            return Err(format!(
                "`schedule` Step needs every_epochs ≥ 1 and gamma > 0, got {every_epochs} and {gamma}"
            ));
        }
        if !(self.backbone_learning_rate_factor >= 0.0
            && self.backbone_learning_rate_factor.is_finite())
        {
            return Err(format!(
                "`backbone_learning_rate_factor` is {}: must be 0 or more",
                self.backbone_learning_rate_factor
            ));
        }
        if let Some(augmentation) = &self.augmentation {
            augmentation
                .validate()
                .map_err(|e| format!("`augmentation`: {e}"))?;
        }
        if self.early_stopping_patience == Some(0) {
            return Err("`early_stopping_patience` must be at least 1 (or None)".into());
        }
        if !(0.0..1.0).contains(&self.split.validation_fraction) {
            return Err(format!(
                "`split.validation_fraction` is {}: must be in [0, 1)",
                self.split.validation_fraction
            ));
        }
        Ok(())
    }

    /// The learning rate for batch `batch` of `batches` in `epoch`: per batch for OneCycle,
    /// per epoch for the other schedules.
    pub fn learning_rate_at_step(&self, epoch: usize, batch: usize, batches: usize) -> f64 {
        if self.schedule != Schedule::OneCycle {
            return self.learning_rate_at(epoch);
        }
        let total = (self.epochs * batches.max(1)) as f64;
        let step = (epoch * batches.max(1) + batch) as f64;
        let warmup = (0.3 * total - 1.0).max(1.0);
        let (start, peak) = (self.learning_rate / 25.0, self.learning_rate);
        let end = start / 1e4;
        let cosine = |from: f64, to: f64, progress: f64| {
            to + (from - to) * 0.5 * (1.0 + (std::f64::consts::PI * progress.clamp(0.0, 1.0)).cos())
        };
        if step <= warmup {
            cosine(start, peak, step / warmup)
        } else {
            cosine(peak, end, (step - warmup) / (total - 1.0 - warmup).max(1.0))
        }
    }

    /// The learning rate for `epoch` (0-based) of `epochs`.
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        match self.schedule {
            Schedule::Constant => self.learning_rate,
            Schedule::Step {
                every_epochs,
                gamma,
            } => self.learning_rate * gamma.powi((epoch / every_epochs.max(1)) as i32),
            Schedule::OneCycle => self.learning_rate_at_step(epoch, 0, 1),
            Schedule::Cosine => {
                let progress = epoch as f64 / self.epochs.max(1) as f64;
                0.5 * self.learning_rate * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_example_and_a_minimal_file_parse() {
        let full = r#"(
            dataset: "datasets/gcompris4",
            architecture: "resnet18",
            weights: Some("resnet18"),
            mode: FrozenBackbone,
            optimizer: Sgd(momentum: 0.9),
            learning_rate: 0.01, weight_decay: 0.0, schedule: Cosine,
            batch_size: 32, epochs: 10, resize: 256, image_size: 224,
            split: (validation_fraction: 0.2, seed: 42), seed: 42,
        )"#;
        let parsed: Experiment = ron::from_str(full).unwrap();
        parsed.validate().unwrap();
        let minimal: Experiment =
            ron::from_str(r#"(dataset: "photos", architecture: "densenet121")"#).unwrap();
        assert_eq!(minimal.epochs, Experiment::default().epochs);
        assert!(
            ron::from_str::<Experiment>(r#"(dataset: "x", epoch: 3)"#).is_err(),
            "a misspelt field is an error"
        );
    }

    #[test]
    fn cosine_decays_from_the_rate_towards_zero() {
        let e = Experiment {
            epochs: 4,
            learning_rate: 0.1,
            ..Experiment::default()
        };
        assert_eq!(e.learning_rate_at(0), 0.1);
        assert!((e.learning_rate_at(2) - 0.05).abs() < 1e-12);
        assert!(e.learning_rate_at(3) < 0.02);
        let step = Experiment {
            schedule: Schedule::Step {
                every_epochs: 2,
                gamma: 0.1,
            },
            ..e
        };
        assert_eq!(
            [step.learning_rate_at(1), step.learning_rate_at(2)],
            [0.1, 0.1 * 0.1]
        );
    }
}
