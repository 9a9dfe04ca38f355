"""One epoch (training + test evaluation) of the hw1 MLP and SimpleCNN: the hw1 spec author's loop against `fit`.

The spec author's loop, as printed in the hw1 spec: a torchvision dataset with ToTensor + Normalize(0.5, 0.5),
DataLoader(batch 128, shuffle=True), `train_epoch` (zero_grad, forward, loss, backward, step, `loss.item()` per
batch) and `test` (a no-grad pass over a DataLoader of the test set), Adam 1e-3, float32.
Ours, as the notebooks run: tensors loaded once, `helpers.fit` for one epoch with the test set evaluated, batch 128,
Adam 1e-3 (fused for the MLP, as p1a/p2a run it), bfloat16 autocast for SimpleCNN (`precision="mixed"`, as 3A runs
it, where the CPU has native bfloat16). Each side runs REPEATS times, interleaved, after one warm-up epoch on a
slice; the best time of each is kept. Run: DATA_ROOT=../shared/data .venv/bin/python benchmarks/spec_loop.py
"""
import sys
import time
from pathlib import Path

import torch
import torchvision
from torch import nn, optim

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "notebooks" / "hw1_mlp_cifar10"))
import helpers  # noqa: E402
from hw1_models import MLP, SimpleCNN  # noqa: E402

BATCH, REPEATS = 128, 3
TRANSFORMS = {"MNIST": ((0.5,), (0.5,)), "CIFAR10": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))}


def spec_train_epoch(model, loader, optimizer, loss_fn):
    """The spec's train_epoch: mean training loss over the loader's batches."""
    model.train()
    total_loss = 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    return total_loss / len(loader)


def spec_test(model, loader):
    """The spec's test: accuracy (fraction) over the loader."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(dim=1) == y).sum().item()
            total += y.size(0)
    return correct / total


def spec_loaders(name):
    """The spec author's train and test DataLoaders for MNIST or CIFAR10 (ToTensor + Normalize 0.5)."""
    transform = torchvision.transforms.Compose([torchvision.transforms.ToTensor(),
                                                torchvision.transforms.Normalize(*TRANSFORMS[name])])
    if name == "MNIST":
        root, _ = helpers.data_root()
        train, test = (torchvision.datasets.MNIST(root, train=t, download=False, transform=transform) for t in (1, 0))
    else:
        train, test = (helpers.cifar10_dataset(t, transform=transform) for t in (True, False))
    return (torch.utils.data.DataLoader(train, batch_size=BATCH, shuffle=True),
            torch.utils.data.DataLoader(test, batch_size=BATCH, shuffle=False))


def spec_epoch(make, loaders):
    """Seconds of one spec-style epoch: train_epoch then test."""
    torch.manual_seed(0)
    model = make()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    start = time.perf_counter()
    spec_train_epoch(model, loaders[0], optimizer, nn.CrossEntropyLoss())
    spec_test(model, loaders[1])
    return time.perf_counter() - start


def fit_epoch(make, train, test, fused, precision):
    """Seconds of one `fit` epoch (training and test evaluation) on in-memory tensors."""
    torch.manual_seed(0)
    model = make()
    optimizer = optim.Adam(model.parameters(), lr=0.001, fused=fused)
    history = helpers.fit(model, train, test, epochs=1, optimizer=optimizer, batch_size=BATCH, seed=0,
                          progress=False, precision=precision)
    return history["run"]["seconds"]


def main():
    """Print one table row per model: the spec loop's and fit's best epoch time and the speed-up."""
    x_train, y_train, x_test, y_test = helpers.load_mnist()
    cifar = helpers.load_cifar10()[:4]
    cases = [("hw1 MLP 784-128-64-10 (MNIST)", lambda: MLP([784, 128, 64, 10], "relu"), "MNIST",
              (x_train, y_train), (x_test, y_test), True, "float32"),
             ("SimpleCNN (CIFAR-10)", SimpleCNN, "CIFAR10", cifar[:2], cifar[2:], False, "mixed")]
    print(f"Machine: {helpers.hardware()}, torch {torch.__version__}; one epoch = training + test evaluation, "
          f"batch {BATCH}, best of {REPEATS}\n")
    print("| model | spec author's loop (s) | `fit` (s) | precision of `fit` | speed-up |\n|---|---|---|---|---|")
    for label, make, name, train, test, fused, precision in cases:
        loaders = spec_loaders(name)
        fit_epoch(make, (train[0][:2560], train[1][:2560]), (test[0][:512], test[1][:512]), fused, precision)  # warm-up
        spec, ours = [], []
        for _ in range(REPEATS):
            spec.append(spec_epoch(make, loaders))
            ours.append(fit_epoch(make, train, test, fused, precision))
        used = helpers.precision_label(helpers.autocast_dtype(precision, helpers.get_device()))
        print(f"| {label} | {min(spec):.2f} | {min(ours):.2f} | {used} | {min(spec) / min(ours):.1f}× |", flush=True)


if __name__ == "__main__":
    main()
