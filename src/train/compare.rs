//! Comparing runs trained on the identical split: a table of their figures, and the validation
//! images one model gets right and the other wrong.

use super::events::Report;
use serde::Serialize;
use std::path::PathBuf;

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
