//! Measuring a model on the validation set: loss, accuracy, predictions, per-class precision and
//! recall, and the confusion matrix.

use crate::data::loader::{ImageCache, Sample, Transform, batch_indices, load_batch};
use crate::model::Network;
use burn::nn::Linear;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;

/// Accuracy and loss over a set, with the predictions for the report.
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub predictions: Vec<usize>,
    /// Each image's cross-entropy loss (for the galleries of worst mistakes).
    pub losses: Vec<f32>,
}

pub(crate) fn count_correct(logits: Tensor<2>, labels: &[i64]) -> usize {
    let predicted: Vec<i64> = logits
        .argmax(1)
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap_or_default();
    predicted.iter().zip(labels).filter(|(p, l)| p == l).count()
}

pub(crate) fn evaluate_logits(logits: Tensor<2>, labels: &[i64]) -> (f64, Vec<usize>, Vec<f32>) {
    let device = logits.device();
    let n = labels.len();
    let classes = logits.dims()[1];
    let log_probabilities = burn::tensor::activation::log_softmax(logits.clone(), 1)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    let losses = labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            -log_probabilities
                .get(i * classes + label as usize)
                .copied()
                .unwrap_or(f32::NAN)
        })
        .collect();
    let targets = Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [n]), &device);
    let loss = CrossEntropyLossConfig::new()
        .init(&device)
        .forward(logits.clone(), targets)
        .into_scalar::<f32>() as f64;
    let predicted: Vec<usize> = logits
        .argmax(1)
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap_or_default()
        .into_iter()
        .map(|p| p as usize)
        .collect();
    (loss * n as f64, predicted, losses)
}

pub(crate) fn evaluate_head(
    head: &Linear,
    samples: &[Sample],
    features: &[f32],
    dim: usize,
    device: &Device,
) -> Evaluation {
    let n = samples.len();
    let x = Tensor::<2>::from_data(TensorData::new(features.to_vec(), [n, dim]), device);
    let labels: Vec<i64> = samples.iter().map(|s| s.label as i64).collect();
    let (loss_sum, predictions, losses) = evaluate_logits(head.forward(x), &labels);
    summarize(samples, loss_sum, predictions, losses)
}

pub(crate) fn evaluate_network(
    network: &Network,
    samples: &[Sample],
    transform: &Transform,
    cache: &ImageCache,
    batch_size: usize,
    device: &Device,
) -> Result<Evaluation, String> {
    let (mut loss_sum, mut predictions, mut losses) = (0.0, Vec::new(), Vec::new());
    for indices in batch_indices(samples.len(), batch_size, None) {
        let batch = load_batch(samples, &indices, transform, cache, 0);
        if let Some((path, reason)) = batch.failures.first() {
            return Err(format!("{}: {reason}", path.display()));
        }
        let size = batch.size as usize;
        let labels: Vec<i64> = batch.labels.iter().map(|&l| l as i64).collect();
        let images = Tensor::<4>::from_data(
            TensorData::new(batch.images, [labels.len(), 3, size, size]),
            device,
        );
        let (loss, predicted, per_image) = evaluate_logits(network.forward(images), &labels);
        loss_sum += loss;
        predictions.extend(predicted);
        losses.extend(per_image);
    }
    Ok(summarize(samples, loss_sum, predictions, losses))
}

pub(crate) fn summarize(
    samples: &[Sample],
    loss_sum: f64,
    predictions: Vec<usize>,
    losses: Vec<f32>,
) -> Evaluation {
    let n = samples.len().max(1) as f64;
    let correct = samples
        .iter()
        .zip(&predictions)
        .filter(|(s, p)| s.label == **p)
        .count();
    Evaluation {
        loss: loss_sum / n,
        accuracy: correct as f64 / n,
        predictions,
        losses,
    }
}

/// Precision, recall and the confusion matrix (`[true][predicted]`).
pub(crate) fn per_class(
    samples: &[Sample],
    predictions: &[usize],
    classes: usize,
) -> (Vec<f64>, Vec<f64>, Vec<Vec<usize>>) {
    let mut confusion = vec![vec![0usize; classes]; classes];
    for (s, &p) in samples.iter().zip(predictions) {
        if s.label < classes && p < classes {
            confusion[s.label][p] += 1;
        }
    }
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    };
    let precision = (0..classes)
        .map(|c| ratio(confusion[c][c], (0..classes).map(|t| confusion[t][c]).sum()))
        .collect();
    let recall = (0..classes)
        .map(|c| ratio(confusion[c][c], confusion[c].iter().sum()))
        .collect();
    (precision, recall, confusion)
}
