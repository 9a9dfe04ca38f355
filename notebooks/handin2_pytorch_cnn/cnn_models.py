"""The PyTorch models of hand-in 2: hand-in 1's MLP, the specified CNN, and a residual CNN (with BN/dropout options)."""
import torch
from torch import nn


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


def first_misclassified_per_class(y_true, y_pred, n_classes=10):
    """(true, predicted) of the first misclassified test image of each class: the ones `show_misclassified` shows
    with one_per_class=True."""
    pairs = []
    for c in range(n_classes):
        wrong = [(int(t), int(p)) for t, p in zip(y_true, y_pred) if int(t) == c and int(p) != c]
        if wrong:
            pairs.append(wrong[0])
    return pairs
