//! Photos in, tensors out: reading class folders, decoding every format a user may have,
//! torchvision-exact preprocessing, augmentation, splits and manifests.

pub mod augment;
pub mod dataset;
pub mod decode;
pub mod folder;
pub mod journal;
pub mod labelling;
pub mod loader;
pub mod preprocess;
pub mod resample;
pub mod split;
