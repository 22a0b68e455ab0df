use crate::weights::fetch::{
    OFFICIAL_WEIGHTS, OfficialWeights, fetch_official, import_official, sha256_file,
    weights_cache_dir,
};
use crate::weights::read_weight_file;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum WeightsCommand {
    /// Say which architecture a .pth file holds (from its keys and shapes).
    Inspect(InspectArgs),
    /// Download torchvision's official ImageNet weights into the cache (verified by SHA-256).
    Fetch(FetchArgs),
    /// Copy an official weight file you downloaded elsewhere into the cache.
    Import(ImportArgs),
    /// List the official weights and whether each is cached.
    List,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    pub file: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct FetchArgs {
    /// resnet18, resnet34, resnet50, resnet101, resnet152, densenet121, densenet161, densenet169 or densenet201.
    pub name: String,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    pub file: PathBuf,
}

pub fn run(command: WeightsCommand) -> anyhow::Result<()> {
    match command {
        WeightsCommand::Inspect(args) => inspect(args),
        WeightsCommand::Fetch(args) => fetch(args),
        WeightsCommand::Import(args) => import(args),
        WeightsCommand::List => list(),
    }
}

fn inspect(args: InspectArgs) -> anyhow::Result<()> {
    let file = read_weight_file(&args.file)?;
    let recognised = file.recognise();
    let hash =
        sha256_file(&args.file).with_context(|| format!("{}: cannot read", args.file.display()))?;
    let official = OFFICIAL_WEIGHTS
        .iter()
        .find(|w| hash.starts_with(w.sha256_prefix()));
    if args.json {
        let out = serde_json::json!({
            "path": args.file,
            "format": file.format,
            "tensors": file.tensors.len(),
            "key_prefix": file.prefix,
            "legacy_dense_keys": file.legacy_dense_keys,
            "sha256": hash,
            "official_file": official.map(|w| w.file_name),
            "architecture": recognised.as_ref().ok(),
            "torchvision_name": recognised.as_ref().ok().and_then(|a| a.torchvision_name()),
            "num_classes": recognised.as_ref().ok().map(|a| a.num_classes()),
            "description": recognised.as_ref().map(|a| a.describe()).map_err(|e| e.to_string()),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return recognised.map(|_| ()).map_err(Into::into);
    }
    println!("{}", args.file.display());
    println!("  format: {} ({} tensors)", file.format, file.tensors.len());
    if !file.prefix.is_empty() {
        println!("  keys are wrapped in `{}` (stripped)", file.prefix);
    }
    if file.legacy_dense_keys {
        println!(
            "  uses the 2017 DenseNet key style (`norm.1` for `norm1`), as torchvision's own DenseNet files do"
        );
    }
    println!("  sha256: {hash}");
    if let Some(w) = official {
        println!(
            "  this is torchvision's official {} ({})",
            w.name, w.file_name
        );
    }
    let arch = recognised?;
    match arch.torchvision_name() {
        Some(name) => println!(
            "  architecture: torchvision {name} with {} classes",
            arch.num_classes()
        ),
        None => println!("  architecture: custom"),
    }
    println!("  {}", arch.describe());
    Ok(())
}

fn fetch(args: FetchArgs) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(format!("fetching {}", args.name));
    let mut progress = |done: u64, total: Option<u64>| {
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(done);
    };
    let path = fetch_official(&args.name, &mut progress);
    bar.finish_and_clear();
    let path = path?;
    println!("{}", path.display());
    Ok(())
}

fn import(args: ImportArgs) -> anyhow::Result<()> {
    let file = read_weight_file(&args.file)?;
    let arch = file.recognise()?;
    match import_official(&args.file)? {
        Some(path) => {
            println!("imported as {}", path.display());
            Ok(())
        }
        None => anyhow::bail!(
            "{}: holds {}, but its SHA-256 matches none of torchvision's official files, so it was not put in the cache; \
             use it directly with `--weights {}`",
            args.file.display(),
            arch.describe(),
            args.file.display()
        ),
    }
}

fn list() -> anyhow::Result<()> {
    println!("cache: {}", weights_cache_dir()?.display());
    for w in OFFICIAL_WEIGHTS {
        let status = match OfficialWeights::cached(&w) {
            Some(_) => "cached",
            None => "not fetched",
        };
        println!("  {:<12} {:<28} {status}", w.name, w.file_name);
    }
    Ok(())
}
