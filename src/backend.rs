//! Which device Burn runs on. A hardware GPU through wgpu when one exists; otherwise the `flex`
//! CPU backend. Software adapters (Mesa llvmpipe/lavapipe, WARP) count as no GPU: measured on a
//! 2-core machine, ResNet-18 at 224 ran at ~1 image/s on wgpu-over-llvmpipe against ~14 on flex.
//! `SKIPLANE_BACKEND=cpu|wgpu` overrides the choice; `wgpu` then accepts a software adapter.

use burn::backend::FlexDevice;
use burn::backend::WgpuDeviceKind;
use burn::backend::wgpu::{WgpuDevice, wgpu};
use burn::prelude::Device;
use std::fmt;

/// The environment variable that forces a backend.
pub const BACKEND_ENV: &str = "SKIPLANE_BACKEND";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Burn's `flex` CPU backend.
    Cpu,
    /// Burn's wgpu backend (Vulkan, Metal, DirectX 12 or OpenGL).
    Wgpu,
}

impl BackendKind {
    /// Its value for [`BACKEND_ENV`].
    pub fn env_value(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Wgpu => "wgpu",
        }
    }
}

/// Which backend `device` belongs to (Burn's device comparison ignores autodiff).
pub fn backend_kind(device: &Device) -> BackendKind {
    if *device == Device::from(FlexDevice) {
        BackendKind::Cpu
    } else {
        BackendKind::Wgpu
    }
}

/// A device chosen for this process, with what it is and why it was chosen.
#[derive(Clone)]
pub struct SelectedDevice {
    pub kind: BackendKind,
    pub device: Device,
    /// e.g. "wgpu · Vulkan · NVIDIA GeForce RTX 3060" or "CPU (flex) · 8 threads".
    pub description: String,
    pub reason: String,
}

impl fmt::Display for SelectedDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.description, self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{BACKEND_ENV}={0:?} is not a backend: use `cpu` or `wgpu`")]
    UnknownBackend(String),
    #[error(
        "{BACKEND_ENV}=wgpu, but wgpu found no graphics adapter (install a Vulkan/GL driver, e.g. Debian's mesa-vulkan-drivers, or use {BACKEND_ENV}=cpu)"
    )]
    NoAdapter,
}

/// A graphics adapter wgpu can see.
#[derive(Debug, Clone)]
pub struct Adapter {
    pub name: String,
    pub api: String,
    pub device_type: wgpu::DeviceType,
}

impl Adapter {
    /// Software rasterisers are slower than the CPU backend for real work.
    pub fn is_software(&self) -> bool {
        matches!(self.device_type, wgpu::DeviceType::Cpu)
            || [
                "llvmpipe",
                "lavapipe",
                "softpipe",
                "swiftshader",
                "microsoft basic render",
            ]
            .iter()
            .any(|s| self.name.to_ascii_lowercase().contains(s))
    }
}

/// The adapters wgpu can see on any API. Never panics: a broken driver yields an empty list.
pub fn list_adapters() -> Vec<Adapter> {
    let probe = std::panic::catch_unwind(|| {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
            .iter()
            .map(|adapter| {
                let info = adapter.get_info();
                Adapter {
                    name: info.name,
                    api: format!("{:?}", info.backend),
                    device_type: info.device_type,
                }
            })
            .collect::<Vec<_>>()
    });
    probe.unwrap_or_default()
}

/// The CPU device, with the thread count it will use.
pub fn cpu_device(reason: impl Into<String>) -> SelectedDevice {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    SelectedDevice {
        kind: BackendKind::Cpu,
        device: Device::from(FlexDevice),
        description: format!("CPU (flex) · {threads} threads"),
        reason: reason.into(),
    }
}

/// A wgpu device on the best adapter: hardware first, then (only when asked) software.
pub fn wgpu_device(allow_software: bool) -> Option<SelectedDevice> {
    let adapters = list_adapters();
    let preference = [
        wgpu::DeviceType::DiscreteGpu,
        wgpu::DeviceType::IntegratedGpu,
        wgpu::DeviceType::VirtualGpu,
        wgpu::DeviceType::Other,
        wgpu::DeviceType::Cpu,
    ];
    for wanted in preference {
        let Some(adapter) = adapters
            .iter()
            .find(|a| a.device_type == wanted && (allow_software || !a.is_software()))
        else {
            continue;
        };
        let kind = match wanted {
            wgpu::DeviceType::DiscreteGpu => WgpuDeviceKind::DiscreteGpu(0),
            wgpu::DeviceType::IntegratedGpu => WgpuDeviceKind::IntegratedGpu(0),
            wgpu::DeviceType::VirtualGpu => WgpuDeviceKind::VirtualGpu(0),
            wgpu::DeviceType::Other => WgpuDeviceKind::Other(0),
            wgpu::DeviceType::Cpu => WgpuDeviceKind::Cpu,
        };
        let device = WgpuDevice::from(kind);
        return Some(SelectedDevice {
            kind: BackendKind::Wgpu,
            device: Device::from(device),
            description: format!("wgpu · {} · {}", adapter.api, adapter.name),
            reason: String::new(),
        });
    }
    None
}

/// Chooses the device for this process from [`BACKEND_ENV`] and the adapters present.
pub fn select_device() -> Result<SelectedDevice, BackendError> {
    let forced = std::env::var(BACKEND_ENV)
        .ok()
        .map(|v| v.trim().to_ascii_lowercase());
    match forced.as_deref() {
        Some("cpu") | Some("flex") => Ok(cpu_device(format!("{BACKEND_ENV}=cpu"))),
        Some("wgpu") | Some("gpu") => wgpu_device(true)
            .map(|mut d| {
                d.reason = format!("{BACKEND_ENV}=wgpu");
                d
            })
            .ok_or(BackendError::NoAdapter),
        Some("") | None => Ok(match wgpu_device(false) {
            Some(mut d) => {
                d.reason = "hardware GPU adapter found".into();
                d
            }
            None => {
                let mut software: Vec<String> = list_adapters()
                    .into_iter()
                    .filter(Adapter::is_software)
                    .map(|a| format!("{} on {}", a.name, a.api))
                    .collect();
                software.dedup();
                let reason = if software.is_empty() {
                    "no GPU adapter found".to_string()
                } else {
                    format!(
                        "only software adapters found ({}), slower than the CPU backend",
                        software.join(", ")
                    )
                };
                cpu_device(reason)
            }
        }),
        Some(other) => Err(BackendError::UnknownBackend(other.to_string())),
    }
}

/// Selects the device and logs the choice in one line.
pub fn select_and_log() -> Result<SelectedDevice, BackendError> {
    let selected = select_device()?;
    log::info!("device: {selected}");
    Ok(selected)
}
