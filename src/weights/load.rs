//! Loading torchvision weights into a network, with every tensor accounted for.

use super::WeightsError;
use super::file::{compare_keys, expected_keys, read_weight_file};
use super::keys::torchvision_to_module_patterns;
use crate::model::{Architecture, Network};
use burn::store::{ModuleSnapshot, PytorchStore};
use std::path::{Path, PathBuf};

/// What loading did.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub path: PathBuf,
    /// The architecture the file holds, as recognised from its keys and shapes.
    pub file_architecture: Option<Architecture>,
    /// Tensors (weights and BatchNorm running statistics) copied into the network.
    pub tensors_applied: usize,
    /// Whether the classifier came from the file too (same class count).
    pub head_loaded: bool,
    /// Human-readable remarks, e.g. why the head was left freshly initialised.
    pub notes: Vec<String>,
}

fn skip_resnet_head(path: &str, _container: &str) -> bool {
    !path.starts_with("fc.")
}

fn skip_densenet_head(path: &str, _container: &str) -> bool {
    !path.starts_with("classifier.")
}

/// Loads the torchvision `.pth` at `path` into `network`, built from `arch`. The head is taken
/// from the file when the class counts agree and left as initialised otherwise. Fails, naming the
/// file, unless every backbone tensor was applied and nothing but `num_batches_tracked` and the
/// head was left unused.
pub fn load_torchvision(
    network: &mut Network,
    arch: &Architecture,
    path: &Path,
) -> Result<LoadReport, WeightsError> {
    let file = read_weight_file(path)?;
    let mismatch = |message: String| WeightsError::Mismatch {
        path: path.to_path_buf(),
        message,
    };
    let file_architecture = file.recognise().ok();
    let head = network.head_key();
    let is_head = |key: &str| key.starts_with(&format!("{head}."));

    let expected = expected_keys(arch);
    let (expected_head, expected_backbone): (Vec<_>, Vec<_>) =
        expected.iter().cloned().partition(|(k, _)| is_head(k));
    let file_backbone = file
        .tensors
        .iter()
        .filter(|(k, _)| !is_head(k))
        .map(|(k, s)| (k.clone(), s.clone()))
        .collect();
    let diff = compare_keys(&expected_backbone, &file_backbone);
    if !diff.is_empty() {
        let holds = match &file_architecture {
            Some(found) => format!("holds {}", found.describe()),
            None => "does not hold a recognisable torchvision ResNet/DenseNet".to_string(),
        };
        return Err(mismatch(format!(
            "the file {holds}, which does not fit the chosen architecture {}: {}",
            arch.describe(),
            diff.summary()
        )));
    }
    let head_fits = expected_head
        .iter()
        .all(|(k, shape)| file.tensors.get(k) == Some(shape));
    let mut notes = Vec::new();
    if !head_fits {
        let file_classes = file
            .tensors
            .get(&format!("{head}.weight"))
            .and_then(|s| s.first().copied());
        notes.push(format!(
            "head not loaded: the file's `{head}` has {} classes, the model {}; a new head was initialised",
            file_classes.map_or("no".to_string(), |c| c.to_string()),
            arch.num_classes()
        ));
    }

    let mut store = PytorchStore::from_file(path)
        .map_indices_contiguous(false)
        .allow_partial(true)
        .validate(false);
    if !file.prefix.is_empty() {
        store = store.with_key_remapping(format!("^{}", regex::escape(&file.prefix)), "");
    }
    for (pattern, replacement) in torchvision_to_module_patterns(arch) {
        store = store.with_key_remapping(pattern, replacement);
    }
    if !head_fits {
        store = store.with_predicate(match network {
            Network::ResNet(_) => skip_resnet_head,
            Network::DenseNet(_) => skip_densenet_head,
        });
    }
    let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match network {
        Network::ResNet(net) => net.load_from(&mut store),
        Network::DenseNet(net) => net.load_from(&mut store),
    }))
    .map_err(|_| mismatch("loading crashed inside burn-store (is the file corrupt?)".into()))?
    .map_err(|e| mismatch(format!("could not load the tensors: {e}")))?;

    if !applied.errors.is_empty() {
        return Err(mismatch(format!(
            "some tensors could not be applied:\n{applied}"
        )));
    }
    if !applied.missing.is_empty() {
        let missing: Vec<&str> = applied
            .missing
            .iter()
            .take(5)
            .map(|(p, _)| p.as_str())
            .collect();
        return Err(mismatch(format!(
            "{} model tensors got no value from the file: {}",
            applied.missing.len(),
            missing.join(", ")
        )));
    }
    let stray: Vec<&String> = applied
        .unused
        .iter()
        .filter(|k| !k.ends_with("num_batches_tracked") && !(is_head(k) && !head_fits))
        .collect();
    if !stray.is_empty() {
        return Err(mismatch(format!(
            "{} tensors in the file were not used (first: {}); Skiplane refuses to load partially",
            stray.len(),
            stray[0]
        )));
    }
    let wanted = expected_backbone.len() + if head_fits { expected_head.len() } else { 0 };
    if applied.applied.len() != wanted {
        return Err(mismatch(format!(
            "{} tensors were applied but the model has {wanted} to fill",
            applied.applied.len()
        )));
    }
    Ok(LoadReport {
        path: path.to_path_buf(),
        file_architecture,
        tensors_applied: applied.applied.len(),
        head_loaded: head_fits,
        notes,
    })
}
