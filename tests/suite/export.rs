//! Export to safetensors with torchvision's key names: every preset's keys and shapes are
//! torchvision's (apart from the head's size), and the fixtures exported and loaded back give
//! torchvision's logits.

use crate::common::{fixture, relative_error, tensor_values};
use crate::parity::fixture_architectures;
use skiplane::backend::cpu_device;
use skiplane::export::{export_torchvision_safetensors, load_torchvision_safetensors};
use skiplane::model::{Architecture, Network};
use skiplane::tensor_io::{read_host_tensor, read_image_batch};
use skiplane::weights::load_torchvision;
use std::collections::{BTreeMap, HashMap};

fn keys_and_shapes(path: &std::path::Path) -> BTreeMap<String, Vec<usize>> {
    let bytes = std::fs::read(path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    file.tensors()
        .into_iter()
        .map(|(key, view)| (key, view.shape().to_vec()))
        .collect()
}

#[test]
fn exported_keys_are_torchvisions_for_every_preset() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("torchvision_state_dicts.json")).unwrap(),
    )
    .unwrap();
    let device = cpu_device("test").device;
    let dir = tempfile::tempdir().unwrap();
    let classes = 7;
    for (name, entry) in reference.as_object().unwrap() {
        let arch = Architecture::preset(name, classes).unwrap();
        let network = Network::new(&arch, &device).unwrap();
        let path = dir.path().join(format!("{name}.safetensors"));
        export_torchvision_safetensors(&network, &path, HashMap::new()).unwrap();
        let exported = keys_and_shapes(&path);
        let head = if name.starts_with("resnet") {
            "fc"
        } else {
            "classifier"
        };
        let expected: BTreeMap<String, Vec<usize>> = entry["state_dict"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                let key = pair[0].as_str().unwrap().to_string();
                let mut shape: Vec<usize> = pair[1]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap() as usize)
                    .collect();
                if key.starts_with(&format!("{head}.")) {
                    shape[0] = classes; // 1000 ImageNet classes in the reference
                }
                (key, shape)
            })
            .collect();
        assert_eq!(exported, expected, "{name}");
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn fixtures_exported_and_loaded_back_give_torchvisions_logits() {
    let device = cpu_device("test").device;
    let dir = tempfile::tempdir().unwrap();
    for (name, arch) in fixture_architectures() {
        let mut network = Network::new(&arch, &device).unwrap();
        load_torchvision(&mut network, &arch, &fixture(&format!("{name}.pth"))).unwrap();
        let path = dir.path().join(format!("{name}.safetensors"));
        let metadata = HashMap::from([("architecture".to_string(), arch.to_ron())]);
        export_torchvision_safetensors(&network, &path, metadata).unwrap();
        let loaded = load_torchvision_safetensors(&arch, &path, &device).unwrap();
        let reference = fixture(&format!("{name}.ref.safetensors"));
        let input = read_image_batch(&reference, "input", &device).unwrap();
        let expected = read_host_tensor(&reference, "logits").unwrap();
        let err = relative_error(&tensor_values(loaded.forward(input)), &expected.values);
        assert!(err < 1e-5, "{name}: relative error {err:.2e}");
    }
    // A file for another network is refused with what does not fit.
    let resnet = fixture_architectures()[0].1.clone();
    let error = load_torchvision_safetensors(
        &resnet,
        &dir.path().join("tiny_densenet.safetensors"),
        &device,
    )
    .err()
    .unwrap();
    assert!(error.contains("tiny_densenet.safetensors"), "{error}");
}
