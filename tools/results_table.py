"""Regenerate results/README.md from results/**/*.json: per assignment, one row per spec question.

Each row: the question in our words, our headline number, the spec's own number or floor, the verdict by a stated
rule, and the notebook. The full numbers stay in the JSON files (linked). Usage: python tools/results_table.py
"""
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import helpers  # noqa: E402
import rules  # noqa: E402

TEST_10K = 10_000  # test images behind the single-run accuracies (MNIST and CIFAR-10)
RULES = """Rules of the verdicts (rules.py, the same for every notebook): a floor is met when our number is at or above
it; variants trained with several seeds are ranked by Welch's t-test over the seeds, Holm-corrected over the row's
pairs (alpha 0.05), and a variant leads when no other is ahead of it by that rule; two single runs are ranked only
by an exact McNemar test on their per-example predictions, which this table does not have, so here they are ranked
only when the gap exceeds 10 points."""


def floor(value, limit):
    """Verdict of a number against the spec's floor."""
    return f"meets the floor ({value:.2f} ≥ {limit:g})" if value >= limit else f"BELOW the floor ({value:.2f} < {limit:g})"


def versus(name_a, a, name_b, b, n=None):
    """Verdict of two single-run accuracies: ranked only beyond rules.BIG_GAP points (no predictions here)."""
    if abs(a - b) <= rules.BIG_GAP:
        return f"{name_a} {a - b:+.2f} points against {name_b} (one run each: not ranked)"
    high, low = (name_a, name_b) if a > b else (name_b, name_a)
    return f"{high} ahead of {low} ({abs(a - b):.2f} points, above 10)"


def leaders(per_seed):
    """The variants that no other is ahead of by Welch + Holm (`per_seed`: variant -> per-seed numbers)."""
    ahead = rules.leaders(rules.compare_seeds(per_seed))
    return f"leading: {', '.join(ahead)}" + (" (within noise of each other)" if len(ahead) > 1 else "")


def means(per_seed):
    """'name mean ± sd' for each variant."""
    return "; ".join(f"{name} {helpers.mean_sd_text(v, unit=' %').split(' (')[0]}" for name, v in per_seed.items())


def top_two(runs, n, key="final_test_accuracy"):
    """Verdict between the two single runs with the highest `key` (two-standard-error rule on n test images)."""
    (a, run_a), (b, run_b) = sorted(runs.items(), key=lambda item: -item[1][key])[:2]
    return "top two: " + versus(a, run_a[key], b, run_b[key], n) + " (one run each)"


def catdog_seeds(results, notebook):
    """Per-seed final test accuracies of the a3 cat/dog networks one notebook trained: {network: [per seed]}."""
    return {k: v["final_test_accuracy_per_seed"] for k, v in results[notebook]["runs"].items()}


# question -> (notebook, our number, the spec's number or floor, verdict); each function gets the assignment's results
QUESTIONS = {
    "handin1_numpy_mlp": [
        ("Ex 1: backpropagation, checked against finite differences", "ex1_numpy_network",
         lambda R: f"max relative error {R['ex1_numpy_network']['gradient_check_max_relative_error']:.1e}",
         lambda R: f"our threshold {R['ex1_numpy_network']['threshold']:g}",
         lambda R: "passes" if R["ex1_numpy_network"]["gradient_check_max_relative_error"]
         < R["ex1_numpy_network"]["threshold"] else "FAILS"),
        ("Ex 1: overfit a single sample (the spec's tip)", "ex1_numpy_network",
         lambda R: f"cost {R['ex1_numpy_network']['one_sample_cost']:.1e}, predicts "
                   f"{R['ex1_numpy_network']['one_sample_prediction']} (label {R['ex1_numpy_network']['one_sample_label']})",
         lambda R: f"cost about 0: below {R['ex1_numpy_network']['one_sample_cost_threshold']:g}",
         lambda R: "passes" if R["ex1_numpy_network"]["one_sample_cost"] < R["ex1_numpy_network"]["one_sample_cost_threshold"]
         and R["ex1_numpy_network"]["one_sample_prediction"] == R["ex1_numpy_network"]["one_sample_label"] else "FAILS"),
        ("Ex 2: linear model, test accuracy", "ex2_linear_model",
         lambda R: f"{R['ex2_linear_model']['test_accuracy']:.2f} %", lambda R: "over 90 %",
         lambda R: floor(R["ex2_linear_model"]["test_accuracy"], 90)),
        ("Ex 3: multi-layer network, test accuracy", "ex3_multilayer",
         lambda R: f"{R['ex3_multilayer']['test_accuracy']:.2f} %", lambda R: "at least 95 %, up to almost 98 %",
         lambda R: floor(R["ex3_multilayer"]["test_accuracy"], 95)),
        ("Ex 4: momentum and Adam (final test accuracy)", "ex4_momentum_adam",
         lambda R: "; ".join(f"{m} {v['final_test_accuracy']:.2f} %" for m, v in R["ex4_momentum_adam"]["methods"].items()),
         lambda R: "updates equal torch.optim's",
         lambda R: "updates match torch.optim (max relative difference "
                   f"{max(v['max_relative_difference'] for v in R['ex4_momentum_adam']['optimizer_check'].values()):.0e}"
                   f" < {R['ex4_momentum_adam']['optimizer_check_threshold']:g})"),
    ],
    "handin2_pytorch_cnn": [
        ("Ex 1: the hand-in 1 network in PyTorch", "ex1_pytorch_mlp",
         lambda R: f"{R['ex1_pytorch_mlp']['test_accuracy']:.2f} % (NumPy {R['ex1_pytorch_mlp']['numpy_test_accuracy']:.2f} %)",
         lambda R: "same as the NumPy version",
         lambda R: versus("PyTorch", R["ex1_pytorch_mlp"]["test_accuracy"], "NumPy",
                          R["ex1_pytorch_mlp"]["numpy_test_accuracy"], TEST_10K)),
        ("Ex 2: the specified CNN, SGD", "ex2_cnn_sgd", lambda R: f"{R['ex2_cnn_sgd']['test_accuracy']:.2f} %",
         lambda R: "above 98 %", lambda R: floor(R["ex2_cnn_sgd"]["test_accuracy"], 98)),
        ("Ex 3: the same CNN with Adam", "ex3_cnn_adam", lambda R: f"{R['ex3_cnn_adam']['test_accuracy']:.2f} %",
         lambda R: "above 98 %", lambda R: versus("Adam", R["ex3_cnn_adam"]["test_accuracy"], "SGD",
                                                  R["ex2_cnn_sgd"]["test_accuracy"], TEST_10K)),
        ("Ex 4: residual connections", "ex4_residual",
         lambda R: f"{R['ex4_residual']['test_accuracy']:.2f} % (no skips {R['ex4_residual']['plain_test_accuracy']:.2f} %)",
         lambda R: "above 98 %", lambda R: versus("with skips", R["ex4_residual"]["test_accuracy"], "without",
                                                  R["ex4_residual"]["plain_test_accuracy"], TEST_10K)),
        ("Ex 5: none / batch norm / dropout (mean over seeds)", "ex5_regularization",
         lambda R: means({k: v["final_test_accuracy_per_seed"] for k, v in R["ex5_regularization"]["variants"].items()}),
         lambda R: "above 98 %",
         lambda R: leaders({k: v["final_test_accuracy_per_seed"]
                            for k, v in R["ex5_regularization"]["variants"].items()})),
        ("Ex 5: final model", "ex5_regularization",
         lambda R: f"{R['ex5_regularization']['best_variant']}: {R['ex5_regularization']['test_accuracy']:.2f} %",
         lambda R: "above 98 %", lambda R: floor(R["ex5_regularization"]["test_accuracy"], 98)),
    ],
    "hw1_mlp_cifar10": [
        ("1A: MLP on MNIST", "p1a_mlp", lambda R: f"{R['p1a_mlp']['test_accuracy']:.2f} %",
         lambda R: f"spec's run {R['p1a_mlp']['spec_test_accuracy']:.2f} %",
         lambda R: versus("ours", R["p1a_mlp"]["test_accuracy"], "the spec's", R["p1a_mlp"]["spec_test_accuracy"],
                          TEST_10K)),
        ("1B: activation functions (mean over seeds)", "p1b_activations",
         lambda R: means({k: v["test_accuracy_per_seed"] for k, v in R["p1b_activations"]["activations"].items()}),
         lambda R: "spec's runs: " + "; ".join(f"{k} {v['spec_test_accuracy']:.2f} %"
                                               for k, v in R["p1b_activations"]["activations"].items()),
         lambda R: leaders({k: v["test_accuracy_per_seed"] for k, v in R["p1b_activations"]["activations"].items()})),
        ("1C: XOR with one hidden layer", "p1c_xor", lambda R: f"{R['p1c_xor']['accuracy']:.0f} % of the 4 points",
         lambda R: "all 4 points right", lambda R: "solved" if R["p1c_xor"]["accuracy"] == 100 else "NOT solved"),
        ("2A: optimizers (mean over seeds)", "p2a_optimizers",
         lambda R: means({k: v["final_test_accuracy_per_seed"] for k, v in R["p2a_optimizers"]["optimizers"].items()}),
         lambda R: "spec's runs: " + "; ".join(f"{k} {v['spec_final_test_accuracy']:.2f} %"
                                               for k, v in R["p2a_optimizers"]["optimizers"].items()),
         lambda R: leaders({k: v["final_test_accuracy_per_seed"] for k, v in R["p2a_optimizers"]["optimizers"].items()})),
        ("2B: vanishing gradients (deep sigmoid vs ReLU)", "p2b_vanishing_gradients",
         lambda R: "; ".join(f"{R['p2b_vanishing_gradients']['networks'][k]} {v:.2f} %"
                             for k, v in R["p2b_vanishing_gradients"]["test_accuracy"].items()),
         lambda R: "—", lambda R: versus("ReLU (He init)", R["p2b_vanishing_gradients"]["test_accuracy"]["relu_he"],
                                        "sigmoid", R["p2b_vanishing_gradients"]["test_accuracy"]["sigmoid"], TEST_10K)),
        ("2C: regularization (mean over seeds)", "p2c_regularization",
         lambda R: means({k: v["final_test_accuracy_per_seed"] for k, v in R["p2c_regularization"]["configurations"].items()}),
         lambda R: "—",
         lambda R: leaders({k: v["final_test_accuracy_per_seed"]
                            for k, v in R["p2c_regularization"]["configurations"].items()})),
        ("3A: simple CNN on CIFAR-10", "p3a_simple_cnn",
         lambda R: f"{R['p3a_simple_cnn']['test_accuracy']:.2f} % (validation split); "
                   f"{R['p3a_simple_cnn']['spec_recipe']['test_accuracy']:.2f} % (the spec's setup: 50,000 images, batch "
                   f"{R['p3a_simple_cnn']['spec_recipe']['batch_size']})",
         lambda R: f"spec's run {R['p3a_simple_cnn']['spec_test_accuracy']:.2f} % (its recipe, original CIFAR-10)",
         lambda R: versus("ours (the spec's setup)", R["p3a_simple_cnn"]["spec_recipe"]["test_accuracy"], "the spec's",
                          R["p3a_simple_cnn"]["spec_test_accuracy"], TEST_10K)),
        ("3B: CNN architectures (the spec's three, and CNN_A with average pooling)", "p3b_architectures",
         lambda R: "; ".join(f"{k.split(' ')[0]} {v['final_test_accuracy']:.2f} %"
                             for k, v in R["p3b_architectures"]["architectures"].items()),
         lambda R: "spec's runs: " + "; ".join(f"{k.split(' ')[0]} {v['spec_test_accuracy']:.2f} %"
                                               for k, v in R["p3b_architectures"]["architectures"].items()
                                               if "spec_test_accuracy" in v),
         lambda R: top_two(R["p3b_architectures"]["architectures"], TEST_10K)),
        ("3C: filters and activation maps", "p3c_features",
         lambda R: f"{R['p3c_features']['filters']} first-layer filters shown", lambda R: "—", lambda R: "figures"),
        ("Bonus: transfer learning (ResNet-18)", "bonus_transfer_learning",
         lambda R: f"{R['bonus_transfer_learning']['test_accuracy']:.2f} % ({R['bonus_transfer_learning']['label']})",
         lambda R: "—", lambda R: versus("ResNet-18", R["bonus_transfer_learning"]["test_accuracy"], "the simple CNN",
                                        R["bonus_transfer_learning"]["simple_cnn_test_accuracy"], TEST_10K)),
    ],
    "a3_cnn_catdog": [
        ("Q1: cat/dog subset of CIFAR-10", "q1_dataset",
         lambda R: f"{R['q1_dataset']['train_subset']:,} training / {R['q1_dataset']['test_subset']:,} test images",
         lambda R: "10,000 / 2,000", lambda R: "as asked" if (R["q1_dataset"]["train_subset"],
                                                              R["q1_dataset"]["test_subset"]) == (10000, 2000) else "DIFFERS"),
        ("Q2: plain CNN (final test accuracy, mean over seeds)", "q2_plain_cnn",
         lambda R: means(catdog_seeds(R, "q2_plain_cnn")), lambda R: "—",
         lambda R: leaders(catdog_seeds(R, "q2_plain_cnn"))),
        ("Q3: CNN with skip connections (final test accuracy, mean over seeds)", "q3_resnet",
         lambda R: means(catdog_seeds(R, "q3_resnet")), lambda R: "—",
         lambda R: leaders(catdog_seeds(R, "q3_resnet"))),
        ("Written questions (numbers checked in code)", "written_questions",
         lambda R: f"max error of the checks {R['written_questions']['max_check_error']:.1e}", lambda R: "0",
         lambda R: "checked" if R["written_questions"]["max_check_error"] < 1e-6 else "MISMATCH"),
    ],
    "a3_feedforward": [
        ("Task 1: two-layer network on MNIST", "task1_mnist_classification",
         lambda R: f"test error rate {R['task1_mnist_classification']['test_error_rate']:.2f} %, "
                   f"e_te {R['task1_mnist_classification']['final_test_error']:.4f}", lambda R: "—", lambda R: "—"),
        ("Task 2: five seeds", "task2_seeds",
         lambda R: f"final e_te {R['task2_seeds']['final_test_error_mean']:.4f} ± "
                   f"{R['task2_seeds']['final_test_error_std']:.4f}",
         lambda R: "—", lambda R: "identical rerun" if R["task2_seeds"]["identical_rerun"] else "rerun DIFFERS"),
        ("Task 3: validation split", "task3_validation",
         lambda R: f"e_va* {R['task3_validation']['e_va_star_mean']:.4f}, e_te* {R['task3_validation']['e_te_star_mean']:.4f}",
         lambda R: "—", lambda R: "—"),
        ("Task 4: grid search", "task4_grid_search",
         lambda R: "best: hidden {hidden}, lr {learning_rate:g}, batch {batch_size}: e_va {e_va:.4f}".format(
             **R["task4_grid_search"]["best"]), lambda R: "—",
         lambda R: f"{R['task4_grid_search']['n_models']} models compared by validation error"),
        ("Task 5: t-SNE of inputs and hidden features (linear probe on x and z)", "task5_tsne",
         lambda R: "probe accuracy: " + "; ".join(f"{k} {v:.2f} %" for k, v in R["task5_tsne"]["probe_accuracy"].items()),
         lambda R: "—", lambda R: versus("z", R["task5_tsne"]["probe_accuracy"]["z"], "x",
                                        R["task5_tsne"]["probe_accuracy"]["x"], R["task5_tsne"]["probe_test_images"])),
    ],
}


def cell(function, results):
    """A table cell from `function(results)`, or a visible 'missing: ...' when a number is not recorded."""
    try:
        return str(function(results)).replace("|", "/")
    except (KeyError, TypeError, IndexError, ValueError) as e:
        return f"missing: {type(e).__name__} {e}"


def table(assignment, root=REPO):
    """Markdown lines of one assignment's table, from the results under `root`."""
    folder = root / "results" / assignment
    results = {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
    title, spec = helpers.ASSIGNMENTS[assignment]
    rows = [(question, cell(ours, results), cell(target, results), cell(verdict, results),
             f"[{notebook}](../notebooks/{assignment}/{notebook}.ipynb) ([numbers]({assignment}/{notebook}.json))")
            for question, notebook, ours, target, verdict in QUESTIONS[assignment]]
    hardware = sorted({r.get("hardware", "?") for r in results.values()})
    return [f"## {title}", "", f"Spec: `{spec}`. Ran on: {'; '.join(hardware)}.", "",
            helpers.markdown_table(["question", "ours", "spec's number or floor", "verdict", "notebook"], rows), ""]


def main():
    """Write results/README.md."""
    lines = ["# Results", "", "Regenerated by `make all` (tools/results_table.py) from the numbers each notebook "
             "recorded in its last full-mode run (`results/<assignment>/<notebook>.json`, linked per row). "
             "Accuracies in percent.", "", RULES.replace("\n", " "), ""]
    for assignment in helpers.ASSIGNMENTS:
        lines += table(assignment)
    (REPO / "results" / "README.md").write_text("\n".join(lines))
    print(f"wrote results/README.md ({sum(len(q) for q in QUESTIONS.values())} questions)")


if __name__ == "__main__":
    main()
