//! About Skiplane: versions, the compute backend and why it was chosen, and the folders where the
//! app keeps its settings, downloaded weights, runs and logs — each openable — plus the welcome
//! screen again.

use crate::app::panels::widgets::open_externally;
use crate::app::{APP_ID, BackendView, SkiplaneApp};
use std::path::PathBuf;

/// The folders Skiplane writes to, in words and paths.
pub fn folders() -> Vec<(&'static str, Option<PathBuf>)> {
    vec![
        ("Settings", eframe::storage_dir(APP_ID)),
        (
            "Weights cache",
            crate::weights::fetch::weights_cache_dir().ok(),
        ),
        ("Runs", Some(crate::train::run_folder::app_runs_dir())),
        ("Logs", crate::logging::log_dir()),
    ]
}

pub fn about_panel_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.heading("About Skiplane");
    ui.label(format!(
        "Skiplane {} · Burn {}",
        env!("CARGO_PKG_VERSION"),
        crate::train::run_folder::BURN_VERSION,
    ));
    ui.label("A desktop lab for transfer learning with residual and dense networks.");
    ui.add_space(10.0);

    ui.strong("Compute");
    match &app.backend {
        BackendView::Ready(device) => {
            ui.label(format!("{} ({})", device.description, device.reason));
        }
        _ => {
            ui.label("detecting…");
        }
    }
    ui.small("SKIPLANE_BACKEND=cpu or =wgpu before starting Skiplane overrides the choice.");
    ui.add_space(10.0);

    ui.strong("Where Skiplane keeps its files");
    egui::Grid::new("folders").num_columns(3).show(ui, |ui| {
        for (what, folder) in folders() {
            ui.label(what);
            match folder {
                Some(folder) => {
                    ui.monospace(folder.display().to_string());
                    if ui
                        .small_button(format!("Open {}", what.to_lowercase()))
                        .clicked()
                    {
                        let _ = std::fs::create_dir_all(&folder);
                        if let Err(e) = open_externally(&folder) {
                            app.log
                                .warn(format!("{}: cannot open: {e}", folder.display()));
                        }
                    }
                }
                None => {
                    ui.label("none (no home folder for this user)");
                }
            }
            ui.end_row();
        }
    });
    if let Some(log) = crate::logging::log_path() {
        ui.small(format!("This session's log: {}", log.display()));
    }
    ui.add_space(10.0);
    if ui.button("Show the welcome screen").clicked() {
        app.settings.welcomed = false;
    }
}
