"""Stand-in "pretrained" weights for benchmarks on a machine that cannot download torchvision's:
a randomly initialised torchvision network whose BatchNorm running statistics are set from a
folder of photos (one pass in train mode, cumulative averages), so its eval-mode features are
well scaled the way real ImageNet weights are. Timings do not depend on the values; accuracies
from these weights are not ImageNet transfer results.

    python3 benches/calibrated_weights.py resnet18 datasets/gcompris4 resnet18-calibrated.pth
"""
import sys

import torch
import torchvision
from torchvision import datasets, transforms


def main():
    arch, folder, out = sys.argv[1:4]
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over every batch
    transform = transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    loader = torch.utils.data.DataLoader(datasets.ImageFolder(folder, transform), batch_size=32)
    model.train()
    with torch.no_grad():
        for x, _ in loader:
            model(x)
    torch.save(model.state_dict(), out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
