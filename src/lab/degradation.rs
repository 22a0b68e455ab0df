//! Degradation: the observation that started ResNet. A deeper plain network ends with *higher
//! training* error than a shallower one — not overfitting, an optimization failure — while the
//! same depths with skip connections train at least as well as the shallow one. Trained here from
//! scratch on the same photos (shrunk to CIFAR's 32x32), same seed and schedule, and the training
//! loss and error recorded per epoch.

use super::data::LabData;
use crate::model::{Architecture, Network};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::Device;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct DegradationSettings {
    /// The two depths of the CIFAR family compared (20 and 56 in the paper's Figure 1).
    pub depths: [usize; 2],
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

impl Default for DegradationSettings {
    fn default() -> Self {
        DegradationSettings {
            depths: [20, 56],
            epochs: 20,
            batch_size: 32,
            learning_rate: 0.02,
            seed: 7,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EpochPoint {
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub loss: f64,
    /// Fraction of training images misclassified during the epoch.
    pub error: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Curve {
    /// `plain20`, `resnet56`, …
    pub name: String,
    pub points: Vec<EpochPoint>,
    pub seconds: f64,
}

impl Curve {
    /// Mean training error of the last three epochs (less noisy than the last one alone).
    pub fn final_error(&self) -> f64 {
        let tail: Vec<f64> = self.points.iter().rev().take(3).map(|p| p.error).collect();
        tail.iter().sum::<f64>() / tail.len().max(1) as f64
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Degradation {
    pub settings: DegradationSettings,
    /// plain-shallow, plain-deep, resnet-shallow, resnet-deep.
    pub curves: Vec<Curve>,
    /// The paper's outcome: the deep plain net ends with higher training error than the shallow
    /// one, and the deep residual net at or below the shallow one (within one image's worth).
    pub held: bool,
}

/// Trains `name` from scratch on all of `data` and records its training curve.
pub fn train_curve(
    name: &str,
    data: &LabData,
    settings: &DegradationSettings,
    device: &Device,
    on_epoch: &mut dyn FnMut(&str, &EpochPoint),
) -> Result<Curve, String> {
    let arch = Architecture::resolve(name)?.with_num_classes(data.classes.len());
    device.seed(settings.seed);
    let training = Device::autodiff(device.clone());
    let mut network = Network::new(&arch, &training).map_err(|e| e.to_string())?;
    let loss_fn = CrossEntropyLossConfig::new().init(&training);
    let mut optimizer = super::sgd_with_momentum(Some(1e-4));
    let started = Instant::now();
    let batches = data.len().div_ceil(settings.batch_size.max(1));
    let mut points = Vec::with_capacity(settings.epochs);
    for epoch in 0..settings.epochs {
        let (mut loss_sum, mut wrong, mut seen) = (0.0, 0usize, 0usize);
        for b in 0..batches {
            // A different, seeded order of the photos every epoch.
            let (images, labels) =
                data.shuffled_batch(settings.seed, epoch, b, settings.batch_size, &training);
            let n = labels.dims()[0];
            let logits = network.forward(images);
            let predicted = logits.clone().inner().argmax(1).flatten::<1>(0, 1);
            wrong += predicted
                .not_equal(labels.clone().inner())
                .int()
                .sum()
                .into_scalar::<i64>() as usize;
            let loss = loss_fn.forward(logits, labels);
            let value = loss.clone().into_scalar::<f32>() as f64;
            if !value.is_finite() {
                return Err(format!(
                    "{name}: the loss diverged in epoch {} (lower the learning rate)",
                    epoch + 1
                ));
            }
            loss_sum += value * n as f64;
            seen += n;
            let grads = GradientsParams::from_grads(loss.backward(), &network);
            network = optimizer.step(settings.learning_rate, network, grads);
        }
        let point = EpochPoint {
            epoch: epoch + 1,
            loss: loss_sum / seen.max(1) as f64,
            error: wrong as f64 / seen.max(1) as f64,
        };
        on_epoch(name, &point);
        points.push(point);
    }
    Ok(Curve {
        name: name.to_string(),
        points,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The four curves and whether the paper's outcome held.
pub fn run(
    data: &LabData,
    settings: &DegradationSettings,
    device: &Device,
    on_epoch: &mut dyn FnMut(&str, &EpochPoint),
) -> Result<Degradation, String> {
    let [shallow, deep] = settings.depths;
    if settings.batch_size == 0 || settings.epochs == 0 {
        return Err("the batch size and the number of epochs must be at least 1".into());
    }
    if shallow >= deep {
        return Err(format!(
            "depths {shallow} and {deep}: the second must be deeper"
        ));
    }
    let names = [
        format!("plain{shallow}"),
        format!("plain{deep}"),
        format!("resnet{shallow}"),
        format!("resnet{deep}"),
    ];
    let mut curves = Vec::with_capacity(4);
    for name in &names {
        curves.push(train_curve(name, data, settings, device, on_epoch)?);
    }
    let one_image = 1.0 / data.len().max(1) as f64;
    let held = curves[1].final_error() > curves[0].final_error()
        && curves[3].final_error() <= curves[2].final_error() + one_image;
    Ok(Degradation {
        settings: settings.clone(),
        curves,
        held,
    })
}

/// What the four curves say, whether or not they reproduce the paper.
impl Degradation {
    pub fn reading(&self) -> String {
        let result = self;
        let [s, d] = result.settings.depths;
        let e: Vec<f64> = result
            .curves
            .iter()
            .map(|c| 100.0 * c.final_error())
            .collect();
        let measured = format!(
            "plain{s} {:.1}%, plain{d} {:.1}%, resnet{s} {:.1}%, resnet{d} {:.1}% training error after {} epochs",
            e[0], e[1], e[2], e[3], result.settings.epochs
        );
        if result.held {
            format!(
                "Reading: degradation reproduced ({measured}). The deeper plain net fits its own training photos \
             worse than the shallower one — more layers, yet harder to optimize — while with skip connections \
             the deeper net does at least as well: each block only has to learn a residual on top of the \
             identity, so extra depth cannot make it worse."
            )
        } else {
            format!(
                "Reading: the paper's outcome did not show with these settings ({measured}). On so few photos and \
             epochs the curves are noisy; more epochs or more photos usually separate them."
            )
        }
    }
}
