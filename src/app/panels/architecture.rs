//! The Architecture panel: slots A and B, each a preset or a custom ResNet/DenseNet, with the
//! inspector's figures (parameters, GFLOPs, training memory) and per-stage charts updated as the
//! controls move, and the pretrained weights' status.

use super::widgets::{group_digits, human_bytes};
use crate::app::weights::WeightsJobs;
use crate::app::{ArchitectureSlot, SkiplaneApp};
use crate::model::config::{BlockKind, Shortcut, Stem};
use crate::model::{Architecture, DenseNetConfig, OptimizerKind, ResNetConfig, inspect};
use egui_plot::{Bar, BarChart, Plot};

const RESNET_PRESETS: [&str; 5] = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"];
const DENSENET_PRESETS: [&str; 4] = ["densenet121", "densenet161", "densenet169", "densenet201"];
const CIFAR_PRESETS: [&str; 6] = [
    "resnet20",
    "resnet56",
    "resnet110",
    "plain20",
    "plain56",
    "plain110",
];

pub fn architecture_panel_ui(app: &mut SkiplaneApp, ui: &mut egui::Ui) {
    let classes = app
        .dataset
        .as_ref()
        .and_then(|d| d.scanned.as_ref())
        .map(|s| s.classes.len())
        .filter(|&n| n >= 2)
        .unwrap_or(1000);
    let (batch, image_size) = (
        app.settings.training.batch_size,
        app.settings.training.image_size as usize,
    );
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.columns(2, |columns| {
            for (slot, ui) in columns.iter_mut().enumerate() {
                ui.push_id(slot, |ui| {
                    let choice = &mut app.settings.slots[slot];
                    slot_ui(
                        ui,
                        slot,
                        choice,
                        &mut app.weights,
                        (classes, batch, image_size),
                    );
                });
            }
        });
    });
}

fn slot_ui(
    ui: &mut egui::Ui,
    index: usize,
    slot: &mut ArchitectureSlot,
    jobs: &mut WeightsJobs,
    (classes, batch, image_size): (usize, usize, usize),
) {
    ui.heading(format!("{}: {}", ["A", "B"][index], slot.name()));
    ui.horizontal_wrapped(|ui| {
        for name in RESNET_PRESETS
            .iter()
            .chain(&DENSENET_PRESETS)
            .chain(&CIFAR_PRESETS)
        {
            let selected = slot.preset.as_deref() == Some(*name);
            if ui.selectable_label(selected, preset_title(name)).clicked() {
                *slot = ArchitectureSlot {
                    pretrained: slot.pretrained,
                    ..ArchitectureSlot::preset(name)
                };
            }
        }
    });
    ui.horizontal(|ui| {
        ui.label("Custom:");
        if ui.button("ResNet").clicked() {
            slot.preset = None;
            if !matches!(slot.custom, Architecture::ResNet(_)) {
                slot.custom = Architecture::ResNet(ResNetConfig::default());
            }
        }
        if ui.button("DenseNet").clicked() {
            slot.preset = None;
            if !matches!(slot.custom, Architecture::DenseNet(_)) {
                slot.custom = Architecture::DenseNet(DenseNetConfig::default());
            }
        }
    });
    // Editing any control turns a preset into a custom network starting from the preset.
    let mut edited = slot.architecture();
    let changed = match &mut edited {
        Architecture::ResNet(config) => resnet_controls_ui(ui, config),
        Architecture::DenseNet(config) => densenet_controls_ui(ui, config),
    };
    if changed {
        slot.preset = None;
        slot.custom = edited;
        slot.weights_file = None; // a file checked for the old network may not fit the new one
    }
    weights_ui(ui, index, slot, jobs);
    ui.separator();
    figures_ui(
        ui,
        &slot.architecture().with_num_classes(classes),
        classes,
        batch,
        image_size,
    );
}

fn preset_title(name: &str) -> String {
    if let Some(depth) = name.strip_prefix("resnet") {
        format!("ResNet-{depth}")
    } else if let Some(depth) = name.strip_prefix("densenet") {
        format!("DenseNet-{depth}")
    } else if let Some(depth) = name.strip_prefix("plain") {
        format!("Plain-{depth}")
    } else {
        name.to_string()
    }
}

fn stage_counts_ui(ui: &mut egui::Ui, label: &str, counts: &mut Vec<usize>, max: usize) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        ui.label(label);
        for (i, count) in counts.iter_mut().enumerate() {
            changed |= ui
                .add(egui::DragValue::new(count).range(1..=max))
                .on_hover_text(format!("stage {}", i + 1))
                .changed();
        }
        if counts.len() < 6 && ui.small_button("+").on_hover_text("add a stage").clicked() {
            counts.push(counts.last().copied().unwrap_or(2));
            changed = true;
        }
        if counts.len() > 1
            && ui
                .small_button("-")
                .on_hover_text("remove the last stage")
                .clicked()
        {
            counts.pop();
            changed = true;
        }
    });
    changed
}

fn resnet_controls_ui(ui: &mut egui::Ui, config: &mut ResNetConfig) -> bool {
    let mut changed = false;
    let before = config.blocks.len();
    changed |= stage_counts_ui(ui, "Blocks per stage", &mut config.blocks, 64);
    if config.blocks.len() != before {
        // A new stage doubles the width of the one before, as in the paper.
        config.widths.resize_with(config.blocks.len(), || 0);
        for i in 1..config.widths.len() {
            if config.widths[i] == 0 {
                config.widths[i] = config.widths[i - 1] * 2;
            }
        }
    }
    ui.horizontal(|ui| {
        ui.label("Block");
        changed |= ui
            .selectable_value(&mut config.block, BlockKind::Basic, "basic (two 3x3)")
            .changed();
        changed |= ui
            .selectable_value(
                &mut config.block,
                BlockKind::Bottleneck,
                "bottleneck (1x1, 3x3, 1x1)",
            )
            .changed();
    });
    ui.horizontal(|ui| {
        changed |= ui
            .checkbox(&mut config.skip_connections, "Skip connections")
            .on_hover_text(
                "Off builds the paper's \"plain\" network: the same layers, no shortcuts",
            )
            .changed();
        ui.add_enabled_ui(config.skip_connections, |ui| {
            changed |= ui
                .selectable_value(&mut config.shortcut, Shortcut::Projection, "projection")
                .changed();
            changed |= ui
                .selectable_value(&mut config.shortcut, Shortcut::ZeroPad, "zero-padding")
                .changed();
            changed |= ui
                .checkbox(&mut config.zero_init_residual, "branches start at zero")
                .on_hover_text(
                    "From scratch, each residual block begins as the identity (torchvision's \
                     zero_init_residual): deep nets train as readily as shallow ones. Pretrained \
                     weights replace it.",
                )
                .changed();
        });
    });
    ui.horizontal(|ui| {
        ui.label("Stem");
        changed |= ui
            .selectable_value(&mut config.stem, Stem::ImageNet, "ImageNet (7x7, pool)")
            .changed();
        changed |= ui
            .selectable_value(&mut config.stem, Stem::Cifar, "small images (3x3)")
            .changed();
    });
    changed
}

fn densenet_controls_ui(ui: &mut egui::Ui, config: &mut DenseNetConfig) -> bool {
    let mut changed = false;
    changed |= ui
        .add(egui::Slider::new(&mut config.growth_rate, 4..=64).text("Growth rate k"))
        .changed();
    changed |= stage_counts_ui(ui, "Layers per block", &mut config.block_config, 64);
    changed |= ui
        .add(egui::Slider::new(&mut config.init_features, 8..=128).text("Stem channels k0"))
        .changed();
    let mut bottleneck = config.bn_size > 0;
    if ui
        .checkbox(&mut bottleneck, "Bottleneck (1x1 conv to 4k first)")
        .changed()
    {
        config.bn_size = if bottleneck { 4 } else { 0 };
        changed = true;
    }
    changed |= ui
        .add(egui::Slider::new(&mut config.compression, 0.1..=1.0).text("Compression θ"))
        .changed();
    changed
}

fn weights_ui(
    ui: &mut egui::Ui,
    index: usize,
    slot: &mut ArchitectureSlot,
    jobs: &mut WeightsJobs,
) {
    let official = slot
        .preset
        .as_deref()
        .and_then(crate::weights::fetch::OfficialWeights::find);
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut slot.pretrained, "Pretrained weights");
        if let Some(file) = &slot.weights_file {
            ui.label(format!(
                "from {}",
                file.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ))
            .on_hover_text(file.display().to_string());
            if ui.small_button("use the official file").clicked() {
                slot.weights_file = None;
            }
        } else if let Some(weights) = official {
            match (weights.cached(), jobs.downloads.get(weights.name)) {
                (Some(_), _) => {
                    ui.label(format!("ImageNet ({}, cached)", weights.file_name));
                }
                (None, Some(download)) => {
                    let bar = match download.fraction() {
                        Some(fraction) => egui::ProgressBar::new(fraction).show_percentage(),
                        None => egui::ProgressBar::new(0.0).animate(true),
                    };
                    ui.add(bar.desired_width(160.0));
                }
                (None, None) => {
                    ui.label("ImageNet: not downloaded yet");
                    if ui.small_button("Download now").clicked() {
                        jobs.download(ui.ctx(), weights.name);
                    }
                }
            }
        } else {
            ui.label("none for this network: it trains from scratch unless you import a file");
        }
        if ui
            .small_button("Import a .pth file…")
            .on_hover_text("A torchvision state dict for this network; its head may differ")
            .clicked()
            && let Some(path) = rfd::FileDialog::new()
                .add_filter("PyTorch weights", &["pth", "pt", "bin"])
                .pick_file()
        {
            jobs.check_file(ui.ctx(), index, path, slot.architecture());
        }
    });
}

fn figures_ui(
    ui: &mut egui::Ui,
    arch: &Architecture,
    classes: usize,
    batch: usize,
    image_size: usize,
) {
    let plan = match inspect(arch, image_size) {
        Ok(plan) => plan,
        Err(e) => {
            ui.colored_label(egui::Color32::from_rgb(230, 80, 70), e.to_string());
            return;
        }
    };
    let memory = plan.training_memory(batch, OptimizerKind::SgdMomentum);
    egui::Grid::new("figures").num_columns(2).show(ui, |ui| {
        ui.label("Parameters");
        ui.label(format!("{} parameters", group_digits(plan.parameters())));
        ui.end_row();
        ui.label("Compute");
        ui.label(format!(
            "{:.2} GFLOPs per image at {image_size}x{image_size}",
            plan.gflops()
        ));
        ui.end_row();
        ui.label("Training memory");
        ui.label(format!(
            "about {} to fine-tune at batch {batch} (activations {})",
            human_bytes(memory.total_bytes),
            human_bytes(memory.activations_bytes)
        ));
        ui.end_row();
        ui.label("Head");
        ui.label(format!("{classes} classes"));
        ui.end_row();
    });
    let stages: Vec<_> = plan.stages.iter().filter(|s| s.macs > 0).collect();
    let names: Vec<String> = stages.iter().map(|s| s.name.clone()).collect();
    let channels: Vec<Bar> = if matches!(arch, Architecture::DenseNet(_)) {
        // Every dense layer's input: k0 + l·k within a block.
        plan.stages
            .iter()
            .flat_map(|s| s.layer_input_channels.iter().copied())
            .enumerate()
            .map(|(i, c)| Bar::new(i as f64, c as f64).width(0.8))
            .collect()
    } else {
        stages
            .iter()
            .enumerate()
            .map(|(i, s)| Bar::new(i as f64, s.output_shape[0] as f64).name(&s.name))
            .collect()
    };
    let flops: Vec<Bar> = stages
        .iter()
        .enumerate()
        .map(|(i, s)| Bar::new(i as f64, s.macs as f64 * 2e-9).name(&s.name))
        .collect();
    let channel_title = if matches!(arch, Architecture::DenseNet(_)) {
        "channels entering each dense layer (k0 + l·k)"
    } else {
        "output channels per stage"
    };
    ui.label(channel_title);
    Plot::new("channels")
        .height(120.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .show(ui, |plot| {
            plot.bar_chart(BarChart::new("channels", channels))
        });
    ui.label("GFLOPs per stage");
    Plot::new("flops")
        .height(120.0)
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .x_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .show(ui, |plot| plot.bar_chart(BarChart::new("GFLOPs", flops)));
}
