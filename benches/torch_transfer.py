"""PyTorch's side of `skiplane bench train`: the usual torchvision transfer-learning tutorial loop
(ImageFolder + DataLoader, the pretrained backbone's parameters frozen, a new fc trained with SGD
momentum), timed from folder to final validation accuracy, on the CPU.

    python3 benches/torch_transfer.py datasets/gcompris4 --weights resnet18.pth [--epochs 10] [--workers 2]

As in the tutorial, every epoch runs the whole network forward over every training image (the
backbone is frozen but not cached) and the validation images once per epoch.
"""
import argparse
import time

import torch
import torchvision
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--weights", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    started = time.perf_counter()
    transform = transforms.Compose([
        transforms.Resize(256),
        transforms.CenterCrop(224),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    full = datasets.ImageFolder(args.data, transform)
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(full), generator=generator).tolist()
    cut = int(len(full) * 0.8)
    train = DataLoader(Subset(full, order[:cut]), batch_size=args.batch, shuffle=True,
                       num_workers=args.workers)
    val = DataLoader(Subset(full, order[cut:]), batch_size=args.batch, num_workers=args.workers)

    model = torchvision.models.resnet18()
    model.load_state_dict(torch.load(args.weights))
    for p in model.parameters():
        p.requires_grad = False
    model.fc = torch.nn.Linear(model.fc.in_features, len(full.classes))
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        model.train()
        for x, y in train:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in val:
                correct += (model(x).argmax(1) == y).sum().item()
        print(f"epoch {epoch + 1}: val acc {correct / (len(full) - cut):.3f}, "
              f"{time.perf_counter() - started:.1f} s", flush=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: folder to result "
          f"{time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
