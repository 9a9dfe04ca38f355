"""Unit tests of helpers.py: data, splitting and batching, the training loop, plots and saving."""
import json
import os
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix

matplotlib.use("Agg")
import helpers  # noqa: E402

DATA = Path(os.environ.get("DATA_ROOT", helpers.REPO / "data"))
needs_mnist = pytest.mark.skipif(not (DATA / "MNIST" / "raw").exists(), reason="MNIST not found: set DATA_ROOT")
needs_cifar = pytest.mark.skipif(not (DATA / "cifar-10-batches-py").exists(), reason="CIFAR-10 not found: set DATA_ROOT")


def blobs(n=400, classes=3, seed=0):
    """A small, separable classification problem: Gaussian blobs in 2-D."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    centres = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0], [0.0, -3.0]])[:classes]
    return centres[y] + torch.randn(n, 2, generator=g), y


def tiny_model(outputs=3, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(16, outputs))


def train_tiny(seed, loss="ce", lr=0.05, epochs=3):
    x, y = blobs(classes=2 if loss == "bce" else 3)
    model = tiny_model(1 if loss == "bce" else 3)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    return helpers.fit(model, (x[:300], y[:300]), (x[300:], y[300:]), epochs=epochs, optimizer=opt, batch_size=32,
                       loss=loss, seed=seed, progress=False)


# ------------------------------------------------------------------------------------------------------- data
@needs_mnist
def test_mnist_shapes_dtypes_ranges():
    x_train, y_train, x_test, y_test = helpers.load_mnist(DATA)
    assert x_train.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert 0.0 == x_train.min() and x_train.max() == 1.0
    assert sorted(y_test.unique().tolist()) == list(range(10))
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the official first labels


@needs_cifar
def test_cifar_shapes_and_class_subset():
    x_train, y_train, x_test, y_test, names = helpers.load_cifar10(DATA)
    assert x_train.shape == (50000, 3, 32, 32) and x_test.shape == (10000, 3, 32, 32)
    assert x_train.dtype == torch.float32 and y_test.dtype == torch.int64
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0 and names[3] == "cat"
    assert torch.bincount(y_train).tolist() == [5000] * 10
    xs, ys, xt, yt, sub = helpers.load_cifar10(DATA, classes=["dog", "cat"])
    assert sub == ["dog", "cat"] and xs.shape == (10000, 3, 32, 32) and xt.shape == (2000, 3, 32, 32)
    assert torch.bincount(ys).tolist() == [5000, 5000]
    first_dog = int((y_train == 5).nonzero()[0])
    assert torch.equal(xs[ys == 0][0], x_train[first_dog])


@needs_mnist
def test_missing_and_truncated_mnist(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="DATA_ROOT"):
        helpers.load_mnist(tmp_path)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copy(DATA / "MNIST" / "raw" / name, raw / name)
    (raw / "t10k-images-idx3-ubyte").write_bytes((raw / "t10k-images-idx3-ubyte").read_bytes()[:5000])
    with pytest.raises(ValueError, match="truncated MNIST file .*t10k-images-idx3-ubyte"):
        helpers.load_mnist(tmp_path)


@needs_cifar
def test_missing_and_truncated_cifar(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    shutil.copytree(DATA / "cifar-10-batches-py", folder)
    (folder / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3.*DATA_ROOT"):
        helpers.load_cifar10(tmp_path)
    shutil.copy(DATA / "cifar-10-batches-py" / "data_batch_3", folder / "data_batch_3")
    (folder / "test_batch").write_bytes((folder / "test_batch").read_bytes()[:100000])
    with pytest.raises(ValueError, match="test_batch"):
        helpers.load_cifar10(tmp_path)


def test_train_val_split_is_reproducible_and_disjoint():
    x = torch.arange(100).float().unsqueeze(1)
    y = torch.arange(100)
    a = helpers.train_val_split(x, y, 20, seed=1)
    b = helpers.train_val_split(x, y, 20, seed=1)
    c = helpers.train_val_split(x, y, 20, seed=2)
    assert all(torch.equal(p, q) for p, q in zip(a, b)) and not torch.equal(a[3], c[3])
    assert len(a[1]) == 80 and len(a[3]) == 20
    assert sorted(torch.cat([a[1], a[3]]).tolist()) == list(range(100))
    with pytest.raises(ValueError, match="n_val"):
        helpers.train_val_split(x, y, 100, seed=0)


def test_batches_cover_each_sample_once():
    x = torch.arange(103).float()
    seen = torch.cat([xb for xb, _ in helpers.batches(x, x, 10, torch.Generator().manual_seed(0))])
    assert len(seen) == 103 and sorted(seen.tolist()) == list(range(103)) and not torch.equal(seen, x)


# --------------------------------------------------------------------------------------------------- training
def test_same_seed_same_history_different_seed_differs():
    a, b, c = train_tiny(seed=3), train_tiny(seed=3), train_tiny(seed=4)
    for key in ("train_costs", "test_costs", "train_accuracy", "test_accuracy"):
        assert a[key] == b[key]
    assert a["train_costs"] != c["train_costs"]


@pytest.mark.parametrize("loss", ["ce", "bce"])
def test_both_losses_train_above_chance(loss):
    history = train_tiny(seed=0, loss=loss)
    chance = 50.0 if loss == "bce" else 100.0 / 3
    assert history["test_accuracy"][-1] > chance + 30
    assert history["train_costs"][-1] < history["train_costs"][0]
    assert len(history["test_costs"]) == 3 and history["run"]["epochs"] == 3 and history["run"]["batch_size"] == 32


def test_validation_curves_and_mode_restored():
    x, y = blobs()
    model = tiny_model()
    history = helpers.fit(model, (x[:200], y[:200]), (x[300:], y[300:]), val=(x[200:300], y[200:300]), epochs=2,
                          optimizer=torch.optim.Adam(model.parameters(), 1e-2), batch_size=50, progress=False,
                          eval_train=True)
    assert len(history["val_costs"]) == 2 and len(history["val_accuracy"]) == 2 and model.training
    assert history["train_eval_costs"][-1] == pytest.approx(helpers.evaluate(model, x[:200], y[:200])[0], rel=1e-5)
    model.eval()
    helpers.evaluate(model, x, y)
    assert not model.training


def test_nan_loss_stops_with_epoch_and_batch():
    x, y = blobs()
    model = tiny_model()
    poison = lambda step: next(model.parameters()).data.fill_(float("nan")) if step == 3 else None  # noqa: E731
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 4 of 10: .*lower learning rate") as caught:
        helpers.fit(model, (x[:300], y[:300]), (x[300:], y[300:]), epochs=2, batch_size=32, progress=False,
                    optimizer=torch.optim.SGD(model.parameters(), lr=0.1), seed=None, on_batch=poison)
    assert caught.value.history["test_costs"] == []  # nothing was completed before the first epoch failed


def test_unknown_loss_is_named():
    with pytest.raises(ValueError, match="'mse'"):
        train_tiny(seed=0, loss="mse")


def bright_images(n=240, seed=0):
    """Tiny 1x8x8 images whose class (0/1/2) sets their brightness: a problem a small CNN solves quickly."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    return torch.randn(n, 1, 8, 8, generator=g) * 0.5 + y.view(-1, 1, 1, 1).float(), y


def tiny_cnn(batchnorm_channels=None):
    torch.manual_seed(0)
    width = batchnorm_channels or 4
    layers = [torch.nn.Conv2d(1, width, 3, padding=1), torch.nn.ReLU()]
    layers += [torch.nn.BatchNorm2d(width)] if batchnorm_channels else []
    return torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(width, 3))


def test_mixed_precision_trains_keeps_float32_weights_and_says_so():
    x, y = bright_images()
    model = tiny_cnn()
    history = helpers.fit(model, (x[:180], y[:180]), (x[180:], y[180:]), epochs=4, batch_size=30, seed=0,
                          optimizer=torch.optim.Adam(model.parameters(), 2e-2), progress=False, precision="mixed")
    expected = helpers.precision_label(helpers.autocast_dtype("mixed", helpers.get_device()))
    assert history["run"]["precision"] == expected and history["run"]["device"] == helpers.get_device().type
    assert history["test_accuracy"][-1] > 100 / 3 + 30
    assert all(p.dtype == torch.float32 for p in model.parameters())
    loss, acc = helpers.evaluate(model, x[180:], y[180:], precision="mixed")
    assert acc == pytest.approx(history["test_accuracy"][-1]) and np.isfinite(loss)


def test_unknown_precision_is_named():
    with pytest.raises(ValueError, match="'fp8'"):
        helpers.autocast_dtype("fp8", torch.device("cpu"))
    assert helpers.autocast_dtype("float32", torch.device("cpu")) is None


def test_memory_format_channels_last_except_narrow_batchnorm_on_cpu():
    assert helpers._memory_format(tiny_model()) == torch.contiguous_format
    assert helpers._memory_format(tiny_cnn()) == torch.channels_last
    assert helpers._memory_format(tiny_cnn(batchnorm_channels=64)) == torch.channels_last
    narrow = torch.contiguous_format if helpers.get_device().type == "cpu" else torch.channels_last
    assert helpers._memory_format(tiny_cnn(batchnorm_channels=8)) == narrow


def test_evaluation_does_not_depend_on_batch_size():
    x, y = bright_images()
    model = tiny_cnn()
    loss, acc = helpers.evaluate(model, x, y)
    loss_small, acc_small = helpers.evaluate(model, x, y, batch_size=7)
    assert acc == acc_small and loss == pytest.approx(loss_small, rel=1e-5)
    assert torch.equal(helpers.predict(model, x), helpers.predict(model, x, batch_size=7))


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="torch.compile needs a C compiler")
def test_compiled_training_matches_eager():
    x, y = bright_images()
    runs = []
    for compiled in (False, True):
        model = tiny_cnn()
        runs.append(helpers.fit(model, (x[:180], y[:180]), (x[180:], y[180:]), epochs=2, batch_size=30, seed=0,
                                optimizer=torch.optim.SGD(model.parameters(), 0.05), progress=False, compile=compiled))
    assert runs[1]["train_costs"] == pytest.approx(runs[0]["train_costs"], rel=1e-3)
    assert runs[1]["test_accuracy"] == pytest.approx(runs[0]["test_accuracy"], abs=2)


# ------------------------------------------------------------------------------------------------------ plots
def test_confusion_matrix_counts_equal_sklearn():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    fig = helpers.confusion_matrix_plot(y_true, y_pred, ["a", "b", "c", "d"])
    shown = [int(t.get_text()) for t in fig.axes[0].texts]
    assert shown == confusion_matrix(y_true, y_pred).flatten().tolist()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c", "d"]


def test_training_curve_subtitle_holds_settings():
    fig = helpers.training_curve_plot("t", [1.0, 0.5], [1.1, 0.6], [50, 80], [45, 78], batch_size=64,
                                      learning_rate=0.001, epochs=2, seconds=12.34, device="cpu")
    text = " ".join(t.get_text() for t in fig.texts)
    for part in ("Batch size: 64", "Learning rate: 0.001", "Epochs: 2", "Training time: 12.3 s", "Device: cpu"):
        assert part in text
    assert fig.axes[0].get_xlabel() == "Epoch"


def test_misclassified_viewer_one_per_class():
    x = torch.rand(50, 1, 8, 8)
    y_true = torch.arange(50) % 5
    y_pred = (y_true + (torch.arange(50) % 3 == 0).long()) % 5
    fig = helpers.show_misclassified(x, y_true, y_pred, list("ABCDE"), n=5, one_per_class=True)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 5 and [t.split("\n")[0] for t in titles] == [f"true: {c}" for c in "ABCDE"]
    assert all(t.split("\n")[0][6:] != t.split("\n")[1][6:] for t in titles)


def test_misclassified_grid_fills_up_to_n_when_a_class_has_no_errors():
    x = torch.rand(50, 1, 8, 8)
    y_true = torch.arange(50) % 5
    y_pred = torch.where((y_true != 4) & (torch.arange(50) % 3 == 0), (y_true + 1) % 5, y_true)  # class E: no errors
    fig = helpers.show_misclassified(x, y_true, y_pred, list("ABCDE"), n=6, one_per_class=True)
    titles = [ax.get_title().split("\n")[0] for ax in fig.axes if ax.get_title()]
    assert len(titles) == 6 and titles[:4] == [f"true: {c}" for c in "ABCD"] and "true: E" not in titles


# ----------------------------------------------------------------------------------------------------- saving
def test_save_and_record_write_where_expected(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "OUTPUT_ROOT", tmp_path)
    monkeypatch.chdir(tmp_path)
    fig = helpers.training_curve_plot("t", [1, 0.5], [1, 0.6], [50, 80], [45, 78], 64, 0.1)
    assert helpers.save_figure(fig, "curve", assignment="a3_feedforward") is None  # a cell ending in it echoes nothing
    path = helpers.figure_path("curve", assignment="a3_feedforward")
    assert path == tmp_path / "figures" / "a3_feedforward" / "curve.png" and path.read_bytes()[:4] == b"\x89PNG"
    monkeypatch.setitem(helpers._RUN, "notebook", "task1")
    monkeypatch.setitem(helpers._RUN, "start", helpers.time.perf_counter() - 5)
    assert helpers.record_result(assignment="a3_feedforward", acc=np.float32(98.5), n=torch.tensor(3)) is None
    path = helpers.result_path("a3_feedforward")
    written = json.loads(path.read_text())
    assert 5 <= written.pop("notebook_seconds") < 60
    assert written == {"acc": 98.5, "n": 3, "hardware": helpers.hardware()}
    assert sorted(p.name for p in path.parent.iterdir()) == ["task1.json"]  # no temporary file left behind
    with pytest.raises(ValueError, match="Cannot tell the assignment"):
        helpers.record_result(acc=1.0)
    with pytest.raises(TypeError, match="record_result takes"):
        helpers.record_result(assignment="a3_feedforward", model=object())
    monkeypatch.setitem(helpers._RUN, "notebook", None)
    with pytest.raises(ValueError, match="call helpers.banner"):
        helpers.record_result(assignment="a3_feedforward", acc=1.0)


def test_smoke_mode_leaves_committed_outputs_untouched(tmp_path):
    """A notebook-like run with SMOKE=1 writes under .smoke/, never to figures/ or results/."""
    import subprocess
    import sys
    folder = helpers.REPO / "notebooks" / "a3_feedforward"  # a notebook of the repository, run in smoke mode
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import helpers, matplotlib.pyplot as plt;"
            "helpers.save_figure(plt.figure(), '_unit_test'); print(helpers.figure_path('_unit_test'));"
            "helpers.banner(); helpers.record_result(x=1); print(helpers.result_path())")
    env = dict(os.environ, SMOKE="1", MPLBACKEND="Agg", NOTEBOOK_PATH=str(folder / "_unit_test.ipynb"))
    env.pop("NOTEBOOK_OUTPUT_ROOT", None)
    out = subprocess.run([sys.executable, "-c", code, str(helpers.REPO)], cwd=folder, env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    out = [p for p in out if p.endswith((".png", ".json"))]
    try:
        assert all(Path(p).is_relative_to(helpers.REPO / ".smoke") for p in out) and len(out) == 2
        assert not (helpers.REPO / "figures" / "a3_feedforward" / "_unit_test.png").exists()
        assert not (helpers.REPO / "results" / "a3_feedforward" / "_unit_test.json").exists()
    finally:
        for p in out:
            Path(p).unlink(missing_ok=True)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "x.png"
    target.write_bytes(b"old")

    def broken(f):
        f.write(b"half")
        raise RuntimeError("interrupted")
    with pytest.raises(RuntimeError):
        helpers._atomic_write(target, broken)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_flip_and_crop_keeps_pixels_and_is_seeded():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8) + 1
    a = helpers.flip_and_crop(x, torch.Generator().manual_seed(0), pad=2)
    b = helpers.flip_and_crop(x, torch.Generator().manual_seed(0), pad=2)
    assert a.shape == x.shape and torch.equal(a, b)
    for n in range(2):  # every non-padding pixel of the output comes from the same image, possibly mirrored
        kept = set(a[n][a[n] > 0].tolist())
        assert kept <= set(x[n].flatten().tolist()) and len(kept) >= 3 * 6 * 6
    same = helpers.flip_and_crop(x, torch.Generator().manual_seed(0), pad=0)
    assert all(torch.equal(same[n], x[n]) or torch.equal(same[n], x[n].flip(2)) for n in range(2))


def test_nan_in_a_later_epoch_keeps_the_completed_history():
    x, y = blobs()
    model = tiny_model()

    def poison(step):
        if step == 12:  # during epoch 2 (10 batches per epoch)
            with torch.no_grad():
                model[0].weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="epoch 2, batch 3 of 10") as caught:
        helpers.fit(model, (x[:300], y[:300]), (x[300:], y[300:]), epochs=3, batch_size=32, progress=False,
                    optimizer=torch.optim.SGD(model.parameters(), lr=0.1), seed=0, on_batch=poison)
    assert len(caught.value.history["test_costs"]) == 1 and caught.value.history["test_accuracy"][0] > 50


def test_fit_applies_augment_to_every_training_batch_only():
    x, y = blobs(classes=3)
    calls = []

    def wipe(xb, generator):
        calls.append(len(xb))
        assert isinstance(generator, torch.Generator)
        return torch.zeros_like(xb)  # the network then sees no signal while training
    model = tiny_model(3)
    history = helpers.fit(model, (x[:300], y[:300]), (x[300:], y[300:]), epochs=2, batch_size=64, seed=0,
                          optimizer=torch.optim.SGD(model.parameters(), lr=0.05), progress=False, augment=wipe)
    assert calls == [64, 64, 64, 64, 44] * 2  # every batch of both epochs, never the evaluation
    assert history["test_accuracy"][-1] < 60  # blobs are ~100 % separable; wiped inputs leave about chance


def test_predict_with_the_binary_loss_thresholds_the_logit():
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0]]))
        model.bias.zero_()
    x = torch.tensor([[2.0, 5.0], [-1.0, 3.0], [0.5, -2.0]])
    assert helpers.predict(model, x, loss="bce").tolist() == [1, 0, 1]
    loss, accuracy = helpers.evaluate(model, x, torch.tensor([1, 0, 0]), loss="bce")
    assert accuracy == pytest.approx(200 / 3) and loss > 0


# ------------------------------------------------------------------------------ viewer, tables, notebook identity
def test_misclassified_indices_select_by_true_and_predicted_class():
    y_true = torch.tensor([0, 1, 2, 1, 0, 2, 1])
    y_pred = torch.tensor([0, 2, 2, 0, 1, 1, 2])
    assert helpers.misclassified_indices(y_true, y_pred) == [1, 3, 4, 5, 6]
    assert helpers.misclassified_indices(y_true, y_pred, true_class=1) == [1, 3, 6]
    assert helpers.misclassified_indices(y_true, y_pred, true_class=1, predicted_class=2) == [1, 6]
    assert helpers.misclassified_indices(y_true, y_pred, predicted_class=0) == [3]
    assert helpers.misclassified_indices(y_true, y_pred, true_class=2, predicted_class=0) == []


def test_predict_probabilities_sum_to_one_and_agree_with_predict():
    x, y = blobs()
    model = tiny_model()
    probabilities = helpers.predict_probabilities(model, x)
    assert probabilities.shape == (len(x), 3) and torch.allclose(probabilities.sum(1), torch.ones(len(x)))
    assert torch.equal(probabilities.argmax(1), helpers.predict(model, x))
    binary = helpers.predict_probabilities(tiny_model(1), x, loss="bce")
    assert binary.shape == (len(x), 2) and torch.equal(binary.argmax(1), helpers.predict(tiny_model(1), x, loss="bce"))


def test_markdown_table_and_its_error():
    assert helpers.markdown_table(["a", "b"], [[1, "x"]]) == "| a | b |\n|---|---|\n| 1 | x |"
    with pytest.raises(ValueError, match="has 1 cells for 2 headers"):
        helpers.markdown_table(["a", "b"], [[1]])


def test_compare_runs_plot_takes_an_x_key_and_log_axes():
    runs = {"sgd": {"iteration": [50, 100, 150], "test_costs": [1.0, 0.5, 0.3], "test_accuracy": [80, 90, 95]}}
    fig = helpers.compare_runs_plot(runs, "t", left=("test_costs", "cost"), x="iteration", xlabel="Iteration",
                                    log=(False, True))
    assert list(fig.axes[0].lines[0].get_xdata()) == [50, 100, 150] and fig.axes[0].get_xlabel() == "Iteration"
    assert fig.axes[0].get_yscale() == "linear" and fig.axes[1].get_yscale() == "log"


def test_notebook_name_from_the_runners_and_jupyter(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv("NOTEBOOK_PATH", "/x/notebooks/a3_feedforward/task2_seeds.ipynb")
    assert helpers.notebook_name() == "task2_seeds"
    monkeypatch.delenv("NOTEBOOK_PATH")
    monkeypatch.setenv("JPY_SESSION_NAME", "notebooks/hw1_mlp_cifar10/p1a_mlp.ipynb")
    assert helpers.notebook_name() == "p1a_mlp"
    monkeypatch.delenv("JPY_SESSION_NAME")
    assert helpers.notebook_name() is None


# ------------------------------------------------------------------------------------- inputs checked where they enter
def test_a_notebook_copied_elsewhere_writes_beside_itself_not_into_the_repository(tmp_path):
    import subprocess
    import sys
    folder = tmp_path / "hw1_mlp_cifar10"  # a foreign folder named like an assignment
    folder.mkdir()
    code = ("import helpers, matplotlib.pyplot as plt; helpers.banner('_foreign_copy_test');"
            "helpers.save_figure(plt.figure(), '_foreign_copy_test'); helpers.record_result(x=1)")
    env = {k: v for k, v in os.environ.items() if k not in ("NOTEBOOK_OUTPUT_ROOT", "NOTEBOOK_PATH")}
    subprocess.run([sys.executable, "-c", code], cwd=folder, env=dict(env, SMOKE="0", MPLBACKEND="Agg"), check=True,
                   capture_output=True)
    assert (folder / "results" / "hw1_mlp_cifar10" / "_foreign_copy_test.json").exists()
    assert (folder / "figures" / "hw1_mlp_cifar10" / "_foreign_copy_test.png").exists()
    assert not (helpers.REPO / "results" / "hw1_mlp_cifar10" / "_foreign_copy_test.json").exists()
    assert not (helpers.REPO / "figures" / "hw1_mlp_cifar10" / "_foreign_copy_test.png").exists()


def _pickle_file(path, obj):
    import pickle
    path.write_bytes(pickle.dumps(obj, protocol=2))
    return path


def test_cifar_batches_are_read_without_running_code_and_bad_labels_are_named(tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    bad = tmp_path / "data_batch_1"
    bad.write_bytes(pickle.dumps({b"data": Payload(), b"labels": [0]}, protocol=2))
    with pytest.raises(ValueError, match=r"data_batch_1.*asks for (posix|os)\.system"):
        helpers._load_batch(bad)
    assert not (tmp_path / "pwned").exists()
    good = _pickle_file(tmp_path / "test_batch", {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 9]})
    assert helpers._load_batch(good)["labels"] == [3, 9]
    wrong = _pickle_file(tmp_path / "data_batch_2", {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 12]})
    with pytest.raises(ValueError, match=r"data_batch_2 holds label 12 at position 1, outside the dataset's classes 0-9"):
        helpers._load_batch(wrong)


def test_confusion_matrix_refuses_labels_outside_its_classes():
    with pytest.raises(ValueError, match=r"y_pred holds label 2, outside the 2 classes \['cat', 'dog'\]"):
        helpers.confusion_matrix_plot([0, 1, 1], [0, 1, 2], ["cat", "dog"])


def test_fit_refuses_nan_and_0_255_inputs_and_warns_when_diverging():
    x, y = torch.rand(32, 4), torch.randint(0, 2, (32,))
    model = torch.nn.Linear(4, 2)
    run = lambda xs, lr=0.1, epochs=1: helpers.fit(  # noqa: E731
        model, (xs, y), (x, y), epochs=epochs, batch_size=8, seed=0, progress=False,
        optimizer=torch.optim.SGD(model.parameters(), lr=lr))
    with pytest.raises(ValueError, match="train: the inputs hold NaN"):
        run(torch.where(torch.arange(128).reshape(32, 4) == 5, float("nan"), x))
    with pytest.raises(ValueError, match=r"train: the inputs reach 255, which looks like 0-255 pixel values"):
        run(x * 0 + 255.0)
    with pytest.warns(RuntimeWarning, match="training is diverging.*learning rate"):
        run(x * 40, lr=1e4, epochs=3)


def test_a_damaged_upstream_results_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "OUTPUT_ROOT", tmp_path)
    path = tmp_path / "results" / "handin1_numpy_mlp" / "ex3_multilayer.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"test_accuracy": 98.')
    with pytest.raises(ValueError, match=r"ex3_multilayer\.json is not readable JSON.*re-run notebooks/handin1"):
        helpers.load_result("ex3_multilayer", "handin1_numpy_mlp")


def viewer_of_15_errors(monkeypatch, drawn):
    """A viewer of 30 images in classes a, b, c, the 15 odd ones wrong (true k read as k+1), 2 per page; each draw
    appends (titles, suptitle) to `drawn`."""
    monkeypatch.setattr(helpers, "image_grid", lambda images, titles, **kw: drawn.append((titles, kw["suptitle"])) or
                        matplotlib.pyplot.figure())
    y_true = torch.arange(30) % 3
    probabilities = torch.nn.functional.one_hot((y_true + 1) % 3, 3).float() * 0.8 + 0.1  # every image wrong
    probabilities[::2] = torch.nn.functional.one_hot(y_true[::2], 3).float()  # even images right
    return helpers.misclassified_viewer(torch.rand(30, 1, 4, 4), y_true, probabilities, ["a", "b", "c"], per_page=2)


def test_misclassified_viewer_pages_through_the_chosen_cell(monkeypatch):
    drawn = []
    true_box, predicted_box, _, page, _ = viewer_of_15_errors(monkeypatch, drawn).children[0].children
    assert len(drawn[-1][0]) == 2 and drawn[-1][1] == "page 1 of 8: 15 images" and page.max == 8
    true_box.value = 1  # odd images with true class b: 1, 7, 13, 19, 25 -> predicted c
    assert page.max == 3 and drawn[-1][0][0].startswith("b → c") and "p=0.90" in drawn[-1][0][0]
    page.value = 3
    assert len(drawn[-1][0]) == 1 and drawn[-1][1] == "page 3 of 3: 5 images"
    predicted_box.value = 0
    assert page.max == 1 and page.value == 1  # no image of class b predicted as a


def test_misclassified_viewer_any_keeps_its_label(monkeypatch):
    drawn = []
    true_box, predicted_box, *_ = viewer_of_15_errors(monkeypatch, drawn).children[0].children
    assert (true_box.label, predicted_box.label) == ("any", "any")
    true_box.value = 2
    assert true_box.label == "c" and drawn[-1][1] == "page 1 of 3: 5 images"
    true_box.value = -1  # "any" again
    assert (true_box.label, true_box.value, true_box.index) == ("any", -1, 0) and drawn[-1][1].endswith("15 images")


def test_misclassified_viewer_pages_from_1_within_bounds_and_back_to_1_on_a_new_filter(monkeypatch):
    drawn = []
    true_box, predicted_box, back, page, forward = viewer_of_15_errors(monkeypatch, drawn).children[0].children
    assert (page.value, page.min, page.max, back.disabled, forward.disabled) == (1, 1, 8, True, False)
    back.click()
    forward.click()
    assert page.value == 2 and drawn[-1][1].startswith("page 2 of 8")
    page.value = 99
    forward.click()
    assert page.value == 8 and forward.disabled and drawn[-1][1].startswith("page 8 of 8")
    back.click()
    assert page.value == 7 and not forward.disabled
    draws = len(drawn)
    true_box.value = 1
    assert page.value == 1 and drawn[-1][1] == "page 1 of 3: 5 images" and len(drawn) == draws + 1  # one redraw
    page.value = 2
    predicted_box.value = 2
    assert page.value == 1 and drawn[-1][1] == "page 1 of 3: 5 images"


def test_misclassified_viewer_shows_a_hint_before_it_is_run(monkeypatch):
    viewer = viewer_of_15_errors(monkeypatch, [])
    hint = "Run the notebook to page through the misclassified images."
    assert repr(viewer) == hint and viewer._repr_mimebundle_()["text/plain"] == hint


def test_mnist_labels_outside_the_ten_digits_are_refused_with_the_file(tmp_path):
    import struct
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for images, labels in helpers.MNIST_FILES.values():
        (raw / images).write_bytes(struct.pack(">IIII", 2051, 2, 28, 28) + bytes(2 * 28 * 28))
        (raw / labels).write_bytes(struct.pack(">II", 2049, 2) + bytes([3, 12]))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte holds label 12 at position 1, outside the "
                                         r"dataset's classes 0-9"):
        helpers.load_mnist(tmp_path)
