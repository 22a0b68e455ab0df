//! The desktop app: a thin front end over the engine. Panels draw state and push [`Action`]s;
//! slow work (scanning, thumbnails, weights, training) runs on background threads that report
//! back through channels, so the window never waits on them.

mod actions;
pub(crate) mod background;
pub mod crash;
mod log;
pub mod panels;
mod settings;
mod status_bar;
mod thumbnails;
mod training;
pub(crate) mod weights;

pub use actions::Action;
pub use log::{Log, LogLevel};
pub use settings::{ArchitectureSlot, Settings, Tab, TrainSettings};
pub use training::{RunStatus, RunView, Trainer};

use crate::data::folder::ScannedFolder;
use background::Job;
use std::path::PathBuf;

/// Where the app's state lives; `ui` draws it, `handle_actions` changes it.
pub struct SkiplaneApp {
    pub settings: Settings,
    pub log: Log,
    /// The open dataset folder and its scan.
    pub dataset: Option<DatasetView>,
    scan: Option<Job<Result<ScannedFolder, String>>>,
    pub thumbnails: thumbnails::Thumbnails,
    pub trainer: Trainer,
    pub backend: BackendView,
    /// The window's context, known from the first frame on (background work wakes it).
    ctx: Option<egui::Context>,
    pub label: panels::label::LabelState,
    pub evaluate: panels::evaluate::EvaluateState,
    pub predict: panels::predict::PredictState,
    pub weights: weights::WeightsJobs,
    pub export: panels::export::ExportState,
    /// What the user typed in the Data panel's path field.
    pub path_field: String,
    /// The window was asked to close while a training runs: ask first.
    pub confirm_quit: bool,
    quit_confirmed: bool,
    actions: Vec<Action>,
    pub welcome: panels::welcome::WelcomeState,
    pub lab: panels::lab::LabState,
    /// A panic caught in a frame, shown until dismissed.
    pub crash: Option<crash::CrashReport>,
    test_panic: bool,
}

pub struct DatasetView {
    pub folder: PathBuf,
    pub scanned: Option<ScannedFolder>,
}

/// The compute backend, found on a background thread (adapter discovery can take a moment).
pub enum BackendView {
    NotStarted,
    Detecting(Job<crate::backend::SelectedDevice>),
    Ready(crate::backend::SelectedDevice),
}

/// The sample photos shipped with Skiplane: beside the executable (installed) or in the source
/// tree (a checkout).
pub fn sample_dataset() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4")];
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join("../share/skiplane/datasets/gcompris4"));
        // macOS app bundle (cargo-packager resources): Skiplane.app/Contents/Resources.
        candidates.push(dir.join("../Resources/datasets/gcompris4"));
        candidates.push(dir.join("datasets/gcompris4"));
    }
    candidates.into_iter().find(|p| p.is_dir())
}

impl SkiplaneApp {
    /// The app with `settings` (restored or default). The compute backend is detected in the
    /// background once the window shows.
    pub fn new(settings: Settings) -> Self {
        Self::with_backend(settings, BackendView::NotStarted)
    }

    /// The app on a given device (tests, or a backend chosen beforehand).
    pub fn with_device(settings: Settings, device: crate::backend::SelectedDevice) -> Self {
        Self::with_backend(settings, BackendView::Ready(device))
    }

    fn with_backend(settings: Settings, backend: BackendView) -> Self {
        SkiplaneApp {
            settings,
            log: Log::default(),
            dataset: None,
            scan: None,
            thumbnails: thumbnails::Thumbnails::default(),
            trainer: Trainer::default(),
            backend,
            ctx: None,
            label: Default::default(),
            evaluate: Default::default(),
            predict: Default::default(),
            weights: Default::default(),
            export: Default::default(),
            path_field: String::new(),
            confirm_quit: false,
            quit_confirmed: false,
            actions: Vec::new(),
            welcome: Default::default(),
            lab: Default::default(),
            crash: None,
            test_panic: false,
        }
    }

    /// Queues an action; it is applied after this frame's drawing.
    pub fn act(&mut self, action: Action) {
        self.actions.push(action);
    }

    pub fn device(&self) -> Option<&crate::backend::SelectedDevice> {
        match &self.backend {
            BackendView::Ready(device) => Some(device),
            BackendView::NotStarted | BackendView::Detecting(_) => None,
        }
    }

    /// The window's context (set on the first frame).
    fn ctx(&self) -> egui::Context {
        self.ctx.clone().unwrap_or_default()
    }

    /// Takes in what background work has finished.
    fn poll_background(&mut self, ctx: &egui::Context) {
        if let BackendView::NotStarted = self.backend {
            self.backend = BackendView::Detecting(Job::spawn("skiplane-backend", ctx, || {
                crate::backend::select_device()
                    .unwrap_or_else(|e| crate::backend::cpu_device(e.to_string()))
            }));
        }
        if let BackendView::Detecting(job) = &mut self.backend
            && let Some(device) = job.poll()
        {
            self.log
                .info(format!("compute backend: {}", device.description));
            self.backend = BackendView::Ready(device);
        }
        if let Some(job) = &mut self.scan
            && let Some(outcome) = job.poll()
        {
            self.scan = None;
            match outcome {
                Ok(scanned) => {
                    let images: usize = scanned.classes.iter().map(|c| c.images.len()).sum();
                    self.log.info(format!(
                        "{}: {} classes, {images} photos, {} files skipped",
                        scanned.root.display(),
                        scanned.classes.len(),
                        scanned.skipped.len()
                    ));
                    if let Some(view) = &mut self.dataset {
                        view.scanned = Some(scanned);
                    }
                }
                Err(message) => {
                    self.log.error(message);
                    self.dataset = None;
                }
            }
        }
        self.thumbnails.poll(ctx);
        if let Some(error) = self.predict.poll() {
            self.log.error(error);
        }
        match self.export.poll() {
            Some(Ok(message)) => self.log.info(message),
            Some(Err(message)) => self.log.error(message),
            None => {}
        }
        let (downloads, checked) = self.weights.poll();
        for (name, outcome) in downloads {
            match outcome {
                Ok(path) => self
                    .log
                    .info(format!("{name} weights downloaded to {}", path.display())),
                Err(message) => self.log.error(message),
            }
        }
        for file in checked {
            match file.outcome {
                Ok((path, sentence)) => {
                    self.log.info(sentence);
                    let slot = &mut self.settings.slots[file.slot];
                    slot.weights_file = Some(path);
                    slot.pretrained = true;
                }
                Err(message) => self.log.error(message),
            }
        }
        for message in self.trainer.poll() {
            self.log.push(message.0, message.1);
        }
    }

    pub fn scanning(&self) -> bool {
        self.scan.is_some()
    }

    /// One frame: take in background results, draw, then apply what the user asked for.
    /// A panic inside it (a bug) is caught here: the frame is dropped, the panic hook has logged
    /// the backtrace, and a dialog says so — the window does not vanish.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        // While the dialog is up the panels are not drawn: a bug that panics on every frame would
        // otherwise panic again at once, and fill the log with the same backtrace.
        if self.crash.is_none() {
            let drawn =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.draw_frame(ui)));
            if let Err(panic) = drawn {
                let message = crate::logging::panic_message(panic.as_ref());
                self.crash = Some(crash::CrashReport::new(message));
                self.actions.clear();
                // Leave the panel that failed (the open tab is remembered across launches).
                self.settings.tab = Tab::Data;
                ui.ctx().request_repaint();
            }
        }
        if let Some(report) = &self.crash
            && crash::crash_dialog_ui(report, ui.ctx())
        {
            self.crash = None;
        }
    }

    /// Makes the next frame panic, to try the crash handling (`SKIPLANE_TEST_PANIC=frame`).
    #[doc(hidden)]
    pub fn panic_in_next_frame(&mut self) {
        self.test_panic = true;
    }

    fn draw_frame(&mut self, ui: &mut egui::Ui) {
        if std::mem::take(&mut self.test_panic) {
            panic!("a test panic, asked for with SKIPLANE_TEST_PANIC");
        }
        let ctx = ui.ctx().clone();
        if self.ctx.is_none() {
            // The Label panel shows photos at full size through egui's image loaders.
            egui_extras::install_image_loaders(&ctx);
        }
        self.ctx = Some(ctx.clone());
        self.poll_background(&ctx);
        self.shortcuts(&ctx);
        self.dropped_files(&ctx);
        egui::Panel::bottom("status_bar").show(ui, |ui| status_bar::status_bar_ui(self, ui));
        egui::Panel::left("navigation")
            .resizable(false)
            .exact_size(130.0)
            .show(ui, |ui| self.navigation_ui(ui));
        if !self.settings.welcomed {
            egui::CentralPanel::default_margins()
                .show(ui, |ui| panels::welcome::welcome_ui(self, ui));
        } else {
            egui::CentralPanel::default_margins().show(ui, |ui| self.tab_ui(ui));
        }
        self.log.toasts_ui(&ctx);
        self.quit_ui(&ctx);
        if self.trainer.is_busy()
            || self.scan.is_some()
            || self.thumbnails.is_busy()
            || self.predict.busy()
            || self.weights.busy()
            || self.export.busy()
            || self.welcome.busy()
            || self.lab.busy()
        {
            // Progress bars and plots move while work runs.
            ctx.request_repaint_after(std::time::Duration::from_millis(200));
        }
        self.handle_actions();
    }

    fn tab_ui(&mut self, ui: &mut egui::Ui) {
        match self.settings.tab {
            Tab::Data => panels::data::data_panel_ui(self, ui),
            Tab::Label => panels::label::label_panel_ui(self, ui),
            Tab::Architecture => panels::architecture::architecture_panel_ui(self, ui),
            Tab::Train => panels::train::train_panel_ui(self, ui),
            Tab::Compare => panels::compare::compare_panel_ui(self, ui),
            Tab::Evaluate => panels::evaluate::evaluate_panel_ui(self, ui),
            Tab::Predict => panels::predict::predict_panel_ui(self, ui),
            Tab::Export => panels::export::export_panel_ui(self, ui),
            Tab::Log => self.log.log_panel_ui(ui),
            Tab::Lab => panels::lab::lab_panel_ui(self, ui),
            Tab::About => panels::about::about_panel_ui(self, ui),
        }
    }

    /// Closing the window while a run trains asks whether to stop it; either way the run folder
    /// stays consistent (a stopped run keeps its last finished epoch).
    fn quit_ui(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested())
            && self.trainer.is_busy()
            && !self.quit_confirmed
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_quit = true;
        }
        if !self.confirm_quit {
            return;
        }
        egui::Modal::new(egui::Id::unique("skiplane_confirm_quit")).show(ctx, |ui| {
            ui.heading("A training is running");
            ui.label("Stop it and quit? The run folder keeps every finished epoch, and the run can be resumed.");
            ui.horizontal(|ui| {
                if ui.button("Stop and quit").clicked() {
                    self.trainer.stop_all();
                    self.quit_confirmed = true;
                    self.confirm_quit = false;
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
                if ui.button("Keep training").clicked() {
                    self.confirm_quit = false;
                }
            });
        });
    }

    fn navigation_ui(&mut self, ui: &mut egui::Ui) {
        ui.add_space(8.0);
        ui.heading("Skiplane");
        ui.add_space(8.0);
        for tab in Tab::ALL {
            if ui
                .selectable_label(self.settings.tab == tab, tab.title())
                .clicked()
            {
                self.settings.tab = tab;
            }
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let open = ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::O));
        if open {
            self.act(Action::PickFolder);
        }
    }

    fn dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if dropped.is_empty() {
            return;
        }
        if self.settings.tab == Tab::Predict {
            let photos = panels::predict::photos_in(&dropped);
            if let Some(bundle) = self.predict.bundle.clone() {
                self.classify_with(bundle, photos);
                return;
            }
            let run = self
                .predict
                .run
                .or_else(|| self.trainer.runs.iter().rposition(|r| r.report.is_some()));
            if let Some(run) = run {
                self.classify(run, photos);
            }
            return;
        }
        if let Some(folder) = dropped.into_iter().find(|p| p.is_dir()) {
            self.act(Action::OpenFolder(folder));
        }
    }

    fn handle_actions(&mut self) {
        for action in std::mem::take(&mut self.actions) {
            actions::apply(self, action);
        }
    }

    /// Classifies `photos` with run `run` (an index into the trainer's runs) in the background.
    pub fn classify(&mut self, run: usize, photos: Vec<PathBuf>) {
        if let Some(run_dir) = self.trainer.runs.get(run).and_then(|r| r.run_dir.clone()) {
            self.predict.run = Some(run);
            self.predict.bundle = None;
            self.classify_with(run_dir, photos);
        }
    }

    /// Classifies `photos` with the model at `model` (a run folder or a `.skiplane` bundle).
    pub fn classify_with(&mut self, model: PathBuf, photos: Vec<PathBuf>) {
        let Some(device) = self.device().map(|d| d.device.clone()) else {
            self.log
                .warn("the compute backend is still being detected; try again in a moment".into());
            return;
        };
        if photos.is_empty() {
            self.log
                .warn("no photos among the files given (jpg, png, webp, bmp, gif, tiff)".into());
            return;
        }
        let ctx = self.ctx();
        self.predict.classify(&ctx, model, device, photos);
    }

    /// Starts scanning `folder` on a background thread.
    fn open_folder(&mut self, ctx: &egui::Context, folder: PathBuf) {
        self.settings.remember_folder(&folder);
        self.dataset = Some(DatasetView {
            folder: folder.clone(),
            scanned: None,
        });
        self.evaluate = Default::default();
        self.scan = Some(Job::spawn("skiplane-scan", ctx, move || {
            crate::data::folder::scan_folder(&folder, crate::data::folder::ScanDepth::Headers)
                .map_err(|e| e.to_string())
        }));
    }
}

impl eframe::App for SkiplaneApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    fn on_exit(&mut self) {
        // A run in progress stops at its next batch; its folder keeps the last finished epoch.
        self.trainer.stop_all();
    }
}

/// The window's application id (Wayland app_id, X11 WM_CLASS): the desktop entry's
/// `StartupWMClass` and file name must match it for the dock to group the window with its icon.
pub const APP_ID: &str = "skiplane";

/// Opens the window. Returns when it closes.
pub fn run_native() -> eframe::Result<()> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Skiplane")
        .with_app_id(APP_ID)
        .with_inner_size([1200.0, 800.0])
        .with_min_inner_size([800.0, 560.0])
        .with_drag_and_drop(true);
    if let Ok(icon) = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon-256.png"))
    {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "skiplane",
        options,
        Box::new(|cc| {
            let settings: Settings = cc
                .storage
                .and_then(|storage| eframe::get_value(storage, eframe::APP_KEY))
                .unwrap_or_default();
            let mut app = SkiplaneApp::new(settings);
            if std::env::var(TEST_PANIC_ENV).as_deref() == Ok("frame") {
                app.panic_in_next_frame();
            }
            Ok(Box::new(app))
        }),
    )
}

/// `SKIPLANE_TEST_PANIC=frame` makes the window's first frame panic, to see (and test) that a bug
/// ends in a dialog and a logged backtrace rather than a vanished window.
pub const TEST_PANIC_ENV: &str = "SKIPLANE_TEST_PANIC";

/// The way in from a desktop entry (no terminal): the log goes to a file as well, panics are
/// logged with their backtraces, and if the window cannot open — or a panic escapes it — a native
/// dialog says so and where the log is, instead of the app silently vanishing.
pub fn launch() -> std::process::ExitCode {
    let log_path = crate::logging::init_app_logging();
    crate::logging::install_panic_hook();
    let failure = match std::panic::catch_unwind(run_native) {
        Ok(Ok(())) => return std::process::ExitCode::SUCCESS,
        Ok(Err(e)) => format!("The window could not open: {e}"),
        Err(panic) => format!(
            "Skiplane stopped on a bug: {}",
            crate::logging::panic_message(panic.as_ref())
        ),
    };
    ::log::error!("{failure}");
    let log = log_path.map_or("the terminal (stderr)".to_string(), |p| {
        p.display().to_string()
    });
    rfd::MessageDialog::new()
        .set_level(rfd::MessageLevel::Error)
        .set_title("Skiplane")
        .set_description(format!(
            "{failure}\n\nThe details are in {log}.\nIf no GPU driver works, SKIPLANE_BACKEND=cpu \
             still needs a display (X11 or Wayland) for the window."
        ))
        .set_buttons(rfd::MessageButtons::Ok)
        .show();
    std::process::ExitCode::FAILURE
}
