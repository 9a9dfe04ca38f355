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
