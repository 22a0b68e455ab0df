//! DenseNet growth: inside a dense block every layer sees the concatenation of all earlier
//! outputs, so layer l of a block takes k0 + l·k channels (k the growth rate). That is how DenseNet
//! reaches ResNet's accuracy with a fraction of the parameters — and why its training memory is
//! high: the concatenations are new tensors that autodiff keeps. The channels come from the
//! inspector; parameters for DenseNet-121 against ResNet-34/50 (torchvision's published ImageNet
//! accuracy); training memory measured over a few real steps of each at the same batch size.
//!
//! The memory-efficient option (in the spirit of Pleiss et al. 2017, who share storage for the
//! concatenations and recompute them in the backward pass) is Burn's balanced gradient
//! checkpointing: the operations it classes as memory-bound are recomputed instead of kept;
//! measured beside the standard implementation.

use crate::backend::{BACKEND_ENV, backend_kind};
use crate::model::{Architecture, Network, inspect};
use crate::train::memory::{MemoryKind, MemoryMeter, reset_peak_memory};
use crate::units::{group_digits, human_bytes};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsParams, SgdConfig};
use burn::prelude::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrowthSettings {
    /// The DenseNet whose blocks are drawn (a preset name or a RON file).
    pub densenet: String,
    /// The ResNet its training memory is compared with.
    pub resnet: String,
    pub image_size: usize,
    pub batch_size: usize,
    /// Training steps per network for the memory measurement (0: skip it).
    pub steps: usize,
}

impl Default for GrowthSettings {
    fn default() -> Self {
        GrowthSettings {
            densenet: "densenet121".into(),
            resnet: "resnet50".into(),
            image_size: 224,
            batch_size: 8,
            steps: 2,
        }
    }
}

/// One dense block: the channels entering each of its layers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DenseBlockChannels {
    pub name: String,
    pub layer_input_channels: Vec<usize>,
}

/// A network's size, and its measured training memory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkCost {
    pub name: String,
    pub parameters: u64,
    pub gflops: f64,
    /// torchvision's published ImageNet top-1 accuracy of the preset, where it has one.
    pub imagenet_top1: Option<f64>,
    /// Peak memory of the training steps above what was in use before them.
    pub training_memory_bytes: Option<u64>,
    pub memory_kind: Option<MemoryKind>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Growth {
    pub settings: GrowthSettings,
    pub growth_rate: usize,
    pub init_features: usize,
    pub blocks: Vec<DenseBlockChannels>,
    pub densenet: NetworkCost,
    /// The same DenseNet trained with the memory-efficient option: the operations Burn classes as
    /// memory-bound recomputed in the backward pass instead of kept (see
    /// [`measure_training_memory`]). Measured when each network gets its own process.
    pub densenet_recomputing: Option<NetworkCost>,
    /// Whether each network's training memory was measured in its own process (else one after
    /// the other in this one, where memory the allocator kept from the first can hide part of
    /// the next one's).
    #[serde(default)]
    pub memory_in_own_processes: bool,
    pub resnet: NetworkCost,
    /// Other ResNets for the parameters-at-similar-accuracy comparison.
    pub reference_resnets: Vec<NetworkCost>,
}

impl Growth {
    /// The comparison table's rows: the DenseNet, the reference ResNets, and last the ResNet whose
    /// training memory was measured.
    pub fn table_rows(&self) -> Vec<&NetworkCost> {
        let mut rows = vec![&self.densenet];
        rows.extend(&self.densenet_recomputing);
        rows.extend(
            self.reference_resnets
                .iter()
                .filter(|r| r.name != self.resnet.name),
        );
        rows.push(&self.resnet);
        rows
    }
}

impl Growth {
    /// What the figures say: parameters at similar accuracy, then (when measured) the memory cost
    /// of the concatenations and what recomputing them saves.
    pub fn reading(&self) -> String {
        let (d, r) = (&self.densenet, &self.resnet);
        let accuracy = |net: &NetworkCost| {
            net.imagenet_top1
                .map_or(String::new(), |a| format!(", {a:.1}% ImageNet top-1"))
        };
        let mut text = format!(
            "Reading: {} has {} parameters{} against {}'s {}{} — {:.1}x fewer — because each of its \
             layers adds only k = {} channels and reuses every earlier layer's output instead of \
             recomputing features.",
            d.name,
            group_digits(d.parameters),
            accuracy(d),
            r.name,
            group_digits(r.parameters),
            accuracy(r),
            r.parameters as f64 / d.parameters.max(1) as f64,
            self.growth_rate,
        );
        if let (Some(dm), Some(rm)) = (d.training_memory_bytes, r.training_memory_bytes) {
            text += &format!(
                " Yet training it took {} against {} at batch {} and {} px: every concatenation \
                 is a new tensor the backward pass keeps, and they grow with each layer.",
                human_bytes(dm),
                human_bytes(rm),
                self.settings.batch_size,
                self.settings.image_size
            );
        }
        if let (Some(dm), Some(em)) = (
            d.training_memory_bytes,
            self.densenet_recomputing
                .as_ref()
                .and_then(|e| e.training_memory_bytes),
        ) {
            let saved = 100.0 * (1.0 - em as f64 / dm.max(1) as f64);
            text += &format!(
                " Recomputing what Burn classes as memory-bound (elementwise operations such as \
                 ReLU) in the backward pass instead of keeping it — the memory-efficient option, in \
                 the spirit of Pleiss et al. 2017 — took {} ({saved:.0}% {}).",
                human_bytes(em),
                if saved >= 0.0 { "less" } else { "more" }
            );
        }
        text
    }
}

/// torchvision's documented acc@1 on ImageNet-1k (IMAGENET1K_V1 weights).
fn published_top1(name: &str) -> Option<f64> {
    Some(match name {
        "resnet18" => 69.758,
        "resnet34" => 73.314,
        "resnet50" => 76.130,
        "resnet101" => 77.374,
        "resnet152" => 78.312,
        "densenet121" => 74.434,
        "densenet161" => 77.138,
        "densenet169" => 75.600,
        "densenet201" => 76.896,
        _ => return None,
    })
}

fn cost(name: &str, image_size: usize) -> Result<NetworkCost, String> {
    let arch = Architecture::resolve(name)?;
    let plan = inspect(&arch, image_size).map_err(|e| e.to_string())?;
    Ok(NetworkCost {
        name: name.to_string(),
        parameters: plan.parameters(),
        gflops: plan.gflops(),
        imagenet_top1: published_top1(name),
        training_memory_bytes: None,
        memory_kind: None,
    })
}

/// Peak memory of `steps` fine-tuning steps of `name` on random images, above the baseline,
/// measured in this process. Run it in a fresh process (see [`measure`]'s `probe`): memory an
/// earlier network freed stays with the allocator and would hide part of the next one's.
///
/// `recompute`: the memory-efficient variant, in the spirit of Pleiss et al. 2017 ("Memory-Efficient
/// Implementation of DenseNets"), built from what Burn offers: its balanced gradient
/// checkpointing recomputes the operations it classes as memory-bound (elementwise ones such as
/// ReLU and additions) during the backward pass instead of keeping their results; compute-bound
/// ones (convolutions, BatchNorm) keep what they need. Pleiss et al. recompute the concatenations
/// and BatchNorm into shared buffers, which Burn gives no hook for; the saving here is measured.
pub fn measure_training_memory(
    name: &str,
    settings: &GrowthSettings,
    device: &Device,
    recompute: bool,
) -> Result<(Option<u64>, Option<MemoryKind>), String> {
    let arch = Architecture::resolve(name)?.with_num_classes(10);
    let training = if recompute {
        device.clone().autodiff().gradient_checkpointing()
    } else {
        device.clone().autodiff()
    };
    reset_peak_memory();
    let mut meter = MemoryMeter::start(device);
    let baseline = meter.baseline_bytes();
    {
        let mut network = Network::new(&arch, &training).map_err(|e| e.to_string())?;
        let loss_fn = CrossEntropyLossConfig::new().init(&training);
        let mut optimizer = SgdConfig::new().init();
        let (b, s) = (settings.batch_size, settings.image_size);
        for step in 0..settings.steps {
            let images = Tensor::<4>::random(
                [b, 3, s, s],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &training,
            );
            let labels: Vec<i64> = (0..b).map(|i| ((i + step) % 10) as i64).collect();
            let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [b]), &training);
            let loss = loss_fn.forward(network.forward(images), labels);
            meter.sample(); // activations alive
            let grads = GradientsParams::from_grads(loss.backward(), &network);
            meter.sample();
            network = optimizer.step(0.01, network, grads);
        }
    }
    let peak = meter.peak_bytes();
    Ok((
        peak.zip(baseline).map(|(p, b)| p.saturating_sub(b)),
        meter.kind(),
    ))
}

/// The training memory of `name` measured in a child process `probe` (the skiplane executable:
/// `skiplane lab memory-probe …` prints one JSON line), so each network starts from a fresh
/// allocator.
fn probe_training_memory(
    probe: &std::path::Path,
    name: &str,
    settings: &GrowthSettings,
    device: &Device,
    recompute: bool,
) -> Result<(Option<u64>, Option<MemoryKind>), String> {
    let mut command = std::process::Command::new(probe);
    command
        // The child measures on this process's backend instead of choosing its own.
        .env(BACKEND_ENV, backend_kind(device).env_value())
        .args(["lab", "memory-probe", "--arch", name])
        .args(["--image-size", &settings.image_size.to_string()])
        .args(["--batch-size", &settings.batch_size.to_string()])
        .args(["--steps", &settings.steps.to_string()]);
    if recompute {
        command.arg("--recompute");
    }
    let output = command
        .output()
        .map_err(|e| format!("{}: cannot run: {e}", probe.display()))?;
    if !output.status.success() {
        return Err(format!(
            "measuring {name}'s training memory failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().unwrap_or_default();
    let probed: MemoryProbe = serde_json::from_str(line)
        .map_err(|e| format!("{name}: unreadable probe output {line:?}: {e}"))?;
    Ok((probed.bytes, probed.kind))
}

/// What `skiplane lab memory-probe` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryProbe {
    pub bytes: Option<u64>,
    pub kind: Option<MemoryKind>,
}

/// Measures everything; the training memory of each network in its own child process `probe`
/// when given (the CLI and the app pass their own executable), else in this process, one after
/// the other (then the second figure can be too low).
pub fn measure(
    settings: &GrowthSettings,
    device: &Device,
    probe: Option<&std::path::Path>,
) -> Result<Growth, String> {
    if settings.batch_size == 0 || settings.image_size < 32 {
        return Err("the batch size must be at least 1 and the image size at least 32".into());
    }
    let arch = Architecture::resolve(&settings.densenet)?;
    let Architecture::DenseNet(config) = &arch else {
        return Err(format!("{}: not a DenseNet", settings.densenet));
    };
    let plan = inspect(&arch, settings.image_size).map_err(|e| e.to_string())?;
    let blocks = plan
        .stages
        .iter()
        .filter(|s| !s.layer_input_channels.is_empty())
        .map(|s| DenseBlockChannels {
            name: s.name.clone(),
            layer_input_channels: s.layer_input_channels.clone(),
        })
        .collect();
    let mut densenet = cost(&settings.densenet, settings.image_size)?;
    let mut resnet = cost(&settings.resnet, settings.image_size)?;
    if !matches!(
        Architecture::resolve(&settings.resnet)?,
        Architecture::ResNet(_)
    ) {
        return Err(format!("{}: not a ResNet", settings.resnet));
    }
    let mut densenet_recomputing = None;
    if settings.steps > 0 {
        let memory = |name: &str, recompute: bool| match probe {
            Some(probe) => probe_training_memory(probe, name, settings, device, recompute),
            None => measure_training_memory(name, settings, device, recompute),
        };
        (resnet.training_memory_bytes, resnet.memory_kind) = memory(&settings.resnet, false)?;
        (densenet.training_memory_bytes, densenet.memory_kind) = memory(&settings.densenet, false)?;
        // Only in a fresh process: measured third in this one, its figure would start from what
        // the allocator kept of the others and come out too low.
        if probe.is_some() {
            let mut recomputed = densenet.clone();
            recomputed.name = format!("{} (recomputing)", settings.densenet);
            (recomputed.training_memory_bytes, recomputed.memory_kind) =
                memory(&settings.densenet, true)?;
            densenet_recomputing = Some(recomputed);
        }
    }
    let reference_resnets = ["resnet18", "resnet34", "resnet50", "resnet101"]
        .iter()
        .map(|name| cost(name, settings.image_size))
        .collect::<Result<_, _>>()?;
    Ok(Growth {
        settings: settings.clone(),
        growth_rate: config.growth_rate,
        init_features: config.init_features,
        blocks,
        densenet,
        densenet_recomputing,
        memory_in_own_processes: probe.is_some() && settings.steps > 0,
        resnet,
        reference_resnets,
    })
}
