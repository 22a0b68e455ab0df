//! Following a training from the terminal: a progress bar with the loss, images/s and time left,
//! one line per epoch, and the outcome.

use super::human_bytes;
use crate::train::{Report, TrainEvent, TrainingHandle};

/// Prints the worker's events until it ends; returns its report, or why it failed.
pub fn watch_training(handle: TrainingHandle, indent: &str) -> Result<Report, String> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    // A progress bar on a terminal; plain lines when piped (a hidden bar would swallow them).
    let say = |line: String| {
        if bar.is_hidden() {
            println!("{indent}{line}")
        } else {
            bar.println(format!("{indent}{line}"))
        }
    };
    let mut outcome = Err("the training ended without a report".to_string());
    for event in handle.events.iter() {
        match event {
            TrainEvent::Started {
                device,
                classes,
                train_images,
                validation_images,
                notes,
                ..
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
                images_per_second,
                eta_seconds,
            } => {
                bar.set_length(batches as u64);
                bar.set_position(batch as u64);
                bar.set_message(format!(
                    "epoch {epoch}: loss {loss:.4}, {images_per_second:.1} img/s, about {eta_seconds:.0} s left"
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
                        "{indent}memory: peak {} of {} (before training {}); the inspector estimated {}",
                        human_bytes(peak),
                        report.memory_kind.describe(),
                        human_bytes(report.baseline_memory_bytes.unwrap_or(0)),
                        human_bytes(report.estimated_memory_bytes)
                    );
                }
                outcome = Ok(report);
            }
            TrainEvent::Failed(reason) => {
                bar.finish_and_clear();
                outcome = Err(reason);
            }
        }
    }
    handle.join();
    outcome
}

/// The one JSON line `--json` ends with.
pub fn summary_json(run_dir: &std::path::Path, outcome: &Result<Report, String>) -> String {
    let value = match outcome {
        Ok(report) => serde_json::json!({
            "run_dir": run_dir,
            "ok": true,
            "ended": report.ended,
            "epochs_run": report.epochs_run,
            "val_accuracy": report.final_validation_accuracy,
            "best_val_accuracy": report.best_validation_accuracy,
            "best_epoch": report.best_epoch,
            "train_seconds": report.seconds_per_epoch * report.epochs_run as f64,
            "seconds_per_epoch": report.seconds_per_epoch,
            "images_per_second": report.train_images_per_second,
            "peak_memory_bytes": report.peak_memory_bytes,
            "memory_kind": report.memory_kind.describe(),
            "estimated_memory_bytes": report.estimated_memory_bytes,
            "parameters": report.parameters,
            "trainable_parameters": report.trainable_parameters,
            "gflops": report.gflops,
            "classes": report.classes,
        }),
        Err(reason) => serde_json::json!({
            "run_dir": run_dir,
            "ok": false,
            "error": reason,
        }),
    };
    value.to_string()
}
