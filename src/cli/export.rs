use crate::backend::select_and_log;
use crate::export::bundle::write_bundle;
use crate::export::export_run_safetensors;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One file with the model, class names, preprocessing and report (`skiplane predict` and the
    /// app load it).
    Skiplane,
    /// safetensors keyed like torchvision's state dict (loads with `strict=True`).
    Safetensors,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// A run folder (from `skiplane train` or the app); its best checkpoint is exported.
    pub run_dir: PathBuf,
    /// Default: from the file name (`.skiplane` or `.safetensors`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The file to write.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let format = match args.format {
        Some(format) => format,
        None => match args.out.extension().and_then(|e| e.to_str()) {
            Some("skiplane") => Format::Skiplane,
            Some("safetensors") => Format::Safetensors,
            _ => anyhow::bail!(
                "{}: name the format with --format skiplane|safetensors (or use that extension)",
                args.out.display()
            ),
        },
    };
    let device = select_and_log()?;
    let message = match format {
        Format::Skiplane => write_bundle(&args.run_dir, &args.out, &device.device, args.force),
        Format::Safetensors => {
            export_run_safetensors(&args.run_dir, &args.out, &device.device, args.force)
        }
    }
    .map_err(anyhow::Error::msg)?;
    println!("{message}");
    Ok(())
}
