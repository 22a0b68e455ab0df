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
    /// Loads a checkpoint (Burn's burnpack format) from bytes held in memory. Loading from the
    /// file directly would leave the tensors reading it lazily — wrong once the file is replaced
    /// by a newer checkpoint or removed (a bundle's temporary copy).
    pub fn load_checkpoint_bytes(self, bytes: Vec<u8>) -> Result<Network, String> {
        let record =
            burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
                .map_err(|e| format!("not a readable checkpoint: {e:?}"))?;
        burn::module::Module::try_load_record(self, record)
            .map_err(|e| format!("the checkpoint does not fit the network: {e:?}"))
    }

    /// Loads the checkpoint file at `path` into memory, then into the network.
    pub fn load_checkpoint(self, path: &std::path::Path) -> Result<Network, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        self.load_checkpoint_bytes(bytes)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

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
        let mut head = linear(self.feature_dim(), num_classes, device);
        if matches!(self, Network::DenseNet(_)) {
            // torchvision's DenseNet zeroes the classifier bias.
            head.bias = head.bias.map(|b| b.map(|t| t.zeros_like()));
        }
        self.with_head(head)
    }

    /// Replaces the classifier with one initialised from `seed` alone, as PyTorch initialises
    /// `nn.Linear` (uniform in ±1/√fan_in; DenseNet's bias 0). Unlike Burn's random initialisers
    /// it draws from no shared generator, so concurrent work cannot change a run's starting point.
    pub fn with_seeded_head(self, num_classes: usize, seed: u64, device: &Device) -> Self {
        use rand::{Rng, SeedableRng};
        let fan_in = self.feature_dim();
        let bound = 1.0 / (fan_in as f32).sqrt();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let weight: Vec<f32> = (0..fan_in * num_classes)
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        let zero_bias = matches!(self, Network::DenseNet(_));
        let bias: Vec<f32> = (0..num_classes)
            .map(|_| {
                if zero_bias {
                    0.0
                } else {
                    rng.random_range(-bound..bound)
                }
            })
            .collect();
        let mut head = linear(fan_in, num_classes, device);
        // Burn keeps Linear weights as (in, out).
        head.weight = burn::module::Param::from_tensor(Tensor::from_data(
            TensorData::new(weight, [fan_in, num_classes]),
            device,
        ));
        head.bias = Some(burn::module::Param::from_tensor(Tensor::from_data(
            TensorData::new(bias, [num_classes]),
            device,
        )));
        self.with_head(head)
    }

    /// This network with `head` as its classifier.
    pub fn with_head(self, head: burn::nn::Linear) -> Self {
        match self {
            Network::ResNet(mut net) => {
                net.fc = head;
                Network::ResNet(net)
            }
            Network::DenseNet(mut net) => {
                net.classifier = head;
                Network::DenseNet(net)
            }
        }
    }

    /// Number of stages `freeze_all_but_last` counts: ResNet stages, DenseNet dense blocks.
    pub fn stage_count(&self) -> usize {
        match self {
            Network::ResNet(net) => net.layers.len(),
            Network::DenseNet(net) => net.features.blocks.len(),
        }
    }

    /// Freezes the stem and every stage but the last `n` (and, for DenseNet, the transitions
    /// into frozen blocks); the head always trains. `n = 0` leaves only the head (and DenseNet's
    /// final norm when `n ≥ 1`) trainable.
    pub fn freeze_all_but_last(self, n: usize) -> Self {
        match self {
            Network::ResNet(mut net) => {
                let first_trainable = net.layers.len().saturating_sub(n);
                net.conv1 = net.conv1.freeze();
                net.bn1 = net.bn1.freeze();
                net.layers = net
                    .layers
                    .into_iter()
                    .enumerate()
                    .map(|(i, stage)| {
                        if i < first_trainable {
                            stage.freeze()
                        } else {
                            stage
                        }
                    })
                    .collect();
                Network::ResNet(net)
            }
            Network::DenseNet(mut net) => {
                let first_trainable = net.features.blocks.len().saturating_sub(n);
                let f = &mut net.features;
                f.conv0 = f.conv0.clone().freeze();
                f.norm0 = f.norm0.clone().freeze();
                f.blocks = std::mem::take(&mut f.blocks)
                    .into_iter()
                    .enumerate()
                    .map(|(i, block)| {
                        if i < first_trainable {
                            block.freeze()
                        } else {
                            block
                        }
                    })
                    .collect();
                // Transition t leads into block t + 1.
                f.transitions = std::mem::take(&mut f.transitions)
                    .into_iter()
                    .enumerate()
                    .map(|(t, transition)| {
                        if t + 1 < first_trainable {
                            transition.freeze()
                        } else {
                            transition
                        }
                    })
                    .collect();
                if n == 0 {
                    f.norm5 = f.norm5.clone().freeze();
                }
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
