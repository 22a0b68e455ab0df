//! Labelling loose photos: undo/redo, continuous saving, apply without clobbering, and a process
//! killed mid-apply that loses nothing and duplicates nothing once recovered.

use crate::common::fixture;
use assert_cmd::Command;
use skiplane::data::journal::{Journal, TransferMode};
use skiplane::data::labelling::{Label, LabelSession, relabel};
use std::collections::BTreeMap;
use std::path::Path;

/// A folder of `n` distinct photos (same JPEG with a distinct trailing comment, so every file has
/// different bytes).
fn loose_photos(dir: &Path, n: usize) -> BTreeMap<Vec<u8>, String> {
    let base = std::fs::read(fixture("images/baseline.jpg")).unwrap();
    let mut originals = BTreeMap::new();
    for i in 0..n {
        let mut bytes = base.clone();
        bytes.extend_from_slice(format!("photo {i}").as_bytes()); // after EOI: still a valid JPEG
        let name = format!("IMG_{i:04}.jpg");
        std::fs::write(dir.join(&name), &bytes).unwrap();
        originals.insert(bytes, name);
    }
    originals
}

/// Every file's bytes under `dir`, recursively, with how often each occurs (hidden files too).
fn all_contents(dir: &Path) -> BTreeMap<Vec<u8>, usize> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if !entry
                .file_name()
                .to_string_lossy()
                .starts_with(".skiplane-")
            {
                *found.entry(std::fs::read(&path).unwrap()).or_insert(0) += 1;
            }
        }
    }
    found
}

#[test]
fn labels_undo_redo_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    loose_photos(dir.path(), 4);
    let mut session = LabelSession::open(dir.path()).unwrap();
    session.add_class("cats").unwrap();
    session.add_class("dogs").unwrap();
    assert!(session.add_class("../evil").is_err());
    assert!(
        session
            .set_label("IMG_0000.jpg", Some(Label::Class("birds".into())))
            .is_err(),
        "unknown class"
    );
    assert!(
        session.set_label("nope.jpg", Some(Label::Skip)).is_err(),
        "unknown photo"
    );
    session
        .set_label("IMG_0000.jpg", Some(Label::Class("cats".into())))
        .unwrap();
    session
        .set_label("IMG_0001.jpg", Some(Label::Class("dogs".into())))
        .unwrap();
    session
        .set_label("IMG_0002.jpg", Some(Label::Unsure))
        .unwrap();
    assert_eq!(session.progress(), (3, 4));
    assert_eq!(session.undo().unwrap().as_deref(), Some("IMG_0002.jpg"));
    assert_eq!(session.progress(), (2, 4));
    session.redo().unwrap();
    session.undo().unwrap();
    drop(session); // "closing the app"
    let mut session = LabelSession::open(dir.path()).unwrap();
    assert_eq!(session.progress(), (2, 4));
    assert_eq!(
        session.label("IMG_0001.jpg"),
        Some(&Label::Class("dogs".into()))
    );
    assert_eq!(
        session.redo().unwrap().as_deref(),
        Some("IMG_0002.jpg"),
        "the redo history is saved too"
    );
    assert_eq!(session.next_unlabelled(), Some("IMG_0003.jpg"));
}

#[test]
fn apply_moves_into_class_folders_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let originals = loose_photos(dir.path(), 3);
    std::fs::create_dir_all(dir.path().join("cats")).unwrap();
    std::fs::write(dir.path().join("cats/IMG_0000.jpg"), b"an older cat").unwrap();
    let mut session = LabelSession::open(dir.path()).unwrap();
    session.add_class("cats").unwrap();
    session
        .set_label("IMG_0000.jpg", Some(Label::Class("cats".into())))
        .unwrap();
    session
        .set_label("IMG_0001.jpg", Some(Label::Class("cats".into())))
        .unwrap();
    session
        .set_label("IMG_0002.jpg", Some(Label::Skip))
        .unwrap();
    let plan = session.plan_apply(TransferMode::Move);
    assert_eq!(
        plan.describe(),
        "Move 2 photos into 1 class folders (1 renamed to avoid name clashes); 1 stay where they are."
    );
    session.apply(plan).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("cats/IMG_0000.jpg")).unwrap(),
        b"an older cat"
    );
    assert!(dir.path().join("cats/IMG_0000 (2).jpg").is_file());
    assert!(dir.path().join("cats/IMG_0001.jpg").is_file());
    assert!(
        dir.path().join("IMG_0002.jpg").is_file(),
        "skipped photos stay"
    );
    let found = all_contents(dir.path());
    for bytes in originals.keys() {
        assert_eq!(found.get(bytes), Some(&1), "each photo exactly once");
    }
    assert!(Journal::pending(dir.path()).unwrap().is_none());

    // Relabelling goes through the same journal.
    let to = relabel(dir.path(), Path::new("cats/IMG_0001.jpg"), "dogs").unwrap();
    assert_eq!(to, Path::new("dogs/IMG_0001.jpg"));
    assert!(
        dir.path().join("dogs/IMG_0001.jpg").is_file()
            && !dir.path().join("cats/IMG_0001.jpg").exists()
    );
}

#[test]
fn copy_mode_keeps_the_originals() {
    let dir = tempfile::tempdir().unwrap();
    loose_photos(dir.path(), 2);
    let mut session = LabelSession::open(dir.path()).unwrap();
    session.add_class("a").unwrap();
    session
        .set_label("IMG_0000.jpg", Some(Label::Class("a".into())))
        .unwrap();
    let plan = session.plan_apply(TransferMode::Copy);
    session.apply(plan).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("IMG_0000.jpg")).unwrap(),
        std::fs::read(dir.path().join("a/IMG_0000.jpg")).unwrap()
    );
}

fn kill_mid_apply(dir: &Path, count: usize) {
    let mut session = LabelSession::open(dir).unwrap();
    for class in ["left", "right"] {
        session.add_class(class).unwrap();
    }
    for i in 0..count {
        let class = if i % 2 == 0 { "left" } else { "right" };
        session
            .set_label(&format!("IMG_{i:04}.jpg"), Some(Label::Class(class.into())))
            .unwrap();
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("skiplane"))
        .args(["label", "apply"])
        .arg(dir)
        .env("SKIPLANE_APPLY_DELAY_MS", "20")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill once part of the photos have moved.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let moved = ["left", "right"]
            .iter()
            .map(|c| {
                std::fs::read_dir(dir.join(c))
                    .map(|d| d.count())
                    .unwrap_or(0)
            })
            .sum::<usize>();
        if moved >= count / 3 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_process_killed_mid_apply_loses_nothing_and_recovers_either_way() {
    for recovery in ["--complete", "--rollback"] {
        let dir = tempfile::tempdir().unwrap();
        let count = 60;
        let originals = loose_photos(dir.path(), count);
        kill_mid_apply(dir.path(), count);

        // Straight after the kill: every original byte is still somewhere under the folder.
        let found = all_contents(dir.path());
        for (bytes, name) in &originals {
            assert!(found.contains_key(bytes), "{name} is lost after the kill");
        }
        let journal = Journal::pending(dir.path())
            .unwrap()
            .expect("the interrupted apply left its journal");
        assert_eq!(journal.transfers.len(), count);

        Command::cargo_bin("skiplane")
            .unwrap()
            .args(["label", "recover"])
            .arg(dir.path())
            .arg(recovery)
            .assert()
            .success();
        assert!(Journal::pending(dir.path()).unwrap().is_none());
        let found = all_contents(dir.path());
        for (bytes, name) in &originals {
            assert_eq!(
                found.get(bytes),
                Some(&1),
                "{name}: exactly one copy after {recovery}"
            );
        }
        let at_root = originals
            .values()
            .filter(|n| dir.path().join(n).exists())
            .count();
        if recovery == "--complete" {
            assert_eq!(at_root, 0, "everything moved");
        } else {
            assert_eq!(at_root, count, "everything back in place");
        }
    }
}

#[test]
fn labelled_photos_can_be_trained_in_place_through_a_manifest() {
    use skiplane::data::dataset::Dataset;
    use skiplane::data::split::{SplitSettings, Subset};
    let dir = tempfile::tempdir().unwrap();
    loose_photos(dir.path(), 6);
    let mut session = LabelSession::open(dir.path()).unwrap();
    for class in ["a", "b"] {
        session.add_class(class).unwrap();
    }
    for i in 0..5 {
        let class = if i < 3 { "a" } else { "b" };
        session
            .set_label(&format!("IMG_{i:04}.jpg"), Some(Label::Class(class.into())))
            .unwrap();
    }
    let manifest = dir.path().join("labels.ron");
    Command::cargo_bin("skiplane")
        .unwrap()
        .args(["label", "export"])
        .arg(dir.path())
        .arg("--out")
        .arg(&manifest)
        .assert()
        .success();
    Command::cargo_bin("skiplane")
        .unwrap()
        .args(["data", "check"])
        .arg(&manifest)
        .assert()
        .success();

    let dataset = Dataset::open(&manifest, &SplitSettings::default()).unwrap();
    assert_eq!(dataset.classes, vec!["a", "b"]);
    let train = dataset.samples(Subset::Train);
    let validation = dataset.samples(Subset::Validation);
    assert_eq!(train.len() + validation.len(), 5);
    assert_eq!(
        validation
            .iter()
            .map(|s| s.label)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        2,
        "both classes validated"
    );
    assert!(train.iter().chain(&validation).all(|s| s.path.is_file()));

    // A photo edited after export shows up in the check.
    std::fs::write(dir.path().join("IMG_0000.jpg"), b"edited").unwrap();
    Command::cargo_bin("skiplane")
        .unwrap()
        .args(["data", "check"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicates::str::contains("IMG_0000.jpg: content changed"));
}

#[test]
fn a_photo_deleted_between_plan_and_apply_does_not_block_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    loose_photos(dir.path(), 3);
    let mut session = LabelSession::open(dir.path()).unwrap();
    session.add_class("a").unwrap();
    for i in 0..3 {
        session
            .set_label(&format!("IMG_{i:04}.jpg"), Some(Label::Class("a".into())))
            .unwrap();
    }
    let plan = session.plan_apply(TransferMode::Move);
    std::fs::remove_file(dir.path().join("IMG_0001.jpg")).unwrap();
    session.apply(plan).unwrap();
    assert!(
        dir.path().join("a/IMG_0000.jpg").is_file() && dir.path().join("a/IMG_0002.jpg").is_file()
    );
    assert!(Journal::pending(dir.path()).unwrap().is_none());
}
