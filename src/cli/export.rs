use crate::backend::select_and_log;
use crate::export::{ExportFormat, export_run_onnx};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One file with the model, class names, preprocessing and report (`skiplane predict` and the
    /// app load it).
    Skiplane,
    /// safetensors keyed like torchvision's state dict (loads with `strict=True`).
    Safetensors,
    /// ONNX (opset 18, dynamic batch): input `input`, output `logits`, class names and
    /// preprocessing in its metadata; a `.labels.txt` next to it.
    Onnx,
    /// All three, next to each other, named after `--out` without its extension.
    All,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// A run folder (from `skiplane train` or the app); its best checkpoint is exported.
    pub run_dir: PathBuf,
    /// Default: from the file name (`.skiplane`, `.safetensors` or `.onnx`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The file to write.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
    /// ONNX only: do not write the class names to `<out>.labels.txt`.
    #[arg(long)]
    pub no_labels: bool,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let format = match args.format {
        Some(Format::Skiplane) => ExportFormat::Skiplane,
        Some(Format::Safetensors) => ExportFormat::Safetensors,
        Some(Format::Onnx) => ExportFormat::Onnx,
        Some(Format::All) => ExportFormat::All,
        None => match ExportFormat::from_path(&args.out) {
            Some(format) => format,
            None => anyhow::bail!(
                "{}: name the format with --format skiplane|safetensors|onnx|all (or use that extension)",
                args.out.display()
            ),
        },
    };
    if args.no_labels && format != ExportFormat::Onnx {
        anyhow::bail!("--no-labels goes with --format onnx only (`all` always writes the labels)");
    }
    let device = select_and_log()?;
    let message = if format == ExportFormat::Onnx && args.no_labels {
        export_run_onnx(&args.run_dir, &args.out, &device.device, args.force, false)
    } else {
        format.export(&args.run_dir, &args.out, &device.device, args.force)
    }
    .map_err(anyhow::Error::msg)?;
    println!("{message}");
    Ok(())
}
