//! The Evaluate panel: a finished run's confusion matrix as a clickable heat map (a cell shows
//! its photos), per-class precision and recall.

use super::widgets::{PhotoAction, open_externally, photo_menu, thumbnail_ui};
use crate::app::SkiplaneApp;
use crate::train::Prediction;

#[derive(Default)]
pub struct EvaluateState {
    /// Index into the trainer's runs.
    pub run: Option<usize>,
    /// (true class, predicted class) of the selected cell.
    pub cell: Option<(usize, usize)>,
}

pub fn evaluate_panel_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.heading("Evaluate");
    let finished = app.trainer.finished_indices();
    let Some(&latest) = finished.last() else {
        ui.label("Finish a training run to see its confusion matrix here.");
        return;
    };
    ui.horizontal(|ui| {
        ui.label("Run:");
        for &i in &finished {
            let selected = app.evaluate.run.unwrap_or(latest) == i;
            if ui
                .selectable_label(selected, &app.trainer.runs[i].name)
                .clicked()
            {
                app.evaluate.run = Some(i);
                app.evaluate.cell = None;
            }
        }
    });
    let index = app
        .evaluate
        .run
        .filter(|i| finished.contains(i))
        .unwrap_or(latest);
    let Some(report) = app.trainer.runs[index].report.clone() else {
        return;
    };
    let classes = &report.classes;
    let max = report
        .confusion
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    ui.label(
        "Confusion matrix (rows: true class, columns: predicted). Click a cell to see its photos.",
    );
    egui::Grid::new("confusion")
        .spacing([2.0, 2.0])
        .show(ui, |ui| {
            ui.label("");
            for class in classes {
                ui.small(class);
            }
            ui.strong("recall");
            ui.end_row();
            for (t, row) in report.confusion.iter().enumerate() {
                ui.small(&classes[t]);
                for (p, &count) in row.iter().enumerate() {
                    let strength = count as f32 / max as f32;
                    let color = if t == p {
                        egui::Color32::from_rgb(40, (80.0 + 150.0 * strength) as u8, 70)
                    } else {
                        egui::Color32::from_rgb((60.0 + 180.0 * strength) as u8, 50, 50)
                    };
                    let cell = egui::Button::new(count.to_string())
                        .fill(color)
                        .min_size(egui::vec2(44.0, 28.0));
                    let response = ui
                        .add(cell)
                        .on_hover_text(format!("true {}, predicted {}", classes[t], classes[p]));
                    if response.clicked() {
                        app.evaluate.cell = Some((t, p));
                    }
                }
                ui.label(format!(
                    "{:.2}",
                    report.recall.get(t).copied().unwrap_or(0.0)
                ));
                ui.end_row();
            }
            ui.strong("precision");
            for c in 0..classes.len() {
                ui.label(format!(
                    "{:.2}",
                    report.precision.get(c).copied().unwrap_or(0.0)
                ));
            }
            ui.end_row();
        });
    let root = app.trainer.runs[index].experiment.dataset.clone();
    let (heading, photos) = match app.evaluate.cell {
        Some((t, p)) => {
            let photos: Vec<Prediction> = report
                .validation_predictions
                .iter()
                .filter(|x| x.label == t && x.predicted == p)
                .cloned()
                .collect();
            let heading = format!(
                "{} photos of {} predicted as {}",
                photos.len(),
                classes.get(t).map_or("?", String::as_str),
                classes.get(p).map_or("?", String::as_str)
            );
            (heading, photos)
        }
        None => {
            // The photos the model is most wrong about, worst first.
            let mut photos: Vec<Prediction> = report.validation_predictions.clone();
            photos.sort_by(|a, b| b.loss.total_cmp(&a.loss));
            photos.truncate(TOP_LOSSES);
            (
                "Highest losses (click a cell above for its photos)".to_string(),
                photos,
            )
        }
    };
    ui.separator();
    ui.label(heading);
    ui.small("Right-click a photo to open it or move it to the class it belongs to.");
    gallery_ui(app, ui, &photos, classes, &root);
}

const TOP_LOSSES: usize = 16;

fn gallery_ui(
    app: &mut SkiplaneApp,
    ui: &mut egui::Ui,
    photos: &[Prediction],
    classes: &[String],
    root: &std::path::Path,
) {
    let mut chosen = None;
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            for photo in photos {
                ui.vertical(|ui| {
                    let response = thumbnail_ui(app, ui, &photo.path, 120.0);
                    if let Some(action) = photo_menu(&response, classes, photo.label) {
                        chosen = Some((photo.path.clone(), action));
                    }
                    ui.small(format!(
                        "{} as {}, loss {:.2}",
                        classes.get(photo.label).map_or("?", String::as_str),
                        classes.get(photo.predicted).map_or("?", String::as_str),
                        photo.loss
                    ));
                });
            }
        });
    });
    match chosen {
        Some((path, PhotoAction::Open)) => {
            if let Err(e) = open_externally(&path) {
                app.log
                    .error(format!("{}: cannot open: {e}", path.display()));
            }
        }
        Some((path, PhotoAction::MoveTo(class))) => {
            let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            match crate::data::labelling::relabel(root, &relative, &class) {
                Ok(to) => app.log.info(format!(
                    "{} moved to {} (retrain to learn from it)",
                    relative.display(),
                    to.display()
                )),
                Err(e) => app.log.error(format!("{}: {e}", root.display())),
            }
        }
        None => {}
    }
}
