//! The training engine on small, real data: frozen-backbone and fine-tuning runs, reproducibility,
//! the run folder, and commands.

use crate::common::fixture;
use assert_cmd::Command;
use predicates::prelude::*;
use skiplane::backend::cpu_device;
use skiplane::train::run_folder::RunFolder;
use skiplane::train::{EpochMetrics, Experiment, TrainCommand, TrainEvent, start_training};
use std::path::{Path, PathBuf};

fn sample_dataset() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4")
}

/// An experiment file in `dir`: the tiny fixture ResNet (pretrained on nothing in particular, but
/// loaded exactly as torchvision weights are) on the sample photos at 64x64.
fn write_experiment(dir: &Path, overrides: &[(&str, &str)]) -> PathBuf {
    std::fs::write(
        dir.join("tiny.ron"),
        "ResNet((stem_width: 8, blocks: [1, 1, 1, 1], widths: [8, 16, 32, 64]))",
    )
    .unwrap();
    let dataset = format!("{:?}", sample_dataset());
    let weights = format!("Some({:?})", fixture("tiny_resnet_basic.pth"));
    let mut fields: Vec<(&str, &str)> = vec![
        ("dataset", &dataset),
        ("architecture", "\"tiny.ron\""),
        ("weights", &weights),
        ("resize", "72"),
        ("image_size", "64"),
        ("epochs", "3"),
        ("batch_size", "16"),
        ("learning_rate", "0.05"),
    ];
    for (key, value) in overrides {
        fields.retain(|(k, _)| k != key);
        fields.push((key, value));
    }
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let path = dir.join("experiment.ron");
    std::fs::write(&path, format!("({})", body.join(", "))).unwrap();
    path
}

fn train(path: &Path) -> (Vec<TrainEvent>, PathBuf) {
    let experiment = Experiment::load(path).unwrap();
    let run = RunFolder::create(path).unwrap();
    let folder = run.path.clone();
    let handle = start_training(experiment, run, cpu_device("test")).unwrap();
    let events: Vec<TrainEvent> = handle.events.iter().collect();
    (events, folder)
}

fn epochs(events: &[TrainEvent]) -> Vec<EpochMetrics> {
    events
        .iter()
        .filter_map(|e| {
            if let TrainEvent::EpochDone(m) = e {
                Some(m.clone())
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn a_frozen_backbone_run_writes_a_complete_run_folder_and_reproduces() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_experiment(dir.path(), &[]);
    let (events, folder) = train(&path);
    assert!(
        matches!(
            events.first(),
            Some(TrainEvent::Started {
                train_images: 98,
                validation_images: 25,
                ..
            })
        ),
        "{:?}",
        events.first()
    );
    let Some(TrainEvent::Finished(report)) = events.last() else {
        panic!("did not finish: {:?}", events.last())
    };
    assert_eq!(report.epochs_run, 3);
    assert_eq!(report.confusion.iter().flatten().sum::<usize>(), 25);
    assert!(
        report.trainable_parameters < report.parameters,
        "only the head is trained"
    );
    for file in [
        "experiment.ron",
        "split.ron",
        "metrics.ron",
        "report.ron",
        "status.txt",
        "best.bpk",
        "last.bpk",
    ] {
        assert!(folder.join(file).is_file(), "{file}");
    }
    assert_eq!(
        std::fs::read_to_string(folder.join("status.txt"))
            .unwrap()
            .trim(),
        "finished"
    );
    let provenance = std::fs::read_to_string(folder.join("provenance.ron")).unwrap();
    let sha = skiplane::files::sha256_file(&fixture("tiny_resnet_basic.pth")).unwrap();
    assert!(provenance.contains(&sha), "{provenance}");

    // The checkpoint loads back into the same architecture.
    let arch = skiplane::model::Architecture::from_ron(
        "ResNet((stem_width: 8, blocks: [1, 1, 1, 1], widths: [8, 16, 32, 64], num_classes: 4))",
    )
    .unwrap();
    let device = cpu_device("test").device;
    let restored = burn::module::Module::try_load_file(
        skiplane::model::Network::new(&arch, &device).unwrap(),
        folder.join("last.bpk"),
    );
    assert!(restored.is_ok(), "{:?}", restored.err());

    let first = epochs(&events);
    assert!(
        first.last().unwrap().train_loss < first[0].train_loss,
        "the head learns: {first:?}"
    );

    // Same experiment, same seed, CPU: the same numbers.
    let (again, _) = train(&path);
    let second = epochs(&again);
    let figures = |m: &EpochMetrics| {
        (
            m.train_loss,
            m.train_accuracy,
            m.validation_loss,
            m.validation_accuracy,
            m.learning_rate,
        )
    };
    assert_eq!(
        first.iter().map(figures).collect::<Vec<_>>(),
        second.iter().map(figures).collect::<Vec<_>>()
    );
}

#[test]
fn cached_features_train_the_head_exactly_as_recomputing_them() {
    let dir = tempfile::tempdir().unwrap();
    let cached = write_experiment(dir.path(), &[("epochs", "2")]);
    let (with_cache, _) = train(&cached);
    let uncached = write_experiment(dir.path(), &[("epochs", "2"), ("cache_features", "false")]);
    let (without_cache, _) = train(&uncached);
    let Some(TrainEvent::Started { notes, .. }) = without_cache.first() else {
        panic!("{:?}", without_cache.first())
    };
    assert!(
        notes
            .iter()
            .any(|n| n.contains("without the feature cache")),
        "{notes:?}"
    );
    let figures = |events: &[TrainEvent]| {
        epochs(events)
            .iter()
            .map(|m| (m.train_loss, m.validation_loss, m.validation_accuracy))
            .collect::<Vec<_>>()
    };
    assert_eq!(figures(&with_cache), figures(&without_cache));
}

#[test]
fn fine_tuning_trains_every_layer_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_experiment(
        dir.path(),
        &[
            ("mode", "FineTune"),
            ("epochs", "1"),
            ("resize", "40"),
            ("image_size", "32"),
            ("optimizer", "AdamW"),
            ("learning_rate", "0.001"),
        ],
    );
    let (events, folder) = train(&path);
    let Some(TrainEvent::Finished(report)) = events.last() else {
        panic!("did not finish: {:?}", events.last())
    };
    assert_eq!(report.trainable_parameters, report.parameters);
    assert!(folder.join("last.bpk").is_file());
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TrainEvent::CheckpointSaved(_)))
    );
}

#[test]
fn stop_now_ends_the_run_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_experiment(dir.path(), &[("epochs", "50")]);
    let experiment = Experiment::load(&path).unwrap();
    let run = RunFolder::create(&path).unwrap();
    let folder = run.path.clone();
    let handle = start_training(experiment, run, cpu_device("test")).unwrap();
    let mut last = None;
    for event in handle.events.iter() {
        if let TrainEvent::EpochDone(m) = &event
            && m.epoch == 2
        {
            handle.send(TrainCommand::StopNow);
        }
        last = Some(event);
    }
    let Some(TrainEvent::Finished(report)) = last else {
        panic!("{last:?}")
    };
    assert_eq!(report.ended, "stopped by the user");
    assert!(report.epochs_run < 50);
    assert_eq!(
        std::fs::read_to_string(folder.join("status.txt"))
            .unwrap()
            .trim(),
        "stopped by the user"
    );
}

#[test]
fn skiplane_train_prints_epochs_and_bad_experiments_get_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_experiment(dir.path(), &[("epochs", "2")]);
    Command::cargo_bin("skiplane")
        .unwrap()
        .arg("train")
        .arg(&path)
        .env("SKIPLANE_BACKEND", "cpu")
        .assert()
        .success()
        .stdout(
            predicates::str::contains("epoch   2:")
                .and(predicates::str::contains("features are computed once")),
        );

    let bad = dir.path().join("bad.ron");
    std::fs::write(&bad, "(dataset: \"nowhere\", architecture: \"resnet18\")").unwrap();
    Command::cargo_bin("skiplane")
        .unwrap()
        .arg("train")
        .arg(&bad)
        .env("SKIPLANE_BACKEND", "cpu")
        .assert()
        .failure()
        .stderr(predicates::str::contains("nowhere"));
    std::fs::write(&bad, "(dataset: \"x\", epochs: 0)").unwrap();
    Command::cargo_bin("skiplane")
        .unwrap()
        .arg("train")
        .arg(&bad)
        .assert()
        .failure()
        .stderr(predicates::str::contains("epochs"));
}

#[test]
fn early_stopping_ends_a_run_that_stopped_improving_and_memory_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_experiment(
        dir.path(),
        &[
            ("epochs", "40"),
            ("early_stopping_patience", "Some(2)"),
            ("schedule", "Constant"),
            ("learning_rate", "0.000001"),
        ],
    );
    let (events, _) = train(&path);
    let Some(TrainEvent::Finished(report)) = events.last() else {
        panic!("{:?}", events.last())
    };
    assert!(
        report.ended.starts_with("stopped early"),
        "{}",
        report.ended
    );
    assert!(report.epochs_run < 40);
    if cfg!(target_os = "linux") {
        let (baseline, peak) = (
            report.baseline_memory_bytes.unwrap(),
            report.peak_memory_bytes.unwrap(),
        );
        assert!(peak >= baseline && baseline > 0);
    }
    assert!(report.estimated_memory_bytes > 0);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TrainEvent::BatchDone { eta_seconds, .. } if *eta_seconds >= 0.0))
    );
}

#[test]
fn unfreezing_the_last_stage_and_augmenting_a_frozen_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_experiment(
        dir.path(),
        &[
            ("mode", "UnfreezeLast(1)"),
            ("epochs", "1"),
            ("resize", "40"),
            ("image_size", "32"),
        ],
    );
    let (events, _) = train(&path);
    let Some(TrainEvent::Finished(report)) = events.last() else {
        panic!("{:?}", events.last())
    };
    // The tiny net's last stage (64 wide) plus its 4-class head.
    let plan = skiplane::model::inspect(
        &skiplane::model::Architecture::from_ron("ResNet((stem_width: 8, blocks: [1, 1, 1, 1], widths: [8, 16, 32, 64], num_classes: 4))").unwrap(),
        32,
    )
    .unwrap();
    let expected: u64 = plan
        .stages
        .iter()
        .filter(|s| s.name == "layer4" || s.name == "fc")
        .map(|s| s.parameters)
        .sum();
    assert_eq!(report.trainable_parameters as u64, expected);

    let dir = tempfile::tempdir().unwrap();
    let path = write_experiment(
        dir.path(),
        &[
            ("epochs", "2"),
            ("augmentation", "Some((rotation_degrees: 5.0))"),
        ],
    );
    let (events, _) = train(&path);
    assert!(
        matches!(events.last(), Some(TrainEvent::Finished(_))),
        "{:?}",
        events.last()
    );
    let Some(TrainEvent::Started { notes, .. }) = events.first() else {
        panic!()
    };
    assert!(
        notes.iter().any(|n| n.contains("recomputed every epoch")),
        "{notes:?}"
    );
}

#[test]
fn a_zero_backbone_rate_leaves_the_backbone_weights_untouched() {
    use burn::module::Module;
    use skiplane::model::{Architecture, Network};
    let dir = tempfile::tempdir().unwrap();
    let path = write_experiment(
        dir.path(),
        &[
            ("mode", "FineTune"),
            ("epochs", "1"),
            ("resize", "40"),
            ("image_size", "32"),
            ("backbone_learning_rate_factor", "0.0"),
        ],
    );
    let (events, folder) = train(&path);
    assert!(
        matches!(events.last(), Some(TrainEvent::Finished(_))),
        "{:?}",
        events.last()
    );
    let arch = Architecture::from_ron(
        "ResNet((stem_width: 8, blocks: [1, 1, 1, 1], widths: [8, 16, 32, 64], num_classes: 4))",
    )
    .unwrap();
    let device = cpu_device("test").device;
    let trained = Network::new(&arch, &device)
        .unwrap()
        .try_load_file(folder.join("last.bpk"))
        .unwrap();
    let mut original = Network::new(&arch, &device).unwrap();
    skiplane::weights::load_torchvision(&mut original, &arch, &fixture("tiny_resnet_basic.pth"))
        .unwrap();
    let (Network::ResNet(trained), Network::ResNet(original)) = (trained, original) else {
        unreachable!()
    };
    let values =
        |t: burn::prelude::Tensor<4>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    assert_eq!(
        values(trained.conv1.weight.val()),
        values(original.conv1.weight.val()),
        "the stem did not move"
    );
    let head = |n: &skiplane::model::resnet::ResNet| {
        n.fc.weight
            .val()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap()
    };
    let seeded = Network::new(&arch, &device)
        .unwrap()
        .with_seeded_head(4, 42, &device);
    let Network::ResNet(seeded) = seeded else {
        unreachable!()
    };
    assert_ne!(head(&trained), head(&seeded), "the head did move");
}

#[test]
fn compare_trains_a_resnet_and_a_densenet_on_the_same_split() {
    let dir = tempfile::tempdir().unwrap();
    let resnet = write_experiment(dir.path(), &[("epochs", "2")]);
    let resnet = {
        let renamed = dir.path().join("resnet.ron");
        std::fs::rename(&resnet, &renamed).unwrap();
        renamed
    };
    std::fs::write(
        dir.path().join("dense.ron"),
        "DenseNet((growth_rate: 8, block_config: [2, 3, 4, 2], init_features: 16, bn_size: 4))",
    )
    .unwrap();
    let densenet = dir.path().join("densenet.ron");
    std::fs::write(
        &densenet,
        format!(
            "(dataset: {:?}, architecture: \"dense.ron\", weights: Some({:?}), resize: 72, image_size: 64, epochs: 2, batch_size: 16, seed: 7)",
            sample_dataset(),
            fixture("tiny_densenet.pth")
        ),
    )
    .unwrap();
    Command::cargo_bin("skiplane")
        .unwrap()
        .args(["compare"])
        .arg(&resnet)
        .arg(&densenet)
        .env("SKIPLANE_BACKEND", "cpu")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("using")
                .and(predicate::str::contains("resnet"))
                .and(predicate::str::contains("densenet"))
                .and(predicate::str::contains("they disagree on")),
        );
    assert!(dir.path().join("runs/compare-1/comparison.ron").is_file());
    // Both runs used the first experiment's split.
    let split = |name: &str| {
        std::fs::read_to_string(dir.path().join(format!("runs/compare-1/{name}/split.ron")))
            .unwrap()
    };
    assert_eq!(split("resnet"), split("densenet"));

    let elsewhere = dir.path().join("elsewhere.ron");
    std::fs::write(
        &elsewhere,
        "(dataset: \"other\", architecture: \"resnet18\")",
    )
    .unwrap();
    Command::cargo_bin("skiplane")
        .unwrap()
        .args(["compare"])
        .arg(&resnet)
        .arg(&elsewhere)
        .assert()
        .failure()
        .stderr(predicate::str::contains("one dataset"));
}

#[test]
fn a_stopped_run_resumes_exactly_where_it_stopped() {
    for mode in ["FrozenBackbone", "FineTune"] {
        let dir = tempfile::tempdir().unwrap();
        let path = write_experiment(dir.path(), &[("epochs", "4"), ("mode", mode)]);
        let (events, _) = train(&path);
        let uninterrupted = epochs(&events);

        let experiment = Experiment::load(&path).unwrap();
        let run = RunFolder::create(&path).unwrap();
        let folder = run.path.clone();
        let handle = start_training(experiment, run, cpu_device("test")).unwrap();
        // Sent at once: the worker reads it at its first batch boundary and stops after that
        // epoch. (Sending it on an event raced with the worker: cached-feature epochs take
        // microseconds, and a loaded machine could finish all four before the send.)
        handle.send(TrainCommand::StopAfterEpoch);
        for _event in handle.events.iter() {}
        let metrics = |folder: &Path| -> Vec<EpochMetrics> {
            ron::from_str(&std::fs::read_to_string(folder.join("metrics.ron")).unwrap()).unwrap()
        };
        let done = metrics(&folder).len();
        assert!((1..4).contains(&done), "{done} epochs before the stop");

        Command::cargo_bin("skiplane")
            .unwrap()
            .args(["train", "--resume"])
            .arg(&folder)
            .env("SKIPLANE_BACKEND", "cpu")
            .assert()
            .success()
            .stdout(
                predicate::str::contains(format!(
                    "resumed after epoch {done} from last.bpk and the optimizer state"
                ))
                .and(predicate::str::contains("epoch   4:")),
            );
        let resumed = metrics(&folder);
        assert_eq!(
            resumed.iter().map(|m| m.epoch).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        // Same weights, same optimizer state, same batches: the same numbers as never stopping.
        for (a, b) in resumed.iter().zip(&uninterrupted) {
            assert_eq!(
                (a.train_loss, a.validation_loss, a.validation_accuracy),
                (b.train_loss, b.validation_loss, b.validation_accuracy),
                "{mode}, epoch {}",
                a.epoch
            );
        }
        assert_eq!(
            std::fs::read_to_string(folder.join("status.txt"))
                .unwrap()
                .trim(),
            "finished"
        );

        Command::cargo_bin("skiplane")
            .unwrap()
            .args(["train", "--resume"])
            .arg(&folder)
            .assert()
            .failure()
            .stderr(predicate::str::contains("done already"));
    }
}
