//! Gradient flow: how large the loss gradient is at every convolution of a deep network, from the
//! stem to the head, for a plain net and the same net with skip connections. Measured by autodiff on
//! real batches, at initialization and again after a few SGD steps. In a deep plain net the early
//! layers' gradients shrink by orders of magnitude (the vanishing gradient); the identity shortcuts
//! carry the gradient back undiminished.

use super::data::LabData;
use crate::model::{Architecture, Network};
use crate::weights::keys::module_path_to_torchvision;
use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::prelude::{Device, Tensor};
use burn::tensor::Gradients;
use serde::{Deserialize, Serialize};

/// The settings of one measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GradientFlowSettings {
    pub batch_size: usize,
    /// SGD steps between the two measurements.
    pub steps: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

impl Default for GradientFlowSettings {
    fn default() -> Self {
        GradientFlowSettings {
            batch_size: 32,
            steps: 20,
            learning_rate: 0.05,
            seed: 7,
        }
    }
}

/// ‖∂loss/∂W‖ of one convolution's weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerGradient {
    /// torchvision's name for it, e.g. `layer1.2.conv1.weight`.
    pub layer: String,
    pub norm: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GradientFlow {
    pub architecture: String,
    /// Convolutions in forward order, gradients on the first batch at initialization.
    pub at_init: Vec<LayerGradient>,
    /// The same, on the same batch, after `steps` SGD steps.
    pub after_steps: Vec<LayerGradient>,
    pub steps: usize,
    /// Training loss of every step.
    pub losses: Vec<f64>,
}

impl GradientFlow {
    /// How many orders of magnitude the gradient norms span across the layers at initialization:
    /// log10(largest / smallest). Near 0 when every layer gets a gradient of the same size.
    pub fn spread_orders(&self) -> f64 {
        let norms = self.at_init.iter().map(|l| l.norm).filter(|n| *n > 0.0);
        let (min, max) = norms.fold((f64::INFINITY, 0.0f64), |(lo, hi), n| {
            (lo.min(n), hi.max(n))
        });
        if max > 0.0 {
            (max / min).log10()
        } else {
            f64::NAN
        }
    }

    /// first-layer norm / last-layer norm at initialization: ≪ 1 when the gradient vanishes
    /// on its way back.
    pub fn first_to_last_ratio(&self) -> f64 {
        match (self.at_init.first(), self.at_init.last()) {
            (Some(first), Some(last)) if last.norm > 0.0 => first.norm / last.norm,
            _ => f64::NAN,
        }
    }
}

/// Collects the gradient norm of every 4-D (convolution) weight, in declaration = forward order.
struct ConvGradients<'a> {
    grads: &'a Gradients,
    path: Vec<String>,
    out: Vec<LayerGradient>,
}

impl ModuleVisitor for ConvGradients<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if D != 4 {
            return;
        }
        if let Some(grad) = param.val().grad(self.grads) {
            let norm = grad.powi_scalar(2).sum().sqrt().into_scalar::<f32>() as f64;
            self.out.push(LayerGradient {
                layer: self.path.join("."),
                norm,
            });
        }
    }
}

fn conv_gradients(network: &Network, grads: &Gradients) -> Vec<LayerGradient> {
    let mut visitor = ConvGradients {
        grads,
        path: Vec::new(),
        out: Vec::new(),
    };
    match network {
        Network::ResNet(net) => net.visit(&mut visitor),
        Network::DenseNet(net) => net.visit(&mut visitor),
    }
    for layer in &mut visitor.out {
        layer.layer = module_path_to_torchvision(&layer.layer);
    }
    visitor.out
}

/// Measures `arch` (its head resized to the data's classes) from a seeded initialization.
pub fn measure(
    arch: &Architecture,
    data: &LabData,
    settings: &GradientFlowSettings,
    device: &Device,
) -> Result<GradientFlow, String> {
    if settings.batch_size == 0 {
        return Err("the batch size must be at least 1".into());
    }
    let arch = arch.clone().with_num_classes(data.classes.len());
    device.seed(settings.seed);
    let training = Device::autodiff(device.clone());
    let mut network = Network::new(&arch, &training).map_err(|e| e.to_string())?;
    let loss_fn = CrossEntropyLossConfig::new().init(&training);
    let mut optimizer = super::sgd_with_momentum(None);
    let gradients_on_first_batch = |network: &Network| {
        let (images, labels) = data.batch(0, settings.batch_size, &training);
        let loss = loss_fn.forward(network.forward(images), labels);
        conv_gradients(network, &loss.backward())
    };
    let at_init = gradients_on_first_batch(&network);
    let mut losses = Vec::with_capacity(settings.steps);
    for step in 0..settings.steps {
        let (images, labels) = data.batch(step, settings.batch_size, &training);
        let loss = loss_fn.forward(network.forward(images), labels);
        let value = loss.clone().into_scalar::<f32>() as f64;
        if !value.is_finite() {
            return Err(format!(
                "{}: the loss diverged at step {} (lower the learning rate)",
                arch.describe(),
                step + 1
            ));
        }
        losses.push(value);
        let grads = GradientsParams::from_grads(loss.backward(), &network);
        network = optimizer.step(settings.learning_rate, network, grads);
    }
    let after_steps = gradients_on_first_batch(&network);
    Ok(GradientFlow {
        architecture: arch.describe(),
        at_init,
        after_steps,
        steps: settings.steps,
        losses,
    })
}

/// A deep plain net and the same net with skip connections, measured with the same settings: what
/// the Lab panel plots and `skiplane lab gradients --json` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GradientComparison {
    pub depth: usize,
    /// Pixels square of the photos.
    pub image_size: usize,
    pub settings: GradientFlowSettings,
    pub plain: GradientFlow,
    pub resnet: GradientFlow,
}

/// Measures plain-`depth` and ResNet-`depth` of the CIFAR family; `on_start` is told which one
/// begins (they take minutes at depth 110).
pub fn compare(
    depth: usize,
    data: &LabData,
    settings: &GradientFlowSettings,
    device: &Device,
    on_start: &mut dyn FnMut(&str),
) -> Result<GradientComparison, String> {
    let mut measure_named = |name: String| {
        on_start(&name);
        measure(&Architecture::resolve(&name)?, data, settings, device)
    };
    let plain = measure_named(format!("plain{depth}"))?;
    let resnet = measure_named(format!("resnet{depth}"))?;
    Ok(GradientComparison {
        depth,
        image_size: data.image_size,
        settings: settings.clone(),
        plain,
        resnet,
    })
}

impl GradientComparison {
    pub fn reading(&self) -> String {
        reading(
            &format!("plain-{}", self.depth),
            &self.plain,
            &format!("ResNet-{}", self.depth),
            &self.resnet,
        )
    }
}

/// A paragraph that says what the numbers show — including when they do not show the expected
/// contrast.
pub fn reading(
    plain_name: &str,
    plain: &GradientFlow,
    resnet_name: &str,
    resnet: &GradientFlow,
) -> String {
    let (p, r) = (plain.spread_orders(), resnet.spread_orders());
    let direction = |flow: &GradientFlow| {
        if flow.first_to_last_ratio() > 1.0 {
            "growing toward the input (exploding)"
        } else {
            "shrinking toward the input (vanishing)"
        }
    };
    if p > r {
        format!(
            "Reading: at initialization the gradient's size spans {p:.1} orders of magnitude across \
             {plain_name}'s convolutions, {}, against {r:.1} in {resnet_name}. Without shortcuts every \
             layer multiplies the backward signal by its own weights and BatchNorm, so the early and \
             late layers learn at very different rates (with BatchNorm, deep plain nets' gradients \
             tend to explode rather than vanish); each identity shortcut passes the gradient on \
             unchanged, so all layers get a gradient of the same scale.",
            direction(plain)
        )
    } else {
        format!(
            "Reading: this time the plain net's gradients were not spread wider than the residual \
             net's ({p:.1} vs {r:.1} orders of magnitude across the layers); the contrast grows with \
             depth — try a deeper pair (depth 110)."
        )
    }
}
