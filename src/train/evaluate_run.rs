//! Evaluating a finished (or interrupted) run's best checkpoint: on its own validation images, or
//! on another folder of photos sorted into the same classes.

use super::evaluate::{evaluate_network, per_class};
use super::events::Prediction;
use super::experiment::Experiment;
use super::predict::TrainedModel;
use crate::data::dataset::Dataset;
use crate::data::loader::{ImageCache, Sample};
use crate::data::split::Subset;
use burn::prelude::Device;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize)]
pub struct RunEvaluation {
    pub checkpoint: PathBuf,
    /// The run's validation split, or the folder given.
    pub dataset: PathBuf,
    pub classes: Vec<String>,
    pub loss: f64,
    pub accuracy: f64,
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    pub predictions: Vec<Prediction>,
}

/// Evaluates `run_dir`'s best checkpoint (its last one if no epoch improved) on `data`, or on the
/// run's validation images when `data` is `None`.
pub fn evaluate_run(
    run_dir: &Path,
    data: Option<&Path>,
    device: &Device,
) -> Result<RunEvaluation, String> {
    let model = TrainedModel::from_run(run_dir, device)?;
    let (experiment, classes) = (&model.experiment, model.classes.clone());
    let split_path = run_dir.join("split.ron");
    let (samples, dataset) = match data {
        None => {
            let split = Dataset::open(&split_path, &experiment.split).map_err(|e| e.to_string())?;
            (split.samples(Subset::Validation), split_path)
        }
        Some(folder) => (
            samples_in_classes(folder, experiment, &classes)?,
            folder.to_path_buf(),
        ),
    };
    if samples.is_empty() {
        return Err(format!("{}: no images to evaluate", dataset.display()));
    }
    let transform = model.transform();
    let cache = ImageCache::new(256 << 20);
    let evaluation = evaluate_network(
        &model.network,
        &samples,
        &transform,
        &cache,
        experiment.batch_size,
        device,
    )?;
    let (precision, recall, confusion) =
        per_class(&samples, &evaluation.predictions, classes.len());
    let predictions = samples
        .iter()
        .zip(evaluation.predictions.iter().zip(&evaluation.losses))
        .map(|(sample, (&predicted, &loss))| Prediction {
            path: sample.path.clone(),
            label: sample.label,
            predicted,
            loss,
        })
        .collect();
    Ok(RunEvaluation {
        checkpoint: model.checkpoint.clone(),
        dataset,
        classes,
        loss: evaluation.loss,
        accuracy: evaluation.accuracy,
        precision,
        recall,
        confusion,
        predictions,
    })
}

/// Every image of a class-folder tree, labelled by the run's class indices. A class the model
/// does not know is an error (its images cannot be scored); classes missing from the folder are
/// fine.
fn samples_in_classes(
    folder: &Path,
    experiment: &Experiment,
    classes: &[String],
) -> Result<Vec<Sample>, String> {
    let dataset = Dataset::open(folder, &experiment.split).map_err(|e| e.to_string())?;
    let unknown: Vec<&String> = dataset
        .classes
        .iter()
        .filter(|c| !classes.contains(c))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "{}: classes {} are not ones the model knows ({})",
            folder.display(),
            unknown
                .iter()
                .map(|c| format!("{c:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            classes.join(", ")
        ));
    }
    let mut samples = dataset.samples(Subset::Train);
    samples.extend(dataset.samples(Subset::Validation));
    for sample in &mut samples {
        let name = &dataset.classes[sample.label];
        sample.label = classes.iter().position(|c| c == name).unwrap_or(0);
    }
    samples.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(samples)
}
