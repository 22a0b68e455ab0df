//! The model core: architecture configs, the inspector, and the Burn networks.

pub mod config;
pub mod densenet;
pub mod inspect;
mod layers;
pub mod network;
pub mod resnet;

pub use config::{
    Architecture, BlockKind, ConfigError, DenseNetConfig, ResNetConfig, Shortcut, Stem,
};
pub use inspect::{Inspection, MemoryEstimate, OptimizerKind, inspect};
pub use network::Network;
