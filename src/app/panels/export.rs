//! The Export panel: a finished run's model written to a file — the Skiplane bundle, or
//! safetensors with torchvision's key names — to a destination from the save dialog or typed; an
//! existing file is only replaced after the user confirms.

use crate::app::SkiplaneApp;
use crate::app::background::Job;
use std::path::PathBuf;

#[derive(Default)]
pub struct ExportState {
    /// Index into the trainer's runs.
    pub run: Option<usize>,
    pub destination: String,
    /// The Skiplane bundle (true) or torchvision-keyed safetensors.
    pub bundle: bool,
    /// The destination exists: waiting for "Replace".
    pub confirm_replace: bool,
    job: Option<Job<Result<String, String>>>,
    /// What the last export wrote, for the panel.
    pub written: Option<String>,
}

impl ExportState {
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// The finished export's message (or error) for the log.
    pub fn poll(&mut self) -> Option<Result<String, String>> {
        let outcome = self.job.as_mut()?.poll()?;
        self.job = None;
        if let Ok(message) = &outcome {
            self.written = Some(message.clone());
        }
        Some(outcome)
    }
}

pub fn export_panel_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.heading("Export");
    let finished = app.trainer.finished_indices();
    let Some(&latest) = finished.last() else {
        ui.label("Finish a training run to export its model.");
        return;
    };
    let chosen = app
        .export
        .run
        .filter(|i| finished.contains(i))
        .unwrap_or(latest);
    ui.horizontal(|ui| {
        ui.label("Model:");
        for &i in &finished {
            if ui
                .selectable_label(chosen == i, &app.trainer.runs[i].name)
                .clicked()
            {
                app.export.run = Some(i);
            }
        }
    });
    ui.horizontal(|ui| {
        ui.label("Format:");
        ui.selectable_value(&mut app.export.bundle, true, "Skiplane bundle (.skiplane)");
        ui.selectable_value(
            &mut app.export.bundle,
            false,
            "safetensors, torchvision keys",
        );
    });
    ui.small(if app.export.bundle {
        "One file with the model, class names, preprocessing and report: the Predict panel and `skiplane predict` open it."
    } else {
        "`torchvision.models.<arch>(num_classes=N).load_state_dict(safetensors.torch.load_file(path))` loads it; class names and preprocessing are in its metadata."
    });
    ui.horizontal(|ui| {
        let label = ui.label("Save to:");
        ui.add(
            egui::TextEdit::singleline(&mut app.export.destination)
                .hint_text("/home/me/model.safetensors")
                .desired_width(360.0),
        )
        .labelled_by(label.id);
        let extension = if app.export.bundle {
            "skiplane"
        } else {
            "safetensors"
        };
        if ui.button("Choose…").clicked()
            && let Some(path) = rfd::FileDialog::new()
                .add_filter(extension, &[extension])
                .set_file_name(format!("model.{extension}"))
                .save_file()
        {
            app.export.destination = path.display().to_string();
        }
    });
    let destination = PathBuf::from(app.export.destination.trim());
    let ready = !app.export.destination.trim().is_empty() && !app.export.busy();
    let mut start = false;
    ui.add_enabled_ui(ready, |ui| {
        if ui.button("Export model").clicked() {
            if destination.exists() {
                app.export.confirm_replace = true;
            } else {
                start = true;
            }
        }
    });
    if app.export.confirm_replace {
        ui.horizontal(|ui| {
            ui.colored_label(
                egui::Color32::from_rgb(230, 170, 40),
                format!("{} exists.", destination.display()),
            );
            if ui.button("Replace it").clicked() {
                app.export.confirm_replace = false;
                start = true;
            }
            if ui.button("Cancel").clicked() {
                app.export.confirm_replace = false;
            }
        });
    }
    if app.export.busy() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("exporting…");
        });
    }
    if let Some(written) = &app.export.written {
        ui.label(written);
    }
    if start {
        let (Some(run_dir), Some(device)) = (
            app.trainer.runs[chosen].run_dir.clone(),
            app.device().map(|d| d.device.clone()),
        ) else {
            return;
        };
        let ctx = ui.ctx().clone();
        let bundle = app.export.bundle;
        app.export.job = Some(Job::spawn("skiplane-export", &ctx, move || {
            if bundle {
                return crate::export::bundle::write_bundle(&run_dir, &destination, &device, true);
            }
            // The user saw the destination and confirmed replacing it, if it existed.
            crate::export::export_run_safetensors(&run_dir, &destination, &device, true)
        }));
    }
}
