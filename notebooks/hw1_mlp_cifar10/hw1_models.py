"""Models of homework 1: the flexible MLP (problems 1-2) and the CIFAR-10 CNNs (problem 3)."""
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
