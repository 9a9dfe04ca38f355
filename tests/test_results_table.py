"""results/README.md: one row per spec question, every row filled from the committed results."""
import json
import sys

import helpers

sys.path.insert(0, str(helpers.REPO / "tools"))
import results_table  # noqa: E402


def test_every_question_row_is_filled_from_the_committed_results():
    for assignment in helpers.ASSIGNMENTS:
        lines = "\n".join(results_table.table(assignment)).splitlines()
        rows = [line for line in lines if line.startswith("| ") and not line.startswith("| question")]
        assert len(rows) == len(results_table.QUESTIONS[assignment]) >= 4
        assert not [row for row in rows if "missing:" in row]


def test_a_missing_number_shows_in_its_row(tmp_path):
    folder = tmp_path / "results" / "handin1_numpy_mlp"
    folder.mkdir(parents=True)
    (folder / "ex2_linear_model.json").write_text(json.dumps({"test_accuracy": 92.5, "hardware": "x"}))
    rows = "\n".join(results_table.table("handin1_numpy_mlp", tmp_path))
    assert "| Ex 2: linear model, test accuracy | 92.50 % | over 90 % | meets the floor (92.50 ≥ 90) |" in rows
    assert "missing: KeyError 'ex3_multilayer'" in rows


def test_verdict_rules():
    assert results_table.floor(97.0, 98).startswith("BELOW")
    assert "one run each: not ranked" in results_table.versus("a", 98.0, "b", 98.1, 10_000)
    assert results_table.versus("a", 98.0, "b", 50.0) == "a ahead of b (48.00 points, above 10)"
    assert results_table.leaders({"a": [90, 91, 92], "b": [80, 81, 82], "c": [90.5, 91.5, 89.5]}) == \
        "leading: a, c (within noise of each other)"
