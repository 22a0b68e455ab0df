//! A network as an ONNX model (opset 18) that onnxruntime, OpenCV, TensorRT and friends run:
//! burn-onnx traces the forward pass twice (batch 1 and 2) so the batch axis comes out dynamic;
//! then the graph's boundary gets stable names — input `input` (N, 3, H, W float32, already
//! normalized) and output `logits` (N, classes) — because burn-onnx names them `tensor_<N>`, and
//! the class names and preprocessing go into the model's `metadata_props`, where
//! `onnxruntime.InferenceSession(p).get_modelmeta().custom_metadata_map` finds them.

use crate::model::Network;
use burn::module::Module;
use burn::prelude::{Device, Tensor};
use burn_onnx::export::{AxisSpec, InputSpec, OnnxExporter};
use onnx_ir::{Message, ModelProto};

/// The graph input's name in every exported model.
pub const INPUT_NAME: &str = "input";
/// The graph output's name in every exported model.
pub const OUTPUT_NAME: &str = "logits";

/// Exports `network` for `image_size`×`image_size` inputs with a dynamic batch axis; `metadata`
/// becomes the model's `metadata_props`. Returns the serialized model.
pub fn export_onnx(
    network: &Network,
    image_size: usize,
    metadata: &[(String, String)],
    device: &Device,
) -> Result<Vec<u8>, String> {
    let shape = |batch| [batch, 3, image_size, image_size];
    let sample = Tensor::<4>::zeros(shape(1), device);
    let validation = Tensor::<4>::zeros(shape(2), device);
    let specs = [InputSpec::new([
        AxisSpec::dynamic("batch"),
        AxisSpec::Static,
        AxisSpec::Static,
        AxisSpec::Static,
    ])];
    // The exporter moves a clone of the module to its capture device, and a clone shares
    // BatchNorm's running statistics (`RunningState` is behind an `Arc`), which would move the
    // caller's network too; `valid()` gives a copy with its own.
    let detached = network.valid();
    let traced = OnnxExporter::new()
        .export_dynamic(&detached, sample, validation, &specs, |network, images| {
            network.forward(images)
        })
        .map_err(|e| format!("the ONNX exporter (burn-onnx) failed: {e}"))?;
    let mut model = ModelProto::parse_from_bytes(traced.as_bytes())
        .map_err(|e| format!("burn-onnx produced an unreadable model: {e}"))?;
    name_boundary(&mut model)?;
    model.producer_name = "skiplane".into();
    model.producer_version = env!("CARGO_PKG_VERSION").into();
    for (key, value) in metadata {
        model.metadata_props.push(Default::default());
        let entry = model.metadata_props.last_mut().expect("just pushed");
        entry.key = key.clone();
        entry.value = value.clone();
    }
    model
        .write_to_bytes()
        .map_err(|e| format!("cannot serialize the ONNX model: {e}"))
}

/// Renames the graph's one runtime input to [`INPUT_NAME`] and its one output to
/// [`OUTPUT_NAME`], everywhere the old names are used.
fn name_boundary(model: &mut ModelProto) -> Result<(), String> {
    let graph = model
        .graph
        .as_mut()
        .ok_or("the exported model has no graph")?;
    let initializers: std::collections::HashSet<String> =
        graph.initializer.iter().map(|t| t.name.clone()).collect();
    let runtime_inputs: Vec<usize> = (0..graph.input.len())
        .filter(|&i| !initializers.contains(&graph.input[i].name))
        .collect();
    let ([input], [output]) = (runtime_inputs.as_slice(), graph.output.as_mut_slice()) else {
        return Err(format!(
            "expected one input and one output in the exported graph, found {} and {}",
            runtime_inputs.len(),
            graph.output.len()
        ));
    };
    let renames = [
        (std::mem::take(&mut graph.input[*input].name), INPUT_NAME),
        (std::mem::take(&mut output.name), OUTPUT_NAME),
    ];
    graph.input[*input].name = INPUT_NAME.into();
    output.name = OUTPUT_NAME.into();
    let rename = |name: &mut String| {
        if let Some((_, new)) = renames.iter().find(|(old, _)| old == name) {
            *name = new.to_string();
        }
    };
    for node in graph.node.iter_mut() {
        node.input.iter_mut().for_each(rename);
        node.output.iter_mut().for_each(rename);
    }
    for info in graph.value_info.iter_mut() {
        rename(&mut info.name);
    }
    Ok(())
}
