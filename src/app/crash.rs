//! A bug that panics while the window draws does not close it: the frame is abandoned, the panic
//! hook has written the backtrace to the log, and this dialog says what happened and where the
//! details are. The user's photos, runs and settings are untouched, and the app goes on.

use crate::app::panels::widgets::open_externally;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub struct CrashReport {
    pub message: String,
    pub log_path: Option<PathBuf>,
}

impl CrashReport {
    pub fn new(message: String) -> Self {
        CrashReport {
            message,
            log_path: crate::logging::log_path(),
        }
    }

    fn details(&self) -> String {
        format!(
            "Skiplane {} hit a bug: {}\nlog: {}",
            env!("CARGO_PKG_VERSION"),
            self.message,
            self.log_path
                .as_ref()
                .map_or("stderr".to_string(), |p| p.display().to_string())
        )
    }
}

/// The dialog; returns true when the user dismissed it.
pub fn crash_dialog_ui(report: &CrashReport, ctx: &egui::Context) -> bool {
    let mut dismissed = false;
    egui::Modal::new(egui::Id::unique("skiplane_crash_dialog")).show(ctx, |ui| {
        ui.set_max_width(520.0);
        ui.heading("Something went wrong");
        ui.label(format!("Skiplane hit a bug: {}", report.message));
        ui.label(
            "Your photos, runs and settings are safe; a training in progress goes on. You can \
             keep working, or restart Skiplane if something looks wrong.",
        );
        match &report.log_path {
            Some(path) => {
                ui.label(format!(
                    "The details, with a backtrace, are in {}",
                    path.display()
                ));
            }
            None => {
                ui.label("The details, with a backtrace, were written to the terminal (stderr).");
            }
        }
        ui.horizontal(|ui| {
            if ui.button("Copy the details").clicked() {
                ui.ctx().copy_text(report.details());
            }
            if let Some(folder) = report.log_path.as_ref().and_then(|p| p.parent())
                && ui.button("Open the log folder").clicked()
            {
                let _ = open_externally(folder);
            }
            if ui.button("Continue").clicked() {
                dismissed = true;
            }
        });
    });
    dismissed
}
