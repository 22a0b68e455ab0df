//! `skiplane bench data`: images per second for scanning and for decode + resize + normalise, on
//! one core and on all, over a real folder and a synthetic one of 2,000 photos.

use crate::data::folder::{ScanDepth, scan_folder};
use crate::data::loader::{ImageCache, Sample, Transform, batch_indices, load_batch};
use crate::data::preprocess::EvalTransform;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Data pipeline throughput.
    Data(DataBenchArgs),
    /// Model throughput on the selected device: inference, frozen-backbone and full training steps.
    Model(ModelBenchArgs),
    /// End to end, folder to report: a frozen-backbone transfer run (default: the sample photos,
    /// ResNet-18, ImageNet weights, 10 epochs at 224), timed as a user would wait for it.
    Train(TrainBenchArgs),
    /// The Lab's degradation experiment with its default settings on the CPU, timed against its
    /// budget (five minutes on a 2-core laptop), and whether the paper's outcome held.
    Lab(LabBenchArgs),
}

#[derive(Args, Debug)]
pub struct LabBenchArgs {
    /// A folder of class folders (default: the bundled sample photos).
    pub dir: Option<PathBuf>,
    /// Print one JSON line (the figures and every epoch) instead of the summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TrainBenchArgs {
    /// A folder of class folders (default: the bundled sample, datasets/gcompris4).
    pub dir: Option<PathBuf>,
    #[arg(long, default_value = "resnet18")]
    pub arch: String,
    /// A torchvision .pth file or an official name (fetched if not cached).
    #[arg(long, default_value = "resnet18")]
    pub weights: String,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 224)]
    pub image_size: u32,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
}

#[derive(Args, Debug)]
pub struct ModelBenchArgs {
    /// A preset or a RON architecture file.
    #[arg(long, default_value = "resnet18")]
    pub arch: String,
    #[arg(long, default_value_t = 224)]
    pub input: usize,
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Timed repetitions of each measurement (after one warm-up).
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
}

#[derive(Args, Debug)]
pub struct DataBenchArgs {
    /// A dataset folder to measure (default: the bundled sample, datasets/gcompris4).
    pub dir: Option<PathBuf>,
    /// Also measure a synthetic folder of this many JPEG photos (0 = skip).
    #[arg(long, default_value_t = 2000)]
    pub synthetic: usize,
    /// Keep the synthetic photos in this folder (e.g. to time another tool on the same files).
    #[arg(long)]
    pub keep_synthetic: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Data(args) => data(args),
        BenchCommand::Model(args) => model(args),
        BenchCommand::Train(args) => train(args),
        BenchCommand::Lab(args) => lab(args),
    }
}

#[derive(serde::Serialize)]
struct Figures {
    dataset: String,
    images: usize,
    threads: usize,
    scan_images_per_s: f64,
    preprocess_images_per_s: f64,
    cached_epoch_images_per_s: f64,
}

fn data(args: DataBenchArgs) -> anyhow::Result<()> {
    let dir = args
        .dir
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4"));
    let all = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut threads = vec![1];
    if all > 1 {
        threads.push(all);
    }
    let mut figures = Vec::new();
    for &n in &threads {
        figures.push(measure(&dir, n)?);
    }
    if args.synthetic > 0 {
        let temp = tempfile::tempdir()?;
        let folder = args
            .keep_synthetic
            .clone()
            .unwrap_or_else(|| temp.path().to_path_buf());
        write_synthetic_folder(&dir, &folder, args.synthetic)?;
        for &n in &threads {
            let mut f = measure(&folder, n)?;
            f.dataset = format!("synthetic {}", args.synthetic);
            figures.push(f);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
        return Ok(());
    }
    println!(
        "{:<28} {:>7} {:>8} {:>12} {:>14} {:>14}",
        "dataset", "images", "threads", "scan img/s", "decode+prep/s", "cached img/s"
    );
    for f in figures {
        println!(
            "{:<28} {:>7} {:>8} {:>12.0} {:>14.1} {:>14.0}",
            f.dataset,
            f.images,
            f.threads,
            f.scan_images_per_s,
            f.preprocess_images_per_s,
            f.cached_epoch_images_per_s
        );
    }
    println!(
        "(decode+prep: decode, resize 256, center-crop 224, normalise; cached: the same from the in-memory cache)"
    );
    Ok(())
}

fn measure(dir: &Path, threads: usize) -> anyhow::Result<Figures> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    pool.install(|| {
        let started = Instant::now();
        let scanned = scan_folder(dir, ScanDepth::Headers)?;
        let scan_secs = started.elapsed().as_secs_f64();
        let samples: Vec<Sample> = scanned
            .classes
            .iter()
            .enumerate()
            .flat_map(|(label, c)| {
                c.images.iter().map(move |p| Sample {
                    path: dir.join(p),
                    label,
                })
            })
            .collect();
        let n = samples.len();
        let transform = Transform::Eval(EvalTransform::default());
        let cache = ImageCache::new(4 << 30);
        let mut epoch_secs = [0.0; 2];
        for secs in epoch_secs.iter_mut() {
            let started = Instant::now();
            for indices in batch_indices(n, 32, None) {
                let batch = load_batch(&samples, &indices, &transform, &cache, 0);
                std::hint::black_box(&batch.images);
            }
            *secs = started.elapsed().as_secs_f64();
        }
        Ok(Figures {
            dataset: dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            images: n,
            threads,
            scan_images_per_s: n as f64 / scan_secs,
            preprocess_images_per_s: n as f64 / epoch_secs[0],
            cached_epoch_images_per_s: n as f64 / epoch_secs[1],
        })
    })
}

/// Writes `count` JPEGs, two classes, made from the photos in `source` with varied crops so no
/// two files are the same.
fn write_synthetic_folder(source: &Path, dest: &Path, count: usize) -> anyhow::Result<()> {
    let scanned = scan_folder(source, ScanDepth::Headers)?;
    let photos: Vec<PathBuf> = scanned
        .classes
        .iter()
        .flat_map(|c| c.images.iter().map(|p| source.join(p)))
        .collect();
    anyhow::ensure!(
        !photos.is_empty(),
        "{}: no photos to make a synthetic folder from",
        source.display()
    );
    let decoded: Vec<image::RgbImage> = photos
        .iter()
        .take(16)
        .map(|p| crate::data::decode::decode_file(p).with_context(|| format!("{}", p.display())))
        .collect::<Result<_, _>>()?;
    for class in ["a", "b"] {
        std::fs::create_dir_all(dest.join(class))?;
    }
    use rayon::prelude::*;
    (0..count)
        .into_par_iter()
        .try_for_each(|i| -> anyhow::Result<()> {
            let base = &decoded[i % decoded.len()];
            let (w, h) = base.dimensions();
            let shift = (i / decoded.len()) as u32 % (w / 4).max(1);
            let crop = image::imageops::crop_imm(base, shift, 0, w - shift, h).to_image();
            let path = dest
                .join(if i % 2 == 0 { "a" } else { "b" })
                .join(format!("photo{i:05}.jpg"));
            crop.save_with_format(&path, image::ImageFormat::Jpeg)
                .with_context(|| format!("{}", path.display()))?;
            Ok(())
        })
}

/// Images per second for `steps` runs of `work` after one warm-up (which also absorbs kernel
/// compilation on wgpu).
fn images_per_second(batch: usize, steps: usize, mut work: impl FnMut()) -> f64 {
    work();
    let started = Instant::now();
    for _ in 0..steps.max(1) {
        work();
    }
    (batch * steps.max(1)) as f64 / started.elapsed().as_secs_f64()
}

fn model(args: ModelBenchArgs) -> anyhow::Result<()> {
    use crate::model::{Architecture, Network};
    use burn::prelude::*;
    let arch = Architecture::resolve(&args.arch)
        .map_err(|e| anyhow::anyhow!(e))?
        .with_num_classes(10);
    let selected = crate::backend::select_and_log()?;
    let device = selected.device.clone();
    let training = Device::autodiff(device.clone());
    let shape = [args.batch, 3, args.input, args.input];
    let images =
        |d: &Device| Tensor::<4>::random(shape, burn::tensor::Distribution::Normal(0.0, 1.0), d);
    let sync = |t: Tensor<2>| {
        // Reading a value back waits for the device to finish the work.
        let _ = t.sum().into_scalar::<f32>();
    };

    let network = Network::new(&arch, &device)?;
    let inference = images_per_second(args.batch, args.steps, || {
        sync(network.forward(images(&device)))
    });

    let frozen = Network::new(&arch, &training)?.freeze_backbone();
    let frozen_step = images_per_second(args.batch, args.steps, || {
        let grads = frozen.forward(images(&training)).sum().backward();
        std::hint::black_box(grads);
    });

    let full = Network::new(&arch, &training)?;
    let full_step = images_per_second(args.batch, args.steps, || {
        let grads = full.forward(images(&training)).sum().backward();
        std::hint::black_box(grads);
    });
    let peak = crate::train::memory::process_memory().map(|m| m.peak_resident_bytes);
    println!(
        "{} on {} · input {}x{}, batch {}",
        arch.describe(),
        selected.description,
        args.input,
        args.input,
        args.batch
    );
    println!("  inference (eval forward)                  {inference:>8.1} images/s");
    println!("  frozen backbone (forward + head backward) {frozen_step:>8.1} images/s");
    println!("  full fine-tune (forward + backward)       {full_step:>8.1} images/s");
    println!(
        "  parameters {}",
        super::group_digits(network.parameter_count() as u64)
    );
    if let Some(peak) = peak {
        println!("  peak resident memory {}", super::human_bytes(peak));
    }
    Ok(())
}

/// Times a whole frozen-backbone run from folder to report, in a throwaway run folder.
fn train(args: TrainBenchArgs) -> anyhow::Result<()> {
    use crate::train::{Experiment, TrainEvent, TrainingMode, start_training};
    let dir = args
        .dir
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4"));
    let started = Instant::now();
    let mut experiment = super::train::ExperimentFlags {
        data: Some(dir.clone()),
        arch: Some(args.arch.clone()),
        weights: Some(args.weights.clone()),
        epochs: Some(args.epochs),
        image_size: Some(args.image_size),
        batch_size: Some(args.batch_size),
        mode: Some(TrainingMode::FrozenBackbone),
        ..Default::default()
    }
    .apply(Experiment::default())?;
    super::train::prepare_weights(&mut experiment);
    if experiment.weights.is_none() {
        anyhow::bail!("the benchmark needs pretrained weights: pass --weights FILE.pth");
    }
    let device = crate::backend::select_and_log()?;
    let scratch = tempfile::tempdir()?;
    let run = crate::train::run_folder::RunFolder::create_at(&scratch.path().join("run"))
        .map_err(anyhow::Error::msg)?;
    let handle = start_training(experiment, run, device.clone())?;
    let (mut first_epoch_seconds, mut images) = (0.0, 0);
    let mut report = None;
    for event in handle.events.iter() {
        match event {
            TrainEvent::Started {
                train_images,
                validation_images,
                ..
            } => images = train_images + validation_images,
            TrainEvent::EpochDone(m) if m.epoch == 1 => first_epoch_seconds = m.seconds,
            TrainEvent::Finished(r) => report = Some(r),
            TrainEvent::Failed(reason) => anyhow::bail!("the run failed: {reason}"),
            _ => {}
        }
    }
    handle.join();
    let total = started.elapsed().as_secs_f64();
    let report = report.context("the run ended without a report")?;
    println!(
        "{} on {} ({}), {} epochs at {}, batch {}, frozen backbone, {} images:",
        args.arch,
        dir.display(),
        device.description,
        report.epochs_run,
        args.image_size,
        args.batch_size,
        images
    );
    println!(
        "  folder to report {total:.1} s (first epoch, with the backbone pass, {first_epoch_seconds:.1} s); final validation accuracy {:.3}",
        report.final_validation_accuracy
    );
    if let Some(peak) = report.peak_memory_bytes {
        println!(
            "  peak memory {} ({}), estimated {}",
            super::human_bytes(peak),
            report.memory_kind.describe(),
            super::human_bytes(report.estimated_memory_bytes)
        );
    }
    Ok(())
}

/// The budget the degradation defaults are chosen for.
const LAB_BUDGET_SECONDS: f64 = 300.0;

fn lab(args: LabBenchArgs) -> anyhow::Result<()> {
    use crate::lab::data::LabData;
    use crate::lab::degradation::{self, DegradationSettings};
    let dir = match args.dir {
        Some(dir) => dir,
        None => crate::app::sample_dataset()
            .context("the sample photos are not installed; pass a folder")?,
    };
    // The budget is the CPU's: a laptop without a usable GPU is the case it must fit.
    let device = crate::backend::cpu_device("the Lab's budget is measured on the CPU");
    let settings = DegradationSettings::default();
    let started = Instant::now();
    let data = LabData::load(&dir, settings.image_size).map_err(anyhow::Error::msg)?;
    let json = args.json;
    let progress = |name: &str, point: &degradation::EpochPoint| {
        if !json {
            eprintln!(
                "{name:>10} epoch {:>3}: training error {:.1}%",
                point.epoch,
                100.0 * point.error
            );
        }
    };
    let result = degradation::run(&data, &settings, &device.device, &progress)
        .map_err(anyhow::Error::msg)?;
    let total = started.elapsed().as_secs_f64();
    if json {
        let figures = serde_json::json!({
            "device": device.description,
            "photos": data.len(),
            "total_seconds": total,
            "budget_seconds": LAB_BUDGET_SECONDS,
            "within_budget": total <= LAB_BUDGET_SECONDS,
            "result": result,
        });
        println!("{figures}");
        return Ok(());
    }
    println!(
        "degradation, default settings ({} epochs, batch {}, lr {} (/10 at 1/2 and 3/4), seed {}, residual branches from zero: {}), {} photos at {}x{}, {}:",
        settings.epochs,
        settings.batch_size,
        settings.learning_rate,
        settings.seed,
        settings.zero_init_residual,
        data.len(),
        settings.image_size,
        settings.image_size,
        device.description
    );
    for curve in &result.curves {
        println!(
            "  {:>9}: final training error {:>5.1}%  {:>5.0} s",
            curve.name,
            100.0 * curve.final_error(),
            curve.seconds
        );
    }
    println!(
        "  total {total:.0} s against a budget of {LAB_BUDGET_SECONDS:.0} s: {}; paper's outcome held: {}",
        if total <= LAB_BUDGET_SECONDS {
            "within"
        } else {
            "OVER"
        },
        if result.held { "yes" } else { "no" }
    );
    Ok(())
}
