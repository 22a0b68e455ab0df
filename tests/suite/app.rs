//! The desktop app's panels, driven through egui_kittest: widgets found by their labels, clicked,
//! and the app's real state checked. Background work (scans, training) really runs; the harness
//! steps frames until it reports, with a generous cap instead of timed waits.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use skiplane::app::{ArchitectureSlot, Settings, SkiplaneApp, Tab};
use skiplane::backend::cpu_device;
use skiplane::model::Architecture;
use skiplane::units::group_digits;
use std::path::PathBuf;

fn sample_dataset() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4")
}

/// The real app on the CPU backend, its runs in `runs_dir`, in a 1280x860 window. The weights
/// cache is an empty folder of this process, so what the panels say about cached weights does not
/// depend on the machine.
fn harness(runs_dir: &std::path::Path) -> Harness<'static, SkiplaneApp> {
    static EMPTY_CACHE: std::sync::Once = std::sync::Once::new();
    EMPTY_CACHE.call_once(|| {
        let cache =
            std::env::temp_dir().join(format!("skiplane-test-cache-{}", std::process::id()));
        // SAFETY: set once, before any app in this process reads it; the suite's other tests
        // that use a cache pass their own to a child process.
        unsafe { std::env::set_var("SKIPLANE_CACHE_DIR", cache) };
    });
    let settings = Settings {
        welcomed: true,
        ..Settings::default()
    };
    harness_with(settings, runs_dir)
}

/// As [`harness`], with `settings` as restored from a previous launch (or the defaults of a first
/// one).
fn harness_with(settings: Settings, runs_dir: &std::path::Path) -> Harness<'static, SkiplaneApp> {
    let mut app = SkiplaneApp::with_device(settings, cpu_device("test"));
    app.trainer.runs_dir = runs_dir.to_path_buf();
    Harness::builder()
        .with_size([1280.0, 860.0])
        .build_ui_state(|ui, app: &mut SkiplaneApp| app.frame_ui(ui), app)
}

/// Steps frames until `done` holds; background threads get a moment between frames.
fn step_until(
    harness: &mut Harness<'static, SkiplaneApp>,
    what: &str,
    done: impl Fn(&SkiplaneApp) -> bool,
) {
    for _ in 0..6000 {
        harness.step();
        if done(harness.state()) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("gave up waiting for {what}");
}

fn open_sample(harness: &mut Harness<'static, SkiplaneApp>) {
    harness.get_by_label("Open the sample photos").click();
    step_until(harness, "the sample scan", |app| {
        app.dataset.as_ref().is_some_and(|d| d.scanned.is_some())
    });
    harness.step();
}

#[test]
fn the_data_panel_opens_the_sample_photos_and_lists_their_classes() {
    let runs = tempfile::tempdir().unwrap();
    let mut harness = harness(runs.path());
    open_sample(&mut harness);
    let scanned = harness
        .state()
        .dataset
        .as_ref()
        .unwrap()
        .scanned
        .clone()
        .unwrap();
    assert_eq!(scanned.classes.len(), 4);
    harness.get_by_label_contains("4 classes, 123 photos");
    let fishes = scanned.classes.iter().find(|c| c.name == "fishes").unwrap();
    harness.get_by_label_contains(&format!("fishes ({})", fishes.images.len()));
    assert_eq!(
        harness.state().settings.recent_folders,
        vec![sample_dataset()]
    );

    // A path that is not a folder: a message naming it, and the open dataset stays.
    harness.state_mut().path_field = "/no/such/folder".into();
    harness.get_by_label("Open").click();
    harness.run_steps(2);
    assert!(
        harness
            .state()
            .log
            .entries
            .iter()
            .any(|e| e.text.contains("/no/such/folder: not a folder"))
    );
    assert!(harness.state().dataset.is_some());
}

#[test]
fn architecture_controls_show_the_exact_parameter_counts_of_the_presets() {
    let runs = tempfile::tempdir().unwrap();
    let mut harness = harness(runs.path());
    harness.get_by_label("Architecture").click();
    harness.run_steps(2);
    // Slot A starts as ResNet-18, slot B as DenseNet-121 (1000 ImageNet classes: no dataset yet).
    harness.get_by_label("11,689,512 parameters");
    harness.get_by_label("7,978,856 parameters");
    harness
        .get_all_by_label("ResNet-50")
        .next()
        .unwrap()
        .click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().settings.slots[0].preset.as_deref(),
        Some("resnet50")
    );
    harness.get_by_label("25,557,032 parameters");
    // Turning skip connections off makes a custom (plain) network with the same parameters.
    harness
        .get_all_by_label("Skip connections")
        .next()
        .unwrap()
        .click();
    harness.run_steps(2);
    let slot = &harness.state().settings.slots[0];
    assert_eq!(slot.preset, None);
    let Architecture::ResNet(config) = &slot.custom else {
        panic!("{:?}", slot.custom)
    };
    assert!(!config.skip_connections);
    // The plain twin loses the projection shortcuts' weights: exactly the plain50 preset.
    let plain = skiplane::model::inspect(&Architecture::preset("plain50", 1000).unwrap(), 224)
        .unwrap()
        .parameters();
    harness.get_by_label(&format!("{} parameters", group_digits(plain)));
}

#[test]
fn training_plots_live_points_then_evaluate_and_compare_show_the_runs() {
    let runs = tempfile::tempdir().unwrap();
    let mut harness = harness(runs.path());
    {
        let settings = &mut harness.state_mut().settings;
        let tiny = |text: &str| ArchitectureSlot {
            preset: None,
            custom: Architecture::from_ron(text).unwrap(),
            pretrained: false,
            weights_file: None,
        };
        settings.slots = [
            tiny("ResNet((stem: Cifar, stem_width: 8, blocks: [1, 1], widths: [8, 16]))"),
            tiny("DenseNet((stem: Cifar, growth_rate: 4, block_config: [2, 2], init_features: 8))"),
        ];
        settings.training.image_size = 32;
        settings.training.epochs = 2;
        settings.training.batch_size = 32;
        settings.training.mode = skiplane::train::TrainingMode::FineTune;
    }
    open_sample(&mut harness);
    harness.get_by_label("Train").click();
    harness.run_steps(2);
    harness.get_by_label("Compare A and B").click();
    step_until(&mut harness, "the first batch", |app| {
        app.trainer
            .runs
            .first()
            .is_some_and(|r| !r.batch_losses.is_empty())
    });
    assert_eq!(harness.state().settings.tab, Tab::Train);
    step_until(&mut harness, "both runs", |app| !app.trainer.is_busy());
    let trainer = &harness.state().trainer;
    assert_eq!(trainer.runs.len(), 2);
    for run in &trainer.runs {
        assert_eq!(run.epochs.len(), 2, "{}: {:?}", run.name, run.status);
        assert!(run.run_dir.as_ref().unwrap().starts_with(runs.path()));
        assert!(run.report.is_some());
    }

    if let Ok(dir) = std::env::var("SKIPLANE_SCREENSHOTS") {
        harness.run_steps(2);
        harness
            .render()
            .unwrap()
            .save(format!("{dir}/train.png"))
            .unwrap();
    }
    harness.get_by_label("Evaluate").click();
    harness.run_steps(2);
    harness.get_by_label_contains("Confusion matrix");
    harness.get_by_label_contains("Highest losses");
    // Clicking a cell lists its photos.
    let report = harness.state().trainer.runs[1].report.clone().unwrap();
    assert!(
        report
            .validation_predictions
            .iter()
            .all(|p| p.loss.is_finite() && p.loss > 0.0),
        "every validation photo has its loss"
    );
    let count = report.confusion[0][0];
    harness
        .get_all_by_role_and_label(egui::accesskit::Role::Button, &count.to_string())
        .next()
        .unwrap()
        .click();
    harness.run_steps(2);
    let (t, p) = harness.state().evaluate.cell.expect("a cell is selected");
    assert_eq!(report.confusion[t][p], count);
    harness.get_by_label_contains(&format!(
        "{count} photos of {} predicted as {}",
        report.classes[t], report.classes[p]
    ));

    if let Ok(dir) = std::env::var("SKIPLANE_SCREENSHOTS") {
        harness
            .render()
            .unwrap()
            .save(format!("{dir}/evaluate.png"))
            .unwrap();
    }
    harness.get_by_label("Compare").click();
    harness.run_steps(2);
    harness.get_by_label("seconds per epoch");
    if let Ok(dir) = std::env::var("SKIPLANE_SCREENSHOTS") {
        harness
            .render()
            .unwrap()
            .save(format!("{dir}/compare.png"))
            .unwrap();
    }
    assert_eq!(harness.get_all_by_label_contains("right,").count(), 2);

    // Predict: photos (as dropping them does) get their top classes with probabilities; a broken
    // photo gets its reason.
    let truncated = runs.path().join("truncated.jpg");
    let jpeg = std::fs::read(crate::common::fixture("images/baseline.jpg")).unwrap();
    std::fs::write(&truncated, &jpeg[..jpeg.len() / 2]).unwrap();
    harness.get_by_label("Predict").click();
    harness.run_steps(2);
    let photos: Vec<PathBuf> = ["fishes", "tools"]
        .iter()
        .map(|class| {
            let mut files: Vec<_> = std::fs::read_dir(sample_dataset().join(class))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            files[0].clone()
        })
        .chain([truncated.clone()])
        .collect();
    harness.state_mut().classify(1, photos);
    step_until(&mut harness, "the predictions", |app| !app.predict.busy());
    harness.run_steps(2);
    let results = &harness.state().predict.results;
    assert_eq!(results.len(), 3);
    let ranked = &results[0].as_ref().unwrap().ranked;
    assert_eq!(ranked.len(), 4);
    let total: f32 = ranked.iter().map(|r| r.1).sum();
    assert!((total - 1.0).abs() < 1e-4, "{total}");
    assert!(results[2].is_err(), "the truncated photo gets its reason");
    assert_eq!(harness.get_all_by_label_contains("%").count(), 8);
    if let Ok(dir) = std::env::var("SKIPLANE_SCREENSHOTS") {
        harness
            .render()
            .unwrap()
            .save(format!("{dir}/predict.png"))
            .unwrap();
    }

    // Export: the file lands where asked; an existing one is replaced only after confirming.
    harness.get_by_label("Export").click();
    harness.run_steps(2);
    let destination = runs.path().join("model.safetensors");
    harness.state_mut().export.destination = destination.display().to_string();
    harness
        .get_by_label("safetensors, torchvision keys")
        .click();
    harness.run_steps(1);
    harness.get_by_label("Export model").click();
    harness.run_steps(1);
    step_until(&mut harness, "the export", |app| !app.export.busy());
    harness.run_steps(2);
    assert!(destination.is_file());
    assert!(
        destination.with_extension("json").is_file(),
        "custom nets get a sidecar"
    );
    harness.get_by_label_contains("wrote");
    harness.get_by_label("Export model").click();
    harness.run_steps(2);
    harness.get_by_label("Replace it").click();
    harness.run_steps(1);
    step_until(&mut harness, "the second export", |app| !app.export.busy());

    // ONNX: choosing the format renames the destination, and the labels land beside it.
    harness.get_by_label("ONNX (+ labels.txt)").click();
    harness.run_steps(1);
    let onnx = runs.path().join("model.onnx");
    assert_eq!(
        harness.state().export.destination,
        onnx.display().to_string()
    );
    harness.get_by_label("Export model").click();
    harness.run_steps(1);
    step_until(&mut harness, "the ONNX export", |app| !app.export.busy());
    assert!(onnx.is_file());
    assert!(runs.path().join("model.labels.txt").is_file());

    // The bundle format, then the bundle classifies in Predict as the run did.
    let bundle = runs.path().join("model.skiplane");
    harness.state_mut().export.destination = bundle.display().to_string();
    harness.get_by_label("Skiplane bundle (.skiplane)").click();
    harness.run_steps(1);
    harness.get_by_label("Export model").click();
    harness.run_steps(1);
    step_until(&mut harness, "the bundle", |app| !app.export.busy());
    assert!(bundle.is_file());
    let from_run = harness.state().predict.results.clone();
    let photos: Vec<PathBuf> = from_run
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|c| c.path.clone())
        .collect();
    harness.state_mut().classify_with(bundle, photos);
    step_until(&mut harness, "the bundle's predictions", |app| {
        !app.predict.busy()
    });
    let from_bundle = &harness.state().predict.results;
    let logits =
        |results: &[Result<skiplane::train::predict::Classified, String>]| -> Vec<Vec<f32>> {
            results
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|c| c.logits.clone())
                .collect()
        };
    assert_eq!(logits(from_bundle), logits(&from_run));
}

#[test]
fn stop_now_ends_a_run_and_keeps_its_folder() {
    let runs = tempfile::tempdir().unwrap();
    let mut harness = harness(runs.path());
    {
        let settings = &mut harness.state_mut().settings;
        settings.slots[0] = ArchitectureSlot {
            preset: None,
            custom: Architecture::from_ron(
                "ResNet((stem: Cifar, stem_width: 8, blocks: [1, 1], widths: [8, 16]))",
            )
            .unwrap(),
            pretrained: false,
            weights_file: None,
        };
        settings.training.image_size = 32;
        settings.training.epochs = 50;
        settings.training.batch_size = 8;
        settings.training.mode = skiplane::train::TrainingMode::FineTune;
    }
    open_sample(&mut harness);
    harness.get_by_label("Train").click();
    harness.run_steps(2);
    harness.get_by_label_contains("Train A").click();
    step_until(&mut harness, "the first batch", |app| {
        app.trainer
            .runs
            .first()
            .is_some_and(|r| !r.batch_losses.is_empty())
    });
    harness.get_by_label("Stop now").click();
    step_until(&mut harness, "the stop", |app| !app.trainer.is_busy());
    let run = &harness.state().trainer.runs[0];
    let report = run.report.as_ref().expect("a stopped run still reports");
    assert_eq!(report.ended, "stopped by the user");
    assert!(run.epochs.len() < 50);
    assert!(
        run.run_dir
            .as_ref()
            .unwrap()
            .join("experiment.ron")
            .is_file()
    );
}

#[test]
fn labelling_three_photos_and_undoing_one() {
    let runs = tempfile::tempdir().unwrap();
    let loose = tempfile::tempdir().unwrap();
    for (i, entry) in std::fs::read_dir(sample_dataset().join("fishes"))
        .unwrap()
        .take(5)
        .enumerate()
    {
        std::fs::copy(
            entry.unwrap().path(),
            loose.path().join(format!("photo{i}.jpg")),
        )
        .unwrap();
    }
    let mut harness = harness(runs.path());
    harness.get_by_label("Label").click();
    harness.run_steps(2);
    harness.state_mut().path_field = loose.path().display().to_string();
    harness.get_by_label("Open for labelling").click();
    harness.run_steps(2);
    harness.get_by_label("0 of 5 labelled");
    for class in ["fish", "other"] {
        harness.state_mut().label.new_class = class.into();
        harness.get_by_label("Add class").click();
        harness.run_steps(2);
    }
    harness.get_by_label("1 fish").click();
    harness.run_steps(2);
    harness.get_by_label("2 other").click();
    harness.run_steps(2);
    harness.get_by_label("1 fish").click();
    harness.run_steps(2);
    harness.get_by_label("3 of 5 labelled");
    harness.get_by_label("Undo").click();
    harness.run_steps(2);
    harness.get_by_label("2 of 5 labelled");
    // Labels are saved as they are made: a new session sees the same two.
    let session = skiplane::data::labelling::LabelSession::open(loose.path()).unwrap();
    assert_eq!(session.progress(), (2, 5));
}

/// Reference pictures of the main panels (`UPDATE_SNAPSHOTS=1` rewrites them), so a visual
/// change shows up in review. The status bar (live memory figure) is masked.
#[test]
fn snapshots_of_the_data_and_architecture_panels() {
    let runs = tempfile::tempdir().unwrap();
    let mut harness = harness(runs.path());
    open_sample(&mut harness);
    harness.run_steps(3);
    let status_bar = egui::Rect::from_min_max(egui::pos2(0.0, 820.0), egui::pos2(1280.0, 860.0));
    harness.mask(status_bar);
    harness.snapshot("data_panel");
    harness.get_by_label("Architecture").click();
    harness.run_steps(3);
    harness.mask(status_bar);
    harness.snapshot("architecture_panel");
}

#[test]
fn a_weights_file_is_checked_against_the_slot_before_it_is_used() {
    let runs = tempfile::tempdir().unwrap();
    let mut harness = harness(runs.path());
    let tiny = Architecture::from_ron(
        "ResNet((stem_width: 8, blocks: [1, 1, 1, 1], widths: [8, 16, 32, 64]))",
    )
    .unwrap();
    harness.state_mut().settings.slots[0] = ArchitectureSlot {
        preset: None,
        custom: tiny.clone(),
        pretrained: false,
        weights_file: None,
    };
    harness.get_by_label("Architecture").click();
    harness.run_steps(2);
    let ctx = harness.ctx.clone();
    // A DenseNet's file for a ResNet: refused, with what differs and what the file holds.
    let wrong = crate::common::fixture("tiny_densenet.pth");
    harness
        .state_mut()
        .weights
        .check_file(&ctx, 0, wrong, tiny.clone());
    step_until(&mut harness, "the check", |app| !app.weights.busy());
    let log = &harness.state().log.entries;
    let refusal = log
        .iter()
        .find(|e| e.text.contains("does not fit"))
        .expect("a refusal");
    assert!(
        refusal.text.contains("tiny_densenet.pth"),
        "{}",
        refusal.text
    );
    assert!(
        refusal.text.contains("It looks like DenseNet"),
        "{}",
        refusal.text
    );
    assert_eq!(harness.state().settings.slots[0].weights_file, None);

    let right = crate::common::fixture("tiny_resnet_basic.pth");
    harness
        .state_mut()
        .weights
        .check_file(&ctx, 0, right.clone(), tiny);
    step_until(&mut harness, "the check", |app| !app.weights.busy());
    let slot = &harness.state().settings.slots[0];
    assert_eq!(slot.weights_file.as_ref(), Some(&right));
    assert!(slot.pretrained);
    assert_eq!(slot.weights().as_deref(), right.to_str());
}

#[test]
fn the_first_run_screen_explains_weights_and_leads_to_the_photos() {
    let runs = tempfile::tempdir().unwrap();
    let mut harness = harness_with(Settings::default(), runs.path());
    harness.run_steps(2);
    harness.get_by_label("Welcome to Skiplane");
    harness.get_by_label_contains("download.pytorch.org");
    harness.get_by_label("resnet18-f37072fd.pth not downloaded yet");
    harness.get_by_label("Download now");
    harness.get_by_label("Import a weights file…");

    // Going on without weights: both slots train from scratch, and the panels come back.
    harness
        .get_by_label("Continue without (train from scratch)")
        .click();
    harness.run_steps(2);
    assert!(harness.state().settings.welcomed);
    assert!(harness.state().settings.slots.iter().all(|s| !s.pretrained));
    assert!(harness.query_by_label("Welcome to Skiplane").is_none());

    // About brings the page back; the sample dataset opens from it, in the Data panel.
    harness.get_by_label("About").click();
    harness.run_steps(2);
    harness.get_by_label("Show the welcome screen").click();
    harness.run_steps(2);
    harness.get_by_label("Open the sample dataset").click();
    step_until(&mut harness, "the sample scan", |app| {
        app.dataset.as_ref().is_some_and(|d| d.scanned.is_some())
    });
    assert_eq!(harness.state().settings.tab, Tab::Data);
    assert!(harness.state().settings.welcomed);
}

#[test]
fn about_lists_the_folders_and_the_status_bar_says_the_gpu_is_not_used() {
    let runs = tempfile::tempdir().unwrap();
    let mut harness = harness(runs.path());
    harness.get_by_label("About").click();
    harness.run_steps(2);
    for what in ["Settings", "Weights cache", "Runs", "Logs"] {
        harness.get_by_label(what);
    }
    let cache = skiplane::weights::fetch::weights_cache_dir().unwrap();
    harness.get_by_label(&cache.display().to_string());
    harness.get_by_label_contains(&format!("Skiplane {}", env!("CARGO_PKG_VERSION")));
    // On the CPU backend the status bar says the GPU is not used, and why.
    harness.get_by_label_contains("GPU not used: test");
}

#[test]
fn a_bug_in_a_frame_shows_a_dialog_and_the_app_goes_on() {
    let runs = tempfile::tempdir().unwrap();
    let mut harness = harness(runs.path());
    harness.run_steps(1);
    harness.state_mut().panic_in_next_frame();
    harness.run_steps(2);
    harness.get_by_label("Something went wrong");
    harness.get_by_label_contains("a test panic, asked for with SKIPLANE_TEST_PANIC");
    harness.get_by_label("Continue").click();
    harness.run_steps(2);
    assert!(harness.state().crash.is_none());
    assert!(harness.query_by_label("Something went wrong").is_none());
    // The app still works: its panels open.
    harness.get_by_label("Architecture").click();
    harness.run_steps(2);
    assert_eq!(harness.state().settings.tab, Tab::Architecture);
}

#[test]
fn the_lab_runs_each_experiment_and_shows_its_reading() {
    let runs = tempfile::tempdir().unwrap();
    let mut harness = harness(runs.path());
    harness.get_by_label("Lab").click();
    harness.run_steps(2);
    {
        // Tiny settings: the test checks the panel runs and shows results, not the science.
        let lab = &mut harness.state_mut().lab;
        lab.degradation.image_size = 8;
        lab.gradient_image_size = 8;
        lab.degradation.depths = [20, 32];
        lab.degradation.epochs = 1;
        lab.degradation.batch_size = 64;
        lab.gradient_depth = 20;
        lab.gradients.steps = 1;
        lab.gradients.batch_size = 8;
        lab.bottleneck.width = 4;
        lab.bottleneck.spatial = 8;
        lab.bottleneck.batch_size = 2;
        lab.bottleneck.repeats = 1;
        lab.growth.image_size = 32;
        lab.growth.steps = 0;
    }
    let run = |harness: &mut Harness<'static, SkiplaneApp>, tab: &str| {
        harness.get_by_label(tab).click();
        harness.run_steps(2);
        harness.get_by_label("Run the experiment").click();
        harness.run_steps(1);
        step_until(harness, tab, |app| !app.lab.busy());
        harness.run_steps(2);
        assert!(
            harness.state().lab.error.is_none(),
            "{:?}",
            harness.state().lab.error
        );
    };
    run(&mut harness, "Degradation");
    let result = harness.state().lab.degradation_result.clone().unwrap();
    assert_eq!(result.curves.len(), 4);
    harness.get_by_label_contains("Reading:");
    run(&mut harness, "Gradient flow");
    harness.get_by_label("log10 of the gradient norm |dL/dW| per convolution");
    harness.get_by_label_contains("Reading:");
    run(&mut harness, "Bottleneck savings");
    harness.get_by_label("bottleneck: 1x1, 3x3, 1x1");
    harness.get_by_label_contains("Reading:");
    run(&mut harness, "DenseNet growth");
    harness.get_by_label("channels entering each dense layer of densenet121 (k = 32, k0 = 64)");
    harness.get_by_label("7,978,856");
}

/// The README's Lab pictures: the results of a real run of each experiment with its default
/// settings (`skiplane lab … --json`, and `skiplane bench lab --json` for degradation, saved in
/// `assets/lab/`), shown by the Lab panel. The test
/// checks the saved runs still load and the panel shows what they measured; with
/// `SKIPLANE_SCREENSHOTS=assets/lab` it redraws the pictures.
#[test]
fn the_lab_shows_the_saved_results_of_a_real_run() {
    let saved = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/lab");
    let load = |name: &str| -> serde_json::Value {
        let path = saved.join(format!("{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    // `skiplane bench lab --json`: the timed run, its result inside.
    let degradation: skiplane::lab::degradation::Degradation =
        serde_json::from_value(load("degradation")["result"].clone()).unwrap();
    let gradients: skiplane::lab::gradient_flow::GradientComparison =
        serde_json::from_value(load("gradients")).unwrap();
    let bottleneck: skiplane::lab::bottleneck::BottleneckComparison =
        serde_json::from_value(load("bottleneck")).unwrap();
    let growth: skiplane::lab::growth::Growth = serde_json::from_value(load("growth")).unwrap();

    let runs = tempfile::tempdir().unwrap();
    let mut harness = harness(runs.path());
    {
        let lab = &mut harness.state_mut().lab;
        lab.degradation = degradation.settings.clone();
        lab.degradation_result = Some(degradation.clone());
        lab.gradient_depth = gradients.depth;
        lab.gradient_image_size = gradients.image_size;
        lab.gradients = gradients.settings.clone();
        lab.gradient_result = Some(gradients.clone());
        lab.bottleneck = bottleneck.settings.clone();
        lab.bottleneck_result = Some(bottleneck.clone());
        lab.growth = growth.settings.clone();
        lab.growth_result = Some(growth.clone());
    }
    harness.get_by_label("Lab").click();
    harness.run_steps(2);
    let mut show = |tab: &str, picture: &str, expected: &[String]| {
        harness.get_by_label(tab).click();
        harness.run_steps(3);
        for text in expected {
            assert!(
                harness.get_all_by_label_contains(text).next().is_some(),
                "{tab}: {text:?} is shown"
            );
        }
        if let Ok(dir) = std::env::var("SKIPLANE_SCREENSHOTS") {
            let image = harness.render().unwrap();
            image.save(format!("{dir}/{picture}.png")).unwrap();
        }
    };
    show("Degradation", "degradation", &[degradation.reading()]);
    show("Gradient flow", "gradients", &[gradients.reading()]);
    show(
        "Bottleneck savings",
        "bottleneck",
        &[
            group_digits(bottleneck.basic.parameters),
            group_digits(bottleneck.bottleneck.parameters),
        ],
    );
    let densenet_memory = growth.densenet.training_memory_bytes.unwrap();
    show(
        "DenseNet growth",
        "growth",
        &[
            growth.densenet_recomputing.as_ref().unwrap().name.clone(),
            skiplane::units::human_bytes(densenet_memory),
            growth.reading(),
        ],
    );
}
