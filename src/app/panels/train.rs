//! The Train panel: the settings both slots share, Start / Compare / Pause / Stop, and live plots
//! of loss, accuracy and learning rate with progress, speed and memory.

use super::widgets::human_bytes;
use crate::app::{Action, RunStatus, RunView, SkiplaneApp};
use crate::train::{Schedule, TrainCommand, TrainingMode};
use egui_plot::{HLine, Legend, Line, Plot, PlotPoints};

pub fn train_panel_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    let busy = app.trainer.is_busy();
    ui.add_enabled_ui(!busy, |ui| settings_ui(app, ui));
    ui.separator();
    ui.horizontal(|ui| {
        let ready = app.dataset.is_some();
        ui.add_enabled_ui(!busy && ready, |ui| {
            let a = format!("Train A ({})", app.settings.slots[0].name());
            if ui.button(a).clicked() {
                app.act(Action::Train(0));
            }
            let b = format!("Train B ({})", app.settings.slots[1].name());
            if ui.button(b).clicked() {
                app.act(Action::Train(1));
            }
            if ui
                .button("Compare A and B")
                .on_hover_text("Train A, then B, on the same split and settings")
                .clicked()
            {
                app.act(Action::Compare);
            }
        });
        if !ready {
            ui.label("Open a folder of photos in the Data panel first.");
        }
        let status = app.trainer.active_run().map(|r| r.status.clone());
        if let Some(status) = status {
            let paused = status == RunStatus::Paused;
            if ui.button(if paused { "Resume" } else { "Pause" }).clicked() {
                app.act(Action::SendToRun(if paused {
                    TrainCommand::Resume
                } else {
                    TrainCommand::Pause
                }));
            }
            if ui
                .button("Stop after this epoch")
                .on_hover_text("The epoch finishes and is saved")
                .clicked()
            {
                app.act(Action::SendToRun(TrainCommand::StopAfterEpoch));
            }
            if ui
                .button("Stop now")
                .on_hover_text("The run keeps its last finished epoch")
                .clicked()
            {
                app.act(Action::SendToRun(TrainCommand::StopNow));
            }
        }
    });
    // Space starts or pauses, unless a text field has the keyboard.
    if !ui.ctx().egui_wants_keyboard_input() && ui.input(|i| i.key_pressed(egui::Key::Space)) {
        match app.trainer.active_run().map(|r| r.status.clone()) {
            Some(RunStatus::Paused) => app.act(Action::SendToRun(TrainCommand::Resume)),
            Some(_) => app.act(Action::SendToRun(TrainCommand::Pause)),
            None if app.dataset.is_some() => app.act(Action::Train(0)),
            None => {}
        }
    }
    let Some(run) = app.trainer.runs.last() else {
        ui.label("No run yet in this session.");
        return;
    };
    run_ui(ui, run);
}

fn settings_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    let settings = &mut app.settings.training;
    egui::Grid::new("train_settings")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("Mode");
            ui.horizontal(|ui| {
                ui.selectable_value(
                    &mut settings.mode,
                    TrainingMode::FrozenBackbone,
                    "Frozen backbone + new head",
                );
                let last = match settings.mode {
                    TrainingMode::UnfreezeLast(n) => n,
                    _ => 1,
                };
                ui.selectable_value(
                    &mut settings.mode,
                    TrainingMode::UnfreezeLast(last),
                    "Unfreeze last stages",
                );
                if let TrainingMode::UnfreezeLast(n) = &mut settings.mode {
                    ui.add(egui::DragValue::new(n).range(1..=5).suffix(" stages"));
                }
                ui.selectable_value(
                    &mut settings.mode,
                    TrainingMode::FineTune,
                    "Fine-tune everything",
                );
            });
            ui.end_row();
            let label = ui.label("Learning rate");
            ui.add(
                egui::DragValue::new(&mut settings.learning_rate)
                    .range(1e-6..=1.0)
                    .speed(0.0005)
                    .max_decimals(5),
            )
            .labelled_by(label.id);
            ui.end_row();
            ui.label("Schedule");
            ui.horizontal(|ui| {
                ui.selectable_value(&mut settings.schedule, Schedule::Constant, "constant");
                ui.selectable_value(&mut settings.schedule, Schedule::Cosine, "cosine");
                ui.selectable_value(&mut settings.schedule, Schedule::OneCycle, "one-cycle");
                ui.selectable_value(
                    &mut settings.schedule,
                    Schedule::Step {
                        every_epochs: 5,
                        gamma: 0.1,
                    },
                    "step (x0.1 every 5)",
                );
            });
            ui.end_row();
            ui.label("Optimizer");
            ui.horizontal(|ui| {
                ui.selectable_value(&mut settings.adamw, false, "SGD, momentum 0.9");
                ui.selectable_value(&mut settings.adamw, true, "AdamW");
            });
            ui.end_row();
            let label = ui.label("Epochs");
            ui.add(egui::DragValue::new(&mut settings.epochs).range(1..=500))
                .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("Batch size");
            ui.add(egui::DragValue::new(&mut settings.batch_size).range(1..=512))
                .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("Image size");
            ui.add(
                egui::DragValue::new(&mut settings.image_size)
                    .range(16..=512)
                    .suffix(" px"),
            )
            .labelled_by(label.id);
            ui.end_row();
            ui.label("Augmentation");
            ui.checkbox(
                &mut settings.augmentation,
                "random crops, flips, small rotations, colour jitter",
            );
            ui.end_row();
            let label = ui.label("Seed");
            ui.add(egui::DragValue::new(&mut settings.seed))
                .labelled_by(label.id);
            ui.end_row();
        });
}

fn run_ui(ui: &mut egui::Ui, run: &RunView) {
    ui.horizontal(|ui| {
        ui.strong(&run.name);
        let status = match &run.status {
            RunStatus::Waiting => "waiting".to_string(),
            RunStatus::Preparing => "preparing (weights, photos)…".to_string(),
            RunStatus::Running => format!(
                "epoch {} of {} · {:.1} images/s · about {:.0} s left",
                run.progress.0.max(1),
                run.experiment.epochs,
                run.images_per_second,
                run.eta_seconds
            ),
            RunStatus::Paused => "paused".to_string(),
            RunStatus::Finished => run
                .report
                .as_ref()
                .map(|r| {
                    format!(
                        "{} · validation accuracy {:.3}",
                        r.ended, r.final_validation_accuracy
                    )
                })
                .unwrap_or_default(),
            RunStatus::Failed(reason) => format!("failed: {reason}"),
        };
        ui.label(status);
    });
    ui.add(egui::ProgressBar::new(run.fraction_done()).show_percentage());
    for note in &run.notes {
        ui.small(note);
    }
    if let Some(dir) = &run.run_dir {
        ui.small(format!("run folder: {}", dir.display()));
    }
    let epoch_line = |name: &str, value: fn(&crate::train::EpochMetrics) -> f64| {
        let points: Vec<[f64; 2]> = run
            .epochs
            .iter()
            .map(|m| [m.epoch as f64, value(m)])
            .collect();
        Line::new(name.to_string(), PlotPoints::from(points))
    };
    let height = (ui.available_height() / 2.0 - 20.0).max(120.0);
    ui.columns(2, |columns| {
        columns[0].label("Loss");
        Plot::new("loss")
            .height(height)
            .legend(Legend::default())
            .x_axis_label("epoch")
            .show(&mut columns[0], |plot| {
                plot.line(Line::new(
                    "train (per batch)",
                    PlotPoints::from(run.batch_losses.clone()),
                ));
                plot.line(epoch_line("train", |m| m.train_loss));
                plot.line(epoch_line("validation", |m| m.validation_loss));
            });
        columns[1].label("Accuracy");
        Plot::new("accuracy")
            .height(height)
            .legend(Legend::default())
            .x_axis_label("epoch")
            .include_y(0.0)
            .include_y(1.0)
            .show(&mut columns[1], |plot| {
                plot.line(epoch_line("train", |m| m.train_accuracy));
                plot.line(epoch_line("validation", |m| m.validation_accuracy));
            });
    });
    ui.columns(2, |columns| {
        columns[0].label("Learning rate");
        Plot::new("learning_rate")
            .height(height * 0.6)
            .x_axis_label("epoch")
            .show(&mut columns[0], |plot| {
                plot.line(epoch_line("learning rate", |m| m.learning_rate));
            });
        columns[1].label("Peak memory (MiB), with the inspector's estimate");
        let estimate = run.estimated_memory_bytes;
        Plot::new("memory")
            .height(height * 0.6)
            .legend(Legend::default())
            .x_axis_label("epoch")
            .include_y(0.0)
            .show(&mut columns[1], |plot| {
                plot.line(epoch_line("measured", |m| {
                    m.peak_memory_bytes.unwrap_or(0) as f64 / (1024.0 * 1024.0)
                }));
                if let Some(estimate) = estimate {
                    plot.hline(HLine::new("estimate", estimate as f64 / (1024.0 * 1024.0)));
                }
            });
    });
    if let Some(report) = &run.report
        && let Some(peak) = report.peak_memory_bytes
    {
        ui.label(format!(
            "peak {} of {}; estimated {}",
            human_bytes(peak),
            report.memory_kind.describe(),
            human_bytes(report.estimated_memory_bytes)
        ));
    }
}
