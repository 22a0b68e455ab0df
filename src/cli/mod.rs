//! The command line: a thin front end that parses arguments and prints what the engine returns.

mod bench;
mod compare;
mod data;
mod evaluate;
mod export;
mod forward;
mod inspect;
mod lab;
mod label;
mod predict;
mod train;
mod watch;
mod weights;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "skiplane",
    version,
    about = "Transfer learning with residual and dense networks"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parameters, FLOPs, output shapes and training memory of an architecture, per stage.
    Inspect(inspect::InspectArgs),
    /// Inspect, fetch and import pretrained weight files.
    #[command(subcommand)]
    Weights(weights::WeightsCommand),
    /// Check dataset folders and split them.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Train an experiment (RON file, or --data/--arch flags) and write a run folder.
    Train(train::TrainArgs),
    /// Train several experiments on the identical split and compare them side by side.
    Compare(compare::CompareArgs),
    /// Evaluate a run's best checkpoint on its validation images or another folder.
    Evaluate(evaluate::EvaluateArgs),
    /// Export a run's trained model to a file other tools load.
    Export(export::ExportArgs),
    /// Classify photos with a run's trained model: top classes with probabilities.
    Predict(predict::PredictArgs),
    /// Label a folder of loose photos and sort them into class folders.
    #[command(subcommand)]
    Label(label::LabelCommand),
    /// The Lab: experiments that show why skip connections work, measured on this machine.
    #[command(subcommand)]
    Lab(lab::LabCommand),
    /// Measure speed (figures printed, nothing asserted).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Run a network on an input tensor and write its features and logits (parity checks).
    Forward(forward::ForwardArgs),
}

/// Runs a parsed command line; errors are printed by `main` with their causes.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Inspect(args)) => inspect::run(args),
        Some(Command::Weights(command)) => weights::run(command),
        Some(Command::Forward(args)) => forward::run(args),
        Some(Command::Data(command)) => data::run(command),
        Some(Command::Bench(command)) => bench::run(command),
        Some(Command::Label(command)) => label::run(command),
        Some(Command::Lab(command)) => lab::run(command),
        Some(Command::Train(args)) => train::run(args),
        Some(Command::Compare(args)) => compare::run(args),
        Some(Command::Evaluate(args)) => evaluate::run(args),
        Some(Command::Export(args)) => export::run(args),
        Some(Command::Predict(args)) => predict::run(args),
        None => {
            // No command: the desktop window.
            crate::app::run_native().map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
        }
    }
}

pub(crate) use crate::units::group_digits;

/// Bytes as MiB/GiB.
pub(crate) use crate::units::human_bytes;
