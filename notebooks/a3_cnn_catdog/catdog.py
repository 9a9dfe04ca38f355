"""A3 cat-vs-dog: the torchvision dataset route, class_extract, the tensor route, and the models myCNN and myResNet.

Both models end in one output unit. They return its *logit*; the sigmoid of the spec's last layer is applied by
`predict_proba` and, inside the loss, by binary_cross_entropy_with_logits (the numerically stable form of
sigmoid + BCE, identical in value).
"""
import torch
from torch import nn
from torch.utils.data import Subset

import helpers

CLASSES = ["cat", "dog"]  # label 0 = cat, label 1 = dog in the tensor route


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


def predict_proba(model, x):
    """p(dog | x): the sigmoid of the model's output unit."""
    return torch.sigmoid(model(x)).squeeze(1)


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
    text = "| layer | weights | biases | total |\n|---|---|---|---|\n"
    text += "\n".join(f"| {name} | {w:,} | {b:,} | {t:,} |" for name, w, b, t in rows)
    return text + f"\n| **total** | | | **{sum(r[3] for r in rows):,}** |"


def run_summary(history, model):
    """The numbers compared across the five training runs of questions 2 and 3."""
    h = history
    best = max(range(len(h["test_accuracy"])), key=lambda i: h["test_accuracy"][i])
    return dict(parameters=helpers.count_parameters(model), final_test_accuracy=h["test_accuracy"][-1],
                best_test_accuracy=h["test_accuracy"][best], best_epoch=best + 1,
                final_train_accuracy=h["train_accuracy"][-1], gap=h["train_accuracy"][-1] - h["test_accuracy"][-1],
                min_test_loss=min(h["test_costs"]), final_test_loss=h["test_costs"][-1], seconds=h["seconds"],
                history={k: h[k] for k in ("train_costs", "test_costs", "train_accuracy", "test_accuracy")})
