//! The Predict panel: photos picked or dropped on the window, classified by a finished run on a
//! background thread, each with its five most likely classes as probability bars.

use super::widgets::thumbnail_ui;
use crate::app::SkiplaneApp;
use crate::app::background::Job;
use crate::train::predict::{Classified, TrainedModel};
use std::path::PathBuf;

type Outcome = Result<(Vec<String>, Vec<Result<Classified, String>>), String>;

#[derive(Default)]
pub struct PredictState {
    /// Index into the trainer's runs.
    pub run: Option<usize>,
    /// A bundle opened in the panel; when set, it classifies instead of a run.
    pub bundle: Option<PathBuf>,
    pub photos: Vec<PathBuf>,
    job: Option<Job<Outcome>>,
    pub classes: Vec<String>,
    pub results: Vec<Result<Classified, String>>,
}

impl PredictState {
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// Classifies `photos` with the model at `model` (a run folder or a bundle) on a background
    /// thread.
    pub fn classify(
        &mut self,
        ctx: &egui::Context,
        model: PathBuf,
        device: burn::prelude::Device,
        photos: Vec<PathBuf>,
    ) {
        self.photos = photos.clone();
        self.results.clear();
        self.job = Some(Job::spawn("skiplane-predict", ctx, move || {
            let model = TrainedModel::open(&model, &device)?;
            let results = model.classify(&photos);
            Ok((model.classes.clone(), results))
        }));
    }

    /// Takes in a finished classification; an error is returned for the log.
    pub fn poll(&mut self) -> Option<String> {
        let outcome = self.job.as_mut()?.poll()?;
        self.job = None;
        match outcome {
            Ok((classes, results)) => {
                self.classes = classes;
                self.results = results;
                None
            }
            Err(message) => Some(message),
        }
    }
}

/// Image files among `paths` (folders are expanded one level).
pub fn photos_in(paths: &[PathBuf]) -> Vec<PathBuf> {
    let is_photo = |p: &PathBuf| crate::data::decode::has_photo_extension(p);
    let mut photos = Vec::new();
    for path in paths {
        if path.is_dir() {
            if let Ok(entries) = std::fs::read_dir(path) {
                let mut inside: Vec<PathBuf> = entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(is_photo)
                    .collect();
                inside.sort();
                photos.extend(inside);
            }
        } else if is_photo(path) {
            photos.push(path.clone());
        }
    }
    photos
}

pub fn predict_panel_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.heading("Predict");
    let finished = app.trainer.finished_indices();
    let chosen = app
        .predict
        .run
        .filter(|i| finished.contains(i))
        .or(finished.last().copied());
    ui.horizontal(|ui| {
        ui.label("Model:");
        for &i in &finished {
            let selected = app.predict.bundle.is_none() && chosen == Some(i);
            if ui
                .selectable_label(selected, &app.trainer.runs[i].name)
                .clicked()
            {
                app.predict.run = Some(i);
                app.predict.bundle = None;
            }
        }
        if let Some(bundle) = &app.predict.bundle {
            let name = bundle
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = ui.selectable_label(true, name);
        }
        if ui.button("Open a bundle…").clicked()
            && let Some(path) = rfd::FileDialog::new()
                .add_filter("Skiplane bundle", &["skiplane"])
                .pick_file()
        {
            app.predict.bundle = Some(path);
        }
    });
    let model: Option<PathBuf> = app
        .predict
        .bundle
        .clone()
        .or_else(|| chosen.and_then(|i| app.trainer.runs[i].run_dir.clone()));
    let Some(model) = model else {
        ui.label("Finish a training run (or open a bundle), then pick or drop photos here to classify them.");
        return;
    };
    let mut picked = None;
    ui.horizontal(|ui| {
        if ui.button("Pick photos…").clicked() {
            picked = rfd::FileDialog::new()
                .add_filter(
                    "photos",
                    &["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"],
                )
                .pick_files();
        }
        ui.label("or drop photos (or a folder of them) on the window.");
    });
    if let Some(paths) = picked {
        let photos = photos_in(&paths);
        app.classify_with(model, photos);
    }
    if app.predict.busy() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("classifying {} photos…", app.predict.photos.len()));
        });
    }
    let results = std::mem::take(&mut app.predict.results);
    let classes = app.predict.classes.clone();
    egui::ScrollArea::vertical().show(ui, |ui| {
        for result in &results {
            ui.separator();
            match result {
                Ok(classified) => {
                    ui.horizontal(|ui| {
                        thumbnail_ui(app, ui, &classified.path, 96.0);
                        ui.vertical(|ui| {
                            ui.label(
                                classified
                                    .path
                                    .file_name()
                                    .map(|n| n.to_string_lossy().into_owned())
                                    .unwrap_or_default(),
                            );
                            for &(class, probability) in classified.ranked.iter().take(5) {
                                let name = classes.get(class).map_or("?", String::as_str);
                                ui.add(
                                    egui::ProgressBar::new(probability)
                                        .desired_width(320.0)
                                        .text(format!("{name} {:.1}%", probability * 100.0)),
                                );
                            }
                        });
                    });
                }
                Err(reason) => {
                    ui.colored_label(egui::Color32::from_rgb(230, 80, 70), reason);
                }
            }
        }
    });
    app.predict.results = results;
}
