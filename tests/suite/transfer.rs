//! Transfer-learning plumbing: a replaced head, and a frozen backbone that gets no gradients and
//! keeps BatchNorm in inference mode.

use crate::common::{fixture, relative_error, tensor_values};
use burn::prelude::*;
use skiplane::backend::cpu_device;
use skiplane::model::{Architecture, Network};
use skiplane::tensor_io::{read_host_tensor, read_image_batch};
use skiplane::weights::load_torchvision;

fn tiny_resnet() -> Architecture {
    Architecture::from_ron(
        "ResNet((stem_width: 8, blocks: [1, 1, 1, 1], widths: [8, 16, 32, 64], num_classes: 10))",
    )
    .unwrap()
}

#[test]
fn a_frozen_backbone_gets_no_gradients_and_keeps_running_statistics() {
    let plain = cpu_device("test").device;
    let device = Device::autodiff(plain.clone());
    let arch = tiny_resnet();
    let mut network = Network::new(&arch, &device).unwrap();
    load_torchvision(&mut network, &arch, &fixture("tiny_resnet_basic.pth")).unwrap();
    let network = network.with_new_head(4, &device).freeze_backbone();
    let reference = fixture("tiny_resnet_basic.ref.safetensors");
    let images = read_image_batch(&reference, "input", &device).unwrap();

    let outputs = network.forward_outputs(images);
    // BatchNorm in inference mode: the training-device features equal torchvision's eval ones.
    let expected = read_host_tensor(&reference, "features").unwrap();
    assert!(
        relative_error(
            &tensor_values(outputs.features.clone().inner()),
            &expected.values
        ) < 1e-4
    );

    let grads = outputs.logits.sum().backward();
    let Network::ResNet(net) = &network else {
        unreachable!()
    };
    assert!(
        net.conv1.weight.val().grad(&grads).is_none(),
        "stem conv has no gradient"
    );
    assert!(
        net.bn1.gamma.val().grad(&grads).is_none(),
        "stem BatchNorm has no gradient"
    );
    assert!(
        net.fc.weight.val().grad(&grads).is_some(),
        "the new head is trained"
    );
    assert_eq!(network.num_classes(), 4);
}

#[test]
fn an_unfrozen_network_trains_every_layer() {
    let device = Device::autodiff(cpu_device("test").device);
    let network = Network::new(&Architecture::preset("resnet20", 3).unwrap(), &device).unwrap();
    let images = Tensor::<4>::random(
        [2, 3, 32, 32],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let grads = network.forward(images).sum().backward();
    let Network::ResNet(net) = &network else {
        unreachable!()
    };
    assert!(net.conv1.weight.val().grad(&grads).is_some());
    assert!(net.fc.weight.val().grad(&grads).is_some());
}
