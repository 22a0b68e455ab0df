//! `skiplane lab …`: the Lab's experiments from the command line, printed as a table with a
//! one-paragraph reading, or as one JSON line (`--json`).

use crate::backend::select_and_log;
use crate::cli::group_digits;
use crate::lab::bottleneck::{self, BottleneckSettings};
use crate::lab::data::LabData;
use crate::lab::degradation::{self, DegradationSettings};
use crate::lab::gradient_flow::{self, GradientComparison, GradientFlowSettings};
use crate::lab::growth::{self, GrowthSettings};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum LabCommand {
    /// Train plain and residual nets of two depths (CIFAR family, default 20 and 56) from scratch
    /// on the same photos and compare their training error per epoch.
    Degradation(DegradationArgs),
    /// Per-layer gradient norms of plain-N and ResNet-N (CIFAR family) at initialization and after
    /// some SGD steps, on real photos.
    Gradients(GradientsArgs),
    /// DenseNet's channels per dense layer (k0 + l·k), its parameters against ResNets of similar
    /// accuracy, and the measured training memory of a DenseNet and a ResNet.
    Growth(GrowthArgs),
    /// One network's training memory in a fresh process, as JSON (used by `growth`).
    #[command(hide = true)]
    MemoryProbe(MemoryProbeArgs),
    /// Two 3x3 convolutions against the 1x1→3x3→1x1 bottleneck: parameters, multiply-adds and
    /// measured forward time.
    Bottleneck(BottleneckArgs),
}

#[derive(Args, Debug)]
pub struct GradientsArgs {
    /// Depth of the CIFAR-style nets: 20, 32, 44, 56 or 110.
    #[arg(long, default_value_t = 56)]
    pub depth: usize,
    /// A folder of class folders (default: the bundled sample photos).
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long, default_value_t = 32)]
    pub image_size: usize,
    #[arg(long, default_value_t = GradientFlowSettings::default().steps)]
    pub steps: usize,
    #[arg(long, default_value_t = GradientFlowSettings::default().batch_size)]
    pub batch_size: usize,
    #[arg(long, default_value_t = GradientFlowSettings::default().learning_rate)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = GradientFlowSettings::default().seed)]
    pub seed: u64,
    /// One JSON line with every layer's norms instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct DegradationArgs {
    /// The shallow and the deep depth, e.g. 20,56.
    #[arg(long, value_delimiter = ',', num_args = 2, default_values_t = DegradationSettings::default().depths)]
    pub depths: Vec<usize>,
    /// A folder of class folders (default: the bundled sample photos).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Pixels square the photos are shrunk to.
    #[arg(long, default_value_t = DegradationSettings::default().image_size)]
    pub image_size: usize,
    #[arg(long, default_value_t = DegradationSettings::default().epochs)]
    pub epochs: usize,
    #[arg(long, default_value_t = DegradationSettings::default().batch_size)]
    pub batch_size: usize,
    #[arg(long, default_value_t = DegradationSettings::default().learning_rate)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = DegradationSettings::default().seed)]
    pub seed: u64,
    /// Start the residual nets' branches at zero (torchvision's zero_init_residual): true or false.
    #[arg(long, default_value_t = DegradationSettings::default().zero_init_residual, action = clap::ArgAction::Set)]
    pub zero_init_residual: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct GrowthArgs {
    /// A DenseNet preset (densenet121…201) or a RON file.
    #[arg(long, default_value_t = GrowthSettings::default().densenet)]
    pub densenet: String,
    /// The ResNet to compare training memory with.
    #[arg(long, default_value_t = GrowthSettings::default().resnet)]
    pub resnet: String,
    #[arg(long, default_value_t = GrowthSettings::default().image_size)]
    pub image_size: usize,
    #[arg(long, default_value_t = GrowthSettings::default().batch_size)]
    pub batch_size: usize,
    /// Training steps per network for the memory measurement (0 skips it).
    #[arg(long, default_value_t = GrowthSettings::default().steps)]
    pub steps: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MemoryProbeArgs {
    #[arg(long)]
    pub arch: String,
    #[arg(long)]
    pub image_size: usize,
    #[arg(long)]
    pub batch_size: usize,
    #[arg(long)]
    pub steps: usize,
    /// Recompute memory-bound operations in the backward pass (the memory-efficient option).
    #[arg(long)]
    pub recompute: bool,
}

#[derive(Args, Debug)]
pub struct BottleneckArgs {
    /// The stage width w: the basic block works on w channels, the bottleneck on 4w.
    #[arg(long, default_value_t = BottleneckSettings::default().width)]
    pub width: usize,
    /// Feature map height and width.
    #[arg(long, default_value_t = BottleneckSettings::default().spatial)]
    pub size: usize,
    #[arg(long, default_value_t = BottleneckSettings::default().batch_size)]
    pub batch_size: usize,
    #[arg(long, default_value_t = BottleneckSettings::default().repeats)]
    pub repeats: usize,
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: LabCommand) -> anyhow::Result<()> {
    match command {
        LabCommand::Degradation(args) => degradation(args),
        LabCommand::Gradients(args) => gradients(args),
        LabCommand::Growth(args) => growth(args),
        LabCommand::MemoryProbe(args) => memory_probe(args),
        LabCommand::Bottleneck(args) => bottleneck(args),
    }
}

/// `--data`, or the bundled sample photos.
fn data_folder(data: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match data {
        Some(folder) => Ok(folder),
        None => crate::app::sample_dataset()
            .ok_or_else(|| anyhow::anyhow!("the sample photos are not installed; pass --data DIR")),
    }
}

fn degradation(args: DegradationArgs) -> anyhow::Result<()> {
    let folder = data_folder(args.data)?;
    let device = select_and_log()?;
    let data = LabData::load(&folder, args.image_size).map_err(anyhow::Error::msg)?;
    let settings = DegradationSettings {
        depths: [args.depths[0], args.depths[1]],
        image_size: args.image_size,
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        seed: args.seed,
        zero_init_residual: args.zero_init_residual,
    };
    let json = args.json;
    let progress = |name: &str, point: &degradation::EpochPoint| {
        if !json {
            println!(
                "{name:>10} epoch {:>3}: loss {:.4}, training error {:.1}%",
                point.epoch,
                point.loss,
                100.0 * point.error
            );
        }
    };
    let result = degradation::run(&data, &settings, &device.device, &progress)
        .map_err(anyhow::Error::msg)?;
    if json {
        println!("{}", serde_json::to_string(&result)?);
        return Ok(());
    }
    for curve in &result.curves {
        println!(
            "{:>10}: final training error {:.1}% (mean of the last 3 epochs), {:.0} s",
            curve.name,
            100.0 * curve.final_error(),
            curve.seconds
        );
    }
    println!(
        "{:.0} s in all (the nets train side by side, one thread per core)",
        result.seconds
    );
    println!("{}", result.reading());
    Ok(())
}

fn gradients(args: GradientsArgs) -> anyhow::Result<()> {
    let folder = data_folder(args.data)?;
    let device = select_and_log()?;
    let data = LabData::load(&folder, args.image_size).map_err(anyhow::Error::msg)?;
    let settings = GradientFlowSettings {
        batch_size: args.batch_size,
        steps: args.steps,
        learning_rate: args.learning_rate,
        seed: args.seed,
    };
    eprintln!("{} photos at {}px", data.len(), args.image_size);
    let mut on_start = |name: &str| eprintln!("measuring {name}…");
    let comparison =
        gradient_flow::compare(args.depth, &data, &settings, &device.device, &mut on_start)
            .map_err(anyhow::Error::msg)?;
    if args.json {
        println!("{}", serde_json::to_string(&comparison)?);
        return Ok(());
    }
    print_gradients(&comparison);
    Ok(())
}

fn print_gradients(comparison: &GradientComparison) {
    let (plain, resnet) = (&comparison.plain, &comparison.resnet);
    let plain_name = format!("plain{}", comparison.depth);
    let resnet_name = format!("resnet{}", comparison.depth);
    println!(
        "{:>5}  {:>12} {:>12}  {:>12} {:>12}   (‖∂loss/∂W‖ per convolution, stem first)",
        "layer",
        format!("{plain_name} init"),
        "after",
        format!("{resnet_name} init"),
        "after"
    );
    let rows = plain.at_init.len().max(resnet.at_init.len());
    let cell = |layers: &[gradient_flow::LayerGradient], i: usize| {
        layers
            .get(i)
            .map_or("".to_string(), |l| format!("{:.3e}", l.norm))
    };
    for i in 0..rows {
        let name = plain.at_init.get(i).map_or("", |l| l.layer.as_str());
        println!(
            "{:>5}  {:>12} {:>12}  {:>12} {:>12}   {name}",
            i + 1,
            cell(&plain.at_init, i),
            cell(&plain.after_steps, i),
            cell(&resnet.at_init, i),
            cell(&resnet.after_steps, i)
        );
    }
    println!(
        "first/last layer at initialization: {plain_name} {:.2e}, {resnet_name} {:.2e}; spread \
         (log10 max/min): {:.1} vs {:.1}",
        plain.first_to_last_ratio(),
        resnet.first_to_last_ratio(),
        plain.spread_orders(),
        resnet.spread_orders()
    );
    println!("{}", comparison.reading());
}

fn growth(args: GrowthArgs) -> anyhow::Result<()> {
    let device = select_and_log()?;
    let settings = GrowthSettings {
        densenet: args.densenet,
        resnet: args.resnet,
        image_size: args.image_size,
        batch_size: args.batch_size,
        steps: args.steps,
    };
    let probe = std::env::current_exe().ok();
    let result =
        growth::measure(&settings, &device.device, probe.as_deref()).map_err(anyhow::Error::msg)?;
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
        return Ok(());
    }
    println!(
        "{}: growth rate k = {}, k0 = {} (channels entering each dense layer: k0 + l·k within a block)",
        result.densenet.name, result.growth_rate, result.init_features
    );
    for block in &result.blocks {
        let c = &block.layer_input_channels;
        println!(
            "  {:<12} {} layers: {} → {} channels ({})",
            block.name,
            c.len(),
            c.first().copied().unwrap_or(0),
            c.last().copied().unwrap_or(0),
            c.iter()
                .take(6)
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
                + if c.len() > 6 { ", …" } else { "" }
        );
    }
    println!();
    println!(
        "{:<14} {:>12} {:>9} {:>14} {:>18}",
        "network", "parameters", "GFLOPs", "ImageNet top-1", "training memory"
    );
    for row in result.table_rows() {
        println!(
            "{:<14} {:>12} {:>9.2} {:>14} {:>18}",
            row.name,
            group_digits(row.parameters),
            row.gflops,
            row.imagenet_top1.map_or("".into(), |a| format!("{a:.1}%")),
            row.training_memory_bytes
                .map_or("".into(), |b| crate::cli::human_bytes(b))
        );
    }
    if let Some(kind) = result.densenet.memory_kind {
        println!(
            "(training memory: {} steps at batch {} and {}px, {}; top-1: torchvision's published figures)",
            settings.steps,
            settings.batch_size,
            settings.image_size,
            kind.describe()
        );
    }
    println!("{}", result.reading());
    Ok(())
}

fn memory_probe(args: MemoryProbeArgs) -> anyhow::Result<()> {
    let device = crate::backend::select_device()?;
    let settings = GrowthSettings {
        image_size: args.image_size,
        batch_size: args.batch_size,
        steps: args.steps,
        ..GrowthSettings::default()
    };
    let (bytes, kind) =
        growth::measure_training_memory(&args.arch, &settings, &device.device, args.recompute)
            .map_err(anyhow::Error::msg)?;
    println!(
        "{}",
        serde_json::to_string(&growth::MemoryProbe { bytes, kind })?
    );
    Ok(())
}

fn bottleneck(args: BottleneckArgs) -> anyhow::Result<()> {
    let device = select_and_log()?;
    let settings = BottleneckSettings {
        width: args.width,
        spatial: args.size,
        batch_size: args.batch_size,
        repeats: args.repeats,
    };
    let result = bottleneck::compare(&settings, &device.device).map_err(anyhow::Error::msg)?;
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
        return Ok(());
    }
    println!(
        "{:<28} {:>9} {:>12} {:>14} {:>12}   ({}x{} feature map, batch {}, {})",
        "block",
        "channels",
        "parameters",
        "MACs/image",
        "forward ms",
        settings.spatial,
        settings.spatial,
        settings.batch_size,
        device.description
    );
    for cost in [&result.basic, &result.bottleneck] {
        println!(
            "{:<28} {:>9} {:>12} {:>14} {:>12.2}",
            cost.block,
            cost.in_channels,
            group_digits(cost.parameters),
            group_digits(cost.macs),
            cost.forward_ms
        );
    }
    println!("{}", result.reading());
    Ok(())
}
