//! What the app remembers between launches (eframe persistence): recent folders, the two
//! architecture slots, the training settings and the open panel.

use crate::model::{Architecture, DenseNetConfig, ResNetConfig};
use crate::train::{Experiment, OptimizerChoice, Schedule, TrainingMode};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    Data,
    Label,
    Architecture,
    Train,
    Compare,
    Evaluate,
    Predict,
    Export,
    Lab,
    Log,
    About,
}

impl Tab {
    pub const ALL: [Tab; 11] = [
        Tab::Data,
        Tab::Label,
        Tab::Architecture,
        Tab::Train,
        Tab::Compare,
        Tab::Evaluate,
        Tab::Predict,
        Tab::Export,
        Tab::Lab,
        Tab::Log,
        Tab::About,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Data => "Data",
            Tab::Label => "Label",
            Tab::Architecture => "Architecture",
            Tab::Train => "Train",
            Tab::Compare => "Compare",
            Tab::Evaluate => "Evaluate",
            Tab::Predict => "Predict",
            Tab::Export => "Export",
            Tab::Lab => "Lab",
            Tab::Log => "Log",
            Tab::About => "About",
        }
    }
}

/// One of the two architectures being compared: a preset, or a custom network edited in the
/// Architecture panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArchitectureSlot {
    /// A preset name, or `None` for the custom network below.
    pub preset: Option<String>,
    pub custom: Architecture,
    /// Start from the preset's ImageNet weights (where torchvision has them).
    pub pretrained: bool,
    /// A weights file the user chose for this network (checked to fit), instead of the official one.
    pub weights_file: Option<PathBuf>,
}

impl Default for ArchitectureSlot {
    fn default() -> Self {
        ArchitectureSlot::preset("resnet18")
    }
}

impl ArchitectureSlot {
    pub fn preset(name: &str) -> Self {
        ArchitectureSlot {
            preset: Some(name.to_string()),
            custom: Architecture::preset(name, 1000)
                .unwrap_or(Architecture::ResNet(ResNetConfig::default())),
            pretrained: true,
            weights_file: None,
        }
    }

    /// The network this slot describes.
    pub fn architecture(&self) -> Architecture {
        self.preset
            .as_deref()
            .and_then(|name| Architecture::preset(name, 1000))
            .unwrap_or_else(|| self.custom.clone())
    }

    /// What goes in an experiment's `architecture` field.
    pub fn spec(&self) -> String {
        match &self.preset {
            Some(name) => name.clone(),
            None => self.custom.to_ron().replace('\n', " "),
        }
    }

    pub fn name(&self) -> String {
        match &self.preset {
            Some(name) => name.clone(),
            None => match &self.custom {
                Architecture::ResNet(_) => "custom-resnet".into(),
                Architecture::DenseNet(_) => "custom-densenet".into(),
            },
        }
    }

    /// The official weights this slot starts from, if any.
    pub fn weights(&self) -> Option<String> {
        if !self.pretrained {
            return None;
        }
        if let Some(file) = &self.weights_file {
            return Some(file.to_string_lossy().into_owned());
        }
        self.preset
            .as_deref()
            .and_then(crate::train::pretrained::official_weights_for)
            .map(str::to_string)
    }

    pub fn is_densenet(&self) -> bool {
        matches!(self.architecture(), Architecture::DenseNet(_))
    }

    pub fn default_densenet() -> DenseNetConfig {
        DenseNetConfig::default()
    }
}

/// The Train panel's settings, shared by both slots so a comparison is fair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainSettings {
    pub mode: TrainingMode,
    pub learning_rate: f64,
    pub schedule: Schedule,
    pub epochs: usize,
    pub batch_size: usize,
    pub image_size: u32,
    pub augmentation: bool,
    pub adamw: bool,
    pub seed: u64,
    /// Share of each class held out for validation (the Data panel's split setting).
    pub validation_fraction: f64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        let defaults = Experiment::default();
        TrainSettings {
            mode: defaults.mode,
            learning_rate: defaults.learning_rate,
            schedule: defaults.schedule,
            epochs: defaults.epochs,
            batch_size: defaults.batch_size,
            image_size: defaults.image_size,
            augmentation: false,
            adamw: false,
            seed: defaults.seed,
            validation_fraction: defaults.split.validation_fraction,
        }
    }
}

impl TrainSettings {
    /// The experiment for one slot on `dataset`.
    pub fn experiment(&self, dataset: &Path, slot: &ArchitectureSlot) -> Experiment {
        let defaults = Experiment::default();
        Experiment {
            dataset: dataset.to_path_buf(),
            architecture: slot.spec(),
            weights: slot.weights(),
            mode: self.mode,
            optimizer: if self.adamw {
                OptimizerChoice::AdamW
            } else {
                defaults.optimizer
            },
            learning_rate: self.learning_rate,
            schedule: self.schedule,
            batch_size: self.batch_size,
            epochs: self.epochs,
            image_size: self.image_size,
            resize: (self.image_size as f64 * 256.0 / 224.0).round() as u32,
            augmentation: self
                .augmentation
                .then(crate::data::augment::Augmentation::default),
            seed: self.seed,
            split: crate::data::split::SplitSettings {
                seed: self.seed,
                validation_fraction: self.validation_fraction,
            },
            ..defaults
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub tab: Tab,
    pub recent_folders: Vec<PathBuf>,
    pub slots: [ArchitectureSlot; 2],
    pub training: TrainSettings,
    /// The welcome screen was seen and left (it shows on the first launch).
    pub welcomed: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tab: Tab::Data,
            recent_folders: Vec::new(),
            slots: [
                ArchitectureSlot::preset("resnet18"),
                ArchitectureSlot::preset("densenet121"),
            ],
            training: TrainSettings::default(),
            welcomed: false,
        }
    }
}

const RECENT_FOLDERS: usize = 8;

impl Settings {
    pub fn remember_folder(&mut self, folder: &Path) {
        self.recent_folders.retain(|f| f != folder);
        self.recent_folders.insert(0, folder.to_path_buf());
        self.recent_folders.truncate(RECENT_FOLDERS);
    }
}
