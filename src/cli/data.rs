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
    if args.dir.is_file() {
        return check_manifest(&args);
    }
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

/// `data check` on a manifest: classes with counts, and files missing or changed since hashing.
fn check_manifest(args: &CheckArgs) -> anyhow::Result<()> {
    use crate::data::split::Manifest;
    let manifest = Manifest::load(&args.dir)?;
    let root = manifest.root_dir(Some(&args.dir));
    let changed = manifest.verify(&root);
    let missing: Vec<_> = manifest
        .entries
        .iter()
        .filter(|e| !root.join(&e.path).is_file())
        .map(|e| e.path.clone())
        .collect();
    let counts: Vec<(String, usize)> = manifest
        .classes
        .iter()
        .map(|c| {
            (
                c.clone(),
                manifest
                    .entries
                    .iter()
                    .filter(|e| &e.label == c && !missing.contains(&e.path))
                    .count(),
            )
        })
        .collect();
    let mut skipped: Vec<(String, String)> = missing
        .iter()
        .map(|p| (p.clone(), "missing".to_string()))
        .collect();
    skipped.extend(
        changed
            .into_iter()
            .filter(|c| !missing.contains(&c.path))
            .map(|c| (c.path, c.change)),
    );
    if args.json {
        let out = serde_json::json!({
            "classes": counts.iter().map(|(name, n)| serde_json::json!({"name": name, "images": n})).collect::<Vec<_>>(),
            "skipped": skipped.iter().map(|(path, reason)| serde_json::json!({"path": path, "reason": reason})).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{}: {} files in {} classes (root {})",
            args.dir.display(),
            manifest.entries.len(),
            manifest.classes.len(),
            root.display()
        );
        for (name, n) in &counts {
            println!("  {name:<24} {n:>6}");
        }
        for (path, reason) in &skipped {
            println!("  {path}: {reason}");
        }
    }
    if counts.iter().filter(|(_, n)| *n > 0).count() < 2 {
        bail!(
            "{}: needs at least two classes with images to train on",
            args.dir.display()
        );
    }
    Ok(())
}
