"""Training throughput of every model the specs define, against this machine's measured peak.

For each model: training images/s at its notebook's batch size (Adam step, the layout `helpers.fit` uses:
channels-last for CNNs), training FLOPs per image counted by torch.utils.flop_counter (forward + backward), achieved
GFLOP/s and the fraction of the float32 peak measured in the same run (best of torch and NumPy matrix multiply and a
large channels-last convolution). Also the NumPy network of hand-in 1 against the same network in PyTorch.
Run: .venv/bin/python benchmarks/throughput.py  (writes nothing; paste the table into benchmarks/README.md)
"""
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in ("", "notebooks/handin1_numpy_mlp", "notebooks/handin2_pytorch_cnn", "notebooks/hw1_mlp_cifar10",
               "notebooks/a3_cnn_catdog"):
    sys.path.insert(0, str(ROOT / folder))
import helpers  # noqa: E402  (first: it picks OpenBLAS's AVX-512 kernels before NumPy loads)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402
import numpy_mlp  # noqa: E402
from catdog import myCNN, myResNet  # noqa: E402
from cnn_models import MLP as H2MLP, ResCNN, SpecCNN  # noqa: E402
from hw1_models import CNN_B, CNN_C, MLP, SimpleCNN  # noqa: E402

MODELS = [  # name, constructor, input shape, batch size, loss
    ("handin2 SpecCNN", SpecCNN, (1, 28, 28), 64, "ce"),
    ("handin2 ResCNN (13 conv)", lambda: ResCNN(8, 2), (1, 28, 28), 64, "ce"),
    ("handin2 ResCNN + BN", lambda: ResCNN(8, 2, batchnorm=True), (1, 28, 28), 64, "ce"),
    ("hw1 MLP 784-128-64-10", lambda: MLP([784, 128, 64, 10]), (1, 28, 28), 64, "ce"),
    ("hw1 SimpleCNN (CNN_A)", SimpleCNN, (3, 32, 32), 64, "ce"),
    ("hw1 CNN_B", CNN_B, (3, 32, 32), 64, "ce"),
    ("hw1 CNN_C", CNN_C, (3, 32, 32), 64, "ce"),
    ("a3 myCNN", myCNN, (3, 32, 32), 100, "bce"),
    ("a3 myResNet", myResNet, (3, 32, 32), 100, "bce"),
]


def best_seconds(fn, repeats=5):
    """Best wall time of several calls of fn (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peaks():
    """Measured peak GFLOP/s: float32 (torch mm, NumPy matmul, a large channels-last conv) and bfloat16 (torch mm)."""
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = {"torch float32 matmul 2048²": 2 * n ** 3 / best_seconds(lambda: a @ b) / 1e9}
    an, bn = a.numpy(), b.numpy()
    out["NumPy float32 matmul 2048²"] = 2 * n ** 3 / best_seconds(lambda: an @ bn) / 1e9
    conv = torch.nn.Conv2d(128, 128, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.randn(64, 128, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        out["conv 3x3 128->128 channels-last float32"] = 2 * 64 * 128 * 128 * 9 * 32 * 32 / best_seconds(lambda: conv(x)) / 1e9
    ab, bb = a.bfloat16(), b.bfloat16()
    out["torch bfloat16 matmul 2048²"] = 2 * n ** 3 / best_seconds(lambda: ab @ bb) / 1e9
    return out


def train_step_factory(model, shape, batch, loss):
    """A function doing one Adam training step on a fixed random batch, in fit's memory layout."""
    fmt = helpers._memory_format(model)
    model.to(memory_format=fmt).train()
    x = torch.randn(batch, *shape).contiguous(memory_format=fmt) if len(shape) == 3 else torch.randn(batch, *shape)
    y = torch.randint(0, 2 if loss == "bce" else 10, (batch,))
    opt = torch.optim.Adam(model.parameters(), 1e-3)

    def step():
        value, _ = helpers._loss_and_correct(model(x), y, loss)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
    return step


def training_flops(model, shape, loss):
    """FLOPs of one training step (forward + backward) per image."""
    step = train_step_factory(model, shape, 8, loss)
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops() / 8


def main():
    """Measure and print the table."""
    torch.manual_seed(0)
    print(f"{helpers.hardware()}, torch {torch.__version__}, numpy {np.__version__}")
    peak = peaks()
    for name, value in peak.items():
        print(f"peak {name}: {value:.0f} GFLOP/s")
    fp32_peak = max(v for k, v in peak.items() if "float32" in k)
    print(f"\n| model | batch | train FLOPs/image | images/s | GFLOP/s | % of float32 peak ({fp32_peak:.0f}) |")
    print("|---|---|---|---|---|---|")
    for name, make, shape, batch, loss in MODELS:
        flops = training_flops(make(), shape, loss)
        step = train_step_factory(make(), shape, batch, loss)
        steps = 20
        seconds = best_seconds(lambda: [step() for _ in range(steps)], repeats=3)
        ips = steps * batch / seconds
        print(f"| {name} | {batch} | {flops / 1e6:.1f} M | {ips:,.0f} | {flops * ips / 1e9:.0f} | "
              f"{100 * flops * ips / 1e9 / fp32_peak:.0f} % |", flush=True)
    layers = [784, 512, 256, 128, 10]
    x = np.random.rand(60000, 784).astype(np.float32)
    y = np.random.randint(0, 10, 60000)
    _, hist = numpy_mlp.train_model(x, y, layers, 938, 0.1, 64, k=938)
    model = H2MLP(layers)
    step = train_step_factory(model, (784,), 64, "ce")
    torch_epoch = best_seconds(lambda: [step() for _ in range(100)], repeats=2) * 938 / 100
    print(f"\nhand-in 1 network {layers}, one epoch of batch 64: NumPy {hist['seconds']:.2f} s, "
          f"PyTorch {torch_epoch:.2f} s (SGD vs Adam step; ratio {torch_epoch / hist['seconds']:.1f}x)")


if __name__ == "__main__":
    main()
