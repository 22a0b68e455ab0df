//! Batches for training and evaluation: photos decoded and resized on every core (rayon), off the
//! training thread, a few batches ahead, with decoded images kept in a bounded in-memory cache so
//! later epochs do not decode again.

use super::augment::{Augmentation, sample_rng};
use super::decode::{SkipReason, decode_file};
use super::preprocess::{EvalTransform, resize_bilinear, shorter_side_size};
use image::RgbImage;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::sync::{Arc, Mutex};

/// One labelled photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub path: PathBuf,
    pub label: usize,
}

/// How images become tensors.
#[derive(Debug, Clone)]
pub enum Transform {
    /// Deterministic resize + center crop.
    Eval(EvalTransform),
    /// Random augmentation, seeded per (seed, epoch, sample).
    Train {
        augmentation: Augmentation,
        seed: u64,
    },
}

impl Transform {
    /// Output side in pixels.
    pub fn size(&self) -> u32 {
        match self {
            Transform::Eval(t) => t.crop,
            Transform::Train { augmentation, .. } => augmentation.size,
        }
    }

    /// What the cache keeps for this transform: for evaluation the exact resize (the crop is
    /// cheap); for training the photo with its shorter side at most twice the output, so random
    /// crops still have detail to draw from.
    fn cache_key(&self) -> CacheKey {
        match self {
            Transform::Eval(t) => CacheKey::Exact(t.resize),
            Transform::Train { augmentation, .. } => CacheKey::AtMost(2 * augmentation.size),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CacheKey {
    Exact(u32),
    AtMost(u32),
}

impl CacheKey {
    fn prepare(self, image: RgbImage) -> RgbImage {
        let (w, h) = image.dimensions();
        match self {
            CacheKey::Exact(side) => {
                let (nw, nh) = shorter_side_size(w, h, side);
                resize_bilinear(&image, nw, nh)
            }
            CacheKey::AtMost(side) if w.min(h) > side => {
                let (nw, nh) = shorter_side_size(w, h, side);
                resize_bilinear(&image, nw, nh)
            }
            CacheKey::AtMost(_) => image,
        }
    }
}

/// Cache figures, for the user to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    pub entries: usize,
    pub bytes: u64,
    pub capacity_bytes: u64,
    pub hits: u64,
    pub misses: u64,
}

/// Decoded, resized images in memory, oldest evicted first once `capacity_bytes` is reached.
pub struct ImageCache {
    capacity_bytes: u64,
    inner: Mutex<CacheInner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct CacheInner {
    images: HashMap<(PathBuf, CacheKey), Arc<RgbImage>>,
    order: VecDeque<(PathBuf, CacheKey)>,
    bytes: u64,
}

impl ImageCache {
    pub fn new(capacity_bytes: u64) -> Self {
        Self {
            capacity_bytes,
            inner: Mutex::new(CacheInner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn stats(&self) -> CacheStats {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        CacheStats {
            entries: inner.images.len(),
            bytes: inner.bytes,
            capacity_bytes: self.capacity_bytes,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    fn get_or_load(&self, path: &PathBuf, key: CacheKey) -> Result<Arc<RgbImage>, SkipReason> {
        let id = (path.clone(), key);
        if let Some(image) = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .images
            .get(&id)
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(image.clone());
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let image = Arc::new(key.prepare(decode_file(path)?));
        let bytes = image.as_raw().len() as u64;
        if bytes <= self.capacity_bytes {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if inner.images.insert(id.clone(), image.clone()).is_none() {
                inner.order.push_back(id);
                inner.bytes += bytes;
            }
            while inner.bytes > self.capacity_bytes {
                let Some(oldest) = inner.order.pop_front() else {
                    break;
                };
                if let Some(evicted) = inner.images.remove(&oldest) {
                    inner.bytes -= evicted.as_raw().len() as u64;
                }
            }
        }
        Ok(image)
    }
}

/// A batch ready for the network: NCHW floats and labels. Photos that failed to decode are left
/// out and listed in `failures`.
#[derive(Debug, Clone)]
pub struct Batch {
    pub images: Vec<f32>,
    pub labels: Vec<usize>,
    /// Index of each image in the sample list.
    pub indices: Vec<usize>,
    pub size: u32,
    pub failures: Vec<(PathBuf, SkipReason)>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Prepares the samples at `indices` in parallel on the current rayon pool.
pub fn load_batch(
    samples: &[Sample],
    indices: &[usize],
    transform: &Transform,
    cache: &ImageCache,
    epoch: u64,
) -> Batch {
    use rayon::prelude::*;
    let key = transform.cache_key();
    let prepared: Vec<(usize, Result<Vec<f32>, SkipReason>)> = indices
        .par_iter()
        .map(|&i| {
            let sample = &samples[i];
            let result = cache
                .get_or_load(&sample.path, key)
                .map(|image| match transform {
                    Transform::Eval(t) => t.crop_and_normalize(&image),
                    Transform::Train { augmentation, seed } => {
                        augmentation.apply(&image, &mut sample_rng(*seed, epoch, i as u64))
                    }
                });
            (i, result)
        })
        .collect();
    let size = transform.size();
    let mut batch = Batch {
        images: Vec::with_capacity(indices.len() * 3 * (size * size) as usize),
        labels: Vec::with_capacity(indices.len()),
        indices: Vec::with_capacity(indices.len()),
        size,
        failures: Vec::new(),
    };
    for (i, result) in prepared {
        match result {
            Ok(chw) => {
                batch.images.extend_from_slice(&chw);
                batch.labels.push(samples[i].label);
                batch.indices.push(i);
            }
            Err(reason) => batch.failures.push((samples[i].path.clone(), reason)),
        }
    }
    batch
}

/// Prepares batches on a named background thread, `ahead` batches in advance. Dropping the
/// receiver stops the thread after its current batch.
pub fn prefetch_batches(
    samples: Arc<Vec<Sample>>,
    batches: Vec<Vec<usize>>,
    transform: Transform,
    cache: Arc<ImageCache>,
    epoch: u64,
    ahead: usize,
) -> Receiver<Batch> {
    let (sender, receiver) = sync_channel(ahead.max(1));
    let spawned = std::thread::Builder::new()
        .name("skiplane-data".into())
        .spawn(move || {
            for indices in batches {
                let batch = load_batch(&samples, &indices, &transform, &cache, epoch);
                if sender.send(batch).is_err() {
                    return; // the consumer is gone
                }
            }
        });
    if let Err(e) = spawned {
        log::error!("could not start the data thread: {e}");
    }
    receiver
}

/// Splits `0..n` into batches, shuffled by `seed` and `epoch` when `shuffle` is set.
pub fn batch_indices(n: usize, batch_size: usize, shuffle: Option<(u64, u64)>) -> Vec<Vec<usize>> {
    use rand::seq::SliceRandom;
    let mut order: Vec<usize> = (0..n).collect();
    if let Some((seed, epoch)) = shuffle {
        order.shuffle(&mut sample_rng(seed, epoch, u64::MAX));
    }
    order
        .chunks(batch_size.max(1))
        .map(|c| c.to_vec())
        .collect()
}
