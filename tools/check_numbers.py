"""Find numbers in the notebooks' static Markdown that their run does not show: the words must follow the numbers.

Usage: python tools/check_numbers.py [notebook ...]   (default: every notebook; exit status 1 if any number is stale)
A decimal (0.087), a percentage (97 %), a time in seconds (52 s) or a ratio (3.7×) written in a Markdown cell passes
when, at its written precision, it appears in that notebook's outputs or code, or, in a sentence that names the spec,
in the assignment's spec text (or, in a sentence naming the data README, in ../shared/data/README.txt). A reading of a curve introduced by "about", "around", "~" or "≈" passes too.
Measured numbers belong in discussion cells (`helpers.discuss`), whose Markdown is an output of this run.
"""
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
import helpers  # noqa: E402  (the assignments and their spec files)
SPECS = REPO.parent / "shared" / "specs"
DATA_README = REPO.parent / "shared" / "data" / "README.txt"  # the offline data's own description
# a number with a decimal point, or a whole number followed by %, s (seconds) or × (not 3×3, a kernel size)
NUMBER = re.compile(r"(?<![\w.\-])(\d+(?:,\d{3})*\.\d+|\d+(?:,\d{3})*(?=\s?(?:%|s\b|×(?!\s?\d))))")
APPROXIMATE = re.compile(r"(?:about|around|roughly|approximately|~|≈)\s*$", re.IGNORECASE)
NAMES_SPEC = re.compile(r"\bspec|\bassignment text|\bhand-in text|\bthe author", re.IGNORECASE)
NAMES_DATA_README = re.compile(r"data README|README of the data", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z*(_`$])|\n\s*\n|\n\s*[-*|#]")


def appears(number, text):
    """Whether `number` (as written) occurs in `text` as a whole number, not as part of a longer one."""
    digits = re.escape(number)
    alternatives = {digits, re.escape(number.replace(",", ""))}
    pattern = "|".join(f"(?<![\\d.]){a}(?!\\d)" + ("" if "." in number else r"(?!\.\d)") for a in alternatives)
    return re.search(pattern, text) is not None


def run_text(nb):
    """Everything the run shows or the code states: outputs (text, Markdown, errors) and code cell sources."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            for kind in ("text/plain", "text/markdown", "text/html", "text/latex"):
                value = output.get("data", {}).get(kind, "")
                parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def spec_text(assignment):
    """The assignment's spec (empty when ../shared/specs is not beside the repository)."""
    path = SPECS / helpers.ASSIGNMENTS.get(assignment, ("", ""))[1]
    return path.read_text() if path.is_file() else ""


def stale_numbers(path, spec=None):
    """(cell index, number, sentence) for each number in the notebook's Markdown that nothing in the run shows."""
    nb = nbformat.read(path, as_version=4)
    shown = run_text(nb)
    spec = spec_text(Path(path).parent.name) if spec is None else spec
    stale = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for sentence in SENTENCE_END.split(cell.source):
            for match in NUMBER.finditer(sentence):
                number = match.group(1)
                if appears(number, shown) or APPROXIMATE.search(sentence[:match.start()]):
                    continue
                if NAMES_SPEC.search(sentence) and appears(number, spec):
                    continue
                if NAMES_DATA_README.search(sentence) and DATA_README.is_file() and appears(number, DATA_README.read_text()):
                    continue
                stale.append((index, number, " ".join(sentence.split())[:160]))
    return stale


def main(paths):
    """Report every stale number of the given (default: all) notebooks; returns the exit status."""
    paths = [Path(p) for p in paths] or sorted((REPO / "notebooks").rglob("*.ipynb"))
    count = 0
    for path in paths:
        for index, number, sentence in stale_numbers(path):
            count += 1
            print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: cell {index}: {number!r} "
                  f"appears nowhere in the run: {sentence}")
    print(f"{count} stale number(s) in {len(paths)} notebook(s)")
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
