"""Where each notebook's seconds went in its last full-mode run: results/profile.md.

Read from the executed notebooks (nbclient stamps every code cell with its start and end) and results/run_times.md
(the runner's seconds per notebook, kernel start included). Per notebook: the runner's seconds, the seconds inside
cells, the rest (kernel start, reading and writing the notebook), and the slowest cells with their share of the
notebook and their first line of code, so that the costs to take down next are named by a measurement.
Usage: python tools/profile_runs.py   (after `make all`; also run by it)
"""
import re
import sys
from datetime import datetime
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import helpers  # noqa: E402

TOP = 3  # slowest cells listed per notebook


def cell_seconds(cell):
    """Seconds a code cell ran (from nbclient's execution stamps), or None when it was not stamped."""
    stamps = cell.get("metadata", {}).get("execution", {})
    start, end = stamps.get("iopub.execute_input"), stamps.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def first_line(cell):
    """The cell's first line of code that is not a comment, shortened for a table cell."""
    lines = [line.strip() for line in cell.source.splitlines() if line.strip() and not line.strip().startswith("#")]
    text = (lines[0] if lines else "").replace("|", "\\|")
    return text if len(text) <= 70 else text[:67] + "..."


def runner_seconds(repo=REPO):
    """notebook path -> seconds from results/run_times.md (empty when there is no such table)."""
    table = repo / "results" / "run_times.md"
    if not table.exists():
        return {}
    rows = re.findall(r"^\| (notebooks/\S+\.ipynb) \| \w+ \| (\d+) \|", table.read_text(), flags=re.M)
    return {path: float(seconds) for path, seconds in rows}


def profile(repo=REPO):
    """The Markdown of results/profile.md."""
    runner = runner_seconds(repo)
    rows, total_cells = [], 0.0
    for assignment in helpers.ASSIGNMENTS:
        for path in helpers.notebook_paths(assignment, repo):
            cells = [(i, c, cell_seconds(c)) for i, c in enumerate(nbformat.read(path, as_version=4).cells)
                     if c.cell_type == "code"]
            timed = [(i, c, s) for i, c, s in cells if s is not None]
            inside = sum(s for _, _, s in timed)
            total_cells += inside
            name = str(path.relative_to(repo))
            outside = runner.get(name)
            slowest = sorted(timed, key=lambda t: -t[2])[:TOP]
            listed = "<br>".join(f"cell {i}: {s:.0f} s ({100 * s / inside:.0f} %) `{first_line(c)}`"
                                 for i, c, s in slowest if inside > 0 and s >= 1)
            rows.append(f"| {name} | {'' if outside is None else f'{outside:.0f}'} | {inside:.0f} | "
                        f"{'' if outside is None else f'{outside - inside:.0f}'} | {listed} |")
    return ("# Where the seconds go (last full-mode run of each notebook)\n\n"
            "From the cells' execution stamps in the committed notebooks and `results/run_times.md`. *runner s*: the "
            "notebook's time in `make all`; *in cells*: the sum over its code cells; *rest*: kernel start and writing "
            f"the notebook. Cells: {total_cells:.0f} s ({total_cells / 60:.1f} min) in all.\n\n"
            "| notebook | runner s | in cells | rest | slowest cells (share of the cells' time, first line) |\n"
            "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    text = profile()
    (REPO / "results" / "profile.md").write_text(text)
    print(text)
