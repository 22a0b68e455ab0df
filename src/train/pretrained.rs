//! Making sure an experiment's pretrained weights are at hand before it starts: official names are
//! fetched into the cache if they are not there yet, and when that is impossible (offline, nothing
//! cached) the experiment falls back to training from scratch with a warning that says so.

use super::experiment::{Experiment, TrainingMode};
use crate::weights::fetch::{OfficialWeights, Progress, fetch_official};

/// What happened to the experiment's weights.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightsReadiness {
    /// A file (named by the user, or official and in the cache) is ready.
    Ready,
    /// No pretrained weights were asked for.
    NoneRequested,
    /// Official weights could not be had; the experiment now trains from scratch. The text says why.
    FromScratch(String),
}

/// Fetches the official weights the experiment names, if they are not cached. Files named by path
/// are left for the worker, which reports a missing or broken file with its path.
pub fn ensure_weights(experiment: &mut Experiment, progress: Progress) -> WeightsReadiness {
    let Some(name) = experiment.weights.clone() else {
        return WeightsReadiness::NoneRequested;
    };
    if OfficialWeights::find(&name).is_none() {
        return WeightsReadiness::Ready;
    }
    match fetch_official(&name, progress) {
        Ok(path) => {
            experiment.weights = Some(path.to_string_lossy().into_owned());
            WeightsReadiness::Ready
        }
        Err(error) => {
            experiment.weights = None;
            let mut warning = format!(
                "no pretrained {name} weights (not cached, and the download failed: {error}); training from scratch"
            );
            if experiment.mode == TrainingMode::FrozenBackbone {
                // A frozen random backbone would only ever train a head on noise.
                experiment.mode = TrainingMode::FineTune;
                warning.push_str(", every layer (a frozen random backbone cannot learn)");
            }
            WeightsReadiness::FromScratch(warning)
        }
    }
}

/// The official weights for an architecture preset (`resnet18` → `resnet18`), if torchvision has them.
pub fn official_weights_for(architecture: &str) -> Option<&'static str> {
    OfficialWeights::find(architecture).map(|w| w.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_download_falls_back_to_training_from_scratch() {
        let cache = tempfile::tempdir().unwrap();
        // SAFETY: this test's process-wide variables point at places only this test uses; no
        // other unit test reads them.
        unsafe {
            std::env::set_var(crate::weights::fetch::CACHE_DIR_ENV, cache.path());
            std::env::set_var(crate::weights::fetch::BASE_URL_ENV, "http://127.0.0.1:9/");
        }
        let mut experiment = Experiment {
            weights: Some("resnet18".into()),
            ..Experiment::default()
        };
        let outcome = ensure_weights(&mut experiment, &mut |_, _| {});
        let WeightsReadiness::FromScratch(warning) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(warning.contains("training from scratch"), "{warning}");
        assert!(warning.contains("weights import"), "{warning}");
        assert_eq!(experiment.weights, None);
        assert_eq!(experiment.mode, TrainingMode::FineTune);

        let mut from_a_file = Experiment {
            weights: Some("/somewhere/model.pth".into()),
            ..Experiment::default()
        };
        assert_eq!(
            ensure_weights(&mut from_a_file, &mut |_, _| {}),
            WeightsReadiness::Ready
        );
    }
}
