//! DenseNet (Huang et al. 2017, "Densely Connected Convolutional Networks"), laid out as
//! torchvision's `torchvision/models/densenet.py`: pre-activation dense layers (BN-ReLU-conv),
//! DenseNet-B bottlenecks (`bn_size`), DenseNet-C compression at transitions.
//! Field names follow torchvision's keys; only block/layer/transition numbering is renamed.

use super::config::{DenseNetConfig, Stem};
use super::inspect::compressed_channels;
use super::layers::{batch_norm, conv, global_average_pool, linear, stem_max_pool};
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d};
use burn::nn::{BatchNorm, Dropout, DropoutConfig, Linear, conv::Conv2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

#[derive(Module, Debug)]
pub struct DenseNet {
    pub features: DenseFeatures,
    pub classifier: Linear,
}

#[derive(Module, Debug)]
pub struct DenseFeatures {
    pub conv0: Conv2d,
    pub norm0: BatchNorm,
    /// Present with the ImageNet stem only.
    pub pool0: Option<MaxPool2d>,
    /// `blocks[b]` is torchvision's `denseblock{b+1}`.
    pub blocks: Vec<DenseBlock>,
    /// `transitions[t]` is torchvision's `transition{t+1}`, between blocks t and t+1.
    pub transitions: Vec<Transition>,
    pub norm5: BatchNorm,
}

#[derive(Module, Debug)]
pub struct DenseBlock {
    /// `layers[l]` is torchvision's `denselayer{l+1}`.
    pub layers: Vec<DenseLayer>,
}

#[derive(Module, Debug)]
pub struct DenseLayer {
    /// The bottleneck (BN-ReLU-1x1 conv to `bn_size·k`), absent when `bn_size` is 0.
    pub norm1: Option<BatchNorm>,
    pub conv1: Option<Conv2d>,
    pub norm2: BatchNorm,
    /// The 3x3 conv producing k new channels.
    pub conv2: Conv2d,
    pub dropout: Dropout,
}

#[derive(Module, Debug)]
pub struct Transition {
    pub norm: BatchNorm,
    pub conv: Conv2d,
    pub pool: AvgPool2d,
}

impl DenseNetConfig {
    /// Builds the network with torchvision's initialisation. Call [`DenseNetConfig::validate`] first.
    pub fn init(&self, device: &Device) -> DenseNet {
        let (conv0, pool0) = match self.stem {
            Stem::ImageNet => (
                conv(3, self.init_features, 7, 2, 3, device),
                Some(stem_max_pool()),
            ),
            Stem::Cifar => (conv(3, self.init_features, 3, 1, 1, device), None),
        };
        let k = self.growth_rate;
        let mut channels = self.init_features;
        let mut blocks = Vec::with_capacity(self.block_config.len());
        let mut transitions = Vec::with_capacity(self.block_config.len().saturating_sub(1));
        for (index, &num_layers) in self.block_config.iter().enumerate() {
            let layers = (0..num_layers)
                .map(|l| self.dense_layer(channels + l * k, device))
                .collect();
            blocks.push(DenseBlock { layers });
            channels += num_layers * k;
            if index + 1 < self.block_config.len() {
                let out = compressed_channels(channels, self.compression);
                transitions.push(Transition {
                    norm: batch_norm(channels, device),
                    conv: conv(channels, out, 1, 1, 0, device),
                    pool: AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
                });
                channels = out;
            }
        }
        let features = DenseFeatures {
            conv0,
            norm0: batch_norm(self.init_features, device),
            pool0,
            blocks,
            transitions,
            norm5: batch_norm(channels, device),
        };
        DenseNet {
            features,
            classifier: linear_zero_bias(channels, self.num_classes, device),
        }
    }

    fn dense_layer(&self, in_channels: usize, device: &Device) -> DenseLayer {
        let k = self.growth_rate;
        let (norm1, conv1, inner) = if self.bn_size > 0 {
            let inner = self.bn_size * k;
            (
                Some(batch_norm(in_channels, device)),
                Some(conv(in_channels, inner, 1, 1, 0, device)),
                inner,
            )
        } else {
            (None, None, in_channels)
        };
        DenseLayer {
            norm1,
            conv1,
            norm2: batch_norm(inner, device),
            conv2: conv(inner, k, 3, 1, 1, device),
            dropout: DropoutConfig::new(self.drop_rate).init(),
        }
    }
}

/// torchvision's DenseNet zeroes the classifier bias (`nn.init.constant_(m.bias, 0)`).
fn linear_zero_bias(input: usize, output: usize, device: &Device) -> Linear {
    let mut layer = linear(input, output, device);
    layer.bias = layer.bias.map(|b| b.map(|t| t.zeros_like()));
    layer
}

impl DenseNet {
    /// Pooled features before the classifier: (N, C).
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let f = &self.features;
        let x = relu(f.norm0.forward(f.conv0.forward(images))); // (N, k0, H/2, W/2) or (N, k0, H, W)
        let mut x = match &f.pool0 {
            Some(pool) => pool.forward(x), // (N, k0, H/4, W/4)
            None => x,
        };
        for (index, block) in f.blocks.iter().enumerate() {
            x = block.forward(x); // (N, c + layers·k, h, w)
            if let Some(transition) = f.transitions.get(index) {
                x = transition.forward(x); // (N, ⌊θ·c⌋, h/2, w/2)
            }
        }
        global_average_pool(relu(f.norm5.forward(x))) // (N, C)
    }

    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.classifier.forward(self.features(images))
    }
}

impl DenseBlock {
    /// Each layer sees the concatenation of the block input and every earlier layer's output.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut outputs = vec![x];
        for layer in &self.layers {
            let input = Tensor::cat(outputs.clone(), 1); // (N, k0 + l·k, h, w)
            outputs.push(layer.forward(input)); // (N, k, h, w)
        }
        Tensor::cat(outputs, 1)
    }
}

impl DenseLayer {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = match (&self.norm1, &self.conv1) {
            (Some(norm), Some(conv)) => conv.forward(relu(norm.forward(x))), // (N, bn_size·k, h, w)
            _ => x,
        };
        let x = self.conv2.forward(relu(self.norm2.forward(x))); // (N, k, h, w)
        self.dropout.forward(x)
    }
}

impl Transition {
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.pool
            .forward(self.conv.forward(relu(self.norm.forward(x))))
    }
}
