//! The Export panel: a finished run's model written to a file — the Skiplane bundle,
//! safetensors with torchvision's key names, ONNX, or all three — to a destination from the save dialog or typed; an
//! existing file is only replaced after the user confirms.

use crate::app::SkiplaneApp;
use crate::app::background::Job;
use crate::export::ExportFormat;
use std::path::PathBuf;

#[derive(Default)]
pub struct ExportState {
    /// Index into the trainer's runs.
    pub run: Option<usize>,
    pub destination: String,
    pub format: ExportFormat,
    /// The destination exists: waiting for "Replace".
    pub confirm_replace: bool,
    /// The files the export would replace, shown in the confirmation.
    pub existing: Vec<PathBuf>,
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
        for format in ExportFormat::ALL {
            if ui
                .selectable_value(&mut app.export.format, format, format.label())
                .clicked()
            {
                // A typed or chosen name follows the format: model.safetensors → model.onnx.
                let typed = PathBuf::from(app.export.destination.trim());
                if ExportFormat::from_path(&typed).is_some() {
                    let renamed = typed.with_extension(format.extension());
                    app.export.destination = renamed.display().to_string();
                }
            }
        }
    });
    ui.small(match app.export.format {
        ExportFormat::Skiplane => "One file with the model, class names, preprocessing and report: the Predict panel and `skiplane predict` open it.",
        ExportFormat::Safetensors => "`torchvision.models.<arch>(num_classes=N).load_state_dict(safetensors.torch.load_file(path))` loads it; class names and preprocessing are in its metadata.",
        ExportFormat::Onnx => "ONNX opset 18 for onnxruntime, OpenCV, TensorRT…: input `input` (N, 3, H, W, normalized), output `logits`; class names and preprocessing in its metadata, and one class per line in <name>.labels.txt.",
        ExportFormat::All => "The bundle, safetensors and ONNX (+ labels.txt) side by side, named after the file you choose.",
    });
    ui.horizontal(|ui| {
        let label = ui.label("Save to:");
        ui.add(
            egui::TextEdit::singleline(&mut app.export.destination)
                .hint_text("/home/me/model.safetensors")
                .desired_width(360.0),
        )
        .labelled_by(label.id);
        let extension = app.export.format.extension();
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
            app.export.existing = app
                .export
                .format
                .destinations(&destination)
                .into_iter()
                .filter(|path| path.exists())
                .collect();
            if app.export.existing.is_empty() {
                start = true;
            } else {
                app.export.confirm_replace = true;
            }
        }
    });
    if app.export.confirm_replace {
        ui.horizontal(|ui| {
            ui.colored_label(
                egui::Color32::from_rgb(230, 170, 40),
                format!(
                    "{} already {}.",
                    app.export
                        .existing
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if app.export.existing.len() == 1 {
                        "exists"
                    } else {
                        "exist"
                    }
                ),
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
        let format = app.export.format;
        // The user saw the destination and confirmed replacing it, if it existed.
        app.export.job = Some(Job::spawn("skiplane-export", &ctx, move || {
            format.export(&run_dir, &destination, &device, true)
        }));
    }
}
