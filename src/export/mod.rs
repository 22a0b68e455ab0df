//! Trained models as files other tools load: safetensors with torchvision's key names (more
//! formats follow: the Skiplane bundle, ONNX).

pub mod torchvision_safetensors;

pub use torchvision_safetensors::{export_torchvision_safetensors, load_torchvision_safetensors};
