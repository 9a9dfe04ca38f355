"""Execute notebooks top to bottom in full mode, in place, one after another (the main job).

Usage: python tools/run_notebooks.py [assignment-or-notebook ...]
A notebook that fails is named with its failing cell, left untouched in notebooks/ (its partial run is saved under
build/failed/), and the run goes on; the exit status is non-zero if any failed.
"""
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

REPO = Path(__file__).resolve().parent.parent


def notebooks(selection):
    """The notebooks to run, in reading order: all of them, or those of the named assignments / paths."""
    every = sorted((p for p in (REPO / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts),
                   key=lambda p: (p.parent.name, p.name.startswith("bonus_"), p.name))  # bonus parts come last
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


def failing_cell(nb):
    """Index and first source line of the first cell whose outputs hold an error."""
    for i, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i, (cell.source.strip().splitlines() or [""])[0]
    return None, ""


def run(path):
    """Execute one notebook in its own folder; write it back in place on success. Returns an error text or None."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as e:
        failed = REPO / "build" / "failed" / path.parent.name / path.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, failed)
        index, first_line = failing_cell(nb)
        last = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        return f"cell {index} ({first_line!r}): {last}; partial run saved to {failed.relative_to(REPO)}"
    nbformat.write(nb, path)
    return None


def main(selection):
    """Run the selected notebooks and print one progress line per notebook."""
    os.environ["SMOKE"] = "0"
    os.environ["PROGRESS_BARS"] = "0"
    paths = notebooks(selection)
    failures = []
    start_all = time.perf_counter()
    for k, path in enumerate(paths, 1):
        name = path.relative_to(REPO)
        print(f"[{k}/{len(paths)}] {name} ...", flush=True)
        start = time.perf_counter()
        error = run(path)
        status = "ok" if error is None else f"FAILED at {error}"
        print(f"[{k}/{len(paths)}] {name}: {status} ({time.perf_counter() - start:.0f} s)", flush=True)
        if error:
            failures.append(name)
    print(f"{len(paths) - len(failures)}/{len(paths)} notebooks ran in {time.perf_counter() - start_all:.0f} s")
    for name in failures:
        print(f"  failed: {name}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
