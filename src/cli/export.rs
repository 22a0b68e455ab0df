use crate::backend::select_and_log;
use crate::export::export_torchvision_safetensors;
use crate::train::predict::TrainedModel;
use anyhow::bail;
use clap::{Args, ValueEnum};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// safetensors keyed like torchvision's state dict (loads with `strict=True`).
    Safetensors,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// A run folder (from `skiplane train` or the app); its best checkpoint is exported.
    pub run_dir: PathBuf,
    #[arg(long, value_enum, default_value = "safetensors")]
    pub format: Format,
    /// The file to write.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Refuses to replace a file unless asked.
fn check_destination(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!(
            "{}: already exists; choose another name or pass --force to replace it",
            path.display()
        );
    }
    Ok(())
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let device = select_and_log()?;
    let model =
        TrainedModel::from_run(&args.run_dir, &device.device).map_err(anyhow::Error::msg)?;
    let arch = crate::model::Architecture::resolve(&model.experiment.architecture)
        .map_err(anyhow::Error::msg)?
        .with_num_classes(model.classes.len());
    let preprocessing = serde_json::json!({
        "resize": model.experiment.resize,
        "crop": model.experiment.image_size,
        "mean": crate::data::preprocess::IMAGENET_MEAN,
        "std": crate::data::preprocess::IMAGENET_STD,
    });
    match args.format {
        Format::Safetensors => {
            check_destination(&args.out, args.force)?;
            let metadata = HashMap::from([
                ("architecture".to_string(), arch.to_ron()),
                (
                    "classes".to_string(),
                    serde_json::to_string(&model.classes)?,
                ),
                ("preprocessing".to_string(), preprocessing.to_string()),
                (
                    "skiplane_version".to_string(),
                    env!("CARGO_PKG_VERSION").to_string(),
                ),
            ]);
            export_torchvision_safetensors(&model.network, &args.out, metadata)
                .map_err(anyhow::Error::msg)?;
            let size = std::fs::metadata(&args.out).map(|m| m.len()).unwrap_or(0);
            println!(
                "wrote {} ({}), keys as torchvision's state dict",
                args.out.display(),
                super::human_bytes(size)
            );
            match arch.torchvision_name() {
                Some(name) => println!(
                    "load it with: torchvision.models.{name}(num_classes={}).load_state_dict(safetensors.torch.load_file({:?}))",
                    model.classes.len(),
                    args.out.display().to_string()
                ),
                None => {
                    // A custom network: torchvision has no constructor for it, so say what it is.
                    let sidecar = args.out.with_extension("json");
                    check_destination(&sidecar, args.force)?;
                    let text = serde_json::to_string_pretty(&serde_json::json!({
                        "architecture": arch,
                        "classes": model.classes,
                        "preprocessing": preprocessing,
                    }))?;
                    crate::files::write_atomic(&sidecar, text.as_bytes())
                        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", sidecar.display()))?;
                    println!(
                        "a custom architecture: its config is in {}",
                        sidecar.display()
                    );
                }
            }
        }
    }
    Ok(())
}
