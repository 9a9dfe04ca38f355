"""Tests of hand-in 2's training additions: the random-shift augmentation and the OneCycle schedule of `train`."""
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notebooks" / "handin2_pytorch_cnn"))
import cnn_models  # noqa: E402
import helpers  # noqa: E402


def test_random_shift_moves_each_image_by_whole_pixels_within_the_limit():
    x = torch.zeros(50, 1, 9, 9)
    x[:, 0, 4, 4] = 1.0  # one bright pixel in the middle of every image
    out = cnn_models.random_shift(x, torch.Generator().manual_seed(0), pixels=2)
    assert out.shape == x.shape and out.sum().item() == 50  # the pixel moves, nothing is lost or blurred
    moves = {(r - 4, c - 4) for _, _, r, c in out.nonzero().tolist()}
    assert all(abs(dy) <= 2 and abs(dx) <= 2 for dy, dx in moves)
    assert len(moves) > 10  # many different shifts over 50 images (25 are possible)


def test_random_shift_fills_with_zeros_and_repeats_with_the_seed():
    x = torch.ones(20, 1, 6, 6)
    a = cnn_models.random_shift(x, torch.Generator().manual_seed(3), pixels=1)
    b = cnn_models.random_shift(x, torch.Generator().manual_seed(3), pixels=1)
    assert torch.equal(a, b)
    assert a.min().item() == 0.0 and a.max().item() == 1.0  # the uncovered border is background


def test_train_with_onecycle_records_the_peak_and_anneals():
    torch.manual_seed(0)
    x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    model = cnn_models.ResCNN(4, 1, batchnorm=True)
    history = cnn_models.train(model, (x, y), (x[:16], y[:16]), "Adam", epochs=2, batch_size=16, learning_rate=0.01,
                               schedule="onecycle", seed=1, augment=cnn_models.random_shift, progress=False)
    assert history["run"]["learning_rate"] == 0.01 and history["run"]["schedule"] == "onecycle"
    assert len(history["test_accuracy"]) == 2
    with pytest.raises(ValueError, match="schedule must be"):
        cnn_models.train(model, (x, y), (x, y), "Adam", epochs=1, batch_size=16, learning_rate=0.01, schedule="cosine")


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")  # the spy takes no step
def test_onecycle_rate_rises_to_the_peak_then_falls_to_almost_zero(monkeypatch):
    seen = []

    def spy_fit(model, train, test, *, optimizer, on_batch, **kwargs):
        for step in range(1, 9):  # 2 epochs of 4 batches
            seen.append(optimizer.param_groups[0]["lr"])
            on_batch(step)
        return {"run": {}}
    monkeypatch.setattr(cnn_models.helpers, "fit", spy_fit)
    x, y = torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,))
    cnn_models.train(cnn_models.ResCNN(4, 1), (x, y), (x, y), "Adam", epochs=2, batch_size=16, learning_rate=0.01,
                     schedule="onecycle")
    peak = max(seen)
    assert seen[0] < peak / 10 and abs(peak - 0.01) < 1e-3 and seen[-1] < peak / 10


def test_the_misclassified_pairs_named_are_the_ones_the_grid_shows():
    y_true = torch.arange(60) % 10
    y_pred = torch.where((y_true != 0) & (torch.arange(60) % 4 == 1), (y_true + 3) % 10, y_true)  # digit 0: no errors
    fig = helpers.show_misclassified(torch.rand(60, 1, 8, 8), y_true, y_pred, helpers.MNIST_CLASSES, one_per_class=True)
    shown = [tuple(int(line.split(": ")[1]) for line in ax.get_title().split("\n")) for ax in fig.axes if ax.get_title()]
    assert cnn_models.first_misclassified_per_class(y_true, y_pred) == shown and len(shown) == 10
