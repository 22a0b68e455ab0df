//! The integration suite, one binary so that Burn and wgpu are linked once.

mod app;
mod cli;
mod common;
mod data;
mod export;
mod fetch;
mod lab;
mod labelling;
mod onnx_export;
mod packager_config;
mod packaging;
mod parity;
mod preprocess;
mod presets;
mod train_cli;
mod training;
mod transfer;
mod window;
