//! Fetching torchvision's official ImageNet weights into the user's cache, verified by the
//! SHA-256 prefix that torchvision puts in each file name (as `torch.hub` checks it).

pub use crate::files::sha256_file;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where torchvision publishes its weights.
pub const OFFICIAL_BASE_URL: &str = "https://download.pytorch.org/models/";

/// Overrides [`OFFICIAL_BASE_URL`] (a mirror, or a local server in tests).
pub const BASE_URL_ENV: &str = "SKIPLANE_WEIGHTS_URL";

/// Overrides the cache folder.
pub const CACHE_DIR_ENV: &str = "SKIPLANE_CACHE_DIR";

/// One of torchvision's official files (IMAGENET1K_V1, evaluated at resize 256 / crop 224).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfficialWeights {
    pub name: &'static str,
    pub file_name: &'static str,
}

pub const OFFICIAL_WEIGHTS: [OfficialWeights; 9] = [
    OfficialWeights {
        name: "resnet18",
        file_name: "resnet18-f37072fd.pth",
    },
    OfficialWeights {
        name: "resnet34",
        file_name: "resnet34-b627a593.pth",
    },
    OfficialWeights {
        name: "resnet50",
        file_name: "resnet50-0676ba61.pth",
    },
    OfficialWeights {
        name: "resnet101",
        file_name: "resnet101-63fe2227.pth",
    },
    OfficialWeights {
        name: "resnet152",
        file_name: "resnet152-394f9c45.pth",
    },
    OfficialWeights {
        name: "densenet121",
        file_name: "densenet121-a639ec97.pth",
    },
    OfficialWeights {
        name: "densenet161",
        file_name: "densenet161-8d451a50.pth",
    },
    OfficialWeights {
        name: "densenet169",
        file_name: "densenet169-b2777c0a.pth",
    },
    OfficialWeights {
        name: "densenet201",
        file_name: "densenet201-c1103571.pth",
    },
];

impl OfficialWeights {
    pub fn find(name: &str) -> Option<OfficialWeights> {
        let name = name.trim().to_ascii_lowercase().replace('-', "");
        OFFICIAL_WEIGHTS.iter().copied().find(|w| w.name == name)
    }

    /// The hex SHA-256 prefix in the file name (`f37072fd` in `resnet18-f37072fd.pth`).
    pub fn sha256_prefix(&self) -> &'static str {
        let stem = self.file_name.trim_end_matches(".pth");
        stem.rsplit('-').next().unwrap_or(stem)
    }

    pub fn url(&self, base_url: &str) -> String {
        format!("{}/{}", base_url.trim_end_matches('/'), self.file_name)
    }

    /// The file in the cache, if it has been fetched.
    pub fn cached(&self) -> Option<PathBuf> {
        let path = weights_cache_dir().ok()?.join(self.file_name);
        path.is_file().then_some(path)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("unknown weights {0:?}; official ones are: {1}")]
    UnknownName(String, String),
    #[error(
        "could not download {url}: {reason}.\nOffline? Download {file} on a machine with internet access, then run \
         `skiplane weights import PATH/{file}` (or pass the file directly with `--weights PATH`)"
    )]
    Network {
        url: String,
        file: String,
        reason: String,
    },
    #[error(
        "{url}: the download ended after {received} of {expected} bytes (connection dropped); nothing was kept"
    )]
    Truncated {
        url: String,
        received: u64,
        expected: u64,
    },
    #[error(
        "{url}: SHA-256 {actual} does not start with {expected} as the file name promises; the download is corrupt and was discarded"
    )]
    HashMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
}

/// The folder weights are cached in: `$SKIPLANE_CACHE_DIR/weights`, else the platform's cache
/// folder (e.g. `~/.cache/skiplane/weights`).
pub fn weights_cache_dir() -> Result<PathBuf, FetchError> {
    let base = match std::env::var_os(CACHE_DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => directories::ProjectDirs::from("", "", "skiplane")
            .map(|d| d.cache_dir().to_path_buf())
            .ok_or_else(|| FetchError::Io {
                path: PathBuf::from("~"),
                reason: "no home folder to keep a cache in; set SKIPLANE_CACHE_DIR".into(),
            })?,
    };
    Ok(base.join("weights"))
}

/// Progress callback: (bytes so far, total if the server said).
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// Fetches official weights by name into the cache, unless they are already there.
pub fn fetch_official(name: &str, progress: Progress) -> Result<PathBuf, FetchError> {
    let weights = OfficialWeights::find(name).ok_or_else(|| {
        let names: Vec<&str> = OFFICIAL_WEIGHTS.iter().map(|w| w.name).collect();
        FetchError::UnknownName(name.to_string(), names.join(", "))
    })?;
    if let Some(path) = weights.cached() {
        return Ok(path);
    }
    let base = std::env::var(BASE_URL_ENV).unwrap_or_else(|_| OFFICIAL_BASE_URL.to_string());
    let dest = weights_cache_dir()?.join(weights.file_name);
    download_verified(
        &weights.url(&base),
        weights.sha256_prefix(),
        &dest,
        progress,
    )?;
    Ok(dest)
}

/// Downloads `url` to `dest`, atomically: the bytes go to a temporary file beside `dest`, which is
/// renamed into place only when complete and its SHA-256 starts with `sha256_prefix`.
pub fn download_verified(
    url: &str,
    sha256_prefix: &str,
    dest: &Path,
    progress: Progress,
) -> Result<(), FetchError> {
    let file_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let network = |reason: String| FetchError::Network {
        url: url.to_string(),
        file: file_name.clone(),
        reason,
    };
    let io = |path: &Path, e: std::io::Error| FetchError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let folder = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(|e| io(folder, e))?;

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(20)))
        .timeout_recv_body(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| network(e.to_string()))?;
    let expected_len = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = response.body_mut().with_config().limit(u64::MAX).reader();

    let mut temp = crate::files::temp_file_in(folder, ".download-").map_err(|e| io(folder, e))?;
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(match expected_len {
                    Some(expected) => FetchError::Truncated {
                        url: url.to_string(),
                        received,
                        expected,
                    },
                    None => network(format!("the connection failed after {received} bytes: {e}")),
                });
            }
        };
        hasher.update(&buffer[..n]);
        temp.write_all(&buffer[..n])
            .map_err(|e| io(temp.path(), e))?;
        received += n as u64;
        progress(received, expected_len);
    }
    if let Some(expected) = expected_len
        && received != expected
    {
        return Err(FetchError::Truncated {
            url: url.to_string(),
            received,
            expected,
        });
    }
    let actual = hex::encode(hasher.finalize());
    if !actual.starts_with(&sha256_prefix.to_ascii_lowercase()) {
        return Err(FetchError::HashMismatch {
            url: url.to_string(),
            expected: sha256_prefix.to_string(),
            actual,
        });
    }
    temp.as_file().sync_all().map_err(|e| io(temp.path(), e))?;
    temp.persist(dest).map_err(|e| io(dest, e.error))?;
    Ok(())
}

/// Copies a user's file into the cache under its official name when its hash proves it is that
/// file; returns the cached path. Atomic, like a download.
pub fn import_official(source: &Path) -> Result<Option<PathBuf>, FetchError> {
    let io = |path: &Path, e: std::io::Error| FetchError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let hash = sha256_file(source).map_err(|e| io(source, e))?;
    let Some(weights) = OFFICIAL_WEIGHTS
        .iter()
        .find(|w| hash.starts_with(w.sha256_prefix()))
    else {
        return Ok(None);
    };
    let folder = weights_cache_dir()?;
    std::fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
    let dest = folder.join(weights.file_name);
    let mut temp = crate::files::temp_file_in(&folder, ".import-").map_err(|e| io(&folder, e))?;
    let mut input = std::fs::File::open(source).map_err(|e| io(source, e))?;
    std::io::copy(&mut input, &mut temp).map_err(|e| io(source, e))?;
    temp.as_file().sync_all().map_err(|e| io(temp.path(), e))?;
    temp.persist(&dest).map_err(|e| io(&dest, e.error))?;
    Ok(Some(dest))
}
