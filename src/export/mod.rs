//! Trained models as files other tools load: safetensors with torchvision's key names, and the
//! Skiplane bundle (ONNX follows).

pub mod bundle;
pub mod torchvision_safetensors;

pub use torchvision_safetensors::{export_torchvision_safetensors, load_torchvision_safetensors};

use crate::train::predict::TrainedModel;
use std::collections::HashMap;
use std::path::Path;

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
    let preprocessing = serde_json::json!({
        "resize": model.experiment.resize,
        "crop": model.experiment.image_size,
        "mean": crate::data::preprocess::IMAGENET_MEAN,
        "std": crate::data::preprocess::IMAGENET_STD,
    });
    let classes = serde_json::to_string(&model.classes).map_err(|e| e.to_string())?;
    let metadata = HashMap::from([
        ("architecture".to_string(), arch.to_ron()),
        ("classes".to_string(), classes),
        ("preprocessing".to_string(), preprocessing.to_string()),
        (
            "skiplane_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
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
