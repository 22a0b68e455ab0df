//! Tensors in and out of safetensors files, for `skiplane forward` and the parity tests.

use crate::files::write_atomic;
use burn::prelude::*;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TensorIoError {
    pub path: PathBuf,
    pub message: String,
}

fn error(path: &Path, message: impl Into<String>) -> TensorIoError {
    TensorIoError {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// A float tensor read from a safetensors file: its shape and values as f32.
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Reads tensor `name` (f32, f64 or f16/bf16 converted to f32) from a safetensors file.
pub fn read_host_tensor(path: &Path, name: &str) -> Result<HostTensor, TensorIoError> {
    let bytes = std::fs::read(path).map_err(|e| error(path, format!("cannot read: {e}")))?;
    let file = SafeTensors::deserialize(&bytes)
        .map_err(|e| error(path, format!("not a valid safetensors file: {e}")))?;
    let view = file.tensor(name).map_err(|_| {
        let names: Vec<String> = file.names().into_iter().map(|s| s.to_string()).collect();
        error(
            path,
            format!(
                "has no tensor named `{name}` (it has: {})",
                names.join(", ")
            ),
        )
    })?;
    let data = view.data();
    let values: Vec<f32> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as f32)
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|b| half_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16))
            .collect(),
        other => {
            return Err(error(
                path,
                format!("tensor `{name}` is {other:?}; a float tensor is needed"),
            ));
        }
    };
    Ok(HostTensor {
        shape: view.shape().to_vec(),
        values,
    })
}

fn half_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = ((bits >> 10) & 0x1f) as i32;
    let mantissa = (bits & 0x3ff) as f32;
    match exponent {
        0 => sign * mantissa * 2f32.powi(-24),
        31 if mantissa == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        e => sign * (1.0 + mantissa / 1024.0) * 2f32.powi(e - 15),
    }
}

/// Reads an image batch `name` of shape (N, 3, H, W).
pub fn read_image_batch(
    path: &Path,
    name: &str,
    device: &Device,
) -> Result<Tensor<4>, TensorIoError> {
    let host = read_host_tensor(path, name)?;
    let shape: [usize; 4] = host.shape.as_slice().try_into().map_err(|_| {
        error(
            path,
            format!(
                "tensor `{name}` has shape {:?}; expected (N, 3, H, W)",
                host.shape
            ),
        )
    })?;
    if shape[1] != 3 || shape[0] == 0 || shape[2] == 0 || shape[3] == 0 {
        return Err(error(
            path,
            format!("tensor `{name}` has shape {shape:?}; expected (N, 3, H, W) with N, H, W > 0"),
        ));
    }
    Ok(Tensor::from_data(
        TensorData::new(host.values, shape),
        device,
    ))
}

/// Writes named float tensors to a safetensors file, atomically.
pub fn write_tensors(path: &Path, tensors: Vec<(String, Tensor<2>)>) -> Result<(), TensorIoError> {
    let mut host = Vec::with_capacity(tensors.len());
    for (name, tensor) in tensors {
        let shape = tensor.dims().to_vec();
        let values: Vec<f32> = tensor
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| {
                error(
                    path,
                    format!("cannot read tensor `{name}` back from the device: {e:?}"),
                )
            })?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        host.push((name, shape, bytes));
    }
    let views = host
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| error(path, format!("cannot encode `{name}`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let encoded = safetensors::serialize(views, None)
        .map_err(|e| error(path, format!("cannot encode: {e}")))?;
    write_atomic(path, &encoded).map_err(|e| error(path, format!("cannot write: {e}")))
}
