//! What the user asked for, applied in one place after the frame is drawn.

use super::{SkiplaneApp, Tab};
use crate::train::TrainCommand;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The native folder dialog (Ctrl+O).
    PickFolder,
    OpenFolder(PathBuf),
    OpenSample,
    /// Train slot A (0) or B (1) on the open dataset.
    Train(usize),
    /// Train A, then B, on the same split.
    Compare,
    SendToRun(TrainCommand),
    OpenLabelFolder(PathBuf),
    PickLabelFolder,
}

pub fn apply(app: &mut SkiplaneApp, action: Action) {
    let ctx = app.ctx();
    match action {
        Action::PickFolder => match rfd::FileDialog::new().pick_folder() {
            Some(folder) => app.open_folder(&ctx, folder),
            // No portal and no zenity: the dialog cannot open. The path field and drag-and-drop
            // still work; say so instead of doing nothing.
            None => app.log.info(
                "no folder chosen (if no dialog appeared, type the path in the field or drop the folder on the window)".into(),
            ),
        },
        Action::OpenFolder(folder) => {
            if folder.is_dir() {
                app.open_folder(&ctx, folder);
            } else {
                app.log
                    .error(format!("{}: not a folder that can be opened", folder.display()));
            }
        }
        Action::OpenSample => match super::sample_dataset() {
            Some(folder) => app.open_folder(&ctx, folder),
            None => app
                .log
                .error("the sample photos are not installed next to Skiplane".into()),
        },
        Action::Train(slot) => start_runs(app, &[slot]),
        Action::Compare => start_runs(app, &[0, 1]),
        Action::SendToRun(command) => app.trainer.send(command),
        Action::PickLabelFolder => {
            if let Some(folder) = rfd::FileDialog::new().pick_folder() {
                app.label.open(&folder, &mut app.log);
            }
        }
        Action::OpenLabelFolder(folder) => app.label.open(&folder, &mut app.log),
    }
}

fn start_runs(app: &mut SkiplaneApp, slots: &[usize]) {
    let Some(dataset) = app.dataset.as_ref().map(|d| d.folder.clone()) else {
        app.log
            .warn("open a folder of photos first (Data panel)".into());
        app.settings.tab = Tab::Data;
        return;
    };
    let Some(device) = app.device().cloned() else {
        app.log
            .warn("the compute backend is still being detected; try again in a moment".into());
        return;
    };
    if app.trainer.is_busy() {
        app.log
            .warn("a training is running; stop it or wait for it to finish".into());
        return;
    }
    let runs: Vec<_> = slots
        .iter()
        .map(|&slot| {
            let choice = &app.settings.slots[slot];
            (
                format!("{} {}", ["A", "B"][slot], choice.name()),
                app.settings.training.experiment(&dataset, choice),
            )
        })
        .collect();
    let ctx = app.ctx();
    app.trainer.start(runs, device, &ctx);
    app.settings.tab = Tab::Train;
}
