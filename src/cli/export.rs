use crate::backend::select_and_log;
use crate::export::export_run_safetensors;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

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

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let device = select_and_log()?;
    let message = match args.format {
        Format::Safetensors => {
            export_run_safetensors(&args.run_dir, &args.out, &device.device, args.force)
        }
    }
    .map_err(anyhow::Error::msg)?;
    println!("{message}");
    Ok(())
}
