//! torchvision state-dict keys ↔ Skiplane module paths.
//!
//! The modules use torchvision's own field names, so only three things differ: numbered names
//! (`layer2`, `denseblock3`, `denselayer7`, `transition1`) are list indices here (`layers.1`,
//! `blocks.2`, `layers.6`, `transitions.0`), `downsample.0/1` is `downsample.conv/bn`, and the 2017
//! DenseNet files spell `norm1` as `norm.1`. Patterns are generated per index because a regex
//! replacement cannot subtract one.

use crate::model::Architecture;

/// DenseNet keys as written by torchvision before 0.2.2 (`denselayer1.norm.1.weight`), which
/// torchvision's own `densenet121-a639ec97.pth` … `densenet201-c1103571.pth` still use. torchvision
/// fixes them with this same rewrite in `_load_state_dict`.
pub const LEGACY_DENSE_LAYER: (&str, &str) = (
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$",
    "${1}${2}",
);

/// Regex (pattern, replacement) pairs that turn torchvision keys of `arch` into module paths.
pub fn torchvision_to_module_patterns(arch: &Architecture) -> Vec<(String, String)> {
    let mut patterns = Vec::new();
    match arch {
        Architecture::ResNet(cfg) => {
            for stage in 0..cfg.blocks.len() {
                patterns.push((
                    format!(r"^layer{}\.", stage + 1),
                    format!("layers.{stage}."),
                ));
            }
            patterns.push((r"\.downsample\.0\.".into(), ".downsample.conv.".into()));
            patterns.push((r"\.downsample\.1\.".into(), ".downsample.bn.".into()));
        }
        Architecture::DenseNet(cfg) => {
            patterns.push((LEGACY_DENSE_LAYER.0.into(), LEGACY_DENSE_LAYER.1.into()));
            for (block, &layers) in cfg.block_config.iter().enumerate() {
                for layer in 0..layers {
                    patterns.push((
                        format!(
                            r"^features\.denseblock{}\.denselayer{}\.",
                            block + 1,
                            layer + 1
                        ),
                        format!("features.blocks.{block}.layers.{layer}."),
                    ));
                }
                patterns.push((
                    format!(r"^features\.transition{}\.", block + 1),
                    format!("features.transitions.{block}."),
                ));
            }
        }
    }
    patterns
}

/// The module path of a torchvision key (the inverse is [`module_path_to_torchvision`]).
pub fn torchvision_to_module_path(arch: &Architecture, key: &str) -> String {
    let mut path = key.to_string();
    for (pattern, replacement) in torchvision_to_module_patterns(arch) {
        if let Ok(re) = regex::Regex::new(&pattern) {
            path = re.replace_all(&path, replacement.as_str()).into_owned();
        }
    }
    path
}

/// The torchvision key of a module path, e.g. `layers.1.0.downsample.conv.weight` →
/// `layer2.0.downsample.0.weight`. Enum variant segments (`Basic`, `Bottleneck`) are dropped.
pub fn module_path_to_torchvision(path: &str) -> String {
    let segments: Vec<&str> = path
        .split('.')
        .filter(|s| !matches!(*s, "Basic" | "Bottleneck" | "ResNet" | "DenseNet"))
        .collect();
    let mut out: Vec<String> = Vec::with_capacity(segments.len());
    let mut i = 0;
    while i < segments.len() {
        let seg = segments[i];
        let next_index = segments.get(i + 1).and_then(|s| s.parse::<usize>().ok());
        let parent = out.last().map(String::as_str);
        match (seg, next_index, parent) {
            ("layers", Some(n), Some("features") | None) if out.is_empty() => {
                out.push(format!("layer{}", n + 1));
                i += 2;
                continue;
            }
            ("blocks", Some(n), Some("features")) => {
                out.push(format!("denseblock{}", n + 1));
                i += 2;
                continue;
            }
            ("layers", Some(n), Some(p)) if p.starts_with("denseblock") => {
                out.push(format!("denselayer{}", n + 1));
                i += 2;
                continue;
            }
            ("transitions", Some(n), Some("features")) => {
                out.push(format!("transition{}", n + 1));
                i += 2;
                continue;
            }
            ("conv", _, Some("downsample")) => out.push("0".into()),
            ("bn", _, Some("downsample")) => out.push("1".into()),
            ("gamma", _, _) => out.push("weight".into()),
            ("beta", _, _) => out.push("bias".into()),
            _ => out.push(seg.to_string()),
        }
        i += 1;
    }
    out.join(".")
}
