//! Degradation: the observation that started ResNet. A deeper plain network ends with *higher
//! training* error than a shallower one — not overfitting, an optimization failure — while the
//! same depths with skip connections train at least as well as the shallow one. Trained here from
//! scratch on the same photos (shrunk to a small square, 16x16 by default so that it runs in a
//! couple of minutes on a laptop CPU), same seed, optimizer and schedule as the paper's CIFAR
//! runs scaled down, and the training loss and error recorded per epoch.

use super::data::LabData;
use crate::model::{Architecture, Network};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::Device;
use serde::{Deserialize, Serialize};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DegradationSettings {
    /// The two depths of the CIFAR family compared (20 and 56 in the paper's Figure 1).
    pub depths: [usize; 2],
    /// The photos are shrunk to this many pixels square (CIFAR's are 32).
    pub image_size: usize,
    pub epochs: usize,
    pub batch_size: usize,
    /// The starting learning rate (see [`learning_rate`] for the schedule).
    pub learning_rate: f64,
    pub seed: u64,
    /// The residual nets start each residual branch at zero (torchvision's `zero_init_residual`),
    /// so ResNet-56 begins as easy to train as ResNet-20. Without it the deep residual net needs
    /// far more steps than a few minutes allow to catch up (the paper trained 64,000 steps).
    /// A plain net cannot do this: with no shortcut, a zeroed branch would pass nothing on.
    pub zero_init_residual: bool,
}

/// Chosen so that the whole experiment (four nets, the 123 sample photos) finishes well within five
/// minutes on a 2-core CPU and shows the paper's outcome: plain-56 ends above plain-20, ResNet-56
/// at or below ResNet-20 (`skiplane bench lab` measures both; the README has the figures). At 32x32
/// the same 60 epochs take four times as long; fewer epochs at 32x32 leave every net too far from
/// converged for the comparison to mean anything (measured: the residual pair then differs by
/// chance, seed to seed).
impl Default for DegradationSettings {
    fn default() -> Self {
        DegradationSettings {
            depths: [20, 56],
            image_size: 16,
            epochs: 60,
            batch_size: 32,
            learning_rate: 0.1,
            seed: 7,
            zero_init_residual: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochPoint {
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub loss: f64,
    /// Fraction of training images misclassified during the epoch.
    pub error: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Degradation {
    pub settings: DegradationSettings,
    /// plain-shallow, plain-deep, resnet-shallow, resnet-deep.
    pub curves: Vec<Curve>,
    /// The paper's outcome: the deep plain net ends with higher training error than the shallow
    /// one, and the deep residual net at or below the shallow one (within one image's worth).
    pub held: bool,
    /// How many photos, at what size (pixels square).
    pub photos: usize,
    pub image_size: usize,
    /// Wall time of the whole experiment (the nets train side by side, so their own times
    /// overlap).
    pub seconds: f64,
}

/// What a net reports when it stopped because another one failed.
const STOPPED: &str = "stopped because another net failed";

/// One of the four nets, initialized and ready to train.
struct Contender {
    name: String,
    network: Network,
}

/// Builds `name` (its head resized to the data's classes) from the settings' seed, so its
/// initialization does not depend on what else is initialized or trained.
fn initialize(
    name: &str,
    classes: usize,
    settings: &DegradationSettings,
    training: &Device,
) -> Result<Contender, String> {
    let mut arch = Architecture::resolve(name)?.with_num_classes(classes);
    if let Architecture::ResNet(config) = &mut arch {
        config.zero_init_residual = settings.zero_init_residual;
    }
    training.seed(settings.seed);
    let network = Network::new(&arch, training).map_err(|e| e.to_string())?;
    Ok(Contender {
        name: name.to_string(),
        network,
    })
}

/// The paper's schedule, scaled to the epochs: the learning rate divided by 10 at half the
/// training and again at three quarters (32k and 48k of 64k iterations in He et al.).
pub fn learning_rate(settings: &DegradationSettings, epoch: usize) -> f64 {
    let base = settings.learning_rate;
    if 4 * epoch >= 3 * settings.epochs {
        base / 100.0
    } else if 2 * epoch >= settings.epochs {
        base / 10.0
    } else {
        base
    }
}

/// Trains one net on all of `data` and records its training curve.
fn train_curve(
    contender: Contender,
    data: &LabData,
    settings: &DegradationSettings,
    training: &Device,
    stop: &AtomicBool,
    on_epoch: &(dyn Fn(&str, &EpochPoint) + Sync),
) -> Result<Curve, String> {
    let Contender { name, mut network } = contender;
    let loss_fn = CrossEntropyLossConfig::new().init(training);
    let mut optimizer = super::sgd_with_momentum(Some(1e-4));
    let started = Instant::now();
    let batches = data.len().div_ceil(settings.batch_size.max(1));
    let mut points = Vec::with_capacity(settings.epochs);
    for epoch in 0..settings.epochs {
        let (mut loss_sum, mut wrong, mut seen) = (0.0, 0usize, 0usize);
        for b in 0..batches {
            if stop.load(Ordering::Relaxed) {
                return Err(STOPPED.into());
            }
            // A different, seeded order of the photos every epoch, the same for every net.
            let (images, labels) =
                data.shuffled_batch(settings.seed, epoch, b, settings.batch_size, training);
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
            network = optimizer.step(learning_rate(settings, epoch), network, grads);
        }
        let point = EpochPoint {
            epoch: epoch + 1,
            loss: loss_sum / seen.max(1) as f64,
            error: wrong as f64 / seen.max(1) as f64,
        };
        on_epoch(&name, &point);
        points.push(point);
    }
    Ok(Curve {
        name,
        points,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The four curves and whether the paper's outcome held. The nets train side by side, one thread
/// per core (up to four): training one of these small nets kept only one of two cores busy on
/// Burn's CPU backend here, so two at a time about halve the wall time (measured with the
/// defaults: the nets' own times add up to 246 s, the experiment took 124 s). `on_epoch` hears
/// every finished epoch, from whichever net finished it. If a net fails, the others stop at their
/// next batch and its error is returned.
pub fn run(
    data: &LabData,
    settings: &DegradationSettings,
    device: &Device,
    on_epoch: &(dyn Fn(&str, &EpochPoint) + Sync),
) -> Result<Degradation, String> {
    let [shallow, deep] = settings.depths;
    if data.image_size != settings.image_size {
        return Err(format!(
            "the photos were loaded at {} pixels, the settings say {}",
            data.image_size, settings.image_size
        ));
    }
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
    let started = Instant::now();
    let training = Device::autodiff(device.clone());
    // Initialized one after the other (the device's random generator is shared), and queued so
    // that the deep nets, popped first, train side by side while the short ones fill in after.
    let mut queue = Vec::with_capacity(4);
    for name in [&names[0], &names[2], &names[1], &names[3]] {
        queue.push(initialize(name, data.classes.len(), settings, &training)?);
    }
    let queue = std::sync::Mutex::new(queue);
    // Set when a net fails, so the others stop at their next batch instead of training on.
    let stop = AtomicBool::new(false);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(names.len());
    let finished: Vec<Result<Curve, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut curves = Vec::new();
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop();
                        let Some(contender) = next else { break };
                        let curve = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            train_curve(contender, data, settings, &training, &stop, on_epoch)
                        }))
                        .unwrap_or_else(|panic| Err(crate::logging::panic_message(&*panic)));
                        if curve.is_err() {
                            // Leave the rest: the experiment has failed.
                            stop.store(true, Ordering::Relaxed);
                            queue.lock().unwrap_or_else(|e| e.into_inner()).clear();
                        }
                        curves.push(curve);
                    }
                    curves
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| vec![Err(crate::logging::panic_message(&*panic))])
            })
            .collect()
    });
    let (mut curves, mut errors) = (Vec::with_capacity(4), Vec::new());
    for curve in finished {
        match curve {
            Ok(curve) => curves.push(curve),
            Err(error) => errors.push(error),
        }
    }
    // The failure itself, not the nets it stopped.
    if let Some(error) = errors
        .iter()
        .find(|e| e.as_str() != STOPPED)
        .or(errors.first())
    {
        return Err(error.clone());
    }
    if curves.len() != names.len() {
        return Err("the experiment stopped before every net was trained".into());
    }
    curves.sort_by_key(|c| names.iter().position(|n| *n == c.name));
    let one_image = 1.0 / data.len().max(1) as f64;
    let held = curves[1].final_error() > curves[0].final_error()
        && curves[3].final_error() <= curves[2].final_error() + one_image;
    Ok(Degradation {
        settings: settings.clone(),
        curves,
        held,
        photos: data.len(),
        image_size: data.image_size,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What the four curves say, whether or not they reproduce the paper.
impl Degradation {
    pub fn reading(&self) -> String {
        let result = self;
        let [s, d] = result.settings.depths;
        if result.curves.len() != 4 {
            return format!(
                "Reading: this result has {} training curves, not the four (plain and residual, two depths) it needs.",
                result.curves.len()
            );
        }
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
             identity{}, so the extra layers do not make the net harder to optimize.",
                if result.settings.zero_init_residual {
                    " (here every residual branch started at zero)"
                } else {
                    ""
                }
            )
        } else if !result.settings.zero_init_residual {
            format!(
                "Reading: the paper's outcome did not show with these settings ({measured}). With residual \
             branches starting at full size, the deep residual net needs many more steps than this to \
             catch up; start them at zero (zero_init_residual) or train longer."
            )
        } else {
            format!(
                "Reading: the paper's outcome did not show with these settings ({measured}). On so few photos and \
             epochs the curves are noisy; more epochs or more photos usually separate them."
            )
        }
    }
}
