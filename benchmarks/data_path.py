"""How much does the data path cost? One epoch of the MNIST MLP (784-128-64-10, batch 64, Adam 1e-3), four ways.

(a) torchvision DataLoader + ToTensor feeding a bare loop, (b) helpers' in-memory tensor batches feeding the same loop,
(c) the same number of steps on one fixed batch (pure compute), (d) helpers.fit for one epoch, evaluation excluded.
Run: DATA_ROOT=../shared/data .venv/bin/python benchmarks/data_path.py
"""
import sys
import time
from pathlib import Path

import torch
import torchvision
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import helpers  # noqa: E402

BATCH = 64
REPEATS = 3


def mlp():
    """The benchmark network, always from the same seed."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def bare_loop(batch_source):
    """Train one pass over `batch_source` with a minimal loop; returns seconds."""
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    start = time.perf_counter()
    for xb, yb in batch_source:
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def main():
    """Time the four variants in one run and print the ratios."""
    x_train, y_train, x_test, y_test = helpers.load_mnist()
    steps = -(-len(x_train) // BATCH)
    root, _ = helpers.data_root()
    dataset = torchvision.datasets.MNIST(root, train=True, download=False, transform=torchvision.transforms.ToTensor())
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True)
    bare_loop(helpers.batches(x_train[:6400], y_train[:6400], BATCH, torch.Generator().manual_seed(0)))  # warm-up
    runs = {"a": [bare_loop(loader)], "b": [], "c": [], "d": []}
    for _ in range(REPEATS):  # interleaved repeats, best of each: the machine is noisy
        runs["b"].append(bare_loop(helpers.batches(x_train, y_train, BATCH, torch.Generator().manual_seed(0))))
        runs["c"].append(bare_loop([(x_train[:BATCH], y_train[:BATCH])] * steps))
        model = mlp()
        history = helpers.fit(model, (x_train, y_train), (x_test, y_test), epochs=1, batch_size=BATCH, seed=0,
                              optimizer=torch.optim.Adam(model.parameters(), 1e-3), progress=False)
        runs["d"].append(history["epoch_seconds"][0])
    times = {key: min(values) for key, values in runs.items()}
    print(f"{helpers.hardware()}, torch {torch.__version__}, {steps} steps of batch {BATCH}, best of {REPEATS}")
    labels = {"a": "DataLoader + ToTensor", "b": "helpers tensor batches", "c": "fixed batch (pure compute)",
              "d": "helpers.fit, training part"}
    for key, label in labels.items():
        print(f"({key}) {label:28s} {times[key]:7.2f} s")
    print(f"speedup of (b) over (a): {times['a'] / times['b']:.1f}x")
    print(f"data-path overhead (b) over (c): {100 * (times['b'] / times['c'] - 1):+.1f}%")
    print(f"fit overhead (d) over (c): {100 * (times['d'] / times['c'] - 1):+.1f}%")


if __name__ == "__main__":
    main()
