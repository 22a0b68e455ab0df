//! Memory actually used, measured. On the CPU backend that is the process's resident memory: its
//! peak (`VmHWM`) and current size (`VmRSS`) from `/proc/self/status` on Linux. Elsewhere (or on the
//! wgpu backend, whose device pools this does not see yet) nothing is reported rather than a guess.

/// Resident memory of this process, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

#[cfg(test)]
mod tests {
    #[test]
    fn peak_is_at_least_current_and_grows_with_an_allocation() {
        let Some(before) = super::process_memory() else {
            return;
        };
        assert!(before.peak_resident_bytes >= before.resident_bytes);
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let after = super::process_memory().unwrap();
        assert!(after.peak_resident_bytes >= before.resident_bytes + (32 << 20));
    }
}
