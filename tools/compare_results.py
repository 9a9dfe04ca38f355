"""Did a speed change move any accuracy? The test accuracies of the committed results against those of a git revision.

Usage: python tools/compare_results.py <git revision>   (e.g. the commit before a full `make all`)
Every number named like test_accuracy in results/**/*.json is compared with the same entry at the revision:
lists of per-seed values (…_per_seed) by the seed rule (`helpers.seeds_differ`: the means differ beyond two standard
errors of their difference, from the seed spread); single runs by two standard errors of the difference of two test
accuracies on the test set's size (2,000 images for the cat/dog subset, else 10,000). The verdict: "within noise" or
"moved".
"""
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import helpers  # noqa: E402

KEY = re.compile(r"(^|_)test_accuracy(_per_seed)?$")


def leaves(tree, path=()):
    """(path, value) of every test-accuracy number or per-seed list in a results tree."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from leaves(value, (*path, str(key)))
    elif path and KEY.search(path[-1]) and not path[-1].startswith("spec_"):
        number = isinstance(tree, (int, float)) and not isinstance(tree, bool)
        seeds = (path[-1].endswith("_per_seed") and isinstance(tree, list) and len(tree) > 1
                 and all(isinstance(v, (int, float)) for v in tree))
        if number or seeds:
            yield path, tree


def verdict(old, new, n_test):
    """'within noise' or 'moved', and the limit the rule used."""
    if isinstance(old, list):
        limit = helpers.seed_limit(old, new)
        return ("moved" if helpers.seeds_differ(old, new) else "within noise"), f"seeds: 2 SE = {limit:.2f}"
    limit = helpers.two_se_difference(old, new, n_test)
    return ("moved" if abs(new - old) > limit else "within noise"), f"2 SE = {limit:.2f}"


def compare(revision):
    """Markdown table rows comparing every test accuracy with `revision`'s."""
    rows, moved = [], 0
    for path in sorted((REPO / "results").glob("*/*.json")):
        relative = path.relative_to(REPO).as_posix()
        try:
            before = json.loads(subprocess.run(["git", "show", f"{revision}:{relative}"], cwd=REPO, check=True,
                                               capture_output=True, text=True).stdout)
        except subprocess.CalledProcessError:
            continue
        old = dict(leaves(before))
        n_test = 2000 if path.parent.name == "a3_cnn_catdog" else 10000
        for key, new in leaves(json.loads(path.read_text())):
            if key not in old or type(old[key]) is not type(new) or (isinstance(new, list) and len(new) != len(old[key])):
                continue
            word, rule = verdict(old[key], new, n_test)
            moved += word == "moved"
            mean = lambda v: sum(v) / len(v) if isinstance(v, list) else v  # noqa: E731
            rows.append(f"| {path.stem} | {'.'.join(key)} | {mean(old[key]):.2f} | {mean(new):.2f} | "
                        f"{mean(new) - mean(old[key]):+.2f} | {rule} | {word} |")
    return rows, moved


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("Usage: python tools/compare_results.py <git revision>")
    rows, moved = compare(sys.argv[1])
    print(f"Test accuracies (%) of results/ against {sys.argv[1]}; per-seed lists compared by their means.\n")
    print("| notebook | entry | before | now | change | rule | verdict |\n|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n{moved} of {len(rows)} moved beyond noise.")
