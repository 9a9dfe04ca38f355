"""Training throughput of every model the specs define, against this machine's measured peak, one change at a time.

For each model: training images/s at its notebook's batch size (one Adam step on a fixed batch, repeated), in four
set-ups, each adding one change to the one before: (1) the default contiguous layout in float32, (2) channels-last
(what `helpers.fit` did for every conv net), (3) the layout `helpers.fit` now picks (channels-last, except narrow
batch norm on a CPU) + bfloat16 autocast (`fit(precision="mixed")`), (4) + `torch.compile`
(`fit(compile=True)`, with its one-off compile time). Training FLOPs per image are counted by
torch.utils.flop_counter (forward + backward); achieved GFLOP/s is compared with the float32 and bfloat16 peaks
measured in the same run (best of torch and NumPy matrix multiply and a large channels-last convolution). Then the
training-loop details (a host sync per batch, evaluation batch size, thread count) and the NumPy network of hand-in 1
against the same network in PyTorch.
Run: .venv/bin/python benchmarks/throughput.py [--quick]  (prints markdown; paste it into benchmarks/README.md)
"""
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TORCHINDUCTOR_FORCE_DISABLE_CACHES", "1")  # compile times as a fresh machine sees them

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
from hw1_models import CNN_B, CNN_C, MLP, SimpleCNN, resnet18_for_cifar  # noqa: E402

MODELS = [  # name, constructor, input shape, batch size, loss, training steps in its notebook's full run
    ("handin2 SpecCNN", SpecCNN, (1, 28, 28), 64, "ce", 15 * 938),
    ("handin2 ResCNN (13 conv)", lambda: ResCNN(8, 2), (1, 28, 28), 64, "ce", 8 * 938),
    ("handin2 ResCNN + BN", lambda: ResCNN(8, 2, batchnorm=True), (1, 28, 28), 64, "ce", 8 * 938),
    ("hw1 MLP 784-128-64-10", lambda: MLP([784, 128, 64, 10]), (1, 28, 28), 64, "ce", 10 * 938),
    ("hw1 SimpleCNN (CNN_A)", SimpleCNN, (3, 32, 32), 64, "ce", 20 * 704),
    ("hw1 CNN_B", CNN_B, (3, 32, 32), 64, "ce", 8 * 704),
    ("hw1 CNN_C", CNN_C, (3, 32, 32), 64, "ce", 8 * 704),
    ("hw1 ResNet18 (bonus)", lambda: resnet18_for_cifar(pretrained=False)[0], (3, 32, 32), 128, "ce", 5 * 352),
    ("a3 myCNN", myCNN, (3, 32, 32), 100, "bce", 20 * 100),
    ("a3 myResNet", myResNet, (3, 32, 32), 100, "bce", 20 * 100),
]
SETUPS = [  # label, memory format, precision, compile
    ("contiguous fp32", torch.contiguous_format, "float32", False),
    ("channels-last fp32", torch.channels_last, "float32", False),
    ("fit's layout + bf16 autocast", None, "mixed", False),  # None: helpers._memory_format decides
    ("+ torch.compile", None, "mixed", True),
]
STEPS, REPEATS = 20, 3


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
    """Measured peak GFLOP/s in float32 (torch mm, NumPy matmul, channels-last conv) and bfloat16 (torch mm, conv)."""
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    an, bn = a.numpy(), b.numpy()
    ab, bb = a.bfloat16(), b.bfloat16()
    conv = torch.nn.Conv2d(128, 128, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.randn(64, 128, 32, 32).contiguous(memory_format=torch.channels_last)
    conv_flops = 2 * 64 * 128 * 128 * 9 * 32 * 32
    out = {"float32": {}, "bfloat16": {}}
    with torch.no_grad():
        out["float32"]["torch matmul 2048²"] = 2 * n ** 3 / best_seconds(lambda: a @ b) / 1e9
        out["float32"]["NumPy matmul 2048²"] = 2 * n ** 3 / best_seconds(lambda: an @ bn) / 1e9
        out["float32"]["conv 3×3 128→128 channels-last"] = conv_flops / best_seconds(lambda: conv(x)) / 1e9
        out["bfloat16"]["torch matmul 2048²"] = 2 * n ** 3 / best_seconds(lambda: ab @ bb) / 1e9
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out["bfloat16"]["conv 3×3 128→128 channels-last"] = conv_flops / best_seconds(lambda: conv(x)) / 1e9
    return out


def train_step_factory(model, shape, batch, loss, memory_format=None, precision="float32", compile=False):
    """A function doing one Adam training step on a fixed random batch with `helpers.train_step`, as `fit` does."""
    device = helpers.get_device()
    memory_format = helpers._memory_format(model) if memory_format is None else memory_format
    model.to(device, memory_format=memory_format).train()
    run_model = torch.compile(model) if compile else model
    x = helpers._prepare(torch.randn(batch, *shape, device=device), memory_format)
    y = torch.randint(0, 2 if loss == "bce" else 10, (batch,), device=device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    return lambda: helpers.train_step(run_model, x, y, opt, loss, precision)[0]


def training_flops(model, shape, loss):
    """FLOPs of one training step (forward + backward) per image."""
    step = train_step_factory(model, shape, 8, loss)
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops() / 8


def images_per_second(step, batch):
    """Training images/s of `step`: best of REPEATS runs of STEPS steps (one warm-up run first)."""
    return STEPS * batch / best_seconds(lambda: [step() for _ in range(STEPS)], repeats=REPEATS)


def compile_seconds(make, shape, batch, loss):
    """A compiled training step (caches reset) and the wall time of its first call, which includes the compile."""
    torch._dynamo.reset()
    step = train_step_factory(make(), shape, batch, loss, None, "mixed", compile=True)
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    return step, first


def model_table(peak, models, with_compile):
    """Images/s per model and set-up, FLOPs, and the best set-up's fraction of the matching peak."""
    fp32_peak, bf16_peak = max(peak["float32"].values()), max(peak["bfloat16"].values())
    setups = SETUPS if with_compile else SETUPS[:3]
    head = " | ".join(f"img/s {label}" for label, *_ in setups)
    print(f"\n| model | batch | train FLOPs/image | {head} | best GFLOP/s | % of fp32 peak | % of bf16 peak |"
          + (" compile s | pays back after |" if with_compile else ""))
    print("|---" * (6 + len(setups) + 2 * with_compile) + "|")
    rows = []
    for name, make, shape, batch, loss, run_steps in models:
        torch.manual_seed(0)
        flops = training_flops(make(), shape, loss)
        ips = {}
        for label, fmt, precision, comp in setups:
            if comp:
                step, first = compile_seconds(make, shape, batch, loss)
            else:
                step = train_step_factory(make(), shape, batch, loss, fmt, precision)
            ips[label] = images_per_second(step, batch)
        best = max(ips, key=ips.get)
        achieved = flops * ips[best] / 1e9
        cells = " | ".join(f"{ips[label]:,.0f}" for label, *_ in setups)
        line = (f"| {name} | {batch} | {flops / 1e6:.1f} M | {cells} | {achieved:.0f} ({best}) | "
                f"{100 * achieved / fp32_peak:.0f} % | {100 * achieved / bf16_peak:.0f} % |")
        if with_compile:
            saved = batch / ips[SETUPS[2][0]] - batch / ips["+ torch.compile"]
            compile_s = first - batch / ips["+ torch.compile"]
            payback = f"{compile_s / saved:,.0f} steps (run: {run_steps:,})" if saved > 0 else "never (slower)"
            line += f" {compile_s:.0f} | {payback} |"
        print(line, flush=True)
        rows.append((name, flops, ips))
    return rows


def loop_details():
    """Before/after of the training-loop details, on hw1's SimpleCNN (channels-last, float32)."""
    print("\n| change (SimpleCNN, batch 64, 20 steps) | before | after | ratio |\n|---|---|---|---|")
    step = train_step_factory(SimpleCNN(), (3, 32, 32), 64, "ce")
    synced = images_per_second(lambda: step().item(), 64)
    unsynced = images_per_second(step, 64)
    print(f"| loss.item() every step → one sync per epoch (img/s) | {synced:,.0f} | {unsynced:,.0f} | "
          f"{unsynced / synced:.2f}× |")
    model = SimpleCNN().to(memory_format=torch.channels_last)
    x, y = torch.randn(10000, 3, 32, 32), torch.randint(0, 10, (10000,))
    large = best_seconds(lambda: helpers.evaluate(model, x, y, batch_size=2000), repeats=2)
    cached = best_seconds(lambda: helpers.evaluate(model, x, y, batch_size=128), repeats=2)
    print(f"| evaluation of 10,000 test images, batch 2,000 → 128 (s) | {large:.2f} | {cached:.2f} | "
          f"{large / cached:.2f}× |")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    one = images_per_second(step, 64)
    torch.set_num_threads(threads)
    print(f"| threads 1 → {threads} (torch's default: one per physical core) (img/s) | {one:,.0f} | {unsynced:,.0f} | "
          f"{unsynced / one:.2f}× |")


def numpy_vs_torch():
    """Hand-in 1's network for one epoch of batch 64: the NumPy implementation against PyTorch (fp32 and bf16)."""
    layers = [784, 512, 256, 128, 10]
    x = np.random.rand(60000, 784).astype(np.float32)
    y = np.random.randint(0, 10, 60000)
    _, hist = numpy_mlp.train_model(x, y, layers, 938, 0.1, 64, k=938)
    torch_epoch = {}
    for precision in ("float32", "mixed"):
        step = train_step_factory(H2MLP(layers), (784,), 64, "ce", precision=precision)
        torch_epoch[precision] = best_seconds(lambda: [step() for _ in range(100)], repeats=2) * 938 / 100
    print(f"\nHand-in 1 network {layers}, one epoch of batch 64: NumPy {hist['seconds']:.2f} s, PyTorch float32 "
          f"{torch_epoch['float32']:.2f} s ({torch_epoch['float32'] / hist['seconds']:.1f}× slower), PyTorch bf16 "
          f"autocast {torch_epoch['mixed']:.2f} s")


def main():
    """Measure and print the tables (markdown)."""
    quick = "--quick" in sys.argv
    torch.manual_seed(0)
    print(f"{helpers.hardware()}, torch {torch.__version__}, numpy {np.__version__}")
    peak = peaks()
    for kind, values in peak.items():
        print(f"Peak {kind}: " + "; ".join(f"{k} {v:.0f} GFLOP/s" for k, v in values.items()))
    model_table(peak, MODELS[:2] if quick else MODELS, with_compile="--no-compile" not in sys.argv)
    loop_details()
    numpy_vs_torch()


if __name__ == "__main__":
    main()
