//! A run's folder: the experiment as run, the split, metrics, checkpoints, the report and a status
//! line, each written atomically so a run killed at any moment leaves a folder that opens and
//! says how far it got.

use super::events::{EpochMetrics, Report};
use super::experiment::Experiment;
use crate::files::write_atomic;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The Burn release this build links (checked against Cargo.lock by a test).
pub const BURN_VERSION: &str = "0.22.1";

pub struct RunFolder {
    pub path: PathBuf,
}

fn ron_text<T: Serialize>(value: &T) -> String {
    ron::ser::to_string_pretty(value, ron::ser::PrettyConfig::default())
        .unwrap_or_else(|e| format!("/* {e} */"))
}

/// Overrides where runs started from the desktop app go.
pub const DATA_DIR_ENV: &str = "SKIPLANE_DATA_DIR";

/// The desktop app's data folder (runs, logs): `$SKIPLANE_DATA_DIR`, else the platform's data
/// folder (e.g. `~/.local/share/skiplane`); `None` when the platform has no home for this user.
pub fn app_data_dir() -> Option<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            directories::ProjectDirs::from("", "", "skiplane").map(|d| d.data_dir().to_path_buf())
        }
    }
}

/// The folder the desktop app keeps its runs in: `<data folder>/runs`.
pub fn app_runs_dir() -> PathBuf {
    app_data_dir()
        .unwrap_or_else(|| PathBuf::from("skiplane-data"))
        .join("runs")
}

impl RunFolder {
    /// A new folder `<base>/<stem>-<n>` with the first free `n`.
    pub fn create_numbered(base: &Path, stem: &str) -> std::io::Result<RunFolder> {
        std::fs::create_dir_all(base)?;
        for n in 1.. {
            let path = base.join(format!("{stem}-{n}"));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(RunFolder { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        unreachable!("some run number is free")
    }

    /// A new folder `runs/<name>-<n>` next to the experiment file.
    pub fn create(experiment_path: &Path) -> std::io::Result<RunFolder> {
        let base = experiment_path
            .parent()
            .unwrap_or(Path::new("."))
            .join("runs");
        let stem = experiment_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        RunFolder::create_numbered(&base, &stem)
    }

    /// A new run folder at exactly `path` (`--out`): created if missing, refused if it holds
    /// anything, so an earlier run is never mixed with this one.
    pub fn create_at(path: &Path) -> Result<RunFolder, String> {
        std::fs::create_dir_all(path)
            .map_err(|e| format!("{}: cannot create the run folder: {e}", path.display()))?;
        let mut entries =
            std::fs::read_dir(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        if entries.next().is_some() {
            return Err(format!(
                "{}: the folder is not empty; choose a new one for the run",
                path.display()
            ));
        }
        Ok(RunFolder {
            path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        })
    }

    /// An existing run folder (to resume).
    pub fn open(path: &Path) -> Result<RunFolder, String> {
        if path.join("experiment.ron").is_file() {
            Ok(RunFolder {
                path: path.to_path_buf(),
            })
        } else {
            Err(format!(
                "{}: not a run folder (no experiment.ron)",
                path.display()
            ))
        }
    }

    fn write(&self, name: &str, text: &str) -> Result<(), String> {
        let path = self.path.join(name);
        write_atomic(&path, text.as_bytes())
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))
    }

    pub fn write_experiment(&self, experiment: &Experiment) -> Result<(), String> {
        self.write("experiment.ron", &ron_text(experiment))
    }

    pub fn write_split(&self, manifest: &crate::data::split::Manifest) -> Result<(), String> {
        self.write("split.ron", &ron_text(manifest))
    }

    pub fn write_metrics(&self, metrics: &[EpochMetrics]) -> Result<(), String> {
        self.write("metrics.ron", &ron_text(&metrics))
    }

    pub fn write_report(&self, report: &Report) -> Result<(), String> {
        self.write("report.ron", &ron_text(report))
    }

    /// Versions and the exact weights used, so a result can be traced.
    pub fn write_provenance(&self, weights: Option<(&Path, &str)>) -> Result<(), String> {
        let text = format!(
            "(\n    skiplane: {:?},\n    burn: {:?},\n    weights: {},\n)\n",
            env!("CARGO_PKG_VERSION"),
            BURN_VERSION,
            match weights {
                Some((path, sha256)) => format!(
                    "Some((path: {:?}, sha256: {sha256:?}))",
                    path.display().to_string()
                ),
                None => "None".into(),
            }
        );
        self.write("provenance.ron", &text)
    }

    /// One line saying how far the run got ("epoch 3 of 10 done", "finished", "failed: …").
    pub fn write_status(&self, status: &str) -> Result<(), String> {
        self.write("status.txt", &format!("{status}\n"))
    }

    pub fn checkpoint_path(&self, which: &str) -> PathBuf {
        self.path.join(format!("{which}.bpk"))
    }

    /// The optimizer state (momentum, Adam moments) after `epoch`, for one optimizer `role`
    /// ("head", "backbone"). The epoch is in the name so a resume never pairs a checkpoint with
    /// the state of another epoch.
    pub fn optimizer_state_path(&self, epoch: usize, role: &str) -> PathBuf {
        self.path.join(format!("optimizer-{role}-epoch{epoch}.bpk"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_recorded_burn_version_is_the_locked_one() {
        let lock = include_str!("../../Cargo.lock");
        let entry = format!(
            "name = \"burn-core\"\nversion = \"{}\"",
            super::BURN_VERSION
        );
        assert!(
            lock.contains(&entry),
            "update BURN_VERSION to the burn-core version in Cargo.lock"
        );
    }
}
