"""Faults and bad input: data paths, offline downloads, dead kernels, staged outputs, argument checks, file formats."""
import gzip
import io
import json
import os
import pickle
import signal
import stat
import subprocess
import sys
import urllib.error
import urllib.request
import time
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import psutil
import pytest
import torch

matplotlib.use("Agg")
import helpers  # noqa: E402

sys.path.insert(0, str(helpers.REPO / "tools"))
import cpu_load  # noqa: E402
import run_notebooks  # noqa: E402

SHARED_DATA = helpers.REPO.parent / "shared" / "data"


# ------------------------------------------------------------------------------------------- synthetic datasets
def write_mnist(root, n_train=20, n_test=10, gz=False):
    """Tiny MNIST idx files in torchvision's layout under root/MNIST/raw; returns the raw folder."""
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = np.array([2051, n, 28, 28], ">u4").tobytes() + rng.integers(0, 256, n * 784, np.uint8).tobytes()
        labels = np.array([2049, n], ">u4").tobytes() + (np.arange(n) % 10).astype(np.uint8).tobytes()
        for name, raw_bytes in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
            if gz:
                (raw / f"{name}.gz").write_bytes(gzip.compress(raw_bytes))
            else:
                (raw / name).write_bytes(raw_bytes)
    return raw


class _Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 strings (BINSTRING), as the official CIFAR-10 pickles hold them: read back with
    encoding='bytes' they are bytes (helpers), with encoding='latin1' str (torchvision)."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_string(self, obj):
        self.write(pickle.BINSTRING + len(obj).to_bytes(4, "little") + obj)
        self.memoize(obj)
    dispatch[bytes] = save_py2_string


def py2_pickle(obj):
    """`obj` pickled (protocol 2) with its bytes as Python 2 strings."""
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def write_cifar(root, per_batch=20):
    """Tiny CIFAR-10 python batches (labels cycling 0-9) under root/cifar-10-batches-py; returns that folder."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in [*helpers.CIFAR_FILES["train"], *helpers.CIFAR_FILES["test"]]:
        batch = {b"data": rng.integers(0, 256, (per_batch, 3072), np.uint8),
                 b"labels": [i % 10 for i in range(per_batch)], b"filenames": [b"x.png"] * per_batch}
        (folder / name).write_bytes(py2_pickle(batch))
    meta = {b"label_names": [c.encode() for c in helpers.CIFAR10_CLASSES], b"num_cases_per_batch": per_batch}
    (folder / "batches.meta").write_bytes(py2_pickle(meta))
    return folder


def test_synthetic_mnist_loads(tmp_path):
    write_mnist(tmp_path)
    x_train, y_train, x_test, y_test = helpers.load_mnist(tmp_path)
    assert x_train.shape == (20, 1, 28, 28) and x_test.shape == (10, 1, 28, 28)
    assert x_train.dtype == torch.float32 and 0 <= x_train.min() and x_train.max() <= 1
    assert y_test.tolist() == list(range(10))


def test_truncated_and_mismatched_mnist_name_the_file(tmp_path):
    raw = write_mnist(tmp_path)
    (raw / "t10k-images-idx3-ubyte").write_bytes((raw / "t10k-images-idx3-ubyte").read_bytes()[:2000])
    with pytest.raises(ValueError, match="truncated MNIST file .*t10k-images-idx3-ubyte"):
        helpers.load_mnist(tmp_path)
    write_mnist(tmp_path, n_train=20)
    (raw / "train-labels-idx1-ubyte").write_bytes(np.array([2049, 19], ">u4").tobytes() + bytes(19))
    with pytest.raises(ValueError, match="20 images but .* 19 labels"):
        helpers.load_mnist(tmp_path)


def test_synthetic_cifar_loads_through_both_routes(tmp_path):
    write_cifar(tmp_path)
    x_train, y_train, x_test, y_test, names = helpers.load_cifar10(tmp_path)
    assert x_train.shape == (100, 3, 32, 32) and x_test.shape == (20, 3, 32, 32) and names[3] == "cat"
    dataset = helpers.cifar10_dataset(train=False, root=tmp_path)
    assert len(dataset) == 20 and dataset.targets[:3] == [0, 1, 2]
    assert torch.equal(torch.from_numpy(dataset.data).permute(0, 3, 1, 2).float() / 255, x_test)


# --------------------------------------------------------------------------------- 1. relative DATA_ROOT
def test_relative_data_root_counts_from_the_repository(tmp_path, monkeypatch):
    folder = helpers.REPO / "build" / "test_data_root"
    write_mnist(folder)
    monkeypatch.setenv("DATA_ROOT", "build/test_data_root")
    monkeypatch.chdir(tmp_path)  # a kernel's folder is notebooks/<assignment>/, not the repository root
    root, can_download = helpers.data_root()
    assert root == folder and not can_download
    assert helpers.load_mnist()[0].shape == (20, 1, 28, 28)


def test_missing_file_error_gives_absolute_path_and_working_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DATA_ROOT", "build/nowhere")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as error:
        helpers.load_mnist()
    message = str(error.value)
    assert str(helpers.REPO / "build" / "nowhere" / "MNIST" / "raw") in message
    assert f"working folder {tmp_path}" in message and "repository root" in message


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="needs ../shared/data beside the repository")
def test_readme_data_setting_runs_a_real_notebook_under_nbval():
    env = {**os.environ, "DATA_ROOT": "../shared/data"}
    notebook = "notebooks/handin1_numpy_mlp/ex2_linear_model.ipynb"
    done = subprocess.run([sys.executable, "-m", "pytest", "--nbval", "-q", "-p", "no:randomly", notebook],
                          cwd=helpers.REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "passed" in done.stdout


# -------------------------------------------------------------------------------------- 2. offline downloads
@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No DATA_ROOT, an empty repository data folder, and every download failing as it does without internet."""
    monkeypatch.delenv("DATA_ROOT", raising=False)
    monkeypatch.setattr(helpers, "REPO", tmp_path)

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return tmp_path


@pytest.mark.parametrize("loader", [helpers.load_mnist, helpers.load_cifar10])
def test_offline_download_failure_says_how_to_use_data_root(offline, loader):
    with pytest.raises(RuntimeError) as error:
        loader()
    message = str(error.value)
    assert "Could not download" in message and "DATA_ROOT" in message and str(offline / "data") in message


def test_torchvision_cifar_route_names_truncated_and_missing_files(tmp_path, monkeypatch):
    sys.path.insert(0, str(helpers.REPO / "notebooks" / "a3_cnn_catdog"))
    import catdog
    folder = write_cifar(tmp_path)
    monkeypatch.setenv("DATA_ROOT", str(tmp_path))
    train, test = catdog.cifar10_datasets(transform=None)
    assert len(train) == 100 and len(test) == 20
    (folder / "data_batch_3").write_bytes((folder / "data_batch_3").read_bytes()[:5000])
    with pytest.raises(ValueError, match="truncated or foreign CIFAR-10 file .*data_batch_3"):
        catdog.cifar10_datasets(transform=None)
    (folder / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="test_batch.*DATA_ROOT"):
        catdog.cifar10_datasets(transform=None)


# ---------------------------------------------------------------------------- 3. and 4. the notebook runner
@pytest.fixture
def tiny_repo(tmp_path, monkeypatch):
    """A throwaway repository whose notebooks import the real helpers; returns its root."""
    (tmp_path / "notebooks" / "a3_feedforward").mkdir(parents=True)
    monkeypatch.setattr(run_notebooks, "PRE_RUN_SECONDS", 0.2)  # the CPU check before a run, shortened for tests
    return tmp_path


def notebook(repo, name, *sources, setup=True):
    """Write a notebook of code cells (after a cell importing helpers) into the tiny repository; returns its path."""
    nb = nbformat.v4.new_notebook()
    setup = f"import sys; sys.path.insert(0, {str(helpers.REPO)!r}); import helpers" if setup else "import time"
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (setup, *sources)]
    path = repo / "notebooks" / "a3_feedforward" / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


SAVE = ("import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt\n"
        "helpers.banner('{name}'); helpers.save_figure(plt.figure(), 'curve'); helpers.record_result(value={value})")


def test_dead_kernel_is_reported_and_the_run_goes_on(tiny_repo, capsys):
    killer = notebook(tiny_repo, "a_killer", "print('before')", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    fine = notebook(tiny_repo, "b_fine", "print('fine')")
    status = run_notebooks.run_all([killer, fine], tiny_repo)
    out = capsys.readouterr().out
    assert status == 1
    assert "a_killer.ipynb: FAILED at cell 2" in out and "kernel died" in out
    assert "b_fine.ipynb: ok" in out and "1/2 notebooks ran" in out
    assert (tiny_repo / "build" / "failed" / "a3_feedforward" / "a_killer.ipynb").exists()


def test_cell_timeout_is_reported_without_colour_codes(tiny_repo, monkeypatch):
    monkeypatch.setenv("NOTEBOOK_CELL_TIMEOUT", "2")
    slow = notebook(tiny_repo, "slow", "import time; time.sleep(60)", setup=False)
    error = run_notebooks.run(slow, tiny_repo, smoke=False)
    assert "cell 1" in error and "NOTEBOOK_CELL_TIMEOUT=2" in error
    monkeypatch.delenv("NOTEBOOK_CELL_TIMEOUT")
    broken = notebook(tiny_repo, "broken", "raise ValueError('bad value 42')")
    error = run_notebooks.run(broken, tiny_repo, smoke=False)
    assert "ValueError: bad value 42" in error and "\x1b[" not in error


def test_outputs_land_only_when_the_whole_notebook_succeeds(tiny_repo):
    path = notebook(tiny_repo, "task", SAVE.format(name="task", value=1))
    assert run_notebooks.run(path, tiny_repo, smoke=False) is None
    figure = tiny_repo / "figures" / "a3_feedforward" / "curve.png"
    result = tiny_repo / "results" / "a3_feedforward" / "task.json"
    assert json.loads(result.read_text())["value"] == 1 and figure.exists()
    executed = nbformat.read(path, as_version=4)
    assert executed.cells[1].execution_count is not None
    before = figure.read_bytes(), result.read_text(), path.read_text()
    # the same notebook again: it writes new outputs, then fails in a later cell -> nothing of it lands
    notebook(tiny_repo, "task", SAVE.format(name="task", value=2), "raise RuntimeError('late failure')")
    source_after_edit = path.read_text()
    error = run_notebooks.run(path, tiny_repo, smoke=False)
    assert "late failure" in error
    assert result.read_text() == before[1] and figure.read_bytes() == before[0]
    assert path.read_text() == source_after_edit  # the notebook is left as it was
    kept = tiny_repo / "build" / "failed" / "a3_feedforward" / "task_outputs" / "results" / "a3_feedforward"
    assert json.loads((kept / "task.json").read_text())["value"] == 2


def test_a_second_run_of_the_same_notebook_is_refused(tiny_repo):
    path = notebook(tiny_repo, "task", "print(1)")
    held = run_notebooks.lock(path, tiny_repo)
    try:
        assert "another process is running this notebook" in run_notebooks.run(path, tiny_repo, smoke=False)
    finally:
        held.close()
    assert run_notebooks.run(path, tiny_repo, smoke=False) is None


def test_smoke_make_all_lands_under_dot_smoke(tiny_repo, monkeypatch):
    path = notebook(tiny_repo, "task", SAVE.format(name="task", value=3), "assert helpers.SMOKE")
    original = path.read_text()
    monkeypatch.setenv("SMOKE", "1")
    assert run_notebooks.run_all([path], tiny_repo) == 0
    assert path.read_text() == original
    assert not (tiny_repo / "results").exists() and not (tiny_repo / "figures").exists()
    assert json.loads((tiny_repo / ".smoke" / "results" / "a3_feedforward" / "task.json").read_text())["value"] == 3
    assert (tiny_repo / ".smoke" / "notebooks" / "a3_feedforward" / "task.ipynb").exists()


def test_a_full_run_notes_what_it_landed_for_the_report_builder(tiny_repo, monkeypatch):
    import landed
    monkeypatch.setenv("SMOKE", "0")
    path = notebook(tiny_repo, "task", SAVE.format(name="task", value=3))
    assert run_notebooks.run_all([path], tiny_repo) == 0
    nb = nbformat.read(path, as_version=4)
    assert landed.read(tiny_repo) == {"notebooks/a3_feedforward/task.ipynb": landed.outputs_digest(nb)}
    assert landed.problems(tiny_repo, path, nb) == []


def test_checkpoints_of_earlier_notebooks_are_readable_while_staged(tiny_repo):
    saved = tiny_repo / "checkpoints" / "a3_feedforward" / "weights.pt"
    saved.parent.mkdir(parents=True)
    saved.write_text("w")
    path = notebook(tiny_repo, "reader", "assert helpers.checkpoint_path('weights').read_text() == 'w'")
    assert run_notebooks.run(path, tiny_repo, smoke=False) is None


# ------------------------------------------------------------------------------------------ 5. argument checks
def blobs(n=60):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 2, generator=g), torch.randint(0, 2, (n,), generator=g)


def fit(train, test, **kwargs):
    model = torch.nn.Linear(2, 2)
    options = dict(epochs=1, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), batch_size=16, progress=False)
    return helpers.fit(model, train, test, **{**options, **kwargs})


@pytest.mark.parametrize("change, message", [
    (dict(train=(blobs()[0], torch.zeros(70, dtype=torch.long))), "train: 60 inputs but 70 labels"),
    (dict(test=(blobs()[0][:10], torch.zeros(12, dtype=torch.long))), "test: 10 inputs but 12 labels"),
    (dict(train=(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))), "train is empty"),
    (dict(epochs=0), "epochs=0 must be a positive integer"),
    (dict(batch_size=0), "batch_size=0 must be a positive integer"),
    (dict(batch_size=-4), "batch_size=-4 must be"),
    (dict(batch_size=32.0), "batch_size=32.0 must be"),
])
def test_fit_names_bad_arguments(change, message):
    x, y = blobs()
    arguments = dict(train=(x, y), test=(x[:10], y[:10]))
    arguments.update({k: v for k, v in change.items() if k in arguments})
    with pytest.raises(ValueError, match=message):
        fit(arguments["train"], arguments["test"], **{k: v for k, v in change.items() if k not in arguments})


def test_evaluate_refuses_labels_of_another_length():
    x, y = blobs()
    with pytest.raises(ValueError, match="60 inputs but 59 labels"):
        helpers.evaluate(torch.nn.Linear(2, 2), x, y[:59])


@pytest.mark.parametrize("classes, message", [(["cat", "wolf"], "Unknown CIFAR-10 class 'wolf'"),
                                              ([-1], "Unknown CIFAR-10 class -1"), ([10], "class 10"),
                                              (["cat", 3], "each class once"), ([], "at least one class")])
def test_cifar_classes_are_checked(tmp_path, classes, message):
    write_cifar(tmp_path)
    with pytest.raises(ValueError, match=message):
        helpers.load_cifar10(tmp_path, classes=classes)
    assert helpers.load_cifar10(tmp_path, classes=["dog", 3])[4] == ["dog", "cat"]


# ------------------------------------------------------------------------------------- 6. files and formats
def test_saved_files_honour_the_umask_and_nan_is_null(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "OUTPUT_ROOT", tmp_path)
    old = os.umask(0o022)
    try:
        monkeypatch.setitem(helpers._RUN, "notebook", "r")
        helpers.record_result(assignment="a3_feedforward", loss=float("nan"), best=[1.0, float("inf")],
                              notebook_seconds=1.0)
        helpers.save_figure(matplotlib.pyplot.figure(), "f", assignment="a3_feedforward")
        path, figure = helpers.result_path("a3_feedforward"), helpers.figure_path("f", "a3_feedforward")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 and stat.S_IMODE(figure.stat().st_mode) == 0o644
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"best": [1.0, None], "loss": None, "hardware": helpers.hardware(), "notebook_seconds": 1.0}


def test_banner_says_at_the_start_when_the_assignment_is_unknown(monkeypatch):
    monkeypatch.setenv("NOTEBOOK_PATH", "task1_mnist_classification.ipynb")
    monkeypatch.chdir(helpers.REPO)
    with pytest.raises(ValueError, match="Cannot tell the assignment .* start the kernel in notebooks/<assignment>/"):
        helpers.banner()
    monkeypatch.chdir(helpers.REPO / "notebooks" / "a3_feedforward")
    helpers.banner()


def first_code_cell(path):
    return next(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")


def test_every_notebook_opens_with_the_same_one_line_setup_cell():
    paths = sorted((helpers.REPO / "notebooks").rglob("*.ipynb"))
    assert len(paths) >= 28 and {first_code_cell(p) for p in paths} == {"import helpers; helpers.banner()"}


def test_a_notebook_copied_out_of_the_repository_says_what_it_needs(tmp_path):
    setup = first_code_cell(helpers.REPO / "notebooks" / "a3_feedforward" / "task1_mnist_classification.ipynb")
    env = dict(os.environ, NOTEBOOK_PATH=str(tmp_path / "task1_mnist_classification.ipynb"))
    done = subprocess.run([sys.executable, "-c", setup], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.returncode != 0 and "Cannot tell the assignment" in done.stderr
    assert "notebooks/<assignment>/" in done.stderr
    env.pop("NOTEBOOK_PATH")
    env.pop("JPY_SESSION_NAME", None)
    done = subprocess.run([sys.executable, "-c", setup], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.returncode != 0 and "Cannot tell which notebook this is" in done.stderr
    assert 'helpers.banner("task2_seeds")' in done.stderr
    assert "notebooks/<assignment>/" in done.stderr and "assignment=" not in done.stderr  # both fixes at once


def test_ctrl_c_keeps_the_landed_set_and_the_staged_outputs(tiny_repo, monkeypatch):
    path = notebook(tiny_repo, "task", "print(1)")
    landed = tiny_repo / "figures" / "a3_feedforward" / "curve.png"
    landed.parent.mkdir(parents=True)
    landed.write_bytes(b"old")

    class Interrupted:  # stands in for nbclient: the notebook has written a new figure when Ctrl-C arrives
        def __init__(self, nb, **kwargs):
            pass

        def execute(self):
            staged = Path(os.environ["NOTEBOOK_OUTPUT_ROOT"]) / "figures" / "a3_feedforward" / "curve.png"
            staged.parent.mkdir(parents=True)
            staged.write_bytes(b"new")
            raise KeyboardInterrupt
    monkeypatch.setattr(run_notebooks, "NotebookClient", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_notebooks.run(path, tiny_repo, smoke=False)
    assert landed.read_bytes() == b"old" and "NOTEBOOK_OUTPUT_ROOT" not in os.environ
    kept = tiny_repo / "build" / "failed" / "a3_feedforward" / "task_outputs" / "figures" / "a3_feedforward"
    assert (kept / "curve.png").read_bytes() == b"new"


STUBBORN = "while True:\n    try:\n        time.sleep(60)\n    except KeyboardInterrupt:\n        pass"


@pytest.mark.parametrize("when, presses, cell", [
    ("start", 1, "time.sleep(60)"),  # Ctrl-C while the kernel starts
    ("cell", 1, "time.sleep(60)"),  # ... while a cell runs: the cell is interrupted
    ("cell", 2, STUBBORN),  # ... twice, at a cell that swallows the interrupt: the kernel is killed
])
def test_ctrl_c_on_the_runner_reports_saves_and_stops(tiny_repo, when, presses, cell):
    marker = tiny_repo / "started"
    path = notebook(tiny_repo, "sleepy", f"import os; open({str(marker)!r}, 'w').write(str(os.getpid()))\n{cell}",
                    setup=False)
    committed = tiny_repo / "results" / "a3_feedforward" / "sleepy.json"
    committed.parent.mkdir(parents=True)
    committed.write_text('{"value": 1}\n')
    before = path.read_bytes(), committed.read_bytes()
    driver = (f"import sys; from pathlib import Path; sys.path.insert(0, {str(helpers.REPO / 'tools')!r}); "
              f"import run_notebooks as r; r.PRE_RUN_SECONDS = 0.2; sys.exit(r.main([Path({str(path)!r})], "
              f"Path({str(tiny_repo)!r})))")
    runner = subprocess.Popen([sys.executable, "-c", driver], cwd=tiny_repo, env=dict(os.environ, SMOKE="0"), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        head = ""
        while "sleepy.ipynb ..." not in head:
            head += runner.stdout.readline() or pytest.fail(f"the runner ended early: {head}")
        deadline = time.monotonic() + 120
        while when == "cell" and not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        for _ in range(presses):
            runner.send_signal(signal.SIGINT)
            time.sleep(2)
        out = head + runner.communicate(timeout=120)[0]
    finally:
        runner.kill()
    assert runner.returncode == -signal.SIGINT, out
    assert "sleepy.ipynb: FAILED at " in out and "interrupted (Ctrl-C)" in out and "Interrupted (Ctrl-C)" in out
    assert "Traceback" not in out and "DeadKernelError" not in out and "AssertionError" not in out
    assert (path.read_bytes(), committed.read_bytes()) == before
    failed = tiny_repo / "build" / "failed" / "a3_feedforward"
    assert (failed / "sleepy.ipynb").exists() and (failed / "sleepy_outputs").is_dir()
    if marker.exists():  # the kernel ran a cell: it is gone now
        kernel, deadline = int(marker.read_text()), time.monotonic() + 10
        while not gone(kernel):
            assert time.monotonic() < deadline, f"kernel {kernel} still runs"
            time.sleep(0.2)


def gone(pid):
    """Whether process `pid` has ended (a zombie counts)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# ------------------------------------------------------------------------------ 7. CPU contention and claims
def samples(other_cores, ours=2.0):
    """Synthetic cumulative samples one second apart: other work of other_cores[i] cores in second i, our tree
    busy with `ours` cores throughout."""
    found, busy, tree = [(0.0, 0.0, 0.0)], 0.0, 0.0
    for second, other in enumerate(other_cores, 1):
        busy, tree = busy + ours + other, tree + ours
        found.append((float(second), busy, tree))
    return found


@pytest.mark.parametrize("other, share, peak, marked", [
    ([0.0] * 600, 0.0, 0.0, False),  # our own two busy cores are not other work
    ([0.1] * 600, 0.1, 0.1, False),  # at the mean limit, not above it
    ([0.2] * 600, 0.2, 0.2, True),  # steady background work
    ([0.0] * 300 + [1.0] * 6 + [0.0] * 294, 0.01, 1.0, True),  # a 6-s burst that averages out over 10 min
    ([0.0] * 300 + [0.5] * 3 + [0.0] * 297, 0.0025, 0.3, False),  # 3 s of half a core: 0.3 over the busiest 5 s
    ([0.3] * 3, 0.3, 0.3, True),  # a notebook shorter than the window: the whole span is the window
])
def test_contention_marks_planted_load(other, share, peak, marked):
    verdict = cpu_load.contention(samples(other))
    assert verdict == {"other_cpu_share": pytest.approx(share, abs=1e-3),
                       "peak_5s_share": pytest.approx(peak, abs=1e-3), "marked": marked}


def test_sampler_counts_a_burning_process_as_other_work_only_outside_our_tree():
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        with cpu_load.Sampler(interval=0.5) as ours, cpu_load.Sampler(root=sleeper.pid, interval=0.5) as outside:
            time.sleep(2.5)
    finally:
        burner.kill(), sleeper.kill(), burner.wait(), sleeper.wait()
    mine, theirs = ours.verdict(), outside.verdict()  # the same seconds, seen from the two trees
    assert theirs["marked"] and theirs["other_cpu_share"] > 0.4
    assert theirs["other_cpu_share"] - mine["other_cpu_share"] > 0.4  # the burner, ours in the first view only
    assert burner.pid in [pid for _, pid, _ in outside.busiest(top=5)]


BURN_OUTSIDE = ("import json, os, pathlib, subprocess, sys, time\n"
                "burn = 'import time\\nend = time.time() + 2\\nwhile time.time() < end: pass'\n"
                "orphan = 'import subprocess, sys; subprocess.Popen([sys.executable, \"-c\", sys.argv[1]])'\n"
                "subprocess.run([sys.executable, '-c', orphan, burn], check=True)  # its parent exits: not ours\n"
                "result = pathlib.Path(os.environ['NOTEBOOK_OUTPUT_ROOT'], 'results', 'a3_feedforward', 'busy.json')\n"
                "result.parent.mkdir(parents=True); result.write_text(json.dumps({'value': 1})); time.sleep(2.5)")


def test_a_notebook_run_beside_other_work_is_marked_in_its_results_and_the_time_table(tiny_repo, capsys, monkeypatch):
    monkeypatch.setenv("SMOKE", "0")  # a full-mode run (make test's nbval half sets SMOKE=1 for the whole session)
    path = notebook(tiny_repo, "busy", BURN_OUTSIDE, setup=False)
    assert run_notebooks.run_all([path], tiny_repo, keep_times=True) == 0
    out = capsys.readouterr().out
    numbers = json.loads((tiny_repo / "results" / "a3_feedforward" / "busy.json").read_text())
    assert numbers["value"] == 1 and numbers["cpu_contention"]["marked"] is True
    assert numbers["cpu_contention"]["other_cpu_share"] > 0.1
    row = next(line for line in (tiny_repo / "results" / "run_times.md").read_text().splitlines() if "busy" in line)
    assert row.endswith(" marked** |") and "MARKED: timings may be bent" in out and "; busiest: " in out


def test_the_kernel_s_cpu_counts_as_ours_after_it_has_exited(tiny_repo):
    path = notebook(tiny_repo, "own", "end = time.time() + 2\nwhile time.time() < end: pass", setup=False)
    sampler = cpu_load.Sampler()
    assert run_notebooks.run(path, tiny_repo, smoke=False, sampler=sampler) is None
    assert sampler.samples[-1][2] - sampler.samples[0][2] > 1.8  # the kernel's 2 s, read from its reaped time


CLAIMS = (f"import sys; sys.path.insert(0, {str(helpers.REPO)!r}); import rules\n"
          "rules.claim(1 > 2, 'one is more than two'); rules.claim(2 > 1, 'two is more than one')")


def test_contradicted_claims_are_listed_and_fail_the_run_but_the_notebook_lands(tiny_repo, capsys, monkeypatch):
    monkeypatch.setenv("SMOKE", "0")  # a full-mode run (make test's nbval half sets SMOKE=1 for the whole session)
    wrong = notebook(tiny_repo, "wrong", CLAIMS, setup=False)
    fine = notebook(tiny_repo, "fine", "print('no claims')", setup=False)
    assert run_notebooks.run_all([wrong, fine], tiny_repo) == 1
    out = capsys.readouterr().out
    listing = out[out.index("1 claim(s) contradicted by this run"):]
    assert "notebooks/a3_feedforward/wrong.ipynb: one is more than two" in listing
    assert "two is more than one" not in listing and "fine.ipynb" not in listing
    assert "2/2 notebooks ran" in out
    assert run_notebooks.contradictions(wrong) == ["one is more than two"]  # landed in place, verdict shown
    monkeypatch.setenv("SMOKE", "1")
    assert run_notebooks.run_all([notebook(tiny_repo, "wrong", CLAIMS, setup=False)], tiny_repo) == 0
    assert "contradicted" not in capsys.readouterr().out
