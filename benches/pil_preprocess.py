"""torchvision's PIL evaluation pipeline, timed the way `skiplane bench data` times Skiplane's.

For each photo: PIL open + decode, Resize(256) (bilinear, antialias), CenterCrop(224), ToTensor,
Normalize — the same operations torchvision.transforms performs on a PIL image, written with
Pillow and numpy (torch is not needed for the arithmetic, and torchvision's ToTensor/Normalize are
the same element-wise float ops). Prints images/s for one process and for a pool of all cores.

Usage: python3 benches/pil_preprocess.py DATASET_DIR [DATASET_DIR ...]
"""
import os
import sys
import time
from multiprocessing import Pool

import numpy as np
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)


def preprocess(path, resize=256, crop=224):
    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        if w <= h:
            size = (resize, int(resize * h / w))
        else:
            size = (int(resize * w / h), resize)
        im = im.resize(size, Image.BILINEAR)
        w, h = im.size
        top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
        im = im.crop((left, top, left + crop, top + crop))
        x = np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0
        return (x - MEAN) / STD


def preprocess_only(path):
    # Return nothing big: sending 600 kB arrays back to the parent would time pickling, not PIL.
    return preprocess(path).shape


def images(root):
    out = []
    for cls in sorted(os.listdir(root)):
        d = os.path.join(root, cls)
        if os.path.isdir(d) and not cls.startswith("."):
            out += [os.path.join(d, f) for f in sorted(os.listdir(d)) if not f.startswith(".")]
    return out


def main():
    cores = os.cpu_count() or 1
    for root in sys.argv[1:]:
        paths = images(root)
        for workers in sorted({1, cores}):
            start = time.perf_counter()
            if workers == 1:
                for p in paths:
                    preprocess(p)
            else:
                with Pool(workers) as pool:
                    pool.map(preprocess_only, paths, chunksize=8)
            secs = time.perf_counter() - start
            print(f"{root}: {len(paths)} images, {workers} process(es): {len(paths) / secs:.1f} images/s")


if __name__ == "__main__":
    main()
