use super::human_bytes;
use super::train::{ExperimentFlags, prepare_weights};
use super::watch::{summary_json, watch_training};
use crate::backend::select_and_log;
use crate::files::write_atomic;
use crate::train::compare::{ComparedRun, ComparisonPlan, DEFAULT_ARCHITECTURES, disagreements};
use crate::train::run_folder::RunFolder;
use crate::train::{Experiment, start_training};
use anyhow::{Context, bail};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Two or more experiments on the same dataset (all trained on the first one's split and
    /// seed), or one comparison file `(experiment: (…), architectures: ["resnet18", …])`.
    /// Without files, `--data` and `--arch a,b` (default resnet18,densenet121, both pretrained
    /// with frozen backbones).
    pub experiments: Vec<PathBuf>,
    #[command(flatten)]
    pub overrides: ExperimentFlags,
    /// The folder for the comparison and its runs (default: `runs/compare-<n>` beside the first
    /// file, or in the current folder).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// End with one JSON line per run and one for the comparison.
    #[arg(long)]
    pub json: bool,
}

/// The runs to train, named, and the file the comparison folder is placed beside.
fn planned_runs(args: &CompareArgs) -> anyhow::Result<(Vec<(String, Experiment)>, PathBuf)> {
    let architectures: Vec<String> = args
        .overrides
        .arch
        .as_deref()
        .map(|list| list.split(',').map(|a| a.trim().to_string()).collect())
        .unwrap_or_default();
    let flags_for = |arch: Option<&String>| ExperimentFlags {
        arch: arch.cloned(),
        ..args.overrides.clone()
    };
    match args.experiments.as_slice() {
        [] => {
            if args.overrides.data.is_none() {
                bail!(
                    "name two or more experiments, a comparison file, or --data DIR (see `skiplane compare --help`)"
                );
            }
            let architectures = if architectures.is_empty() {
                DEFAULT_ARCHITECTURES.map(String::from).to_vec()
            } else {
                architectures
            };
            let mut runs = Vec::new();
            for arch in &architectures {
                runs.push((
                    arch.clone(),
                    flags_for(Some(arch)).apply(Experiment::default())?,
                ));
            }
            Ok((runs, PathBuf::from("compare.ron")))
        }
        [plan_path] => {
            let plan = ComparisonPlan::load(plan_path)?;
            let mut runs = Vec::new();
            for (name, experiment) in plan.experiments() {
                runs.push((name, flags_for(None).apply(experiment)?));
            }
            Ok((runs, plan_path.clone()))
        }
        paths => {
            let mut runs = Vec::new();
            for path in paths {
                let name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let experiment = flags_for(None).apply(Experiment::load(path)?)?;
                runs.push((name, experiment));
            }
            Ok((runs, paths[0].with_file_name("compare.ron")))
        }
    }
}

pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let (mut experiments, beside) = planned_runs(&args)?;
    let (first_name, first) = experiments[0].clone();
    let same_dataset = |e: &Experiment| {
        std::fs::canonicalize(&e.dataset).ok() == std::fs::canonicalize(&first.dataset).ok()
    };
    for (name, experiment) in &mut experiments {
        if !same_dataset(experiment) {
            bail!(
                "{name}: its dataset {} differs from {first_name}'s {}; a comparison needs one dataset",
                experiment.dataset.display(),
                first.dataset.display()
            );
        }
        if experiment.split != first.split || experiment.seed != first.seed {
            println!(
                "{name}: using {first_name}'s split and seed, so every run sees the same images"
            );
            experiment.split = first.split.clone();
            experiment.seed = first.seed;
        }
    }
    // Unique run names: they become folder names.
    let mut taken = std::collections::HashSet::new();
    for (name, _) in &mut experiments {
        let base = name.clone();
        let mut n = 1;
        while !taken.insert(name.clone()) {
            n += 1;
            *name = format!("{base}-{n}");
        }
    }
    let folder = match &args.out {
        Some(dir) => RunFolder::create_at(dir).map_err(anyhow::Error::msg)?,
        None => RunFolder::create(&beside).with_context(|| {
            format!("{}: cannot create the comparison folder", beside.display())
        })?,
    };
    println!("comparison folder: {}", folder.path.display());
    let device = select_and_log()?;
    let mut runs = Vec::new();
    for (name, mut experiment) in experiments {
        prepare_weights(&mut experiment);
        let architecture = experiment.architecture.clone();
        let run = RunFolder::create_at(&folder.path.join(&name)).map_err(anyhow::Error::msg)?;
        let run_folder = run.path.clone();
        println!("== {name} ({architecture}) → {}", run_folder.display());
        let handle = start_training(experiment, run, device.clone())?;
        let outcome = watch_training(handle, "   ");
        if args.json {
            println!("{}", summary_json(&run_folder, &outcome));
        }
        let report =
            outcome.map_err(|reason| anyhow::anyhow!("{name}: training failed: {reason}"))?;
        runs.push(ComparedRun {
            name,
            architecture,
            run_folder,
            report,
        });
    }
    print_table(&runs);
    let mut all_disagreements = Vec::new();
    for a in 0..runs.len() {
        for b in a + 1..runs.len() {
            let found = disagreements(&runs, a, b);
            println!(
                "{} vs {}: they disagree on {} validation images",
                runs[a].name,
                runs[b].name,
                found.len()
            );
            all_disagreements.extend(found);
        }
    }
    let text = ron::ser::to_string_pretty(
        &(&runs, &all_disagreements),
        ron::ser::PrettyConfig::default(),
    )?;
    let path = folder.path.join("comparison.ron");
    write_atomic(&path, text.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    println!("comparison written to {}", path.display());
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "comparison": path,
                "runs": runs.iter().map(|r| serde_json::json!({
                    "name": r.name,
                    "run_dir": r.run_folder,
                    "val_accuracy": r.report.final_validation_accuracy,
                })).collect::<Vec<_>>(),
                "disagreements": all_disagreements.len(),
            })
        );
    }
    Ok(())
}

fn print_table(runs: &[ComparedRun]) {
    println!(
        "\n{:<18} {:<16} {:>8} {:>9} {:>12} {:>7} {:>9} {:>9} {:>22}",
        "run",
        "architecture",
        "val acc",
        "best acc",
        "parameters",
        "GFLOPs",
        "s/epoch",
        "img/s",
        "memory peak / estimate"
    );
    for r in runs {
        let measured = r
            .report
            .peak_memory_bytes
            .map(human_bytes)
            .unwrap_or_else(|| "—".into());
        println!(
            "{:<18} {:<16} {:>8.3} {:>9.3} {:>12} {:>7.3} {:>9.2} {:>9.1} {:>22}",
            r.name,
            Path::new(&r.architecture)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            r.report.final_validation_accuracy,
            r.report.best_validation_accuracy,
            super::group_digits(r.report.parameters as u64),
            r.report.gflops,
            r.report.seconds_per_epoch,
            r.report.train_images_per_second,
            format!(
                "{measured} / {}",
                human_bytes(r.report.estimated_memory_bytes)
            )
        );
    }
}
