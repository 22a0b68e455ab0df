//! Eval-mode outputs match torchvision's on the fixture weight files (reference outputs computed
//! by torchvision in float64), on the CPU backend and, where an adapter exists, on wgpu.

use crate::common::{fixture, relative_error, tensor_values};
use burn::prelude::Device;
use skiplane::backend::{cpu_device, wgpu_device};
use skiplane::model::{
    Architecture, BlockKind, DenseNetConfig, Network, ResNetConfig, Shortcut, Stem,
};
use skiplane::tensor_io::{read_host_tensor, read_image_batch};
use skiplane::weights::{load_torchvision, read_weight_file};

const TOLERANCE: f64 = 1e-4;

/// The fixtures' architectures, written out as a user would configure them.
pub fn fixture_architectures() -> Vec<(&'static str, Architecture)> {
    vec![
        (
            "tiny_resnet_basic",
            Architecture::ResNet(ResNetConfig {
                stem: Stem::ImageNet,
                stem_width: 8,
                block: BlockKind::Basic,
                blocks: vec![1, 1, 1, 1],
                widths: vec![8, 16, 32, 64],
                skip_connections: true,
                shortcut: Shortcut::Projection,
                zero_init_residual: false,
                num_classes: 10,
            }),
        ),
        (
            "tiny_resnet_bottleneck",
            Architecture::ResNet(ResNetConfig {
                stem: Stem::ImageNet,
                stem_width: 8,
                block: BlockKind::Bottleneck,
                blocks: vec![1, 2, 1, 1],
                widths: vec![8, 16, 32, 64],
                skip_connections: true,
                shortcut: Shortcut::Projection,
                zero_init_residual: false,
                num_classes: 7,
            }),
        ),
        (
            "tiny_densenet",
            Architecture::DenseNet(DenseNetConfig {
                growth_rate: 8,
                block_config: vec![2, 3, 4, 2],
                init_features: 16,
                bn_size: 4,
                num_classes: 5,
                ..DenseNetConfig::default()
            }),
        ),
        (
            "tiny_densenet_legacy",
            Architecture::DenseNet(DenseNetConfig {
                growth_rate: 8,
                block_config: vec![2, 2, 2, 2],
                init_features: 16,
                bn_size: 2,
                num_classes: 3,
                ..DenseNetConfig::default()
            }),
        ),
    ]
}

fn check_parity(device: &Device, backend: &str) {
    for (name, arch) in fixture_architectures() {
        let weights = fixture(&format!("{name}.pth"));
        let reference = fixture(&format!("{name}.ref.safetensors"));
        let recognised = read_weight_file(&weights)
            .and_then(|f| f.recognise())
            .expect("fixture is recognised");
        assert_eq!(recognised, arch, "{name}: recognised architecture");

        let mut network = Network::new(&arch, device).expect("valid config");
        let report = load_torchvision(&mut network, &arch, &weights).expect("fixture loads");
        assert!(report.head_loaded, "{name}: head loaded");

        let input = read_image_batch(&reference, "input", device).expect("reference input");
        let outputs = network.forward_outputs(input);
        for (what, out) in [("features", outputs.features), ("logits", outputs.logits)] {
            let expected = read_host_tensor(&reference, what).expect("reference tensor");
            assert_eq!(
                out.dims().to_vec(),
                expected.shape,
                "{name} {what} shape on {backend}"
            );
            let err = relative_error(&tensor_values(out), &expected.values);
            println!("{backend} {name} {what}: relative error {err:.2e}");
            assert!(
                err < TOLERANCE,
                "{name} {what} on {backend}: relative error {err:.2e} ≥ {TOLERANCE:e}"
            );
        }
    }
}

#[test]
fn fixtures_match_torchvision_on_cpu() {
    check_parity(&cpu_device("test").device, "cpu");
}

/// Runs on any wgpu adapter, software ones included (CI installs Mesa's lavapipe). Set
/// `SKIPLANE_REQUIRE_WGPU=1` to make a missing adapter a failure rather than a skip.
#[test]
fn fixtures_match_torchvision_on_wgpu() {
    match wgpu_device(true) {
        Some(selected) => {
            println!("wgpu device: {}", selected.description);
            check_parity(&selected.device, "wgpu");
        }
        None if std::env::var("SKIPLANE_REQUIRE_WGPU").is_ok_and(|v| v == "1") => {
            panic!("SKIPLANE_REQUIRE_WGPU=1 but wgpu found no adapter")
        }
        None => eprintln!("skipped: no wgpu adapter on this machine"),
    }
}

/// A training checkpoint (`{"epoch": …, "state_dict": …}`, keys prefixed `module.` by DataParallel)
/// loads like a bare state dict.
#[test]
fn a_wrapped_training_checkpoint_loads_with_the_same_outputs() {
    let device = cpu_device("test").device;
    let (_, arch) = fixture_architectures().remove(0);
    let path = fixture("wrapped_checkpoint.pth");
    let file = read_weight_file(&path).expect("readable");
    assert_eq!(file.prefix, "state_dict.module.");
    assert_eq!(file.recognise().expect("recognised"), arch);
    let mut network = Network::new(&arch, &device).unwrap();
    load_torchvision(&mut network, &arch, &path).expect("loads");
    let reference = fixture("tiny_resnet_basic.ref.safetensors");
    let logits = network.forward(read_image_batch(&reference, "input", &device).unwrap());
    let expected = read_host_tensor(&reference, "logits").unwrap();
    assert!(relative_error(&tensor_values(logits), &expected.values) < TOLERANCE);
}
