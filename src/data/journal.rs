//! Moving and copying users' photos without ever losing or duplicating one.
//!
//! Every batch of file operations is first written to a journal (atomically) next to the photos.
//! Each operation then creates its destination with a hard link, which never overwrites (the
//! kernel refuses if the name exists), and only afterwards removes the source. Killed at any
//! point, a photo is at its source, at its destination, or at both as the same bytes; the next
//! start finds the journal and either completes or rolls back, after which each photo is in
//! exactly one place.

use crate::files::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The journal's file name inside the dataset folder (hidden, so scans ignore it).
pub const JOURNAL_FILE: &str = ".skiplane-journal.ron";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferMode {
    Move,
    Copy,
}

/// One file operation; paths are relative to the journal's folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub from: PathBuf,
    pub to: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub mode: TransferMode,
    pub transfers: Vec<Transfer>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct JournalError {
    pub path: PathBuf,
    pub message: String,
}

fn error(path: &Path, message: impl Into<String>) -> JournalError {
    JournalError {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Test hook: a pause after each file, so a test can kill the process mid-apply.
const DELAY_ENV: &str = "SKIPLANE_APPLY_DELAY_MS";

/// `name.jpg` → `name (2).jpg`, the first free variant in `taken` and on disk.
pub fn free_name(folder: &Path, wanted: &Path, taken: &dyn Fn(&Path) -> bool) -> PathBuf {
    let candidate = |n: usize| -> PathBuf {
        if n == 1 {
            return wanted.to_path_buf();
        }
        let stem = wanted
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = match wanted.extension() {
            Some(ext) => format!("{stem} ({n}).{}", ext.to_string_lossy()),
            None => format!("{stem} ({n})"),
        };
        wanted.with_file_name(name)
    };
    (1..)
        .map(candidate)
        .find(|c| !taken(c) && std::fs::symlink_metadata(folder.join(c)).is_err())
        .expect("some suffix is free")
}

fn files_identical(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(ma), Ok(mb)) if ma.len() == mb.len() => {}
        _ => return false,
    }
    matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

impl Journal {
    pub fn path(folder: &Path) -> PathBuf {
        folder.join(JOURNAL_FILE)
    }

    /// An unfinished journal left by an interrupted apply, if any.
    pub fn pending(folder: &Path) -> Result<Option<Journal>, JournalError> {
        let path = Journal::path(folder);
        match std::fs::read_to_string(&path) {
            Ok(text) => ron::from_str(&text)
                .map(Some)
                .map_err(|e| error(&path, format!("the apply journal is damaged ({e}); the photos are untouched or in their class folders, check them by hand"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(error(&path, format!("cannot read the apply journal: {e}"))),
        }
    }

    fn save(&self, folder: &Path) -> Result<(), JournalError> {
        let path = Journal::path(folder);
        let text = ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .map_err(|e| error(&path, e.to_string()))?;
        write_atomic(&path, text.as_bytes())
            .map_err(|e| error(&path, format!("cannot write the apply journal: {e}")))
    }

    fn finish(folder: &Path) -> Result<(), JournalError> {
        let path = Journal::path(folder);
        std::fs::remove_file(&path)
            .map_err(|e| error(&path, format!("cannot remove the finished journal: {e}")))
    }

    /// Records the journal, then carries out every transfer. Refuses to start over an unfinished
    /// journal.
    pub fn run(mut self, folder: &Path) -> Result<(), JournalError> {
        if Journal::pending(folder)?.is_some() {
            return Err(error(
                &Journal::path(folder),
                "an earlier apply was interrupted; complete or roll it back first",
            ));
        }
        self.save(folder)?;
        let delay = std::env::var(DELAY_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok());
        for i in 0..self.transfers.len() {
            self.complete_one(folder, i)?;
            if let Some(ms) = delay {
                std::thread::sleep(std::time::Duration::from_millis(ms));
            }
        }
        Journal::finish(folder)
    }

    /// Finishes what an interrupted run started.
    pub fn complete(mut self, folder: &Path) -> Result<(), JournalError> {
        for i in 0..self.transfers.len() {
            self.complete_one(folder, i)?;
        }
        Journal::finish(folder)
    }

    /// Undoes what an interrupted run did: moved photos go back; copies are removed.
    pub fn roll_back(self, folder: &Path) -> Result<(), JournalError> {
        for t in self.transfers.iter().rev() {
            let (from, to) = (folder.join(&t.from), folder.join(&t.to));
            let to_exists = std::fs::symlink_metadata(&to).is_ok();
            let from_exists = std::fs::symlink_metadata(&from).is_ok();
            match (self.mode, from_exists, to_exists) {
                (_, true, true) if files_identical(&from, &to) => remove(&to)?,
                (TransferMode::Move, false, true) => {
                    link_no_clobber(&to, &from)?;
                    remove(&to)?;
                }
                _ => {}
            }
        }
        Journal::finish(folder)
    }

    fn complete_one(&mut self, folder: &Path, index: usize) -> Result<(), JournalError> {
        let t = self.transfers[index].clone();
        let (from, to) = (folder.join(&t.from), folder.join(&t.to));
        let from_exists = std::fs::symlink_metadata(&from).is_ok();
        let to_exists = std::fs::symlink_metadata(&to).is_ok();
        match (from_exists, to_exists) {
            (false, true) => return Ok(()), // a move that finished
            (false, false) => {
                // Moved or deleted outside Skiplane since the plan: nothing of ours to finish, and
                // failing here would leave a journal that can never complete.
                log::warn!(
                    "{}: the photo to move has disappeared (moved or deleted outside Skiplane?); skipped",
                    from.display()
                );
                return Ok(());
            }
            (true, true) if files_identical(&from, &to) => {
                // Linked but not yet unlinked (move), or a finished copy.
                if self.mode == TransferMode::Move {
                    remove(&from)?;
                }
                return Ok(());
            }
            (true, true) => {
                // Someone else's file took the name meanwhile: pick another and record it first.
                let taken = |p: &Path| self.transfers.iter().any(|x| x.to == p);
                let new_to = free_name(folder, &t.to, &taken);
                self.transfers[index].to = new_to;
                self.save(folder)?;
                return self.complete_one(folder, index);
            }
            (true, false) => {}
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| error(parent, format!("cannot create the class folder: {e}")))?;
        }
        place(&from, &to, self.mode == TransferMode::Copy)
    }
}

fn remove(path: &Path) -> Result<(), JournalError> {
    std::fs::remove_file(path).map_err(|e| error(path, format!("cannot remove: {e}")))
}

fn link_no_clobber(from: &Path, to: &Path) -> Result<(), JournalError> {
    place(from, to, true)
}

/// Puts `src`'s bytes at `to` without ever overwriting, removing `src` unless `keep_source`.
/// A hard link is atomic and refuses an existing name; across file systems the bytes go through
/// a temporary file in the destination folder; on file systems without hard links (FAT, exFAT)
/// a rename of a complete file, after checking the name is free.
fn place(src: &Path, to: &Path, keep_source: bool) -> Result<(), JournalError> {
    const CROSS_DEVICE: i32 = 18;
    match std::fs::hard_link(src, to) {
        Ok(()) if keep_source => Ok(()),
        Ok(()) => remove(src),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(error(to, "exists already; not overwritten"))
        }
        Err(e) if e.raw_os_error() == Some(CROSS_DEVICE) => {
            let temp = temp_copy(src, to)?;
            place(&temp, to, false)?;
            if keep_source { Ok(()) } else { remove(src) }
        }
        Err(_) if std::fs::symlink_metadata(to).is_ok() => {
            Err(error(to, "exists already; not overwritten"))
        }
        Err(_) if keep_source => {
            let temp = temp_copy(src, to)?;
            std::fs::rename(&temp, to).map_err(|e| error(to, format!("cannot create: {e}")))
        }
        Err(_) => std::fs::rename(src, to)
            .map_err(|e| error(to, format!("cannot move {} here: {e}", src.display()))),
    }
}

/// A complete, synced copy of `src` under a temporary name beside `to`.
fn temp_copy(src: &Path, to: &Path) -> Result<PathBuf, JournalError> {
    let folder = to.parent().unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".skiplane-copy-")
        .tempfile_in(folder)
        .map_err(|e| error(folder, e.to_string()))?;
    std::fs::copy(src, temp.path()).map_err(|e| error(src, format!("cannot copy: {e}")))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| error(temp.path(), e.to_string()))?;
    let (_, path) = temp.keep().map_err(|e| error(folder, e.to_string()))?;
    Ok(path)
}
