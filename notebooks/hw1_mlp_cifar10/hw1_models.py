"""Models of homework 1: the flexible MLP (problems 1-2) and the CIFAR-10 CNNs (problem 3)."""
import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class MLP(nn.Module):
    """Fully connected network of any depth: MLP([784, 128, 64, 10], "relu"); optional dropout after each hidden layer.

    The output layer returns logits; the softmax is applied inside the cross-entropy loss.
    """

    def __init__(self, layer_sizes, activation="relu", dropout=0.0):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}")
        layers = [nn.Flatten()]
        for i, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(layer_sizes) - 2:  # hidden layer
                layers.append(ACTIVATIONS[activation]())
                if dropout:
                    layers.append(nn.Dropout(dropout))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


POOLING = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}


class SimpleCNN(nn.Module):
    """Problem 3A (= CNN_A of 3B): conv 32 and conv 64 (3x3, same padding, ReLU, 2x2 pool after each), FC 128, 10.

    `pool="max"` is the spec's network; `pool="avg"` changes only the pooling (3B's max-vs-average comparison).
    """

    def __init__(self, pool="max"):
        super().__init__()
        if pool not in POOLING:
            raise ValueError(f"pool must be one of {sorted(POOLING)}, not {pool!r}")
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = POOLING[pool](2, 2)
        self.fc1 = nn.Linear(64 * 8 * 8, 128)
        self.fc2 = nn.Linear(128, 10)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.pool(self.relu(self.conv1(x)))  # 32 x 16 x 16
        x = self.pool(self.relu(self.conv2(x)))  # 64 x 8 x 8
        return self.fc2(self.relu(self.fc1(x.flatten(1))))


class CNN_B(nn.Module):
    """Deeper: conv 32, conv 32 + max-pool, conv 64 + max-pool (3x3, same padding), FC 256, 10."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * 8 * 8, 256), nn.ReLU(), nn.Linear(256, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class CNN_C(nn.Module):
    """Wider, 5x5 kernels, average pooling: conv 64 + avg-pool, conv 128 + avg-pool (5x5, padding 2), FC 128, 10."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2, 2),
            nn.Conv2d(64, 128, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2, 2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def load_cifar10_normalized(n_val=5000, seed=0):
    """CIFAR-10 standardized with the training split's per-channel statistics, with a seeded validation split.

    Returns (x_train, y_train), (x_val, y_val), (x_test, y_test), class_names, (mean, std).
    """
    import helpers
    x_all, y_all, x_test, y_test, names = helpers.load_cifar10()
    x_all, y_all = helpers.shrink(2000, x_all, y_all)
    x_test, y_test = helpers.shrink(500, x_test, y_test)
    x_train, y_train, x_val, y_val = helpers.train_val_split(x_all, y_all, helpers.pick(n_val, 200), seed)
    mean, std = helpers.channel_stats(x_train)
    x_train, x_val, x_test = (helpers.normalize(x, mean, std) for x in (x_train, x_val, x_test))
    return (x_train, y_train), (x_val, y_val), (x_test, y_test), names, (mean, std)


def load_cifar10_spec_recipe():
    """CIFAR-10 as the hw1 spec's author fed it: all 50,000 training images, inputs (x - 0.5) / 0.5 per channel.

    Returns (x_train, y_train), (x_test, y_test), class_names (smoke mode: small slices).
    """
    import helpers
    x_train, y_train, x_test, y_test, names = helpers.load_cifar10()
    x_train, y_train = helpers.shrink(2000, x_train, y_train)
    x_test, y_test = helpers.shrink(500, x_test, y_test)
    half = torch.full((3,), 0.5)
    return (helpers.normalize(x_train, half, half), y_train), (helpers.normalize(x_test, half, half), y_test), names


OVERFIT_FACTOR = 1.2  # rule of problem 3: a run overfits when its final validation loss exceeds 1.2x its lowest


def run_summary(history):
    """Final, best-validation (early-stopping, 1-based epoch) and validation-loss numbers of a `fit` run with `val`."""
    val_accuracy, val_loss, test_accuracy = history["val_accuracy"], history["val_costs"], history["test_accuracy"]
    best = max(range(len(val_accuracy)), key=val_accuracy.__getitem__)  # first epoch of the maximum, like np.argmax
    low = min(range(len(val_loss)), key=val_loss.__getitem__)
    return dict(final=test_accuracy[-1], train=history["train_accuracy"][-1], best_val=val_accuracy[best],
                epoch=best + 1, test_at_best=test_accuracy[best], low_epoch=low + 1, low_loss=val_loss[low],
                final_loss=val_loss[-1], overfits=val_loss[-1] > OVERFIT_FACTOR * val_loss[low])


RESNET18_FILE = "resnet18-f37072fd.pth"  # torchvision's ImageNet weights, ResNet18_Weights.IMAGENET1K_V1


def resnet18_for_cifar(pretrained=True):
    """torchvision ResNet18 with a 10-class head; ImageNet weights when obtainable: (model, note, loaded_pretrained).

    Without the weights (no internet and not in torch's hub cache) the model is randomly initialised; `note` is then
    one sentence that says so and names the file looked for (no paths, no traceback).
    """
    import contextlib
    import io
    import os
    import torch
    import torchvision
    model, note = None, "ResNet18 starts from random initialisation (pretrained=False)."
    if pretrained:
        cached = os.path.exists(os.path.join(torch.hub.get_dir(), "checkpoints", RESNET18_FILE))
        try:
            quiet = io.StringIO()  # torch.hub writes "Downloading: <url> to <path>" and a progress bar
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                model = torchvision.models.resnet18(weights=torchvision.models.ResNet18_Weights.IMAGENET1K_V1)
            note = f"ImageNet weights loaded ({RESNET18_FILE})."
        except Exception as e:  # offline: URLError / OSError from the download attempt
            model = None
            where = (f"{RESNET18_FILE} is in torch's hub cache but could not be loaded ({type(e).__name__})" if cached
                     else f"{RESNET18_FILE} is not in torch's hub cache and could not be downloaded")
            note = f"ImageNet weights not available ({where}), so ResNet18 starts from random initialisation."
    loaded = model is not None
    if not loaded:
        model = torchvision.models.resnet18(weights=None)
    model.fc = nn.Linear(model.fc.in_features, 10)
    return model, note, loaded


# several seeds per variant (problems 1B, 2A, 2C): the helpers are shared with other assignments, in helpers.py
from helpers import add_seed_lines, mean_curves, per_seed_text, seed_ranking  # noqa: E402,F401
