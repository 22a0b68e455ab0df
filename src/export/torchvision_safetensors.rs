//! A network's weights as a safetensors file keyed exactly like torchvision's state dict
//! (`conv1.weight`, `layer1.0.bn1.running_mean`, `features.denseblock1.denselayer1.norm1.weight`,
//! …, with `num_batches_tracked` for every BatchNorm), so
//! `torchvision.models.resnet18(num_classes=N).load_state_dict(safetensors.torch.load_file(p))`
//! works with `strict=True`. Linear weights are stored (out, in), as PyTorch does.

use crate::model::{Architecture, Network};
use crate::weights::keys::{module_path_to_torchvision, torchvision_to_module_patterns};
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use safetensors::{Dtype, tensor::TensorView};
use std::collections::HashMap;
use std::path::Path;

/// The tensors of `network` under torchvision's key names, as (key, shape, little-endian f32 bytes).
fn torchvision_tensors(network: &Network) -> Result<Vec<(String, Vec<usize>, Vec<u8>)>, String> {
    let adapter = || Some(Box::new(BurnToPyTorchAdapter) as Box<dyn burn::store::ModuleAdapter>);
    let collected = match network {
        Network::ResNet(net) => net.collect(None, adapter(), true),
        Network::DenseNet(net) => net.collect(None, adapter(), true),
    };
    let mut out = Vec::with_capacity(collected.len());
    for tensor in collected {
        let key = module_path_to_torchvision(&tensor.name);
        let data = burn::store::bridge::to_data(&tensor)
            .map_err(|e| format!("{key}: cannot read the tensor: {e:?}"))?
            .convert::<f32>();
        let shape = data.shape().to_vec();
        let values = data
            .try_to_vec::<f32>()
            .map_err(|e| format!("{key}: not a float tensor: {e:?}"))?;
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        out.push((key, shape, bytes));
    }
    Ok(out)
}

/// Writes `network`'s weights to `path` (atomically) with torchvision's keys; `metadata` goes
/// into the file's header (e.g. the architecture and class names).
pub fn export_torchvision_safetensors(
    network: &Network,
    path: &Path,
    metadata: HashMap<String, String>,
) -> Result<(), String> {
    let tensors = torchvision_tensors(network)?;
    // torchvision's BatchNorm also saves how many batches it has seen; strict loading wants it.
    let counters: Vec<String> = tensors
        .iter()
        .filter_map(|(key, _, _)| key.strip_suffix(".running_mean"))
        .map(|prefix| format!("{prefix}.num_batches_tracked"))
        .collect();
    let zero = 0i64.to_le_bytes();
    let mut views = Vec::with_capacity(tensors.len() + counters.len());
    for (key, shape, bytes) in &tensors {
        let view =
            TensorView::new(Dtype::F32, shape.clone(), bytes).map_err(|e| format!("{key}: {e}"))?;
        views.push((key.clone(), view));
    }
    for key in &counters {
        let view = TensorView::new(Dtype::I64, vec![], &zero).map_err(|e| format!("{key}: {e}"))?;
        views.push((key.clone(), view));
    }
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| format!("{}: cannot encode: {e}", path.display()))?;
    crate::files::write_atomic(path, &bytes)
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

/// Loads a safetensors file with torchvision's keys (one this module wrote, or
/// `safetensors.torch.save_file(model.state_dict(), p)` from PyTorch) into a new network of `arch`.
pub fn load_torchvision_safetensors(
    arch: &Architecture,
    path: &Path,
    device: &burn::prelude::Device,
) -> Result<Network, String> {
    let mut network = Network::new(arch, device).map_err(|e| e.to_string())?;
    let mut store = SafetensorsStore::from_file(path)
        .with_from_adapter(PyTorchToBurnAdapter)
        .skip_enum_variants(true)
        .map_indices_contiguous(false)
        .allow_partial(true)
        .validate(false);
    for (pattern, replacement) in torchvision_to_module_patterns(arch) {
        store = store.with_key_remapping(pattern, replacement);
    }
    let applied = match &mut network {
        Network::ResNet(net) => net.load_from(&mut store),
        Network::DenseNet(net) => net.load_from(&mut store),
    }
    .map_err(|e| format!("{}: cannot load: {e}", path.display()))?;
    if !applied.errors.is_empty() || !applied.missing.is_empty() {
        return Err(format!(
            "{}: does not fit {}: {applied}",
            path.display(),
            arch.describe()
        ));
    }
    let stray: Vec<&String> = applied
        .unused
        .iter()
        .filter(|k| !k.ends_with("num_batches_tracked"))
        .collect();
    if let Some(first) = stray.first() {
        return Err(format!(
            "{}: {} tensors have no place in {} (first: {first})",
            path.display(),
            stray.len(),
            arch.describe()
        ));
    }
    Ok(network)
}
