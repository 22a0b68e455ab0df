use crate::data::folder::{ScanDepth, scan_folder};
use crate::data::split::{SplitSettings, stratified_split};
use anyhow::bail;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// List a dataset folder's classes and every file that cannot be used, with the reason.
    Check(CheckArgs),
    /// Split a dataset folder into training and validation (stratified, seeded) and write the
    /// manifest, with the SHA-256 of every file.
    Split(SplitArgs),
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// A folder with one subfolder per class.
    pub dir: PathBuf,
    /// Print one JSON object: {"classes": [{"name", "images"}], "skipped": [{"path", "reason"}]}.
    #[arg(long)]
    pub json: bool,
    /// Read image headers only instead of decoding every image (faster, finds fewer problems).
    #[arg(long)]
    pub quick: bool,
}

#[derive(Args, Debug)]
pub struct SplitArgs {
    pub dir: PathBuf,
    /// Where to write the manifest (RON).
    #[arg(long)]
    pub out: PathBuf,
    /// Share of each class held out for validation.
    #[arg(long, default_value_t = 0.2)]
    pub validation: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

pub fn run(command: DataCommand) -> anyhow::Result<()> {
    match command {
        DataCommand::Check(args) => check(args),
        DataCommand::Split(args) => split(args),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let depth = if args.quick {
        ScanDepth::Headers
    } else {
        ScanDepth::Full
    };
    let scanned = scan_folder(&args.dir, depth)?;
    if args.json {
        let out = serde_json::json!({
            "classes": scanned.classes.iter().map(|c| serde_json::json!({"name": c.name, "images": c.images.len()})).collect::<Vec<_>>(),
            "skipped": scanned.skipped.iter().map(|s| serde_json::json!({"path": s.path, "reason": s.reason})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{}: {} images in {} classes",
            args.dir.display(),
            scanned.image_count(),
            scanned.classes.len()
        );
        for class in &scanned.classes {
            println!("  {:<24} {:>6}", class.name, class.images.len());
        }
        if !scanned.skipped.is_empty() {
            println!("skipped {}:", scanned.skipped.len());
            for s in &scanned.skipped {
                println!("  {}: {}", s.path.display(), s.reason);
            }
        }
    }
    if !scanned.is_trainable() {
        bail!(
            "{}: needs at least two class folders with images to train on",
            args.dir.display()
        );
    }
    Ok(())
}

fn split(args: SplitArgs) -> anyhow::Result<()> {
    if !(0.0..1.0).contains(&args.validation) {
        bail!("--validation must be in [0, 1), got {}", args.validation);
    }
    let scanned = scan_folder(&args.dir, ScanDepth::Headers)?;
    let settings = SplitSettings {
        validation_fraction: args.validation,
        seed: args.seed,
    };
    let (mut manifest, warnings) = stratified_split(&scanned, &settings);
    for warning in warnings {
        log::warn!("{warning}");
    }
    manifest.record_hashes(&args.dir)?;
    manifest.save(&args.out)?;
    let validation = manifest
        .entries
        .iter()
        .filter(|e| e.subset == Some(crate::data::split::Subset::Validation))
        .count();
    println!(
        "{}: {} training and {validation} validation images in {} classes",
        args.out.display(),
        manifest.entries.len() - validation,
        manifest.classes.len()
    );
    Ok(())
}
