"""A fully connected network for classification in NumPy only: forward, backward, SGD/momentum/Adam, training.

Conventions: a mini-batch is a matrix with one sample per row, so a layer computes f = x @ W + b with W of shape
(inputs, outputs) (the transposed Omega of the spec, which avoids transposes). Labels are integer class indices.
Everything is vectorized over samples and units; the only Python loops run over layers and iterations.
"""
import time

import numpy as np


def initialize(layer_sizes, seed=0, dtype=np.float32):
    """He-initialized weights N(0, 2/fan_in) and zero biases: a list of (W, b), one pair per layer."""
    rng = np.random.default_rng(seed)
    return [(rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_out)).astype(dtype), np.zeros(n_out, dtype))
            for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:])]


def sigmoid(z):
    """Logistic function 1 / (1 + exp(-z)), computed without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype)


def relu(z):
    """Rectified linear unit max(0, z)."""
    return np.maximum(z, 0)


ACTIVATIONS = {"relu": relu, "sigmoid": sigmoid}


def activation_grad(z, a, activation):
    """Derivative of the activation at pre-activation z (with a = activation(z) already computed)."""
    return (z > 0).astype(z.dtype) if activation == "relu" else a * (1 - a)


def forward_pass(params, x, activation="relu"):
    """Pre-activations [z1..zL] and activations [x, a1..a(L-1)]; the last pre-activation zL is the logits f."""
    act = ACTIVATIONS[activation]
    zs, activations = [], [x]
    for i, (W, b) in enumerate(params):
        z = activations[-1] @ W + b
        zs.append(z)
        if i < len(params) - 1:
            activations.append(act(z))
    return zs, activations


def softmax(f):
    """Row-wise softmax of logits f (shifted by the row maximum so exp never overflows)."""
    e = np.exp(f - f.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def compute_cost(f, y):
    """Mean cross-entropy log(sum_k exp f_k) - f_y from logits, stabilised by subtracting each row's maximum."""
    shifted = f - f.max(axis=1, keepdims=True)
    log_sum_exp = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_sum_exp - shifted[np.arange(len(y)), y]))


def backward_pass(params, zs, activations, y, activation="relu"):
    """Gradients [(dW, db)] of the mean cross-entropy for every layer, by backpropagation."""
    delta = softmax(zs[-1])
    delta[np.arange(len(y)), y] -= 1
    delta /= len(y)  # dL/df for the mean cost
    grads = [None] * len(params)
    for i in range(len(params) - 1, -1, -1):
        grads[i] = (activations[i].T @ delta, delta.sum(axis=0))
        if i > 0:
            delta = (delta @ params[i][0].T) * activation_grad(zs[i - 1], activations[i], activation)
    return grads


def init_optimizer(params):
    """Zeroed first and second moment buffers (used by momentum and Adam) and a step counter."""
    return {"m": [(np.zeros_like(W), np.zeros_like(b)) for W, b in params],
            "v": [(np.zeros_like(W), np.zeros_like(b)) for W, b in params], "t": 0}


def update_parameters(params, grads, learning_rate, method="sgd", state=None, beta1=0.9, beta2=0.999, eps=1e-8):
    """One in-place step: plain gradient descent, heavy-ball momentum (beta1) or Adam with bias correction."""
    if method != "sgd":
        state["t"] += 1
    for i, ((W, b), grad) in enumerate(zip(params, grads)):
        for p, g, j in ((W, grad[0], 0), (b, grad[1], 1)):
            if method == "sgd":
                p -= learning_rate * g
            elif method == "momentum":
                m = state["m"][i][j]
                m *= beta1
                m += g
                p -= learning_rate * m
            elif method == "adam":
                m, v = state["m"][i][j], state["v"][i][j]
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * g * g
                m_hat = m / (1 - beta1 ** state["t"])
                v_hat = v / (1 - beta2 ** state["t"])
                p -= learning_rate * m_hat / (np.sqrt(v_hat) + eps)
            else:
                raise ValueError(f"method must be 'sgd', 'momentum' or 'adam', not {method!r}")


def predict(params, x, y, activation="relu", chunk=10000):
    """Softmax probabilities, accuracy in percent and mean cost of the network on (x, y)."""
    f = np.concatenate([forward_pass(params, x[i:i + chunk], activation)[0][-1] for i in range(0, len(x), chunk)])
    return softmax(f), 100.0 * float(np.mean(f.argmax(axis=1) == y)), compute_cost(f, y)


def random_mini_batches(x, y, batch_size, rng):
    """A random partition of (x, y) into mini-batches: every sample exactly once, the last batch possibly smaller."""
    order = rng.permutation(len(x))
    return [(x[idx], y[idx]) for idx in (order[i:i + batch_size] for i in range(0, len(x), batch_size))]


def train_model(x_train, y_train, layer_sizes, iterations, learning_rate, batch_size, x_test=None, y_test=None,
                activation="relu", method="sgd", k=100, seed=0, params=None):
    """Train with mini-batches for `iterations` steps; returns (params, history).

    Every k-th iteration (and the last) history records the cost and accuracy of the current mini-batch and, when
    test data are given, of the test set; plus the iteration numbers and the training seconds (evaluation excluded):
    `seconds` in total and `epoch_seconds` per complete pass over the mini-batches (for `helpers.median_epoch_seconds`;
    when no pass completes, the one partial pass scaled to a whole pass).
    """
    rng = np.random.default_rng(seed)
    params = initialize(layer_sizes, seed, x_train.dtype) if params is None else params
    state = init_optimizer(params)
    history = {"iteration": [], "train_costs": [], "train_accuracy": [], "test_costs": [], "test_accuracy": []}
    seconds, batches = 0.0, []
    epoch_seconds, this_epoch, n_batches = [], 0.0, 0
    for it in range(1, iterations + 1):
        if not batches:
            batches = random_mini_batches(x_train, y_train, batch_size, rng)[::-1]
            n_batches = len(batches)
        xb, yb = batches.pop()
        start = time.perf_counter()
        zs, acts = forward_pass(params, xb, activation)
        grads = backward_pass(params, zs, acts, yb, activation)
        update_parameters(params, grads, learning_rate, method, state)
        step = time.perf_counter() - start
        seconds += step
        this_epoch += step
        if not batches:  # a complete pass over the training set
            epoch_seconds.append(this_epoch)
            this_epoch = 0.0
        if it % k and it != iterations:
            continue
        cost = compute_cost(zs[-1], yb)
        if not np.isfinite(cost):
            raise FloatingPointError(f"Cost became {cost} at iteration {it}: training stopped; lower the learning "
                                     f"rate (now {learning_rate}).")
        history["iteration"].append(it)
        history["train_costs"].append(cost)
        history["train_accuracy"].append(100.0 * float(np.mean(zs[-1].argmax(axis=1) == yb)))
        if x_test is not None:
            _, accuracy, test_cost = predict(params, x_test, y_test, activation)
            history["test_costs"].append(test_cost)
            history["test_accuracy"].append(accuracy)
    if not epoch_seconds:  # not one complete pass: the partial pass, scaled to a whole one
        done = n_batches - len(batches)
        epoch_seconds.append(this_epoch * n_batches / done if done else 0.0)
    history["seconds"] = seconds
    history["epoch_seconds"] = epoch_seconds
    return params, history


def numerical_gradients(params, x, y, activation="relu", h=1e-5):
    """Central finite differences (C(p + h) - C(p - h)) / 2h of the cost for every parameter, one at a time."""
    grads = []
    for W, b in params:
        pair = []
        for p in (W, b):
            g = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + h
                plus = compute_cost(forward_pass(params, x, activation)[0][-1], y)
                p[idx] = old - h
                minus = compute_cost(forward_pass(params, x, activation)[0][-1], y)
                p[idx] = old
                g[idx] = (plus - minus) / (2 * h)
            pair.append(g)
        grads.append(tuple(pair))
    return grads


def max_relative_error(grads_a, grads_b):
    """Largest elementwise |a - b| / max(|a| + |b|, 1e-12) over all layers' weight and bias gradients."""
    return max(float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))
               for pair_a, pair_b in zip(grads_a, grads_b) for a, b in zip(pair_a, pair_b))


def load_mnist_flat():
    """MNIST from helpers as float32 NumPy arrays, one flattened image (784 values in [0, 1]) per row."""
    import helpers
    x_train, y_train, x_test, y_test = (t.numpy() for t in helpers.load_mnist())
    return x_train.reshape(len(x_train), -1), y_train, x_test.reshape(len(x_test), -1), y_test


def plot_history(title, history, batch_size, learning_rate):
    """The spec's training_curve_plot over iterations for a `train_model` history."""
    import helpers
    return helpers.training_curve_plot(title, history["train_costs"], history["test_costs"],
                                       history["train_accuracy"], history["test_accuracy"], batch_size,
                                       learning_rate, seconds=history["seconds"], device="CPU (NumPy)",
                                       xlabel="Iteration", x=history["iteration"])
