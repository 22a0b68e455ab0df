//! Trained models as files other tools load: safetensors with torchvision's key names, and the
//! Skiplane bundle and ONNX.

pub mod bundle;
pub mod onnx;
pub mod torchvision_safetensors;

pub use torchvision_safetensors::{export_torchvision_safetensors, load_torchvision_safetensors};

use crate::train::predict::TrainedModel;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The files Skiplane writes a trained model to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ExportFormat {
    /// The Skiplane bundle: the app and `skiplane predict` open it.
    #[default]
    Skiplane,
    /// safetensors keyed like torchvision's state dict.
    Safetensors,
    /// ONNX with a `.labels.txt` next to it.
    Onnx,
    /// All three, next to each other.
    All,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 4] = [Self::Skiplane, Self::Safetensors, Self::Onnx, Self::All];

    /// The format a file name asks for, from its extension.
    pub fn from_path(path: &Path) -> Option<ExportFormat> {
        match path.extension()?.to_str()? {
            "skiplane" => Some(Self::Skiplane),
            "safetensors" => Some(Self::Safetensors),
            "onnx" => Some(Self::Onnx),
            _ => None,
        }
    }

    /// The extension of the file the user names (for All, the ONNX file's; the rest sit beside it).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Skiplane => "skiplane",
            Self::Safetensors => "safetensors",
            Self::Onnx | Self::All => "onnx",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Skiplane => "Skiplane bundle (.skiplane)",
            Self::Safetensors => "safetensors, torchvision keys",
            Self::Onnx => "ONNX (+ labels.txt)",
            Self::All => "All formats",
        }
    }

    /// Every file an export to `out` writes (the `.json` sidecar of a custom architecture's
    /// safetensors aside), so a caller can ask before replacing any of them.
    pub fn destinations(self, out: &Path) -> Vec<PathBuf> {
        match self {
            Self::Skiplane | Self::Safetensors => vec![out.to_path_buf()],
            Self::Onnx => vec![out.to_path_buf(), labels_path(out)],
            Self::All => {
                let [bundle, safetensors, onnx] = all_paths(out);
                let labels = labels_path(&onnx);
                vec![bundle, safetensors, onnx, labels]
            }
        }
    }

    /// Exports `run_dir`'s best checkpoint to `out` in this format (atomically; existing files
    /// are only replaced when `replace`). Returns what was written, in words.
    pub fn export(
        self,
        run_dir: &Path,
        out: &Path,
        device: &burn::prelude::Device,
        replace: bool,
    ) -> Result<String, String> {
        match self {
            Self::Skiplane => bundle::write_bundle(run_dir, out, device, replace),
            Self::Safetensors => export_run_safetensors(run_dir, out, device, replace),
            Self::Onnx => export_run_onnx(run_dir, out, device, replace, true),
            Self::All => export_run_all(run_dir, out, device, replace),
        }
    }
}

/// `<base>.skiplane`, `<base>.safetensors` and `<base>.onnx`, where `base` is `out` without a
/// format's extension.
fn all_paths(out: &Path) -> [PathBuf; 3] {
    let base = match ExportFormat::from_path(out) {
        Some(_) => out.with_extension(""),
        None => out.to_path_buf(),
    };
    ["skiplane", "safetensors", "onnx"].map(|extension| {
        let mut name = base.as_os_str().to_owned();
        name.push(".");
        name.push(extension);
        PathBuf::from(name)
    })
}

/// Refuses to replace an existing file unless `replace`.
fn check_destination(path: &Path, replace: bool) -> Result<(), String> {
    if path.exists() && !replace {
        return Err(format!(
            "{}: already exists; choose another name or allow replacing it (--force)",
            path.display()
        ));
    }
    Ok(())
}

/// How a photo becomes the model's input, for files read by other tools.
fn preprocessing_json(model: &TrainedModel) -> serde_json::Value {
    serde_json::json!({
        "resize": model.experiment.resize,
        "crop": model.experiment.image_size,
        "mean": crate::data::preprocess::IMAGENET_MEAN,
        "std": crate::data::preprocess::IMAGENET_STD,
        "steps": format!(
            "RGB; torchvision Resize({}) (shorter side, bilinear, antialiased), CenterCrop({}), \
             ToTensor() (to [0, 1], CHW), Normalize(mean, std); batched NCHW float32",
            model.experiment.resize, model.experiment.image_size
        ),
    })
}

/// The key-value metadata every exported file carries: architecture (RON), class names in output
/// order (JSON list), preprocessing (JSON) and the Skiplane version.
fn model_metadata(
    model: &TrainedModel,
    arch: &crate::model::Architecture,
) -> Vec<(String, String)> {
    let classes = serde_json::Value::from(model.classes.clone()).to_string();
    vec![
        ("architecture".into(), arch.to_ron()),
        ("classes".into(), classes),
        (
            "preprocessing".into(),
            preprocessing_json(model).to_string(),
        ),
        ("skiplane_version".into(), env!("CARGO_PKG_VERSION").into()),
    ]
}

/// Exports `run_dir`'s best checkpoint to `out` as ONNX (see [`onnx`]) and, when `labels`, the
/// class names one per line to `<out stem>.labels.txt`. Returns what was written, in words.
pub fn export_run_onnx(
    run_dir: &Path,
    out: &Path,
    device: &burn::prelude::Device,
    replace: bool,
    labels: bool,
) -> Result<String, String> {
    let labels_path = labels.then(|| labels_path(out));
    check_destination(out, replace)?;
    if let Some(path) = &labels_path {
        check_destination(path, replace)?;
    }
    let model = TrainedModel::from_run(run_dir, device)?;
    let arch = crate::model::Architecture::resolve(&model.experiment.architecture)?
        .with_num_classes(model.classes.len());
    let bytes = onnx::export_onnx(
        &model.network,
        model.experiment.image_size as usize,
        &model_metadata(&model, &arch),
        device,
    )?;
    crate::files::write_atomic(out, &bytes)
        .map_err(|e| format!("{}: cannot write: {e}", out.display()))?;
    let mut message = format!(
        "wrote {} ({:.1} MiB, ONNX opset 18): input `{}` (N, 3, {size}, {size}) normalized, output `{}` (N, {}); class names and preprocessing in its metadata",
        out.display(),
        bytes.len() as f64 / (1024.0 * 1024.0),
        onnx::INPUT_NAME,
        onnx::OUTPUT_NAME,
        model.classes.len(),
        size = model.experiment.image_size,
    );
    if let Some(path) = labels_path {
        let text: String = model.classes.iter().map(|c| format!("{c}\n")).collect();
        crate::files::write_atomic(&path, text.as_bytes())
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        message.push_str(&format!(
            "\nwrote {} (class names, one per line)",
            path.display()
        ));
    }
    Ok(message)
}

/// Writes every format next to each other: `<base>.skiplane`, `<base>.safetensors` (+ `.json` for
/// a custom architecture), `<base>.onnx` and `<base>.labels.txt`, where `base` is `out` without a
/// format's extension. Nothing is written if any destination exists and `replace` is off.
pub fn export_run_all(
    run_dir: &Path,
    out: &Path,
    device: &burn::prelude::Device,
    replace: bool,
) -> Result<String, String> {
    for path in ExportFormat::All.destinations(out) {
        check_destination(&path, replace)?;
    }
    let [bundle, safetensors, onnx_file] = all_paths(out);
    // A custom architecture's safetensors also get a .json beside them: check it now too, so
    // that a refusal never comes after the bundle was already written.
    let custom = crate::train::Experiment::load(&run_dir.join("experiment.ron"))
        .ok()
        .and_then(|e| crate::model::Architecture::resolve(&e.architecture).ok())
        .is_some_and(|arch| arch.torchvision_name().is_none());
    if custom {
        check_destination(&safetensors.with_extension("json"), replace)?;
    }
    let messages = [
        bundle::write_bundle(run_dir, &bundle, device, replace)?,
        export_run_safetensors(run_dir, &safetensors, device, replace)?,
        export_run_onnx(run_dir, &onnx_file, device, replace, true)?,
    ];
    Ok(messages.join("\n"))
}

/// `model.onnx` → `model.labels.txt`.
pub fn labels_path(out: &Path) -> PathBuf {
    out.with_extension("labels.txt")
}

/// Exports `run_dir`'s best checkpoint to `out` as torchvision-keyed safetensors, with the class
/// names, preprocessing and architecture in its metadata; a custom architecture (one torchvision
/// has no constructor for) also gets `out` with a `.json` extension describing it. Returns what
/// was written, in words.
pub fn export_run_safetensors(
    run_dir: &Path,
    out: &Path,
    device: &burn::prelude::Device,
    replace: bool,
) -> Result<String, String> {
    let model = TrainedModel::from_run(run_dir, device)?;
    let arch = crate::model::Architecture::resolve(&model.experiment.architecture)?
        .with_num_classes(model.classes.len());
    let sidecar = out.with_extension("json");
    check_destination(out, replace)?;
    if arch.torchvision_name().is_none() {
        check_destination(&sidecar, replace)?;
    }
    let preprocessing = preprocessing_json(&model);
    let metadata = HashMap::from_iter(model_metadata(&model, &arch));
    export_torchvision_safetensors(&model.network, out, metadata)?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let mut message = format!(
        "wrote {} ({:.1} MiB), keys as torchvision's state dict",
        out.display(),
        size as f64 / (1024.0 * 1024.0)
    );
    match arch.torchvision_name() {
        Some(name) => message.push_str(&format!(
            "\nload it with: torchvision.models.{name}(num_classes={}).load_state_dict(safetensors.torch.load_file({:?}))",
            model.classes.len(),
            out.display().to_string()
        )),
        None => {
            let text = serde_json::to_string_pretty(&serde_json::json!({
                "architecture": arch,
                "classes": model.classes,
                "preprocessing": preprocessing,
            }))
            .map_err(|e| e.to_string())?;
            crate::files::write_atomic(&sidecar, text.as_bytes())
                .map_err(|e| format!("{}: cannot write: {e}", sidecar.display()))?;
            message.push_str(&format!(
                "\na custom architecture: its config is in {}",
                sidecar.display()
            ));
        }
    }
    Ok(message)
}
