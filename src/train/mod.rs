//! The training engine: experiments, the worker thread and its typed events, the run folder.

pub mod compare;
mod evaluate;
pub mod evaluate_run;
pub mod events;
pub mod experiment;
pub mod memory;
pub mod predict;
pub mod pretrained;
pub mod run_folder;
pub mod worker;

pub use events::{EpochMetrics, Prediction, Report, TrainCommand, TrainEvent};
pub use experiment::{Experiment, OptimizerChoice, Schedule, TrainingMode};
pub use pretrained::{WeightsReadiness, ensure_weights};
pub use worker::{TrainingHandle, resume_training, start_training};
