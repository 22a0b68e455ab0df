//! ResNet (He et al. 2015, "Deep Residual Learning for Image Recognition"), laid out as
//! torchvision's `torchvision/models/resnet.py` (v1.5: a bottleneck strides on its 3x3 conv).
//! Field names follow torchvision's state-dict keys (`conv1`, `bn1`, `layer1.0.conv1`, `fc`);
//! only the stage list and the downsample pair are renamed (see `weights::keys`).

use super::config::{BlockKind, ResNetConfig, Shortcut, Stem};
use super::layers::{batch_norm, conv, global_average_pool, linear, stem_max_pool};
use burn::module::Param;
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, Linear, conv::Conv2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

#[derive(Module, Debug)]
pub struct ResNet {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    /// Present with the ImageNet stem only.
    pub maxpool: Option<MaxPool2d>,
    /// `layers[s][b]` is torchvision's `layer{s+1}.{b}`.
    pub layers: Vec<Vec<ResidualBlock>>,
    pub fc: Linear,
}

#[derive(Module, Debug)]
pub enum ResidualBlock {
    Basic(BasicBlock),
    Bottleneck(Bottleneck),
}

/// How a block's input reaches its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortcutMode {
    /// No skip connection: the "plain" network.
    None,
    /// Add the input unchanged (same shape).
    Identity,
    /// Add `downsample(input)`: a strided 1x1 conv and BatchNorm.
    Projection,
    /// Add the input subsampled and zero-padded to the new channel count (option A).
    ZeroPad,
}

#[derive(Module, Debug)]
pub struct Downsample {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

#[derive(Module, Debug)]
pub struct BasicBlock {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub conv2: Conv2d,
    pub bn2: BatchNorm,
    pub downsample: Option<Downsample>,
    #[module(skip)]
    pub shortcut: ShortcutMode,
}

#[derive(Module, Debug)]
pub struct Bottleneck {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub conv2: Conv2d,
    pub bn2: BatchNorm,
    pub conv3: Conv2d,
    pub bn3: BatchNorm,
    pub downsample: Option<Downsample>,
    #[module(skip)]
    pub shortcut: ShortcutMode,
}

impl ResNetConfig {
    /// Builds the network with torchvision's initialisation. Call [`ResNetConfig::validate`] first.
    pub fn init(&self, device: &Device) -> ResNet {
        let (conv1, maxpool) = match self.stem {
            Stem::ImageNet => (
                conv(3, self.stem_width, 7, 2, 3, device),
                Some(stem_max_pool()),
            ),
            Stem::Cifar => (conv(3, self.stem_width, 3, 1, 1, device), None),
        };
        let expansion = self.block.expansion();
        let mut in_channels = self.stem_width;
        let mut layers = Vec::with_capacity(self.blocks.len());
        for (stage, (&blocks, &width)) in self.blocks.iter().zip(&self.widths).enumerate() {
            let mut stage_blocks = Vec::with_capacity(blocks);
            for block in 0..blocks {
                let stride = if stage > 0 && block == 0 { 2 } else { 1 };
                let reshapes = stride != 1 || in_channels != width * expansion;
                let shortcut = match (self.skip_connections, reshapes, self.shortcut) {
                    (false, _, _) => ShortcutMode::None,
                    (true, false, _) => ShortcutMode::Identity,
                    (true, true, Shortcut::Projection) => ShortcutMode::Projection,
                    (true, true, Shortcut::ZeroPad) => ShortcutMode::ZeroPad,
                };
                let downsample = (shortcut == ShortcutMode::Projection).then(|| Downsample {
                    conv: conv(in_channels, width * expansion, 1, stride, 0, device),
                    bn: batch_norm(width * expansion, device),
                });
                // The branch's last BatchNorm, γ = 0 when the branch starts at zero.
                let last_norm = |channels: usize| {
                    let mut norm = batch_norm(channels, device);
                    if self.zero_init_residual && self.skip_connections {
                        norm.gamma = Param::from_tensor(Tensor::zeros([channels], device));
                    }
                    norm
                };
                stage_blocks.push(match self.block {
                    BlockKind::Basic => ResidualBlock::Basic(BasicBlock {
                        conv1: conv(in_channels, width, 3, stride, 1, device),
                        bn1: batch_norm(width, device),
                        conv2: conv(width, width, 3, 1, 1, device),
                        bn2: last_norm(width),
                        downsample,
                        shortcut,
                    }),
                    BlockKind::Bottleneck => ResidualBlock::Bottleneck(Bottleneck {
                        conv1: conv(in_channels, width, 1, 1, 0, device),
                        bn1: batch_norm(width, device),
                        conv2: conv(width, width, 3, stride, 1, device),
                        bn2: batch_norm(width, device),
                        conv3: conv(width, width * expansion, 1, 1, 0, device),
                        bn3: last_norm(width * expansion),
                        downsample,
                        shortcut,
                    }),
                });
                in_channels = width * expansion;
            }
            layers.push(stage_blocks);
        }
        ResNet {
            conv1,
            bn1: batch_norm(self.stem_width, device),
            maxpool,
            layers,
            fc: linear(in_channels, self.num_classes, device),
        }
    }
}

impl ResNet {
    /// Pooled features before the classifier: (N, C).
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = relu(self.bn1.forward(self.conv1.forward(images))); // (N, stem, H/2, W/2) or (N, stem, H, W)
        let mut x = match &self.maxpool {
            Some(pool) => pool.forward(x), // (N, stem, H/4, W/4)
            None => x,
        };
        for stage in &self.layers {
            for block in stage {
                x = block.forward(x); // each later stage halves H and W
            }
        }
        global_average_pool(x) // (N, C)
    }

    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.fc.forward(self.features(images))
    }
}

impl ResidualBlock {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            ResidualBlock::Basic(block) => block.forward(x),
            ResidualBlock::Bottleneck(block) => block.forward(x),
        }
    }
}

impl BasicBlock {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = relu(self.bn1.forward(self.conv1.forward(x.clone())));
        let out = self.bn2.forward(self.conv2.forward(out));
        relu(add_shortcut(
            out,
            x,
            self.shortcut,
            self.downsample.as_ref(),
        ))
    }
}

impl Bottleneck {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = relu(self.bn1.forward(self.conv1.forward(x.clone())));
        let out = relu(self.bn2.forward(self.conv2.forward(out)));
        let out = self.bn3.forward(self.conv3.forward(out));
        relu(add_shortcut(
            out,
            x,
            self.shortcut,
            self.downsample.as_ref(),
        ))
    }
}

fn add_shortcut(
    out: Tensor<4>,
    input: Tensor<4>,
    mode: ShortcutMode,
    downsample: Option<&Downsample>,
) -> Tensor<4> {
    match (mode, downsample) {
        (ShortcutMode::None, _) => out,
        (ShortcutMode::Projection, Some(down)) => out + down.bn.forward(down.conv.forward(input)),
        (ShortcutMode::ZeroPad, _) => out.clone() + zero_pad_shortcut(input, &out.dims()),
        _ => out + input,
    }
}

/// Option A of the paper: take every second pixel when the block strides, and append zero
/// channels up to the block's output width.
fn zero_pad_shortcut(input: Tensor<4>, out_dims: &[usize; 4]) -> Tensor<4> {
    let [n, c_out, h_out, w_out] = *out_dims;
    let [_, c_in, h_in, _] = input.dims();
    let x = if h_in != h_out {
        input.slice(s![.., .., ..;2, ..;2])
    } else {
        input
    };
    let x = x.slice(s![.., .., 0..h_out, 0..w_out]);
    if c_out > c_in {
        let zeros = Tensor::zeros([n, c_out - c_in, h_out, w_out], &x.device());
        Tensor::cat(vec![x, zeros], 1)
    } else {
        x
    }
}
