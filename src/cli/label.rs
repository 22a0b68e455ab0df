use crate::data::journal::{Journal, TransferMode};
use crate::data::labelling::{Label, LabelSession, relabel};
use anyhow::bail;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum LabelCommand {
    /// Progress, classes, and whether an interrupted apply is waiting.
    Status(FolderArg),
    /// Add class names.
    AddClass {
        dir: PathBuf,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Label one photo: a class name, `skip` or `unsure` (or `none` to clear).
    Set {
        dir: PathBuf,
        photo: String,
        label: String,
    },
    /// Undo the last label change.
    Undo(FolderArg),
    /// Redo the last undone change.
    Redo(FolderArg),
    /// Move (or copy) labelled photos into class folders.
    Apply(ApplyArgs),
    /// Write the labelled photos as a manifest to train on them in place.
    Export {
        dir: PathBuf,
        /// The manifest file to write (RON); paths in it are relative to DIR.
        #[arg(long)]
        out: PathBuf,
    },
    /// Finish or roll back an interrupted apply.
    Recover(RecoverArgs),
    /// Move one photo of a class-folder dataset to another class.
    Relabel {
        root: PathBuf,
        photo: PathBuf,
        class: String,
    },
}

#[derive(Args, Debug)]
pub struct FolderArg {
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    pub dir: PathBuf,
    /// Copy instead of move (the originals stay where they are).
    #[arg(long)]
    pub copy: bool,
}

#[derive(Args, Debug)]
pub struct RecoverArgs {
    pub dir: PathBuf,
    /// Finish the interrupted apply.
    #[arg(long, conflicts_with = "rollback")]
    pub complete: bool,
    /// Put everything back as it was before the interrupted apply.
    #[arg(long)]
    pub rollback: bool,
}

pub fn run(command: LabelCommand) -> anyhow::Result<()> {
    match command {
        LabelCommand::Status(FolderArg { dir }) => {
            let session = LabelSession::open(&dir)?;
            let (done, total) = session.progress();
            println!(
                "{done} of {total} labelled; classes: {}",
                session.classes().join(", ")
            );
            if Journal::pending(&dir)?.is_some() {
                println!(
                    "an apply was interrupted: run `skiplane label recover {} --complete` or `--rollback`",
                    dir.display()
                );
            }
        }
        LabelCommand::AddClass { dir, names } => {
            let mut session = LabelSession::open(&dir)?;
            for name in names {
                session.add_class(&name)?;
            }
        }
        LabelCommand::Set { dir, photo, label } => {
            let mut session = LabelSession::open(&dir)?;
            let label = match label.as_str() {
                "skip" => Some(Label::Skip),
                "unsure" => Some(Label::Unsure),
                "none" => None,
                class => Some(Label::Class(class.to_string())),
            };
            session.set_label(&photo, label)?;
        }
        LabelCommand::Undo(FolderArg { dir }) => {
            LabelSession::open(&dir)?.undo()?;
        }
        LabelCommand::Redo(FolderArg { dir }) => {
            LabelSession::open(&dir)?.redo()?;
        }
        LabelCommand::Apply(args) => {
            let mut session = LabelSession::open(&args.dir)?;
            let plan = session.plan_apply(if args.copy {
                TransferMode::Copy
            } else {
                TransferMode::Move
            });
            println!("{}", plan.describe());
            session.apply(plan)?;
        }
        LabelCommand::Export { dir, out } => {
            let session = LabelSession::open(&dir)?;
            let mut manifest = session.to_manifest();
            // Paths are relative to DIR; record DIR relative to where the manifest goes when possible.
            manifest.root = std::fs::canonicalize(&dir)
                .unwrap_or(dir.clone())
                .to_string_lossy()
                .into_owned();
            manifest.record_hashes(&dir)?;
            manifest.save(&out)?;
            println!(
                "{}: {} labelled photos in {} classes",
                out.display(),
                manifest.entries.len(),
                manifest.classes.len()
            );
        }
        LabelCommand::Recover(args) => {
            let Some(journal) = Journal::pending(&args.dir)? else {
                println!("nothing to recover in {}", args.dir.display());
                return Ok(());
            };
            match (args.complete, args.rollback) {
                (true, _) => journal.complete(&args.dir)?,
                (_, true) => journal.roll_back(&args.dir)?,
                _ => bail!("say --complete or --rollback"),
            }
        }
        LabelCommand::Relabel { root, photo, class } => {
            let to = relabel(&root, &photo, &class)?;
            println!("{}", to.display());
        }
    }
    Ok(())
}
