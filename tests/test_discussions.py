"""The words follow the numbers: the rules that rank results, and the check that static Markdown holds no stale number."""
import sys
from pathlib import Path

import nbformat
import pytest

import helpers

sys.path.insert(0, str(helpers.REPO / "tools"))
import check_numbers  # noqa: E402


def test_compare_accuracies_uses_two_standard_errors():
    # 99.0 vs 98.8 % on 10,000 images: 2 SE of the difference = 2 * sqrt(2 * 0.99 * 0.01 / 1e4) * 100 ~ 0.28 points
    assert abs(helpers.two_se_difference(99.0, 98.8, 10000) - 0.2955) < 0.001
    assert "within noise" in helpers.compare_accuracies("A", 99.0, "B", 98.8, 10000)
    assert helpers.compare_accuracies("A", 98.0, "B", 99.0, 10000).startswith("B is ahead of A by 1.00 points")


def test_compare_seeds_uses_the_seed_spread():
    assert "within noise" in helpers.compare_seeds("A", [98.1, 98.5, 97.9], "B", [98.0, 98.4, 98.2])
    assert helpers.compare_seeds("A", [98.1, 98.2, 98.15], "B", [97.0, 97.1, 97.05]).startswith("A is ahead of B by 1.10")
    assert helpers.mean_sd_text([1.0, 2.0, 3.0]) == "2.00 ± 1.00 % (3 runs)"


def tiny_notebook(tmp_path, markdown, printed="test accuracy 98.94%"):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print(acc)")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed + "\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), code, nbformat.v4.new_markdown_cell(markdown)]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_planted_stale_number_is_caught_with_cell_and_number(tmp_path):
    path = tiny_notebook(tmp_path, "The network reaches 98.94 % on the test set. It took 52 s, 3.7× faster.")
    assert check_numbers.stale_numbers(path, spec="") == [
        (2, "52", "It took 52 s, 3.7× faster."), (2, "3.7", "It took 52 s, 3.7× faster.")]
    assert check_numbers.stale_numbers(tiny_notebook(tmp_path, "It reaches 98.9 %."), spec="") != []  # precision


def test_spec_numbers_readings_and_kernel_sizes_pass(tmp_path):
    text = ("The spec reports 70.32 % for its run. Our curve flattens at about 97 %. Kernels are 3×3. "
            "We train 15 epochs.")
    assert check_numbers.stale_numbers(tiny_notebook(tmp_path, text), spec="test accuracy: 70.32%") == []
    stale = check_numbers.stale_numbers(tiny_notebook(tmp_path, "Ours beats 70.32 % easily."), spec="70.32%")
    assert [n for _, n, _ in stale] == ["70.32"]  # a spec number in a sentence that does not name the spec


@pytest.mark.skipif(not check_numbers.SPECS.is_dir(), reason="needs ../shared/specs beside the repository")
@pytest.mark.parametrize("path", sorted((helpers.REPO / "notebooks").rglob("*.ipynb")),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_committed_notebooks_have_no_stale_number_in_static_markdown(path):
    stale = check_numbers.stale_numbers(path)
    assert not stale, "\n".join(f"cell {i}: {n!r} in: {s}" for i, n, s in stale)
