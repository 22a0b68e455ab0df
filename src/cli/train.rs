use super::human_bytes;
use crate::backend::select_and_log;
use crate::train::run_folder::RunFolder;
use crate::train::{Experiment, TrainEvent, resume_training, start_training};
use anyhow::{Context, bail};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The experiment (RON): at least `dataset` and `architecture`; every other field has a default.
    #[arg(required_unless_present = "resume", conflicts_with = "resume")]
    pub experiment: Option<PathBuf>,
    /// Continue an interrupted run from its folder (its experiment, split and last checkpoint).
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let (handle, run_path) = match (&args.experiment, &args.resume) {
        (_, Some(run_dir)) => {
            let run = RunFolder::open(run_dir).map_err(anyhow::Error::msg)?;
            let path = run.path.clone();
            (
                resume_training(run, select_and_log()?).map_err(anyhow::Error::msg)?,
                path,
            )
        }
        (Some(experiment_path), None) => {
            let experiment = Experiment::load(experiment_path)?;
            let device = select_and_log()?;
            let run = RunFolder::create(experiment_path).with_context(|| {
                format!(
                    "{}: cannot create the run folder",
                    experiment_path.display()
                )
            })?;
            let path = run.path.clone();
            (start_training(experiment, run, device)?, path)
        }
        (None, None) => bail!("name an experiment file, or --resume RUN_DIR"),
    };
    println!("run folder: {}", run_path.display());
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    // A progress bar on a terminal; plain lines when piped (a hidden bar would swallow them).
    let say = |line: String| {
        if bar.is_hidden() {
            println!("{line}")
        } else {
            bar.println(line)
        }
    };
    let mut outcome = Ok(());
    for event in handle.events.iter() {
        match event {
            TrainEvent::Started {
                device,
                classes,
                train_images,
                validation_images,
                notes,
            } => {
                say(format!(
                    "training on {device}: {train_images} training and {validation_images} validation images, classes {}",
                    classes.join(", ")
                ));
                for note in notes {
                    say(format!("  {note}"));
                }
            }
            TrainEvent::BatchDone {
                epoch,
                batch,
                batches,
                loss,
                eta_seconds,
            } => {
                bar.set_length(batches as u64);
                bar.set_position(batch as u64);
                bar.set_message(format!(
                    "epoch {epoch}: loss {loss:.4}, about {eta_seconds:.0} s left"
                ));
            }
            TrainEvent::CheckpointSaved(_) => {}
            TrainEvent::EpochDone(m) => say(format!(
                "epoch {:>3}: train loss {:.4} acc {:.3} | val loss {:.4} acc {:.3} | lr {:.5} | {:.1} img/s, {:.1} s",
                m.epoch,
                m.train_loss,
                m.train_accuracy,
                m.validation_loss,
                m.validation_accuracy,
                m.learning_rate,
                m.images_per_second,
                m.seconds
            )),
            TrainEvent::Finished(report) => {
                bar.finish_and_clear();
                if let Some(peak) = report.peak_memory_bytes {
                    println!(
                        "memory: peak {} resident (before training {}); the inspector estimated {}",
                        human_bytes(peak),
                        human_bytes(report.baseline_memory_bytes.unwrap_or(0)),
                        human_bytes(report.estimated_memory_bytes)
                    );
                }
                println!(
                    "{}: best validation accuracy {:.3} (epoch {}), final {:.3}; report in {}",
                    report.ended,
                    report.best_validation_accuracy,
                    report.best_epoch,
                    report.final_validation_accuracy,
                    run_path.join("report.ron").display()
                );
            }
            TrainEvent::Failed(reason) => {
                bar.finish_and_clear();
                outcome = Err(reason);
            }
        }
    }
    handle.join();
    match outcome {
        Ok(()) => Ok(()),
        Err(reason) => bail!("training failed: {reason}"),
    }
}
