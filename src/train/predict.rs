//! A trained run as a classifier: its best checkpoint, its classes and its preprocessing, applied
//! to any photos (the desktop app's Predict panel; export builds on it).

use super::experiment::Experiment;
use crate::data::dataset::Dataset;
use crate::data::loader::{ImageCache, Sample, Transform, load_batch};
use crate::data::preprocess::EvalTransform;
use crate::model::{Architecture, Network};
use burn::prelude::*;
use std::path::{Path, PathBuf};

/// A run's trained network, ready to classify photos.
pub struct TrainedModel {
    pub network: Network,
    pub experiment: Experiment,
    pub classes: Vec<String>,
    pub checkpoint: PathBuf,
    pub device: Device,
}

/// One photo's classes, most probable first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Classified {
    pub path: PathBuf,
    /// (class index, probability), sorted by probability, highest first.
    pub ranked: Vec<(usize, f32)>,
    pub logits: Vec<f32>,
}

impl TrainedModel {
    /// A bundle file (`.skiplane`) or a run folder.
    pub fn open(path: &Path, device: &Device) -> Result<TrainedModel, String> {
        if path.is_file() {
            crate::export::bundle::read_bundle(path, device)
        } else {
            TrainedModel::from_run(path, device)
        }
    }

    /// Loads `run_dir`'s best checkpoint (its last one if no epoch improved), with the classes
    /// and preprocessing it was trained with.
    pub fn from_run(run_dir: &Path, device: &Device) -> Result<TrainedModel, String> {
        let experiment_path = run_dir.join("experiment.ron");
        let text = std::fs::read_to_string(&experiment_path).map_err(|e| {
            format!(
                "{}: cannot read: {e} (is {} a run folder?)",
                experiment_path.display(),
                run_dir.display()
            )
        })?;
        let experiment: Experiment = ron::from_str(&text)
            .map_err(|e| format!("{}: not a valid experiment: {e}", experiment_path.display()))?;
        let split = Dataset::open(&run_dir.join("split.ron"), &experiment.split)
            .map_err(|e| e.to_string())?;
        let classes = split.classes.clone();
        let checkpoint = ["best", "last"]
            .iter()
            .map(|which| run_dir.join(format!("{which}.bpk")))
            .find(|path| path.is_file())
            .ok_or_else(|| {
                format!(
                    "{}: no checkpoint yet (best.bpk or last.bpk); the run has not finished an epoch",
                    run_dir.display()
                )
            })?;
        let arch = Architecture::resolve(&experiment.architecture)?.with_num_classes(classes.len());
        let network = Network::new(&arch, device)
            .map_err(|e| e.to_string())?
            .load_checkpoint(&checkpoint)?;
        Ok(TrainedModel {
            network,
            experiment,
            classes,
            checkpoint,
            device: device.clone(),
        })
    }

    pub fn transform(&self) -> Transform {
        Transform::Eval(EvalTransform::new(
            self.experiment.resize,
            self.experiment.image_size,
        ))
    }

    /// Classifies each photo; a photo that cannot be read gets its reason instead.
    pub fn classify(&self, paths: &[PathBuf]) -> Vec<Result<Classified, String>> {
        let samples: Vec<Sample> = paths
            .iter()
            .map(|path| Sample {
                path: path.clone(),
                label: 0,
            })
            .collect();
        let transform = self.transform();
        let cache = ImageCache::new(64 << 20);
        let mut out: Vec<Result<Classified, String>> = Vec::with_capacity(paths.len());
        let batch_size = self.experiment.batch_size.max(1);
        for start in (0..samples.len()).step_by(batch_size) {
            let indices: Vec<usize> = (start..(start + batch_size).min(samples.len())).collect();
            let batch = load_batch(&samples, &indices, &transform, &cache, 0);
            let mut results: Vec<Result<Classified, String>> = indices
                .iter()
                .map(|&i| Err(format!("{}: could not be read", paths[i].display())))
                .collect();
            for (path, reason) in &batch.failures {
                if let Some(k) = indices.iter().position(|&i| &paths[i] == path) {
                    results[k] = Err(format!("{}: {reason}", path.display()));
                }
            }
            if !batch.labels.is_empty() {
                let n = batch.labels.len();
                let size = batch.size as usize;
                let images = Tensor::<4>::from_data(
                    TensorData::new(batch.images, [n, 3, size, size]),
                    &self.device,
                );
                let logits = self.network.forward(images);
                let classes = logits.dims()[1];
                let probabilities = burn::tensor::activation::softmax(logits.clone(), 1);
                let logits = logits
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .unwrap_or_default();
                let probabilities = probabilities
                    .into_data()
                    .convert::<f32>()
                    .try_to_vec::<f32>()
                    .unwrap_or_default();
                for (row, &i) in batch.indices.iter().enumerate() {
                    let k = indices.iter().position(|&x| x == i).unwrap_or(row);
                    let p = &probabilities[row * classes..(row + 1) * classes];
                    let mut ranked: Vec<(usize, f32)> = p.iter().copied().enumerate().collect();
                    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
                    results[k] = Ok(Classified {
                        path: paths[i].clone(),
                        ranked,
                        logits: logits[row * classes..(row + 1) * classes].to_vec(),
                    });
                }
            }
            out.extend(results);
        }
        out
    }
}
