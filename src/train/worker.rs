//! The training worker: a named thread that trains one experiment, reports typed events and obeys
//! typed commands. A failure ends the run with a message and never takes the caller down.

use super::evaluate::{Evaluation, count_correct, evaluate_head, evaluate_network, per_class};
use super::events::{EpochMetrics, Report, TrainCommand, TrainEvent};
use super::experiment::{Experiment, OptimizerChoice, TrainingMode};
use super::memory::{self, MemoryMeter};
use super::run_folder::RunFolder;
use crate::backend::SelectedDevice;
use crate::data::dataset::Dataset;
use crate::data::loader::{ImageCache, Sample, Transform, batch_indices, load_batch};
use crate::data::preprocess::EvalTransform;
use crate::data::split::Subset;
use crate::model::{Architecture, Network, inspect};
use burn::module::Module;
use burn::nn::Linear;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    AdamWConfig, GradientsParams, ModuleOptimizer, OptimizerRecord, SgdConfig,
    decay::WeightDecayConfig,
};
use burn::prelude::*;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::Instant;

/// A running training: its events, and a way to send it commands.
pub struct TrainingHandle {
    pub events: Receiver<TrainEvent>,
    commands: Sender<TrainCommand>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TrainingHandle {
    pub fn send(&self, command: TrainCommand) {
        let _ = self.commands.send(command); // a finished worker no longer listens
    }

    /// Waits for the worker to end.
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts training `experiment` on `device`, writing into `run`.
pub fn start_training(
    experiment: Experiment,
    run: RunFolder,
    device: SelectedDevice,
) -> std::io::Result<TrainingHandle> {
    spawn_worker(experiment, run, device, None)
}

/// Continues the run in `run` (its experiment, split and `last.bpk` checkpoint) after the epochs in
/// its metrics, with the optimizer state (momentum, Adam moments) saved after that epoch, so the
/// resumed run continues exactly as the uninterrupted one would have.
pub fn resume_training(run: RunFolder, device: SelectedDevice) -> Result<TrainingHandle, String> {
    let read = |name: &str| {
        let path = run.path.join(name);
        std::fs::read_to_string(&path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
    };
    let mut experiment: Experiment = ron::from_str(&read("experiment.ron")?).map_err(|e| {
        format!(
            "{}: not a valid experiment: {e}",
            run.path.join("experiment.ron").display()
        )
    })?;
    let history: Vec<EpochMetrics> = ron::from_str(&read("metrics.ron")?).map_err(|e| {
        format!(
            "{}: damaged metrics: {e}",
            run.path.join("metrics.ron").display()
        )
    })?;
    if history.len() >= experiment.epochs {
        return Err(format!(
            "{}: all {} epochs are done already",
            run.path.display(),
            experiment.epochs
        ));
    }
    if !run.checkpoint_path("last").is_file() {
        return Err(format!(
            "{}: no last.bpk checkpoint to resume from",
            run.path.display()
        ));
    }
    // Train on exactly the images the run started with.
    experiment.dataset = run.path.join("split.ron");
    spawn_worker(experiment, run, device, Some(history)).map_err(|e| e.to_string())
}

fn spawn_worker(
    experiment: Experiment,
    run: RunFolder,
    device: SelectedDevice,
    resumed: Option<Vec<EpochMetrics>>,
) -> std::io::Result<TrainingHandle> {
    let (event_sender, events) = channel();
    let (commands, command_receiver) = channel();
    let thread = std::thread::Builder::new()
        .name("skiplane-train".into())
        .spawn(move || {
            let meter = MemoryMeter::start(&device.device);
            let mut worker = Worker {
                experiment,
                run,
                device,
                events: event_sender,
                commands: command_receiver,
                stop_after_epoch: false,
                resumed,
                meter,
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| worker.train()))
                .unwrap_or_else(|panic| {
                    Err(format!("the training crashed: {}", panic_message(&panic)))
                });
            match outcome {
                Ok(report) => {
                    let _ = worker.run.write_status(&report.ended);
                    let _ = worker.events.send(TrainEvent::Finished(report));
                }
                Err(reason) => {
                    let reason = with_advice(reason, &worker.experiment);
                    let _ = worker.run.write_status(&format!("failed: {reason}"));
                    let _ = worker.events.send(TrainEvent::Failed(reason));
                }
            }
        })?;
    Ok(TrainingHandle {
        events,
        commands,
        thread: Some(thread),
    })
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = crate::logging::panic_message(panic.as_ref());
    if text.to_ascii_lowercase().contains("memory") || text.contains("alloc") {
        format!("{text} (out of memory? try a smaller batch size or image size)")
    } else {
        text
    }
}

/// What the command channel says to do at a batch boundary.
enum Flow {
    Continue,
    StopNow,
}

struct Worker {
    experiment: Experiment,
    run: RunFolder,
    device: SelectedDevice,
    events: Sender<TrainEvent>,
    commands: Receiver<TrainCommand>,
    stop_after_epoch: bool,
    /// The finished epochs of a run being resumed.
    resumed: Option<Vec<EpochMetrics>>,
    meter: MemoryMeter,
}

impl Worker {
    fn emit(&self, event: TrainEvent) {
        let _ = self.events.send(event);
    }

    fn poll_commands(&mut self) -> Flow {
        loop {
            match self.commands.try_recv() {
                Ok(TrainCommand::StopNow) => return Flow::StopNow,
                Ok(TrainCommand::StopAfterEpoch) => self.stop_after_epoch = true,
                Ok(TrainCommand::Resume) => {}
                Ok(TrainCommand::Pause) => loop {
                    // Paused: wait for the next command without spinning.
                    match self.commands.recv() {
                        Ok(TrainCommand::Resume) => break,
                        Ok(TrainCommand::StopNow) | Err(_) => return Flow::StopNow,
                        Ok(TrainCommand::StopAfterEpoch) => self.stop_after_epoch = true,
                        Ok(TrainCommand::Pause) => {}
                    }
                },
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => {
                    return Flow::Continue;
                }
            }
        }
    }

    fn train(&mut self) -> Result<Report, String> {
        let exp = self.experiment.clone();
        let device = self.device.device.clone();
        device.seed(exp.seed);
        let dataset = Dataset::open(&exp.dataset, &exp.split).map_err(|e| e.to_string())?;
        let classes = dataset.classes.clone();
        if classes.len() < 2 {
            return Err(format!(
                "{}: needs at least two classes with images",
                exp.dataset.display()
            ));
        }
        let train = dataset.samples(Subset::Train);
        let validation = dataset.samples(Subset::Validation);
        if train.is_empty() || validation.is_empty() {
            return Err(format!(
                "{}: the split left no training or no validation images",
                exp.dataset.display()
            ));
        }
        if self.resumed.is_none() {
            self.run.write_experiment(&exp)?;
            self.run.write_split(&dataset.manifest)?;
        }
        self.run.write_status("preparing")?;

        let arch = Architecture::resolve(&exp.architecture)?.with_num_classes(classes.len());
        let plan = inspect(&arch, exp.image_size as usize).map_err(|e| e.to_string())?;
        let training_device = Device::autodiff(device.clone());
        let build_on = match exp.mode {
            TrainingMode::FrozenBackbone => &device,
            TrainingMode::FineTune | TrainingMode::UnfreezeLast(_) => &training_device,
        };
        let mut network = Network::new(&arch, build_on).map_err(|e| e.to_string())?;
        let mut notes = Vec::new();
        let mut head_loaded = false;
        if let Some(done) = &self.resumed {
            let checkpoint = self.run.checkpoint_path("last");
            network = network.load_checkpoint(&checkpoint)?;
            head_loaded = true;
            let roles = self.optimizer_roles();
            let saved = roles
                .iter()
                .all(|role| self.run.optimizer_state_path(done.len(), role).is_file());
            notes.push(if saved {
                format!("resumed after epoch {} from last.bpk and the optimizer state", done.len())
            } else {
                format!(
                    "resumed after epoch {} from last.bpk; no optimizer state was saved for it, so momentum starts afresh",
                    done.len()
                )
            });
        } else if let Some(weights) = &exp.weights {
            let path = resolve_weights(weights)?;
            let sha256 = crate::files::sha256_file(&path)
                .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
            self.run.write_provenance(Some((&path, &sha256)))?;
            let report = crate::weights::load_torchvision(&mut network, &arch, &path)
                .map_err(|e| e.to_string())?;
            head_loaded = report.head_loaded;
            notes.extend(report.notes);
        } else {
            self.run.write_provenance(None)?;
            notes.push(if exp.mode == TrainingMode::FrozenBackbone {
                "no pretrained weights and a frozen backbone: only the head learns, on random features (use FineTune to train from scratch)".into()
            } else {
                "no pretrained weights: training from scratch".into()
            });
        }
        if !head_loaded {
            network = network.with_seeded_head(classes.len(), exp.seed, build_on);
        }
        if let TrainingMode::UnfreezeLast(n) = exp.mode {
            network = network.freeze_all_but_last(n);
            notes.push(format!(
                "training the last {n} of {} stages and the head",
                network.stage_count()
            ));
        }
        match (exp.mode, &exp.augmentation) {
            (TrainingMode::FrozenBackbone, None) if !exp.cache_features => notes.push(
                "frozen backbone without the feature cache (cache_features: false): the backbone runs over every image every epoch".into(),
            ),
            (TrainingMode::FrozenBackbone, None) => notes.push(
                "frozen backbone: features are computed once and cached; later epochs train only the head".into(),
            ),
            (TrainingMode::FrozenBackbone, Some(_)) => notes.push(
                "frozen backbone with augmentation: backbone features are recomputed every epoch (no feature cache)".into(),
            ),
            _ => {}
        }
        let estimated_memory_bytes = estimated_memory(&plan, &exp, train.len() + validation.len());
        if let Some(available) = memory::available_system_memory()
            && self.meter.kind() == Some(memory::MemoryKind::ProcessResident)
            && estimated_memory_bytes > available
        {
            notes.push(format!(
                "warning: this run is estimated to need {} MiB but only {} MiB of memory is free; if it fails, use a smaller batch_size (now {}) or image_size (now {})",
                estimated_memory_bytes >> 20,
                available >> 20,
                exp.batch_size,
                exp.image_size
            ));
        }
        self.emit(TrainEvent::Started {
            device: self.device.description.clone(),
            classes: classes.clone(),
            train_images: train.len(),
            validation_images: validation.len(),
            estimated_memory_bytes,
            notes,
        });

        let transform = Transform::Eval(EvalTransform::new(exp.resize, exp.image_size));
        let train_transform = match &exp.augmentation {
            Some(augmentation) => Transform::Train {
                augmentation: crate::data::augment::Augmentation {
                    size: exp.image_size,
                    ..augmentation.clone()
                },
                seed: exp.seed,
            },
            None => transform.clone(),
        };
        let cache = ImageCache::new(1 << 30);
        let parameters = network.parameter_count();
        let (trainable_parameters, history, evaluation, ended) = match exp.mode {
            TrainingMode::FrozenBackbone => {
                let started = Instant::now();
                let train_features =
                    self.features(&network, &train, &train_transform, &cache, &device, 0)?;
                let validation_features =
                    self.features(&network, &validation, &transform, &cache, &device, 0)?;
                let head = head_of(&network).clone().train(); // autodiff on, on the training device
                let trainable = head.num_params();
                let features_seconds = started.elapsed().as_secs_f64();
                let (history, evaluation, ended) = self.train_head(
                    &network,
                    head,
                    (&train, train_features),
                    (&validation, &validation_features),
                    (
                        (exp.augmentation.is_some() || !exp.cache_features)
                            .then_some(&train_transform),
                        &cache,
                    ),
                    features_seconds,
                    &training_device,
                    &device,
                )?;
                (trainable, history, evaluation, ended)
            }
            TrainingMode::FineTune | TrainingMode::UnfreezeLast(_) => {
                let trainable = trainable_parameters(&plan, exp.mode);
                let (history, evaluation, ended) = self.fine_tune(
                    network,
                    &train,
                    &validation,
                    (&train_transform, &transform),
                    &cache,
                    &device,
                )?;
                (trainable, history, evaluation, ended)
            }
        };
        // The first epoch that reached the best accuracy (the one the best checkpoint holds).
        let best = history
            .iter()
            .fold(None::<&EpochMetrics>, |best, m| match best {
                Some(b) if b.validation_accuracy >= m.validation_accuracy => Some(b),
                _ => Some(m),
            })
            .cloned();
        let (precision, recall, confusion) =
            per_class(&validation, &evaluation.predictions, classes.len());
        let validation_predictions = validation
            .iter()
            .zip(evaluation.predictions.iter().zip(&evaluation.losses))
            .map(|(sample, (&predicted, &loss))| super::events::Prediction {
                path: sample.path.clone(),
                label: sample.label,
                predicted,
                loss,
            })
            .collect();
        let seconds: f64 = history.iter().map(|m| m.seconds).sum();
        let report = Report {
            classes,
            epochs_run: history.len(),
            best_epoch: best.as_ref().map_or(0, |m| m.epoch),
            best_validation_accuracy: best.as_ref().map_or(0.0, |m| m.validation_accuracy),
            final_validation_accuracy: evaluation.accuracy,
            precision,
            recall,
            confusion,
            parameters,
            trainable_parameters,
            gflops: plan.gflops(),
            seconds_per_epoch: seconds / history.len().max(1) as f64,
            // Over the whole run, so cached epochs do not inflate it.
            train_images_per_second: (train.len() * history.len()) as f64 / seconds.max(1e-9),
            baseline_memory_bytes: self.meter.baseline_bytes(),
            peak_memory_bytes: self.meter.peak_bytes(),
            memory_kind: self.meter.kind().unwrap_or_default(),
            estimated_memory_bytes,
            ended,
            validation_predictions,
        };
        self.run.write_report(&report)?;
        Ok(report)
    }

    /// Backbone features of every sample, on the plain (inference) device, in batches.
    fn features(
        &mut self,
        network: &Network,
        samples: &[Sample],
        transform: &Transform,
        cache: &ImageCache,
        device: &Device,
        epoch: u64,
    ) -> Result<Vec<f32>, String> {
        let mut features = Vec::new();
        let batches = batch_indices(samples.len(), self.experiment.batch_size, None);
        for indices in &batches {
            if let Flow::StopNow = self.poll_commands() {
                return Err("stopped by the user before training started".into());
            }
            let batch = load_batch(samples, indices, transform, cache, epoch);
            if let Some((path, reason)) = batch.failures.first() {
                return Err(format!("{}: {reason}", path.display()));
            }
            let size = batch.size as usize;
            let images = Tensor::<4>::from_data(
                TensorData::new(batch.images, [batch.labels.len(), 3, size, size]),
                device,
            );
            let out = network.features(images).into_data().convert::<f32>();
            self.meter.sample();
            features.extend(out.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?);
        }
        Ok(features)
    }

    fn optimizer(&self) -> ModuleOptimizer {
        let exp = &self.experiment;
        match exp.optimizer {
            OptimizerChoice::Sgd { momentum } => SgdConfig::new()
                .with_momentum((momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(momentum)
                        .with_dampening(0.0)
                }))
                .with_weight_decay(
                    (exp.weight_decay > 0.0)
                        .then(|| WeightDecayConfig::new(exp.weight_decay as f32)),
                )
                .init(),
            OptimizerChoice::AdamW => AdamWConfig::new()
                .with_weight_decay(exp.weight_decay as f32)
                .init(),
        }
    }

    /// Trains the head on cached features; `features_seconds` (the one backbone pass) is counted
    /// in the first epoch's time.
    #[allow(clippy::too_many_arguments)]
    fn train_head(
        &mut self,
        network: &Network,
        mut head: Linear,
        (train, mut train_features): (&[Sample], Vec<f32>),
        (validation, validation_features): (&[Sample], &[f32]),
        (recompute_with, cache): (Option<&Transform>, &ImageCache),
        features_seconds: f64,
        training_device: &Device,
        device: &Device,
    ) -> Result<(Vec<EpochMetrics>, Evaluation, String), String> {
        let exp = self.experiment.clone();
        let [dim, _] = head.weight.dims();
        let loss_fn = CrossEntropyLossConfig::new().init(training_device);
        let mut history = self.resumed.take().unwrap_or_default();
        let mut optimizer = self.restored_optimizer(history.len(), "head")?;
        let mut evaluation =
            evaluate_head(&head.valid(), validation, validation_features, dim, device);
        let mut ended = "finished".to_string();
        'epochs: for epoch in history.len()..exp.epochs {
            let started = Instant::now();
            if let (Some(transform), true) = (recompute_with, epoch > 0) {
                // A new random view of every training image (or no cache): the backbone runs again.
                train_features =
                    self.features(network, train, transform, cache, device, epoch as u64)?;
            }
            let lr = exp.learning_rate_at(epoch);
            let batches =
                batch_indices(train.len(), exp.batch_size, Some((exp.seed, epoch as u64)));
            let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
            for (b, indices) in batches.iter().enumerate() {
                if let Flow::StopNow = self.poll_commands() {
                    ended = "stopped by the user".into();
                    break 'epochs;
                }
                let x: Vec<f32> = indices
                    .iter()
                    .flat_map(|&i| train_features[i * dim..(i + 1) * dim].iter().copied())
                    .collect();
                let labels: Vec<i64> = indices.iter().map(|&i| train[i].label as i64).collect();
                let x = Tensor::<2>::from_data(
                    TensorData::new(x, [indices.len(), dim]),
                    training_device,
                );
                let targets = Tensor::<1, Int>::from_data(
                    TensorData::new(labels.clone(), [indices.len()]),
                    training_device,
                );
                let logits = head.forward(x);
                let loss = loss_fn.forward(logits.clone(), targets);
                let loss_value = loss.clone().into_scalar::<f32>() as f64;
                self.meter.sample(); // the forward pass's activations are alive here
                correct += count_correct(logits.inner(), &labels);
                loss_sum += loss_value * indices.len() as f64;
                let grads = GradientsParams::from_grads(loss.backward(), &head);
                let step_lr = exp.learning_rate_at_step(epoch, b, batches.len());
                head = optimizer.step(step_lr, head, grads);
                seen += indices.len();
                self.batch_done(epoch, (b, batches.len()), seen, loss_value, started);
            }
            evaluation = evaluate_head(&head.valid(), validation, validation_features, dim, device);
            let seconds =
                started.elapsed().as_secs_f64() + if epoch == 0 { features_seconds } else { 0.0 };
            let metrics = EpochMetrics {
                epoch: epoch + 1,
                train_loss: loss_sum / train.len() as f64,
                train_accuracy: correct as f64 / train.len() as f64,
                validation_loss: evaluation.loss,
                validation_accuracy: evaluation.accuracy,
                learning_rate: lr,
                images_per_second: train.len() as f64 / seconds.max(1e-9),
                seconds,
                peak_memory_bytes: self.meter.peak_bytes(),
            };
            let trained = network.clone().with_head(head.valid());
            let optimizers = [("head", &optimizer)];
            if let Some(reason) = self.epoch_done(&mut history, metrics, &trained, &optimizers)? {
                ended = reason;
                break;
            }
        }
        Ok((history, evaluation, ended))
    }

    fn fine_tune(
        &mut self,
        mut network: Network,
        train: &[Sample],
        validation: &[Sample],
        (train_transform, transform): (&Transform, &Transform),
        cache: &ImageCache,
        device: &Device,
    ) -> Result<(Vec<EpochMetrics>, Evaluation, String), String> {
        let exp = self.experiment.clone();
        let training_device = Device::autodiff(device.clone());
        let loss_fn = CrossEntropyLossConfig::new().init(&training_device);
        let mut history = self.resumed.take().unwrap_or_default();
        let mut optimizer = self.restored_optimizer(history.len(), "backbone")?;
        let mut head_optimizer = self.restored_optimizer(history.len(), "head")?;
        let mut evaluation = evaluate_network(
            &network.valid(),
            validation,
            transform,
            cache,
            exp.batch_size,
            device,
        )?;
        let mut ended = "finished".to_string();
        'epochs: for epoch in history.len()..exp.epochs {
            let started = Instant::now();
            let lr = exp.learning_rate_at(epoch);
            let batches =
                batch_indices(train.len(), exp.batch_size, Some((exp.seed, epoch as u64)));
            let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
            for (b, indices) in batches.iter().enumerate() {
                if let Flow::StopNow = self.poll_commands() {
                    ended = "stopped by the user".into();
                    break 'epochs;
                }
                let batch = load_batch(train, indices, train_transform, cache, epoch as u64);
                if let Some((path, reason)) = batch.failures.first() {
                    return Err(format!("{}: {reason}", path.display()));
                }
                let size = batch.size as usize;
                let n = batch.labels.len();
                let labels: Vec<i64> = batch.labels.iter().map(|&l| l as i64).collect();
                let images = Tensor::<4>::from_data(
                    TensorData::new(batch.images, [n, 3, size, size]),
                    &training_device,
                );
                let targets = Tensor::<1, Int>::from_data(
                    TensorData::new(labels.clone(), [n]),
                    &training_device,
                );
                let logits = network.forward(images);
                let loss = loss_fn.forward(logits.clone(), targets);
                let loss_value = loss.clone().into_scalar::<f32>() as f64;
                self.meter.sample(); // the forward pass's activations are alive here
                correct += count_correct(logits.inner(), &labels);
                loss_sum += loss_value * n as f64;
                seen += n;
                // Discriminative rates: the head's gradients go to their own optimizer at the full
                // rate, the backbone's at `backbone_learning_rate_factor` times it.
                let step_lr = exp.learning_rate_at_step(epoch, b, batches.len());
                let mut grads = loss.backward();
                let head_grads = GradientsParams::from_module(&mut grads, head_of(&network));
                let backbone_grads = GradientsParams::from_grads(grads, &network);
                network = optimizer.step(
                    step_lr * exp.backbone_learning_rate_factor,
                    network,
                    backbone_grads,
                );
                network = head_optimizer.step(step_lr, network, head_grads);
                self.batch_done(epoch, (b, batches.len()), seen, loss_value, started);
            }
            evaluation = evaluate_network(
                &network.valid(),
                validation,
                transform,
                cache,
                exp.batch_size,
                device,
            )?;
            let seconds = started.elapsed().as_secs_f64();
            let metrics = EpochMetrics {
                epoch: epoch + 1,
                train_loss: loss_sum / seen.max(1) as f64,
                train_accuracy: correct as f64 / seen.max(1) as f64,
                validation_loss: evaluation.loss,
                validation_accuracy: evaluation.accuracy,
                learning_rate: lr,
                images_per_second: seen as f64 / seconds.max(1e-9),
                seconds,
                peak_memory_bytes: self.meter.peak_bytes(),
            };
            let optimizers = [("backbone", &optimizer), ("head", &head_optimizer)];
            if let Some(reason) = self.epoch_done(&mut history, metrics, &network, &optimizers)? {
                ended = reason;
                break;
            }
        }
        Ok((history, evaluation, ended))
    }

    /// Reports a finished batch with the estimated time left in the run.
    fn batch_done(
        &mut self,
        epoch: usize,
        (batch, batches): (usize, usize),
        images_this_epoch: usize,
        loss: f64,
        epoch_started: Instant,
    ) {
        self.meter.sample();
        let elapsed_seconds = epoch_started.elapsed().as_secs_f64();
        let epochs_after = self.experiment.epochs - epoch - 1;
        let eta_seconds = eta(elapsed_seconds, batch + 1, batches, epochs_after);
        self.emit(TrainEvent::BatchDone {
            epoch: epoch + 1,
            batch: batch + 1,
            batches,
            loss,
            images_per_second: images_this_epoch as f64 / elapsed_seconds.max(1e-9),
            eta_seconds,
        });
    }

    /// "stopped early: …" once validation accuracy has not improved for the patience.
    fn early_stop(&self, history: &[EpochMetrics]) -> Option<String> {
        let patience = self.experiment.early_stopping_patience?;
        let best = history.iter().enumerate().fold(0, |best, (i, m)| {
            if m.validation_accuracy > history[best].validation_accuracy {
                i
            } else {
                best
            }
        });
        (history.len() - 1 - best >= patience)
            .then(|| format!("stopped early: no better validation accuracy for {patience} epochs"))
    }

    /// The optimizers a run of this mode keeps, by the role their saved state is named after.
    fn optimizer_roles(&self) -> &'static [&'static str] {
        match self.experiment.mode {
            TrainingMode::FrozenBackbone => &["head"],
            TrainingMode::FineTune | TrainingMode::UnfreezeLast(_) => &["backbone", "head"],
        }
    }

    /// A fresh optimizer or, when resuming after `epochs_done`, one with the state saved then.
    fn restored_optimizer(
        &self,
        epochs_done: usize,
        role: &str,
    ) -> Result<ModuleOptimizer, String> {
        let optimizer = self.optimizer();
        let path = self.run.optimizer_state_path(epochs_done, role);
        if epochs_done == 0 || !path.is_file() {
            return Ok(optimizer);
        }
        let record = OptimizerRecord::load(&path)
            .map_err(|e| format!("{}: damaged optimizer state: {e:?}", path.display()))?;
        Ok(optimizer.load_record(record))
    }

    /// Records a finished epoch: the optimizer state, the `last` checkpoint and, when validation
    /// accuracy improved, the `best` one; then the metrics and status files, and the event.
    /// Files that a resume reads together are written before the metrics that point at them, so a
    /// run killed in between resumes from the previous epoch. Returns why to stop, if it should.
    fn epoch_done(
        &mut self,
        history: &mut Vec<EpochMetrics>,
        metrics: EpochMetrics,
        checkpoint: &Network,
        optimizers: &[(&str, &ModuleOptimizer)],
    ) -> Result<Option<String>, String> {
        let improved = history
            .iter()
            .all(|m| metrics.validation_accuracy > m.validation_accuracy);
        for (role, optimizer) in optimizers {
            self.save_optimizer_state(metrics.epoch, role, optimizer)?;
        }
        self.save_checkpoint(checkpoint, "last")?;
        if improved {
            self.save_checkpoint(checkpoint, "best")?;
        }
        history.push(metrics.clone());
        self.run.write_metrics(history)?;
        self.run.write_status(&format!(
            "epoch {} of {} done",
            metrics.epoch, self.experiment.epochs
        ))?;
        for (role, _) in optimizers {
            // Only the newest state is needed; older ones would only fill the disk.
            let _ = std::fs::remove_file(self.run.optimizer_state_path(metrics.epoch - 1, role));
        }
        self.emit(TrainEvent::EpochDone(metrics));
        if self.stop_after_epoch {
            return Ok(Some("stopped by the user".into()));
        }
        Ok(self.early_stop(history))
    }

    fn save_optimizer_state(
        &self,
        epoch: usize,
        role: &str,
        optimizer: &ModuleOptimizer,
    ) -> Result<(), String> {
        let path = self.run.optimizer_state_path(epoch, role);
        let temp = path.with_extension("bpk.tmp");
        optimizer
            .to_record()
            .save(&temp)
            .map_err(|e| format!("{}: cannot save the optimizer state: {e:?}", temp.display()))?;
        std::fs::rename(&temp, &path)
            .map_err(|e| format!("{}: cannot save the optimizer state: {e}", path.display()))
    }

    /// Saves the network atomically (temporary file, then rename).
    fn save_checkpoint(&self, network: &Network, which: &str) -> Result<(), String> {
        let path = self.run.checkpoint_path(which);
        let temp = path.with_extension("bpk.tmp");
        network
            .valid()
            .save_file(&temp)
            .map_err(|e| format!("{}: cannot save the checkpoint: {e:?}", temp.display()))?;
        std::fs::rename(&temp, &path)
            .map_err(|e| format!("{}: cannot save the checkpoint: {e}", path.display()))?;
        self.emit(TrainEvent::CheckpointSaved(path));
        Ok(())
    }
}

/// What the inspector expects the run to need: for training, weights, gradients, optimizer state
/// and a batch's activations; for a frozen backbone, inference over a batch plus the feature cache.
fn estimated_memory(plan: &crate::model::Inspection, exp: &Experiment, images: usize) -> u64 {
    let optimizer_kind = match exp.optimizer {
        OptimizerChoice::Sgd { .. } => crate::model::OptimizerKind::SgdMomentum,
        OptimizerChoice::AdamW => crate::model::OptimizerKind::Adam,
    };
    let full = plan.training_memory(exp.batch_size, optimizer_kind);
    match exp.mode {
        TrainingMode::FineTune | TrainingMode::UnfreezeLast(_) => full.total_bytes,
        TrainingMode::FrozenBackbone => {
            let feature_dim = plan
                .stages
                .iter()
                .rev()
                .nth(1)
                .map_or(0, |s| s.output_shape[0]) as u64;
            full.weights_bytes + full.activations_bytes + images as u64 * feature_dim * 4
        }
    }
}

/// Adds what to change to a failure that has a known remedy: memory exhausted (a smaller batch or
/// image), or a GPU backend that failed (the CPU backend).
fn with_advice(reason: String, exp: &Experiment) -> String {
    let lower = reason.to_lowercase();
    if lower.contains("out of memory") || lower.contains("outofmemory") || lower.contains("allocat")
    {
        format!(
            "{reason}\nThe run ran out of memory: try a smaller batch_size (now {}; e.g. {}), a smaller image_size (now {}), or the FrozenBackbone mode, which needs far less.",
            exp.batch_size,
            (exp.batch_size / 2).max(1),
            exp.image_size
        )
    } else if [
        "wgpu",
        "vulkan",
        "device lost",
        "adapter",
        "shader",
        "cubecl",
    ]
    .iter()
    .any(|word| lower.contains(word))
    {
        format!(
            "{reason}\nThe GPU backend failed: run on the CPU instead with SKIPLANE_BACKEND=cpu (or the backend setting), and check the graphics driver."
        )
    } else {
        reason
    }
}

fn head_of(network: &Network) -> &Linear {
    match network {
        Network::ResNet(net) => &net.fc,
        Network::DenseNet(net) => &net.classifier,
    }
}

/// Official names resolve to the cached file; anything else is a path.
fn resolve_weights(weights: &str) -> Result<std::path::PathBuf, String> {
    use crate::weights::fetch::OfficialWeights;
    if let Some(official) = OfficialWeights::find(weights) {
        return official.cached().ok_or_else(|| {
            format!("the {weights} weights are not in the cache yet: run `skiplane weights fetch {weights}` (or `skiplane weights import FILE`)")
        });
    }
    Ok(std::path::PathBuf::from(weights))
}

/// Seconds left: this epoch's pace times the batches still to run in it and in the epochs after.
fn eta(elapsed_seconds: f64, batches_done: usize, batches: usize, epochs_after: usize) -> f64 {
    let per_batch = elapsed_seconds / batches_done.max(1) as f64;
    per_batch * ((batches - batches_done) + epochs_after * batches) as f64
}

/// Parameters that train in `mode`, from the inspector's per-stage counts.
fn trainable_parameters(plan: &crate::model::Inspection, mode: TrainingMode) -> usize {
    let TrainingMode::UnfreezeLast(n) = mode else {
        return plan.parameters() as usize;
    };
    let stage_names: Vec<&str> = plan
        .stages
        .iter()
        .map(|s| s.name.as_str())
        .filter(|name| name.starts_with("layer") || name.starts_with("denseblock"))
        .collect();
    let trainable_stages = &stage_names[stage_names.len().saturating_sub(n)..];
    plan.stages
        .iter()
        .filter(|s| {
            let name = s.name.as_str();
            trainable_stages.contains(&name)
                || matches!(name, "fc" | "classifier")
                || (name == "norm5+pool" && n > 0)
                // A transition feeds the block after it.
                || name
                    .strip_prefix("transition")
                    .and_then(|t| t.parse::<usize>().ok())
                    .is_some_and(|t| trainable_stages.contains(&format!("denseblock{}", t + 1).as_str()))
        })
        .map(|s| s.parameters as usize)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_with_a_known_remedy_say_what_to_change() {
        let exp = Experiment {
            batch_size: 64,
            ..Experiment::default()
        };
        let oom = with_advice("the training crashed: Out of memory on device".into(), &exp);
        assert!(
            oom.contains("smaller batch_size (now 64; e.g. 32)"),
            "{oom}"
        );
        let gpu = with_advice("wgpu: Device lost".into(), &exp);
        assert!(gpu.contains("SKIPLANE_BACKEND=cpu"), "{gpu}");
        let other = with_advice("photo.jpg: corrupt".into(), &exp);
        assert_eq!(other, "photo.jpg: corrupt");
    }
}
