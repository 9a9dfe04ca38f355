"""The PyTorch models of hand-in 2: hand-in 1's MLP, the specified CNN, and a residual CNN (with BN/dropout options);
the data, training setup and small rules the five notebooks share."""
import torch
from torch import nn

import helpers

SMOKE_TRAIN_IMAGES = 3000  # smoke mode trains on the first 3000 training images; the test set stays whole


# ------------------------------------------------------------------------------------------- data and training
def load_data():
    """MNIST as x_train, y_train, x_test, y_test (in smoke mode only the first 3000 training images)."""
    x_train, y_train, x_test, y_test = helpers.load_mnist()
    x_train, y_train = helpers.shrink(SMOKE_TRAIN_IMAGES, x_train, y_train)
    return x_train, y_train, x_test, y_test


def seeded(make_model, *args, seed=0, **kwargs):
    """`make_model(*args, **kwargs)` built right after `helpers.seed_everything(seed)`: the same initial weights."""
    helpers.seed_everything(seed)
    return make_model(*args, **kwargs)


def train(model, train_set, test_set, optimizer, *, epochs, batch_size, learning_rate, seed=0, schedule=None,
          augment=None, progress=True):
    """`helpers.fit` with `optimizer` "SGD" (plain, no momentum) or "Adam" (PyTorch's defaults besides the learning
    rate); returns the history. `seed` fixes the mini-batch order and dropout masks (0, the default, gives every
    exercise the same order). `schedule="onecycle"` steps PyTorch's OneCycleLR after every mini-batch: the learning
    rate rises from `learning_rate`/25 to `learning_rate` over the first 30 % of the steps, then falls along a cosine
    to almost zero (Adam's betas stay fixed); the history's run then records the peak as its learning rate.
    `augment(x_batch, generator)` transforms every training batch (e.g. `random_shift`)."""
    make = {"SGD": lambda params: torch.optim.SGD(params, lr=learning_rate),
            "Adam": lambda params: torch.optim.Adam(params, lr=learning_rate, fused=True)}[optimizer]
    opt, on_batch = make(model.parameters()), None
    if schedule == "onecycle":
        steps = epochs * -(-len(train_set[0]) // batch_size)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=learning_rate, total_steps=steps,
                                                        cycle_momentum=False)
        on_batch = lambda step: scheduler.step()  # noqa: E731
    elif schedule is not None:
        raise ValueError(f"schedule must be None (constant learning rate) or 'onecycle', not {schedule!r}.")
    history = helpers.fit(model, train_set, test_set, epochs=epochs, batch_size=batch_size, seed=seed,
                          optimizer=opt, on_batch=on_batch, augment=augment, progress=progress)
    if schedule is not None:
        history["run"].update(learning_rate=learning_rate, schedule=schedule)  # fit saw the last step's rate
    return history


def random_shift(x, generator=None, pixels=2):
    """Every image of a batch (N, C, H, W) moved by a random whole number of pixels, -pixels..pixels down and
    across, the uncovered border filled with zeros (MNIST's background): `helpers.flip_and_crop` without its
    mirroring, which would turn digits into other shapes. The shifts come from `generator` (fit's seeded one)."""
    return helpers.flip_and_crop(x, generator, pad=pixels, flip=False)


class MLP(nn.Module):
    """Fully connected ReLU network with the given layer sizes, e.g. [784, 512, 256, 128, 10] (logits out)."""

    def __init__(self, layer_sizes):
        super().__init__()
        layers = [nn.Flatten()]
        for i, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(layer_sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)

    def load_numpy(self, params):
        """Copy hand-in 1's NumPy weights [(W (in, out), b)] into the linear layers (W is stored transposed)."""
        linears = [m for m in self.net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for layer, (W, b) in zip(linears, params):
                layer.weight.copy_(torch.from_numpy(W.T.copy()))
                layer.bias.copy_(torch.from_numpy(b))
        return self


class SpecCNN(nn.Module):
    """The exercise-2 CNN: conv 8 - pool - conv 16 - pool - conv 32 (3x3, padding 1, ReLU), flatten, linear to 10."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),    # 8 x 14 x 14
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),   # 16 x 7 x 7
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())                      # 32 x 7 x 7
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 10))  # softmax is in the loss

    def forward(self, x):
        return self.classifier(self.features(x))


def conv_block(c_in, c_out, batchnorm):
    """3x3 convolution (padding 1), optional batch normalization, ReLU: the 'conv block' of the spec's figure 2."""
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batchnorm)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(c_out))
    return layers + [nn.ReLU()]


class ResidualBlock(nn.Module):
    """Two conv blocks F(x) with output F(x) + x; a 1x1 convolution projects x when the channel count changes.

    With residual=False the same layers run without the skip connection (the plain control network).
    """

    def __init__(self, c_in, c_out, residual=True, batchnorm=False):
        super().__init__()
        first, second = conv_block(c_in, c_out, batchnorm), conv_block(c_out, c_out, batchnorm)
        self.body = nn.Sequential(*first, *second[:-1])  # the last ReLU comes after the addition
        self.residual = residual
        self.project = nn.Conv2d(c_in, c_out, 1, bias=False) if residual and c_in != c_out else nn.Identity()

    def forward(self, x):
        out = self.body(x)
        if self.residual:
            out = out + self.project(x)
        return torch.relu(out)


class ResCNN(nn.Module):
    """A deeper CNN: a stem conv, then three stages of `blocks` residual blocks (widths w, 2w, 4w) with 2x2 max-pools
    between stages, global average pooling and a linear classifier; optional batch norm and dropout before the
    classifier and between stages."""

    def __init__(self, width=8, blocks=3, residual=True, batchnorm=False, dropout=0.0):
        super().__init__()
        layers = conv_block(1, width, batchnorm)
        channels = width
        for stage in range(3):
            out = width * 2 ** stage
            if stage > 0:
                layers += [nn.MaxPool2d(2, 2)] + ([nn.Dropout(dropout)] if dropout else [])
            for b in range(blocks):
                layers.append(ResidualBlock(channels, out, residual, batchnorm))
                channels = out
        self.features = nn.Sequential(*layers)
        head = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.classifier = nn.Sequential(*head, *([nn.Dropout(dropout)] if dropout else []), nn.Linear(channels, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


# ------------------------------------------------------------------- measurements used by the discussions
def train_numpy_timed(nm, *args, **kwargs):
    """Run hand-in 1's `nm.train_model(*args, **kwargs)` (with k = iterations per epoch) and also return the training
    seconds of every epoch: the time between consecutive per-epoch test evaluations (evaluation excluded), measured
    by wrapping `nm.predict`. Returns (params, history, epoch_seconds); the training itself is unchanged."""
    import time
    marks, predict = [], nm.predict

    def timed_predict(*a, **kw):
        marks.append(time.perf_counter())
        out = predict(*a, **kw)
        marks.append(time.perf_counter())
        return out

    nm.predict = timed_predict
    start = time.perf_counter()
    try:
        params, history = nm.train_model(*args, **kwargs)
    finally:
        nm.predict = predict
    ends = [start] + marks[1::2]
    return params, history, [begin - end for begin, end in zip(marks[0::2], ends)]


def gemm_seconds(layer_sizes, batch_size, repeats=50, seed=0):
    """Median seconds of the float32 matrix products of one SGD step of an MLP (per layer: forward X@W, backward
    X.T@dZ and dZ@W.T), in NumPy and in PyTorch on the CPU, same shapes and threads as training: (numpy_s, torch_s)."""
    import statistics
    import time
    import numpy as np
    rng = np.random.default_rng(seed)
    shapes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    arrays = [(rng.standard_normal((batch_size, i), dtype=np.float32), rng.standard_normal((i, o), dtype=np.float32),
               rng.standard_normal((batch_size, o), dtype=np.float32)) for i, o in shapes]
    tensors = [tuple(torch.from_numpy(a) for a in t) for t in arrays]

    def median_time(step):
        step()  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    def numpy_step():
        for x, w, dz in arrays:
            x @ w, x.T @ dz, dz @ w.T

    def torch_step():
        with torch.no_grad():
            for x, w, dz in tensors:
                x @ w, x.T @ dz, dz @ w.T

    return median_time(numpy_step), median_time(torch_step)


def macs_per_image(model, shape=(1, 1, 28, 28)):
    """Multiply-accumulates of the convolutions and linear layers for one image (forward pass), counted with hooks."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total += output[0].numel() * kernel
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(shape))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total


def top_confusions(y_true, y_pred, n=5):
    """The n most frequent (true, predicted, count) off-diagonal pairs, and the largest count among the others."""
    from collections import Counter
    counts = Counter((int(t), int(p)) for t, p in zip(y_true, y_pred) if int(t) != int(p)).most_common()
    top = [(t, p, c) for (t, p), c in counts[:n]]
    return top, (counts[n][1] if len(counts) > n else 0)


def first_misclassified_per_class(y_true, y_pred, n_classes=10, n=10):
    """(true, predicted) of the misclassified test images `show_misclassified(..., one_per_class=True)` shows, in its
    order: the first of each true class that has one, then the next errors in test-set order, up to n."""
    wrong = [i for i, (t, p) in enumerate(zip(y_true, y_pred)) if int(t) != int(p)]
    chosen = [next(i for i in wrong if int(y_true[i]) == c) for c in range(n_classes)
              if any(int(y_true[i]) == c for i in wrong)]
    chosen += [i for i in wrong if i not in chosen][:max(0, n - len(chosen))]
    return [(int(y_true[i]), int(y_pred[i])) for i in chosen]


def count_3x3_convs(model):
    """Number of 3x3 convolutions in a model (the residual CNN's main path; its 1x1 projections are not counted)."""
    return sum(isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) for m in model.modules())


# ------------------------------------------------------------------------------------ rules of the discussions
def same_hardware_as(result, name):
    """Whether an earlier notebook's recorded `result` ran on this machine's hardware; prints both hardware lines."""
    same = helpers.same_hardware(result, {"hardware": helpers.hardware()})
    print(f"{name} ran on: {result.get('hardware', 'hardware not recorded')}; this run: {helpers.hardware()} -> "
          f"{'same hardware: epoch times comparable' if same else 'epoch times not comparable'}")
    return same


def two_se_lead(accuracy_a, accuracy_b, n):
    """1 if accuracy a (percent, n test images) is ahead of b beyond two standard errors of the difference, -1 if
    behind by more, 0 within noise."""
    limit = helpers.two_se_difference(accuracy_a, accuracy_b, n)
    return 1 if accuracy_a - accuracy_b > limit else -1 if accuracy_b - accuracy_a > limit else 0


def drops(accuracies):
    """How many times a per-epoch accuracy curve falls from one epoch to the next."""
    return sum(b < a for a, b in zip(accuracies, accuracies[1:]))


def times_text(k):
    """A count in words: 'zero times', 'once', 'twice', else 'k times'."""
    return {0: "zero times", 1: "once", 2: "twice"}.get(k, f"{k} times")
