//! The Data panel: open a folder of class folders (dialog, typed path, drop, recent, or the
//! sample), see its classes with counts, thumbnails per class, and the files that were skipped.

use super::widgets::thumbnail_ui;
use crate::app::{Action, SkiplaneApp};
use egui_plot::{Bar, BarChart, Plot};

pub fn data_panel_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.heading("Photos");
    ui.horizontal(|ui| {
        if ui.button("Open folder…").on_hover_text("Ctrl+O").clicked() {
            app.act(Action::PickFolder);
        }
        if ui.button("Open the sample photos").clicked() {
            app.act(Action::OpenSample);
        }
        ui.label("or path:");
        let field = ui.add(
            egui::TextEdit::singleline(&mut app.path_field)
                .hint_text("/home/me/Pictures/birds")
                .desired_width(320.0),
        );
        let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (ui.button("Open").clicked() || enter) && !app.path_field.trim().is_empty() {
            let folder = std::path::PathBuf::from(app.path_field.trim());
            app.act(Action::OpenFolder(folder));
        }
    });
    if !app.settings.recent_folders.is_empty() {
        ui.horizontal_wrapped(|ui| {
            ui.label("Recent:");
            for folder in app.settings.recent_folders.clone() {
                let name = folder
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| folder.display().to_string());
                if ui
                    .small_button(name)
                    .on_hover_text(folder.display().to_string())
                    .clicked()
                {
                    app.act(Action::OpenFolder(folder));
                }
            }
        });
    }
    ui.label("One subfolder per class (e.g. birds/robin/*.jpg, birds/wren/*.jpg). You can also drop a folder on the window.");
    ui.separator();

    // Taken out while drawing, so thumbnails can be asked of `app` without cloning the scan.
    let Some(dataset) = app.dataset.take() else {
        return;
    };
    scan_ui(app, ui, &dataset);
    app.dataset = Some(dataset);
}

fn scan_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui, dataset: &crate::app::DatasetView) {
    let folder = &dataset.folder;
    let Some(scanned) = &dataset.scanned else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!("scanning {}…", folder.display()));
        });
        return;
    };
    let images: usize = scanned.classes.iter().map(|c| c.images.len()).sum();
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| folder.display().to_string());
    ui.label(format!(
        "{name}: {} classes, {images} photos, {} skipped",
        scanned.classes.len(),
        scanned.skipped.len()
    ))
    .on_hover_text(folder.display().to_string());
    ui.horizontal(|ui| {
        let training = &mut app.settings.training;
        ui.label("Validation split:");
        ui.add(
            egui::Slider::new(&mut training.validation_fraction, 0.05..=0.5)
                .custom_formatter(|v, _| format!("{:.0}%", v * 100.0)),
        )
        .on_hover_text(
            "Share of each class held out to measure accuracy; the split is stratified and seeded",
        );
        let label = ui.label("seed");
        ui.add(egui::DragValue::new(&mut training.seed))
            .labelled_by(label.id);
    });
    if scanned.classes.len() < 2 {
        ui.colored_label(
            egui::Color32::from_rgb(230, 170, 40),
            "Training needs at least two class folders with photos in them.",
        );
    }
    let bars: Vec<Bar> = scanned
        .classes
        .iter()
        .enumerate()
        .map(|(i, class)| Bar::new(i as f64, class.images.len() as f64).name(&class.name))
        .collect();
    let names: Vec<String> = scanned.classes.iter().map(|c| c.name.clone()).collect();
    Plot::new("class_counts")
        .height(160.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .y_axis_label("photos")
        .x_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new("photos per class", bars))
        });

    egui::ScrollArea::vertical().show(ui, |ui| {
        for class in &scanned.classes {
            egui::CollapsingHeader::new(format!("{} ({})", class.name, class.images.len()))
                .id_salt(("class", &class.name))
                .show(ui, |ui| {
                    ui.horizontal_wrapped(|ui| {
                        for path in &class.images {
                            thumbnail_ui(app, ui, path, 96.0);
                        }
                    });
                });
        }
        if !scanned.skipped.is_empty() {
            egui::CollapsingHeader::new(format!("Skipped files ({})", scanned.skipped.len()))
                .id_salt("skipped")
                .show(ui, |ui| {
                    for skipped in &scanned.skipped {
                        ui.label(format!("{}: {}", skipped.path.display(), skipped.reason));
                    }
                });
        }
    });
}
