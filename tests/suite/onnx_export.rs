//! ONNX export, proven by the real consumer: onnxruntime (from PyPI; `tests/run-all.sh` installs
//! it in a virtual environment and points `SKIPLANE_PYTHON` at it) runs the exported files and
//! must give Skiplane's logits — for the torchvision fixtures (ResNets and DenseNets, checked
//! against torchvision's own logits too) and for a model trained and exported by the CLI, next
//! to the bundle and the safetensors export of the same run.

use crate::common::{fixture, relative_error, tensor_values};
use crate::parity::fixture_architectures;
use assert_cmd::Command;
use burn::prelude::{Tensor, TensorData};
use onnx_ir::{Message, ModelProto};
use skiplane::backend::cpu_device;
use skiplane::data::decode::decode_bytes;
use skiplane::data::preprocess::EvalTransform;
use skiplane::export::onnx::export_onnx;
use skiplane::model::Network;
use skiplane::tensor_io::{read_host_tensor, read_image_batch};
use skiplane::weights::load_torchvision;
use std::path::{Path, PathBuf};

/// The Python that has onnxruntime, or `None` (the test then says it skipped) unless
/// `SKIPLANE_REQUIRE_ONNXRUNTIME` is set, as the test command does.
fn python_with_onnxruntime() -> Option<PathBuf> {
    let python = std::env::var_os("SKIPLANE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let found = std::process::Command::new(&python)
        .args(["-c", "import onnxruntime, numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if found {
        return Some(python);
    }
    if std::env::var_os("SKIPLANE_REQUIRE_ONNXRUNTIME").is_some() {
        panic!(
            "{} cannot import onnxruntime (run the suite with tests/run-all.sh, which installs it)",
            python.display()
        );
    }
    eprintln!("skipped: no onnxruntime for {}", python.display());
    None
}

/// onnxruntime's report on running `model` on the batch `values` of `shape`.
fn run_onnxruntime(
    python: &Path,
    model: &Path,
    values: &[f32],
    shape: [usize; 4],
) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.f32");
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&input, bytes).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/onnxruntime_run.py");
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(model)
        .arg(&input)
        .args(shape.map(|d| d.to_string()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "onnxruntime failed on {}:\n{}",
        model.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn flat_output(report: &serde_json::Value) -> Vec<f32> {
    report["output"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter())
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

/// The reference batch with its first image appended: three images, a batch size neither trace
/// used, so the batch axis is proven dynamic.
fn batch_of_three(reference: &Path) -> (Vec<f32>, [usize; 4]) {
    let host = read_host_tensor(reference, "input").unwrap();
    let [n, c, h, w]: [usize; 4] = host.shape.as_slice().try_into().unwrap();
    let mut values = host.values.clone();
    while values.len() / (c * h * w) < 3 {
        values.extend_from_slice(&host.values[..c * h * w]);
    }
    values.truncate(3 * c * h * w);
    assert!(n >= 1);
    (values, [3, c, h, w])
}

#[test]
fn fixtures_exported_to_onnx_give_skiplanes_and_torchvisions_logits_in_onnxruntime() {
    let device = cpu_device("test").device;
    let python = python_with_onnxruntime();
    let dir = tempfile::tempdir().unwrap();
    for (name, arch) in fixture_architectures() {
        let mut network = Network::new(&arch, &device).unwrap();
        load_torchvision(&mut network, &arch, &fixture(&format!("{name}.pth"))).unwrap();
        let reference = fixture(&format!("{name}.ref.safetensors"));
        let (values, shape) = batch_of_three(&reference);
        let metadata = [("classes".to_string(), format!("{name} classes"))];
        let bytes = export_onnx(&network, shape[2], &metadata, &device).unwrap();

        // The file as written: opset 18, named boundary, metadata.
        let model = ModelProto::parse_from_bytes(&bytes).unwrap();
        let opset = model.opset_import.iter().find(|o| o.domain.is_empty());
        assert_eq!(opset.map(|o| o.version), Some(18), "{name}");
        let graph = model.graph.as_ref().unwrap();
        assert_eq!(graph.output[0].name, "logits");
        assert!(graph.input.iter().any(|i| i.name == "input"));

        let Some(python) = &python else { continue };
        let path = dir.path().join(format!("{name}.onnx"));
        std::fs::write(&path, &bytes).unwrap();
        let report = run_onnxruntime(python, &path, &values, shape);
        assert_eq!(report["inputs"][0]["name"], "input", "{report}");
        assert_eq!(
            report["inputs"][0]["shape"],
            serde_json::json!(["batch", 3, shape[2], shape[3]])
        );
        assert_eq!(report["inputs"][0]["type"], "tensor(float)");
        assert_eq!(report["outputs"][0]["name"], "logits");
        assert_eq!(report["metadata"]["classes"], format!("{name} classes"));

        let onnx_logits = flat_output(&report);
        let input = Tensor::<4>::from_data(TensorData::new(values.clone(), shape), &device);
        let skiplane_logits = tensor_values(network.forward(input));
        let err = relative_error(&onnx_logits, &skiplane_logits);
        eprintln!("{name}: onnxruntime vs Skiplane, relative error {err:.2e}");
        assert!(err < 1e-4, "{name}: onnxruntime vs Skiplane: {err:.2e}");

        // …and the first images are torchvision's own logits.
        let expected = read_host_tensor(&reference, "logits").unwrap();
        let n = expected.shape[0].min(3);
        let per_image = expected.values.len() / expected.shape[0];
        let err = relative_error(
            &onnx_logits[..n * per_image],
            &expected.values[..n * per_image],
        );
        assert!(err < 1e-4, "{name}: onnxruntime vs torchvision: {err:.2e}");
        // Keep the reader honest: the reference input is what went in.
        let _ = read_image_batch(&reference, "input", &device).unwrap();
    }
}

fn skiplane() -> Command {
    let mut command = Command::cargo_bin("skiplane").unwrap();
    command.env("SKIPLANE_BACKEND", "cpu");
    command
}

fn json_stdout(assert: &assert_cmd::assert::Assert) -> serde_json::Value {
    let text = String::from_utf8_lossy(&assert.get_output().stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}\n{text}"))
}

#[test]
fn a_trained_run_exported_in_all_formats_predicts_the_same_everywhere() {
    let dataset = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4");
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    skiplane()
        .args(["train", "--weights", "none", "--data"])
        .arg(&dataset)
        .args([
            "--arch",
            "densenet121",
            "--epochs",
            "1",
            "--image-size",
            "32",
        ])
        .args(["--batch-size", "32", "--seed", "5", "--out"])
        .arg(&run)
        .assert()
        .success();

    let exports = dir.path().join("exports");
    skiplane()
        .arg("export")
        .arg(&run)
        .args(["--format", "all", "--out"])
        .arg(exports.join("flowers.onnx"))
        .assert()
        .success();
    for name in [
        "flowers.skiplane",
        "flowers.safetensors",
        "flowers.onnx",
        "flowers.labels.txt",
    ] {
        assert!(exports.join(name).is_file(), "{name} missing");
    }
    // Readable like any file the user creates there (not the temp file's owner-only mode).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let plain = exports.join("plain.txt");
        std::fs::write(&plain, "x").unwrap();
        assert_eq!(mode(&exports.join("flowers.onnx")), mode(&plain));
        assert_eq!(mode(&exports.join("flowers.skiplane")), mode(&plain));
        std::fs::remove_file(plain).unwrap();
    }
    let labels = std::fs::read_to_string(exports.join("flowers.labels.txt")).unwrap();
    assert_eq!(
        labels.lines().collect::<Vec<_>>(),
        ["fishes", "monuments", "renewable", "tools"]
    );
    // A second export does not replace any of them without --force.
    let onnx = exports.join("flowers.onnx");
    let before = std::fs::read(&onnx).unwrap();
    skiplane()
        .arg("export")
        .arg(&run)
        .args(["--format", "onnx", "--out"])
        .arg(&onnx)
        .assert()
        .failure()
        .stderr(predicates::str::contains("already exists"));
    assert_eq!(std::fs::read(&onnx).unwrap(), before);

    // The bundle's predictions (and logits) are the run's.
    let photos: Vec<PathBuf> = ["fishes", "tools"]
        .iter()
        .flat_map(|class| {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dataset.join(class))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            files.into_iter().take(2)
        })
        .collect();
    let from_bundle = json_stdout(
        &skiplane()
            .arg("predict")
            .arg(exports.join("flowers.skiplane"))
            .args(&photos)
            .arg("--json")
            .assert()
            .success(),
    );
    let from_run = json_stdout(
        &skiplane()
            .arg("predict")
            .arg(&run)
            .args(&photos)
            .arg("--json")
            .assert()
            .success(),
    );
    assert_eq!(from_bundle, from_run);
    let skiplane_logits: Vec<f32> = from_run
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["logits"].as_array().unwrap().clone())
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();

    // The safetensors export loads back into the same network.
    let device = cpu_device("test").device;
    let arch = skiplane::model::Architecture::preset("densenet121", 4).unwrap();
    let loaded = skiplane::export::load_torchvision_safetensors(
        &arch,
        &exports.join("flowers.safetensors"),
        &device,
    )
    .unwrap();

    // Preprocess the photos as the ONNX file's metadata says, and run it in onnxruntime.
    let Some(python) = python_with_onnxruntime() else {
        return;
    };
    let model = ModelProto::parse_from_bytes(&before).unwrap();
    let metadata = |key: &str| {
        model
            .metadata_props
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.clone())
            .unwrap_or_else(|| panic!("no {key} in the ONNX metadata"))
    };
    let preprocessing: serde_json::Value =
        serde_json::from_str(&metadata("preprocessing")).unwrap();
    let transform = EvalTransform::new(
        preprocessing["resize"].as_u64().unwrap() as u32,
        preprocessing["crop"].as_u64().unwrap() as u32,
    );
    let crop = transform.crop as usize;
    let values: Vec<f32> = photos
        .iter()
        .flat_map(|p| transform.apply(&decode_bytes(&std::fs::read(p).unwrap()).unwrap()))
        .collect();
    let shape = [photos.len(), 3, crop, crop];
    let report = run_onnxruntime(&python, &onnx, &values, shape);
    assert_eq!(
        report["metadata"]["classes"],
        r#"["fishes","monuments","renewable","tools"]"#
    );
    let onnx_logits = flat_output(&report);
    let err = relative_error(&onnx_logits, &skiplane_logits);
    eprintln!("densenet121 run: onnxruntime vs skiplane predict, relative error {err:.2e}");
    assert!(err < 1e-4, "onnxruntime vs skiplane predict: {err:.2e}");

    let input = Tensor::<4>::from_data(TensorData::new(values, shape), &device);
    let err = relative_error(&tensor_values(loaded.forward(input)), &skiplane_logits);
    assert!(
        err < 1e-4,
        "safetensors export vs skiplane predict: {err:.2e}"
    );
}
