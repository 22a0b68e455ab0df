//! The Lab's data: real photos from a class folder (the bundled sample by default), shrunk to a
//! small square the way the papers' CIFAR experiments see 32x32 images, loaded once into memory.

use crate::data::folder::{ScanDepth, scan_folder};
use crate::data::loader::{ImageCache, Sample, Transform, load_batch};
use crate::data::preprocess::EvalTransform;
use burn::prelude::{Device, Int, Tensor, TensorData};
use std::path::Path;

/// Every usable photo of a folder as one normalized batch on the host.
pub struct LabData {
    pub classes: Vec<String>,
    pub image_size: usize,
    /// (N, 3, S, S), normalized like ImageNet inputs.
    pub images: Vec<f32>,
    pub labels: Vec<i64>,
}

impl LabData {
    /// Loads every photo under `folder` (one subfolder per class) at `image_size` pixels.
    pub fn load(folder: &Path, image_size: usize) -> Result<LabData, String> {
        if image_size < 8 {
            return Err(format!("image size {image_size}: use at least 8 pixels"));
        }
        let scanned = scan_folder(folder, ScanDepth::Headers).map_err(|e| e.to_string())?;
        if scanned.classes.len() < 2 {
            return Err(format!(
                "{}: needs at least two class folders with photos",
                folder.display()
            ));
        }
        let root = &scanned.root;
        let samples: Vec<Sample> = scanned
            .classes
            .iter()
            .enumerate()
            .flat_map(|(label, class)| {
                // The scan lists paths relative to the folder.
                class.images.iter().map(move |path| Sample {
                    path: root.join(path),
                    label,
                })
            })
            .collect();
        let transform = Transform::Eval(EvalTransform::new(image_size as u32, image_size as u32));
        let indices: Vec<usize> = (0..samples.len()).collect();
        let batch = load_batch(&samples, &indices, &transform, &ImageCache::new(0), 0);
        if batch.labels.is_empty() {
            return Err(format!("{}: no photo could be read", folder.display()));
        }
        Ok(LabData {
            classes: scanned.classes.iter().map(|c| c.name.clone()).collect(),
            image_size,
            images: batch.images,
            labels: batch.labels.iter().map(|&l| l as i64).collect(),
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Batch `index` of an epoch's seeded shuffle (the last batch may be smaller).
    pub fn shuffled_batch(
        &self,
        seed: u64,
        epoch: usize,
        index: usize,
        batch_size: usize,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        let order = crate::data::loader::batch_indices(
            self.len(),
            batch_size.max(1),
            Some((seed, epoch as u64)),
        );
        let picks = order.get(index).cloned().unwrap_or_default();
        self.tensors(&picks, device)
    }

    fn tensors(&self, picks: &[usize], device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
        let per_image = 3 * self.image_size * self.image_size;
        let mut images = Vec::with_capacity(picks.len() * per_image);
        for &i in picks {
            images.extend_from_slice(&self.images[i * per_image..(i + 1) * per_image]);
        }
        let labels: Vec<i64> = picks.iter().map(|&i| self.labels[i]).collect();
        let s = self.image_size;
        (
            Tensor::from_data(TensorData::new(images, [picks.len(), 3, s, s]), device),
            Tensor::from_data(TensorData::new(labels, [picks.len()]), device),
        )
    }

    /// Batch `index` of size `batch_size` (wrapping around), as tensors on `device`.
    pub fn batch(
        &self,
        index: usize,
        batch_size: usize,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        let n = self.len();
        let size = batch_size.min(n);
        let picks: Vec<usize> = (0..size).map(|k| (index * size + k) % n).collect();
        self.tensors(&picks, device)
    }
}
