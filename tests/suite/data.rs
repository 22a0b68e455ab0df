//! Reading users' photo folders: every format variant decodes to the right pixels, every bad file
//! is reported with its reason and never stops a scan, splits are stratified and reproducible.

use crate::common::fixture;
use skiplane::data::decode::{SkipReason, decode_file};
use skiplane::data::folder::{ScanDepth, scan_folder};
use skiplane::data::loader::{ImageCache, Sample, Transform, batch_indices, load_batch};
use skiplane::data::preprocess::EvalTransform;
use skiplane::data::split::{Manifest, SplitSettings, Subset, stratified_split};
use std::path::{Path, PathBuf};

const RED: [u8; 3] = [200, 30, 30];
const BLUE: [u8; 3] = [30, 30, 200];
const WHITE: [u8; 3] = [255, 255, 255];

fn close(actual: [u8; 3], expected: [u8; 3], tolerance: i32) -> bool {
    actual
        .iter()
        .zip(expected)
        .all(|(a, e)| (*a as i32 - e as i32).abs() <= tolerance)
}

fn image_fixture(name: &str) -> PathBuf {
    fixture(&format!("images/{name}"))
}

#[test]
fn every_supported_format_variant_decodes_to_rgb() {
    // (file, expected left colour, expected right colour, tolerance)
    let cases = [
        ("baseline.jpg", RED, BLUE, 12),
        ("progressive.jpg", RED, BLUE, 12),
        ("cmyk.jpg", RED, BLUE, 24),
        ("plain.png", RED, BLUE, 0),
        ("rgb16.png", RED, BLUE, 1),
        ("palette.png", RED, BLUE, 0),
        ("alpha.png", RED, WHITE, 0),
        ("lossless.webp", RED, BLUE, 0),
        ("plain.bmp", RED, BLUE, 0),
        ("plain.tiff", RED, BLUE, 0),
        ("animated.gif", RED, BLUE, 0),
    ];
    for (name, left, right, tolerance) in cases {
        let image = decode_file(&image_fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(image.dimensions(), (16, 8), "{name}");
        let (l, r) = (image.get_pixel(2, 4).0, image.get_pixel(13, 4).0);
        assert!(
            close(l, left, tolerance),
            "{name}: left {l:?}, expected {left:?}"
        );
        assert!(
            close(r, right, tolerance),
            "{name}: right {r:?}, expected {right:?}"
        );
    }
    let gray = decode_file(&image_fixture("grayscale.jpg")).unwrap();
    let p = gray.get_pixel(2, 4).0;
    assert!(
        p[0] == p[1] && p[1] == p[2],
        "grayscale becomes three equal channels"
    );
}

#[test]
fn exif_orientation_is_applied() {
    // Stored 16x8 with orientation 6 (rotate 90° clockwise): shown 8x16 with red on top.
    let image = decode_file(&image_fixture("exif_rotated.jpg")).unwrap();
    assert_eq!(image.dimensions(), (8, 16));
    assert!(
        close(image.get_pixel(4, 2).0, RED, 12),
        "{:?}",
        image.get_pixel(4, 2)
    );
    assert!(
        close(image.get_pixel(4, 13).0, BLUE, 12),
        "{:?}",
        image.get_pixel(4, 13)
    );
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A tiny PNG whose header claims 100,000 x 100,000 pixels.
fn decompression_bomb() -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        let body: Vec<u8> = kind.iter().chain(data).copied().collect();
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
        out
    };
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// A dataset folder holding every kind of bad file next to good ones.
fn messy_dataset(root: &Path) {
    let good = std::fs::read(image_fixture("baseline.jpg")).unwrap();
    let photo = std::fs::read(fixture("preprocess/photo0_plier2.jpg")).unwrap();
    for class in ["cats", "dogs", "empty"] {
        std::fs::create_dir_all(root.join(class)).unwrap();
    }
    std::fs::write(root.join("cats/good1.jpg"), &good).unwrap();
    std::fs::write(
        root.join("cats/Café_ünïcode_猫.png"),
        std::fs::read(image_fixture("plain.png")).unwrap(),
    )
    .unwrap();
    std::fs::write(root.join("dogs/good2.jpg"), &good).unwrap();
    std::fs::write(root.join("dogs/zero.jpg"), b"").unwrap();
    std::fs::write(root.join("dogs/notes.jpg"), b"just some text, not a photo").unwrap();
    std::fs::write(root.join("dogs/truncated.jpg"), &photo[..photo.len() / 2]).unwrap();
    std::fs::write(root.join("dogs/bomb.png"), decompression_bomb()).unwrap();
    std::fs::write(
        root.join("dogs/image.ppm"),
        b"P6\n2 2\n255\n\0\0\0\0\0\0\0\0\0\0\0\0",
    )
    .unwrap();
    std::fs::write(root.join("dogs/.hidden.jpg"), &good).unwrap();
    std::fs::write(root.join("README.txt"), b"a file at the root").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("..", root.join("cats/loop")).unwrap();
        std::os::unix::fs::symlink("self-link", root.join("dogs/self-link")).unwrap();
    }
}

fn reason_of<'a>(scanned: &'a skiplane::data::folder::ScannedFolder, path: &str) -> &'a str {
    scanned
        .skipped
        .iter()
        .find(|s| s.path == Path::new(path))
        .map(|s| s.reason.as_str())
        .unwrap_or_else(|| panic!("{path} is not reported; skipped: {:?}", scanned.skipped))
}

#[test]
fn a_folder_full_of_bad_files_scans_and_reports_each_one() {
    let dir = tempfile::tempdir().unwrap();
    messy_dataset(dir.path());
    let scanned = scan_folder(dir.path(), ScanDepth::Full).unwrap();
    assert_eq!(scanned.class_names(), vec!["cats", "dogs"]);
    assert_eq!(
        scanned.classes[0].images.len(),
        2,
        "the non-ASCII file name is read: {:?}",
        scanned.classes[0].images
    );
    assert_eq!(
        scanned.classes[1].images,
        vec![PathBuf::from("dogs/good2.jpg")]
    );
    assert_eq!(reason_of(&scanned, "dogs/zero.jpg"), "zero bytes");
    assert_eq!(reason_of(&scanned, "dogs/notes.jpg"), "not an image");
    assert!(reason_of(&scanned, "dogs/truncated.jpg").starts_with("corrupt or truncated"));
    assert!(reason_of(&scanned, "dogs/bomb.png").starts_with("decompression bomb"));
    assert!(reason_of(&scanned, "dogs/image.ppm").starts_with("unsupported format"));
    assert!(reason_of(&scanned, "dogs/.hidden.jpg").starts_with("hidden"));
    assert!(reason_of(&scanned, "README.txt").contains("root"));
    assert!(reason_of(&scanned, "empty").starts_with("empty class folder"));
    #[cfg(unix)]
    {
        assert_eq!(reason_of(&scanned, "cats/loop"), "symlink loop");
        assert_eq!(reason_of(&scanned, "dogs/self-link"), "symlink loop");
    }
}

#[cfg(unix)]
#[test]
fn an_unreadable_file_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    messy_dataset(dir.path());
    let locked = dir.path().join("cats/locked.jpg");
    std::fs::write(
        &locked,
        std::fs::read(image_fixture("baseline.jpg")).unwrap(),
    )
    .unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_ok() {
        // Root reads any file whatever its mode, so the case cannot arise here.
        eprintln!("skipped: running as root, permissions do not stop reads");
        return;
    }
    let scanned = scan_folder(dir.path(), ScanDepth::Full).unwrap();
    assert!(reason_of(&scanned, "cats/locked.jpg").contains("permission denied"));
}

#[test]
fn the_sample_dataset_scans_as_four_classes() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4");
    let scanned = scan_folder(&root, ScanDepth::Headers).unwrap();
    let counts: Vec<(String, usize)> = scanned
        .classes
        .iter()
        .map(|c| (c.name.clone(), c.images.len()))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("fishes".into(), 28),
            ("monuments".into(), 27),
            ("renewable".into(), 29),
            ("tools".into(), 39)
        ]
    );
}

#[test]
fn splits_are_stratified_seeded_and_recorded_with_hashes() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4");
    let scanned = scan_folder(&root, ScanDepth::Headers).unwrap();
    let settings = SplitSettings {
        validation_fraction: 0.2,
        seed: 7,
    };
    let (a, warnings) = stratified_split(&scanned, &settings);
    let (b, _) = stratified_split(&scanned, &settings);
    let (c, _) = stratified_split(
        &scanned,
        &SplitSettings {
            seed: 8,
            ..settings.clone()
        },
    );
    assert!(warnings.is_empty());
    assert_eq!(a, b, "same seed, same split");
    assert_ne!(a, c, "another seed, another split");
    for class in &scanned.classes {
        let validation = a
            .entries
            .iter()
            .filter(|e| e.label == class.name && e.subset == Some(Subset::Validation))
            .count();
        let expected = (class.images.len() as f64 * 0.2).round() as usize;
        assert_eq!(validation, expected, "{}", class.name);
    }

    // The manifest round-trips and detects a changed file.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("data");
    for class in &scanned.classes {
        std::fs::create_dir_all(copy.join(&class.name)).unwrap();
        for image in &class.images {
            std::fs::copy(root.join(image), copy.join(image)).unwrap();
        }
    }
    let mut manifest = a.clone();
    manifest.record_hashes(&copy).unwrap();
    let path = dir.path().join("split.ron");
    manifest.save(&path).unwrap();
    let loaded = Manifest::load(&path).unwrap();
    assert_eq!(loaded, manifest);
    assert!(loaded.verify(&copy).is_empty());
    let changed = &loaded.entries[3].path;
    std::fs::write(copy.join(changed), b"edited").unwrap();
    let changes = loaded.verify(&copy);
    assert_eq!(changes.len(), 1);
    assert_eq!(&changes[0].path, changed);
}

#[test]
fn a_class_with_one_image_gets_a_warning_and_at_least_one_validation_image_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(image_fixture("baseline.jpg")).unwrap();
    for (class, n) in [("few", 1), ("two", 2), ("many", 5)] {
        std::fs::create_dir_all(dir.path().join(class)).unwrap();
        for i in 0..n {
            std::fs::write(dir.path().join(format!("{class}/{i}.jpg")), &good).unwrap();
        }
    }
    let scanned = scan_folder(dir.path(), ScanDepth::Headers).unwrap();
    let (manifest, warnings) = stratified_split(
        &scanned,
        &SplitSettings {
            validation_fraction: 0.1,
            seed: 1,
        },
    );
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("few"));
    for class in ["two", "many"] {
        let validation = manifest
            .entries
            .iter()
            .filter(|e| e.label == class && e.subset == Some(Subset::Validation))
            .count();
        assert_eq!(
            validation, 1,
            "{class} gets one validation image even at 10%"
        );
    }
}

#[test]
fn a_broken_manifest_is_rejected_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.ron");
    std::fs::write(
        &path,
        "(root: \".\", classes: [\"a\"], entries: [(path: \"x.jpg\", label: \"b\")])",
    )
    .unwrap();
    let err = Manifest::load(&path).unwrap_err().to_string();
    assert!(err.contains("m.ron") && err.contains("`b`"), "{err}");
    std::fs::write(
        &path,
        "(root: \".\", classes: [\"a\"], entries: [(path: \"../x.jpg\", label: \"a\")])",
    )
    .unwrap();
    assert!(
        Manifest::load(&path)
            .unwrap_err()
            .to_string()
            .contains("..")
    );
    std::fs::write(&path, "not ron at all").unwrap();
    assert!(
        Manifest::load(&path)
            .unwrap_err()
            .to_string()
            .contains("m.ron")
    );
}

#[test]
fn batches_come_from_the_cache_on_the_second_epoch_and_bad_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let good = image_fixture("baseline.jpg");
    let bad = dir.path().join("bad.jpg");
    std::fs::write(&bad, b"nope").unwrap();
    let samples = vec![
        Sample {
            path: good.clone(),
            label: 0,
        },
        Sample {
            path: image_fixture("plain.png"),
            label: 1,
        },
        Sample {
            path: bad.clone(),
            label: 1,
        },
    ];
    let transform = Transform::Eval(EvalTransform::new(32, 24));
    let cache = ImageCache::new(1 << 20);
    let indices = &batch_indices(samples.len(), 8, None)[0];
    let first = load_batch(&samples, indices, &transform, &cache, 0);
    assert_eq!(first.labels, vec![0, 1]);
    assert_eq!(first.images.len(), 2 * 3 * 24 * 24);
    assert_eq!(first.failures.len(), 1);
    assert_eq!(first.failures[0].0, bad);
    assert_eq!(first.failures[0].1, SkipReason::NotAnImage);
    let second = load_batch(&samples, indices, &transform, &cache, 1);
    assert_eq!(second.images, first.images);
    let stats = cache.stats();
    assert_eq!((stats.entries, stats.hits), (2, 2));
}

#[test]
fn data_check_prints_classes_and_skipped_files() {
    use assert_cmd::Command;
    let dir = tempfile::tempdir().unwrap();
    messy_dataset(dir.path());
    let out = Command::cargo_bin("skiplane")
        .unwrap()
        .args(["data", "check", "--json"])
        .arg(dir.path())
        .output()
        .unwrap();
    // Two classes with images: exit code 0.
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["classes"][0]["name"], "cats");
    assert_eq!(json["classes"][0]["images"], 2);
    let skipped = json["skipped"].as_array().unwrap();
    assert!(
        skipped
            .iter()
            .any(|s| s["path"] == "dogs/zero.jpg" && s["reason"] == "zero bytes")
    );

    // One class only: exit code 1, with a message saying why.
    std::fs::remove_dir_all(dir.path().join("dogs")).unwrap();
    Command::cargo_bin("skiplane")
        .unwrap()
        .args(["data", "check"])
        .arg(dir.path())
        .assert()
        .failure()
        .stderr(predicates::str::contains("at least two class folders"));
}

#[test]
fn data_split_writes_a_manifest() {
    use assert_cmd::Command;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("split.ron");
    Command::cargo_bin("skiplane")
        .unwrap()
        .args(["data", "split"])
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "98 training and 25 validation images in 4 classes",
        ));
    let manifest = Manifest::load(&out).unwrap();
    assert!(
        manifest
            .entries
            .iter()
            .all(|e| e.sha256.as_ref().is_some_and(|h| h.len() == 64))
    );
}

#[test]
fn prefetched_batches_arrive_in_order_from_a_background_thread() {
    use skiplane::data::augment::Augmentation;
    use skiplane::data::loader::prefetch_batches;
    use std::sync::Arc;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/gcompris4");
    let scanned = scan_folder(&root, ScanDepth::Headers).unwrap();
    let samples: Vec<Sample> = scanned
        .classes
        .iter()
        .enumerate()
        .flat_map(|(label, c)| {
            let root = root.as_path();
            c.images.iter().map(move |p| Sample {
                path: root.join(p),
                label,
            })
        })
        .take(20)
        .collect();
    let batches = batch_indices(samples.len(), 8, Some((3, 0)));
    let transform = Transform::Train {
        augmentation: Augmentation {
            size: 32,
            ..Augmentation::default()
        },
        seed: 3,
    };
    let cache = Arc::new(ImageCache::new(64 << 20));
    let received: Vec<_> = prefetch_batches(
        Arc::new(samples.clone()),
        batches.clone(),
        transform.clone(),
        cache.clone(),
        0,
        2,
    )
    .into_iter()
    .collect();
    assert_eq!(
        received
            .iter()
            .map(|b| b.indices.clone())
            .collect::<Vec<_>>(),
        batches
    );
    assert_eq!(received.iter().map(|b| b.len()).sum::<usize>(), 20);
    // Same seed and epoch: the same augmented pixels, now from the cache.
    let again: Vec<_> =
        prefetch_batches(Arc::new(samples), batches, transform, cache.clone(), 0, 2)
            .into_iter()
            .collect();
    assert_eq!(again[0].images, received[0].images);
    assert_eq!(cache.stats().hits, 20);
}
