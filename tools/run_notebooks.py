"""Execute notebooks top to bottom, one after another, in full mode and in place (the main job).

Usage: python tools/run_notebooks.py [assignment-or-notebook ...]
Each notebook runs in its own folder with its figures, results and checkpoints written to a staging folder
(build/staging/...); only when every cell has run do they land in figures/, results/ and checkpoints/, together with
the executed notebook, so the committed set always comes from one run. A notebook that fails (an error, a cell past
the time limit, a dead kernel) is named with its failing cell and left as it was; its partial run and its outputs are
kept under build/failed/, and the run goes on; the exit status is non-zero if any failed. Ctrl-C interrupts the
running cell (a second one kills the kernel), saves the notebook the same way, prints the time table and stops the run
as killed by SIGINT, so that make and the shell stop too.
SMOKE=1 runs the notebooks in smoke mode and lands everything under .smoke/ instead (notebooks/ stays untouched).
NOTEBOOK_CELL_TIMEOUT (seconds, default 3600) limits each cell.
The CPU is sampled before the run and through each notebook (tools/cpu_load.py): a notebook during which other
processes used the CPU is marked in the time table and in its results JSON ("cpu_contention"). After a full-mode run
every claim (rules.claim) that a landed notebook's run contradicts is listed, and the exit status is non-zero.
"""
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
from pathlib import Path


def die_by_sigint(message):
    """Print `message` and end the process as killed by SIGINT (make and the shell then stop too); never returns."""
    print(message, flush=True)
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


if __name__ == "__main__":  # Ctrl-C while torch and nbclient load: nothing has started yet
    signal.signal(signal.SIGINT, lambda *_: die_by_sigint("Interrupted (Ctrl-C) before any notebook ran."))

import nbformat  # noqa: E402
from jupyter_core.utils import ensure_event_loop  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError  # noqa: E402

import cpu_load  # noqa: E402
import handin_folder  # noqa: E402  (the file lock)
import landed  # noqa: E402  (the digest of what a full run landed)

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import helpers  # noqa: E402  (the assignment list and the notebook order)
import rules  # noqa: E402  (the claims a notebook's run judged)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
OUTPUT_DIRS = ("figures", "results", "checkpoints")
KERNEL_ENV = ("SMOKE", "PROGRESS_BARS", "NOTEBOOK_OUTPUT_ROOT", "NOTEBOOK_PATH")  # set for each notebook's kernel
PRE_RUN_SECONDS = cpu_load.WINDOW  # the CPU is sampled this long before the first notebook
CONTENTION_KEY = "cpu_contention"  # the results JSON's entry for cpu_load.contention


def notebooks(selection):
    """The notebooks to run, in reading order: all of them, or those of the named assignments / paths."""
    every = [path for assignment in helpers.ASSIGNMENTS for path in helpers.notebook_paths(assignment)]
    if not selection:
        return every
    chosen = []
    for item in selection:
        path = Path(item).resolve()
        matches = [p for p in every if p.parent.name == item or p == path]
        if not matches:
            raise SystemExit(f"No notebooks match {item!r}: give an assignment folder name or a notebook path.")
        chosen += matches
    return chosen


def smoke_mode():
    """Whether SMOKE is set to something other than '' or '0' (as helpers reads it)."""
    return os.environ.get("SMOKE", "0") not in ("", "0")


def cell_timeout():
    """Seconds one cell may run: NOTEBOOK_CELL_TIMEOUT, default one hour."""
    value = os.environ.get("NOTEBOOK_CELL_TIMEOUT", "3600")
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise SystemExit(f"NOTEBOOK_CELL_TIMEOUT={value!r} must be a whole number of seconds, at least 1.")
    return seconds


def plain(text):
    """`text` without ANSI colour codes (IPython colours its tracebacks)."""
    return ANSI.sub("", text)


def error_line(error):
    """The last line of an exception's message, without colour codes."""
    text = plain(str(error)).strip()
    return text.splitlines()[-1] if text else type(error).__name__


def lock(path, repo):
    """An exclusive lock on running `path` (held until the returned file is closed), or None if another run holds it."""
    return handin_folder.lock(repo / "build" / "locks" / f"{path.parent.name}__{path.stem}.lock")


def stage(path, repo, target):
    """A fresh staging folder for `path`, holding a copy of the assignment's landed checkpoints (later notebooks
    read earlier ones' weights); returns it."""
    staging = repo / "build" / "staging" / path.parent.name / path.stem
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    landed = target / "checkpoints" / path.parent.name
    if landed.is_dir():
        shutil.copytree(landed, staging / "checkpoints" / path.parent.name)
    return staging


def land(staging, target):
    """Move every file the notebook wrote under `staging` to the same place under `target`; returns how many."""
    moved = 0
    for folder in OUTPUT_DIRS:
        for source in sorted((staging / folder).rglob("*")):
            if source.is_file():
                destination = target / source.relative_to(staging)
                destination.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, destination)
                moved += 1
    shutil.rmtree(staging, ignore_errors=True)
    return moved


def mark_results(staging, verdict):
    """Add `verdict` (cpu_load.contention) to each results JSON the notebook wrote under `staging`; returns how many."""
    marked = 0
    for path in sorted((staging / "results").rglob("*.json")):
        numbers = json.loads(path.read_text())
        if isinstance(numbers, dict):
            numbers[CONTENTION_KEY] = verdict
            path.write_text(json.dumps(numbers, indent=2, sort_keys=True, allow_nan=False) + "\n")
            marked += 1
    return marked


def write_notebook(nb, destination):
    """Write an executed notebook through a temporary file and a rename (never half-written)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{destination.name}.tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, destination)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a notebook, raised by `run` once the notebook is saved; `error` is its one-line error text (None
    when it had landed before)."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


class Stopped(Exception):
    """Raised in nbclient's thread before the next cell once Ctrl-C came."""


def failure(error):
    """The one-line text of the exception that stopped a notebook's execution."""
    if isinstance(error, CellTimeoutError):
        return f"the cell ran longer than NOTEBOOK_CELL_TIMEOUT={cell_timeout()} s"
    if isinstance(error, DeadKernelError):
        return f"the kernel died ({error_line(error)}; out of memory or killed?)"
    if isinstance(error, CellExecutionError):
        return error_line(error)
    return f"{type(error).__name__}: {error_line(error)}"


def execute(client):
    """The exception client.execute() raised, or None. It runs in a thread of its own: nbclient installs its SIGINT
    handler only in the main thread, and that handler shuts the kernel down mid-cell and then fails on an assertion."""
    raised = []

    def target():
        try:
            client.execute()
        except BaseException as e:  # handed to the main thread
            raised.append(e)
        finally:
            ensure_event_loop().close()  # the loop execute() made for this thread
    worker = threading.Thread(target=target, name="nbclient", daemon=True)
    worker.start()
    worker.join()  # a signal handler still runs meanwhile
    return raised[0] if raised else None


def signal_kernel(client, signum):
    """Send `signum` to the process group of the client's kernel, if it has one."""
    pgid = getattr(getattr(getattr(client, "km", None), "provisioner", None), "pgid", None)
    if pgid:
        try:
            os.killpg(pgid, signum)
        except OSError:
            pass


def run(path, repo=REPO, smoke=None, sampler=None):
    """Execute one notebook in its own folder; on success land its outputs and the notebook together.

    `sampler` (a cpu_load.Sampler, a new one if None) watches the CPU meanwhile; its verdict goes into the results.
    Returns None on success, else a one-line error text naming the failing cell. Ctrl-C interrupts the running cell (a
    second one kills the kernel); the notebook is then saved as a failed one and Interrupted is raised.
    """
    smoke = smoke_mode() if smoke is None else smoke
    sampler = cpu_load.Sampler() if sampler is None else sampler
    target = repo / ".smoke" if smoke else repo
    handle = lock(path, repo)
    if handle is None:
        return "not run: another process is running this notebook now (see build/locks/); wait for it to finish"
    presses, current = [], {"index": None}

    def ctrl_c(signum, frame):  # never raises: the running cell is interrupted (no cell runs after it), then saved
        presses.append(signum)
        if len(presses) > 1 or current["index"] is not None:
            signal_kernel(client, signal.SIGINT if len(presses) == 1 else signal.SIGKILL)

    def cell_start(cell, cell_index):
        if presses:
            raise Stopped
        current.update(index=cell_index)
    client = None
    previous = signal.signal(signal.SIGINT, ctrl_c)
    try:
        staging = stage(path, repo, target)
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=cell_timeout(), kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}}, on_cell_start=cell_start)
        saved_env = {k: os.environ.get(k) for k in KERNEL_ENV}
        os.environ.update(SMOKE="1" if smoke else "0", PROGRESS_BARS="0", NOTEBOOK_OUTPUT_ROOT=str(staging),
                          NOTEBOOK_PATH=str(path))
        try:
            with sampler:
                raised = execute(client)
        finally:  # the kernel has inherited them; the calling process keeps its own
            for k, v in saved_env.items():
                os.environ.pop(k) if v is None else os.environ.update({k: v})
        stopped = bool(presses) or isinstance(raised, KeyboardInterrupt)
        if raised is None and not stopped:
            mark_results(staging, sampler.verdict())
            land(staging, target)
            write_notebook(nb, target / path.relative_to(repo) if smoke else path)
            if not smoke:
                landed.record(repo, path, nb)  # what make reports accepts: these outputs
            if presses:
                raise Interrupted(None)
            return None
        error = "interrupted (Ctrl-C)" if stopped else failure(raised)
        failed = repo / "build" / "failed" / path.parent.name
        shutil.rmtree(failed / f"{path.stem}_outputs", ignore_errors=True)
        failed.mkdir(parents=True, exist_ok=True)
        staging.rename(failed / f"{path.stem}_outputs")
        write_notebook(nb, failed / path.name)
        index = current["index"]
        first_line = (nb.cells[index].source.strip().splitlines() or [""])[0] if index is not None else ""
        where = f"cell {index} ({first_line!r})" if index is not None else "the start (no cell had run)"
        text = (f"{where}: {error}; partial run and its outputs saved to {(failed / path.name).relative_to(repo)} and "
                f"{path.stem}_outputs/")
        if stopped:
            raise Interrupted(text)
        return text
    finally:
        signal.signal(signal.SIGINT, previous)
        handle.close()


def recorded_precision(path, target):
    """The precision a notebook's results JSON records (its `precision` or `device` entry), or '' if none."""
    result = target / "results" / path.parent.name / f"{path.stem}.json"
    try:
        numbers = json.loads(result.read_text())
    except (OSError, ValueError):
        return ""
    found = {str(v) for k, v in numbers.items() if k in ("precision", "device")}
    found |= {str(v.get("precision")) for v in numbers.values() if isinstance(v, dict) and v.get("precision")}
    return "; ".join(sorted(found))


def load_cell(verdict):
    """The time table's 'other CPU' cell: mean / busiest-5-s cores of other work, and the mark ('' if not sampled)."""
    if verdict is None:
        return ""
    text = f"{verdict['other_cpu_share']:.2f} / {verdict['peak_5s_share']:.2f}"
    return f"**{text} marked**" if verdict["marked"] else text


def load_line(verdict):
    """How much CPU other processes used, in words, and whether that marks the timings."""
    text = (f"other processes used {verdict['other_cpu_share']:.2f} cores on average, "
            f"{verdict['peak_5s_share']:.2f} in the busiest {cpu_load.WINDOW:.0f} s")
    return text + (" - MARKED: timings may be bent by other work" if verdict["marked"] else " (quiet)")


def time_table(rows, total, hardware, before=None):
    """The per-notebook time table (Markdown) printed at the end of a run and kept in results/run_times.md."""
    lines = [f"Machine: {hardware}. Total: {total:.0f} s ({total / 60:.1f} min) for {len(rows)} notebook(s).",
             *([f"Before the run: {load_line(before)}."] if before else []), "",
             "| notebook | status | seconds | precision recorded | other CPU (cores: mean / busiest 5 s) |",
             "|---|---|---|---|---|"]
    lines += [f"| {name} | {'ok' if ok else 'FAILED'} | {seconds:.0f} | {precision} | {load_cell(verdict)} |"
              for name, ok, seconds, precision, verdict in rows]
    lines += ["", f"*other CPU*: cores used by processes outside this run (the machine's busy CPU time less the "
              f"runner's and its kernels'), averaged over the notebook and over its busiest {cpu_load.WINDOW:.0f} s; "
              f"**marked** above {cpu_load.MEAN_LIMIT:g} on average or {cpu_load.PEAK_LIMIT:g} in "
              f"{cpu_load.WINDOW:.0f} s: that notebook's times (and the speeds it reports) may be bent by other work."]
    return "\n".join(lines) + "\n"


def check_before():
    """Sample the CPU for PRE_RUN_SECONDS before the run; print a warning naming the busiest other processes if it is
    busy; returns the verdict."""
    with cpu_load.Sampler() as sampler:
        time.sleep(PRE_RUN_SECONDS)
    verdict = sampler.verdict()
    busy = verdict["marked"]
    print(f"{'WARNING: the machine is busy before the run' if busy else 'CPU before the run'}: {load_line(verdict)}"
          + (f"; busiest: {cpu_load.busiest_text(sampler.busiest())}" if busy else ""), flush=True)
    return verdict


def contradictions(path):
    """The sentences of the claims that a landed notebook's run contradicts (rules.contradicted)."""
    return rules.contradicted(nbformat.read(path, as_version=4))


def run_all(paths, repo=REPO, keep_times=False):
    """Run notebooks one after another, one progress line each, going on past failures; print a time table (kept in
    results/run_times.md when `keep_times`: a run of every notebook) and, in full mode, every contradicted claim;
    returns the exit status (1 if a notebook failed or a claim is contradicted). Ctrl-C during a notebook stops the run
    after its line and the time table: Interrupted is raised again at the end."""
    smoke = smoke_mode()
    if smoke:
        print("SMOKE=1: smoke mode; executed notebooks, figures and results land under .smoke/, not in place.")
    target = repo / ".smoke" if smoke else repo
    before = check_before()
    failures, rows, contradicted, interrupted = [], [], [], None
    start_all = time.perf_counter()
    for k, path in enumerate(paths, 1):
        name = path.relative_to(repo)
        print(f"[{k}/{len(paths)}] {name} ...", flush=True)
        start, sampler = time.perf_counter(), cpu_load.Sampler()
        try:
            error = run(path, repo, smoke, sampler)
        except Interrupted as stop:
            error, interrupted = stop.error, stop
        seconds = time.perf_counter() - start
        print(f"[{k}/{len(paths)}] {name}: {'ok' if error is None else f'FAILED at {error}'} ({seconds:.0f} s)",
              flush=True)
        verdict = sampler.verdict() if sampler.samples else None
        if verdict and verdict["marked"]:
            print(f"  {load_line(verdict)}; busiest: {cpu_load.busiest_text(sampler.busiest())}", flush=True)
        rows.append((name, error is None, seconds, recorded_precision(path, target) if error is None else "", verdict))
        if error:
            failures.append(name)
        elif not smoke:
            contradicted += [(name, sentence) for sentence in contradictions(path)]
        if interrupted:
            break
    total = time.perf_counter() - start_all
    print(f"{len(rows) - len(failures)}/{len(paths)} notebooks ran in {total:.0f} s"
          + (f"; Ctrl-C stopped the run at {name}" if interrupted else ""))
    for name in failures:
        print(f"  failed: {name}")
    table = time_table(rows, total, helpers.hardware(), before)
    print(table)
    if keep_times and not interrupted:
        (target / "results").mkdir(parents=True, exist_ok=True)
        (target / "results" / "run_times.md").write_text(
            f"# Notebook run times (`make all`, {time.strftime('%Y-%m-%d %H:%M')})\n\n" + table)
    if contradicted:
        print(f"{len(contradicted)} claim(s) contradicted by this run (the notebooks landed; fix the analysis or the "
              "claim):")
        for name, sentence in contradicted:
            print(f"  {name}: {sentence}")
    if interrupted:
        raise interrupted
    return 1 if failures or contradicted else 0


def main(paths, repo=REPO, keep_times=False):
    """run_all's exit status; after Ctrl-C a line saying so (no traceback), and the process ends as killed by SIGINT."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return run_all(paths, repo, keep_times)
    except KeyboardInterrupt:
        die_by_sigint("Interrupted (Ctrl-C): the run stopped; no notebook landed in part (an interrupted one is saved "
                      "under build/failed/).")


if __name__ == "__main__":
    sys.exit(main(notebooks(sys.argv[1:]), keep_times=not sys.argv[1:]))
