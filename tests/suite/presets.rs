//! Every torchvision preset builds with exactly torchvision's parameter count, state-dict keys and
//! shapes; the inspector's FLOPs agree with torchvision's published figures.

use crate::common::fixture;
use burn::store::ModuleSnapshot;
use skiplane::backend::cpu_device;
use skiplane::model::{Architecture, Network, inspect};
use skiplane::weights::keys::module_path_to_torchvision;
use std::collections::BTreeSet;

type Reference = std::collections::BTreeMap<String, serde_json::Value>;

fn reference() -> Reference {
    let text = std::fs::read_to_string(fixture("torchvision_state_dicts.json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

fn reference_keys(entry: &serde_json::Value) -> Vec<(String, Vec<usize>)> {
    serde_json::from_value(entry["state_dict"].clone()).expect("state_dict list")
}

#[test]
fn inspector_keys_and_parameters_match_torchvision() {
    for (name, entry) in reference() {
        let arch = Architecture::preset(&name, 1000).expect("preset exists");
        assert_eq!(arch.torchvision_name(), Some(name.as_str()));
        let plan = inspect(&arch, 224).expect("inspects at 224");
        assert_eq!(
            plan.torchvision_keys(),
            reference_keys(&entry),
            "{name}: keys and shapes, in order"
        );
        assert_eq!(
            plan.parameters(),
            entry["parameters"].as_u64().unwrap(),
            "{name}: parameters"
        );
    }
}

#[test]
fn built_networks_match_torchvision_keys_and_parameter_counts() {
    let device = cpu_device("test").device;
    for (name, entry) in reference() {
        let arch = Architecture::preset(&name, 1000).unwrap();
        let network = Network::new(&arch, &device).unwrap();
        assert_eq!(
            network.parameter_count() as u64,
            entry["parameters"].as_u64().unwrap(),
            "{name}: parameters"
        );
        let built: BTreeSet<(String, Vec<usize>)> = network
            .collect(None, None, false)
            .into_iter()
            .map(|snapshot| {
                (
                    module_path_to_torchvision(&snapshot.name),
                    snapshot.shape.to_vec(),
                )
            })
            .collect();
        let expected: BTreeSet<(String, Vec<usize>)> = reference_keys(&entry)
            .into_iter()
            .filter(|(k, _)| !k.ends_with("num_batches_tracked"))
            // Burn stores Linear weights as (in, out); torchvision as (out, in).
            .map(|(k, s)| {
                if k.ends_with("fc.weight") || k.ends_with("classifier.weight") {
                    (k, vec![s[1], s[0]])
                } else {
                    (k, s)
                }
            })
            .collect();
        assert_eq!(
            built, expected,
            "{name}: module tensors mapped to torchvision keys"
        );
    }
}

#[test]
fn flops_match_torchvision_published_figures() {
    for (name, published) in [
        ("resnet18", 1.814),
        ("resnet50", 4.089),
        ("densenet121", 2.834),
        ("resnet34", 3.664),
        ("densenet161", 7.728),
    ] {
        let gflops = inspect(&Architecture::preset(name, 1000).unwrap(), 224)
            .unwrap()
            .gflops();
        let off = (gflops - published).abs() / published;
        assert!(
            off < 0.01,
            "{name}: {gflops:.3} GFLOPs vs torchvision's {published} ({:.2}% off)",
            off * 100.0
        );
    }
}

#[test]
fn cifar_presets_have_the_papers_sizes() {
    // He et al. 2015, table 6: ResNet-20 0.27M, -32 0.46M, -44 0.66M, -56 0.85M, -110 1.7M.
    for (name, millions) in [
        ("resnet20", 0.27),
        ("resnet32", 0.46),
        ("resnet44", 0.66),
        ("resnet56", 0.85),
        ("resnet110", 1.7),
    ] {
        let params = inspect(&Architecture::preset(name, 10).unwrap(), 32)
            .unwrap()
            .parameters() as f64
            / 1e6;
        assert!(
            (params - millions).abs() / millions < 0.03,
            "{name}: {params:.3}M parameters vs {millions}M"
        );
    }
    // Huang et al. 2017, table 2: DenseNet-BC (L=100, k=12) has 0.8M parameters.
    let params = inspect(&Architecture::preset("densenet_bc_100_12", 10).unwrap(), 32)
        .unwrap()
        .parameters() as f64
        / 1e6;
    assert!((params - 0.8).abs() < 0.05, "DenseNet-BC-100: {params:.3}M");
}

#[test]
fn plain_nets_have_the_same_layers_without_shortcuts() {
    let resnet = inspect(&Architecture::preset("resnet56", 10).unwrap(), 32).unwrap();
    let plain = inspect(&Architecture::preset("plain56", 10).unwrap(), 32).unwrap();
    // Option-A shortcuts are parameter-free, so the two nets have identical weights.
    assert_eq!(resnet.torchvision_keys(), plain.torchvision_keys());
    let device = cpu_device("test").device;
    let net = Network::new(&Architecture::preset("plain20", 10).unwrap(), &device).unwrap();
    let x = burn::prelude::Tensor::<4>::ones([2, 3, 32, 32], &device);
    assert_eq!(net.forward(x).dims(), [2, 10]);
}
