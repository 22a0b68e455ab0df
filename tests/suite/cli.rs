//! The `skiplane` binary end to end: inspect, weights inspect, forward, and the errors a user
//! meets with wrong or broken files.

use crate::common::{fixture, relative_error};
use assert_cmd::Command;
use predicates::prelude::*;
use skiplane::tensor_io::read_host_tensor;

fn skiplane() -> Command {
    let mut cmd = Command::cargo_bin("skiplane").expect("binary built");
    cmd.env("SKIPLANE_BACKEND", "cpu");
    cmd
}

#[test]
fn inspect_json_reports_torchvision_figures() {
    let out = skiplane()
        .args(["inspect", "resnet50", "--json", "--batch", "8"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["parameters"].as_u64(), Some(25_557_032));
    let gflops = json["gflops"].as_f64().unwrap();
    assert!((gflops - 4.089).abs() / 4.089 < 0.01, "{gflops}");
    assert!(json["memory_bytes"].as_u64().unwrap() > 4 * 25_557_032 * 3);
    assert_eq!(json["stages"].as_array().unwrap().len(), 7);
}

#[test]
fn inspect_table_shows_dense_growth() {
    skiplane()
        .args(["inspect", "densenet121", "--input", "224"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("denseblock1")
                .and(predicate::str::contains("64 96 128 160 192 224")),
        );
}

#[test]
fn inspect_rejects_bad_configs_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ron");
    std::fs::write(&bad, "DenseNet((growth_rate: 12, compression: 1.5))").unwrap();
    skiplane()
        .args(["inspect", bad.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("compression").and(predicate::str::contains("bad.ron")));
    skiplane()
        .args(["inspect", "resnet18", "--input", "16"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("input size").and(predicate::str::contains("too small")));
    skiplane()
        .args(["inspect", "resnet9000"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("unknown architecture")
                .and(predicate::str::contains("resnet18")),
        );
}

#[test]
fn weights_inspect_recognises_fixture_files() {
    skiplane()
        .args([
            "weights",
            "inspect",
            fixture("tiny_resnet_bottleneck.pth").to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Bottleneck").and(predicate::str::contains("[1, 2, 1, 1]")),
        );
    skiplane()
        .args([
            "weights",
            "inspect",
            "--json",
            fixture("tiny_densenet_legacy.pth").to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("\"legacy_dense_keys\": true")
                .and(predicate::str::contains("\"format\": \"legacy\"")),
        );
}

#[test]
fn broken_weight_files_get_a_message_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pth");
    std::fs::write(&empty, b"").unwrap();
    let garbage = dir.path().join("garbage.pth");
    std::fs::write(&garbage, b"this is not a pytorch file at all").unwrap();
    let truncated = dir.path().join("truncated.pth");
    let bytes = std::fs::read(fixture("tiny_resnet_basic.pth")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let missing = dir.path().join("missing.pth");
    for path in [&empty, &garbage, &truncated, &missing] {
        let out = skiplane()
            .args(["weights", "inspect", path.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}", path.display());
        assert!(
            stderr.contains(path.to_str().unwrap()),
            "message names the file: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    }
}

#[test]
fn forward_writes_outputs_matching_torchvision() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.safetensors");
    let reference = fixture("tiny_densenet.ref.safetensors");
    let arch = dir.path().join("tiny.ron");
    std::fs::write(
        &arch,
        "DenseNet((growth_rate: 8, block_config: [2, 3, 4, 2], init_features: 16, bn_size: 4))",
    )
    .unwrap();
    skiplane()
        .args(["forward", "--arch", arch.to_str().unwrap(), "--weights"])
        .arg(fixture("tiny_densenet.pth"))
        .arg("--input")
        .arg(&reference)
        .arg("--output")
        .arg(&out_path)
        .assert()
        .success();
    for name in ["features", "logits"] {
        let ours = read_host_tensor(&out_path, name).unwrap();
        let theirs = read_host_tensor(&reference, name).unwrap();
        assert_eq!(ours.shape, theirs.shape);
        assert!(relative_error(&ours.values, &theirs.values) < 1e-4);
    }
}

#[test]
fn loading_weights_into_the_wrong_architecture_names_both() {
    let dir = tempfile::tempdir().unwrap();
    let reference = fixture("tiny_resnet_basic.ref.safetensors");
    let arch = dir.path().join("basic.ron");
    // The bottleneck file into a basic-block config.
    std::fs::write(
        &arch,
        "ResNet((stem_width: 8, blocks: [1, 1, 1, 1], widths: [8, 16, 32, 64], num_classes: 7))",
    )
    .unwrap();
    let out = skiplane()
        .args(["forward", "--arch", arch.to_str().unwrap(), "--weights"])
        .arg(fixture("tiny_resnet_bottleneck.pth"))
        .arg("--input")
        .arg(&reference)
        .arg("--output")
        .arg(dir.path().join("out.safetensors"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("tiny_resnet_bottleneck.pth"), "{stderr}");
    assert!(
        stderr.contains("Bottleneck") && stderr.contains("Basic"),
        "names both architectures: {stderr}"
    );
    assert!(
        !dir.path().join("out.safetensors").exists(),
        "no output on failure"
    );
}

#[test]
fn forward_with_a_different_class_count_keeps_the_backbone() {
    let dir = tempfile::tempdir().unwrap();
    let reference = fixture("tiny_resnet_basic.ref.safetensors");
    let arch = dir.path().join("basic.ron");
    std::fs::write(
        &arch,
        "ResNet((stem_width: 8, blocks: [1, 1, 1, 1], widths: [8, 16, 32, 64]))",
    )
    .unwrap();
    let out_path = dir.path().join("out.safetensors");
    skiplane()
        .args([
            "forward",
            "--arch",
            arch.to_str().unwrap(),
            "--classes",
            "3",
            "--weights",
        ])
        .arg(fixture("tiny_resnet_basic.pth"))
        .arg("--input")
        .arg(&reference)
        .arg("--output")
        .arg(&out_path)
        .assert()
        .success()
        .stderr(predicate::str::contains("head not loaded"));
    let features = read_host_tensor(&out_path, "features").unwrap();
    let expected = read_host_tensor(&reference, "features").unwrap();
    assert!(relative_error(&features.values, &expected.values) < 1e-4);
    assert_eq!(
        read_host_tensor(&out_path, "logits").unwrap().shape,
        vec![2, 3]
    );
}

#[test]
fn bench_model_prints_throughput_figures() {
    skiplane()
        .args([
            "bench", "model", "--arch", "resnet20", "--input", "32", "--batch", "2", "--steps", "1",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("full fine-tune").and(predicate::str::contains("images/s")),
        );
}
