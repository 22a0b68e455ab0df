//! What happened, for the user: every message goes to the log panel, warnings and errors also
//! appear as toasts for a few seconds.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Info,
    Warning,
    Error,
}

pub struct LogEntry {
    pub level: LogLevel,
    pub text: String,
    pub at: Instant,
}

#[derive(Default)]
pub struct Log {
    pub entries: Vec<LogEntry>,
}

const TOAST_SECONDS: u64 = 8;

impl Log {
    pub fn push(&mut self, level: LogLevel, text: String) {
        match level {
            LogLevel::Info => log::info!("{text}"),
            LogLevel::Warning => log::warn!("{text}"),
            LogLevel::Error => log::error!("{text}"),
        }
        self.entries.push(LogEntry {
            level,
            text,
            at: Instant::now(),
        });
    }

    pub fn info(&mut self, text: String) {
        self.push(LogLevel::Info, text);
    }

    pub fn warn(&mut self, text: String) {
        self.push(LogLevel::Warning, text);
    }

    pub fn error(&mut self, text: String) {
        self.push(LogLevel::Error, text);
    }

    /// Recent warnings and errors in the bottom-right corner.
    pub fn toasts_ui(&mut self, ctx: &egui::Context) {
        let recent: Vec<&LogEntry> = self
            .entries
            .iter()
            .filter(|e| e.level != LogLevel::Info)
            .filter(|e| e.at.elapsed() < Duration::from_secs(TOAST_SECONDS))
            .collect();
        if recent.is_empty() {
            return;
        }
        egui::Area::new(egui::Id::unique("skiplane_toasts"))
            .anchor(egui::Align2::RIGHT_BOTTOM, [-12.0, -36.0])
            .show(ctx, |ui| {
                for entry in recent.iter().rev().take(4) {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.set_max_width(420.0);
                        ui.colored_label(level_color(entry.level), &entry.text);
                    });
                }
            });
        ctx.request_repaint_after(Duration::from_secs(1));
    }

    pub fn log_panel_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Log");
        egui::ScrollArea::vertical()
            .stick_to_bottom(true)
            .show(ui, |ui| {
                for entry in &self.entries {
                    ui.colored_label(level_color(entry.level), &entry.text);
                }
            });
    }
}

fn level_color(level: LogLevel) -> egui::Color32 {
    match level {
        LogLevel::Info => egui::Color32::GRAY,
        LogLevel::Warning => egui::Color32::from_rgb(230, 170, 40),
        LogLevel::Error => egui::Color32::from_rgb(230, 80, 70),
    }
}
