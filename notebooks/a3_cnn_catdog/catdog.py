"""A3 cat-vs-dog: the torchvision dataset route, class_extract, the tensor route, the models myCNN and myResNet, the
training recipe questions 2 and 3 share (every network trained once per seed of SEEDS), and the tables and verdicts
that compare the networks by their means over the seeds.

Both models end in one output unit. They return its *logit*; the sigmoid of the spec's last layer is applied inside
the loss by binary_cross_entropy_with_logits (the numerically stable form of sigmoid + BCE, identical in value) and
by `helpers.predict_probabilities(..., loss="bce")`.
"""
import torch
from torch import nn
from torch.utils.data import Subset

import helpers

CLASSES = ["cat", "dog"]  # label 0 = cat, label 1 = dog in the tensor route
LEARNING_RATE, BATCH_SIZE, EPOCHS = 1e-3, 100, helpers.pick(20, 1)  # the spec's recipe (1 epoch in smoke mode)
PRECISION = "mixed"  # bfloat16 autocast on this CPU: same accuracy within noise, faster (benchmarks/README.md)
SEEDS = list(range(helpers.pick(3, 2)))  # one run takes about a minute on 2 CPU cores: three seeds per network


def cifar10_datasets(transform):
    """The CIFAR-10 training and test sets as torchvision datasets (offline copy under DATA_ROOT, else download)."""
    return helpers.cifar10_dataset(True, transform), helpers.cifar10_dataset(False, transform)


def class_extract(cls_list, dataset):
    """The Subset of `dataset` whose labels are in `cls_list` (original labels kept, original order)."""
    wanted = set(cls_list)
    return Subset(dataset, [i for i, label in enumerate(dataset.targets) if label in wanted])


def load_catdog():
    """Cat/dog tensors standardized with the training subset's channel statistics: (x, y) train, (x, y) test, mean, std."""
    x_train, y_train, x_test, y_test, names = helpers.load_cifar10(classes=CLASSES)
    mean, std = helpers.channel_stats(x_train)  # of the whole training subset, also in smoke mode
    x_train, y_train = helpers.shrink(1000, x_train, y_train)
    x_test, y_test = helpers.shrink(400, x_test, y_test)
    return (helpers.normalize(x_train, mean, std), y_train), (helpers.normalize(x_test, mean, std), y_test), mean, std


class myCNN(nn.Module):
    """The plain CNN: conv 32, conv 32, max-pool, conv 64, conv 64, max-pool (3x3, no padding, ReLU), FC 128, FC 1.

    regularized=True adds, at convolutional layers 1 and 4 and fully connected layer 7, dropout (p=0.4) before the
    linear operation and batch normalization after the activation, as the spec places them.
    """

    def __init__(self, regularized=False, p=0.4):
        super().__init__()

        def layer(linear, drop, bn):
            parts = ([drop] if regularized else []) + [linear, nn.ReLU()]
            return nn.Sequential(*parts, *([bn] if regularized else []))
        self.conv1 = layer(nn.Conv2d(3, 32, 3), nn.Dropout2d(p), nn.BatchNorm2d(32))    # 32 x 30 x 30
        self.conv2 = nn.Sequential(nn.Conv2d(32, 32, 3), nn.ReLU())                      # 32 x 28 x 28
        self.pool3 = nn.MaxPool2d(2, 2)                                                   # 32 x 14 x 14
        self.conv4 = layer(nn.Conv2d(32, 64, 3), nn.Dropout2d(p), nn.BatchNorm2d(64))   # 64 x 12 x 12
        self.conv5 = nn.Sequential(nn.Conv2d(64, 64, 3), nn.ReLU())                      # 64 x 10 x 10
        self.pool6 = nn.MaxPool2d(2, 2)                                                   # 64 x 5 x 5
        self.fc7 = layer(nn.Linear(64 * 5 * 5, 128), nn.Dropout(p), nn.BatchNorm1d(128))
        self.fc8 = nn.Linear(128, 1)                                                      # logit of p(dog)

    def forward(self, x):
        x = self.pool3(self.conv2(self.conv1(x)))
        x = self.pool6(self.conv5(self.conv4(x)))
        return self.fc8(self.fc7(x.flatten(1)))


class myResNet(nn.Module):
    """The CNN with a skip connection: conv 1 (3x3, no padding), a residual unit of two padded 3x3 convolutions whose
    output is added to the unit's input before the activation, max-pool, conv 5 (6x6, no padding), max-pool, FC 128,
    FC 1.

    batchnorm=True puts batch normalization after the activation of every hidden weighted layer (conv 1, 2, 3, 5 and
    FC 7; not after the output unit, whose sigmoid must stay a probability); dropout=p adds dropout before the linear
    operation of conv 1, conv 5 and FC 7.
    """

    def __init__(self, batchnorm=False, dropout=0.0):
        super().__init__()
        bn2d = (lambda c: nn.BatchNorm2d(c)) if batchnorm else (lambda c: nn.Identity())
        bn1d = (lambda c: nn.BatchNorm1d(c)) if batchnorm else (lambda c: nn.Identity())
        drop2d = nn.Dropout2d(dropout) if dropout else nn.Identity()
        self.conv1 = nn.Sequential(drop2d, nn.Conv2d(3, 32, 3), nn.ReLU(), bn2d(32))            # 32 x 30 x 30
        self.conv2 = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), bn2d(32))        # 32 x 30 x 30
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)                                            # 32 x 30 x 30
        self.after_add = nn.Sequential(nn.ReLU(), bn2d(32))
        self.pool4 = nn.MaxPool2d(2, 2)                                                          # 32 x 15 x 15
        self.conv5 = nn.Sequential(nn.Dropout2d(dropout) if dropout else nn.Identity(),
                                   nn.Conv2d(32, 64, 6), nn.ReLU(), bn2d(64))                   # 64 x 10 x 10
        self.pool6 = nn.MaxPool2d(2, 2)                                                          # 64 x 5 x 5
        self.fc7 = nn.Sequential(nn.Dropout(dropout) if dropout else nn.Identity(),
                                 nn.Linear(64 * 5 * 5, 128), nn.ReLU(), bn1d(128))
        self.fc8 = nn.Linear(128, 1)

    def forward(self, x):
        h = self.conv1(x)
        h = self.after_add(self.conv3(self.conv2(h)) + h)  # skip connection, added before the activation
        h = self.pool6(self.conv5(self.pool4(h)))
        return self.fc8(self.fc7(h.flatten(1)))


def test_risk(model, device, loss_fn, test_set):
    """The spec's `test` (Q2 item 3): the test risk (mean of `loss_fn` over the test images) and the test accuracy (%)
    of `model` on `device`, in eval mode and without gradients; `test_set` is the (x, y) pair of test tensors. The
    model returns one logit per image: 'dog' when it is above 0 (p(dog) above 1/2)."""
    x, y = test_set
    model.to(device).eval()
    risk, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), BATCH_SIZE):
            logits = model(x[start:start + BATCH_SIZE].to(device)).reshape(-1)
            labels = y[start:start + BATCH_SIZE].to(device).float()
            risk += loss_fn(logits, labels).item() * len(labels)
            correct += int(((logits > 0).float() == labels).sum())
    return risk / len(x), 100.0 * correct / len(x)


def train_model(model_class, train, test, seed, **options):
    """Build model_class(**options) from `seed` and train it by the recipe above: (model, history). The seed fixes the
    initial weights, the order of the mini-batches and the dropout masks."""
    helpers.seed_everything(seed)
    model = model_class(**options)
    history = helpers.fit(model, train, test, loss="bce", epochs=EPOCHS, batch_size=BATCH_SIZE, seed=seed,
                          precision=PRECISION, optimizer=torch.optim.Adam(model.parameters(), lr=LEARNING_RATE))
    return model, history


def train_seeds(model_class, train, test, title, figure, **options):
    """Train model_class(**options) once per seed of SEEDS and save its curves (`seed_curves_plot`) as `figure`:
    (models, histories), two lists in the order of SEEDS."""
    models, histories = [], []
    for seed in SEEDS:
        model, history = train_model(model_class, train, test, seed, **options)
        models.append(model)
        histories.append(history)
    helpers.save_figure(seed_curves_plot(title, histories), figure)
    return models, histories


def seed_curves_plot(title, histories):
    """Training and test loss and accuracy of one network per epoch: the mean over its seeds, each seed a thin line."""
    def curves(h, split):
        return {"loss": h[f"{split}_costs"], "accuracy": h[f"{split}_accuracy"]}
    mean = helpers.mean_curves(histories)
    labels = {f"{split} (mean of {len(histories)} seeds)": split for split in ("train", "test")}
    run = histories[0]["run"]
    fig = helpers.compare_runs_plot({label: curves(mean, split) for label, split in labels.items()},
                                    f"{title}; thin lines: each seed (batch {run['batch_size']}, "
                                    f"{run['device']}, {run['precision']})",
                                    left=("loss", "Loss (BCE, log scale)"), right=("accuracy", "Accuracy (%)"))
    return helpers.add_seed_lines(fig, {label: [curves(h, split) for h in histories] for label, split in labels.items()},
                                  ("loss", "accuracy"))


def recipe(history):
    """The settings of a run as recorded with its results: epochs, batch size, learning rate, device, precision."""
    return {k: v for k, v in history["run"].items() if k != "seconds"}


def precision_note(which, history):
    """The closing sentence on the precision `which` (e.g. "both runs") trained at, and what this run used."""
    return (f"*Precision:* {which} train with `helpers.fit(precision=\"{PRECISION}\")` — bfloat16 autocast where the "
            f"CPU computes bfloat16 natively, float32 elsewhere; this run used {history['run']['precision']} on "
            f"{history['run']['device']}. Its speed and accuracy against float32 are measured separately, on their own "
            "hardware, in `benchmarks/README.md`.")


def parameter_table(model):
    """Rows (layer, weights, biases, total) for every layer that has parameters, in order."""
    rows = []
    for name, module in model.named_modules():
        own = dict(module.named_parameters(recurse=False))
        if own:
            w = own["weight"].numel() if "weight" in own else 0
            b = own["bias"].numel() if "bias" in own else 0
            rows.append((f"{name} ({type(module).__name__})", w, b, w + b))
    return rows


def parameter_markdown(model):
    """The per-layer parameter table as Markdown (display it with IPython.display.Markdown)."""
    rows = parameter_table(model)
    return helpers.markdown_table(["layer", "weights", "biases", "total"],
                                  [(name, f"{w:,}", f"{b:,}", f"{t:,}") for name, w, b, t in rows]
                                  + [("**total**", "", "", f"**{sum(r[3] for r in rows):,}**")])


def run_summary(history, model):
    """The numbers of one training run (one seed) that the networks of questions 2 and 3 are compared by.

    best_test_accuracy/best_epoch pick an epoch by looking at the test set: a hindsight number, reported as such; the
    honest headline is final_test_accuracy (the last epoch)."""
    h = history
    best = max(range(len(h["test_accuracy"])), key=lambda i: h["test_accuracy"][i])
    lowest = min(range(len(h["test_costs"])), key=lambda i: h["test_costs"][i])
    return dict(parameters=helpers.count_parameters(model), final_test_accuracy=h["test_accuracy"][-1],
                best_test_accuracy=h["test_accuracy"][best], best_epoch=best + 1,
                final_train_accuracy=h["train_accuracy"][-1], gap=h["train_accuracy"][-1] - h["test_accuracy"][-1],
                min_test_loss=min(h["test_costs"]), min_test_loss_epoch=lowest + 1, final_test_loss=h["test_costs"][-1],
                seconds=h["run"]["seconds"], median_epoch_seconds=helpers.median_epoch_seconds(h),
                device=h["run"]["device"], precision=h["run"]["precision"],
                history={k: h[k] for k in ("train_costs", "test_costs", "train_accuracy", "test_accuracy")})


SEED_NUMBERS = ("final_test_accuracy", "best_test_accuracy", "best_epoch", "final_train_accuracy", "gap",
                "min_test_loss", "min_test_loss_epoch", "final_test_loss", "seconds", "median_epoch_seconds")


def seeds_summary(models, histories):
    """One network trained once per seed: for each number of `run_summary`, the mean over the seeds under its own
    key, the sample standard deviation as `<key>_sd` and the values as `<key>_per_seed`; `history`, the per-epoch mean
    curves; `per_seed`, every seed's `run_summary` (its curves included); `seeds`, the seeds."""
    per_seed = [run_summary(h, m) for h, m in zip(histories, models)]
    summary = dict(seeds=SEEDS[:len(per_seed)], parameters=per_seed[0]["parameters"], device=per_seed[0]["device"],
                   precision=per_seed[0]["precision"])
    for key in SEED_NUMBERS:
        values = [s[key] for s in per_seed]
        summary[key], summary[f"{key}_sd"] = helpers.mean_sd(values)
        summary[f"{key}_per_seed"] = values
    summary["overfits_per_seed"] = [overfit_verdict(s) == "overfits" for s in per_seed]
    return summary | dict(history=helpers.mean_curves(histories), per_seed=per_seed)


def seed_values(summary, key, epoch=None):
    """The per-seed values of `key` in a `seeds_summary`; with `epoch` (1-based), the curve `key` at that epoch."""
    if epoch is None:
        return summary[f"{key}_per_seed"]
    return [s["history"][key][epoch - 1] for s in summary["per_seed"]]


OVERFIT_FACTOR = 1.2
OVERFIT_RULE = (f"we say a run *overfits* when its final test loss is more than {OVERFIT_FACTOR:g} times the lowest "
                "test loss it reached during training; a network overfits when every one of its seeds does")


def overfit_verdict(summary, factor=OVERFIT_FACTOR):
    """One run: 'overfits' when the final test loss exceeds `factor` times its minimum over the epochs, else 'does not
    overfit'. A `seeds_summary`: 'overfits' or 'does not overfit' when all its seeds agree, else 'overfits in k of n
    seeds'."""
    if "per_seed" not in summary:
        return "overfits" if summary["final_test_loss"] > factor * summary["min_test_loss"] else "does not overfit"
    k, n = sum(summary["overfits_per_seed"]), len(summary["overfits_per_seed"])
    return "overfits" if k == n else "does not overfit" if k == 0 else f"overfits in {k} of {n} seeds"


def overfit_text(name, summary):
    """A sentence with the overfitting verdict of a network over its seeds and the per-seed numbers it rests on."""
    runs = summary["per_seed"]
    ratios = [s["final_test_loss"] / s["min_test_loss"] for s in runs]
    return (f"{name} **{overfit_verdict(summary)}**: per seed ({', '.join(map(str, summary['seeds']))}) its test loss "
            f"is lowest at epoch {' / '.join(str(s['min_test_loss_epoch']) for s in runs)} "
            f"({helpers.per_seed_text([s['min_test_loss'] for s in runs], 3)}) and ends at "
            f"{helpers.per_seed_text([s['final_test_loss'] for s in runs], 3)}, "
            f"{helpers.per_seed_text(ratios)} times that minimum")


def first_epoch_at_least(values, threshold):
    """The first (1-based) epoch whose value reaches `threshold`, or None."""
    return next((i + 1 for i, v in enumerate(values) if v >= threshold), None)


def final_accuracies(runs):
    """Per-seed final test accuracies of several `seeds_summary`s: {network: [per seed]} for `helpers.seed_ranking`."""
    return {name: s["final_test_accuracy_per_seed"] for name, s in runs.items()}


def runs_table(runs, with_parameters=False):
    """The networks (each a `seeds_summary`) as a Markdown table: final test accuracy as mean ± sd and per seed, the
    other numbers as means over the seeds, the overfitting verdict by OVERFIT_RULE."""
    seeds = next(iter(runs.values()))["seeds"]
    head = ["network"] + (["parameters"] if with_parameters else []) + [
        "final test acc, mean ± sd", f"per seed ({', '.join(map(str, seeds))})", "final train acc",
        "train − test gap", "test loss min → final", "seeds that overfit", "median epoch (s)"]
    rows = [[name] + ([f"{s['parameters']:,}"] if with_parameters else []) + [
        f"{s['final_test_accuracy']:.2f} ± {s['final_test_accuracy_sd']:.2f} %",
        helpers.per_seed_text(s["final_test_accuracy_per_seed"]), f"{s['final_train_accuracy']:.2f} %",
        f"{s['gap']:.2f}", f"{s['min_test_loss']:.3f} → {s['final_test_loss']:.3f}",
        f"{sum(s['overfits_per_seed'])} of {len(s['overfits_per_seed'])}", f"{s['median_epoch_seconds']:.2f}"]
        for name, s in runs.items()]
    return helpers.markdown_table(head, rows)
