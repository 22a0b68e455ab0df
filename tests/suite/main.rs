//! The integration suite, one binary so that Burn and wgpu are linked once.

mod cli;
mod common;
mod fetch;
mod parity;
mod presets;
mod transfer;
