//! `skiplane train` from flags, `skiplane evaluate`, and a comparison from one file, as a user
//! runs them from a terminal.

use crate::common::fixture;
use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn sample_dataset() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4")
}

fn skiplane() -> Command {
    let mut command = Command::cargo_bin("skiplane").unwrap();
    command.env("SKIPLANE_BACKEND", "cpu");
    command
}

fn last_json_line(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}\n{text}"))
}

#[test]
fn train_from_flags_offline_falls_back_to_scratch_and_evaluate_reads_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("my run");
    // Nothing cached and nowhere to download from: the run goes ahead from scratch, and says so.
    let assert = skiplane()
        .env("SKIPLANE_CACHE_DIR", dir.path().join("cache"))
        .env("SKIPLANE_WEIGHTS_URL", "http://127.0.0.1:9/")
        .args(["train", "--data"])
        .arg(sample_dataset())
        .args(["--arch", "resnet18", "--epochs", "1", "--image-size", "32"])
        .args(["--batch-size", "32", "--seed", "3", "--json", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "no pretrained resnet18 weights (not cached, and the download failed",
        ))
        .stdout(predicate::str::contains("epoch   1:"));
    let summary = last_json_line(&assert.get_output().stdout);
    assert_eq!(summary["ok"], true);
    assert_eq!(
        Path::new(summary["run_dir"].as_str().unwrap()),
        std::fs::canonicalize(&out).unwrap()
    );
    let accuracy = summary["val_accuracy"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&accuracy));
    assert!(summary["peak_memory_bytes"].as_u64().unwrap() > 0);
    assert!(summary["train_seconds"].as_f64().unwrap() > 0.0);
    let experiment = std::fs::read_to_string(out.join("experiment.ron")).unwrap();
    assert!(experiment.contains("mode: FineTune") && experiment.contains("weights: None"));

    // The run folder is never reused.
    skiplane()
        .args(["train", "--weights", "none", "--data"])
        .arg(sample_dataset())
        .arg("--out")
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains("not empty"));

    // Evaluate on the run's own validation images, then on the whole folder.
    skiplane()
        .arg("evaluate")
        .arg(&out)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("accuracy")
                .and(predicate::str::contains("precision"))
                .and(predicate::str::contains("monuments")),
        );
    let assert = skiplane()
        .arg("evaluate")
        .arg(&out)
        .arg("--data")
        .arg(sample_dataset())
        .arg("--json")
        .assert()
        .success();
    let evaluation = last_json_line(&assert.get_output().stdout);
    assert_eq!(evaluation["predictions"].as_array().unwrap().len(), 123);
    let confusion_total: u64 = evaluation["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(confusion_total, 123);

    // Predict: top classes and logits per photo, as JSON.
    let assert = skiplane()
        .arg("predict")
        .arg(&out)
        .arg(sample_dataset().join("fishes"))
        .args(["--top", "3", "--json"])
        .assert()
        .success();
    let predictions = last_json_line(&assert.get_output().stdout);
    let predictions = predictions.as_array().unwrap();
    assert_eq!(predictions.len(), 28);
    assert_eq!(predictions[0]["top"].as_array().unwrap().len(), 3);
    assert_eq!(predictions[0]["logits"].as_array().unwrap().len(), 4);
    let p: f64 = predictions[0]["top"][0]["probability"].as_f64().unwrap();
    assert!(p > 0.25 && p <= 1.0, "{p}");
    skiplane()
        .arg("predict")
        .arg(&out)
        .arg(fixture("torchvision_state_dicts.json"))
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "torchvision_state_dicts.json: not an image",
        ));

    // A Skiplane bundle predicts exactly as the run it came from; broken bundles say so.
    let bundle = dir.path().join("model.skiplane");
    skiplane()
        .arg("export")
        .arg(&out)
        .arg("--out")
        .arg(&bundle)
        .assert()
        .success()
        .stdout(predicate::str::contains("4 classes"));
    let from_bundle = skiplane()
        .arg("predict")
        .arg(&bundle)
        .arg(sample_dataset().join("fishes"))
        .args(["--top", "3", "--json"])
        .assert()
        .success();
    let from_bundle = last_json_line(&from_bundle.get_output().stdout);
    assert_eq!(from_bundle.as_array().unwrap(), predictions);
    let bytes = std::fs::read(&bundle).unwrap();
    let truncated = dir.path().join("truncated.skiplane");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let not_a_bundle = dir.path().join("photo.skiplane");
    std::fs::copy(fixture("images/baseline.jpg"), &not_a_bundle).unwrap();
    for broken in [&truncated, &not_a_bundle] {
        skiplane()
            .arg("predict")
            .arg(broken)
            .arg(sample_dataset().join("fishes"))
            .assert()
            .failure()
            .stderr(
                predicate::str::contains(broken.display().to_string())
                    .and(predicate::str::contains("not a Skiplane bundle")),
            );
    }

    // Export with torchvision's keys; an existing file is kept unless --force.
    let exported = dir.path().join("model.safetensors");
    skiplane()
        .arg("export")
        .arg(&out)
        .arg("--out")
        .arg(&exported)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "torchvision.models.resnet18(num_classes=4)",
        ));
    let bytes = std::fs::read(&exported).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.tensor("fc.weight").unwrap().shape(), &[4, 512]);
    assert!(file.tensor("layer4.1.bn2.num_batches_tracked").is_ok());
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = metadata.metadata().clone().unwrap();
    assert_eq!(
        metadata["classes"],
        r#"["fishes","monuments","renewable","tools"]"#
    );
    skiplane()
        .arg("export")
        .arg(&out)
        .arg("--out")
        .arg(&exported)
        .assert()
        .failure()
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(
        std::fs::read(&exported).unwrap(),
        bytes,
        "the file was kept"
    );
    skiplane()
        .arg("export")
        .arg(&out)
        .arg("--out")
        .arg(&exported)
        .arg("--force")
        .assert()
        .success();

    // Photos of a class the model never saw cannot be scored: a clear message.
    let other = dir.path().join("other");
    for class in ["fishes", "Spaceships"] {
        std::fs::create_dir_all(other.join(class)).unwrap();
        std::fs::copy(
            fixture("images/baseline.jpg"),
            other.join(class).join("photo.jpg"),
        )
        .unwrap();
    }
    skiplane()
        .arg("evaluate")
        .arg(&out)
        .arg("--data")
        .arg(&other)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "classes \"Spaceships\" are not ones the model knows",
        ));
}

#[test]
fn a_comparison_file_trains_each_architecture_on_one_split() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tiny_resnet.ron"),
        "ResNet((stem_width: 8, blocks: [1, 1, 1, 1], widths: [8, 16, 32, 64]))",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("tiny_densenet.ron"),
        "DenseNet((growth_rate: 8, block_config: [2, 2, 2, 2], init_features: 16, bn_size: 4))",
    )
    .unwrap();
    let plan = dir.path().join("plan.ron");
    std::fs::write(
        &plan,
        format!(
            "(experiment: (dataset: {:?}, mode: FineTune, resize: 40, image_size: 32, epochs: 1, batch_size: 32),
              architectures: [\"tiny_resnet.ron\", \"tiny_densenet.ron\"], pretrained: false)",
            sample_dataset()
        ),
    )
    .unwrap();
    let out = dir.path().join("comparison");
    let assert = skiplane()
        .arg("compare")
        .arg(&plan)
        .arg("--json")
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("they disagree on"));
    let summary = last_json_line(&assert.get_output().stdout);
    assert_eq!(summary["runs"].as_array().unwrap().len(), 2);
    assert!(out.join("comparison.ron").is_file());
    let split = |name: &str| std::fs::read_to_string(out.join(name).join("split.ron")).unwrap();
    assert_eq!(split("tiny_resnet"), split("tiny_densenet"));

    std::fs::write(
        &plan,
        "(experiment: (dataset: \"x\"), architectures: [\"resnet18\"])",
    )
    .unwrap();
    skiplane()
        .arg("compare")
        .arg(&plan)
        .assert()
        .failure()
        .stderr(predicate::str::contains("at least two"));
}
