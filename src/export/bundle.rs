//! The Skiplane bundle (`.skiplane`): one zip file holding everything needed to use a trained
//! model — `skiplane.ron` (format version, Skiplane and Burn versions, the architecture, class
//! names in order, the preprocessing, the training report) and `weights.bpk` (Burn's own format).
//! `skiplane predict` and the app's Predict panel load it.

use crate::model::{Architecture, Network};
use crate::train::Report;
use crate::train::predict::TrainedModel;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;

/// The bundle layout this build writes and reads.
pub const BUNDLE_FORMAT_VERSION: u32 = 1;
const MANIFEST: &str = "skiplane.ron";
const WEIGHTS: &str = "weights.bpk";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// Shorter side before the center crop (Pillow bilinear, as torchvision).
    pub resize: u32,
    pub crop: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleManifest {
    pub format_version: u32,
    pub skiplane_version: String,
    pub burn_version: String,
    pub architecture: Architecture,
    pub classes: Vec<String>,
    pub preprocessing: Preprocessing,
    pub report: Option<Report>,
}

/// Writes `run_dir`'s best checkpoint as a bundle at `out` (atomically; an existing file is only
/// replaced when `replace`). Returns what was written, in words.
pub fn write_bundle(
    run_dir: &Path,
    out: &Path,
    device: &burn::prelude::Device,
    replace: bool,
) -> Result<String, String> {
    if out.exists() && !replace {
        return Err(format!(
            "{}: already exists; choose another name or allow replacing it (--force)",
            out.display()
        ));
    }
    let model = TrainedModel::from_run(run_dir, device)?;
    let architecture = Architecture::resolve(&model.experiment.architecture)?
        .with_num_classes(model.classes.len());
    let report = std::fs::read_to_string(run_dir.join("report.ron"))
        .ok()
        .and_then(|text| ron::from_str::<Report>(&text).ok());
    let manifest = BundleManifest {
        format_version: BUNDLE_FORMAT_VERSION,
        skiplane_version: env!("CARGO_PKG_VERSION").to_string(),
        burn_version: crate::train::run_folder::BURN_VERSION.to_string(),
        architecture,
        classes: model.classes.clone(),
        preprocessing: Preprocessing {
            resize: model.experiment.resize,
            crop: model.experiment.image_size,
            mean: crate::data::preprocess::IMAGENET_MEAN,
            std: crate::data::preprocess::IMAGENET_STD,
        },
        report,
    };
    let manifest_text = ron::ser::to_string_pretty(&manifest, ron::ser::PrettyConfig::default())
        .map_err(|e| e.to_string())?;
    let weights = model.checkpoint.clone();
    let weights_bytes =
        std::fs::read(&weights).map_err(|e| format!("{}: cannot read: {e}", weights.display()))?;

    let folder = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |e: &dyn std::fmt::Display| format!("{}: cannot write: {e}", out.display());
    std::fs::create_dir_all(folder).map_err(|e| io(&e))?;
    let temp = crate::files::temp_file_in(folder, ".skiplane-export-").map_err(|e| io(&e))?;
    let mut zip = zip::ZipWriter::new(temp);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file(MANIFEST, options).map_err(|e| io(&e))?;
    zip.write_all(manifest_text.as_bytes())
        .map_err(|e| io(&e))?;
    zip.start_file(WEIGHTS, options).map_err(|e| io(&e))?;
    zip.write_all(&weights_bytes).map_err(|e| io(&e))?;
    let temp = zip.finish().map_err(|e| io(&e))?;
    temp.as_file().sync_all().map_err(|e| io(&e))?;
    temp.persist(out).map_err(|e| io(&e.error))?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "wrote {} ({:.1} MiB): {} classes, {}; `skiplane predict {} PHOTO…` uses it",
        out.display(),
        size as f64 / (1024.0 * 1024.0),
        manifest.classes.len(),
        manifest.architecture.describe(),
        out.display()
    ))
}

/// Opens a bundle, checking it on the way: not a zip, missing parts, a newer format, weights
/// that do not fit the architecture — each a message with the path, never a panic.
pub fn read_bundle(path: &Path, device: &burn::prelude::Device) -> Result<TrainedModel, String> {
    let bad = |what: String| format!("{}: {what}", path.display());
    let file = std::fs::File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| bad(format!("not a Skiplane bundle (not a readable zip: {e})")))?;
    let mut manifest_text = String::new();
    zip.by_name(MANIFEST)
        .map_err(|_| bad(format!("not a Skiplane bundle (no {MANIFEST} inside)")))?
        .read_to_string(&mut manifest_text)
        .map_err(|e| bad(format!("{MANIFEST} is damaged: {e}")))?;
    let version: u32 = ron::from_str::<ron::Value>(&manifest_text)
        .ok()
        .and_then(|v| v.into_rust::<VersionOnly>().ok())
        .map(|v| v.format_version)
        .ok_or_else(|| bad(format!("{MANIFEST} is damaged")))?;
    if version > BUNDLE_FORMAT_VERSION {
        return Err(bad(format!(
            "bundle format {version} is newer than this Skiplane reads ({BUNDLE_FORMAT_VERSION}); update Skiplane"
        )));
    }
    let manifest: BundleManifest =
        ron::from_str(&manifest_text).map_err(|e| bad(format!("{MANIFEST} is damaged: {e}")))?;
    let mut weights = Vec::new();
    zip.by_name(WEIGHTS)
        .map_err(|_| bad(format!("the bundle has no {WEIGHTS}")))?
        .read_to_end(&mut weights)
        .map_err(|e| bad(format!("{WEIGHTS} is damaged (truncated file?): {e}")))?;
    let network = Network::new(&manifest.architecture, device)
        .map_err(|e| bad(e.to_string()))?
        .load_checkpoint_bytes(weights)
        .map_err(|e| bad(format!("{WEIGHTS}: {e}")))?;
    let experiment = crate::train::Experiment {
        architecture: manifest.architecture.to_ron().replace('\n', " "),
        resize: manifest.preprocessing.resize,
        image_size: manifest.preprocessing.crop,
        ..Default::default()
    };
    Ok(TrainedModel {
        network,
        experiment,
        classes: manifest.classes,
        checkpoint: path.to_path_buf(),
        device: device.clone(),
    })
}

#[derive(Deserialize)]
struct VersionOnly {
    format_version: u32,
}
