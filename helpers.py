"""Shared helpers for every notebook: data, seeding, one training loop, plots, saving figures and results.

Data are loaded once into float32 tensors and batched by indexing; every PyTorch notebook trains with `fit`.
`SMOKE=1` in the environment switches notebooks to a quick check whose figures and results go to `.smoke/`.
"""
import functools
import json
import logging
import math
import os
import pickle
import platform
import random
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path


@functools.cache
def _cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        return next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return []


def _choose_openblas_kernel():
    """Use OpenBLAS's AVX-512 (SkylakeX) kernels on AVX-512 CPUs instead of the generic 'Haswell' ones.

    Measured in benchmarks/README.md ("OpenBLAS kernel"): 2.5x the float32 GFLOP/s on a 2048² matmul, no change at
    hand-in 1's small batch-64 matmuls. Runs before NumPy is first imported; it replaces only the 'Haswell' choice
    (which OpenBLAS also makes for AMD Zen 4 and which this machine presets); KEEP_OPENBLAS_CORETYPE=1 keeps yours.
    """
    if os.environ.get("KEEP_OPENBLAS_CORETYPE") == "1" or os.environ.get("OPENBLAS_CORETYPE", "Haswell") != "Haswell":
        return
    flags = _cpu_flags()
    if "avx512f" in flags and "avx512bw" in flags:
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"


_choose_openblas_kernel()
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import rules  # noqa: E402  (the comparison rules, claims and timing rules)
from tqdm.auto import tqdm  # noqa: E402

# Flush denormal floats to zero, before the first parallel operation starts PyTorch's worker threads (which inherit
# the setting). Adam's moment estimates of dead ReLU units decay through the denormal range, where every multiply
# traps to microcode: measured 2.5x slower epochs for A3's network at lr 1e-2 (benchmarks/README.md, "Denormals").
torch.set_flush_denormal(os.environ.get("KEEP_DENORMALS") != "1")  # KEEP_DENORMALS=1: IEEE denormals (benchmark)

# Figures are drawn to be printed: a report shrinks a 10-inch-wide figure to the page's 7 inches, so the text is set
# large enough (11-12 pt) to print at about 8 pt.
plt.rcParams.update({"font.size": 12, "axes.titlesize": 12, "axes.labelsize": 12, "xtick.labelsize": 11,
                     "ytick.labelsize": 11, "legend.fontsize": 11, "figure.titlesize": 13})

REPO = Path(__file__).resolve().parent
SMOKE = os.environ.get("SMOKE", "0") not in ("", "0")
# where figures, results and checkpoints go: .smoke/ in smoke mode; `make all` points NOTEBOOK_OUTPUT_ROOT at a staging
# folder and moves its files in place only when the whole notebook has run (tools/run_notebooks.py)
def _output_root():
    """Where figures, results and checkpoints go: the runner's staging folder, else this repository when the kernel
    runs in it (notebooks/<assignment>/, or the folder a code zip unpacks to), else the kernel's own folder (a notebook
    copied elsewhere never writes into the repository); under .smoke/ in smoke mode."""
    if os.environ.get("NOTEBOOK_OUTPUT_ROOT"):
        return Path(os.environ["NOTEBOOK_OUTPUT_ROOT"])
    cwd = Path.cwd().resolve()
    home = REPO if cwd == REPO or cwd.parent == REPO / "notebooks" else cwd
    return home / ".smoke" if SMOKE else home


OUTPUT_ROOT = _output_root()
PROGRESS_BARS = os.environ.get("PROGRESS_BARS", "1") != "0"  # the notebook runners turn bars off: reports keep summaries
PRECISIONS = ("float32", "mixed")  # fit's `precision`: mixed = bfloat16 autocast on CPU / bf16 or fp16 on GPU
ASSIGNMENTS = {  # notebooks/<assignment>/, in the order they are run and reported: (report title, spec file)
    "handin1_numpy_mlp": ("Hand-in 1: a NumPy neural network on MNIST", "handin1_numpy_mlp_mnist.md"),
    "handin2_pytorch_cnn": ("Hand-in 2: PyTorch and CNNs on MNIST", "handin2_pytorch_cnn_mnist.md"),
    "hw1_mlp_cifar10": ("Homework 1: MLPs, optimization and CNNs (MNIST, CIFAR-10)", "hw1_mlp_optim_cifar10.md"),
    "a3_cnn_catdog": ("A3: convolutional networks, cat vs dog on CIFAR-10", "adl_a3_cnn_resnet_catdog.md"),
    "a3_feedforward": ("A3: feedforward networks on MNIST", "adl_a3_feedforward_mnist.md"),
}
MNIST_CLASSES = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
CIFAR_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


# ----------------------------------------------------------------------------------------------- mode and device
def pick(full, smoke):
    """Return `smoke` in smoke mode and `full` otherwise (epochs, sample counts, grid sizes)."""
    return smoke if SMOKE else full


def shrink(n_smoke, *tensors):
    """In smoke mode keep only the first `n_smoke` rows of each tensor; in full mode return them unchanged."""
    return tuple(t[:n_smoke] for t in tensors) if SMOKE else tensors


def get_device():
    """The best available device: CUDA, then Apple MPS, then CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def hardware():
    """One line naming the device, the CPU and the thread count, for notebooks and reports."""
    device = get_device()
    if device.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(0)} (CUDA)"
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{device.type.upper()} {cpu}, {torch.get_num_threads()} threads"


_RUN = {"notebook": None, "start": time.perf_counter()}  # set by banner(): which notebook runs, since when


def notebook_name():
    """The running notebook's file name without .ipynb, or None: from NOTEBOOK_PATH (set by `make` and pytest),
    Jupyter's JPY_SESSION_NAME, or VS Code's __vsc_ipynb_file__."""
    path = os.environ.get("NOTEBOOK_PATH") or os.environ.get("JPY_SESSION_NAME")
    if not path:
        try:
            path = get_ipython().user_ns.get("__vsc_ipynb_file__")  # noqa: F821 (defined inside IPython only)
        except NameError:
            path = None
    return Path(path).stem if path and str(path).endswith(".ipynb") else None


def banner(notebook=None):
    """Start a notebook: note its name and start time (record_result adds them), print the run mode, device and
    library versions, and fail early when it is not in an assignment folder or its name cannot be told.

    `notebook` names it where the front end does not say (Colab: `helpers.banner("task2_seeds")`)."""
    _RUN.update(notebook=notebook or notebook_name(), start=time.perf_counter())
    problems = [] if _RUN["notebook"] else [
        "Cannot tell which notebook this is (its results file is named after it): this front end sets neither "
        "NOTEBOOK_PATH nor JPY_SESSION_NAME. Fix: call helpers.banner(\"<notebook name>\"), e.g. "
        "helpers.banner(\"task2_seeds\")."]
    try:
        current_assignment()
    except ValueError:
        problems.append(_folder_problem())
    if problems:  # every fix at once, before anything runs
        raise ValueError("The first cell cannot start this notebook:\n- " + "\n- ".join(problems))
    if SMOKE:
        print("*** SMOKE MODE (SMOKE=1): tiny data, 1-2 epochs; figures and results go to .smoke/, not the report ***")
    else:
        print("Full mode: the numbers below are the ones the report uses.")
    print(f"{_RUN['notebook']} | {hardware()} | torch {torch.__version__} | numpy {np.__version__}")


def seed_everything(seed):
    """Seed Python, NumPy and PyTorch (CPU and CUDA) so that a run can be repeated exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


# ------------------------------------------------------------------------------------------------------- data
def data_root(root=None):
    """The folder datasets are read from and whether downloads are allowed: `root`, else $DATA_ROOT, else `data/`.

    A relative `root` or DATA_ROOT means relative to the repository root (where the README's commands are typed),
    whatever folder the notebook's kernel runs in. Without either, torchvision downloads into `data/` in the repo.
    """
    if root is None and os.environ.get("DATA_ROOT"):
        root = os.environ["DATA_ROOT"]
    if root is None:
        return REPO / "data", True
    root = Path(root).expanduser()
    return (root if root.is_absolute() else (REPO / root).resolve()), False


def _missing(path, can_download):
    """The error raised when a dataset file is absent, saying where we looked and how to fix it."""
    fix = ("the download into data/ did not produce it; check the internet connection" if can_download else
           "point DATA_ROOT (or the root argument) at a folder holding it, or unset DATA_ROOT to let torchvision "
           "download into data/; a relative DATA_ROOT is taken relative to the repository root " + str(REPO))
    return FileNotFoundError(f"Dataset file not found: {Path(path).absolute()} (DATA_ROOT="
                             f"{os.environ.get('DATA_ROOT')!r}, working folder {Path.cwd()}). Fix: {fix}.")


def _download(dataset_class, root, layout):
    """Download a torchvision dataset (train and test) into `root`, or raise an error that says how to work offline."""
    try:
        for train in (True, False):
            dataset_class(root, train=train, download=True)
    except (OSError, RuntimeError) as e:  # urllib's URLError is an OSError; torchvision's MNIST raises RuntimeError
        raise RuntimeError(f"Could not download {dataset_class.__name__} into {root}: {type(e).__name__}: "
                           f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}. Without internet, set "
                           f"DATA_ROOT to a folder that holds {layout} (e.g. `export DATA_ROOT=../shared/data`; a "
                           f"relative path counts from the repository root {REPO}).") from e


def _mnist_error(raw, exception):
    """The error naming the MNIST file torchvision could not read (checked one by one with torchvision's reader)."""
    from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor
    for name in (n for names in MNIST_FILES.values() for n in names):
        try:
            read_sn3_pascalvincent_tensor(str(raw / name), strict=True)
        except Exception as e:  # a short file fails torchvision's size check or its reshape
            return ValueError(f"Corrupt or truncated MNIST file {raw / name}: {type(e).__name__}: {e}. "
                              "Replace it with a fresh copy.")
    return exception


def load_mnist(root=None):
    """MNIST as float32 tensors in [0, 1] of shape (N, 1, 28, 28) and int64 labels: x_train, y_train, x_test, y_test.

    Read once through torchvision's MNIST class (its `.data` and `.targets`); a missing, truncated or mismatched file
    is named in the error.
    """
    import torchvision
    root, can_download = data_root(root)
    raw = root / "MNIST" / "raw"
    names = [n for pair in MNIST_FILES.values() for n in pair]
    if can_download and not all((raw / n).exists() for n in names):
        _download(torchvision.datasets.MNIST, root, "MNIST/raw/ (torchvision's layout)")
    for name in names:
        if not (raw / name).exists() and (raw / f"{name}.gz").exists():
            raise FileNotFoundError(f"Only {raw / name}.gz is there: torchvision reads the un-gzipped file. Fix: "
                                    f"gunzip -k {raw / name}.gz (or point DATA_ROOT at a copy that has both).")
        if not (raw / name).exists():
            raise _missing(raw / name, can_download)
    out = []
    for train, (images, labels) in zip((True, False), MNIST_FILES.values()):
        try:
            dataset = torchvision.datasets.MNIST(root, train=train, download=False)
        except Exception as e:
            raise _mnist_error(raw, e) from e
        if len(dataset.data) != len(dataset.targets):
            raise ValueError(f"Corrupt MNIST files: {raw / images} holds {len(dataset.data)} images but "
                             f"{raw / labels} {len(dataset.targets)} labels. Replace them with fresh copies.")
        out += [dataset.data.float().div_(255).unsqueeze(1), _checked_labels(dataset.targets.long(), raw / labels)]
    return tuple(out)


def _checked_labels(labels, path, n_classes=10):
    """`labels` (int64 tensor) when all lie in 0..n_classes-1, else an error naming the file and the first bad value."""
    bad = (labels < 0) | (labels >= n_classes)
    if bool(bad.any()):
        raise ValueError(f"{path} holds label {int(labels[bad][0])} at position {int(bad.nonzero()[0])}, outside the "
                         f"dataset's classes 0-{n_classes - 1}: the file is corrupt or not this dataset's. Fix: "
                         "replace it with a fresh copy.")
    return labels


def _cifar10_folder(root=None):
    """The folder holding CIFAR-10's python batches (downloaded first where allowed); names any missing file."""
    import torchvision
    root, can_download = data_root(root)
    folder = root / "cifar-10-batches-py"
    every = [*CIFAR_FILES["train"], *CIFAR_FILES["test"], "batches.meta"]
    if can_download and not all((folder / n).exists() for n in every):
        _download(torchvision.datasets.CIFAR10, root, "cifar-10-batches-py/ (torchvision's layout)")
    for name in every:
        if not (folder / name).exists():
            raise _missing(folder / name, can_download)
    return folder


def _class_indices(classes):
    """CIFAR-10 class indices for `classes` (names or indices 0-9, each once), or an error naming the bad entry."""
    keep = []
    for c in classes:
        if isinstance(c, str) and c in CIFAR10_CLASSES:
            keep.append(CIFAR10_CLASSES.index(c))
        elif isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c < 10:
            keep.append(int(c))
        else:
            raise ValueError(f"Unknown CIFAR-10 class {c!r} in classes={list(classes)!r}: give names from "
                             f"{CIFAR10_CLASSES} or indices 0-9.")
    if len(set(keep)) != len(keep) or not keep:
        raise ValueError(f"classes={list(classes)!r} must name at least one class and each class once "
                         "(a repeated class would be relabelled twice).")
    return keep


def cifar10_dataset(train, transform=None, root=None):
    """torchvision's CIFAR10 dataset (train or test split) that accepts the offline rebuild; names a missing or
    unreadable batch file.

    It skips torchvision's md5 check (the offline copy is a rebuild, see its README) but not the file checks.
    """
    import torchvision

    class OfflineCIFAR10(torchvision.datasets.CIFAR10):
        """torchvision's CIFAR10 (indexing, transforms) over batches read by `_load_batch` (no md5 check)."""

        def __init__(self, folder, train, transform=None):
            torchvision.datasets.VisionDataset.__init__(self, str(folder.parent), transform=transform)
            self.train, self.classes = train, list(CIFAR10_CLASSES)
            self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
            batches = [_load_batch(folder / name) for name in CIFAR_FILES["train" if train else "test"]]
            self.data = np.vstack([b["data"] for b in batches]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            self.targets = [int(t) for b in batches for t in b["labels"]]

    folder = _cifar10_folder(root)
    dataset = OfflineCIFAR10(folder, train, transform)
    if len(dataset.data) != len(dataset.targets):
        raise ValueError(f"Corrupt CIFAR-10 files in {folder}: {len(dataset.data)} images but "
                         f"{len(dataset.targets)} labels. Replace them with fresh copies.")
    return dataset


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that builds only what a CIFAR-10 batch holds (dicts, lists, strings, NumPy arrays): a pickle that
    asks for anything else (which could run code) is refused."""
    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it asks for {module}.{name}, which a CIFAR-10 batch never holds (a pickle "
                                         "can run code, so only NumPy arrays, lists and strings are read)")
        if module == "numpy.core.multiarray":
            module = "numpy._core.multiarray"  # NumPy 2's name for the module the batches were written with
        return super().find_class(module, name)


def _load_batch(path):
    """One CIFAR-10 batch as a dict with str keys ('data', 'labels', ...), read by `_ArrayUnpickler`; names the file
    when it is unreadable or holds anything else."""
    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(f, encoding="latin1").load()
        batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
        if not isinstance(batch.get("data"), np.ndarray) or len(batch["data"]) != len(batch.get("labels", ())):
            raise ValueError("no 'data' array with one 'labels' entry per image")
    except Exception as e:
        raise ValueError(f"Corrupt, truncated or foreign CIFAR-10 file {path}: {type(e).__name__}: {e}. Replace it "
                         "with a fresh copy.") from e
    _checked_labels(torch.as_tensor(batch["labels"], dtype=torch.int64), path)
    return batch


def load_cifar10(root=None, classes=None):
    """CIFAR-10 as float32 (N, 3, 32, 32) in [0, 1] and int64 labels: x_train, y_train, x_test, y_test, class_names.

    Read once through torchvision's CIFAR10 class (`cifar10_dataset`). `classes` (names or indices) keeps only those
    classes, relabelled 0..k-1 in the order given; the returned class_names then say which label is which.
    """
    keep = None if classes is None else _class_indices(classes)
    out = []
    for train in (True, False):
        dataset = cifar10_dataset(train, root=root)
        out += [torch.from_numpy(dataset.data).permute(0, 3, 1, 2).float().div_(255).contiguous(),
                torch.as_tensor(dataset.targets, dtype=torch.int64)]
    names = list(CIFAR10_CLASSES)
    if keep is not None:
        lookup = torch.full((10,), -1, dtype=torch.int64)
        lookup[keep] = torch.arange(len(keep))
        for i in (0, 2):
            mask = lookup[out[i + 1]] >= 0
            out[i], out[i + 1] = out[i][mask], lookup[out[i + 1][mask]]
        names = [CIFAR10_CLASSES[k] for k in keep]
    return (*out, names)


def train_val_split(x, y, n_val, seed):
    """Split off a random, reproducible validation set of `n_val` samples: x_train, y_train, x_val, y_val."""
    if not 0 < n_val < len(x):
        raise ValueError(f"n_val={n_val} must be between 1 and {len(x) - 1} (the data hold {len(x)} samples).")
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def batches(x, y, batch_size, generator=None):
    """Yield (x, y) mini-batches in a shuffled order drawn from `generator` (in order when it is None)."""
    order = None if generator is None else torch.randperm(len(x), generator=generator, device=generator.device)
    for start in range(0, len(x), batch_size):
        if order is None:
            yield x[start:start + batch_size], y[start:start + batch_size]
        else:
            idx = order[start:start + batch_size].to(x.device)
            yield x.index_select(0, idx), y.index_select(0, idx)


def flip_and_crop(x, generator=None, pad=4, flip=True):
    """Random horizontal flips (unless `flip=False`) and random crops after zero-padding by `pad` pixels, for an image
    batch (N, C, H, W): every image moved by a whole number of pixels, -pad..pad down and across; one gather."""
    n, _, h, w = x.shape
    device = generator.device if generator is not None else None
    if flip:
        flips = torch.rand(n, generator=generator, device=device).to(x.device) < 0.5
        x = torch.where(flips.view(-1, 1, 1, 1), x.flip(3), x)
    padded = F.pad(x, (pad, pad, pad, pad))
    shifts = torch.randint(0, 2 * pad + 1, (2, n), generator=generator, device=device).to(x.device)
    rows = (torch.arange(h, device=x.device) + shifts[0][:, None])[:, :, None]  # (N, H, 1)
    cols = (torch.arange(w, device=x.device) + shifts[1][:, None])[:, None, :]  # (N, 1, W)
    return padded[torch.arange(n, device=x.device)[:, None, None], :, rows, cols].permute(0, 3, 1, 2).contiguous()


def channel_stats(x):
    """Per-channel mean and standard deviation of an (N, C, H, W) tensor, each of shape (C,)."""
    return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3))


def normalize(x, mean, std):
    """Standardize an (N, C, H, W) tensor with per-channel mean and std."""
    return (x - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


# --------------------------------------------------------------------------------------------------- training
def _loss_and_correct(out, y, loss):
    """Mean loss and number of correct predictions of a batch, for 'ce' (logits) or 'bce' (one logit per sample)."""
    if loss == "ce":
        return F.cross_entropy(out, y), (out.argmax(1) == y).sum()
    if loss == "bce":
        out = out.reshape(len(y))
        return F.binary_cross_entropy_with_logits(out, y.float()), ((out > 0).long() == y).sum()
    raise ValueError(f"loss must be 'ce' (cross-entropy on logits) or 'bce' (one output logit), not {loss!r}.")


def _memory_format(model):
    """Channels-last for convolutional models (faster oneDNN/cuDNN kernels), the usual layout otherwise.

    Exception (measured in benchmarks/README.md): on a CPU, batch norm over fewer than 32 channels is 1.4-1.5x slower
    channels-last, so such models stay in the usual layout there.
    """
    modules = list(model.modules())
    if not any(isinstance(m, torch.nn.Conv2d) for m in modules):
        return torch.contiguous_format
    narrow_bn = any(isinstance(m, torch.nn.BatchNorm2d) and m.num_features < 32 for m in modules)
    on_cpu = next(model.parameters()).device.type == "cpu" and get_device().type == "cpu"
    return torch.contiguous_format if narrow_bn and on_cpu else torch.channels_last


def _prepare(x, memory_format):
    """An input batch in the model's memory format (4-D image batches only)."""
    return x.contiguous(memory_format=memory_format) if x.ndim == 4 else x


def _cpu_has_bf16():
    """Whether this CPU computes bfloat16 natively (AVX-512-BF16 or AMX); elsewhere bfloat16 is emulated and slow."""
    flags = _cpu_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_dtype(precision, device):
    """The autocast dtype of `precision` on `device`: None for 'float32'; for 'mixed', bfloat16 on a CPU with native
    bfloat16 and on GPUs that support it, float16 on older GPUs, None (float32) elsewhere.

    Where 'mixed' is used, benchmarks/README.md ("Float32 against mixed precision") shows the same accuracy and the
    speed-up ("Training throughput, one change at a time")."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}.")
    if precision == "float32":
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if device.type == "cpu" and _cpu_has_bf16() else None


def precision_label(dtype):
    """How a run's arithmetic is described in plots and printouts."""
    return "float32" if dtype is None else f"{str(dtype).split('.')[-1]} autocast"


def _autocast(device, dtype):
    """Autocast context for `dtype` (a no-op context for float32)."""
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def _eval_batch_size(device):
    """Evaluation batch: large on a GPU; 128 on a CPU, where a batch's activations stay in cache (benchmarks/README.md,
    "Training throughput, one change at a time")."""
    return 2000 if device.type == "cuda" else 128


def _check_pair(name, pair, allow_empty=False, values=False):
    """The (x, y) tensors of `pair`, or an error naming the argument and what is wrong with it (with `values`, also
    NaN/infinite inputs and 0-255 pixels given as floats: fit checks once, not every evaluation)."""
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"{name} must be a pair (x, y) of tensors, not {type(pair).__name__}.")
    x, y = pair
    if len(x) != len(y):
        raise ValueError(f"{name}: {len(x)} inputs but {len(y)} labels; x and y must hold the same samples.")
    if len(x) == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (0 samples): nothing to train or evaluate on.")
    if values and x.is_floating_point() and len(x):
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name}: the inputs hold NaN or infinite values (first at flat index "
                             f"{int((~torch.isfinite(x)).flatten().nonzero()[0])}). Fix: clean or drop those samples.")
        if float(x.max()) > PIXEL_LIMIT:
            raise ValueError(f"{name}: the inputs reach {float(x.max()):g}, which looks like 0-255 pixel values given "
                             "as floats where this project's loaders give [0, 1] (standardized values stay below "
                             f"{PIXEL_LIMIT:g}). Fix: divide by 255 (or use helpers.load_mnist / load_cifar10).")
    return x, y


PIXEL_LIMIT = 50.0  # float inputs above this are 0-255 pixels (MNIST/CIFAR standardized by their stats stay below 3)
DIVERGENCE = 100.0  # fit warns when an epoch's mean training loss exceeds this many times its first batch's loss


def _warn_if_diverging(first_loss, epoch_loss, epoch, optimizer):
    """Warn (once per fit, by the caller) when the training loss has grown far beyond its first value; returns
    whether it warned."""
    if not first_loss > 0 or epoch_loss <= DIVERGENCE * first_loss:
        return False
    import warnings
    warnings.warn(f"fit: the mean training loss of epoch {epoch} is {epoch_loss:.3g}, {epoch_loss / first_loss:.3g}x "
                  f"its first batch's {first_loss:.3g}: training is diverging. Fix: lower the learning rate (now "
                  f"{optimizer.param_groups[0]['lr']:g}) or check the inputs and labels.", RuntimeWarning, stacklevel=3)
    return True


def _check_positive_int(name, value):
    """`value` if it is a positive integer, else an error naming the argument and the value."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer (e.g. {name}=1).")
    return int(value)


@torch.no_grad()
def _eval_outputs(model, x, batch_size=None, precision="float32"):
    """Yield (start index, float32 model output) over x in eval mode without gradients; restores the mode after."""
    device, memory_format = next(model.parameters()).device, _memory_format(model)
    batch_size = batch_size or _eval_batch_size(device)
    dtype = autocast_dtype(precision, device)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(x), batch_size):
            with _autocast(device, dtype):
                out = model(_prepare(x[start:start + batch_size].to(device, non_blocking=True), memory_format))
            yield start, out.float()
    finally:
        model.train(was_training)


def evaluate(model, x, y, loss="ce", batch_size=None, precision="float32"):
    """Mean loss and accuracy (%) of `model` on (x, y), in eval mode without gradients; restores the mode."""
    _check_pair("evaluate's (x, y)", (x, y))
    total_loss, correct = 0.0, 0
    for start, out in _eval_outputs(model, x, batch_size, precision):
        yb = y[start:start + len(out)].to(out.device, non_blocking=True)
        batch_loss, batch_correct = _loss_and_correct(out, yb, loss)
        total_loss, correct = total_loss + batch_loss * len(yb), correct + batch_correct
    return float(total_loss) / len(y), 100.0 * int(correct) / len(y)


def predict(model, x, loss="ce", batch_size=None, precision="float32"):
    """Predicted class labels of `model` for x (argmax of logits, or logit > 0 for 'bce'), as a CPU tensor."""
    preds = [(out.reshape(-1) > 0).long() if loss == "bce" else out.argmax(1)
             for _, out in _eval_outputs(model, x, batch_size, precision)]
    return torch.cat(preds).cpu()


def predict_probabilities(model, x, loss="ce", batch_size=None, precision="float32"):
    """Class probabilities (N, classes) of `model` for x as a CPU tensor: softmax of the logits, or for 'bce' the
    sigmoid of the one logit as two columns (class 0, class 1)."""
    outs = []
    for _, out in _eval_outputs(model, x, batch_size, precision):
        if loss == "bce":
            p1 = torch.sigmoid(out.reshape(-1))
            outs.append(torch.stack([1 - p1, p1], 1))
        else:
            outs.append(out.softmax(1))
    return torch.cat(outs).cpu()


def train_step(model, xb, yb, optimizer, loss="ce", precision="float32", scaler=None):
    """One optimizer step on a batch at `precision` (see `autocast_dtype`): returns the batch's loss and correct count.

    `xb` must already be in the model's memory format; `scaler` is a GradScaler for float16. The benchmarks time this.
    """
    with _autocast(xb.device, autocast_dtype(precision, xb.device)):
        out = model(xb)
    batch_loss, batch_correct = _loss_and_correct(out.float(), yb, loss)
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        batch_loss.backward()
        optimizer.step()
    else:
        scaler.scale(batch_loss).backward()
        scaler.step(optimizer)
        scaler.update()
    return batch_loss.detach(), batch_correct


def _compiled(model, compile):
    """`torch.compile(model)` when asked (3B's CNN_C: benchmarks/README.md, "torch.compile"), else the model itself."""
    if not compile:
        return model
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)  # a CPU-only warning about CUDA
    return torch.compile(model)


def _grad_scaler(precision, device):
    """A GradScaler where `precision` means float16 (older GPUs), else None."""
    return torch.amp.GradScaler(device.type) if autocast_dtype(precision, device) == torch.float16 else None


def _stop_on_nan(batch_losses, epoch, optimizer, history):
    """Raise FloatingPointError naming the first non-finite batch loss of an epoch, with the history so far."""
    finite = torch.isfinite(batch_losses)
    if bool(finite.all()):
        return
    bad = int((~finite).nonzero()[0])
    error = FloatingPointError(f"Loss became {batch_losses[bad].item()} at epoch {epoch}, batch {bad + 1} of "
                               f"{len(batch_losses)}: training stopped. Try a lower learning rate (now "
                               f"{optimizer.param_groups[0]['lr']}) or check the inputs for NaN/inf. The history of "
                               "the completed epochs is in this error's .history.")
    error.history = history
    raise error


def fit(model, train, test, *, epochs, optimizer, batch_size, loss="ce", val=None, seed=None, progress=True,
        on_batch=None, eval_train=False, augment=None, precision="float32", compile=False):
    """Train `model` with mini-batches of the (x, y) tensors `train`; evaluate on `test` (and `val`) after each epoch.

    Returns a history: per-epoch curves train_costs, train_accuracy (mean over the epoch's mini-batches),
    test_costs, test_accuracy (percent), val_* when `val` is given, train_eval_* with `eval_train=True` (the whole
    training set evaluated in eval mode), epoch_seconds (training only), eval_seconds (the evaluations after each
    epoch); and `run`: device, precision (as used), epochs, batch_size, learning_rate, seconds (total, evaluation
    included), stalled_epochs (slower than twice the fastest: `rules.stalled_epochs`; the machine was busy).
    `on_batch(step)` is called after each optimizer step; `augment(x_batch, generator)` transforms each training batch
    (e.g. `flip_and_crop`) drawing from fit's seeded generator; `precision="mixed"` trains and evaluates under
    autocast (`autocast_dtype`); `compile=True` trains through `torch.compile`.
    """
    epochs, batch_size = _check_positive_int("epochs", epochs), _check_positive_int("batch_size", batch_size)
    sets = {"train_eval": train} if eval_train else {}
    sets.update({"test": test} if val is None else {"val": val, "test": test})
    for name, pair in (("train", train), *sets.items()):
        _check_pair(name, pair, values=True)
    device, memory_format = get_device(), _memory_format(model)
    model.to(device, memory_format=memory_format)
    run_model, scaler = _compiled(model, compile), _grad_scaler(precision, device)
    seed = int(torch.randint(0, 2**62, ())) if seed is None else seed
    torch.manual_seed(seed)  # dropout masks
    generator = torch.Generator(device=device).manual_seed(seed)  # shuffling
    x_train, y_train = (t.to(device) for t in train)
    history = {f"{s}_{m}": [] for s in ("train", *sets) for m in ("costs", "accuracy")}
    history |= {"epoch_seconds": [], "eval_seconds": []}
    n_batches, step, start_all = -(-len(x_train) // batch_size), 0, time.perf_counter()
    first_loss, warned = None, False  # the first batch's loss, and whether fit warned of divergence
    model.train()
    for epoch in tqdm(range(1, epochs + 1), desc="epochs", unit="epoch", disable=not (progress and PROGRESS_BARS)):
        start = time.perf_counter()
        losses, accuracies = torch.empty(n_batches, device=device), torch.empty(n_batches, device=device)
        for i, (xb, yb) in enumerate(batches(x_train, y_train, batch_size, generator)):
            xb = _prepare(xb if augment is None else augment(xb, generator), memory_format)
            batch_loss, batch_correct = train_step(run_model, xb, yb, optimizer, loss, precision, scaler)
            losses[i], accuracies[i], step = batch_loss, batch_correct / len(yb), step + 1
            if on_batch is not None:
                on_batch(step)
        _stop_on_nan(losses, epoch, optimizer, history)
        history["train_costs"].append(losses.mean().item())  # .item() waits for the epoch's last step
        first_loss = losses[0].item() if first_loss is None else first_loss
        warned = warned or _warn_if_diverging(first_loss, history["train_costs"][-1], epoch, optimizer)
        history["train_accuracy"].append(100.0 * accuracies.mean().item())
        history["epoch_seconds"].append(time.perf_counter() - start)
        start = time.perf_counter()
        for name, (x, y) in sets.items():
            cost, acc = evaluate(run_model, x, y, loss, precision=precision)
            history[f"{name}_costs"].append(cost)
            history[f"{name}_accuracy"].append(acc)
        history["eval_seconds"].append(time.perf_counter() - start)
    history["run"] = dict(device=device.type, precision=precision_label(autocast_dtype(precision, device)),
                          epochs=epochs, batch_size=batch_size, learning_rate=optimizer.param_groups[0]["lr"],
                          seconds=time.perf_counter() - start_all,
                          stalled_epochs=rules.stalled_epochs(history["epoch_seconds"]))
    if progress:  # progress, not a result: on stderr, which reports leave out
        stalls = history["run"]["stalled_epochs"]
        print(f"{epochs} epochs in {history['run']['seconds']:.1f} s ({device.type}, {history['run']['precision']}): "
              f"train acc {history['train_accuracy'][-1]:.2f}%, test acc {history['test_accuracy'][-1]:.2f}%, "
              f"test cost {history['test_costs'][-1]:.4f}" + (f"; stalled epochs {stalls}" if stalls else ""),
              file=sys.stderr)
    return history


def checkpoint_path(name, assignment=None):
    """Where a notebook keeps trained weights for later notebooks: checkpoints/<assignment>/<name>.pt (git-ignored)."""
    path = OUTPUT_ROOT / "checkpoints" / current_assignment(assignment) / f"{name}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def count_parameters(model):
    """Number of trainable parameters of a model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ------------------------------------------------------------------------------------------------------ plots
def training_curve_plot(title, train_costs, test_costs, train_accuracy, test_accuracy, batch_size, learning_rate,
                        epochs=None, seconds=None, device=None, xlabel="Epoch", x=None, val_costs=None,
                        val_accuracy=None):
    """Cost and accuracy curves side by side (the hand-in specs' plot), with epochs, time and device in the subtitle."""
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.8))
    fig.suptitle(title, y=1.1, fontsize=14)
    sub = f"| Batch size: {batch_size} | Learning rate: {learning_rate} |"
    if epochs is not None:
        sub += f" Epochs: {epochs} |"
    if seconds is not None:
        sub += f" Training time: {seconds:.1f} s |"
    if device is not None:
        sub += f" Device: {device} |"
    fig.text(0.5, 0.97, sub, ha="center", fontsize=11)
    x = list(range(1, len(train_costs) + 1)) if x is None else list(x)
    panels = [(axs[0], "Cost", train_costs, val_costs, test_costs, "{:.4f}"),
              (axs[1], "Accuracy (%)", train_accuracy, val_accuracy, test_accuracy, "{:.2f}%")]
    for ax, label, tr, va, te, fmt in panels:
        ax.plot(x, tr, label=f"Final train: {fmt.format(tr[-1])}")
        if va is not None:
            ax.plot(x, va, label=f"Final validation: {fmt.format(va[-1])}")
        ax.plot(x, te, label=f"Final test: {fmt.format(te[-1])}")
        ax.set_title(label.split(" ")[0])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        ax.legend()
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    return fig


def plot_history(title, history, xlabel="Epoch"):
    """`training_curve_plot` of a history returned by `fit` (validation curves included when present)."""
    run = history["run"]
    return training_curve_plot(title, history["train_costs"], history["test_costs"], history["train_accuracy"],
                               history["test_accuracy"], run["batch_size"], run["learning_rate"], epochs=run["epochs"],
                               seconds=run["seconds"], device=f"{run['device']}, {run['precision']}",
                               xlabel=xlabel, val_costs=history.get("val_costs"),
                               val_accuracy=history.get("val_accuracy"))


def confusion_matrix_plot(y_true, y_pred, class_names, title="Confusion matrix (test set)"):
    """Heatmap of scikit-learn's confusion matrix (rows: true class, columns: predicted class) with counts."""
    import seaborn as sns
    from sklearn.metrics import confusion_matrix
    for which, labels in (("y_true", y_true), ("y_pred", y_pred)):
        labels = np.asarray(labels)
        outside = labels[(labels < 0) | (labels >= len(class_names))]
        if len(outside):
            raise ValueError(f"confusion_matrix_plot: {which} holds label {outside[0].item()!r}, outside the "
                             f"{len(class_names)} classes {list(class_names)!r} (labels 0-{len(class_names) - 1}); "
                             "the counts would leave it out. Fix: pass the class names of every label, or map the "
                             "labels to 0..k-1 first.")
    cm = confusion_matrix(np.asarray(y_true), np.asarray(y_pred), labels=range(len(class_names)))
    size = max(len(class_names), 5)  # two classes get the room of five: title and labels stay readable
    width = 1.0 + 0.65 * size
    fig, ax = plt.subplots(figsize=(width, 0.6 + 0.55 * size))
    sns.heatmap(cm, annot=True, fmt="d", cmap="Blues", cbar=False, xticklabels=class_names, yticklabels=class_names,
                ax=ax)
    ax.tick_params(axis="y", rotation=0)  # class names read across, not turned sideways
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    accuracy = 100.0 * np.trace(cm) / cm.sum()
    ax.set_title(textwrap.fill(f"{title}: accuracy {accuracy:.2f}%", int(9 * width)))
    fig.tight_layout()
    return fig


def _displayable(img):
    """A (C, H, W) tensor as an array imshow can draw: 2-D for one channel, HWC rescaled to [0, 1] for colour."""
    img = torch.as_tensor(img).detach().float().cpu()
    if img.ndim == 3 and img.shape[0] == 1:
        return img[0].numpy(), "gray"
    if img.ndim == 3:
        img = img.permute(1, 2, 0)
        lo, hi = img.min(), img.max()
        if lo < 0 or hi > 1:
            img = (img - lo) / (hi - lo + 1e-12)
        return img.numpy(), None
    return img.numpy(), "gray"


def image_grid(images, titles=None, ncols=10, size=1.4, cmap=None, suptitle=None):
    """Draw images (N, C, H, W) or (N, H, W) in a grid with optional per-image titles; returns the figure."""
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axs = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.35) * nrows + (0.4 if suptitle else 0)),
                            squeeze=False, layout="constrained")
    for i, ax in enumerate(axs.flat):
        ax.axis("off")
        if i < n:
            array, default_cmap = _displayable(images[i])
            ax.imshow(array, cmap=cmap or default_cmap)
            if titles is not None:
                ax.set_title(titles[i], fontsize=11)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def show_misclassified(x, y_true, y_pred, class_names, n=10, one_per_class=False, ncols=5, seed=0):
    """Grid of n misclassified images titled with true and predicted labels; with `one_per_class`, the first error of
    each true class that has one, then the next errors in test-set order up to n."""
    y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)
    wrong = (y_true != y_pred).nonzero().flatten()
    if one_per_class:
        chosen = [int(wrong[y_true[wrong] == c][0]) for c in range(len(class_names)) if (y_true[wrong] == c).any()]
        chosen += [i for i in wrong.tolist() if i not in chosen][:max(0, n - len(chosen))]
    else:
        chosen = wrong[torch.randperm(len(wrong), generator=torch.Generator().manual_seed(seed))[:n]].tolist()
    titles = [f"true: {class_names[y_true[i]]}\npred: {class_names[y_pred[i]]}" for i in chosen]
    return image_grid(x[chosen], titles, ncols=min(ncols, max(1, len(chosen))), size=1.8,
                      suptitle=f"{len(chosen)} of {len(wrong)} misclassified test images")


def misclassified_indices(y_true, y_pred, true_class=None, predicted_class=None):
    """Indices (a list, in test-set order) of the misclassified samples, optionally of one true and/or predicted class."""
    y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)
    keep = y_true != y_pred
    if true_class is not None:
        keep &= y_true == true_class
    if predicted_class is not None:
        keep &= y_pred == predicted_class
    return keep.nonzero().flatten().tolist()


def misclassified_viewer(x, y_true, probabilities, class_names, per_page=10):
    """An ipywidgets viewer of misclassified images: pick a true and a predicted class (or "any"), page through them
    (◀ ▶ or a page number, from 1; a new class choice goes back to page 1), each titled with both labels and the
    predicted probabilities; returns the widget (display it in Jupyter; before a run, a notebook shows a one-line hint).

    `probabilities` (N, classes) are the model's softmax outputs, e.g. from `predict_probabilities`."""
    import ipywidgets as widgets
    from IPython.display import display

    class Viewer(widgets.VBox):
        def __repr__(self):  # the text/plain output a notebook holds until it is run
            return "Run the notebook to page through the misclassified images."

    probabilities = torch.as_tensor(probabilities)
    y_true, y_pred = torch.as_tensor(y_true), probabilities.argmax(1)
    choices = [("any", -1)] + [(name, i) for i, name in enumerate(class_names)]  # None would blank the dropdown
    true_box = widgets.Dropdown(options=choices, value=-1, description="true")
    pred_box = widgets.Dropdown(options=choices, value=-1, description="predicted")
    back = widgets.Button(description="◀", tooltip="previous page", layout={"width": "3em"})
    page = widgets.BoundedIntText(value=1, min=1, max=1, description="page", layout={"width": "10em"})
    forward = widgets.Button(description="▶", tooltip="next page", layout={"width": "3em"})
    out = widgets.Output()

    def chosen():
        classes = (None if box.value < 0 else box.value for box in (true_box, pred_box))
        return misclassified_indices(y_true, y_pred, *classes)

    def draw(*_):
        indices = chosen()
        pages = max(1, -(-len(indices) // per_page))
        back.disabled, forward.disabled = page.value <= 1, page.value >= pages
        shown = indices[(page.value - 1) * per_page:page.value * per_page]
        out.clear_output(wait=True)
        with out:
            if not shown:
                print("no misclassified image with these labels")
                return
            titles = [f"{class_names[y_true[i]]} → {class_names[y_pred[i]]}\n"
                      f"p={probabilities[i, y_pred[i]]:.2f} (true {probabilities[i, y_true[i]]:.2f})" for i in shown]
            fig = image_grid(x[shown], titles, ncols=min(5, len(shown)), size=1.9,
                             suptitle=f"page {page.value} of {pages}: {len(indices)} images")
            display(fig)
            plt.close(fig)

    def refilter(*_):
        unchanged = page.value == 1  # else setting page 1 redraws
        page.value, page.max = 1, max(1, -(-len(chosen()) // per_page))
        if unchanged:
            draw()

    true_box.observe(refilter, names="value")
    pred_box.observe(refilter, names="value")
    page.observe(draw, names="value")
    back.on_click(lambda _: setattr(page, "value", page.value - 1))  # the box keeps the page within 1..max
    forward.on_click(lambda _: setattr(page, "value", page.value + 1))
    refilter()
    return Viewer([widgets.HBox([true_box, pred_box, back, page, forward]), out])


# ----------------------------------------------------------------------------------------------------- saving
def current_assignment(assignment=None):
    """The assignment whose figures/results are being written: the argument, else the notebook's folder name."""
    name = assignment or Path.cwd().name
    if name not in ASSIGNMENTS:
        raise ValueError(f"{_folder_problem()[:-1]}, or pass assignment= one of {tuple(ASSIGNMENTS)}.")
    return name


def _folder_problem():
    """Why the working folder names no assignment, and the fix (for banner and current_assignment)."""
    return (f"Cannot tell the assignment from the working folder {Path.cwd()}, so figures and results would have "
            "nowhere to go. Fix: start the kernel in notebooks/<assignment>/ (Jupyter does when the notebook lives "
            "there; in Colab `%cd <repo>/notebooks/<assignment>`).")


def notebook_paths(assignment, repo=None):
    """An assignment's notebooks in reading order: by name (the spec's numbering), bonus parts last."""
    folder = Path(repo or REPO) / "notebooks" / assignment
    return sorted((p for p in folder.glob("*.ipynb")), key=lambda p: (p.name.startswith("bonus_"), p.name))


def _atomic_write(path, write):
    """Write a file through a temporary file in the same folder and a rename, so it is never half-written.

    The file gets the usual permissions (0666 less the umask, e.g. 0644), not mkstemp's private 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; others on a shared machine should read them as usual
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def save_figure(fig, name, assignment=None):
    """Save a figure as figures/<assignment>/<name>.png (under .smoke/ in smoke mode); returns None (a notebook cell
    ending in this call echoes nothing; `figure_path` says where it went)."""
    _atomic_write(figure_path(name, assignment), lambda f: fig.savefig(f, format="png", dpi=130, bbox_inches="tight"))


def figure_path(name, assignment=None):
    """Where `save_figure` puts the figure `name`: figures/<assignment>/<name>.png under this mode's output root."""
    return OUTPUT_ROOT / "figures" / current_assignment(assignment) / f"{name}.png"


def _plain(value):
    """Convert tensors and NumPy values to plain Python numbers, strings and lists for JSON; NaN and inf become None."""
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):
        return _plain(value.tolist())
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf: written as null (results/README.md shows "n/a")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"record_result takes numbers, strings, lists and dicts, not {type(value).__name__}: {value!r}")


def record_result(assignment=None, **numbers):
    """Write the numbers a notebook reports to results/<assignment>/<notebook>.json (under .smoke/ in smoke mode).

    Adds `hardware` (see `hardware()`) unless given, and `notebook_seconds` (time since `banner()`). NaN and infinite
    values are written as null (valid JSON). Returns None (`result_path` says where it went)."""
    if _RUN["notebook"] is None:
        raise ValueError("record_result does not know which notebook runs: call helpers.banner() first (the setup "
                         "cell does).")
    path = result_path(assignment)
    numbers.setdefault("hardware", hardware())
    numbers.setdefault("notebook_seconds", time.perf_counter() - _RUN["start"])
    text = json.dumps(_plain(numbers), indent=2, sort_keys=True, allow_nan=False) + "\n"
    _atomic_write(path, lambda f: f.write(text.encode()))


def result_path(assignment=None):
    """Where `record_result` writes this notebook's numbers: results/<assignment>/<notebook>.json."""
    return OUTPUT_ROOT / "results" / current_assignment(assignment) / f"{_RUN['notebook']}.json"


def show_code(*objects):
    """Print the source code of functions or classes, so a notebook shows the code it imports."""
    import inspect
    for obj in objects:
        print(inspect.getsource(obj))


def load_result(name, assignment):
    """The numbers another notebook recorded (this mode's output first, else the committed full-mode results)."""
    for root in (OUTPUT_ROOT, *([REPO / ".smoke"] if SMOKE else []), REPO):
        path = root / "results" / assignment / f"{name}.json"
        if path.exists():
            try:
                return json.loads(path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise ValueError(f"{path} is not readable JSON ({e}): the results of {name} are damaged. Fix: "
                                 f"re-run notebooks/{assignment}/{name}.ipynb, or `git checkout` the file.") from e
    raise FileNotFoundError(f"No results/{assignment}/{name}.json yet: run notebooks/{assignment}/{name}.ipynb first.")


def compare_runs_plot(histories, title, left=("train_costs", "Training loss (log scale)"),
                      right=("test_accuracy", "Test accuracy (%)"), dotted=None, ylim_right=None, x=None,
                      xlabel="Epoch", log=(True, False)):
    """Two panels comparing several runs; `histories` maps a label to a `fit` history (or any dict of lists).

    `left`/`right` are (key, y label); `dotted=(left_key, right_key)` adds a dotted companion curve per run in each
    panel (e.g. test cost, train accuracy); `x` is the key of the x values (e.g. "iteration"; default epochs 1..n)
    labelled `xlabel`; `log` says which panel has a log-scale y axis. Returns the figure.
    """
    fig, axs = plt.subplots(1, 2, figsize=(10.5, 4.2))
    for label, h in histories.items():
        xs = h[x] if x else range(1, len(h[left[0]]) + 1)
        marker = "." if len(xs) <= 60 else None
        line, = axs[0].plot(xs, h[left[0]], marker=marker, label=label)
        axs[1].plot(xs, h[right[0]], marker=marker, color=line.get_color(), label=label)
        if dotted:
            axs[0].plot(xs, h[dotted[0]], ":", color=line.get_color())
            axs[1].plot(xs, h[dotted[1]], ":", color=line.get_color())
    for ax, (_, ylabel), logy in zip(axs, (left, right), log):
        ax.set_yscale("log" if logy else "linear")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    if ylim_right:
        axs[1].set_ylim(*ylim_right)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def markdown_table(headers, rows):
    """A Markdown table (a string for `discuss`) with `headers` and one row per sequence of cells in `rows`."""
    lines = ["| " + " | ".join(str(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        if len(row) != len(headers):
            raise ValueError(f"markdown_table: row {list(row)!r} has {len(row)} cells for {len(headers)} headers.")
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ discussions
def discuss(text):
    """Show `text`, Markdown written from this run's numbers (an f-string), as the cell's output; returns None.

    A discussion cell is a code cell tagged "discussion" whose code Jupyter collapses and the PDF report hides, so the
    reader sees prose whose numbers come from the run above it, on whatever machine it ran.
    """
    from IPython.display import Markdown, display
    display(Markdown(textwrap.dedent(text).strip()))


def accuracy_se(accuracy, n):
    """Standard error, in percentage points, of an accuracy (percent) measured on n independent test images."""
    p = accuracy / 100
    return 100 * math.sqrt(max(p * (1 - p), 0.0) / n)


def two_se_difference(accuracy_a, accuracy_b, n):
    """Two standard errors (points) of the difference of two accuracies (percent), each measured on n test images."""
    return 2 * math.hypot(accuracy_se(accuracy_a, n), accuracy_se(accuracy_b, n))


def _ranking(name_a, name_b, diff, limit, basis, digits=2, unit=" points", mean=""):
    """The sentence of a ranking rule: the difference `diff` (a minus b) counts only beyond `limit`."""
    size, limit_text = f"{abs(diff):.{digits}f}{unit}{mean}", f"{limit:.{digits}f}{unit}"
    if abs(diff) > limit:
        high, low = (name_a, name_b) if diff > 0 else (name_b, name_a)
        return (f"{high} is ahead of {low} by {size}, more than two standard errors of the "
                f"{basis.format(limit_text)}: a real difference")
    return (f"{name_a} and {name_b} differ by {size}, within two standard errors of the {basis.format(limit_text)}: "
            "within noise")


def compare_accuracies(name_a, accuracy_a, name_b, accuracy_b, n, images="test images"):
    """A sentence ranking two accuracies measured on n `images`; the rule: a difference counts only beyond two
    standard errors of the difference, otherwise it is called within noise."""
    return _ranking(name_a, name_b, accuracy_a - accuracy_b, two_se_difference(accuracy_a, accuracy_b, n),
                    "difference ({} on " + f"{n:,} {images})")


def mean_sd(values):
    """Mean and sample standard deviation of a list of numbers (standard deviation 0 for a single value)."""
    values = [float(v) for v in values]
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def mean_sd_text(values, digits=2, unit=" %"):
    """'mean ± sd unit (n runs)' for a list of per-seed numbers."""
    mean, sd = mean_sd(values)
    return f"{mean:.{digits}f} ± {sd:.{digits}f}{unit} ({len(values)} runs)"


def seed_limit(values_a, values_b):
    """Two standard errors of the difference of two means over seeds, from the seed-to-seed spread of each."""
    (_, sd_a), (_, sd_b) = mean_sd(values_a), mean_sd(values_b)
    return 2 * math.sqrt(sd_a ** 2 / len(values_a) + sd_b ** 2 / len(values_b))


def seeds_differ(values_a, values_b):
    """Whether two variants' means over seeds differ beyond `seed_limit` (the rule of `compare_seeds`)."""
    return abs(mean_sd(values_a)[0] - mean_sd(values_b)[0]) > seed_limit(values_a, values_b)


def compare_seeds(name_a, values_a, name_b, values_b, digits=2, unit=" points"):
    """A sentence ranking two variants by their mean over seeds; the rule: the means differ for real only beyond two
    standard errors of the difference of means (`seed_limit`, from the seed-to-seed spread), otherwise within noise."""
    return _ranking(name_a, name_b, mean_sd(values_a)[0] - mean_sd(values_b)[0], seed_limit(values_a, values_b),
                    "difference of the means ({}, from the seed-to-seed spread)", digits, unit, " on average")


def mean_curves(runs, keys=("train_costs", "train_accuracy", "test_costs", "test_accuracy")):
    """Per-epoch mean over seeds of the curves `keys` of several `fit` histories: a dict of lists that
    `compare_runs_plot` takes like a history."""
    return {key: np.mean([h[key] for h in runs], axis=0).tolist() for key in keys}


def add_seed_lines(fig, runs_by_label, keys, axes=None):
    """Draw every seed's curve as a thin line under the mean curves of a `compare_runs_plot` figure.

    `runs_by_label` maps each label of the figure to its list of histories, `keys` names the curve of each panel
    (e.g. ("train_costs", "test_accuracy")); each thin line takes the colour of its label's mean curve."""
    for ax, key in zip(axes or fig.axes, keys):
        colours = {line.get_label(): line.get_color() for line in ax.get_lines()}
        for label, runs in runs_by_label.items():
            for h in runs:
                ax.plot(range(1, len(h[key]) + 1), h[key], color=colours[label], lw=0.6, alpha=0.35, zorder=1)
    return fig


def seed_ranking(values, digits=2, unit=" points"):
    """Rank variants by their mean over seeds (highest first); `values` maps a variant to its per-seed numbers.

    Returns (order, one `compare_seeds` sentence per pair, the leading group: the variants that no other
    variant is ahead of beyond the seed spread, the pairs (higher, lower) whose means differ beyond it)."""
    means = {name: mean_sd(v)[0] for name, v in values.items()}
    order = sorted(values, key=means.get, reverse=True)
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
    sentences = [compare_seeds(a, values[a], b, values[b], digits, unit) for a, b in pairs]
    real = [(a, b) for a, b in pairs if seeds_differ(values[a], values[b])]
    return order, sentences, [n for n in order if n not in {b for _, b in real}], real


def per_seed_text(values, digits=2):
    """Per-seed numbers as one table cell: '97.61 / 97.70 / 97.55'."""
    return " / ".join(f"{v:.{digits}f}" for v in values)


def median_epoch_seconds(history):
    """The median time of one training epoch in a `fit` history (robust to one stalled epoch)."""
    return statistics.median(history["epoch_seconds"])


def same_hardware(*results):
    """Whether recorded results (dicts from `record_result`/`load_result`) all ran on the same hardware line."""
    lines = {r.get("hardware") for r in results}
    return len(lines) == 1 and None not in lines
