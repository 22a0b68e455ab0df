"""PyTorch's side of `skiplane bench model`: the same three measurements on the same inputs.

Random (N, 3, H, W) batches, one warm-up then STEPS timed repetitions of: eval forward under no_grad;
a frozen-backbone step (backbone frozen and in eval mode, forward + backward of the sum of logits);
a full training step (train mode, forward + backward). Peak resident memory from getrusage.
Run one architecture per process so the peaks do not mix:

    python3 benches/torch_model.py resnet18 [--input 224] [--batch 16] [--steps 2]
"""
import argparse
import os
import resource
import time

import torch
import torchvision


def images_per_second(batch, steps, work):
    work()
    start = time.perf_counter()
    for _ in range(steps):
        work()
    return batch * steps / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("arch")
    parser.add_argument("--input", type=int, default=224)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    shape = (args.batch, 3, args.input, args.input)
    model = getattr(torchvision.models, args.arch)(num_classes=10)

    model.eval()
    with torch.no_grad():
        inference = images_per_second(args.batch, args.steps, lambda: model(torch.randn(shape)).sum().item())

    head = model.fc if hasattr(model, "fc") else model.classifier
    for p in model.parameters():
        p.requires_grad_(False)
    for p in head.parameters():
        p.requires_grad_(True)
    frozen = images_per_second(args.batch, args.steps, lambda: model(torch.randn(shape)).sum().backward())

    for p in model.parameters():
        p.requires_grad_(True)
    model.train()
    full = images_per_second(args.batch, args.steps, lambda: model(torch.randn(shape)).sum().backward())

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{args.arch} on PyTorch {torch.__version__} CPU · {torch.get_num_threads()} threads · "
          f"input {args.input}x{args.input}, batch {args.batch}")
    print(f"  inference (eval forward)                  {inference:8.1f} images/s")
    print(f"  frozen backbone (forward + head backward) {frozen:8.1f} images/s")
    print(f"  full fine-tune (forward + backward)       {full:8.1f} images/s")
    print(f"  peak resident memory {peak_kib / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
