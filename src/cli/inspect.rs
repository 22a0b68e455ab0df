use super::{group_digits, human_bytes};
use crate::model::{Architecture, OptimizerKind, inspect};
use anyhow::anyhow;
use clap::{Args, ValueEnum};

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A preset (resnet18, densenet121, resnet56, plain56, densenet_bc_100_12, …) or a RON file.
    pub arch: String,
    /// Square input size in pixels.
    #[arg(long, default_value_t = 224)]
    pub input: usize,
    /// Batch size for the memory estimate.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Number of classes of the head (default: the architecture's own, 1000 for presets).
    #[arg(long)]
    pub classes: Option<usize>,
    /// Optimizer whose state the memory estimate includes.
    #[arg(long, value_enum, default_value_t = Optimizer::Sgd)]
    pub optimizer: Optimizer,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Optimizer {
    /// SGD with momentum.
    Sgd,
    /// Adam / AdamW.
    Adam,
}

pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let mut arch = Architecture::resolve(&args.arch).map_err(|e| anyhow!(e))?;
    if let Some(classes) = args.classes {
        arch = arch.with_num_classes(classes);
    }
    let plan = inspect(&arch, args.input)?;
    let optimizer = match args.optimizer {
        Optimizer::Sgd => OptimizerKind::SgdMomentum,
        Optimizer::Adam => OptimizerKind::Adam,
    };
    let memory = plan.training_memory(args.batch, optimizer);
    if args.json {
        let stages: Vec<_> = plan
            .stages
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name,
                    "parameters": s.parameters,
                    "macs": s.macs,
                    "gflops": s.macs as f64 * 1e-9,
                    "output_shape": s.output_shape,
                    "activation_bytes_per_image": s.activation_elements * 4,
                    "layer_input_channels": s.layer_input_channels,
                })
            })
            .collect();
        let out = serde_json::json!({
            "architecture": arch.describe(),
            "torchvision_name": arch.torchvision_name(),
            "config": arch,
            "input_size": args.input,
            "batch": args.batch,
            "parameters": plan.parameters(),
            "macs": plan.macs(),
            "gflops": plan.gflops(),
            "memory_bytes": memory.total_bytes,
            "memory": memory,
            "stages": stages,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("{}", arch.describe());
    println!("input 3x{0}x{0}, batch {1}\n", args.input, args.batch);
    println!(
        "{:<14} {:>16} {:>14} {:>9} {:>14}",
        "stage", "output (CxHxW)", "parameters", "GFLOPs", "activations"
    );
    for s in &plan.stages {
        let [c, h, w] = s.output_shape;
        println!(
            "{:<14} {:>16} {:>14} {:>9.3} {:>14}",
            s.name,
            format!("{c}x{h}x{w}"),
            group_digits(s.parameters),
            s.macs as f64 * 1e-9,
            human_bytes(s.activation_elements * 4 * args.batch as u64)
        );
        if !s.layer_input_channels.is_empty() {
            let channels: Vec<String> = s
                .layer_input_channels
                .iter()
                .map(|c| c.to_string())
                .collect();
            println!(
                "{:<14} channels into each layer: {}",
                "",
                channels.join(" ")
            );
        }
    }
    println!(
        "{:<14} {:>16} {:>14} {:>9.3}",
        "total",
        "",
        group_digits(plan.parameters()),
        plan.gflops()
    );
    println!(
        "\nestimated training memory (full fine-tune, {}): {} = weights {} + gradients {} + optimizer {} + activations {}",
        optimizer,
        human_bytes(memory.total_bytes),
        human_bytes(memory.weights_bytes),
        human_bytes(memory.gradients_bytes),
        human_bytes(memory.optimizer_bytes),
        human_bytes(memory.activations_bytes)
    );
    Ok(())
}
