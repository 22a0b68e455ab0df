//! Memory actually used, measured. On a device with its own allocator (the wgpu backend) that is
//! what Burn/CubeCL's memory pools hold on the device; on the CPU backend it is the process's
//! resident memory: its peak (`VmHWM`) and current size (`VmRSS`) from `/proc/self/status` on
//! Linux. Where neither is available nothing is reported rather than a guess.

use burn::prelude::Device;
use serde::{Deserialize, Serialize};

/// Resident memory of this process, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessMemory {
    pub resident_bytes: u64,
    pub peak_resident_bytes: u64,
}

/// Reads the process's memory, where the platform tells.
pub fn process_memory() -> Option<ProcessMemory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    Some(ProcessMemory {
        resident_bytes: field("VmRSS:")?,
        peak_resident_bytes: field("VmHWM:")?,
    })
}

/// Memory the system could give this process now (`MemAvailable`, Linux).
pub fn available_system_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Which memory a measurement is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum MemoryKind {
    /// Bytes the device allocator (CubeCL's pools on wgpu) reserved on the device.
    Device,
    /// The process's resident memory (CPU backend).
    #[default]
    ProcessResident,
}

impl MemoryKind {
    pub fn describe(self) -> &'static str {
        match self {
            MemoryKind::Device => "device memory reserved by the allocator",
            MemoryKind::ProcessResident => "process resident memory",
        }
    }
}

/// Resets the kernel's record of this process's peak resident memory (`VmHWM`) to what it holds
/// now, so that a later peak belongs to what ran after (Linux: `5` into `/proc/self/clear_refs`).
/// Returns whether it could; device pools need no reset (the meter samples them).
pub fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Follows one device's memory over a run: call [`MemoryMeter::sample`] at the moments memory is
/// highest (after a forward pass, after a backward pass) and read the peak at the end.
pub struct MemoryMeter {
    device: Device,
    kind: Option<MemoryKind>,
    baseline_bytes: Option<u64>,
    peak_device_bytes: u64,
}

impl MemoryMeter {
    /// Starts measuring; what the device or process holds now is the baseline.
    pub fn start(device: &Device) -> MemoryMeter {
        let (kind, baseline_bytes) = match device.memory_pool_usage() {
            Some(usage) => (Some(MemoryKind::Device), Some(usage.bytes_reserved)),
            None => match process_memory() {
                Some(memory) => (
                    Some(MemoryKind::ProcessResident),
                    Some(memory.resident_bytes),
                ),
                None => (None, None),
            },
        };
        MemoryMeter {
            device: device.clone(),
            kind,
            baseline_bytes,
            peak_device_bytes: baseline_bytes.unwrap_or(0),
        }
    }

    /// Takes a sample of the device's pools (the process's peak is kept by the kernel).
    pub fn sample(&mut self) {
        if self.kind == Some(MemoryKind::Device)
            && let Some(usage) = self.device.memory_pool_usage()
        {
            self.peak_device_bytes = self.peak_device_bytes.max(usage.bytes_reserved);
        }
    }

    pub fn kind(&self) -> Option<MemoryKind> {
        self.kind
    }

    pub fn baseline_bytes(&self) -> Option<u64> {
        self.baseline_bytes
    }

    /// The highest memory seen so far.
    pub fn peak_bytes(&mut self) -> Option<u64> {
        self.sample();
        match self.kind? {
            MemoryKind::Device => Some(self.peak_device_bytes),
            MemoryKind::ProcessResident => process_memory().map(|m| m.peak_resident_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::prelude::*;

    #[test]
    fn peak_is_at_least_current_and_grows_with_an_allocation() {
        let Some(before) = process_memory() else {
            return;
        };
        assert!(before.peak_resident_bytes >= before.resident_bytes);
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let after = process_memory().unwrap();
        assert!(after.peak_resident_bytes >= before.resident_bytes + (32 << 20));
    }

    /// On wgpu (lavapipe in CI) the meter reads the allocator's pools and sees a tensor that
    /// is alive at a sample, even after it has been dropped.
    #[test]
    fn the_device_meter_sees_a_tensor_on_wgpu() {
        let Some(selected) = crate::backend::wgpu_device(true) else {
            assert!(
                std::env::var("SKIPLANE_REQUIRE_WGPU").as_deref() != Ok("1"),
                "SKIPLANE_REQUIRE_WGPU=1 but wgpu found no adapter"
            );
            eprintln!("skipped: no wgpu adapter");
            return;
        };
        let mut meter = MemoryMeter::start(&selected.device);
        assert_eq!(meter.kind(), Some(MemoryKind::Device));
        let baseline = meter.baseline_bytes().unwrap();
        let tensor = Tensor::<2>::ones([1024, 1024], &selected.device); // 4 MiB
        let _ = (tensor.clone() * 2.0).sum().into_scalar::<f32>();
        meter.sample();
        drop(tensor);
        let peak = meter.peak_bytes().unwrap();
        assert!(peak >= baseline + (4 << 20), "{baseline} → {peak}");
    }

    #[test]
    fn the_cpu_backend_reports_process_memory() {
        let mut meter = MemoryMeter::start(&crate::backend::cpu_device("test").device);
        if process_memory().is_some() {
            assert_eq!(meter.kind(), Some(MemoryKind::ProcessResident));
            assert!(meter.peak_bytes().unwrap() >= meter.baseline_bytes().unwrap());
        }
    }
}
