"""a3 cat/dog (notebooks/a3_cnn_catdog/catdog.py): the per-seed summary that questions 2 and 3 record and compare."""
import sys

import matplotlib
import pytest

matplotlib.use("Agg")
import helpers  # noqa: E402

sys.path.insert(0, str(helpers.REPO / "notebooks" / "a3_cnn_catdog"))
import catdog  # noqa: E402


def fake_history(test_costs, test_accuracy):
    n = len(test_costs)
    return dict(train_costs=[0.5] * n, train_accuracy=[90.0] * n, test_costs=test_costs, test_accuracy=test_accuracy,
                epoch_seconds=[1.0] * n, run=dict(device="cpu", precision="float32", epochs=n, batch_size=100,
                                                  learning_rate=1e-3, seconds=float(n)))


@pytest.fixture
def summary(monkeypatch):
    monkeypatch.setattr(catdog, "SEEDS", [0, 1, 2])
    model = catdog.myCNN()
    histories = [fake_history([0.6, 0.4, 0.9], [70.0, 78.0, 77.0]),  # overfits: 0.9 > 1.2 * 0.4
                 fake_history([0.6, 0.5, 0.55], [71.0, 75.0, 76.0]),  # does not: 0.55 <= 0.6
                 fake_history([0.6, 0.45, 0.7], [72.0, 76.0, 78.0])]  # overfits
    return catdog.seeds_summary([model] * 3, histories), histories


def test_seeds_summary_keeps_every_seed_and_the_mean(summary):
    s, histories = summary
    assert s["seeds"] == [0, 1, 2]
    assert s["final_test_accuracy_per_seed"] == [77.0, 76.0, 78.0]
    assert s["final_test_accuracy"] == pytest.approx(77.0) and s["final_test_accuracy_sd"] == pytest.approx(1.0)
    assert s["min_test_loss_epoch_per_seed"] == [2, 2, 2]
    assert [r["history"]["test_accuracy"] for r in s["per_seed"]] == [h["test_accuracy"] for h in histories]
    assert s["history"]["test_accuracy"] == pytest.approx([71.0, 76.333333, 77.0])
    assert catdog.seed_values(s, "test_accuracy", 2) == [78.0, 75.0, 76.0]
    assert catdog.final_accuracies({"a": s}) == {"a": [77.0, 76.0, 78.0]}


def test_overfit_verdict_over_seeds(summary):
    s, _ = summary
    assert s["overfits_per_seed"] == [True, False, True]
    assert catdog.overfit_verdict(s) == "overfits in 2 of 3 seeds"
    assert catdog.overfit_verdict(s["per_seed"][0]) == "overfits"
    assert "lowest at epoch 2 / 2 / 2" in catdog.overfit_text("net", s)
    table = catdog.runs_table({"net": s}, with_parameters=True)
    assert "77.00 ± 1.00 %" in table and "77.00 / 76.00 / 78.00" in table and "2 of 3" in table


def test_seed_curves_plot_draws_a_thin_line_per_seed(summary):
    _, histories = summary
    fig = catdog.seed_curves_plot("t", histories)
    assert [len(ax.get_lines()) for ax in fig.axes] == [2 + 2 * 3, 2 + 2 * 3]  # train and test: mean + each seed


def test_the_spec_test_function_agrees_with_helpers_evaluate():
    import torch
    helpers.seed_everything(0)
    model = catdog.myCNN()
    x, y = torch.randn(250, 3, 32, 32), torch.randint(0, 2, (250,))
    risk, accuracy = catdog.test_risk(model, torch.device("cpu"), torch.nn.functional.binary_cross_entropy_with_logits,
                                      (x, y))
    ref_risk, ref_accuracy = helpers.evaluate(model, x, y, loss="bce")
    assert risk == pytest.approx(ref_risk, rel=1e-5) and accuracy == ref_accuracy and not model.training
