//! Weight downloads against a small HTTP server on 127.0.0.1: a good file is verified and cached
//! atomically; a corrupted body or a dropped connection leaves nothing behind.

use crate::common::fixture;
use assert_cmd::Command;
use predicates::prelude::*;
use skiplane::weights::fetch::{FetchError, download_verified, sha256_file};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::thread;

enum Serve {
    /// Send the body with a correct Content-Length.
    Whole(Vec<u8>),
    /// Announce the full length, send half, close.
    DropHalfway(Vec<u8>),
}

/// Serves `requests` requests, then stops. Returns the base URL.
fn serve(mode: Serve, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/models/", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let (body, send) = match &mode {
                Serve::Whole(b) => (b, b.len()),
                Serve::DropHalfway(b) => (b, b.len() / 2),
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body[..send]);
            let _ = stream.flush();
        }
    });
    base
}

fn no_leftovers(folder: &Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_verified_download_lands_atomically() {
    let body = std::fs::read(fixture("tiny_resnet_basic.pth")).unwrap();
    let prefix = &sha256_file(&fixture("tiny_resnet_basic.pth")).unwrap()[..8];
    let base = serve(Serve::Whole(body.clone()), 1);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join(format!("tiny-{prefix}.pth"));
    let mut last = (0, None);
    download_verified(
        &format!("{base}tiny.pth"),
        prefix,
        &dest,
        &mut |done, total| last = (done, total),
    )
    .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(
        last,
        (body.len() as u64, Some(body.len() as u64)),
        "progress reached the end"
    );
    assert_eq!(
        no_leftovers(dir.path()),
        vec![dest.file_name().unwrap().to_string_lossy().into_owned()]
    );
}

#[test]
fn a_corrupted_body_is_discarded() {
    let mut body = std::fs::read(fixture("tiny_resnet_basic.pth")).unwrap();
    let prefix = sha256_file(&fixture("tiny_resnet_basic.pth")).unwrap()[..8].to_string();
    body[1000] ^= 0xff;
    let base = serve(Serve::Whole(body), 1);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("tiny.pth");
    let err =
        download_verified(&format!("{base}tiny.pth"), &prefix, &dest, &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, FetchError::HashMismatch { .. }), "{err}");
    assert!(
        no_leftovers(dir.path()).is_empty(),
        "nothing kept: {:?}",
        no_leftovers(dir.path())
    );
}

#[test]
fn a_dropped_connection_is_reported_and_discarded() {
    let body = std::fs::read(fixture("tiny_resnet_basic.pth")).unwrap();
    let base = serve(Serve::DropHalfway(body), 1);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("tiny.pth");
    let err = download_verified(
        &format!("{base}tiny.pth"),
        "00000000",
        &dest,
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("bytes"), "{err}");
    assert!(
        no_leftovers(dir.path()).is_empty(),
        "nothing kept: {:?}",
        no_leftovers(dir.path())
    );
}

#[test]
fn cli_fetch_rejects_a_file_whose_hash_does_not_match_its_name() {
    let body = std::fs::read(fixture("tiny_resnet_basic.pth")).unwrap();
    let base = serve(Serve::Whole(body), 1);
    let cache = tempfile::tempdir().unwrap();
    Command::cargo_bin("skiplane")
        .unwrap()
        .args(["weights", "fetch", "resnet18"])
        .env("SKIPLANE_WEIGHTS_URL", &base)
        .env("SKIPLANE_CACHE_DIR", cache.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("f37072fd").and(predicate::str::contains("discarded")));
    assert!(no_leftovers(&cache.path().join("weights")).is_empty());
}

#[test]
fn cli_fetch_offline_explains_how_to_import() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cache = tempfile::tempdir().unwrap();
    Command::cargo_bin("skiplane")
        .unwrap()
        .args(["weights", "fetch", "densenet121"])
        .env("SKIPLANE_WEIGHTS_URL", format!("http://127.0.0.1:{port}/"))
        .env("SKIPLANE_CACHE_DIR", cache.path())
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("skiplane weights import")
                .and(predicate::str::contains("densenet121-a639ec97.pth")),
        );
}

#[test]
fn cli_fetch_unknown_name_lists_the_official_ones() {
    Command::cargo_bin("skiplane")
        .unwrap()
        .args(["weights", "fetch", "vgg16"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("resnet18").and(predicate::str::contains("densenet201")));
}
