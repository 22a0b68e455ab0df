//! The first-run screen: what Skiplane does, a way to photos (the sample or a folder), and where
//! pretrained weights come from — download them now, import a file, or go on without them and
//! train from scratch. Shown until the user leaves it; the About panel brings it back.

use crate::app::SkiplaneApp;
use crate::app::actions::Action;
use crate::app::background::Job;
use crate::app::settings::Tab;
use crate::weights::fetch::{OfficialWeights, import_official, weights_cache_dir};

#[derive(Default)]
pub struct WelcomeState {
    /// A weights file being checked against the official files' hashes.
    import: Option<Job<Result<Option<std::path::PathBuf>, String>>>,
}

impl WelcomeState {
    pub fn busy(&self) -> bool {
        self.import.is_some()
    }
}

pub fn welcome_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    poll_import(app);
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.set_max_width(720.0);
        ui.add_space(12.0);
        ui.heading("Welcome to Skiplane");
        ui.add_space(6.0);
        ui.label(
            "Skiplane turns folders of your photos into an image classifier: pick a ResNet or a \
             DenseNet, start from ImageNet-pretrained weights and train it on your classes while \
             the loss and accuracy plots move.",
        );
        ui.label(
            "Then compare the two families side by side, look at the photos each gets wrong, and \
             export the model as ONNX, torchvision safetensors or a Skiplane bundle.",
        );
        ui.add_space(14.0);

        ui.strong("Your photos");
        ui.horizontal(|ui| {
            if ui.button("Open the sample dataset").clicked() {
                leave(app, Action::OpenSample);
            }
            if ui.button("Open a folder…").clicked() {
                leave(app, Action::PickFolder);
            }
        });
        ui.small(
            "A folder with one subfolder per class (birds/robin/*.jpg, birds/wren/*.jpg); a loose \
             folder of photos can be sorted into classes in the Label panel.",
        );
        ui.add_space(14.0);

        ui.strong("Pretrained weights");
        let cache = weights_cache_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|e| e.to_string());
        ui.label(format!(
            "Training starts from networks pretrained on ImageNet by torchvision, downloaded once \
             from PyTorch's servers (download.pytorch.org) into {cache}."
        ));
        weights_status_ui(app, ui);
        ui.horizontal(|ui| {
            let missing = missing_weights(app);
            if ui
                .add_enabled(!missing.is_empty(), egui::Button::new("Download now"))
                .clicked()
            {
                for weights in missing {
                    app.weights.download(ui.ctx(), weights.name);
                }
            }
            if ui
                .add_enabled(
                    !app.welcome.busy(),
                    egui::Button::new("Import a weights file…"),
                )
                .on_hover_text(
                    "A torchvision .pth file you already have (e.g. resnet18-f37072fd.pth)",
                )
                .clicked()
                && let Some(path) = rfd::FileDialog::new()
                    .add_filter("PyTorch weights", &["pth", "pt", "bin"])
                    .pick_file()
            {
                import(app, ui.ctx(), path);
            }
            if ui.button("Continue without (train from scratch)").clicked() {
                for slot in &mut app.settings.slots {
                    slot.pretrained = false;
                }
                app.log.info(
                    "no pretrained weights: both architectures will train from scratch (turn \
                     them back on in the Architecture panel)"
                        .into(),
                );
                app.settings.welcomed = true;
            }
        });
        ui.add_space(14.0);
        if ui.button("Start").clicked() {
            app.settings.welcomed = true;
        }
        ui.small("The About panel shows this page again, and where Skiplane keeps its files.");
    });
}

/// Leaves the welcome screen for the Data panel, doing `action`.
fn leave(app: &mut SkiplaneApp, action: Action) {
    app.settings.welcomed = true;
    app.settings.tab = Tab::Data;
    app.act(action);
}

/// The official weights of the two slots' presets that are not cached yet (nor downloading).
fn missing_weights(app: &SkiplaneApp) -> Vec<OfficialWeights> {
    let mut missing: Vec<OfficialWeights> = app
        .settings
        .slots
        .iter()
        .filter_map(|slot| slot.preset.as_deref().and_then(OfficialWeights::find))
        .filter(|w| w.cached().is_none() && !app.weights.downloads.contains_key(w.name))
        .collect();
    missing.dedup_by_key(|w| w.name);
    missing
}

/// One line per slot: its network and whether its weights are here, coming, or missing.
fn weights_status_ui(app: &SkiplaneApp, ui: &mut egui::Ui) {
    for slot in &app.settings.slots {
        let Some(name) = slot.preset.as_deref() else {
            continue;
        };
        ui.horizontal(|ui| {
            ui.label(format!("{name}:"));
            match OfficialWeights::find(name) {
                None => {
                    ui.label("no official weights (trains from scratch)");
                }
                Some(weights) => {
                    match (weights.cached(), app.weights.downloads.get(weights.name)) {
                        (Some(_), _) => {
                            ui.label(format!("{} is here", weights.file_name));
                        }
                        (None, Some(download)) => {
                            let bar = match download.fraction() {
                                Some(f) => egui::ProgressBar::new(f).show_percentage(),
                                None => egui::ProgressBar::new(0.0).animate(true),
                            };
                            ui.add(bar.desired_width(200.0));
                        }
                        (None, None) => {
                            ui.label(format!("{} not downloaded yet", weights.file_name));
                        }
                    }
                }
            }
        });
    }
}

fn import(app: &mut SkiplaneApp, ctx: &egui::Context, path: std::path::PathBuf) {
    app.welcome.import = Some(Job::spawn("skiplane-import", ctx, move || {
        import_official(&path)
            .map_err(|e| e.to_string())
            .and_then(|cached| match cached {
                Some(cached) => Ok(Some(cached)),
                None => Err(format!(
                    "{}: not one of torchvision's official files (by its SHA-256); a file of \
                     your own goes into a slot with \"Import a .pth file…\" in the Architecture \
                     panel, where it is checked against that network",
                    path.display()
                )),
            })
    }));
}

fn poll_import(app: &mut SkiplaneApp) {
    let Some(outcome) = app.welcome.import.as_mut().and_then(|job| job.poll()) else {
        return;
    };
    app.welcome.import = None;
    match outcome {
        Ok(Some(cached)) => app.log.info(format!(
            "imported the official weights into {}",
            cached.display()
        )),
        Ok(None) => {}
        Err(reason) => app.log.warn(reason),
    }
}
