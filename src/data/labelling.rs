//! Labelling a folder of loose photos: assign each a class (or skip it, or mark it unsure), with
//! undo and redo, saved after every change so closing the app loses nothing; then "apply" moves
//! or copies the photos into `class/` subfolders through the crash-safe [`journal`](super::journal).

use super::decode::sniff_format;
use super::journal::{Journal, JournalError, Transfer, TransferMode, free_name};
use crate::files::write_atomic;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Labels in progress, saved inside the folder (hidden, so scans ignore it).
pub const LABELS_FILE: &str = ".skiplane-labels.ron";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Label {
    Class(String),
    /// Not part of the dataset; left where it is.
    Skip,
    /// Undecided; left where it is.
    Unsure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Edit {
    file: String,
    before: Option<Label>,
    after: Option<Label>,
}

/// What is saved between sessions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
struct SavedLabels {
    classes: Vec<String>,
    labels: BTreeMap<String, Label>,
    undo: Vec<Edit>,
    redo: Vec<Edit>,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("`{0}` is not a photo in this folder")]
    UnknownFile(String),
    #[error("`{0}` is not a class; add it first")]
    UnknownClass(String),
    #[error("class name {0:?} cannot be used: {1}")]
    BadClassName(String, &'static str),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// A labelling session over the photos directly inside `folder`.
#[derive(Debug)]
pub struct LabelSession {
    folder: PathBuf,
    photos: Vec<String>,
    saved: SavedLabels,
}

/// What "apply" will do, for the confirmation a user sees first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyPlan {
    pub mode: TransferMode,
    pub transfers: Vec<Transfer>,
    /// Photos left in place (skipped, unsure or unlabelled).
    pub left_in_place: usize,
    /// Transfers whose name was taken and got a suffix.
    pub renamed: usize,
}

impl ApplyPlan {
    /// e.g. "Move 38 photos into 3 class folders (2 renamed to avoid name clashes); 4 stay where they are."
    pub fn describe(&self) -> String {
        let folders: HashSet<_> = self
            .transfers
            .iter()
            .filter_map(|t| t.to.parent())
            .collect();
        format!(
            "{} {} photos into {} class folders{}; {} stay where they are.",
            if self.mode == TransferMode::Move {
                "Move"
            } else {
                "Copy"
            },
            self.transfers.len(),
            folders.len(),
            if self.renamed > 0 {
                format!(" ({} renamed to avoid name clashes)", self.renamed)
            } else {
                String::new()
            },
            self.left_in_place
        )
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> LabelError {
    LabelError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl LabelSession {
    /// Opens `folder`, listing its photos (files whose content is an image) and restoring saved
    /// labels. Photos that vanished since are dropped from the labels.
    pub fn open(folder: &Path) -> Result<Self, LabelError> {
        let entries = std::fs::read_dir(folder)
            .map_err(|e| io(folder, format!("cannot open the folder: {e}")))?;
        let mut photos = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                continue;
            }
            let mut head = [0u8; 64];
            let is_image = std::fs::File::open(entry.path())
                .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
                .map(|n| sniff_format(&head[..n]).is_ok())
                .unwrap_or(false);
            if is_image {
                photos.push(name);
            }
        }
        photos.sort();
        let path = folder.join(LABELS_FILE);
        let mut saved = match std::fs::read_to_string(&path) {
            Ok(text) => ron::from_str::<SavedLabels>(&text)
                .map_err(|e| io(&path, format!("the saved labels are damaged: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SavedLabels::default(),
            Err(e) => return Err(io(&path, format!("cannot read the saved labels: {e}"))),
        };
        let present: HashSet<&String> = photos.iter().collect();
        saved.labels.retain(|file, _| present.contains(file));
        Ok(Self {
            folder: folder.to_path_buf(),
            photos,
            saved,
        })
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }

    pub fn photos(&self) -> &[String] {
        &self.photos
    }

    pub fn classes(&self) -> &[String] {
        &self.saved.classes
    }

    pub fn label(&self, file: &str) -> Option<&Label> {
        self.saved.labels.get(file)
    }

    /// (labelled, total): photos with any decision (class, skip or unsure) out of all.
    pub fn progress(&self) -> (usize, usize) {
        (self.saved.labels.len(), self.photos.len())
    }

    /// The first photo without a decision, in order.
    pub fn next_unlabelled(&self) -> Option<&str> {
        self.photos
            .iter()
            .find(|p| !self.saved.labels.contains_key(*p))
            .map(String::as_str)
    }

    pub fn add_class(&mut self, name: &str) -> Result<(), LabelError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(LabelError::BadClassName(name.into(), "it is empty"));
        }
        if name.starts_with('.') || name.contains(['/', '\\']) || name == ".." {
            return Err(LabelError::BadClassName(
                name.into(),
                "it must be a plain folder name (no slashes, not hidden)",
            ));
        }
        if !self.saved.classes.iter().any(|c| c == name) {
            self.saved.classes.push(name.to_string());
            self.save()?;
        }
        Ok(())
    }

    /// Sets (or with `None` clears) a photo's label; saved at once; undoable.
    pub fn set_label(&mut self, file: &str, label: Option<Label>) -> Result<(), LabelError> {
        if !self.photos.iter().any(|p| p == file) {
            return Err(LabelError::UnknownFile(file.into()));
        }
        if let Some(Label::Class(class)) = &label
            && !self.saved.classes.contains(class)
        {
            return Err(LabelError::UnknownClass(class.clone()));
        }
        let before = self.saved.labels.get(file).cloned();
        if before == label {
            return Ok(());
        }
        self.write_label(file, label.clone());
        self.saved.undo.push(Edit {
            file: file.into(),
            before,
            after: label,
        });
        self.saved.redo.clear();
        self.save()
    }

    fn write_label(&mut self, file: &str, label: Option<Label>) {
        match label {
            Some(label) => self.saved.labels.insert(file.to_string(), label),
            None => self.saved.labels.remove(file),
        };
    }

    /// Undoes the last change; returns the photo it touched.
    pub fn undo(&mut self) -> Result<Option<String>, LabelError> {
        let Some(edit) = self.saved.undo.pop() else {
            return Ok(None);
        };
        self.write_label(&edit.file, edit.before.clone());
        let file = edit.file.clone();
        self.saved.redo.push(edit);
        self.save()?;
        Ok(Some(file))
    }

    pub fn redo(&mut self) -> Result<Option<String>, LabelError> {
        let Some(edit) = self.saved.redo.pop() else {
            return Ok(None);
        };
        self.write_label(&edit.file, edit.after.clone());
        let file = edit.file.clone();
        self.saved.undo.push(edit);
        self.save()?;
        Ok(Some(file))
    }

    fn save(&self) -> Result<(), LabelError> {
        let path = self.folder.join(LABELS_FILE);
        let text = ron::ser::to_string_pretty(&self.saved, ron::ser::PrettyConfig::default())
            .map_err(|e| io(&path, e))?;
        write_atomic(&path, text.as_bytes())
            .map_err(|e| io(&path, format!("cannot save the labels: {e}")))
    }

    /// The labelled photos as a manifest (paths relative to the folder), to train on them where
    /// they are, without sorting them into folders.
    pub fn to_manifest(&self) -> super::split::Manifest {
        let entries = self
            .photos
            .iter()
            .filter_map(|photo| match self.saved.labels.get(photo) {
                Some(Label::Class(class)) => Some(super::split::ManifestEntry {
                    path: photo.clone(),
                    label: class.clone(),
                    sha256: None,
                    subset: None,
                }),
                _ => None,
            })
            .collect();
        super::split::Manifest {
            root: ".".into(),
            classes: self.saved.classes.clone(),
            split: None,
            entries,
        }
    }

    /// What applying would do now. Name clashes (with files already in a class folder, or
    /// between photos) get a ` (2)` suffix, never an overwrite.
    pub fn plan_apply(&self, mode: TransferMode) -> ApplyPlan {
        let mut transfers: Vec<Transfer> = Vec::new();
        let mut renamed = 0;
        let mut left_in_place = 0;
        for photo in &self.photos {
            let Some(Label::Class(class)) = self.saved.labels.get(photo) else {
                left_in_place += 1;
                continue;
            };
            let wanted = PathBuf::from(class).join(photo);
            let planned: HashSet<PathBuf> = transfers.iter().map(|t| t.to.clone()).collect();
            let to = free_name(&self.folder, &wanted, &|p| planned.contains(p));
            if to != wanted {
                renamed += 1;
            }
            transfers.push(Transfer {
                from: PathBuf::from(photo),
                to,
            });
        }
        ApplyPlan {
            mode,
            transfers,
            left_in_place,
            renamed,
        }
    }

    /// Carries out a plan through the journal, then forgets the labels of the photos it moved.
    pub fn apply(&mut self, plan: ApplyPlan) -> Result<(), LabelError> {
        let moved: Vec<String> = plan
            .transfers
            .iter()
            .map(|t| t.from.to_string_lossy().into_owned())
            .collect();
        Journal {
            mode: plan.mode,
            transfers: plan.transfers,
        }
        .run(&self.folder)?;
        if plan.mode == TransferMode::Move {
            for file in &moved {
                self.saved.labels.remove(file);
            }
            self.saved.undo.retain(|e| !moved.contains(&e.file));
            self.saved.redo.retain(|e| !moved.contains(&e.file));
            self.photos.retain(|p| !moved.contains(p));
            self.save()?;
        }
        Ok(())
    }
}

/// Moves one photo of a class-folder dataset to another class (from the mistakes gallery),
/// through the same journal. Returns its new path, relative to `root`.
pub fn relabel(root: &Path, photo: &Path, new_class: &str) -> Result<PathBuf, LabelError> {
    let name = photo
        .file_name()
        .ok_or_else(|| LabelError::UnknownFile(photo.display().to_string()))?;
    if !root.join(photo).is_file() {
        return Err(LabelError::UnknownFile(photo.display().to_string()));
    }
    let to = free_name(root, &PathBuf::from(new_class).join(name), &|_| false);
    Journal {
        mode: TransferMode::Move,
        transfers: vec![Transfer {
            from: photo.to_path_buf(),
            to: to.clone(),
        }],
    }
    .run(root)?;
    Ok(to)
}
