"""The comparison rules, the overfitting rule, stall detection, timing and claims (rules.py), against hand counts."""
import json
import math
from pathlib import Path

import pytest

import helpers
import rules

REPO = Path(__file__).resolve().parent.parent


def test_welch_matches_a_hand_computation():
    # a = 1, 2, 3 and b = 4, 5, 6: means 2 and 5, variances 1, t = -3 / sqrt(2/3) = -3.674, Welch df = 4;
    # two-sided p from the t table: 2 * P(T_4 > 3.674) = 0.0213
    assert rules.welch_p([1, 2, 3], [4, 5, 6]) == pytest.approx(0.02131, abs=5e-5)
    # unequal variances: a = 0, 2 (var 2), b = 10, 11, 12 (var 1); t = -10 / sqrt(2/2 + 1/3) = -8.660,
    # Welch-Satterthwaite df = (4/3)^2 / (1/1 + (1/3)^2/2) = 1.684; p = 2 * P(T_1.684 > 8.660) = 0.0215
    assert rules.welch_p([0, 2], [10, 11, 12]) == pytest.approx(0.0215, abs=1e-4)
    assert rules.welch_p([1, 1, 1], [1, 1, 1]) == 1.0 and rules.welch_p([1, 1], [2, 2]) == 0.0
    with pytest.raises(ValueError, match="at least 2 seeds"):
        rules.welch_p([1.0], [2.0, 3.0])


def test_holm_steps_down_and_keeps_the_order():
    # sorted 0.01, 0.03, 0.04 -> 3 * 0.01 = 0.03, 2 * 0.03 = 0.06, max(0.06, 1 * 0.04) = 0.06
    assert rules.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert rules.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_seed_comparison_is_holm_corrected_and_big_gaps_need_no_test():
    values = {"A": [97.9, 98.0, 98.1], "B": [97.5, 97.6, 97.7], "C": [97.86, 98.0, 98.14], "D": [80.0, 80.5, 81.0]}
    comparison = rules.compare_seeds(values)
    assert [(r["a"], r["b"]) for r in comparison][:3] == [("A", "C"), ("A", "B"), ("A", "D")]
    ab = next(r for r in comparison if (r["a"], r["b"]) == ("A", "B"))
    tested = [r for r in comparison if r["p"] is not None]
    assert len(tested) == 3  # the pairs with D differ by more than 10 points: no test
    assert ab["p_holm"] == pytest.approx(rules.holm([r["p"] for r in tested])[tested.index(ab)])
    assert rules.ahead(comparison, "A", "B") and rules.within_noise(comparison, "C", "A")
    assert rules.ahead(comparison, "B", "D") and not rules.ahead(comparison, "B", "A")
    assert rules.leaders(comparison) == ["A", "C"]
    assert "| A vs B |" in rules.comparison_table(comparison)
    two = rules.comparison_table({"final": comparison, "early": comparison}).splitlines()
    assert two[0].startswith("| measure | pair") and two[1] == "|---|---|---|---|---|" and two[2].startswith("| final | A vs C |")
    assert len(two) == 2 + 2 * len(comparison)


def test_holm_runs_over_every_measure_of_a_notebook():
    one = {"A": [1.0, 2.0, 3.0], "B": [4.0, 5.0, 6.0]}  # p = 0.0213 alone
    assert rules.ahead(rules.compare_seeds(one), "B", "A")
    both = rules.compare_families(one, {"A": [1.0, 2.0, 3.0], "B": [1.1, 2.1, 3.1]})
    assert both[0][0]["p_holm"] == pytest.approx(2 * 0.02131, abs=1e-4)  # the smaller of two p-values, doubled
    assert rules.ahead(both[0], "B", "A") and rules.within_noise(both[1], "A", "B")


def test_a_gap_just_past_two_standard_errors_on_three_seeds_is_within_noise():
    # sd 1 on 3 seeds each: two standard errors of the difference are 2 * sqrt(2/3) = 1.63, the gap is 1.7;
    # Welch: t = 1.7 / 0.816 = 2.08 on 4 degrees of freedom, p = 0.106 > 0.05
    a, b = [2.7, 3.7, 4.7], [1.0, 2.0, 3.0]
    assert 1.7 > 2 * math.sqrt(2 / 3)
    assert rules.welch_p(a, b) == pytest.approx(0.106, abs=2e-3)
    assert rules.within_noise(rules.compare_seeds({"a": a, "b": b}), "a", "b")


def test_mcnemar_matches_a_hand_count():
    # 8 examples only A gets right, 2 only B: p = 2 * P(X <= 2 | n = 10, 1/2) = 2 * (1 + 10 + 45) / 1024
    a = [True] * 8 + [False] * 2 + [True] * 50 + [False] * 5
    b = [False] * 8 + [True] * 2 + [True] * 50 + [False] * 5
    assert rules.mcnemar_p(a, b) == pytest.approx(112 / 1024)
    assert rules.mcnemar_p(a, a) == 1.0
    with pytest.raises(ValueError, match="different test sets"):
        rules.mcnemar_p(a, b[:-1])


def test_single_runs_are_ranked_by_mcnemar_with_holm():
    a = [True] * 8 + [False] * 2 + [True] * 50 + [False] * 5  # 58 right
    b = [False] * 8 + [True] * 2 + [True] * 50 + [False] * 5  # 52 right: p = 112/1024 against a
    c = [False] * 30 + [True] * 35  # 35 right: against a, 28 only-a vs 5 only-c
    comparison = rules.compare_runs({"b": b, "a": a, "c": c})
    assert [(r["a"], r["b"]) for r in comparison] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert comparison[0]["p"] == pytest.approx(112 / 1024) and rules.within_noise(comparison, "a", "b")
    assert rules.ahead(comparison, "a", "c") and comparison[1]["p_holm"] == pytest.approx(3 * comparison[1]["p"])


def test_overfitting_needs_a_rising_heldout_loss_and_a_falling_training_loss():
    train = [1.0, 0.5, 0.3, 0.2, 0.1]
    assert rules.overfits(train, [0.9, 0.5, 0.40, 0.42, 0.45])  # 12.5 % above its minimum, training still falls
    assert not rules.overfits(train, [0.9, 0.5, 0.40, 0.42, 0.43])  # 7.5 %: within the 10 % allowance
    assert not rules.overfits([1.0, 0.5, 0.3, 0.3, 0.3], [0.9, 0.5, 0.40, 0.5, 0.6])  # training loss flat after min


def test_a_planted_slow_epoch_is_flagged_as_a_stall_and_left_out():
    seconds = [1.9, 1.7, 1.8, 4.0, 1.75]
    assert rules.stalled_epochs(seconds) == [4]
    median, stalls = rules.train_seconds({"epoch_seconds": seconds})
    assert stalls == 1 and median == pytest.approx(1.775)


def test_fit_records_training_and_evaluation_time_separately():
    import torch
    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    model = torch.nn.Linear(4, 2)
    h = helpers.fit(model, (x, y), (x, y), epochs=3, batch_size=16, seed=0, progress=False,
                    optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    assert len(h["epoch_seconds"]) == len(h["eval_seconds"]) == 3 and min(h["eval_seconds"]) > 0
    assert h["run"]["stalled_epochs"] == rules.stalled_epochs(h["epoch_seconds"])


def test_interleaved_timing_alternates_and_compares_minima():
    calls = []
    times = rules.interleaved_times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3)
    assert calls == ["a", "b"] * 4 and all(len(t) == 3 for t in times.values())
    assert rules.speed_ratio([3.0, 2.0, 2.5], [1.0, 1.2]) == 2.0
    assert [rules.speed_verdict(r) for r in (1.5, 1.05, 0.95, 0.5)] == ["slower", "about as fast", "about as fast",
                                                                         "faster"]


# ------------------------------------------------------------------------------------------------------ claims
def _claim_output(sentence, holds):
    return {"output_type": "display_data", "data": {"text/plain": sentence},
            "metadata": {rules.CLAIM_KEY: {"sentence": sentence, "holds": holds}}}


def test_claims_are_read_back_and_contradictions_found():
    nb = {"cells": [{"cell_type": "markdown", "source": "x"},
                    {"cell_type": "code", "outputs": [_claim_output("A beats B", True), _claim_output("C wins", False),
                                                      _claim_output("D", None)]}]}
    assert rules.notebook_claims(nb) == [("A beats B", True), ("C wins", False), ("D", None)]
    assert rules.contradicted(nb) == ["C wins", "D"]


def test_claim_shows_its_verdict_and_refuses_an_empty_sentence(monkeypatch, capsys):
    monkeypatch.setenv("SMOKE", "0")
    rules.claim(2 > 1, "two exceeds one")
    rules.claim(1 > 2, "one exceeds two")
    out = capsys.readouterr().out
    assert "holds: two exceeds one" in out and "CONTRADICTED: one exceeds two" in out
    monkeypatch.setenv("SMOKE", "1")
    rules.claim(False, "not judged in smoke mode")
    assert "not judged (smoke run)" in capsys.readouterr().out
    with pytest.raises(ValueError, match="sentence"):
        rules.claim(True, "  ")


def test_committed_notebooks_hold_no_contradicted_claim():
    """Every claim in a committed (full-mode) notebook holds; an unjudged one means smoke outputs were committed."""
    bad = {}
    for path in sorted((REPO / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        sentences = rules.contradicted(json.loads(path.read_text()))
        if sentences:
            bad[str(path.relative_to(REPO))] = sentences
    assert not bad, f"contradicted or unjudged claims (re-run the notebook in full mode, or rewrite the sentence): {bad}"
