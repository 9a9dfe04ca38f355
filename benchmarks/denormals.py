"""Epoch times with denormal floats flushed to zero (what `import helpers` sets) against IEEE denormals.

Each setting runs in a fresh process, because the flag must be set before PyTorch starts its worker threads
(`KEEP_DENORMALS=1` keeps denormals). Configurations: A3's network 784-1024-10 (batch 64, Adam, fused, as the grid of
task 4 trains it) at learning rates 1e-2 and 1e-3, and the hw1 MLP 784-128-64-10 (batch 64, Adam 1e-3, as 2C trains
it). Each trains EPOCHS epochs from seed 0 on the 50,000 training images of task 4's split; the median epoch and the
final test accuracy are printed (the accuracy should not move: only numbers below 1.2e-38 become zero).
Run: DATA_ROOT=../shared/data .venv/bin/python benchmarks/denormals.py
"""
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EPOCHS = 4
CONFIGS = [("A3 784-1024-10", 1024, 1e-2), ("A3 784-1024-10", 1024, 1e-3), ("hw1 784-128-64-10", None, 1e-3)]


def one_run(hidden, lr):
    """Train one configuration in this process; print a JSON line: median epoch seconds, final test accuracy."""
    sys.path[:0] = [str(REPO), str(REPO / "notebooks" / "a3_feedforward"), str(REPO / "notebooks" / "hw1_mlp_cifar10")]
    import helpers
    import torch
    from ffnet import load_data, train_model, validation_split
    from hw1_models import MLP

    x, y, x_test, y_test = load_data()
    x_train, y_train, _, _ = validation_split(x, y)
    if hidden:
        _, h = train_model(0, (x_train, y_train), (x_test, y_test), hidden=hidden, batch_size=64, lr=lr, epochs=EPOCHS,
                           progress=False)
    else:
        helpers.seed_everything(0)
        model = MLP([784, 128, 64, 10], "relu")
        h = helpers.fit(model, (x_train, y_train), (x_test, y_test), epochs=EPOCHS, batch_size=64, seed=0, progress=False,
                        optimizer=torch.optim.Adam(model.parameters(), lr, fused=True))
    print(json.dumps(dict(epoch=statistics.median(h["epoch_seconds"]), accuracy=h["test_accuracy"][-1])))


def main():
    """Both settings for every configuration, each in its own process; a Markdown table."""
    sys.path.insert(0, str(REPO))
    import helpers
    print(f"{helpers.hardware()}; {EPOCHS} epochs of 50,000 images, median epoch (training only)\n")
    print("| network | Adam lr | s/epoch, denormals kept | s/epoch, flushed | speed-up | test accuracy kept / flushed |")
    print("|---|---|---|---|---|---|")
    for name, hidden, lr in CONFIGS:
        out = {}
        for keep in ("1", "0"):
            env = dict(os.environ, KEEP_DENORMALS=keep)
            line = subprocess.run([sys.executable, __file__, str(hidden or 0), str(lr)], env=env, check=True,
                                  capture_output=True, text=True).stdout.strip().splitlines()[-1]
            out[keep] = json.loads(line)
        kept, flushed = out["1"], out["0"]
        print(f"| {name} | {lr:g} | {kept['epoch']:.2f} | {flushed['epoch']:.2f} | {kept['epoch'] / flushed['epoch']:.2f}x "
              f"| {kept['accuracy']:.2f} % / {flushed['accuracy']:.2f} % |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3:
        one_run(int(sys.argv[1]), float(sys.argv[2]))
    else:
        main()
