//! The app's side of training: a queue of runs (one, or A then B for a comparison), each launched
//! on a worker thread; the UI sends commands and folds the worker's events into a [`RunView`].

use super::log::LogLevel;
use crate::backend::SelectedDevice;
use crate::train::run_folder::{RunFolder, app_runs_dir};
use crate::train::{
    EpochMetrics, Experiment, Report, TrainCommand, TrainEvent, TrainingHandle, WeightsReadiness,
    ensure_weights, start_training,
};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    Waiting,
    /// Fetching weights, opening the dataset.
    Preparing,
    Running,
    Paused,
    Finished,
    Failed(String),
}

/// Everything the panels show about one run.
pub struct RunView {
    pub name: String,
    pub experiment: Experiment,
    pub run_dir: Option<PathBuf>,
    pub status: RunStatus,
    pub notes: Vec<String>,
    /// (epoch as a fraction, loss) per batch.
    pub batch_losses: Vec<[f64; 2]>,
    pub epochs: Vec<EpochMetrics>,
    /// (epoch, batch, batches) of the last batch.
    pub progress: (usize, usize, usize),
    pub eta_seconds: f64,
    pub images_per_second: f64,
    pub report: Option<Report>,
    pub classes: Vec<String>,
    pub estimated_memory_bytes: Option<u64>,
}

impl RunView {
    fn new(name: String, experiment: Experiment) -> Self {
        RunView {
            name,
            experiment,
            run_dir: None,
            status: RunStatus::Waiting,
            notes: Vec::new(),
            batch_losses: Vec::new(),
            epochs: Vec::new(),
            progress: (0, 0, 0),
            eta_seconds: 0.0,
            images_per_second: 0.0,
            report: None,
            classes: Vec::new(),
            estimated_memory_bytes: None,
        }
    }

    /// Share of the run done, 0 to 1.
    pub fn fraction_done(&self) -> f32 {
        let (epoch, batch, batches) = self.progress;
        if batches == 0 || self.experiment.epochs == 0 {
            return 0.0;
        }
        let done = (epoch.saturating_sub(1)) as f32 + batch as f32 / batches as f32;
        (done / self.experiment.epochs as f32).clamp(0.0, 1.0)
    }

    fn apply(&mut self, event: TrainEvent) -> Option<(LogLevel, String)> {
        match event {
            TrainEvent::Started {
                classes,
                notes,
                estimated_memory_bytes,
                ..
            } => {
                self.status = RunStatus::Running;
                self.estimated_memory_bytes = Some(estimated_memory_bytes);
                self.classes = classes;
                let warnings: Vec<&String> =
                    notes.iter().filter(|n| n.starts_with("warning")).collect();
                let message = warnings
                    .first()
                    .map(|w| (LogLevel::Warning, format!("{}: {w}", self.name)));
                self.notes.extend(notes);
                message
            }
            TrainEvent::BatchDone {
                epoch,
                batch,
                batches,
                loss,
                images_per_second,
                eta_seconds,
            } => {
                let x = (epoch - 1) as f64 + batch as f64 / batches.max(1) as f64;
                self.batch_losses.push([x, loss]);
                self.progress = (epoch, batch, batches);
                self.images_per_second = images_per_second;
                self.eta_seconds = eta_seconds;
                None
            }
            TrainEvent::EpochDone(metrics) => {
                self.epochs.push(metrics);
                None
            }
            TrainEvent::CheckpointSaved(_) => None,
            TrainEvent::Finished(report) => {
                let message = format!(
                    "{}: {} — validation accuracy {:.3}",
                    self.name, report.ended, report.final_validation_accuracy
                );
                self.status = RunStatus::Finished;
                self.report = Some(report);
                Some((LogLevel::Info, message))
            }
            TrainEvent::Failed(reason) => {
                self.status = RunStatus::Failed(reason.clone());
                Some((
                    LogLevel::Error,
                    format!("{}: training failed: {reason}", self.name),
                ))
            }
        }
    }
}

struct Launched {
    handle: TrainingHandle,
    run_dir: PathBuf,
    warning: Option<String>,
}

enum Active {
    Launching(Receiver<Result<Launched, String>>),
    Running(TrainingHandle),
}

/// The runs of this session and the one in progress.
pub struct Trainer {
    pub runs: Vec<RunView>,
    /// Where run folders are created (the platform's data folder unless set).
    pub runs_dir: PathBuf,
    /// Index into `runs` of the run in progress, and its worker.
    active: Option<(usize, Active)>,
    queue: VecDeque<usize>,
    device: Option<SelectedDevice>,
    ctx: Option<egui::Context>,
}

impl Default for Trainer {
    fn default() -> Self {
        Trainer {
            runs: Vec::new(),
            runs_dir: app_runs_dir(),
            active: None,
            queue: VecDeque::new(),
            device: None,
            ctx: None,
        }
    }
}

impl Trainer {
    pub fn is_busy(&self) -> bool {
        self.active.is_some() || !self.queue.is_empty()
    }

    pub fn active_run(&self) -> Option<&RunView> {
        self.active.as_ref().map(|(i, _)| &self.runs[*i])
    }

    /// Queues `runs` (name, experiment) and starts the first.
    pub fn start(
        &mut self,
        runs: Vec<(String, Experiment)>,
        device: SelectedDevice,
        ctx: &egui::Context,
    ) {
        self.device = Some(device);
        self.ctx = Some(ctx.clone());
        for (name, experiment) in runs {
            self.queue.push_back(self.runs.len());
            self.runs.push(RunView::new(name, experiment));
        }
        self.launch_next();
    }

    fn launch_next(&mut self) {
        let (Some(index), Some(device), Some(ctx)) = (
            self.queue.pop_front(),
            self.device.clone(),
            self.ctx.clone(),
        ) else {
            return;
        };
        let run = &mut self.runs[index];
        run.status = RunStatus::Preparing;
        let mut experiment = run.experiment.clone();
        let stem = run.name.replace(' ', "-");
        let runs_dir = self.runs_dir.clone();
        let (sender, receiver) = channel();
        let spawned = std::thread::Builder::new()
            .name("skiplane-launch".into())
            .spawn(move || {
                let launched = (|| {
                    let warning = match ensure_weights(&mut experiment, &mut |_, _| {}) {
                        WeightsReadiness::FromScratch(warning) => Some(warning),
                        _ => None,
                    };
                    let run = RunFolder::create_numbered(&runs_dir, &stem).map_err(|e| {
                        format!("{}: cannot create the run folder: {e}", runs_dir.display())
                    })?;
                    let run_dir = run.path.clone();
                    let handle = start_training(experiment, run, device)
                        .map_err(|e| format!("cannot start the training thread: {e}"))?;
                    Ok(Launched {
                        handle,
                        run_dir,
                        warning,
                    })
                })();
                let _ = sender.send(launched);
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => self.active = Some((index, Active::Launching(receiver))),
            Err(e) => self.runs[index].status = RunStatus::Failed(e.to_string()),
        }
    }

    /// Folds in the events that arrived; returns messages for the log.
    pub fn poll(&mut self) -> Vec<(LogLevel, String)> {
        let mut messages = Vec::new();
        let Some((index, active)) = &mut self.active else {
            return messages;
        };
        let index = *index;
        let mut ended = false;
        match active {
            Active::Launching(receiver) => match receiver.try_recv() {
                Ok(Ok(launched)) => {
                    let run = &mut self.runs[index];
                    run.run_dir = Some(launched.run_dir.clone());
                    if let Some(warning) = launched.warning {
                        messages.push((LogLevel::Warning, format!("{}: {warning}", run.name)));
                        run.notes.push(warning);
                    }
                    messages.push((
                        LogLevel::Info,
                        format!("{}: run folder {}", run.name, launched.run_dir.display()),
                    ));
                    *active = Active::Running(launched.handle);
                }
                Ok(Err(reason)) => {
                    self.runs[index].status = RunStatus::Failed(reason.clone());
                    messages.push((
                        LogLevel::Error,
                        format!("{}: {reason}", self.runs[index].name),
                    ));
                    ended = true;
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => ended = true,
            },
            Active::Running(handle) => loop {
                match handle.events.try_recv() {
                    Ok(event) => {
                        let finished =
                            matches!(event, TrainEvent::Finished(_) | TrainEvent::Failed(_));
                        if let Some(message) = self.runs[index].apply(event) {
                            messages.push(message);
                        }
                        if finished {
                            ended = true;
                            break;
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        ended = true;
                        break;
                    }
                }
            },
        }
        if ended {
            self.active = None;
            let failed = matches!(self.runs[index].status, RunStatus::Failed(_));
            if failed {
                // A comparison needs both runs; do not go on with half of it.
                for waiting in self.queue.drain(..) {
                    self.runs[waiting].status =
                        RunStatus::Failed("not started: the run before it failed".into());
                }
            }
            self.launch_next();
        }
        messages
    }

    pub fn send(&mut self, command: TrainCommand) {
        let Some((index, Active::Running(handle))) = &self.active else {
            return;
        };
        handle.send(command);
        let run = &mut self.runs[*index];
        match command {
            TrainCommand::Pause => run.status = RunStatus::Paused,
            TrainCommand::Resume => run.status = RunStatus::Running,
            TrainCommand::StopNow | TrainCommand::StopAfterEpoch => {
                // Runs still waiting in a comparison are not started.
                for waiting in self.queue.drain(..) {
                    self.runs[waiting].status =
                        RunStatus::Failed("not started: stopped by the user".into());
                }
            }
        }
    }

    /// Stops the run in progress at its next batch (closing the window).
    pub fn stop_all(&mut self) {
        self.queue.clear();
        if let Some((_, Active::Running(handle))) = &self.active {
            handle.send(TrainCommand::StopNow);
        }
    }

    /// Indices of the runs that finished with a report (and so have a run folder), oldest first.
    pub fn finished_indices(&self) -> Vec<usize> {
        self.runs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.report.is_some() && r.run_dir.is_some())
            .map(|(i, _)| i)
            .collect()
    }
}
