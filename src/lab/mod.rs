//! The Lab: small, real experiments that show why skip connections work, measured on this machine
//! (issue 8). Each experiment is a function from a few settings to plain data — the GUI plots it,
//! the CLI prints it (or JSON) — so both front ends share one engine.
//!
//! - [`degradation`]: plain-20/56 and ResNet-20/56 trained from scratch on the same photos: the
//!   deeper plain net ends with higher training error, the deeper residual net does not.
//! - [`gradient_flow`]: per-layer gradient norms of a deep plain net and its residual twin, at
//!   initialization and after some steps, on real batches.
//! - [`growth`]: the channels entering each dense layer (k0 + l·k), DenseNet's parameters against
//!   ResNets of similar accuracy, and the training memory of both, measured.
//! - [`bottleneck`]: two 3x3 convolutions against the 1x1→3x3→1x1 bottleneck: parameters and
//!   multiply-accumulates counted, forward time measured.

pub mod bottleneck;
pub mod data;
pub mod degradation;
pub mod gradient_flow;
pub mod growth;

/// The papers' optimizer: SGD with momentum 0.9 (no dampening), optionally with weight decay.
fn sgd_with_momentum(weight_decay: Option<f32>) -> burn::optim::ModuleOptimizer {
    use burn::optim::{SgdConfig, decay::WeightDecayConfig, momentum::MomentumConfig};
    SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new().with_momentum(0.9).with_dampening(0.0),
        ))
        .with_weight_decay(weight_decay.map(WeightDecayConfig::new))
        .init()
}
