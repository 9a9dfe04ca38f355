"""Float32 against mixed precision (bfloat16 autocast on this CPU) for every convolutional recipe of the CIFAR notebooks.

Each recipe is trained as its notebook trains it (same data, model, seed, epochs, batch size, optimizer and
augmentation), once with `helpers.fit(precision="float32")` and once with `precision="mixed"`; the table gives final
and best test accuracy and the training time of both. "Within noise" means that the two final accuracies differ by
less than two standard errors of a difference of two accuracies measured on the same number of test images,
2·sqrt(2·p(1-p)/n); the seed-to-seed spread of the same recipe (seed 1 against seed 0) is printed beside it.
Results are appended to benchmarks/precision.json as each run ends, so an interrupted run keeps what it measured.
Run: .venv/bin/python benchmarks/precision.py [name-substring ...]
"""
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in ("", "notebooks/hw1_mlp_cifar10", "notebooks/a3_cnn_catdog"):
    sys.path.insert(0, str(ROOT / folder))
import helpers  # noqa: E402
import torch  # noqa: E402
import catdog  # noqa: E402
from hw1_models import CNN_B, CNN_C, SimpleCNN, load_cifar10_normalized, resnet18_for_cifar  # noqa: E402

OUT = ROOT / "benchmarks" / "precision.json"
RECIPES = [  # name, data set, model constructor, fit options (as in the notebook), seeds
    ("a3 myCNN (q2)", "catdog", catdog.myCNN, dict(epochs=20, batch_size=100, loss="bce", lr=1e-3), (0, 1)),
    ("a3 myResNet (q3)", "catdog", catdog.myResNet, dict(epochs=20, batch_size=100, loss="bce", lr=1e-3), (0,)),
    ("hw1 SimpleCNN (3A)", "cifar", SimpleCNN, dict(epochs=20, batch_size=64, lr=1e-3), (0, 1)),
    ("hw1 CNN_B (3B)", "cifar", CNN_B, dict(epochs=8, batch_size=64, lr=1e-3), (0,)),
    ("hw1 ResNet18 random init (bonus)", "cifar", lambda: resnet18_for_cifar(pretrained=False)[0],
     dict(epochs=5, batch_size=128, lr=1e-3, augment=helpers.flip_and_crop), (0,)),
    ("hw1 CNN_C (3B)", "cifar", CNN_C, dict(epochs=8, batch_size=64, lr=1e-3), (0,)),
]
COMPILED = ("hw1 CNN_C (3B)",)  # the one model whose compile pays back within its run (benchmarks/throughput.py)


def load(name):
    """The notebooks' data: cat/dog (train, test, no validation) or CIFAR-10 with a 5,000-image validation split."""
    if name == "catdog":
        train, test, _, _ = catdog.load_catdog()
        return train, None, test
    train, val, test, _, _ = load_cifar10_normalized(n_val=5000, seed=0)
    return train, val, test


def run(make, data, options, seed, setup):
    """One training run as the notebook does it ('float32', 'mixed' or 'mixed+compile'); the numbers compared."""
    train, val, test = data
    options = dict(options)
    lr = options.pop("lr")
    helpers.seed_everything(seed)
    model = make()
    h = helpers.fit(model, train, test, val=val, seed=seed, progress=False, precision=setup.split("+")[0],
                    compile=setup.endswith("compile"), optimizer=torch.optim.Adam(model.parameters(), lr=lr),
                    **options)
    return dict(final_test_accuracy=h["test_accuracy"][-1], best_test_accuracy=max(h["test_accuracy"]),
                train_seconds=sum(h["epoch_seconds"]), seconds=h["run"]["seconds"], precision=h["run"]["precision"],
                n_test=len(test[1]))


def noise(p_percent, n):
    """Two standard errors of the difference of two accuracies (percent) on n test images each."""
    p = p_percent / 100
    return 200 * math.sqrt(2 * p * (1 - p) / n)


def table(results):
    """Markdown table of the comparison from the stored results."""
    rows = ["| recipe | seed | float32 final (best) | mixed final (best) | Δ final | 2 SE | within noise | "
            "float32 train s | mixed train s | speed-up |", "|---" * 10 + "|"]
    pairs = [(r, r.get("mixed"), "") for r in results.values()]
    pairs += [(r, r["mixed+compile"], " + torch.compile") for r in results.values() if "mixed+compile" in r]
    for r, m, label in pairs:
        if "float32" not in r or m is None:
            continue
        f = r["float32"]
        delta, two_se = m["final_test_accuracy"] - f["final_test_accuracy"], noise(f["final_test_accuracy"], f["n_test"])
        rows.append(f"| {r['recipe']}{label} | {r['seed']} | {f['final_test_accuracy']:.2f} ({f['best_test_accuracy']:.2f}) | "
                    f"{m['final_test_accuracy']:.2f} ({m['best_test_accuracy']:.2f}) | {delta:+.2f} | {two_se:.2f} | "
                    f"{'yes' if abs(delta) <= two_se else 'NO'} | {f['train_seconds']:.0f} | {m['train_seconds']:.0f} | "
                    f"{f['train_seconds'] / m['train_seconds']:.2f}× |")
    return "\n".join(rows)


def main(selection):
    """Run the selected recipes (all by default), both precisions, and print the table."""
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    print(f"{helpers.hardware()}, torch {torch.__version__}; mixed = "
          f"{helpers.precision_label(helpers.autocast_dtype('mixed', helpers.get_device()))}", flush=True)
    cache = {}
    for name, data_name, make, options, seeds in RECIPES:
        if selection and not any(s.lower() in name.lower() for s in selection):
            continue
        if data_name not in cache:
            cache[data_name] = load(data_name)
        for seed in seeds:
            key = f"{name} / seed {seed}"
            for precision in ("float32", "mixed", "mixed+compile") if name in COMPILED else ("float32", "mixed"):
                r = run(make, cache[data_name], options, seed, precision)
                results.setdefault(key, {"recipe": name, "seed": seed})[precision] = r
                OUT.write_text(json.dumps(results, indent=1))
                print(f"{key} {precision}: final {r['final_test_accuracy']:.2f}%, best {r['best_test_accuracy']:.2f}%,"
                      f" train {r['train_seconds']:.0f} s", flush=True)
    print(table(results))


if __name__ == "__main__":
    main(sys.argv[1:])
