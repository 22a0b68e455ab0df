//! The bottom line: the backend and device, the job in progress, memory.

use super::{BackendView, RunStatus, SkiplaneApp};

pub fn status_bar_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        match &app.backend {
            BackendView::NotStarted | BackendView::Detecting(_) => {
                ui.spinner();
                ui.label("detecting the compute backend…");
            }
            BackendView::Ready(device) => {
                let text = match device.kind {
                    // Say why the GPU is not used (none found, software only, a driver failure,
                    // or SKIPLANE_BACKEND=cpu): training is slower and the user should know.
                    crate::backend::BackendKind::Cpu => format!(
                        "{} · GPU not used: {}",
                        device.description,
                        short_reason(&device.reason)
                    ),
                    crate::backend::BackendKind::Wgpu => device.description.clone(),
                };
                ui.label(text).on_hover_text(&device.reason);
            }
        }
        ui.separator();
        if app.scanning() {
            ui.spinner();
            ui.label("scanning photos…");
            ui.separator();
        }
        if let Some(run) = app.trainer.active_run() {
            let status = match &run.status {
                RunStatus::Preparing => "preparing".to_string(),
                RunStatus::Paused => "paused".to_string(),
                _ => format!(
                    "epoch {} of {}, {:.0} s left",
                    run.progress.0.max(1),
                    run.experiment.epochs,
                    run.eta_seconds
                ),
            };
            ui.label(format!("training {}: {status}", run.name));
            ui.separator();
        }
        if let Some(memory) = crate::train::memory::process_memory() {
            ui.label(format!(
                "memory {:.0} MiB",
                memory.resident_bytes as f64 / (1024.0 * 1024.0)
            ));
        }
    });
}

/// The reason up to its first parenthesis or colon detail: "only software adapters found (…)"
/// → "only software adapters found".
fn short_reason(reason: &str) -> &str {
    let end = reason.find(" (").unwrap_or(reason.len());
    reason[..end].trim()
}
