"""The project's one set of rules for comparing runs, and the claims that tie a notebook's prose to its numbers.

- Seeds: Welch's t-test per pair of variants, Holm-corrected over the pairs one notebook compares, alpha 0.05;
  a gap above 10 points is called without a test.
- Two single runs on one test set: exact McNemar test on the examples where they disagree.
- Overfitting: the held-out loss at the last epoch more than 10 % above its minimum while the training loss still falls.
- Timing: candidates measured interleaved in one process; the minimum of each is compared, and a ratio within 10 %
  of 1 is "about as fast". An epoch slower than twice the run's fastest is a stall, left out of reported times.
- Claims: `claim(holds, sentence)` backs one sentence of a notebook's hand-written analysis; `make all`, the tests
  and `make reports` refuse a notebook that holds a contradicted claim.
"""
import os
import statistics
import time

import numpy as np
from scipy import stats

ALPHA = 0.05  # family-wise error rate of one notebook's comparisons
BIG_GAP = 10.0  # points: a gap this large is stated without a test
OVERFIT_RISE = 0.10  # held-out loss this far above its minimum at the last epoch (and training loss falling)
STALL_FACTOR = 2.0  # an epoch this many times slower than the run's fastest is a stall
SPEED_MARGIN = 0.10  # a timing ratio within this of 1 is "about as fast"
CLAIM_KEY = "claim"  # output metadata key of a claim: {"sentence": str, "holds": True / False / None (not judged)}


# -------------------------------------------------------------------------------------------------- claims
def _smoke():
    """Whether this is a smoke run (SMOKE=1), whose numbers are not judged."""
    return os.environ.get("SMOKE", "0") not in ("", "0")


def claim(holds, sentence):
    """Check one sentence of the analysis against the run and show the verdict (returns None: nothing to echo).

    In full mode a contradicted claim is shown in bold with its sentence; in smoke mode `holds` is evaluated (so a
    typo fails) but not judged. The output's metadata carries the verdict for the runner, the tests and the reports.
    """
    from IPython.display import display
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError(f"claim: the sentence must be the analysis's words, got {sentence!r}. Fix: pass the sentence "
                         "the check backs, e.g. claim(a > b, \"A ends ahead of B\").")
    holds = bool(holds)
    verdict = None if _smoke() else holds
    if verdict is None:
        text, markdown = f"not judged (smoke run): {sentence}", f"*not judged (smoke run):* {sentence}"
    elif verdict:
        text, markdown = f"holds: {sentence}", f"✓ {sentence}"
    else:
        text, markdown = f"CONTRADICTED: {sentence}", f"**✗ contradicted by this run:** {sentence}"
    display({"text/plain": text, "text/markdown": markdown}, raw=True,
            metadata={CLAIM_KEY: {"sentence": sentence, "holds": verdict}})


def notebook_claims(nb):
    """Every claim recorded in an executed notebook (nbformat node or dict): a list of (sentence, holds)."""
    found = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            meta = output.get("metadata", {}).get(CLAIM_KEY)
            if meta is not None:
                found.append((meta["sentence"], meta["holds"]))
    return found


def contradicted(nb):
    """The sentences of a notebook's claims that its run contradicts (or did not judge: a smoke run's outputs)."""
    return [s for s, holds in notebook_claims(nb) if holds is not True]


# --------------------------------------------------------------------------------------------- seeds: Welch
def welch_p(a, b):
    """Two-sided p-value of Welch's t-test for the means of two samples (per-seed numbers)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"welch_p: needs at least 2 seeds per variant, got {len(a)} and {len(b)}. Fix: train more "
                         "seeds, or compare two single runs with mcnemar_p on their per-example correctness.")
    if a.var(ddof=1) == 0 and b.var(ddof=1) == 0:
        return 1.0 if a.mean() == b.mean() else 0.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def holm(pvalues):
    """Holm's step-down adjusted p-values, in the order given (family-wise error control over all of them)."""
    p = np.asarray(pvalues, float)
    order, adjusted, running = np.argsort(p), np.empty(len(p)), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def compare_seeds(values, alpha=ALPHA):
    """Every pair of variants by their per-seed numbers (`values`: name -> list), best mean first.

    Returns a list of dicts (a, b, diff = mean a - mean b, p, p_holm, verdict), a being the higher mean; verdict is
    "ahead" (a ahead of b) or "within noise". Holm's correction runs over all the pairs; a gap above BIG_GAP is
    "ahead" without a test (p None). A notebook comparing several measures uses `compare_families`.
    """
    return compare_families(values, alpha=alpha)[0]


def compare_families(*measures, alpha=ALPHA):
    """`compare_seeds` for several measures at once (each a dict name -> per-seed list), with Holm's correction over
    the pairs of all of them: one family per notebook. Returns one comparison per measure."""
    pairs = []  # (measure index, a, b), a the higher mean
    for k, values in enumerate(measures):
        means = {n: float(np.mean(v)) for n, v in values.items()}
        order = sorted(values, key=means.get, reverse=True)
        pairs += [(k, a, b, means[a] - means[b]) for i, a in enumerate(order) for b in order[i + 1:]]
    tested = [(k, a, b) for k, a, b, diff in pairs if diff <= BIG_GAP]
    raw = {t: welch_p(measures[t[0]][t[1]], measures[t[0]][t[2]]) for t in tested}
    adjusted = dict(zip(tested, holm(list(raw.values())))) if tested else {}
    return [[dict(a=a, b=b, diff=diff, p=raw.get((k, a, b)), p_holm=adjusted.get((k, a, b)),
                  verdict="ahead" if adjusted.get((k, a, b), 0.0) < alpha else "within noise")
             for j, a, b, diff in pairs if j == k] for k in range(len(measures))]


def ahead(comparison, a, b):
    """Whether `a` is ahead of `b` by the rule, in a `compare_seeds` (or `compare_runs`) result."""
    return any(r["a"] == a and r["b"] == b and r["verdict"] == "ahead" for r in comparison)


def within_noise(comparison, a, b):
    """Whether `a` and `b` (either order) are within noise of each other in a comparison result."""
    return any({r["a"], r["b"]} == {a, b} and r["verdict"] == "within noise" for r in comparison)


def leaders(comparison):
    """The variants no other variant is ahead of, by the rule: the top group."""
    names = list(dict.fromkeys(n for r in comparison for n in (r["a"], r["b"])))
    return [n for n in names if not any(r["b"] == n and r["verdict"] == "ahead" for r in comparison)]


def comparison_table(comparisons, digits=2, unit="points"):
    """Markdown table of one comparison, or of several (a dict label -> comparison, with a measure column): pair,
    difference of means, p (Welch, Holm), verdict."""
    named = comparisons if isinstance(comparisons, dict) else {None: comparisons}
    p_text = lambda p: "— (gap > 10 points)" if p is None else "< 0.001" if p < 0.001 else f"{p:.3f}"  # noqa: E731
    first = (lambda label: f"| {label} ") if None not in named else (lambda label: "")
    rows = [f"{first(label)}| {r['a']} vs {r['b']} | {r['diff']:+.{digits}f} {unit} | {p_text(r['p_holm'])} | "
            f"{r['verdict']} |" for label, comparison in named.items() for r in comparison]
    head = "| pair (higher mean first) | difference of means | p (Welch, Holm) | verdict |"
    return "\n".join([("| measure " if None not in named else "") + head,
                      "|---" * (head.count("|") - 1 + (None not in named)) + "|", *rows])


# ------------------------------------------------------------------------------------- single runs: McNemar
def mcnemar_p(correct_a, correct_b):
    """Exact two-sided McNemar p-value for two classifiers' per-example correctness (booleans) on one test set."""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if a.shape != b.shape:
        raise ValueError(f"mcnemar_p: the two runs were scored on different test sets ({a.shape} vs {b.shape}). "
                         "Fix: pass per-example correctness of both models on the same examples.")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    return 1.0 if only_a + only_b == 0 else float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)


def compare_runs(correct, alpha=ALPHA):
    """Every pair of single runs scored on one test set (`correct`: name -> per-example correctness), best first:
    exact McNemar p per pair, Holm-corrected over the pairs; the same dicts as `compare_seeds` (diff in points).
    One run per variant: the text says "one run"."""
    acc = {n: 100.0 * float(np.mean(c)) for n, c in correct.items()}
    order = sorted(correct, key=acc.get, reverse=True)
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
    raw = [mcnemar_p(correct[a], correct[b]) for a, b in pairs]
    return [dict(a=a, b=b, diff=acc[a] - acc[b], p=p, p_holm=q, verdict="ahead" if q < alpha else "within noise")
            for (a, b), p, q in zip(pairs, raw, holm(raw) if raw else [])]


# ---------------------------------------------------------------------------------------------- overfitting
def overfits(train_costs, heldout_costs, rise=OVERFIT_RISE):
    """Whether a run overfits: its held-out loss at the last epoch is more than `rise` above its minimum while the
    training loss still falls (last epoch below the epoch of the held-out minimum)."""
    best = int(np.argmin(heldout_costs))
    return bool(heldout_costs[-1] > (1 + rise) * heldout_costs[best] and train_costs[-1] < train_costs[best])


# --------------------------------------------------------------------------------------------------- timing
def stalled_epochs(epoch_seconds, factor=STALL_FACTOR):
    """The 1-based epochs slower than `factor` times the run's fastest epoch (the machine was busy)."""
    fastest = min(epoch_seconds)
    return [e for e, s in enumerate(epoch_seconds, 1) if s > factor * fastest]


def train_seconds(history):
    """(median training seconds per unstalled epoch, number of stalled epochs left out) of a `fit` history."""
    stalled = set(stalled_epochs(history["epoch_seconds"]))
    kept = [s for e, s in enumerate(history["epoch_seconds"], 1) if e not in stalled]
    return statistics.median(kept), len(stalled)


def interleaved_times(candidates, repeats=5, warmup=1):
    """Time each callable of `candidates` (name -> f()) `repeats` times, alternating between them, after `warmup`
    untimed calls each; returns name -> list of seconds (compare their minima with `speed_ratio`)."""
    for _ in range(warmup):
        for f in candidates.values():
            f()
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, f in candidates.items():
            start = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - start)
    return times


def speed_ratio(times_a, times_b):
    """How many times longer a takes than b: min(times_a) / min(times_b)."""
    return min(times_a) / min(times_b)


def speed_verdict(ratio, margin=SPEED_MARGIN):
    """'slower', 'faster' or 'about as fast' for a `speed_ratio` (time of a over time of b)."""
    return "slower" if ratio > 1 + margin else "faster" if ratio < 1 / (1 + margin) else "about as fast"
