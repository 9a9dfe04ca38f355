"""Speed settings that must hold in every notebook's kernel, and the profile of a full run (tools/profile_runs.py)."""
import os
import subprocess
import sys

import nbformat
import pytest

import helpers

sys.path.insert(0, str(helpers.REPO / "tools"))
import profile_runs  # noqa: E402

# a product that is a denormal float (1e-40 < 1.2e-38), computed over a tensor large enough to be split among
# PyTorch's worker threads; prints how many elements came out nonzero
DENORMAL_PROBE = ("import helpers, torch; torch.set_num_threads(2); x = torch.full((1 << 22,), 1e-30); "
                  "print(int(((x * 1e-10) != 0).sum()))")


@pytest.mark.parametrize("keep, nonzero", [("0", False), ("1", True)])
def test_denormals_are_flushed_in_every_worker_thread(keep, nonzero):
    out = subprocess.run([sys.executable, "-c", DENORMAL_PROBE], capture_output=True, text=True, check=True,
                         env=dict(os.environ, KEEP_DENORMALS=keep), cwd=helpers.REPO).stdout
    assert (int(out.strip().splitlines()[-1]) > 0) == nonzero, out


def stamped_cell(source, start, end):
    """A code cell with nbclient's execution stamps (seconds past 12:00:00)."""
    cell = nbformat.v4.new_code_cell(source)
    stamp = lambda s: f"2026-12-03T12:{int(s) // 60:02d}:{s % 60:09.6f}Z"  # noqa: E731
    cell.metadata["execution"] = {"iopub.execute_input": stamp(start), "shell.execute_reply": stamp(end)}
    return cell


def test_profile_names_the_slowest_cells_and_the_time_outside_them(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks" / "a3_feedforward"
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Task"), stamped_cell("import helpers", 0, 2),
                stamped_cell("# the grid\nrows = train_all()", 2, 92.5), nbformat.v4.new_code_cell("not run")]
    nbformat.write(nb, folder / "task1_x.ipynb")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "run_times.md").write_text(
        "| notebook | status | seconds | precision recorded |\n|---|---|---|---|\n"
        "| notebooks/a3_feedforward/task1_x.ipynb | ok | 100 | cpu; float32 |\n")
    monkeypatch.setattr(helpers, "ASSIGNMENTS", {"a3_feedforward": ("A3", "spec.md")})
    assert profile_runs.cell_seconds(nb.cells[2]) == pytest.approx(90.5)
    assert profile_runs.cell_seconds(nb.cells[3]) is None
    text = profile_runs.profile(tmp_path)
    row = next(line for line in text.splitlines() if "task1_x" in line)
    assert "| 100 | 92 | 8 |" in row  # runner seconds, seconds in cells, the rest
    assert row.index("cell 2: 90 s (98 %) `rows = train_all()`") < row.index("cell 1: 2 s")  # slowest first
