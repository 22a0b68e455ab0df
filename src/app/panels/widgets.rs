//! Pieces several panels share.

use crate::app::SkiplaneApp;
use crate::app::thumbnails::Thumbnail;
use std::path::Path;

/// A thumbnail (or a placeholder while it decodes) of `side` points, with the file name on hover.
pub fn thumbnail_ui(
    app: &mut SkiplaneApp,
    ui: &mut egui::Ui,
    path: &Path,
    side: f32,
) -> egui::Response {
    let size = egui::vec2(side, side);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let response = match app.thumbnails.get(path) {
        Some(Thumbnail::Ready(texture)) => {
            let image = egui::Image::new(texture)
                .max_size(size)
                .sense(egui::Sense::click());
            ui.add_sized(size, image)
        }
        Some(Thumbnail::Failed(reason)) => {
            let reason = reason.clone();
            ui.add_sized(size, egui::Label::new("(!)").sense(egui::Sense::click()))
                .on_hover_text(reason)
        }
        None => ui.add_sized(size, egui::Spinner::new()),
    };
    response.on_hover_text(name)
}

/// Opens a file with the desktop's default application, without waiting for it.
pub fn open_externally(path: &Path) -> std::io::Result<()> {
    let program = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(program)
        .arg(path)
        .spawn()
        .map(|_| ())
}

/// What a gallery photo's context menu asked for.
pub enum PhotoAction {
    Open,
    MoveTo(String),
}

/// Right-click menu of a gallery photo: open it, or move it to another class folder.
pub fn photo_menu(
    response: &egui::Response,
    classes: &[String],
    current: usize,
) -> Option<PhotoAction> {
    let mut action = None;
    response.context_menu(|ui| {
        if ui.button("Open").clicked() {
            action = Some(PhotoAction::Open);
            ui.close();
        }
        ui.menu_button("Move to class", |ui| {
            for (i, class) in classes.iter().enumerate() {
                if i != current && ui.button(class).clicked() {
                    action = Some(PhotoAction::MoveTo(class.clone()));
                    ui.close();
                }
            }
        });
    });
    action
}

pub use crate::units::{group_digits, human_bytes};
