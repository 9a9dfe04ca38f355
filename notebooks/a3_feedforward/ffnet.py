"""The two-layer fully connected network of A3 (one hidden layer) and its training recipe, shared by tasks 1-5."""
import torch
from torch import nn

import helpers

HIDDEN, BATCH_SIZE, LEARNING_RATE, EPOCHS = 1024, 128, 1e-3, 20


def load_data():
    """MNIST as x_train, y_train, x_test, y_test (`helpers.load_mnist`): all 60,000 training and 10,000 test images;
    in smoke mode the first 3,000 training and 1,000 test images."""
    x_train, y_train, x_test, y_test = helpers.load_mnist()
    x_train, y_train = helpers.shrink(3000, x_train, y_train)
    x_test, y_test = helpers.shrink(1000, x_test, y_test)
    return x_train, y_train, x_test, y_test


def validation_split(x_all, y_all):
    """The validation split of tasks 3-5: 10,000 of the training images (500 in smoke mode), drawn with seed 0;
    returns x_train, y_train, x_val, y_val."""
    return helpers.train_val_split(x_all, y_all, helpers.pick(10000, 500), seed=0)


class TwoLayerNet(nn.Module):
    """x -> z = ReLU(W1 x + b1) -> logits = W2 z + b2 (softmax is inside the cross-entropy loss)."""

    def __init__(self, hidden=HIDDEN, inputs=28 * 28, classes=10):
        super().__init__()
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(inputs, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.out(self.hidden(x))


def train_model(seed, train, test, val=None, hidden=HIDDEN, batch_size=BATCH_SIZE, lr=LEARNING_RATE, epochs=EPOCHS,
                progress=True, eval_train=False):
    """Build a TwoLayerNet from `seed` (weights, shuffling) and train it with Adam; returns (model, history).

    `eval_train=True` also evaluates the whole training set after every epoch (history's train_eval_*).

    Adam runs as PyTorch's fused kernel: the same update rule, 1.8x faster here (benchmarks/README.md, fused Adam).
    """
    helpers.seed_everything(seed)
    model = TwoLayerNet(hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=True)  # same update, one kernel: benchmarks/
    history = helpers.fit(model, train, test, val=val, epochs=epochs, optimizer=optimizer, batch_size=batch_size,
                          seed=seed, progress=progress, eval_train=eval_train)
    return model, history
