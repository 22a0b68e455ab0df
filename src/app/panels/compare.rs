//! The Compare panel: finished runs side by side — overlaid curves, a table of their figures,
//! and the validation photos one model gets right and the other wrong.

use super::widgets::{group_digits, human_bytes, thumbnail_ui};
use crate::app::SkiplaneApp;
use crate::train::Report;
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints};

pub fn compare_panel_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.heading("Compare");
    let finished = app.trainer.finished_indices();
    if finished.len() < 2 {
        ui.label("Train two runs (the Train panel's Compare button trains A, then B) to compare them here.");
        return;
    }
    // The two most recent finished runs.
    let (a, b) = (finished[finished.len() - 2], finished[finished.len() - 1]);
    let runs = [&app.trainer.runs[a], &app.trainer.runs[b]];
    ui.columns(2, |columns| {
        columns[0].label("Validation accuracy");
        Plot::new("compare_accuracy")
            .height(180.0)
            .legend(Legend::default())
            .include_y(0.0)
            .include_y(1.0)
            .show(&mut columns[0], |plot| {
                for run in runs {
                    let points: Vec<[f64; 2]> = run
                        .epochs
                        .iter()
                        .map(|m| [m.epoch as f64, m.validation_accuracy])
                        .collect();
                    plot.line(Line::new(run.name.clone(), PlotPoints::from(points)));
                }
            });
        columns[1].label("Validation loss");
        Plot::new("compare_loss")
            .height(180.0)
            .legend(Legend::default())
            .show(&mut columns[1], |plot| {
                for run in runs {
                    let points: Vec<[f64; 2]> = run
                        .epochs
                        .iter()
                        .map(|m| [m.epoch as f64, m.validation_loss])
                        .collect();
                    plot.line(Line::new(run.name.clone(), PlotPoints::from(points)));
                }
            });
    });
    let reports: Vec<&Report> = runs.iter().filter_map(|r| r.report.as_ref()).collect();
    egui::Grid::new("compare_table")
        .striped(true)
        .num_columns(3)
        .show(ui, |ui| {
            ui.strong("");
            for run in runs {
                ui.strong(&run.name);
            }
            ui.end_row();
            let mut row = |name: &str, value: &dyn Fn(&Report) -> String| {
                ui.label(name);
                for report in &reports {
                    ui.label(value(report));
                }
                ui.end_row();
            };
            row("validation accuracy", &|r| {
                format!("{:.3}", r.final_validation_accuracy)
            });
            row("best accuracy (epoch)", &|r| {
                format!("{:.3} ({})", r.best_validation_accuracy, r.best_epoch)
            });
            row("parameters", &|r| group_digits(r.parameters as u64));
            row("GFLOPs", &|r| format!("{:.2}", r.gflops));
            row("seconds per epoch", &|r| {
                format!("{:.1}", r.seconds_per_epoch)
            });
            row("images/s", &|r| format!("{:.1}", r.train_images_per_second));
            row("peak memory (measured)", &|r| {
                r.peak_memory_bytes
                    .map(human_bytes)
                    .unwrap_or_else(|| "—".into())
            });
            row("memory (estimated)", &|r| {
                human_bytes(r.estimated_memory_bytes)
            });
        });
    ui.columns(2, |columns| {
        let bars = |value: &dyn Fn(&Report) -> f64| -> Vec<Bar> {
            reports
                .iter()
                .enumerate()
                .map(|(i, r)| Bar::new(i as f64, value(r)).name(&runs[i].name))
                .collect()
        };
        columns[0].label("Accuracy");
        Plot::new("accuracy_bars")
            .height(120.0)
            .show(&mut columns[0], |plot| {
                plot.bar_chart(BarChart::new(
                    "accuracy",
                    bars(&|r| r.final_validation_accuracy),
                ))
            });
        columns[1].label("Peak memory (MiB)");
        Plot::new("memory_bars")
            .height(120.0)
            .show(&mut columns[1], |plot| {
                plot.bar_chart(BarChart::new(
                    "memory",
                    bars(&|r| r.peak_memory_bytes.unwrap_or(0) as f64 / (1024.0 * 1024.0)),
                ))
            });
    });
    // Photos one gets right and the other wrong.
    let (ra, rb) = (reports[0].clone(), reports[1].clone());
    let names = (runs[0].name.clone(), runs[1].name.clone());
    let classes = ra.classes.clone();
    ui.separator();
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (right, wrong, (right_name, wrong_name)) in [
            (&ra, &rb, (&names.0, &names.1)),
            (&rb, &ra, (&names.1, &names.0)),
        ] {
            let photos: Vec<_> = right
                .validation_predictions
                .iter()
                .filter(|p| p.predicted == p.label)
                .filter_map(|p| {
                    wrong
                        .validation_predictions
                        .iter()
                        .find(|q| q.path == p.path && q.predicted != q.label)
                })
                .cloned()
                .collect();
            ui.label(format!(
                "{right_name} right, {wrong_name} wrong: {} photos",
                photos.len()
            ));
            ui.horizontal_wrapped(|ui| {
                for p in photos {
                    ui.vertical(|ui| {
                        thumbnail_ui(app, ui, &p.path, 96.0);
                        ui.small(format!(
                            "{} as {}",
                            classes.get(p.label).map_or("?", String::as_str),
                            classes.get(p.predicted).map_or("?", String::as_str)
                        ));
                    });
                }
            });
        }
    });
}
