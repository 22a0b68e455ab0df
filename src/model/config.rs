//! Architecture descriptions: plain serde types that round-trip through RON and are validated
//! before any tensor is allocated, so a bad config fails with a message naming its field.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A network Skiplane can build: a ResNet or a DenseNet, fully described.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Architecture {
    ResNet(ResNetConfig),
    DenseNet(DenseNetConfig),
}

/// The first layers of the network, before the first stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Stem {
    /// torchvision's ImageNet stem: 7x7 conv stride 2, BatchNorm, ReLU, 3x3 max-pool stride 2 (/4).
    #[default]
    ImageNet,
    /// The small-image stem of the papers' CIFAR nets: 3x3 conv stride 1, BatchNorm, ReLU (/1).
    Cifar,
}

/// The residual block of a ResNet stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BlockKind {
    /// Two 3x3 convs (ResNet-18/34, the CIFAR nets).
    #[default]
    Basic,
    /// 1x1 → 3x3 → 1x1 with expansion 4, stride on the 3x3 (torchvision's "ResNet v1.5").
    Bottleneck,
}

impl BlockKind {
    /// Output channels of a block relative to its width ("planes" in torchvision).
    pub fn expansion(self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

/// How a residual block's shortcut adapts when the block changes shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Shortcut {
    /// A 1x1 conv + BatchNorm ("downsample" in torchvision; option B of the ResNet paper).
    #[default]
    Projection,
    /// Subsample and pad the new channels with zeros: parameter-free, option A of the paper,
    /// which its CIFAR ResNet-20…110 use.
    ZeroPad,
}

/// A ResNet (He et al. 2015, "Deep Residual Learning for Image Recognition").
/// Defaults are torchvision's ResNet-18.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResNetConfig {
    pub stem: Stem,
    /// Channels produced by the stem (64 in torchvision, 16 in the CIFAR nets).
    pub stem_width: usize,
    pub block: BlockKind,
    /// Blocks per stage; every stage after the first halves the resolution.
    pub blocks: Vec<usize>,
    /// Width ("planes") of each stage; a bottleneck stage outputs 4x this.
    pub widths: Vec<usize>,
    /// `false` builds the "plain" net of the paper: the same layers with no shortcut at all.
    pub skip_connections: bool,
    pub shortcut: Shortcut,
    /// Start every residual branch at zero (its last BatchNorm's scale γ = 0, torchvision's
    /// `zero_init_residual`, Goyal et al. 2017): each block begins as the identity, so a deep
    /// net starts out as shallow as its stem and head and trains as readily. Only meaningful
    /// with skip connections (a plain net would pass nothing on).
    pub zero_init_residual: bool,
    pub num_classes: usize,
}

impl Default for ResNetConfig {
    fn default() -> Self {
        Self {
            stem: Stem::ImageNet,
            stem_width: 64,
            block: BlockKind::Basic,
            blocks: vec![2, 2, 2, 2],
            widths: vec![64, 128, 256, 512],
            skip_connections: true,
            shortcut: Shortcut::Projection,
            zero_init_residual: false,
            num_classes: 1000,
        }
    }
}

/// A DenseNet (Huang et al. 2017, "Densely Connected Convolutional Networks").
/// Defaults are torchvision's DenseNet-121.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DenseNetConfig {
    pub stem: Stem,
    /// Growth rate k: channels each dense layer adds.
    pub growth_rate: usize,
    /// Dense layers per block.
    pub block_config: Vec<usize>,
    /// Channels produced by the stem (k0).
    pub init_features: usize,
    /// Bottleneck width factor (DenseNet-B): the 1x1 conv outputs `bn_size * k`; 0 = no bottleneck.
    pub bn_size: usize,
    /// Compression θ at each transition (DenseNet-C): channels out = floor(θ · channels in).
    pub compression: f64,
    /// Dropout after each dense layer (torchvision's `drop_rate`).
    pub drop_rate: f64,
    pub num_classes: usize,
}

impl Default for DenseNetConfig {
    fn default() -> Self {
        Self {
            stem: Stem::ImageNet,
            growth_rate: 32,
            block_config: vec![6, 12, 24, 16],
            init_features: 64,
            bn_size: 4,
            compression: 0.5,
            drop_rate: 0.0,
            num_classes: 1000,
        }
    }
}

/// A config that cannot be built, with the field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid architecture: `{}` {}", self.field, self.message)
    }
}

pub(crate) fn config_error(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// Torchvision's ResNet presets: name, block kind, blocks per stage.
const TORCHVISION_RESNETS: [(&str, BlockKind, [usize; 4]); 5] = [
    ("resnet18", BlockKind::Basic, [2, 2, 2, 2]),
    ("resnet34", BlockKind::Basic, [3, 4, 6, 3]),
    ("resnet50", BlockKind::Bottleneck, [3, 4, 6, 3]),
    ("resnet101", BlockKind::Bottleneck, [3, 4, 23, 3]),
    ("resnet152", BlockKind::Bottleneck, [3, 8, 36, 3]),
];

/// Torchvision's DenseNet presets: name, growth rate, block config, initial features.
const TORCHVISION_DENSENETS: [(&str, usize, [usize; 4], usize); 4] = [
    ("densenet121", 32, [6, 12, 24, 16], 64),
    ("densenet161", 48, [6, 12, 36, 24], 96),
    ("densenet169", 32, [6, 12, 32, 32], 64),
    ("densenet201", 32, [6, 12, 48, 32], 64),
];

/// The CIFAR ResNets of the paper (section 4.2): 6n+2 layers, n blocks in each of 3 stages.
const CIFAR_RESNET_DEPTHS: [usize; 5] = [20, 32, 44, 56, 110];

/// Names accepted by [`Architecture::preset`], in the order they are listed to users.
pub fn preset_names() -> Vec<String> {
    let mut names: Vec<String> = TORCHVISION_RESNETS
        .iter()
        .map(|p| p.0.to_string())
        .collect();
    names.extend(TORCHVISION_DENSENETS.iter().map(|p| p.0.to_string()));
    names.extend(CIFAR_RESNET_DEPTHS.iter().map(|d| format!("resnet{d}")));
    names.extend(CIFAR_RESNET_DEPTHS.iter().map(|d| format!("plain{d}")));
    names.push("densenet_bc_100_12".to_string());
    names
}

impl Architecture {
    /// A named preset with `num_classes` outputs: torchvision's `resnet18`…`resnet152` and
    /// `densenet121`…`densenet201`, the paper's CIFAR `resnet20`…`resnet110`, their skip-free
    /// twins `plain20`…`plain110` (also `plain18`, `plain34`, … for the ImageNet nets), and
    /// `densenet_bc_100_12` (DenseNet-BC, L=100, k=12).
    pub fn preset(name: &str, num_classes: usize) -> Option<Architecture> {
        let name = name.trim().to_ascii_lowercase().replace('-', "");
        if let Some(depth) = name.strip_prefix("plain") {
            let mut arch = Architecture::preset(&format!("resnet{depth}"), num_classes)?;
            if let Architecture::ResNet(cfg) = &mut arch {
                cfg.skip_connections = false;
            }
            return Some(arch);
        }
        if let Some((_, block, blocks)) = TORCHVISION_RESNETS.iter().find(|p| p.0 == name) {
            return Some(Architecture::ResNet(ResNetConfig {
                block: *block,
                blocks: blocks.to_vec(),
                zero_init_residual: false,
                num_classes,
                ..ResNetConfig::default()
            }));
        }
        if let Some(depth) = name
            .strip_prefix("resnet")
            .and_then(|d| d.parse::<usize>().ok())
            && CIFAR_RESNET_DEPTHS.contains(&depth)
        {
            let n = (depth - 2) / 6;
            return Some(Architecture::ResNet(ResNetConfig {
                stem: Stem::Cifar,
                stem_width: 16,
                block: BlockKind::Basic,
                blocks: vec![n; 3],
                widths: vec![16, 32, 64],
                skip_connections: true,
                shortcut: Shortcut::ZeroPad,
                zero_init_residual: false,
                num_classes,
            }));
        }
        if let Some((_, k, blocks, init)) = TORCHVISION_DENSENETS.iter().find(|p| p.0 == name) {
            return Some(Architecture::DenseNet(DenseNetConfig {
                growth_rate: *k,
                block_config: blocks.to_vec(),
                init_features: *init,
                num_classes,
                ..DenseNetConfig::default()
            }));
        }
        if name == "densenet_bc_100_12" || name == "densenetbc100" {
            // L = 100: 3 blocks of (100 - 4) / 6 = 16 bottleneck layers, k = 12, θ = 0.5, k0 = 2k.
            return Some(Architecture::DenseNet(DenseNetConfig {
                stem: Stem::Cifar,
                growth_rate: 12,
                block_config: vec![16, 16, 16],
                init_features: 24,
                bn_size: 4,
                compression: 0.5,
                drop_rate: 0.0,
                num_classes,
            }));
        }
        None
    }

    /// Reads an architecture from RON text, then validates it.
    pub fn from_ron(text: &str) -> Result<Architecture, String> {
        let arch: Architecture =
            ron::from_str(text).map_err(|e| format!("not a valid architecture RON: {e}"))?;
        arch.validate().map_err(|e| e.to_string())?;
        Ok(arch)
    }

    pub fn to_ron(&self) -> String {
        ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .unwrap_or_else(|e| format!("/* could not serialize: {e} */"))
    }

    pub fn num_classes(&self) -> usize {
        match self {
            Architecture::ResNet(c) => c.num_classes,
            Architecture::DenseNet(c) => c.num_classes,
        }
    }

    pub fn with_num_classes(mut self, num_classes: usize) -> Self {
        match &mut self {
            Architecture::ResNet(c) => c.num_classes = num_classes,
            Architecture::DenseNet(c) => c.num_classes = num_classes,
        }
        self
    }

    /// The torchvision name of this exact architecture (ignoring the class count), if it is one.
    /// How the weights start is not part of the architecture: a ResNet-18 whose branches start
    /// at zero is still torchvision's ResNet-18 once trained.
    pub fn torchvision_name(&self) -> Option<&'static str> {
        let mut shape = self.clone();
        if let Architecture::ResNet(config) = &mut shape {
            config.zero_init_residual = false;
        }
        let names = TORCHVISION_RESNETS
            .iter()
            .map(|p| p.0)
            .chain(TORCHVISION_DENSENETS.iter().map(|p| p.0));
        names
            .into_iter()
            .find(|name| Architecture::preset(name, self.num_classes()).as_ref() == Some(&shape))
    }

    /// A short human description, e.g. "ResNet (Bottleneck, blocks [3, 4, 6, 3])".
    pub fn describe(&self) -> String {
        let summary = match self {
            Architecture::ResNet(c) => format!(
                "{} ({:?} blocks {:?}, widths {:?}, {:?} stem of {}, {}, {} classes)",
                if c.skip_connections {
                    "ResNet"
                } else {
                    "plain net (no skip connections)"
                },
                c.block,
                c.blocks,
                c.widths,
                c.stem,
                c.stem_width,
                match (c.skip_connections, c.shortcut) {
                    (false, _) => "no shortcuts".to_string(),
                    (true, s) => format!("{s:?} shortcuts"),
                },
                c.num_classes
            ),
            Architecture::DenseNet(c) => format!(
                "DenseNet (k={}, blocks {:?}, k0={}, bn_size={}, θ={}, {:?} stem, {} classes)",
                c.growth_rate,
                c.block_config,
                c.init_features,
                c.bn_size,
                c.compression,
                c.stem,
                c.num_classes
            ),
        };
        match self.torchvision_name() {
            Some(name) => format!("{name}: {summary}"),
            None => summary,
        }
    }

    /// Checks everything that does not depend on the input size.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Architecture::ResNet(c) => c.validate(),
            Architecture::DenseNet(c) => c.validate(),
        }
    }
}

impl ResNetConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.blocks.is_empty() {
            return Err(config_error(
                "blocks",
                "must list at least one stage, e.g. [2, 2, 2, 2]",
            ));
        }
        if let Some(i) = self.blocks.iter().position(|&b| b == 0) {
            return Err(config_error(
                format!("blocks[{i}]"),
                "is 0: every stage needs at least one block (zero depth)",
            ));
        }
        if self.widths.len() != self.blocks.len() {
            return Err(config_error(
                "widths",
                format!(
                    "lists {} stage widths but `blocks` lists {} stages; give one width per stage",
                    self.widths.len(),
                    self.blocks.len()
                ),
            ));
        }
        if let Some(i) = self.widths.iter().position(|&w| w == 0) {
            return Err(config_error(
                format!("widths[{i}]"),
                "is 0: a stage needs at least one channel",
            ));
        }
        if self.stem_width == 0 {
            return Err(config_error(
                "stem_width",
                "is 0: the stem needs at least one channel",
            ));
        }
        check_num_classes(self.num_classes)
    }
}

impl DenseNetConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.growth_rate == 0 {
            return Err(config_error(
                "growth_rate",
                "is 0: each dense layer must add at least one channel (k ≥ 1)",
            ));
        }
        if self.block_config.is_empty() {
            return Err(config_error(
                "block_config",
                "must list at least one dense block, e.g. [6, 12, 24, 16]",
            ));
        }
        if let Some(i) = self.block_config.iter().position(|&b| b == 0) {
            return Err(config_error(
                format!("block_config[{i}]"),
                "is 0: every dense block needs at least one layer (zero depth)",
            ));
        }
        if self.init_features == 0 {
            return Err(config_error(
                "init_features",
                "is 0: the stem needs at least one channel",
            ));
        }
        if !(self.compression > 0.0 && self.compression <= 1.0) {
            return Err(config_error(
                "compression",
                format!("is {}: θ must be in (0, 1]", self.compression),
            ));
        }
        if !(0.0..1.0).contains(&self.drop_rate) {
            return Err(config_error(
                "drop_rate",
                format!("is {}: must be in [0, 1)", self.drop_rate),
            ));
        }
        check_num_classes(self.num_classes)
    }
}

fn check_num_classes(num_classes: usize) -> Result<(), ConfigError> {
    if num_classes == 0 {
        return Err(config_error(
            "num_classes",
            "is 0: the head needs at least one class",
        ));
    }
    Ok(())
}

impl Architecture {
    /// Resolves what a user typed: a preset name (1000 classes, as torchvision), a RON file, or
    /// an architecture in RON itself.
    pub fn resolve(spec: &str) -> Result<Architecture, String> {
        // An architecture written out in full (the desktop app's custom architectures).
        if spec.starts_with("ResNet(") || spec.starts_with("DenseNet(") {
            return Architecture::from_ron(spec);
        }
        let path = std::path::Path::new(spec);
        if path.is_file() || spec.ends_with(".ron") {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{spec}: cannot read the architecture file: {e}"))?;
            return Architecture::from_ron(&text).map_err(|e| format!("{spec}: {e}"));
        }
        Architecture::preset(spec, 1000).ok_or_else(|| {
            format!(
                "unknown architecture {spec:?}: not a RON file, and not one of the presets ({})",
                preset_names().join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_round_trips_through_ron_and_validates() {
        for name in preset_names() {
            let arch = Architecture::preset(&name, 10).unwrap();
            arch.validate().unwrap();
            assert_eq!(
                Architecture::from_ron(&arch.to_ron()).unwrap(),
                arch,
                "{name}"
            );
        }
    }

    #[test]
    fn a_minimal_ron_file_takes_defaults() {
        let arch =
            Architecture::from_ron("ResNet((blocks: [3, 4, 6, 3], block: Bottleneck))").unwrap();
        assert_eq!(arch.torchvision_name(), Some("resnet50"));
        let arch = Architecture::from_ron("DenseNet(())").unwrap();
        assert_eq!(arch.torchvision_name(), Some("densenet121"));
    }

    fn field_of(arch: Architecture) -> String {
        arch.validate().unwrap_err().field
    }

    #[test]
    fn invalid_configs_name_their_field() {
        let resnet = |f: fn(&mut ResNetConfig)| {
            let mut c = ResNetConfig::default();
            f(&mut c);
            Architecture::ResNet(c)
        };
        let densenet = |f: fn(&mut DenseNetConfig)| {
            let mut c = DenseNetConfig::default();
            f(&mut c);
            Architecture::DenseNet(c)
        };
        assert_eq!(field_of(resnet(|c| c.blocks = vec![])), "blocks");
        assert_eq!(
            field_of(resnet(|c| c.blocks = vec![2, 0, 2, 2])),
            "blocks[1]"
        );
        assert_eq!(field_of(resnet(|c| c.widths = vec![64, 128])), "widths");
        assert_eq!(field_of(resnet(|c| c.num_classes = 0)), "num_classes");
        assert_eq!(field_of(densenet(|c| c.growth_rate = 0)), "growth_rate");
        assert_eq!(field_of(densenet(|c| c.compression = 0.0)), "compression");
        assert_eq!(field_of(densenet(|c| c.compression = 1.01)), "compression");
        assert_eq!(
            field_of(densenet(|c| c.block_config = vec![6, 0])),
            "block_config[1]"
        );
        assert_eq!(field_of(densenet(|c| c.drop_rate = 1.0)), "drop_rate");
        let message = Architecture::from_ron("DenseNet((growth_rate: 0))").unwrap_err();
        assert!(message.contains("growth_rate"), "{message}");
        let message = Architecture::from_ron("ResNet((depth: 18))").unwrap_err();
        assert!(
            message.contains("depth"),
            "unknown fields are named: {message}"
        );
    }

    #[test]
    fn too_many_downsamplings_for_the_input_are_rejected() {
        let arch = Architecture::preset("resnet18", 10).unwrap();
        let err = crate::model::inspect(&arch, 16).unwrap_err();
        assert_eq!(err.field, "input size");
        assert!(crate::model::inspect(&arch, 32).is_ok());
        let dense = Architecture::preset("densenet121", 10).unwrap();
        assert!(crate::model::inspect(&dense, 16).is_err());
    }

    #[test]
    fn starting_the_branches_at_zero_keeps_the_torchvision_name() {
        let mut arch = Architecture::preset("resnet18", 10).unwrap();
        if let Architecture::ResNet(config) = &mut arch {
            config.zero_init_residual = true;
        }
        assert_eq!(arch.torchvision_name(), Some("resnet18"));
        if let Architecture::ResNet(config) = &mut arch {
            config.skip_connections = false;
        }
        assert_eq!(arch.torchvision_name(), None);
    }
}
