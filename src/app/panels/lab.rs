//! The Lab panel: the four experiments of `skiplane lab`, each with its settings, a Run button
//! (the work runs on a background thread), its plot and a paragraph reading the result. Data
//! experiments use the open dataset, or the sample photos.

use crate::app::SkiplaneApp;
use crate::app::background::Job;
use crate::lab::bottleneck::{self, BottleneckComparison, BottleneckSettings};
use crate::lab::data::LabData;
use crate::lab::degradation::{self, Degradation, DegradationSettings, EpochPoint};
use crate::lab::gradient_flow::{self, GradientComparison, GradientFlowSettings};
use crate::lab::growth::{self, Growth, GrowthSettings};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Experiment {
    #[default]
    Degradation,
    GradientFlow,
    Bottleneck,
    Growth,
}

impl Experiment {
    const ALL: [Experiment; 4] = [
        Experiment::Degradation,
        Experiment::GradientFlow,
        Experiment::Bottleneck,
        Experiment::Growth,
    ];

    fn title(self) -> &'static str {
        match self {
            Experiment::Degradation => "Degradation",
            Experiment::GradientFlow => "Gradient flow",
            Experiment::Bottleneck => "Bottleneck savings",
            Experiment::Growth => "DenseNet growth",
        }
    }
}

pub enum LabResult {
    Degradation(Degradation),
    GradientFlow(Box<GradientComparison>),
    Bottleneck(BottleneckComparison),
    Growth(Box<Growth>),
}

pub struct LabState {
    pub experiment: Experiment,
    pub degradation: DegradationSettings,
    /// Pixels square of the gradient experiment's photos.
    pub gradient_image_size: usize,
    pub gradient_depth: usize,
    pub gradients: GradientFlowSettings,
    pub bottleneck: BottleneckSettings,
    pub growth: GrowthSettings,
    job: Option<Job<Result<LabResult, String>>>,
    /// Epochs finished so far by a running degradation experiment, for the live plot.
    live: Arc<Mutex<Vec<(String, EpochPoint)>>>,
    pub degradation_result: Option<Degradation>,
    pub gradient_result: Option<GradientComparison>,
    pub bottleneck_result: Option<BottleneckComparison>,
    pub growth_result: Option<Growth>,
    pub error: Option<String>,
}

impl Default for LabState {
    fn default() -> Self {
        LabState {
            experiment: Experiment::default(),
            degradation: DegradationSettings::default(),
            gradient_image_size: 32,
            gradient_depth: 56,
            gradients: GradientFlowSettings::default(),
            bottleneck: BottleneckSettings::default(),
            growth: GrowthSettings::default(),
            job: None,
            live: Arc::default(),
            degradation_result: None,
            gradient_result: None,
            bottleneck_result: None,
            growth_result: None,
            error: None,
        }
    }
}

impl LabState {
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    fn poll(&mut self) {
        let Some(outcome) = self.job.as_mut().and_then(|job| job.poll()) else {
            return;
        };
        self.job = None;
        match outcome {
            Ok(LabResult::Degradation(r)) => self.degradation_result = Some(r),
            Ok(LabResult::GradientFlow(r)) => self.gradient_result = Some(*r),
            Ok(LabResult::Bottleneck(r)) => self.bottleneck_result = Some(r),
            Ok(LabResult::Growth(r)) => self.growth_result = Some(*r),
            Err(e) => self.error = Some(e),
        }
    }
}

pub fn lab_panel_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    app.lab.poll();
    ui.heading("Lab: why skip connections work");
    ui.horizontal(|ui| {
        for experiment in Experiment::ALL {
            ui.selectable_value(&mut app.lab.experiment, experiment, experiment.title());
        }
    });
    ui.separator();
    egui::ScrollArea::vertical().show(ui, |ui| match app.lab.experiment {
        Experiment::Degradation => degradation_ui(app, ui),
        Experiment::GradientFlow => gradient_ui(app, ui),
        Experiment::Bottleneck => bottleneck_ui(app, ui),
        Experiment::Growth => growth_ui(app, ui),
    });
}

/// A labelled number field (labelled for screen readers and tests).
fn number(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut usize,
    range: std::ops::RangeInclusive<usize>,
) {
    let label = ui.label(label);
    ui.add(egui::DragValue::new(value).range(range))
        .labelled_by(label.id);
}

/// The Run button and what is going on; `start` is called on click with the device.
fn run_row(
    app: &mut SkiplaneApp,
    ui: &mut egui::Ui,
    start: impl FnOnce(&mut SkiplaneApp, burn::prelude::Device, &egui::Context),
) {
    ui.horizontal(|ui| {
        let ready = !app.lab.busy() && app.device().is_some();
        if ui
            .add_enabled(ready, egui::Button::new("Run the experiment"))
            .clicked()
            && let Some(device) = app.device().map(|d| d.device.clone())
        {
            app.lab.error = None;
            start(app, device, ui.ctx());
        }
        if app.lab.busy() {
            ui.spinner();
            ui.label("running…");
        }
    });
    if let Some(error) = &app.lab.error {
        ui.colored_label(egui::Color32::from_rgb(230, 80, 70), error);
    }
}

/// The open dataset's folder, or the bundled sample photos.
fn data_folder(app: &SkiplaneApp) -> Option<std::path::PathBuf> {
    app.dataset
        .as_ref()
        .map(|d| d.folder.clone())
        .or_else(crate::app::sample_dataset)
}

fn degradation_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.label(
        "Plain and residual CIFAR-style nets of two depths, trained from scratch on the same photos \
         (shrunk to a small square), same seed and schedule. The paper's finding: the deeper plain \
         net ends with higher training error; the deeper residual net does not.",
    );
    ui.horizontal(|ui| {
        let s = &mut app.lab.degradation;
        number(ui, "shallow depth", &mut s.depths[0], 20..=110);
        number(ui, "deep depth", &mut s.depths[1], 20..=110);
        number(ui, "epochs", &mut s.epochs, 1..=500);
        number(ui, "batch", &mut s.batch_size, 1..=512);
        number(ui, "image size", &mut s.image_size, 8..=128);
    });
    ui.checkbox(
        &mut app.lab.degradation.zero_init_residual,
        "Residual branches start at zero (zero_init_residual)",
    )
    .on_hover_text(
        "Each residual block begins as the identity, so the deep residual net starts as easy to \
         train as the shallow one. Without it ResNet-56 needs many more steps than a few minutes \
         give to catch up with ResNet-20.",
    );
    run_row(app, ui, |app, device, ctx| {
        let folder = data_folder(app);
        let settings = app.lab.degradation.clone();
        let size = settings.image_size;
        let live = app.lab.live.clone();
        live.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let repaint = ctx.clone();
        app.lab.job = Some(Job::spawn("skiplane-lab", ctx, move || {
            let folder = folder.ok_or("open a dataset first (no sample photos installed)")?;
            let data = LabData::load(&folder, size)?;
            let on_epoch = |name: &str, point: &EpochPoint| {
                live.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((name.to_string(), point.clone()));
                repaint.request_repaint();
            };
            degradation::run(&data, &settings, &device, &on_epoch).map(LabResult::Degradation)
        }));
    });
    // While it runs, the epochs finished so far; then the result.
    let curves: Vec<(String, Vec<EpochPoint>)> = match &app.lab.degradation_result {
        Some(result) if !app.lab.busy() => result
            .curves
            .iter()
            .map(|c| (c.name.clone(), c.points.clone()))
            .collect(),
        _ => {
            let live = app.lab.live.lock().unwrap_or_else(|e| e.into_inner());
            let mut curves: Vec<(String, Vec<EpochPoint>)> = Vec::new();
            for (name, point) in live.iter() {
                match curves.iter_mut().find(|(n, _)| n == name) {
                    Some((_, points)) => points.push(point.clone()),
                    None => curves.push((name.clone(), vec![point.clone()])),
                }
            }
            // The result's order (plain before residual, shallow before deep), whichever net
            // reported first, so the legend's colours do not change when the run ends.
            curves.sort_by_key(|(name, _)| {
                let depth = name.trim_start_matches(char::is_alphabetic);
                (
                    name.starts_with("resnet"),
                    depth.parse::<usize>().unwrap_or(0),
                )
            });
            curves
        }
    };
    if curves.is_empty() {
        return;
    }
    ui.columns(2, |columns| {
        for (column, (title, value)) in columns.iter_mut().zip([
            (
                "training loss",
                (|p: &EpochPoint| p.loss) as fn(&EpochPoint) -> f64,
            ),
            ("training error", |p: &EpochPoint| p.error),
        ]) {
            column.label(title);
            Plot::new(format!("lab_{title}"))
                .height(260.0)
                .legend(Legend::default())
                .x_axis_label("epoch")
                .show(column, |plot| {
                    for (name, points) in &curves {
                        let line: PlotPoints =
                            points.iter().map(|p| [p.epoch as f64, value(p)]).collect();
                        plot.line(Line::new(name.clone(), line));
                    }
                });
        }
    });
    if let Some(result) = &app.lab.degradation_result
        && !app.lab.busy()
    {
        ui.label(result.reading());
        ui.small(format!(
            "{} photos at {}x{}, {} epochs, batch {}, SGD (momentum 0.9) lr {}, divided by 10 at half and \
             three quarters of the epochs, seed {}; {:.0} s in all, the nets trained side by side",
            result.photos,
            result.image_size,
            result.image_size,
            result.settings.epochs,
            result.settings.batch_size,
            result.settings.learning_rate,
            result.settings.seed,
            result.seconds
        ));
    }
}

fn gradient_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.label(
        "The size of the loss gradient at every convolution, stem first, for a deep plain net and the \
         same net with skip connections: at initialization and after some SGD steps, on real photos.",
    );
    ui.horizontal(|ui| {
        number(ui, "depth", &mut app.lab.gradient_depth, 20..=110);
        number(ui, "steps", &mut app.lab.gradients.steps, 0..=1000);
        number(ui, "batch", &mut app.lab.gradients.batch_size, 1..=512);
        number(ui, "image size", &mut app.lab.gradient_image_size, 8..=128);
    });
    run_row(app, ui, |app, device, ctx| {
        let folder = data_folder(app);
        let settings = app.lab.gradients.clone();
        let (depth, size) = (app.lab.gradient_depth, app.lab.gradient_image_size);
        app.lab.job = Some(Job::spawn("skiplane-lab", ctx, move || {
            let folder = folder.ok_or("open a dataset first (no sample photos installed)")?;
            let data = LabData::load(&folder, size)?;
            let comparison = gradient_flow::compare(depth, &data, &settings, &device, &mut |_| {})?;
            Ok(LabResult::GradientFlow(Box::new(comparison)))
        }));
    });
    let Some(comparison) = &app.lab.gradient_result else {
        return;
    };
    let (plain, resnet) = (&comparison.plain, &comparison.resnet);
    ui.label("log10 of the gradient norm |dL/dW| per convolution");
    Plot::new("lab_gradients")
        .height(300.0)
        .legend(Legend::default())
        .x_axis_label("convolution (stem = 1)")
        .show(ui, |plot| {
            for (name, layers) in [
                ("plain at init".to_string(), &plain.at_init),
                ("plain after steps".to_string(), &plain.after_steps),
                ("residual at init".to_string(), &resnet.at_init),
                ("residual after steps".to_string(), &resnet.after_steps),
            ] {
                let points: PlotPoints = layers
                    .iter()
                    .enumerate()
                    .map(|(i, l)| [(i + 1) as f64, l.norm.max(1e-30).log10()])
                    .collect();
                plot.line(Line::new(name, points));
            }
        });
    ui.label(comparison.reading());
}

fn bottleneck_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.label(
        "Two 3x3 convolutions on w channels against the bottleneck (1x1 down to w, 3x3, 1x1 up to 4w): \
         parameters and multiply-adds from the inspector, forward time measured on this machine.",
    );
    ui.horizontal(|ui| {
        let s = &mut app.lab.bottleneck;
        number(ui, "width w", &mut s.width, 1..=1024);
        number(ui, "feature map", &mut s.spatial, 1..=224);
        number(ui, "batch", &mut s.batch_size, 1..=256);
        number(ui, "repeats", &mut s.repeats, 1..=100);
    });
    run_row(app, ui, |app, device, ctx| {
        let settings = app.lab.bottleneck.clone();
        app.lab.job = Some(Job::spawn("skiplane-lab", ctx, move || {
            bottleneck::compare(&settings, &device).map(LabResult::Bottleneck)
        }));
    });
    let Some(result) = &app.lab.bottleneck_result else {
        return;
    };
    bottleneck_plot(result, ui);
    egui::Grid::new("lab_bottleneck")
        .striped(true)
        .show(ui, |ui| {
            for header in [
                "block",
                "channels",
                "parameters",
                "multiply-adds per image",
                "forward (ms)",
            ] {
                ui.strong(header);
            }
            ui.end_row();
            for cost in [&result.basic, &result.bottleneck] {
                ui.label(&cost.block);
                ui.label(cost.in_channels.to_string());
                ui.label(crate::units::group_digits(cost.parameters));
                ui.label(crate::units::group_digits(cost.macs));
                ui.label(format!("{:.2}", cost.forward_ms));
                ui.end_row();
            }
        });
    ui.label(result.reading());
}

/// Each block's parameters, multiply-adds and forward time as a share of the basic block's:
/// the bottleneck handles four times the channels for about the same cost.
fn bottleneck_plot(result: &BottleneckComparison, ui: &mut egui::Ui) {
    const MEASURES: [&str; 3] = ["parameters", "multiply-adds", "forward time"];
    let measures =
        |cost: &bottleneck::BlockCost| [cost.parameters as f64, cost.macs as f64, cost.forward_ms];
    let basic = measures(&result.basic);
    let bars = |cost: &bottleneck::BlockCost, offset: f64| -> Vec<Bar> {
        measures(cost)
            .iter()
            .zip(basic)
            .enumerate()
            .map(|(i, (value, base))| {
                let percent = if base > 0.0 {
                    100.0 * value / base
                } else {
                    0.0
                };
                Bar::new(i as f64 + offset, percent)
                    .width(0.35)
                    .name(MEASURES[i])
            })
            .collect()
    };
    ui.label(format!(
        "cost relative to two 3x3 convolutions on {} channels (= 100%)",
        result.basic.in_channels
    ));
    Plot::new("lab_bottleneck_plot")
        .height(220.0)
        .legend(Legend::default())
        .include_y(0.0)
        .include_y(110.0)
        .y_axis_label("% of the basic block")
        .x_axis_formatter(|mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() < 1e-6 && (0.0..3.0).contains(&i) {
                MEASURES[i as usize].to_string()
            } else {
                String::new()
            }
        })
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new(
                format!("basic ({} channels)", result.basic.in_channels),
                bars(&result.basic, -0.2),
            ));
            plot.bar_chart(BarChart::new(
                format!("bottleneck ({} channels)", result.bottleneck.in_channels),
                bars(&result.bottleneck, 0.2),
            ));
        });
}

fn growth_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    ui.label(
        "Inside a dense block each layer sees every earlier output: k0 + l·k channels. DenseNet-121 \
         against ResNets of similar ImageNet accuracy, and the training memory of a DenseNet and a \
         ResNet measured at the same batch size.",
    );
    ui.horizontal(|ui| {
        let s = &mut app.lab.growth;
        number(ui, "image size", &mut s.image_size, 32..=512);
        number(ui, "batch", &mut s.batch_size, 1..=256);
        number(ui, "steps", &mut s.steps, 0..=20);
    });
    run_row(app, ui, |app, device, ctx| {
        let settings = app.lab.growth.clone();
        // Each network's memory in its own process (a fresh allocator) when this is the app's
        // executable; otherwise (e.g. under a test harness) in this process.
        let probe = std::env::current_exe()
            .ok()
            .filter(|exe| exe.file_stem().is_some_and(|s| s == "skiplane"));
        app.lab.job = Some(Job::spawn("skiplane-lab", ctx, move || {
            growth::measure(&settings, &device, probe.as_deref())
                .map(|g| LabResult::Growth(Box::new(g)))
        }));
    });
    let Some(result) = &app.lab.growth_result else {
        return;
    };
    ui.label(format!(
        "channels entering each dense layer of {} (k = {}, k0 = {})",
        result.densenet.name, result.growth_rate, result.init_features
    ));
    Plot::new("lab_growth")
        .height(220.0)
        .legend(Legend::default())
        .x_axis_label("dense layer")
        .show(ui, |plot| {
            let mut x = 0.0;
            for block in &result.blocks {
                let points: PlotPoints = block
                    .layer_input_channels
                    .iter()
                    .map(|&c| {
                        x += 1.0;
                        [x, c as f64]
                    })
                    .collect();
                plot.line(Line::new(block.name.clone(), points));
            }
        });
    egui::Grid::new("lab_growth_table")
        .striped(true)
        .show(ui, |ui| {
            for header in [
                "network",
                "parameters",
                "GFLOPs",
                "ImageNet top-1",
                "training memory",
            ] {
                ui.strong(header);
            }
            ui.end_row();
            for row in result.table_rows() {
                ui.label(&row.name);
                ui.label(crate::units::group_digits(row.parameters));
                ui.label(format!("{:.2}", row.gflops));
                ui.label(
                    row.imagenet_top1
                        .map_or(String::new(), |a| format!("{a:.1}%")),
                );
                ui.label(
                    row.training_memory_bytes
                        .map_or(String::new(), crate::units::human_bytes),
                );
                ui.end_row();
            }
        });
    ui.small(format!(
        "Top-1: torchvision's published figures. Training memory: the peak above what was in use \
         before, {}. \"recomputing\": the memory-efficient option, what Burn classes as memory-bound \
         recomputed in the backward pass instead of kept.",
        if result.memory_in_own_processes {
            "each network measured in its own process"
        } else {
            "measured one after the other in this process (the later figure can be too low)"
        }
    ));
    ui.label(result.reading());
}
