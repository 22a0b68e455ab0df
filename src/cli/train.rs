use super::watch::{summary_json, watch_training};
use crate::backend::select_and_log;
use crate::train::pretrained::official_weights_for;
use crate::train::run_folder::RunFolder;
use crate::train::{
    Experiment, TrainingMode, WeightsReadiness, ensure_weights, resume_training, start_training,
};
use anyhow::{Context, bail};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The experiment (RON): at least `dataset` and `architecture`; every other field has a
    /// default. Without one, `--data` (and the other flags) describe the run.
    #[arg(conflicts_with = "resume")]
    pub experiment: Option<PathBuf>,
    /// Continue an interrupted run from its folder (its experiment, split, last checkpoint and
    /// optimizer state).
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: ExperimentFlags,
    /// The run folder to create (default: `runs/<name>-<n>` next to the experiment, or in the
    /// current folder).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// End with one JSON line summarising the run.
    #[arg(long)]
    pub json: bool,
}

/// Quick settings without a RON file; with one, they override its fields.
#[derive(Args, Debug, Default, Clone)]
pub struct ExperimentFlags {
    /// A folder of class folders (or a split manifest).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// A preset (resnet18, densenet121, resnet20, …) or an architecture RON file.
    #[arg(long, value_name = "NAME|FILE")]
    pub arch: Option<String>,
    /// A torchvision .pth file, an official name (resnet18, …; fetched if not cached) or `none`.
    /// Default with --arch: the preset's ImageNet weights, if torchvision has them.
    #[arg(long, value_name = "FILE|NAME|none")]
    pub weights: Option<String>,
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long, value_name = "PIXELS")]
    pub image_size: Option<u32>,
    #[arg(long)]
    pub batch_size: Option<usize>,
    #[arg(long)]
    pub learning_rate: Option<f64>,
    /// frozen (new head on a frozen backbone), finetune (every layer), or last:N (the last N
    /// stages and the head).
    #[arg(long, value_parser = parse_mode)]
    pub mode: Option<TrainingMode>,
    #[arg(long)]
    pub seed: Option<u64>,
}

fn parse_mode(text: &str) -> Result<TrainingMode, String> {
    match text {
        "frozen" => Ok(TrainingMode::FrozenBackbone),
        "finetune" | "fine-tune" => Ok(TrainingMode::FineTune),
        _ => match text.strip_prefix("last:").map(str::parse::<usize>) {
            Some(Ok(n)) if n > 0 => Ok(TrainingMode::UnfreezeLast(n)),
            _ => Err(format!(
                "{text:?}: expected frozen, finetune or last:N (N ≥ 1)"
            )),
        },
    }
}

impl ExperimentFlags {
    /// The experiment these flags describe, over `base` (a loaded file or the defaults).
    pub fn apply(&self, mut experiment: Experiment) -> anyhow::Result<Experiment> {
        if let Some(data) = &self.data {
            experiment.dataset = std::fs::canonicalize(data)
                .with_context(|| format!("{}: cannot open the dataset", data.display()))?;
        }
        if let Some(arch) = &self.arch {
            experiment.architecture = if arch.ends_with(".ron") {
                std::fs::canonicalize(arch)
                    .with_context(|| format!("{arch}: cannot open the architecture"))?
                    .to_string_lossy()
                    .into_owned()
            } else {
                arch.clone()
            };
            if self.weights.is_none() {
                experiment.weights = official_weights_for(arch).map(str::to_string);
            }
        }
        if let Some(weights) = &self.weights {
            experiment.weights = match weights.as_str() {
                "none" => None,
                name if official_weights_for(name).is_some() => Some(name.to_string()),
                path => Some(
                    std::fs::canonicalize(path)
                        .with_context(|| format!("{path}: cannot open the weights file"))?
                        .to_string_lossy()
                        .into_owned(),
                ),
            };
        }
        macro_rules! set {
            ($($field:ident),*) => {$(if let Some(value) = self.$field { experiment.$field = value; })*};
        }
        set!(epochs, batch_size, learning_rate, mode, seed);
        if let Some(size) = self.image_size {
            // Keep torchvision's 256/224 ratio between the resize and the crop.
            experiment.image_size = size;
            experiment.resize = (size as f64 * 256.0 / 224.0).round() as u32;
        }
        experiment.validate().map_err(anyhow::Error::msg)?;
        Ok(experiment)
    }
}

/// Fetches official weights if needed (with a progress bar); a failure becomes a warning and a
/// run from scratch.
pub fn prepare_weights(experiment: &mut Experiment) {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "fetching weights [{bar:30}] {bytes}/{total_bytes}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut progress = |done: u64, total: Option<u64>| {
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(done);
    };
    let readiness = ensure_weights(experiment, &mut progress);
    bar.finish_and_clear();
    if let WeightsReadiness::FromScratch(warning) = readiness {
        eprintln!("warning: {warning}");
    }
}

/// The run folder: `--out`, else `runs/<stem>-<n>` beside the experiment file (or here).
pub fn create_run_folder(out: Option<&Path>, experiment_path: &Path) -> anyhow::Result<RunFolder> {
    match out {
        Some(dir) => RunFolder::create_at(dir).map_err(anyhow::Error::msg),
        None => RunFolder::create(experiment_path).with_context(|| {
            format!(
                "{}: cannot create a run folder beside it",
                experiment_path.display()
            )
        }),
    }
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let (handle, run_path) = match (&args.experiment, &args.resume) {
        (_, Some(run_dir)) => {
            let run = RunFolder::open(run_dir).map_err(anyhow::Error::msg)?;
            let path = run.path.clone();
            (
                resume_training(run, select_and_log()?).map_err(anyhow::Error::msg)?,
                path,
            )
        }
        (experiment_path, None) => {
            let (base, named_after) = match experiment_path {
                Some(path) => (Experiment::load(path)?, path.clone()),
                None if args.overrides.data.is_some() => {
                    let arch = args.overrides.arch.as_deref().unwrap_or("resnet18");
                    let stem = Path::new(arch).file_stem().unwrap_or_default();
                    let mut defaults = Experiment::default();
                    // The default architecture is resnet18, pretrained where the weights can be had.
                    defaults.weights = official_weights_for(&defaults.architecture).map(Into::into);
                    (defaults, PathBuf::from(stem).with_extension("ron"))
                }
                None => {
                    bail!("name an experiment file, or --data DIR (see `skiplane train --help`)")
                }
            };
            let mut experiment = args.overrides.apply(base)?;
            prepare_weights(&mut experiment);
            let device = select_and_log()?;
            let run = create_run_folder(args.out.as_deref(), &named_after)?;
            let path = run.path.clone();
            (start_training(experiment, run, device)?, path)
        }
    };
    println!("run folder: {}", run_path.display());
    let outcome = watch_training(handle, "");
    if let Ok(report) = &outcome {
        println!(
            "{}: best validation accuracy {:.3} (epoch {}), final {:.3}; report in {}",
            report.ended,
            report.best_validation_accuracy,
            report.best_epoch,
            report.final_validation_accuracy,
            run_path.join("report.ron").display()
        );
    }
    if args.json {
        println!("{}", summary_json(&run_path, &outcome));
    }
    match outcome {
        Ok(_) => Ok(()),
        Err(reason) => bail!("training failed: {reason}"),
    }
}
