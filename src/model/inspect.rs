//! The architecture inspector: walks a config layer by layer, without allocating a tensor, and
//! derives what a user wants to know before training — parameters, multiply-accumulates, output
//! shapes and an estimate of training memory — plus the exact torchvision state-dict keys and
//! shapes the config implies (used to recognise and check weight files).
//!
//! FLOPs are counted as torchvision's model tables do: multiply-accumulates of convolutions and
//! linear layers only (BatchNorm, ReLU, pooling and additions are left out).

use super::config::{
    Architecture, BlockKind, ConfigError, DenseNetConfig, ResNetConfig, Shortcut, Stem,
    config_error,
};
use serde::Serialize;

/// One torchvision state-dict entry: key and shape.
pub type KeyShape = (String, Vec<usize>);

/// What one stage of the network costs.
#[derive(Debug, Clone, Serialize)]
pub struct StageStats {
    pub name: String,
    pub parameters: u64,
    pub macs: u64,
    /// Output shape per image: (channels, height, width); height = width = 1 after global pooling.
    pub output_shape: [usize; 3],
    /// Activations kept for the backward pass, in elements per image.
    pub activation_elements: u64,
    /// Channels entering each layer of a dense block (k0 + l·k); empty for other stages.
    pub layer_input_channels: Vec<usize>,
    #[serde(skip)]
    pub keys: Vec<KeyShape>,
}

/// The whole network at one input size.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub input_size: usize,
    pub stages: Vec<StageStats>,
}

/// Optimizer whose state the memory estimate includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OptimizerKind {
    /// SGD with momentum: one buffer per parameter.
    SgdMomentum,
    /// Adam/AdamW: two buffers per parameter.
    Adam,
}

impl std::fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OptimizerKind::SgdMomentum => "SGD with momentum",
            OptimizerKind::Adam => "Adam",
        })
    }
}

/// Estimated training memory for a batch, in bytes (float32 everywhere).
#[derive(Debug, Clone, Serialize)]
pub struct MemoryEstimate {
    pub batch: usize,
    pub weights_bytes: u64,
    pub gradients_bytes: u64,
    pub optimizer_bytes: u64,
    pub activations_bytes: u64,
    pub total_bytes: u64,
}

const BYTES_PER_FLOAT: u64 = 4;

impl Inspection {
    pub fn parameters(&self) -> u64 {
        self.stages.iter().map(|s| s.parameters).sum()
    }

    pub fn macs(&self) -> u64 {
        self.stages.iter().map(|s| s.macs).sum()
    }

    /// Multiply-accumulates × 1e-9, the "GFLOPS" column of torchvision's model tables.
    pub fn gflops(&self) -> f64 {
        self.macs() as f64 * 1e-9
    }

    /// Every state-dict key with its shape, in torchvision's order.
    pub fn torchvision_keys(&self) -> Vec<KeyShape> {
        self.stages
            .iter()
            .flat_map(|s| s.keys.iter().cloned())
            .collect()
    }

    /// Full fine-tuning memory: weights, one gradient per weight, optimizer state, and the
    /// activations autodiff keeps for the backward pass (each op's output, per image × batch).
    pub fn training_memory(&self, batch: usize, optimizer: OptimizerKind) -> MemoryEstimate {
        let params = self.parameters();
        let buffers = match optimizer {
            OptimizerKind::SgdMomentum => 1,
            OptimizerKind::Adam => 2,
        };
        let weights_bytes = params * BYTES_PER_FLOAT;
        let gradients_bytes = params * BYTES_PER_FLOAT;
        let optimizer_bytes = params * BYTES_PER_FLOAT * buffers;
        let per_image: u64 = self
            .stages
            .iter()
            .map(|s| s.activation_elements)
            .sum::<u64>()
            + 3 * (self.input_size * self.input_size) as u64;
        let activations_bytes = per_image * batch as u64 * BYTES_PER_FLOAT;
        MemoryEstimate {
            batch,
            weights_bytes,
            gradients_bytes,
            optimizer_bytes,
            activations_bytes,
            total_bytes: weights_bytes + gradients_bytes + optimizer_bytes + activations_bytes,
        }
    }
}

/// Inspects `arch` at a square `input_size`; fails when the config is invalid or the input is too
/// small for its downsamplings.
pub fn inspect(arch: &Architecture, input_size: usize) -> Result<Inspection, ConfigError> {
    arch.validate()?;
    if input_size == 0 {
        return Err(config_error("input size", "is 0"));
    }
    walk_architecture(arch, input_size).map_err(|mut err| {
        if let Some(smallest) = smallest_input(arch, input_size) {
            err.message.push_str(&format!(
                "; the smallest input this architecture accepts is {smallest}x{smallest}"
            ));
        }
        err
    })
}

fn walk_architecture(arch: &Architecture, input_size: usize) -> Result<Inspection, ConfigError> {
    let mut walk = Walk::new(input_size);
    match arch {
        Architecture::ResNet(cfg) => walk_resnet(&mut walk, cfg)?,
        Architecture::DenseNet(cfg) => walk_densenet(&mut walk, cfg)?,
    }
    Ok(Inspection {
        input_size,
        stages: walk.stages,
    })
}

/// The smallest square input above `failed` that the architecture accepts (validity is monotonic
/// in the input size), if any up to 8192.
fn smallest_input(arch: &Architecture, failed: usize) -> Option<usize> {
    const LARGEST: usize = 8192;
    let (mut low, mut high) = (failed, LARGEST);
    walk_architecture(arch, high).ok()?;
    while high - low > 1 {
        let mid = (low + high) / 2;
        if walk_architecture(arch, mid).is_ok() {
            high = mid
        } else {
            low = mid
        }
    }
    Some(high)
}

/// A cursor over the feature map (channels, height, width) that records each layer's cost into
/// the current stage.
struct Walk {
    channels: usize,
    size: [usize; 2],
    input_size: usize,
    stages: Vec<StageStats>,
}

impl Walk {
    fn new(input_size: usize) -> Self {
        Self {
            channels: 3,
            size: [input_size, input_size],
            input_size,
            stages: Vec::new(),
        }
    }

    fn begin_stage(&mut self, name: impl Into<String>) {
        self.stages.push(StageStats {
            name: name.into(),
            parameters: 0,
            macs: 0,
            output_shape: [self.channels, self.size[0], self.size[1]],
            activation_elements: 0,
            layer_input_channels: Vec::new(),
            keys: Vec::new(),
        });
    }

    fn stage(&mut self) -> &mut StageStats {
        self.stages
            .last_mut()
            .expect("a stage is begun before any layer")
    }

    fn elements(&self) -> u64 {
        (self.channels * self.size[0] * self.size[1]) as u64
    }

    fn keep_output(&mut self) {
        let elements = self.elements();
        let shape = [self.channels, self.size[0], self.size[1]];
        let stage = self.stage();
        stage.activation_elements += elements;
        stage.output_shape = shape;
    }

    fn param(&mut self, key: String, shape: Vec<usize>) {
        let count: usize = shape.iter().product();
        let stage = self.stage();
        stage.parameters += count as u64;
        stage.keys.push((key, shape));
    }

    fn buffer(&mut self, key: String, shape: Vec<usize>) {
        self.stage().keys.push((key, shape));
    }

    fn shrink(
        &self,
        kernel: usize,
        stride: usize,
        padding: usize,
        what: &str,
    ) -> Result<[usize; 2], ConfigError> {
        let mut out = [0; 2];
        for (o, &i) in out.iter_mut().zip(&self.size) {
            // A stride-2 step on a 1-pixel map keeps it at 1 pixel: a downsampling the input
            // cannot afford, which PyTorch would silently accept.
            if i + 2 * padding < kernel || (stride > 1 && i < 2) {
                return Err(config_error(
                    "input size",
                    format!(
                        "{0} is too small: the {what} in stage `{1}` gets a {i}x{i} feature map, which its \
                         {kernel}x{kernel} window with stride {stride} cannot reduce (too many downsamplings for \
                         this input size)",
                        self.input_size,
                        self.stages
                            .last()
                            .map(|s| s.name.as_str())
                            .unwrap_or("stem"),
                    ),
                ));
            }
            *o = (i + 2 * padding - kernel) / stride + 1;
        }
        Ok(out)
    }

    /// A bias-free conv (every conv in these nets is followed by BatchNorm).
    fn conv(
        &mut self,
        key: &str,
        out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Result<(), ConfigError> {
        let size = self.shrink(kernel, stride, padding, "convolution")?;
        self.param(
            format!("{key}.weight"),
            vec![out, self.channels, kernel, kernel],
        );
        let macs = (out * size[0] * size[1] * self.channels * kernel * kernel) as u64;
        self.stage().macs += macs;
        self.channels = out;
        self.size = size;
        self.keep_output();
        Ok(())
    }

    fn batch_norm(&mut self, key: &str) {
        let c = self.channels;
        self.param(format!("{key}.weight"), vec![c]);
        self.param(format!("{key}.bias"), vec![c]);
        self.buffer(format!("{key}.running_mean"), vec![c]);
        self.buffer(format!("{key}.running_var"), vec![c]);
        self.buffer(format!("{key}.num_batches_tracked"), vec![]);
        self.keep_output();
    }

    /// ReLU, or a residual addition: same shape, one more tensor kept.
    fn elementwise(&mut self) {
        self.keep_output();
    }

    fn pool(&mut self, kernel: usize, stride: usize, padding: usize) -> Result<(), ConfigError> {
        self.size = self.shrink(kernel, stride, padding, "pooling")?;
        self.keep_output();
        Ok(())
    }

    fn global_pool(&mut self) {
        self.size = [1, 1];
        self.keep_output();
    }

    fn linear(&mut self, key: &str, out: usize) {
        let input = self.channels;
        self.param(format!("{key}.weight"), vec![out, input]);
        self.param(format!("{key}.bias"), vec![out]);
        self.stage().macs += (input * out) as u64;
        self.channels = out;
        self.keep_output();
    }
}

fn walk_stem(
    walk: &mut Walk,
    stem: Stem,
    width: usize,
    conv: &str,
    norm: &str,
) -> Result<(), ConfigError> {
    walk.begin_stage("stem");
    match stem {
        Stem::ImageNet => {
            walk.conv(conv, width, 7, 2, 3)?;
            walk.batch_norm(norm);
            walk.elementwise();
            walk.pool(3, 2, 1)
        }
        Stem::Cifar => {
            walk.conv(conv, width, 3, 1, 1)?;
            walk.batch_norm(norm);
            walk.elementwise();
            Ok(())
        }
    }
}

fn walk_resnet(walk: &mut Walk, cfg: &ResNetConfig) -> Result<(), ConfigError> {
    walk_stem(walk, cfg.stem, cfg.stem_width, "conv1", "bn1")?;
    let expansion = cfg.block.expansion();
    for (stage, (&blocks, &width)) in cfg.blocks.iter().zip(&cfg.widths).enumerate() {
        walk.begin_stage(format!("layer{}", stage + 1));
        for block in 0..blocks {
            let prefix = format!("layer{}.{block}", stage + 1);
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            let input_channels = walk.channels;
            let input_size = walk.size;
            match cfg.block {
                BlockKind::Basic => {
                    walk.conv(&format!("{prefix}.conv1"), width, 3, stride, 1)?;
                    walk.batch_norm(&format!("{prefix}.bn1"));
                    walk.elementwise();
                    walk.conv(&format!("{prefix}.conv2"), width, 3, 1, 1)?;
                    walk.batch_norm(&format!("{prefix}.bn2"));
                }
                BlockKind::Bottleneck => {
                    walk.conv(&format!("{prefix}.conv1"), width, 1, 1, 0)?;
                    walk.batch_norm(&format!("{prefix}.bn1"));
                    walk.elementwise();
                    walk.conv(&format!("{prefix}.conv2"), width, 3, stride, 1)?;
                    walk.batch_norm(&format!("{prefix}.bn2"));
                    walk.elementwise();
                    walk.conv(&format!("{prefix}.conv3"), width * expansion, 1, 1, 0)?;
                    walk.batch_norm(&format!("{prefix}.bn3"));
                }
            }
            let reshapes = stride != 1 || input_channels != width * expansion;
            if cfg.skip_connections {
                if reshapes && cfg.shortcut == Shortcut::Projection {
                    // The projection runs on the block's input, beside the main branch.
                    let (out_channels, out_size) = (walk.channels, walk.size);
                    walk.channels = input_channels;
                    walk.size = input_size;
                    walk.conv(
                        &format!("{prefix}.downsample.0"),
                        out_channels,
                        1,
                        stride,
                        0,
                    )?;
                    walk.batch_norm(&format!("{prefix}.downsample.1"));
                    debug_assert_eq!((walk.channels, walk.size), (out_channels, out_size));
                }
                walk.elementwise(); // the addition
            }
            walk.elementwise(); // the final ReLU
        }
    }
    walk.begin_stage("pool");
    walk.global_pool();
    walk.begin_stage("fc");
    walk.linear("fc", cfg.num_classes);
    Ok(())
}

/// Channels after a DenseNet transition: floor(θ · c), as torchvision's `num_features // 2`.
pub fn compressed_channels(channels: usize, compression: f64) -> usize {
    ((channels as f64 * compression).floor() as usize).max(1)
}

fn walk_densenet(walk: &mut Walk, cfg: &DenseNetConfig) -> Result<(), ConfigError> {
    walk_stem(
        walk,
        cfg.stem,
        cfg.init_features,
        "features.conv0",
        "features.norm0",
    )?;
    let k = cfg.growth_rate;
    for (block, &layers) in cfg.block_config.iter().enumerate() {
        let block_name = format!("denseblock{}", block + 1);
        walk.begin_stage(block_name.clone());
        for layer in 0..layers {
            let prefix = format!("features.{block_name}.denselayer{}", layer + 1);
            let concatenated = walk.channels;
            walk.stage().layer_input_channels.push(concatenated);
            if layer > 0 {
                walk.elementwise(); // the concatenation of every earlier output
            }
            if cfg.bn_size > 0 {
                walk.batch_norm(&format!("{prefix}.norm1"));
                walk.elementwise();
                walk.conv(&format!("{prefix}.conv1"), cfg.bn_size * k, 1, 1, 0)?;
            }
            walk.batch_norm(&format!("{prefix}.norm2"));
            walk.elementwise();
            walk.conv(&format!("{prefix}.conv2"), k, 3, 1, 1)?;
            walk.channels = concatenated + k;
        }
        walk.stage().output_shape = [walk.channels, walk.size[0], walk.size[1]];
        if block + 1 < cfg.block_config.len() {
            let prefix = format!("features.transition{}", block + 1);
            walk.begin_stage(format!("transition{}", block + 1));
            walk.elementwise(); // the block's final concatenation
            walk.batch_norm(&format!("{prefix}.norm"));
            walk.elementwise();
            walk.conv(
                &format!("{prefix}.conv"),
                compressed_channels(walk.channels, cfg.compression),
                1,
                1,
                0,
            )?;
            walk.pool(2, 2, 0)?;
        }
    }
    walk.begin_stage("norm5+pool");
    walk.elementwise(); // the last block's concatenation
    walk.batch_norm("features.norm5");
    walk.elementwise();
    walk.global_pool();
    walk.begin_stage("classifier");
    walk.linear("classifier", cfg.num_classes);
    Ok(())
}
