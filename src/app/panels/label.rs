//! The Label panel: one large photo at a time from a folder of loose photos, class buttons (keys
//! 1–9), skip, undo/redo, progress, and Apply, which moves or copies the photos into class folders
//! through the crash-safe journal after a confirmation that says exactly what will happen.

use crate::app::{Action, Log, SkiplaneApp};
use crate::data::journal::TransferMode;
use crate::data::labelling::{ApplyPlan, Label, LabelSession};
use std::path::Path;

#[derive(Default)]
pub struct LabelState {
    pub session: Option<LabelSession>,
    /// The photo on screen (relative to the folder).
    pub current: Option<String>,
    pub new_class: String,
    /// A plan waiting for the user's confirmation.
    pub confirm: Option<ApplyPlan>,
    pub copy_instead_of_move: bool,
}

impl LabelState {
    pub fn open(&mut self, folder: &Path, log: &mut Log) {
        match LabelSession::open(folder) {
            Ok(session) => {
                let (done, total) = session.progress();
                log.info(format!(
                    "{}: {total} photos to label, {done} labelled before",
                    folder.display()
                ));
                self.current = session.next_unlabelled().map(str::to_string);
                self.session = Some(session);
                self.confirm = None;
            }
            Err(e) => log.error(e.to_string()),
        }
    }

    /// Labels the photo on screen and moves on to the next unlabelled one.
    pub fn label_current(&mut self, label: Label, log: &mut Log) {
        let (Some(session), Some(file)) = (&mut self.session, self.current.clone()) else {
            return;
        };
        match session.set_label(&file, Some(label)) {
            Ok(()) => self.current = session.next_unlabelled().map(str::to_string),
            Err(e) => log.error(e.to_string()),
        }
    }

    pub fn undo(&mut self, log: &mut Log) {
        if let Some(session) = &mut self.session {
            match session.undo() {
                Ok(Some(file)) => self.current = Some(file),
                Ok(None) => {}
                Err(e) => log.error(e.to_string()),
            }
        }
    }

    pub fn redo(&mut self, log: &mut Log) {
        if let Some(session) = &mut self.session {
            match session.redo() {
                Ok(Some(_)) => self.current = session.next_unlabelled().map(str::to_string),
                Ok(None) => {}
                Err(e) => log.error(e.to_string()),
            }
        }
    }
}

pub fn label_panel_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.heading("Label loose photos");
    ui.horizontal(|ui| {
        if ui.button("Open a folder of photos…").clicked() {
            app.act(Action::PickLabelFolder);
        }
        ui.label("or path:");
        ui.add(egui::TextEdit::singleline(&mut app.path_field).desired_width(320.0));
        if ui.button("Open for labelling").clicked() && !app.path_field.trim().is_empty() {
            let folder = std::path::PathBuf::from(app.path_field.trim());
            app.act(Action::OpenLabelFolder(folder));
        }
    });
    let state = &mut app.label;
    let log = &mut app.log;
    let Some(session) = &state.session else {
        ui.label("Photos stay where they are until you Apply; labels are saved after every click.");
        return;
    };
    let (done, total) = session.progress();
    ui.label(format!("{done} of {total} labelled"));
    ui.add(egui::ProgressBar::new(done as f32 / total.max(1) as f32));
    let classes: Vec<String> = session.classes().to_vec();
    let folder = session.folder().to_path_buf();

    // Keys: 1–9 pick a class, S skips, Ctrl+Z / Ctrl+Shift+Z undo and redo.
    if !ui.ctx().egui_wants_keyboard_input() {
        let pressed = ui.input(|i| {
            let digit = (1..=9).find(|d| {
                let key = egui::Key::from_name(&d.to_string());
                key.is_some_and(|k| i.key_pressed(k))
            });
            (
                digit,
                i.key_pressed(egui::Key::S),
                i.modifiers.command && !i.modifiers.shift && i.key_pressed(egui::Key::Z),
                i.modifiers.command && i.modifiers.shift && i.key_pressed(egui::Key::Z),
            )
        });
        match pressed {
            (Some(d), ..) if d <= classes.len() => {
                state.label_current(Label::Class(classes[d - 1].clone()), log)
            }
            (_, true, _, _) => state.label_current(Label::Skip, log),
            (_, _, true, _) => state.undo(log),
            (_, _, _, true) => state.redo(log),
            _ => {}
        }
    }

    ui.horizontal_wrapped(|ui| {
        for (i, class) in classes.iter().enumerate() {
            let text = if i < 9 {
                format!("{} {class}", i + 1)
            } else {
                class.clone()
            };
            if ui.button(text).clicked() {
                state.label_current(Label::Class(class.clone()), log);
            }
        }
        if ui.button("Skip (S)").clicked() {
            state.label_current(Label::Skip, log);
        }
        if ui.button("Undo").clicked() {
            state.undo(log);
        }
        if ui.button("Redo").clicked() {
            state.redo(log);
        }
    });
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(&mut state.new_class)
                .hint_text("new class name")
                .desired_width(160.0),
        );
        if ui.button("Add class").clicked()
            && let Some(session) = &mut state.session
        {
            match session.add_class(state.new_class.trim()) {
                Ok(()) => state.new_class.clear(),
                Err(e) => log.error(e.to_string()),
            }
        }
        ui.separator();
        ui.checkbox(&mut state.copy_instead_of_move, "copy (keep the originals)");
        if ui.button("Apply…").clicked()
            && let Some(session) = &state.session
        {
            let mode = if state.copy_instead_of_move {
                TransferMode::Copy
            } else {
                TransferMode::Move
            };
            state.confirm = Some(session.plan_apply(mode));
        }
    });
    if let Some(plan) = state.confirm.clone() {
        let mut close = false;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(plan.describe());
            ui.horizontal(|ui| {
                if ui.button("Yes, do it").clicked() {
                    if let Some(session) = &mut state.session {
                        match session.apply(plan) {
                            Ok(()) => log.info(format!(
                                "{}: photos sorted into class folders",
                                folder.display()
                            )),
                            Err(e) => log.error(e.to_string()),
                        }
                        state.current = session.next_unlabelled().map(str::to_string);
                    }
                    close = true;
                }
                if ui.button("Cancel").clicked() {
                    close = true;
                }
            });
        });
        if close {
            state.confirm = None;
        }
    }
    ui.separator();
    match &state.current {
        Some(file) => {
            let path = folder.join(file);
            let label = state
                .session
                .as_ref()
                .and_then(|s| s.label(file))
                .map(|l| format!(" — now: {l:?}"))
                .unwrap_or_default();
            ui.label(format!("{file}{label}"));
            ui.add(
                egui::Image::new(format!("file://{}", path.display()))
                    .max_size(ui.available_size())
                    .maintain_aspect_ratio(true),
            );
        }
        None => {
            ui.label("Every photo has a label. Apply sorts them into class folders.");
        }
    }
}
