"""Adam as PyTorch runs it by default (foreach) against the fused Adam kernel, one training step at a time.

Fused Adam is the same update rule (the same algorithm and hyper-parameters; only the rounding of the last bits
differs), computed in one kernel per parameter group instead of a few multi-tensor passes. For each Adam recipe of
the notebooks: training images/s of `helpers.train_step` on a fixed random batch at the notebook's batch size and
precision, the two optimizers alternating, best of 5 runs of 40 steps each.
Run: .venv/bin/python benchmarks/optimizer.py   (prints a markdown table for benchmarks/README.md)
"""
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in ("", "notebooks/handin2_pytorch_cnn", "notebooks/hw1_mlp_cifar10", "notebooks/a3_cnn_catdog",
               "notebooks/a3_feedforward"):
    sys.path.insert(0, str(ROOT / folder))
import helpers  # noqa: E402
import torch  # noqa: E402
from catdog import myCNN  # noqa: E402
from cnn_models import ResCNN, SpecCNN  # noqa: E402
from ffnet import TwoLayerNet  # noqa: E402
from hw1_models import MLP, SimpleCNN  # noqa: E402

MODELS = [  # name, constructor, input shape, batch size, loss, precision
    ("a3 TwoLayerNet 784-1024-10", TwoLayerNet, (1, 28, 28), 128, "ce", "float32"),
    ("hw1 MLP 784-128-64-10", lambda: MLP([784, 128, 64, 10]), (1, 28, 28), 64, "ce", "float32"),
    ("handin2 SpecCNN", SpecCNN, (1, 28, 28), 64, "ce", "float32"),
    ("handin2 ResCNN (13 conv)", lambda: ResCNN(8, 2), (1, 28, 28), 64, "ce", "float32"),
    ("hw1 SimpleCNN", SimpleCNN, (3, 32, 32), 64, "ce", "mixed"),
    ("a3 myCNN", myCNN, (3, 32, 32), 100, "bce", "mixed"),
]
STEPS, REPEATS = 40, 5


def step_function(make, shape, batch, loss, precision, fused):
    """One Adam (lr 1e-3) training step on a fixed random batch, as `helpers.fit` does it."""
    torch.manual_seed(0)
    model = make()
    device = helpers.get_device()
    memory_format = helpers._memory_format(model)
    model.to(device, memory_format=memory_format).train()
    x = helpers._prepare(torch.randn(batch, *shape, device=device), memory_format)
    y = torch.randint(0, 2 if loss == "bce" else 10, (batch,), device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)
    return lambda: helpers.train_step(model, x, y, optimizer, loss, precision)


def main():
    """Print the table: images/s with foreach and fused Adam, and the speed-up."""
    print(f"Machine: {helpers.hardware()}, torch {torch.__version__}\n")
    print("| model | batch | precision | img/s Adam (foreach) | img/s Adam (fused) | speed-up |")
    print("|---|---|---|---|---|---|")
    for name, make, shape, batch, loss, precision in MODELS:
        steps = {fused: step_function(make, shape, batch, loss, precision, fused) for fused in (False, True)}
        best = {False: float("inf"), True: float("inf")}
        for fused in (False, True):
            [steps[fused]() for _ in range(5)]  # warm-up
        for _ in range(REPEATS):
            for fused in (False, True):  # alternate, so background load hits both alike
                start = time.perf_counter()
                for _ in range(STEPS):
                    steps[fused]()
                best[fused] = min(best[fused], time.perf_counter() - start)
        rate = {k: STEPS * batch / v for k, v in best.items()}
        print(f"| {name} | {batch} | {helpers.precision_label(helpers.autocast_dtype(precision, helpers.get_device()))}"
              f" | {rate[False]:,.0f} | {rate[True]:,.0f} | {rate[True] / rate[False]:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
