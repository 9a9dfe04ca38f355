"""Unit tests of hand-in 1's NumPy network: gradients, cost stability, mini-batches, optimizers."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notebooks" / "handin1_numpy_mlp"))
import numpy_mlp as nm  # noqa: E402


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_gradients_match_finite_differences_and_autograd(activation):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 7)), rng.integers(0, 3, 12)
    params = nm.initialize([7, 6, 5, 3], seed=2, dtype=np.float64)
    zs, acts = nm.forward_pass(params, x, activation)
    analytic = nm.backward_pass(params, zs, acts, y, activation)
    assert nm.max_relative_error(analytic, nm.numerical_gradients(params, x, y, activation)) < 1e-6
    tensors = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)) for W, b in params]
    h = torch.tensor(x)
    for i, (W, b) in enumerate(tensors):
        h = h @ W + b
        if i < len(tensors) - 1:
            h = torch.relu(h) if activation == "relu" else torch.sigmoid(h)
    torch.nn.functional.cross_entropy(h, torch.tensor(y)).backward()
    assert nm.max_relative_error(analytic, [(W.grad.numpy(), b.grad.numpy()) for W, b in tensors]) < 1e-9


def test_a_wrong_gradient_is_caught():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 4)), rng.integers(0, 3, 8)
    params = nm.initialize([4, 5, 3], seed=0, dtype=np.float64)
    zs, acts = nm.forward_pass(params, x)
    analytic = nm.backward_pass(params, zs, acts, y)
    analytic[0] = (analytic[0][0] * 1.01, analytic[0][1])
    assert nm.max_relative_error(analytic, nm.numerical_gradients(params, x, y)) > 1e-3


def test_cost_is_stable_and_shift_invariant():
    rng = np.random.default_rng(2)
    f, y = rng.standard_normal((6, 10)), rng.integers(0, 10, 6)
    naive = float(np.mean(-np.log(np.exp(f)[np.arange(6), y] / np.exp(f).sum(1))))
    assert abs(nm.compute_cost(f, y) - naive) < 1e-12
    for c in (-1000.0, 1000.0, 1e5):
        assert abs(nm.compute_cost(f + c, y) - nm.compute_cost(f, y)) < 1e-9
    assert np.isfinite(nm.compute_cost(np.array([[1e4, 0.0]]), np.array([1])))
    assert np.allclose(nm.softmax(f + 1000).sum(1), 1) and np.isfinite(nm.softmax(f * 1000)).all()
    assert np.isfinite(nm.sigmoid(np.array([-1000.0, 0.0, 1000.0]))).all()


def test_mini_batches_cover_every_sample_once():
    x = np.arange(1003).reshape(-1, 1).astype(np.float32)
    y = np.arange(1003)
    mini = nm.random_mini_batches(x, y, 64, np.random.default_rng(0))
    seen = np.concatenate([b for _, b in mini])
    assert len(mini) == 16 and len(mini[-1][1]) == 1003 - 15 * 64
    assert np.array_equal(np.sort(seen), y) and not np.array_equal(seen, y)
    assert all(np.array_equal(xb[:, 0].astype(int), yb) for xb, yb in mini)


@pytest.mark.parametrize("method,lr", [("sgd", 0.5), ("momentum", 0.05), ("adam", 0.01)])
def test_optimizers_learn_a_separable_problem(method, lr):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 600)
    x = (np.eye(3)[y] * 3 + rng.standard_normal((600, 3))).astype(np.float32)
    params, history = nm.train_model(x[:500], y[:500], [3, 16, 3], 300, lr, 50, x[500:], y[500:], method=method, k=50)
    assert history["test_accuracy"][-1] > 85 and history["iteration"] == [50, 100, 150, 200, 250, 300]
    initial_cost = nm.predict(nm.initialize([3, 16, 3], seed=0), x[500:], y[500:])[2]
    assert history["test_costs"][-1] < 0.5 * initial_cost


def test_divergence_raises():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((100, 5)).astype(np.float32) * 100, rng.integers(0, 2, 100)
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        with np.errstate(all="ignore"):
            nm.train_model(x, y, [5, 50, 2], 200, 1e6, 10, k=1)


def test_pytorch_mlp_loads_numpy_weights_transposed():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notebooks" / "handin2_pytorch_cnn"))
    from cnn_models import MLP
    params = nm.initialize([784, 16, 12, 10], seed=3)  # W stored (in, out): x @ W + b
    model = MLP([784, 16, 12, 10]).load_numpy(params)
    x = np.random.default_rng(1).random((5, 784)).astype(np.float32)
    zs, _ = nm.forward_pass(params, x, "relu")
    with torch.no_grad():
        logits = model(torch.from_numpy(x).view(5, 1, 28, 28)).numpy()
    assert np.allclose(logits, zs[-1], atol=1e-5)


def update_vs_torch(method, learning_rate, steps=6, **ours_kwargs):
    """Largest relative difference between how far our update (with `ours_kwargs`) and torch.optim (momentum 0.9,
    Adam betas (0.9, 0.999)) move every parameter in `steps` steps, from the same parameters and the same gradients."""
    rng = np.random.default_rng(5)
    start = nm.initialize([6, 5, 3], seed=4, dtype=np.float64)
    gradients = [[(rng.standard_normal(W.shape), rng.standard_normal(b.shape)) for W, b in start] for _ in range(steps)]
    ours = [(W.copy(), b.copy()) for W, b in start]
    state = nm.init_optimizer(ours)
    tensors = [torch.tensor(p, requires_grad=True) for pair in start for p in pair]
    reference = (torch.optim.SGD(tensors, lr=learning_rate, momentum=0.9) if method == "momentum" else
                 torch.optim.Adam(tensors, lr=learning_rate, betas=(0.9, 0.999), eps=1e-8))
    for grads in gradients:
        nm.update_parameters(ours, grads, learning_rate, method, state, **ours_kwargs)
        for tensor, g in zip(tensors, [g for pair in grads for g in pair]):
            tensor.grad = torch.from_numpy(g)
        reference.step()
    theirs = [(tensors[2 * i].detach().numpy(), tensors[2 * i + 1].detach().numpy()) for i in range(len(start))]
    moved = lambda params: [(W - W0, b - b0) for (W, b), (W0, b0) in zip(params, start)]
    return nm.max_relative_error(moved(ours), moved(theirs))


@pytest.mark.parametrize("method,lr", [("momentum", 0.01), ("adam", 1e-3)])
def test_momentum_and_adam_match_torch_optim(method, lr):
    assert update_vs_torch(method, lr) < 1e-10  # update_parameters' defaults are torch's momentum 0.9 / Adam betas


@pytest.mark.parametrize("method,lr,wrong", [("momentum", 0.01, {"beta1": 0.8}), ("adam", 1e-3, {"beta1": 0.8}),
                                             ("adam", 1e-3, {"beta2": 0.99}), ("adam", 1e-3, {"eps": 1e-2})])
def test_a_wrong_optimizer_setting_is_caught(method, lr, wrong):
    assert update_vs_torch(method, lr, **wrong) > 1e-3


def test_a_wrong_update_formula_is_caught(monkeypatch):
    # momentum in the "EMA" form m = beta m + (1 - beta) g is a different (ten times smaller) step than torch's
    original = nm.update_parameters

    def ema_momentum(params, grads, learning_rate, method="sgd", state=None, **kwargs):
        if method != "momentum":
            return original(params, grads, learning_rate, method, state, **kwargs)
        return original(params, [(0.1 * dW, 0.1 * db) for dW, db in grads], learning_rate, method, state, **kwargs)
    monkeypatch.setattr(nm, "update_parameters", ema_momentum)
    assert update_vs_torch("momentum", 0.01) > 0.5
