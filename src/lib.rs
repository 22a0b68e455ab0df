//! Skiplane: transfer learning with residual and dense networks. This library is the engine;
//! the `skiplane` binary's desktop window and command line are thin front ends over it.

pub mod app;
pub mod backend;
pub mod cli;
pub mod data;
pub mod export;
pub mod files;
pub mod lab;
pub mod logging;
pub mod model;
pub mod tensor_io;
pub mod train;
pub mod units;
pub mod weights;
