//! Pretrained weights: reading torchvision `.pth` files, recognising what they hold, loading them
//! into a [`Network`](crate::model::Network) with every tensor accounted for, and fetching the
//! official files.

pub mod fetch;
pub mod file;
pub mod keys;
pub mod load;

pub use file::{WeightFile, read_weight_file};
pub use load::{LoadReport, load_torchvision};

use std::path::PathBuf;

/// Everything that can go wrong with a weight file, each naming the file.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("{path}: {message}")]
    Unreadable { path: PathBuf, message: String },
    #[error("{path}: not a torchvision ResNet or DenseNet state dict: {message}")]
    Unrecognised { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Mismatch { path: PathBuf, message: String },
}
