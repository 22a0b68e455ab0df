//! The Lab on tiny configurations: the measured quantities are computed (finite, the right count,
//! the inspector's exact counts), not their scientific outcome.

use assert_cmd::Command;
use skiplane::backend::cpu_device;
use skiplane::lab::bottleneck::{BottleneckSettings, compare};
use skiplane::lab::data::LabData;
use skiplane::lab::degradation::{self, DegradationSettings};
use skiplane::lab::gradient_flow::{GradientFlowSettings, measure};
use skiplane::model::Architecture;
use skiplane::model::config::{BlockKind, ResNetConfig, Shortcut, Stem};
use std::path::PathBuf;

fn sample_dataset() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4")
}

fn tiny(skip_connections: bool) -> Architecture {
    Architecture::ResNet(ResNetConfig {
        stem: Stem::Cifar,
        stem_width: 4,
        block: BlockKind::Basic,
        blocks: vec![2, 1],
        widths: vec![4, 8],
        skip_connections,
        shortcut: Shortcut::ZeroPad,
        zero_init_residual: false,
        num_classes: 10,
    })
}

#[test]
fn gradient_flow_measures_every_convolution_before_and_after_training() {
    let device = cpu_device("test").device;
    let data = LabData::load(&sample_dataset(), 16).unwrap();
    assert_eq!(data.len(), 123);
    assert_eq!(data.classes.len(), 4);
    let settings = GradientFlowSettings {
        batch_size: 16,
        steps: 3,
        learning_rate: 0.05,
        seed: 1,
    };
    for skips in [false, true] {
        let flow = measure(&tiny(skips), &data, &settings, &device).unwrap();
        // The stem and two convolutions in each of the three blocks, stem first.
        assert_eq!(flow.at_init.len(), 7, "{:?}", flow.at_init);
        assert_eq!(flow.at_init[0].layer, "conv1.weight");
        assert_eq!(flow.at_init[1].layer, "layer1.0.conv1.weight");
        assert_eq!(flow.at_init[6].layer, "layer2.0.conv2.weight");
        assert_eq!(flow.after_steps.len(), 7);
        assert_eq!(flow.losses.len(), 3);
        for layer in flow.at_init.iter().chain(&flow.after_steps) {
            assert!(layer.norm.is_finite() && layer.norm > 0.0, "{layer:?}");
        }
        assert!(flow.spread_orders().is_finite());
        // Training changed the weights, so the gradients on the same batch changed.
        assert_ne!(flow.at_init[3].norm, flow.after_steps[3].norm);
    }
    // A folder without classes is refused with its path.
    let empty = tempfile::tempdir().unwrap();
    let error = LabData::load(empty.path(), 16).err().unwrap();
    assert!(
        error.contains(&empty.path().display().to_string()),
        "{error}"
    );
}

#[test]
fn bottleneck_counts_match_the_closed_forms_and_both_blocks_are_timed() {
    let device = cpu_device("test").device;
    let settings = BottleneckSettings {
        width: 4,
        spatial: 8,
        batch_size: 2,
        repeats: 2,
    };
    let result = compare(&settings, &device).unwrap();
    let (w, s2) = (4u64, 64u64);
    // Two 3x3 convolutions w→w (no bias) and two BatchNorms.
    assert_eq!(result.basic.parameters, 2 * 9 * w * w + 2 * 2 * w);
    assert_eq!(result.basic.macs, 2 * 9 * w * w * s2);
    assert_eq!(result.basic.in_channels, 4);
    // 1x1 4w→w, 3x3 w→w, 1x1 w→4w, BatchNorms of w, w and 4w.
    let convs = 4 * w * w + 9 * w * w + 4 * w * w;
    assert_eq!(result.bottleneck.parameters, convs + 2 * (w + w + 4 * w));
    assert_eq!(result.bottleneck.macs, convs * s2);
    assert_eq!(result.bottleneck.in_channels, 16);
    for cost in [&result.basic, &result.bottleneck] {
        assert!(cost.forward_ms.is_finite() && cost.forward_ms > 0.0);
    }
}

#[test]
fn the_lab_runs_from_the_command_line() {
    let output = Command::cargo_bin("skiplane")
        .unwrap()
        .env("SKIPLANE_BACKEND", "cpu")
        .args(["lab", "bottleneck", "--width", "4", "--size", "8"])
        .args(["--batch-size", "2", "--repeats", "1", "--json"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&output.get_output().stdout).unwrap();
    assert_eq!(json["bottleneck"]["in_channels"], 16);

    let output = Command::cargo_bin("skiplane")
        .unwrap()
        .env("SKIPLANE_BACKEND", "cpu")
        .args(["lab", "gradients", "--depth", "20", "--image-size", "16"])
        .args(["--steps", "1", "--batch-size", "8"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&output.get_output().stdout).to_string();
    assert!(
        text.contains("plain20 init") && text.contains("resnet20 init"),
        "{text}"
    );
    assert!(text.contains("Reading:"), "{text}");
    // 19 convolutions in the CIFAR ResNet-20 (stem + 9 blocks × 2; option-A shortcuts have none).
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("19 ")),
        "{text}"
    );
}

#[test]
fn degradation_records_training_loss_and_error_per_epoch_for_all_four_nets() {
    let device = cpu_device("test").device;
    let data = LabData::load(&sample_dataset(), 8).unwrap();
    let settings = DegradationSettings {
        depths: [20, 32],
        image_size: 8,
        epochs: 2,
        batch_size: 64,
        learning_rate: 0.02,
        seed: 3,
        zero_init_residual: true,
    };
    let reported = std::sync::Mutex::new(Vec::new());
    let result = degradation::run(&data, &settings, &device, &|name, point| {
        reported
            .lock()
            .unwrap()
            .push((name.to_string(), point.epoch))
    })
    .unwrap();
    let reported = reported.into_inner().unwrap();
    let names: Vec<&str> = result.curves.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["plain20", "plain32", "resnet20", "resnet32"]);
    assert_eq!(
        reported.len(),
        8,
        "every epoch of every net is reported as it ends"
    );
    for curve in &result.curves {
        assert_eq!(curve.points.len(), 2);
        for point in &curve.points {
            assert!(point.loss.is_finite() && point.loss > 0.0, "{point:?}");
            assert!((0.0..=1.0).contains(&point.error), "{point:?}");
        }
        assert!(curve.seconds > 0.0);
    }
    // `held` is computed from the curves (whichever way it came out).
    let e: Vec<f64> = result.curves.iter().map(|c| c.final_error()).collect();
    let one_image = 1.0 / 123.0;
    assert_eq!(result.held, e[1] > e[0] && e[3] <= e[2] + one_image);
}

#[test]
fn growth_lists_dense_channels_and_measures_both_networks_training_memory() {
    let output = Command::cargo_bin("skiplane")
        .unwrap()
        .env("SKIPLANE_BACKEND", "cpu")
        .args(["lab", "growth", "--image-size", "32", "--batch-size", "2"])
        .args(["--steps", "1", "--json"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&output.get_output().stdout).unwrap();
    assert_eq!(json["growth_rate"], 32);
    let first_block: Vec<u64> = json["blocks"][0]["layer_input_channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(first_block, [64, 96, 128, 160, 192, 224], "k0 + l·k");
    assert_eq!(json["blocks"].as_array().unwrap().len(), 4);
    assert_eq!(json["densenet"]["parameters"], 7_978_856);
    assert_eq!(json["resnet"]["parameters"], 25_557_032);
    // The memory-efficient option (recomputing) is measured beside the standard DenseNet.
    assert_eq!(json["densenet_recomputing"]["parameters"], 7_978_856);
    for net in ["densenet", "densenet_recomputing", "resnet"] {
        // Measured in a child process each; some memory is always used by a training step.
        let bytes = json[net]["training_memory_bytes"].as_u64().unwrap();
        assert!(bytes > 0, "{net}: {json}");
    }
}

/// The memory-efficient option (recomputing memory-bound operations in the backward pass) must
/// change only what is kept, never the gradients.
#[test]
fn recomputing_in_the_backward_pass_gives_the_same_gradients() {
    use burn::module::Module;
    use burn::prelude::{Device, Tensor};
    use skiplane::model::Network;
    use skiplane::model::config::DenseNetConfig;
    let arch = Architecture::DenseNet(DenseNetConfig {
        stem: Stem::Cifar,
        growth_rate: 4,
        block_config: vec![3, 2],
        init_features: 8,
        bn_size: 2,
        compression: 0.5,
        drop_rate: 0.0,
        num_classes: 3,
    });
    let device = cpu_device("test").device;
    let data = LabData::load(&sample_dataset(), 16).unwrap();
    // One initialization for both (the device's seed is shared with tests running alongside),
    // loaded into a network built on each training device.
    let initial = Network::new(&arch, &device).unwrap();
    let gradients = |training: Device| {
        let network = Network::new(&arch, &training)
            .unwrap()
            .load_record(initial.clone().into_record());
        let (images, _) = data.batch(0, 4, &training);
        let loss = network.forward(images).powi_scalar(2).mean();
        assert_eq!(
            loss.gradient_checkpointing_strategy(),
            training.gradient_checkpointing_strategy(),
            "the forward pass ran under the training device's strategy"
        );
        let grads = loss.backward();
        let Network::DenseNet(net) = &network else {
            unreachable!()
        };
        let first: Tensor<4> = net.features.conv0.weight.val().grad(&grads).unwrap();
        first.into_data().try_to_vec::<f32>().unwrap()
    };
    let kept = gradients(device.clone().autodiff());
    let recomputed = gradients(device.clone().autodiff().gradient_checkpointing());
    assert!(kept.iter().any(|g| *g != 0.0));
    for (a, b) in kept.iter().zip(&recomputed) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "{a} vs {b}");
    }
}

/// `zero_init_residual` starts every residual branch at zero (its last BatchNorm's γ), so each
/// block passes its input through unchanged; a plain net keeps γ = 1 (a zeroed branch would pass
/// nothing on).
#[test]
fn zero_init_residual_starts_each_block_as_the_identity() {
    use burn::prelude::Tensor;
    use burn::tensor::Distribution;
    use skiplane::model::Network;
    use skiplane::model::resnet::ResidualBlock;
    let device = cpu_device("test").device;
    for skip_connections in [true, false] {
        let mut arch = tiny(skip_connections);
        if let Architecture::ResNet(config) = &mut arch {
            config.zero_init_residual = true;
        }
        let Network::ResNet(net) = Network::new(&arch, &device).unwrap() else {
            unreachable!()
        };
        for block in net.layers.iter().flatten() {
            let ResidualBlock::Basic(basic) = block else {
                unreachable!()
            };
            let gamma: Vec<f32> = basic.bn2.gamma.val().into_data().try_to_vec().unwrap();
            let expected = if skip_connections { 0.0 } else { 1.0 };
            assert!(gamma.iter().all(|g| *g == expected), "{gamma:?}");
        }
        if skip_connections {
            // An identity block (same shape in and out) returns its (non-negative) input.
            let x = Tensor::<4>::random([2, 4, 8, 8], Distribution::Uniform(0.0, 1.0), &device);
            let y = net.layers[0][0].forward(x.clone());
            let diff: f32 = (y - x).abs().max().into_scalar();
            assert!(diff < 1e-6, "{diff}");
        }
    }
}

/// A net whose loss diverges fails the experiment with its reason, and the nets training beside
/// it stop instead of running to the end.
#[test]
fn a_diverging_net_fails_the_degradation_experiment_and_stops_the_others() {
    let device = cpu_device("test").device;
    let data = LabData::load(&sample_dataset(), 8).unwrap();
    let settings = DegradationSettings {
        depths: [20, 32],
        image_size: 8,
        epochs: 40,
        batch_size: 64,
        learning_rate: 1e38,
        seed: 3,
        zero_init_residual: true,
    };
    let reported = std::sync::atomic::AtomicUsize::new(0);
    let error = degradation::run(&data, &settings, &device, &|_, _| {
        reported.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap_err();
    assert!(error.contains("diverged"), "{error}");
    assert!(
        reported.into_inner() < 4 * settings.epochs,
        "the experiment stopped early"
    );
}
