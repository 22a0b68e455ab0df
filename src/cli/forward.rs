use crate::backend::select_and_log;
use crate::model::{Architecture, Network};
use crate::tensor_io::{read_image_batch, write_tensors};
use crate::weights::{load_torchvision, read_weight_file};
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ForwardArgs {
    /// A preset (resnet50, densenet121, …) or a RON architecture file.
    #[arg(long)]
    pub arch: String,
    /// Classes of the head (default: as many as the weight file's head has).
    #[arg(long)]
    pub classes: Option<usize>,
    /// A torchvision-format .pth state dict, or a .safetensors file with torchvision's keys (as
    /// `skiplane export` writes; give `--classes`).
    #[arg(long)]
    pub weights: PathBuf,
    /// A safetensors file with a float tensor `input` of shape (N, 3, H, W), already normalised.
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write `features` (N, C) and `logits` (N, classes) as safetensors.
    #[arg(long)]
    pub output: PathBuf,
}

pub fn run(args: ForwardArgs) -> anyhow::Result<()> {
    let mut arch = Architecture::resolve(&args.arch).map_err(|e| anyhow!(e))?;
    let safetensors = args.weights.extension().is_some_and(|e| e == "safetensors");
    let classes = match args.classes {
        Some(classes) => classes,
        None if safetensors => anyhow::bail!(
            "{}: give --classes for a safetensors file",
            args.weights.display()
        ),
        None => {
            let file = read_weight_file(&args.weights)?;
            let head = if matches!(arch, Architecture::ResNet(_)) {
                "fc.weight"
            } else {
                "classifier.weight"
            };
            file.tensors
                .get(head)
                .and_then(|s| s.first().copied())
                .unwrap_or(arch.num_classes())
        }
    };
    arch = arch.with_num_classes(classes);
    let selected = select_and_log()?;
    let device = &selected.device;
    let network = if safetensors {
        crate::export::load_torchvision_safetensors(&arch, &args.weights, device)
            .map_err(|e| anyhow!(e))?
    } else {
        let mut network = Network::new(&arch, device)?;
        let report = load_torchvision(&mut network, &arch, &args.weights)?;
        for note in &report.notes {
            log::warn!("{note}");
        }
        network
    };
    let images = read_image_batch(&args.input, "input", device)?;
    let outputs = network.forward_outputs(images);
    write_tensors(
        &args.output,
        vec![
            ("features".into(), outputs.features),
            ("logits".into(), outputs.logits),
        ],
    )?;
    println!("wrote features and logits to {}", args.output.display());
    Ok(())
}
