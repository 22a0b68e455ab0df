use crate::backend::select_and_log;
use crate::train::evaluate_run::evaluate_run;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// A run folder (from `skiplane train`).
    pub run_dir: PathBuf,
    /// Evaluate on this folder of class folders instead of the run's validation images.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Print the evaluation as JSON (with every image's prediction).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: EvaluateArgs) -> anyhow::Result<()> {
    let device = select_and_log()?;
    let evaluation = evaluate_run(&args.run_dir, args.data.as_deref(), &device.device)
        .map_err(anyhow::Error::msg)?;
    if args.json {
        println!("{}", serde_json::to_string(&evaluation)?);
        return Ok(());
    }
    println!(
        "{} on {} ({} images): accuracy {:.3}, loss {:.4}\n",
        evaluation.checkpoint.display(),
        evaluation.dataset.display(),
        evaluation.predictions.len(),
        evaluation.accuracy,
        evaluation.loss
    );
    let width = evaluation
        .classes
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:<width$} {:>9} {:>7}  confusion (rows: true, columns: predicted)",
        "class", "precision", "recall"
    );
    for (i, class) in evaluation.classes.iter().enumerate() {
        let row: Vec<String> = evaluation.confusion[i]
            .iter()
            .map(|n| format!("{n:>4}"))
            .collect();
        println!(
            "{class:<width$} {:>9.3} {:>7.3}  {}",
            evaluation.precision[i],
            evaluation.recall[i],
            row.join("")
        );
    }
    let mistakes: Vec<_> = evaluation
        .predictions
        .iter()
        .filter(|p| p.label != p.predicted)
        .collect();
    if !mistakes.is_empty() {
        println!("\nmistakes:");
        for p in mistakes {
            println!(
                "  {}: {} taken for {}",
                p.path.display(),
                evaluation.classes[p.label],
                evaluation.classes[p.predicted]
            );
        }
    }
    Ok(())
}
