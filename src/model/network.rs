//! One type over both families, so the rest of Skiplane never matches on the architecture.

use super::config::{Architecture, ConfigError};
use super::densenet::DenseNet;
use super::layers::linear;
use super::resnet::ResNet;
use burn::prelude::*;

#[derive(Module, Debug)]
pub enum Network {
    ResNet(ResNet),
    DenseNet(DenseNet),
}

/// What a forward pass returns: pooled features and class scores.
pub struct Outputs {
    /// (N, C): the input of the classifier.
    pub features: Tensor<2>,
    /// (N, classes).
    pub logits: Tensor<2>,
}

impl Network {
    /// Validates `arch` and builds it with torchvision's random initialisation.
    pub fn new(arch: &Architecture, device: &Device) -> Result<Network, ConfigError> {
        arch.validate()?;
        Ok(match arch {
            Architecture::ResNet(cfg) => Network::ResNet(cfg.init(device)),
            Architecture::DenseNet(cfg) => Network::DenseNet(cfg.init(device)),
        })
    }

    /// Pooled backbone features: (N, 3, H, W) → (N, C).
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Network::ResNet(net) => net.features(images),
            Network::DenseNet(net) => net.features(images),
        }
    }

    /// The head alone: (N, C) → (N, classes).
    pub fn classify(&self, features: Tensor<2>) -> Tensor<2> {
        match self {
            Network::ResNet(net) => net.fc.forward(features),
            Network::DenseNet(net) => net.classifier.forward(features),
        }
    }

    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.classify(self.features(images))
    }

    pub fn forward_outputs(&self, images: Tensor<4>) -> Outputs {
        let features = self.features(images);
        let logits = self.classify(features.clone());
        Outputs { features, logits }
    }

    /// Learnable parameters, as torchvision counts them (`Module::num_params` also counts
    /// BatchNorm's running statistics, which are buffers, not parameters).
    pub fn parameter_count(&self) -> usize {
        use burn::store::ModuleSnapshot;
        self.collect(None, None, false)
            .iter()
            .filter(|t| !t.name.ends_with("running_mean") && !t.name.ends_with("running_var"))
            .map(|t| t.shape.iter().product::<usize>())
            .sum()
    }

    /// torchvision's name for the head in state-dict keys.
    pub fn head_key(&self) -> &'static str {
        match self {
            Network::ResNet(_) => "fc",
            Network::DenseNet(_) => "classifier",
        }
    }

    pub fn num_classes(&self) -> usize {
        let [_, classes] = match self {
            Network::ResNet(net) => net.fc.weight.dims(),
            Network::DenseNet(net) => net.classifier.weight.dims(),
        };
        classes
    }

    pub fn feature_dim(&self) -> usize {
        let [features, _] = match self {
            Network::ResNet(net) => net.fc.weight.dims(),
            Network::DenseNet(net) => net.classifier.weight.dims(),
        };
        features
    }

    /// Replaces the classifier with a freshly initialised one for `num_classes` classes.
    pub fn with_new_head(self, num_classes: usize, device: &Device) -> Self {
        let head = linear(self.feature_dim(), num_classes, device);
        match self {
            Network::ResNet(mut net) => {
                net.fc = head;
                Network::ResNet(net)
            }
            Network::DenseNet(mut net) => {
                let mut head = head;
                head.bias = head.bias.map(|b| b.map(|t| t.zeros_like()));
                net.classifier = head;
                Network::DenseNet(net)
            }
        }
    }

    /// Freezes everything but the head: no gradients, and BatchNorm uses its running statistics
    /// (inference mode) instead of batch statistics, as transfer learning wants.
    pub fn freeze_backbone(self) -> Self {
        match self {
            Network::ResNet(mut net) => {
                net.conv1 = net.conv1.freeze();
                net.bn1 = net.bn1.freeze();
                net.layers = net.layers.freeze();
                Network::ResNet(net)
            }
            Network::DenseNet(mut net) => {
                net.features = net.features.freeze();
                Network::DenseNet(net)
            }
        }
    }
}
