//! Comparing runs trained on the identical split: a table of their figures, and the validation
//! images one model gets right and the other wrong.

use super::events::Report;
use super::experiment::{Experiment, ExperimentError};
use super::pretrained::official_weights_for;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A comparison in one file: the settings every run shares, and the architectures to train with
/// them, e.g. `(experiment: (dataset: "photos", epochs: 5), architectures: ["resnet18", "densenet121"])`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonPlan {
    pub experiment: Experiment,
    pub architectures: Vec<String>,
    /// Each architecture starts from its own ImageNet weights where torchvision has them (and
    /// `experiment.weights` is ignored); `false` uses `experiment.weights` for all.
    #[serde(default = "pretrained_by_default")]
    pub pretrained: bool,
}

fn pretrained_by_default() -> bool {
    true
}

/// The architectures compared when nothing else is said.
pub const DEFAULT_ARCHITECTURES: [&str; 2] = ["resnet18", "densenet121"];

impl ComparisonPlan {
    pub fn load(path: &Path) -> Result<ComparisonPlan, ExperimentError> {
        let error = |message: String| ExperimentError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| error(format!("cannot read the comparison: {e}")))?;
        let mut plan: ComparisonPlan = ron::from_str(&text).map_err(|e| {
            error(format!(
                "not a valid comparison (`experiment` and `architectures`): {e}"
            ))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        plan.experiment.resolve_paths(base);
        for architecture in &mut plan.architectures {
            if architecture.ends_with(".ron") {
                let joined = base.join(&*architecture);
                let absolute = std::fs::canonicalize(&joined).unwrap_or(joined);
                *architecture = absolute.to_string_lossy().into_owned();
            }
        }
        plan.experiment.validate().map_err(error)?;
        if plan.architectures.len() < 2 {
            return Err(error("`architectures` needs at least two entries".into()));
        }
        Ok(plan)
    }

    /// One experiment per architecture, named after it.
    pub fn experiments(&self) -> Vec<(String, Experiment)> {
        self.architectures
            .iter()
            .map(|architecture| {
                let mut experiment = self.experiment.clone();
                experiment.architecture = architecture.clone();
                if self.pretrained {
                    experiment.weights = official_weights_for(architecture).map(Into::into);
                }
                let name = Path::new(architecture)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| architecture.clone());
                (name, experiment)
            })
            .collect()
    }
}

/// One run in a comparison.
#[derive(Debug, Clone, Serialize)]
pub struct ComparedRun {
    pub name: String,
    pub architecture: String,
    pub run_folder: PathBuf,
    pub report: Report,
}

/// A validation image on which two runs disagree about correctness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    pub path: PathBuf,
    pub label: usize,
    /// Index (in the comparison) of the run that got it right, and of the one that got it wrong.
    pub right: usize,
    pub wrong: usize,
    pub wrong_prediction: usize,
}

/// Images run `a` classifies correctly and run `b` does not, and vice versa.
pub fn disagreements(runs: &[ComparedRun], a: usize, b: usize) -> Vec<Disagreement> {
    let (ra, rb) = (&runs[a].report, &runs[b].report);
    let mut out = Vec::new();
    for pa in &ra.validation_predictions {
        let Some(pb) = rb.validation_predictions.iter().find(|p| p.path == pa.path) else {
            continue;
        };
        let (a_right, b_right) = (pa.predicted == pa.label, pb.predicted == pb.label);
        if a_right != b_right {
            let (right, wrong, wrong_prediction) = if a_right {
                (a, b, pb.predicted)
            } else {
                (b, a, pa.predicted)
            };
            out.push(Disagreement {
                path: pa.path.clone(),
                label: pa.label,
                right,
                wrong,
                wrong_prediction,
            });
        }
    }
    out
}
