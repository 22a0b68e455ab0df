//! Reading a `.pth` file's keys and shapes, and recognising the architecture they describe.

use super::WeightsError;
use super::keys::LEGACY_DENSE_LAYER;
use crate::model::inspect::{KeyShape, compressed_channels};
use crate::model::{
    Architecture, BlockKind, DenseNetConfig, ResNetConfig, Shortcut, Stem, inspect,
};
use burn::store::pytorch_reader::PytorchReader;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Wrappers that training scripts put around a state dict; stripped before matching.
const WRAPPER_PREFIXES: [&str; 5] = [
    "state_dict.",
    "model_state_dict.",
    "model.",
    "module.",
    "net.",
];

/// What a weight file holds, with keys already in torchvision's modern spelling.
#[derive(Debug, Clone)]
pub struct WeightFile {
    pub path: PathBuf,
    /// "zip" (torch ≥ 1.6) or "legacy" (pickle, pre-1.6).
    pub format: String,
    /// Wrapper prefix stripped from every key (e.g. `state_dict.` or `module.`), often empty.
    pub prefix: String,
    /// Whether the file uses the 2017 DenseNet spelling (`norm.1` for `norm1`).
    pub legacy_dense_keys: bool,
    /// Key → shape, keys normalised (prefix stripped, legacy spelling rewritten).
    pub tensors: BTreeMap<String, Vec<usize>>,
}

/// Opens a PyTorch file and lists its tensors. Fails with the path for a missing, truncated or
/// foreign file; never panics on bad input.
pub fn read_weight_file(path: &Path) -> Result<WeightFile, WeightsError> {
    let unreadable = |message: String| WeightsError::Unreadable {
        path: path.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| unreadable(format!("cannot open the weight file: {e}")))?;
    if meta.is_dir() {
        return Err(unreadable("is a folder, not a .pth weight file".into()));
    }
    if meta.len() == 0 {
        return Err(unreadable("the weight file is empty (0 bytes)".into()));
    }
    let reader = std::panic::catch_unwind(|| PytorchReader::new(path))
        .map_err(|_| {
            unreadable(
                "not a readable PyTorch file (the reader crashed on it; is it truncated?)".into(),
            )
        })?
        .map_err(|e| {
            unreadable(format!(
                "not a readable PyTorch .pth file (truncated or another format?): {e}"
            ))
        })?;
    let format = if reader.metadata().is_legacy_format() {
        "legacy"
    } else {
        "zip"
    }
    .to_string();
    let raw: Vec<(String, Vec<usize>)> = reader
        .tensors()
        .iter()
        .map(|(k, t)| (k.clone(), t.shape().to_vec()))
        .collect();
    if raw.is_empty() {
        return Err(unreadable("the file holds no tensors (is it a whole pickled model or an optimizer state rather than a state_dict?)".into()));
    }
    let prefix = common_wrapper_prefix(raw.iter().map(|(k, _)| k.as_str()));
    let legacy = regex::Regex::new(LEGACY_DENSE_LAYER.0).expect("the legacy key pattern is valid");
    let mut legacy_dense_keys = false;
    let tensors = raw
        .into_iter()
        .map(|(key, shape)| {
            let key = key[prefix.len()..].to_string();
            let modern = legacy.replace(&key, LEGACY_DENSE_LAYER.1).into_owned();
            legacy_dense_keys |= modern != key;
            (modern, shape)
        })
        .collect();
    Ok(WeightFile {
        path: path.to_path_buf(),
        format,
        prefix,
        legacy_dense_keys,
        tensors,
    })
}

/// The wrapper prefix (possibly nested, e.g. `state_dict.module.`) shared by every key.
fn common_wrapper_prefix<'a>(keys: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut prefix = String::new();
    'outer: loop {
        for candidate in WRAPPER_PREFIXES {
            let full = format!("{prefix}{candidate}");
            if keys.clone().all(|k| k.starts_with(&full)) {
                prefix = full;
                continue 'outer;
            }
        }
        return prefix;
    }
}

impl WeightFile {
    fn shape(&self, key: &str) -> Option<&[usize]> {
        self.tensors.get(key).map(Vec::as_slice)
    }

    /// Distinct numbers `n` for which some key starts with `{stem}{n}.`, sorted.
    fn numbered(&self, stem: &str) -> Vec<usize> {
        let mut found: Vec<usize> = self
            .tensors
            .keys()
            .filter_map(|k| k.strip_prefix(stem))
            .filter_map(|rest| rest.split('.').next()?.parse().ok())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Infers the architecture from keys and shapes, then checks that the architecture implies
    /// exactly the file's keys and shapes. Works for custom configs, not only presets.
    pub fn recognise(&self) -> Result<Architecture, WeightsError> {
        let unrecognised = |message: String| WeightsError::Unrecognised {
            path: self.path.clone(),
            message,
        };
        let arch = if self.shape("conv1.weight").is_some() {
            self.infer_resnet()
        } else if self.shape("features.conv0.weight").is_some() {
            self.infer_densenet()
        } else {
            let sample: Vec<&str> = self.tensors.keys().take(4).map(String::as_str).collect();
            Err(format!(
                "it has neither `conv1.weight` (ResNet) nor `features.conv0.weight` (DenseNet); its keys start {}",
                sample.join(", ")
            ))
        }
        .map_err(unrecognised)?;
        let diff = compare_keys(&expected_keys(&arch), &self.tensors);
        if !diff.is_empty() {
            return Err(unrecognised(format!(
                "it looks like a {} but does not match one exactly: {}",
                arch.describe(),
                diff.summary()
            )));
        }
        Ok(arch)
    }

    fn infer_resnet(&self) -> Result<Architecture, String> {
        let stem_shape = self.shape("conv1.weight").unwrap_or_default();
        let [stem_width, _, kernel, _] = dims4(stem_shape, "conv1.weight")?;
        let stem = stem_from_kernel(kernel, "conv1.weight")?;
        let stages = self.numbered("layer");
        if stages.is_empty() || stages != (1..=stages.len()).collect::<Vec<_>>() {
            return Err(format!(
                "its stages are numbered {stages:?}, expected layer1, layer2, …"
            ));
        }
        let block = if self.shape("layer1.0.conv3.weight").is_some() {
            BlockKind::Bottleneck
        } else {
            BlockKind::Basic
        };
        let mut blocks = Vec::new();
        let mut widths = Vec::new();
        for stage in &stages {
            blocks.push(self.numbered(&format!("layer{stage}.")).len());
            let conv1 = format!("layer{stage}.0.conv1.weight");
            let shape = self
                .shape(&conv1)
                .ok_or_else(|| format!("`{conv1}` is missing"))?;
            widths.push(dims4(shape, &conv1)?[0]);
        }
        let has_projection = self.tensors.keys().any(|k| k.contains(".downsample."));
        let fc = self.shape("fc.weight").ok_or("`fc.weight` is missing")?;
        Ok(Architecture::ResNet(ResNetConfig {
            stem,
            stem_width,
            block,
            blocks,
            widths,
            skip_connections: true,
            shortcut: if has_projection {
                Shortcut::Projection
            } else {
                Shortcut::ZeroPad
            },
            zero_init_residual: false,
            num_classes: fc.first().copied().unwrap_or(0),
        }))
    }

    fn infer_densenet(&self) -> Result<Architecture, String> {
        let [init_features, _, kernel, _] = dims4(
            self.shape("features.conv0.weight").unwrap_or_default(),
            "features.conv0.weight",
        )?;
        let stem = stem_from_kernel(kernel, "features.conv0.weight")?;
        let blocks = self.numbered("features.denseblock");
        if blocks.is_empty() || blocks != (1..=blocks.len()).collect::<Vec<_>>() {
            return Err(format!(
                "its dense blocks are numbered {blocks:?}, expected denseblock1, denseblock2, …"
            ));
        }
        let block_config: Vec<usize> = blocks
            .iter()
            .map(|b| {
                self.numbered(&format!("features.denseblock{b}.denselayer"))
                    .len()
            })
            .collect();
        let conv2 = "features.denseblock1.denselayer1.conv2.weight";
        let growth_rate = dims4(
            self.shape(conv2)
                .ok_or_else(|| format!("`{conv2}` is missing"))?,
            conv2,
        )?[0];
        let bn_size = match self.shape("features.denseblock1.denselayer1.conv1.weight") {
            Some(shape) if growth_rate > 0 => shape.first().copied().unwrap_or(0) / growth_rate,
            _ => 0,
        };
        let compression = match self.shape("features.transition1.conv.weight") {
            Some(shape) => {
                let [out, input, _, _] = dims4(shape, "features.transition1.conv.weight")?;
                infer_compression(out, input)
            }
            None => 0.5,
        };
        let classifier = self
            .shape("classifier.weight")
            .ok_or("`classifier.weight` is missing")?;
        Ok(Architecture::DenseNet(DenseNetConfig {
            stem,
            growth_rate,
            block_config,
            init_features,
            bn_size,
            compression,
            drop_rate: 0.0,
            num_classes: classifier.first().copied().unwrap_or(0),
        }))
    }
}

/// θ from one transition: the simplest ratio that reproduces its floor(θ·c).
fn infer_compression(out: usize, input: usize) -> f64 {
    for theta in [0.5, 1.0, 0.25, 0.75] {
        if compressed_channels(input, theta) == out {
            return theta;
        }
    }
    out as f64 / input.max(1) as f64
}

fn dims4(shape: &[usize], key: &str) -> Result<[usize; 4], String> {
    shape
        .try_into()
        .map_err(|_| format!("`{key}` has shape {shape:?}, expected a 4-d conv weight"))
}

fn stem_from_kernel(kernel: usize, key: &str) -> Result<Stem, String> {
    match kernel {
        7 => Ok(Stem::ImageNet),
        3 => Ok(Stem::Cifar),
        k => Err(format!(
            "`{key}` has a {k}x{k} kernel; Skiplane knows the 7x7 ImageNet stem and the 3x3 CIFAR stem"
        )),
    }
}

/// The torchvision keys and shapes an architecture implies, without `num_batches_tracked`
/// (the 2017 files lack it, and it carries no weights).
pub fn expected_keys(arch: &Architecture) -> Vec<KeyShape> {
    // Keys do not depend on the input size; a large one keeps every stage above 1x1.
    let plan = inspect(arch, 8192)
        .map(|p| p.torchvision_keys())
        .unwrap_or_default();
    plan.into_iter()
        .filter(|(k, _)| !k.ends_with("num_batches_tracked"))
        .collect()
}

/// How a file's tensors differ from what an architecture expects.
#[derive(Debug, Default)]
pub struct KeyDiff {
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
    /// (key, file shape, expected shape).
    pub wrong_shape: Vec<(String, Vec<usize>, Vec<usize>)>,
}

impl KeyDiff {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.wrong_shape.is_empty()
    }

    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let few = |v: &[String]| {
            let shown: Vec<&str> = v.iter().take(3).map(String::as_str).collect();
            format!(
                "{}{}",
                shown.join(", "),
                if v.len() > 3 { ", …" } else { "" }
            )
        };
        if !self.wrong_shape.is_empty() {
            let (key, file, want) = &self.wrong_shape[0];
            parts.push(format!(
                "{} tensors have the wrong shape (e.g. `{key}`: file {file:?}, model {want:?})",
                self.wrong_shape.len()
            ));
        }
        if !self.missing.is_empty() {
            parts.push(format!(
                "{} tensors are missing from the file ({})",
                self.missing.len(),
                few(&self.missing)
            ));
        }
        if !self.unexpected.is_empty() {
            parts.push(format!(
                "{} tensors in the file have no place in the model ({})",
                self.unexpected.len(),
                few(&self.unexpected)
            ));
        }
        parts.join("; ")
    }
}

/// Compares expected keys with a file's (ignoring `num_batches_tracked`).
pub fn compare_keys(expected: &[KeyShape], file: &BTreeMap<String, Vec<usize>>) -> KeyDiff {
    let mut diff = KeyDiff::default();
    for (key, shape) in expected {
        match file.get(key) {
            None => diff.missing.push(key.clone()),
            Some(found) if found != shape => {
                diff.wrong_shape
                    .push((key.clone(), found.clone(), shape.clone()))
            }
            Some(_) => {}
        }
    }
    let known: std::collections::HashSet<&str> = expected.iter().map(|(k, _)| k.as_str()).collect();
    diff.unexpected = file
        .keys()
        .filter(|k| !k.ends_with("num_batches_tracked") && !known.contains(k.as_str()))
        .cloned()
        .collect();
    diff
}
