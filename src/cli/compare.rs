use super::human_bytes;
use crate::backend::select_and_log;
use crate::files::write_atomic;
use crate::train::compare::{ComparedRun, disagreements};
use crate::train::run_folder::RunFolder;
use crate::train::{Experiment, TrainEvent, start_training};
use anyhow::{Context, bail};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Two or more experiments on the same dataset; all are trained on the first one's split and
    /// seed.
    #[arg(required = true, num_args = 2..)]
    pub experiments: Vec<PathBuf>,
}

pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    let mut experiments = Vec::new();
    for path in &args.experiments {
        experiments.push((path.clone(), Experiment::load(path)?));
    }
    let (first_path, first) = experiments[0].clone();
    let same_dataset = |e: &Experiment| {
        std::fs::canonicalize(&e.dataset).ok() == std::fs::canonicalize(&first.dataset).ok()
    };
    for (path, experiment) in &mut experiments {
        if !same_dataset(experiment) {
            bail!(
                "{}: its dataset {} differs from {}'s {}; a comparison needs one dataset",
                path.display(),
                experiment.dataset.display(),
                first_path.display(),
                first.dataset.display()
            );
        }
        if experiment.split != first.split || experiment.seed != first.seed {
            println!(
                "{}: using {}'s split and seed, so every run sees the same images",
                path.display(),
                first_path.display()
            );
            experiment.split = first.split.clone();
            experiment.seed = first.seed;
        }
    }
    let device = select_and_log()?;
    let mut runs = Vec::new();
    for (path, experiment) in experiments {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let architecture = experiment.architecture.clone();
        let run = RunFolder::create(&path)
            .with_context(|| format!("{}: cannot create the run folder", path.display()))?;
        let run_folder = run.path.clone();
        println!("== {name} ({architecture}) → {}", run_folder.display());
        let handle = start_training(experiment, run, device.clone())?;
        let mut report = None;
        for event in handle.events.iter() {
            match event {
                TrainEvent::EpochDone(m) => println!(
                    "   epoch {:>3}: train loss {:.4} | val loss {:.4} acc {:.3} | {:.1} img/s",
                    m.epoch,
                    m.train_loss,
                    m.validation_loss,
                    m.validation_accuracy,
                    m.images_per_second
                ),
                TrainEvent::Finished(r) => report = Some(r),
                TrainEvent::Failed(reason) => bail!("{name}: training failed: {reason}"),
                _ => {}
            }
        }
        handle.join();
        let Some(report) = report else {
            bail!("{name}: the training ended without a report")
        };
        runs.push(ComparedRun {
            name,
            architecture,
            run_folder,
            report,
        });
    }

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
    for r in &runs {
        let measured = r
            .report
            .peak_memory_bytes
            .map(human_bytes)
            .unwrap_or_else(|| "—".into());
        println!(
            "{:<18} {:<16} {:>8.3} {:>9.3} {:>12} {:>7.3} {:>9.2} {:>9.1} {:>22}",
            r.name,
            r.architecture.rsplit('/').next().unwrap_or_default(),
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
    let folder = RunFolder::create(&first_path.with_file_name("compare.ron"))?;
    let text = ron::ser::to_string_pretty(
        &(&runs, &all_disagreements),
        ron::ser::PrettyConfig::default(),
    )?;
    let path = folder.path.join("comparison.ron");
    write_atomic(&path, text.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    println!("comparison written to {}", path.display());
    Ok(())
}
