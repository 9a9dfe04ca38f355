"""Build each assignment's hand-in files under reports/<assignment>/, exactly the files its spec asks for.

Usage: python tools/build_reports.py [--name "Ada Lovelace"] [--id 123456] [--partner NAME] [--partner-id ID]
                                     [assignment ...]
`make reports NAME="Ada Lovelace" ID="123456"` passes them; they are saved in student.toml (git-ignored) so that
later builds, `make all` included, reuse them. Without a name the title pages show a visible placeholder.

What each assignment gets (SUBMISSIONS below; each spec's submission rules in /specs):
  a3_feedforward       report.pdf (answers, no code, at most 8 pages) + code.zip
  a3_cnn_catdog        one PDF per question (written questions 1-3, programming questions 1-3), printed from one
                       self-contained notebook <Lastname>_<Firstname>_Assgn3.ipynb (helpers.py and catdog.py inlined,
                       only what it uses), which is handed in too
  hw1_mlp_cifar10      report.pdf (question, figure, table, analysis; no code) + code.zip + requirements.txt
  handin1/2            report.pdf (answers, then the code as an appendix, once) + code.zip
A code zip unpacks into one folder, <assignment>/, that runs by itself: its notebooks, the modules they import,
helpers.py, requirements.txt, a README and the results of other hand-ins its notebooks read.

Route: nbconvert HTML (MathJax with STIX-Web fonts from the local jupyter-server-mathjax package, no internet) ->
headless Chromium prints it to PDF. Without Chromium the HTML is still written (build/reports/) and the command says
what to install. Cell tags the reports obey: "report-skip" (cell left out), "report-hide-output" (outputs left out),
"report-show-output" (printed console output kept where a report otherwise leaves it out), "report-show-code" (code
printed in a report without code), "report-hide-input" (outputs printed without the code, e.g. plotting code),
"discussion" (the Markdown a helpers.discuss cell writes is shown, not its code).
"""
import argparse
import ast
import copy
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "reports"
HTML_DIR = REPO / "build" / "reports"  # the intermediate HTML (not a hand-in file)
sys.path.insert(0, str(REPO))
import helpers  # noqa: E402  (the assignment list, titles and notebook order)

SKIP_TAG, HIDE_OUTPUT_TAG, SHOW_OUTPUT_TAG = "report-skip", "report-hide-output", "report-show-output"
SHOW_CODE_TAG = "report-show-code"  # a code cell printed even in a report without code (a spec asks for that code)
HIDE_INPUT_TAG = "report-hide-input"  # a code cell whose outputs are printed without its code (plotting code)
DISCUSSION_TAG = "discussion"
REMOVE_INPUT_TAG = "report-remove-input"  # set by this script on the copies it prints
PLACEHOLDER_NAME, PLACEHOLDER_ID = "(name: set NAME=... or student.toml)", "(student ID: set ID=...)"

# What each spec asks for. pdf: the report's file name; zip: the code zip's; max_pages: the limit the test holds
# (a3_feedforward: the spec's 8 pages, aiming for 7 so that other fonts still fit); code: "hidden" (no code in the
# PDF), "appendix" (no code inline, all of it once at the end); console: whether printed (stdout) lines are shown.
SUBMISSIONS = {
    "handin1_numpy_mlp": dict(pdf="report.pdf", zip="code.zip", code="appendix", console=True, max_pages=45,
                              part_breaks=True, captions=True),
    "handin2_pytorch_cnn": dict(pdf="report.pdf", zip="code.zip", code="appendix", console=True, max_pages=45,
                                part_breaks=True, captions=True),
    "hw1_mlp_cifar10": dict(pdf="report.pdf", zip="code.zip", requirements=True, code="hidden", console=False,
                            max_pages=24, part_breaks=False),
    "a3_cnn_catdog": dict(per_question=True, max_pages=12),
    "a3_feedforward": dict(pdf="report.pdf", zip="code.zip", code="hidden", console=False, max_pages=8,
                           target_pages=7, compact=True, part_breaks=False),
}
# Prose fixes for the printed reports: (assignment or "*", regex, replacement). The notebooks say where their code
# is and point at the repository's benchmark notes; a report without code, or a stand-alone notebook, says neither.
PROSE_FIXES = [
    ("a3_feedforward", r";\s*its code is printed here\.", "; its code is in code.zip."),
    *[(a, r"\s*\(Mixed precision is used only by the CIFAR-10 CNN notebooks, where `benchmarks/README\.md`"
          r" shows that it leaves the accuracy unchanged\.\)", "")  # about other assignments' notebooks
      for a in ("a3_feedforward", "handin1_numpy_mlp", "handin2_pytorch_cnn")],
    ("a3_feedforward", r" The timing cell above rounds this ratio to one decimal\.", ""),
    ("a3_feedforward", r"the printed errors must equal the grid's", "its errors must equal the grid's"),
    ("a3_feedforward", r" \(asserted in the cell that compares them\)", " (asserted in the notebook)"),
    ("handin1_numpy_mlp", r";\s*here it is in full\.", "; it is printed in full in the appendix."),
    ("handin1_numpy_mlp", r"\(printed below\)", "(see the appendix)"),
    ("a3_cnn_catdog", r"\s*Its speed and accuracy against float32 are measured separately, on their own hardware, in "
                      r"`benchmarks/README\.md`\.", ""),
]
A3_CNN = "a3_cnn_catdog"
A3_PARTS = [  # the stand-alone notebook's parts in the spec's order: (source notebook, PDF name suffix, title)
    ("written_questions", None, "Written questions"),
    ("q1_dataset", "Programming_Q1", "Programming question 1"),
    ("q2_plain_cnn", "Programming_Q2", "Programming question 2"),
    ("q3_resnet", "Programming_Q3", "Programming question 3"),
]
A3_WRITTEN = [("Written_Q1", "Written question 1"), ("Written_Q2", "Written question 2"),
              ("Written_Q3", "Written question 3")]
A3_LIBRARY_ONLY = {"fit"}  # long general-purpose code stays in the notebook's shared-code section, not in Q2's PDF
A3_MODULE = "catdog"
A3_SAME_VALUE = {"BATCH_SIZE"}  # Q1 sets the spec's batch size 100, the value catdog.py's recipe uses too


# ------------------------------------------------------------------------------------------------ the student
def student_file():
    return REPO / "student.toml"


def read_student():
    """The student's settings from student.toml: name, id, partner, partner_id (missing ones are "")."""
    values = dict(name="", id="", partner="", partner_id="")
    path = student_file()
    if path.exists():
        import tomllib
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise SystemExit(f"{path}: {e}. Write it as lines like  name = \"Ada Lovelace\"  and  id = \"123456\".")
        values.update({k: str(v).strip() for k, v in data.items() if k in values})
    return values


def save_student(values):
    """Write student.toml (git-ignored) with the given settings."""
    lines = ["# Your name and student ID for the title pages of the reports (tools/build_reports.py reads this;",
             "# `make reports NAME=\"...\" ID=\"...\"` writes it). a3_feedforward is handed in by a pair: partner, "
             "partner_id."]
    lines += [f"{k} = {json.dumps(values[k], ensure_ascii=False)}" for k in ("name", "id", "partner", "partner_id")
              if values.get(k)]
    student_file().write_text("\n".join(lines) + "\n")


def name_parts(name):
    """(Lastname, Firstname) of a name: "Lovelace, Ada" or "Ada Lovelace" (the last word is the last name)."""
    name = " ".join(name.split())
    if not name:
        return "Lastname", "Firstname"
    if "," in name:
        last, first = (s.strip() for s in name.split(",", 1))
    else:
        *first, last = name.split(" ")
        first = " ".join(first)
    clean = lambda s: re.sub(r"[^\w-]+", "-", s, flags=re.UNICODE).strip("-")  # noqa: E731
    return clean(last) or "Lastname", clean(first) or "Firstname"


def display_name(name):
    """The name as written on a title page ("Lovelace, Ada" becomes "Ada Lovelace")."""
    if "," in name:
        last, first = (s.strip() for s in name.split(",", 1))
        return f"{first} {last}".strip()
    return " ".join(name.split())


def a3_prefix(student):
    last, first = name_parts(student["name"])
    return f"{last}_{first}_Assgn3"


def expected_files(assignment, student=None):
    """The file names reports/<assignment>/ must hold (nothing else), as the assignment's spec names them."""
    sub = SUBMISSIONS[assignment]
    if sub.get("per_question"):
        prefix = a3_prefix(student or read_student())
        return sorted([f"{prefix}.ipynb"] + [f"{prefix}_{suffix}.pdf" for suffix, _ in A3_WRITTEN]
                      + [f"{prefix}_{suffix}.pdf" for _, suffix, _ in A3_PARTS if suffix])
    return sorted([sub["pdf"], sub["zip"]] + (["requirements.txt"] if sub.get("requirements") else []))


# ----------------------------------------------------------------------------------------------- code analysis
def code_lines(source):
    """A cell's source without IPython magics and shell escapes, so that ast can parse it."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def parse(source):
    try:
        return ast.parse(code_lines(source))
    except SyntaxError:
        return None


def bound_names(node):
    """The module-level names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
        node, (ast.AnnAssign, ast.AugAssign)) else []
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


class Module:
    """A Python file's top-level statements, the names they bind, and their source lines."""

    def __init__(self, path, text=None):
        self.path = Path(path)
        self.text = self.path.read_text() if text is None else text
        self.lines = self.text.splitlines(keepends=True)
        self.tree = ast.parse(self.text)
        self.binds = {}  # name -> top-level statements binding it
        for node in self.tree.body:
            for name in bound_names(node):
                self.binds.setdefault(name, []).append(node)

    def closure(self, names):
        """The top-level statements needed by `names`, following the module-level names they use, in file order."""
        needed, stack = set(), [n for n in names if n in self.binds]
        while stack:
            for node in self.binds[stack.pop()]:
                if id(node) in needed:
                    continue
                needed.add(id(node))
                stack += [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in self.binds]
        return [node for node in self.tree.body if id(node) in needed]

    def segment(self, node):
        """The source of a top-level statement, decorators and the comment lines right above it included."""
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        while start > 0 and self.lines[start - 1].startswith("#") and not self.lines[start - 1].startswith("# ---"):
            start -= 1
        return "".join(self.lines[start:node.end_lineno]).rstrip() + "\n"

    def source_of(self, name):
        """What `inspect.getsource` prints for a top-level function or class (helpers.show_code's text)."""
        node = next((n for n in self.binds.get(name, []) if isinstance(n, (ast.FunctionDef, ast.ClassDef))), None)
        if node is None:
            return None
        start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
        return "".join(self.lines[start:node.end_lineno])

    def sections(self, names, skip=()):
        """The excerpt of `names` cut at the module's section comments ("# ----- data"): [(title, source)], the
        imports and settings first."""
        nodes = [n for n in self.closure(names) if not (bound_names(n) & set(skip))]
        marks = [(i + 1, line.strip("# -\n")) for i, line in enumerate(self.lines) if line.startswith("# ---")]
        groups = {}
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                title = "imports"
            else:
                title = next((t for line, t in reversed(marks) if line < node.lineno), "settings")
            groups.setdefault(title, []).append(node)
        out = []
        for title, group in groups.items():
            parts = [self.segment(n) for n in group]
            joiner = "" if title == "imports" else "\n\n\n"
            text = joiner.join(p.rstrip("\n") + ("\n" if title == "imports" else "") for p in parts)
            out.append((title, re.sub(r"(?m)  # noqa\b.*$", "", text).rstrip("\n") + "\n"))
        return out

    def excerpt(self, names, skip=(), header=None):
        """The module's source reduced to `names` and what they need: imports first, then definitions in file order."""
        nodes = [n for n in self.closure(names) if not (bound_names(n) & set(skip))]
        imports = [self.segment(n) for n in nodes if isinstance(n, (ast.Import, ast.ImportFrom))]
        rest = [self.segment(n) for n in nodes if not isinstance(n, (ast.Import, ast.ImportFrom))]
        parts = ([header.rstrip() + "\n"] if header else []) + (["".join(imports)] if imports else [])
        text = "\n\n\n".join(p.rstrip("\n") for p in parts + rest) + "\n"
        return re.sub(r"(?m)  # noqa\b.*$", "", text)


def notebook_code(paths, tag_filter=lambda tags: True):
    """The code cells of notebooks, as (path, cell) pairs."""
    return [(p, c) for p in paths for c in nbformat.read(p, as_version=4).cells
            if c.cell_type == "code" and tag_filter(c.metadata.get("tags", []))]


def attribute_uses(tree, alias):
    """Names X used as alias.X in a syntax tree."""
    return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id == alias}


def imported_modules(trees):
    """{module name: (aliases, names imported from it)} over the import statements of the given syntax trees."""
    found = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    found.setdefault(a.name, (set(), set()))[0].add(a.asname or a.name)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.setdefault(node.module, (set(), set()))[1].update(a.name for a in node.names)
    return found


def local_module_path(name, assignment):
    """The file of a project module `name`: beside the assignment's notebooks, else beside another assignment's."""
    own = REPO / "notebooks" / assignment / f"{name}.py"
    if own.exists():
        return own
    others = sorted((REPO / "notebooks").glob(f"*/{name}.py"))
    return others[0] if others else None


def code_usage(assignment, skip_tags=()):
    """What an assignment's code uses: {module path: names used from it} for helpers.py and every project module its
    notebooks import (its own, and e.g. hand-in 1's numpy_mlp.py in hand-in 2), followed through the modules: all of
    an own module counts as used, of another assignment's module only what the used names need. Cells tagged with
    one of `skip_tags` are not scanned (the appendix leaves out discussion and report-skip cells, and what only they
    use)."""
    paths = helpers.notebook_paths(assignment, REPO)
    usage = {}

    def scan(trees):
        changed = False
        for name, (aliases, from_names) in imported_modules(trees).items():
            path = REPO / "helpers.py" if name == "helpers" else local_module_path(name, assignment)
            if path is None:
                continue
            used = set(from_names)
            for alias in aliases:
                for tree in trees:
                    used |= attribute_uses(tree, alias)
            before = None if path not in usage else len(usage[path])
            usage.setdefault(path, set()).update(used)
            changed |= len(usage[path]) != before
        return changed

    scan([t for _, c in notebook_code(paths, lambda cell_tags: not set(cell_tags) & set(skip_tags))
          if (t := parse(c.source))])
    changed = True
    while changed:
        changed = False
        for path in [p for p in usage if p.name != "helpers.py"]:
            module = Module(path)
            nodes = module.tree.body if path.parent.name == assignment else module.closure(usage[path])
            changed |= scan([ast.Module(body=nodes, type_ignores=[])])
    return usage


# ------------------------------------------------------------------------------------------------ results, title
def results_of(assignment):
    """All results JSON files of an assignment, by notebook name (in reading order)."""
    folder = REPO / "results" / assignment
    order = [p.stem for p in helpers.notebook_paths(assignment, REPO)]
    found = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")} if folder.exists() else {}
    return dict(sorted(found.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))


def short_name(notebook):
    """The part a notebook answers, as the report names it: ex4_residual -> Ex. 4, task2_seeds -> Task 2,
    p3a_simple_cnn -> 3A, q1_dataset -> Q1, bonus_transfer_learning -> bonus."""
    head = notebook.split("_")[0]
    for pattern, name in ((r"ex(\d+)$", "Ex. {}"), (r"task(\d+)$", "Task {}"), (r"q(\d+)$", "Q{}")):
        if match := re.match(pattern, head):
            return name.format(match.group(1))
    if match := re.match(r"p(\d)([a-z])$", head):
        return match.group(1) + match.group(2).upper()
    return head if head == "bonus" else notebook.replace("_", " ")


def distinct_line(results, key):
    """Each distinct value of `key` once; where they differ, each preceded by the notebooks that recorded it."""
    by_value = {}
    for notebook, r in results.items():
        if r.get(key) not in (None, ""):
            by_value.setdefault(str(r[key]), []).append(short_name(notebook))
    if len(by_value) <= 1:
        return next(iter(by_value), None)
    return "; ".join(f"{', '.join(names)}: {value}" for value, names in by_value.items())


def escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def people_html(assignment, student):
    """The name and student-ID fields (both partners for the pair hand-in), a visible placeholder where unset."""
    def field(value, placeholder):
        return f"<span class='placeholder'>{escape(placeholder)}</span>" if not value else escape(value)
    rows = [("Name", field(display_name(student["name"]), PLACEHOLDER_NAME),
             "Student ID", field(student["id"], PLACEHOLDER_ID))]
    if assignment == "a3_feedforward":  # submission is in pairs
        rows.append(("Partner", field(display_name(student["partner"]), "(partner: set PARTNER=... or student.toml)"),
                     "Student ID", field(student["partner_id"], "(partner's ID: set PARTNER_ID=...)")))
    return "<table class='people'>" + "".join(
        f"<tr><th>{a}</th><td>{b}</td><th>{c}</th><td>{d}</td></tr>" for a, b, c, d in rows) + "</table>"


def title_html(assignment, student, subtitle=None, contents=None, compact=False):
    """The title block: title, name and ID fields, the hardware and arithmetic of the runs."""
    results = results_of(assignment)
    facts = []
    hardware, precision = distinct_line(results, "hardware"), distinct_line(results, "precision")
    if hardware:
        facts.append(f"Computed on {escape(hardware)}.")
    if precision:
        facts.append(f"Arithmetic: {escape(precision)}.")
    html = (f"<div class='title-block{' compact' if compact else ''}'><div class='report-title'>"
            f"{escape(helpers.ASSIGNMENTS[assignment][0])}</div>"
            + (f"<div class='report-subtitle'>{escape(subtitle)}</div>" if subtitle else "")
            + people_html(assignment, student) + "<p class='facts'>" + " ".join(facts) + "</p>")
    if contents:
        html += "<p class='contents-head'>Contents</p><ol class='contents'>" + "".join(
            f"<li>{escape(c)}</li>" for c in contents) + "</ol>"
    return html + "</div>"


# ------------------------------------------------------------------------------------------------ cell handling
def tags(cell):
    return cell.metadata.get("tags", [])


def is_banner(cell):
    return cell.cell_type == "code" and "banner(" in cell.source and len(cell.source.strip().splitlines()) == 1


def show_code_calls(source):
    """The argument expressions of each helpers.show_code(...) call in a cell, e.g. [["nm.initialize", ...]]."""
    tree = parse(source)
    calls = []
    for node in ast.walk(tree) if tree else []:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "show_code":
            calls.append([ast.unparse(a) for a in node.args])
    return calls


def strip_show_code_output(cell, modules):
    """Remove the source text helpers.show_code printed from a cell's stdout (returns whether all of it was found).

    The text is rebuilt from the modules (`inspect.getsource` of each object, then a newline), so only that text goes:
    whatever else the cell printed stays."""
    calls = show_code_calls(cell.source)
    names = [expr.split(".")[-1] for call in calls for expr in call]
    streams = [o for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == "stdout"]
    if not streams:
        return not cell.get("outputs")  # a cell that has not run printed nothing
    found_all = True
    for name in names:
        sources = [m.source_of(name) for m in modules if m.source_of(name) is not None]
        hit = next(((o, src) for src in sources for o in streams if src + "\n" in o.text), None)
        if hit is None:
            print(f"  warning: the printed source of {name} is not in the output of its show_code cell (was the "
                  "module changed after the notebook ran?)", file=sys.stderr)
            found_all = False
            continue
        o, src = hit
        o.text = o.text.replace(src + "\n", "", 1)
    cell.outputs = [o for o in cell.get("outputs", []) if not (o.output_type == "stream" and not o.text)]
    return found_all


def is_noise(output):
    """Outputs a printed report never shows: widgets, warnings on stderr, a saved figure's returned path."""
    data = output.get("data", {})
    if "application/vnd.jupyter.widget-view+json" in data:
        return True
    if output.output_type == "stream" and output.name == "stderr":
        return True
    if output.output_type == "error":
        return False  # never hidden: the test catches it
    plain = str(data.get("text/plain", ""))
    return output.output_type == "execute_result" and set(data) == {"text/plain"} and (
        plain.startswith(("PosixPath(", "WindowsPath(")))


# the line `helpers.fit` prints after a run ("20 epochs in 37.0 s (cpu, float32): train acc ..."), with the "seed 0: "
# that catdog.train_seeds prints before it
FIT_SUMMARY = re.compile(r"^(seed \d+: )?\d+ epochs? in [\d.]+ s \(.*\n?", re.M)


def fix_prose(text, assignment):
    """`text` with the PROSE_FIXES of `assignment` applied, and a number kept on one line with its unit (% or s)."""
    for which, pattern, replacement in PROSE_FIXES:
        if which in ("*", assignment):
            text = re.sub(pattern, replacement, text)
    return re.sub(r"(\d) (%|s\b)", "\\1\u00a0\\2", text)


def paragraphs_dedup(text, seen):
    """`text` without the paragraphs already printed earlier in the same report (the same note in every notebook of
    an assignment); headings, tables, HTML and short lines are always kept."""
    kept = []
    for para in re.split(r"\n\s*\n", text):
        key = " ".join(para.split())
        if len(key) > 25 and not key.startswith(("#", "|", "<")) and key in seen:
            continue
        seen.add(key)
        kept.append(para)
    return "\n\n".join(kept)


def prepare_for_print(cells, assignment, modules, *, code, console, seen=None):
    """Copies of cells as a printed report shows them: skipped cells gone, code hidden where the report has none
    (discussion code always), noise and (where asked) console lines removed, prose fixes applied, repeated
    paragraphs printed once (`seen`: the paragraphs printed so far in this report), empty cells dropped."""
    seen, out = set() if seen is None else seen, []
    for cell in cells:
        if SKIP_TAG in tags(cell) or is_banner(cell):
            continue  # the title block names the hardware the banner prints
        cell = copy.deepcopy(cell)
        cell.metadata["tags"] = list(tags(cell))
        if cell.cell_type == "markdown":
            cell.source = paragraphs_dedup(fix_prose(cell.source, assignment), seen)
            if cell.source.strip():
                out.append(cell)
            continue
        if cell.cell_type != "code":
            continue
        hide_input = ((code != "shown" and SHOW_CODE_TAG not in tags(cell)) or DISCUSSION_TAG in tags(cell)
                      or HIDE_INPUT_TAG in tags(cell))
        if hide_input:
            cell.metadata["tags"].append(REMOVE_INPUT_TAG)
        if HIDE_OUTPUT_TAG in tags(cell):
            cell.outputs = []
        if code != "shown" and show_code_calls(cell.source):
            strip_show_code_output(cell, modules)
        keep_console = console or SHOW_OUTPUT_TAG in tags(cell)
        outputs = []
        for o in cell.outputs:
            if is_noise(o) or (o.output_type == "stream" and not keep_console):
                continue
            if o.output_type == "stream" and SHOW_OUTPUT_TAG not in tags(cell):
                o.text = FIT_SUMMARY.sub("", o.text)  # the training loop's progress lines: the tables hold the numbers
                if not o.text.strip():
                    continue
            if hide_input and o.output_type == "execute_result" and set(o.get("data", {})) == {"text/plain"}:
                continue  # a bare return value means nothing without the code that produced it
            if "text/markdown" in o.get("data", {}):
                o.data["text/markdown"] = paragraphs_dedup(fix_prose(o.data["text/markdown"], assignment), seen)
            outputs.append(o)
        cell.outputs = outputs
        if (hide_input or re.match(r"(helpers\.)?record_result\(", cell.source.strip())) and not outputs:
            continue  # nothing to see, or only the bookkeeping that writes the results file
        out.append(cell)
    return drop_empty_headings(out)


def heading_only(cell):
    lines = [line for line in cell.source.splitlines() if line.strip()]
    return cell.cell_type == "markdown" and bool(lines) and all(line.startswith("#") for line in lines)


def drop_empty_headings(cells):
    """Section headings left with nothing under them (their only content was console output the report leaves out)
    are left out too."""
    kept = []
    for k, cell in enumerate(cells):
        following = cells[k + 1] if k + 1 < len(cells) else None
        level = lambda c: len(c.source.lstrip()) - len(c.source.lstrip().lstrip("#"))  # noqa: E731
        if heading_only(cell) and (following is None or (following.cell_type == "markdown" and
                                                          0 < level(following) <= level(cell))):
            continue
        kept.append(cell)
    return kept


# ------------------------------------------------------------------------------------------------ HTML and PDF
BASE_CSS = """
@page { size: A4; margin: 15mm 14mm 16mm 14mm;
  @bottom-center { content: counter(page); font-family: "Liberation Sans", Arial, sans-serif; font-size: 8pt;
  color: #555; } }
html, body { background: white; }
body, .jp-RenderedHTMLCommon, .jp-RenderedMarkdown { font-family: "Liberation Sans", Arial, Helvetica, "DejaVu Sans",
  sans-serif; font-size: 10.5pt; line-height: 1.38; color: #111; }
.jp-Notebook { padding: 0 !important; }
.jp-InputPrompt, .jp-OutputPrompt, .jp-Collapser { display: none !important; }
.jp-Cell { padding: 2px 0 !important; }
.jp-Cell-inputWrapper, .jp-Cell-outputWrapper, .jp-OutputArea-child { margin: 0 !important; }
.jp-RenderedHTMLCommon { padding-right: 0 !important; }
/* prose breaks only between words; a token too long for the line (a path, code) may still wrap */
p, li, td, th, .jp-RenderedMarkdown, .jp-RenderedHTMLCommon { word-break: normal !important;
  overflow-wrap: break-word !important; hyphens: manual; }
/* headings larger than the text, never alone at the bottom of a page */
.jp-RenderedHTMLCommon h1 { font-size: 17pt !important; margin: 14px 0 6px !important; line-height: 1.2; }
.jp-RenderedHTMLCommon h2 { font-size: 13.5pt !important; margin: 12px 0 5px !important; line-height: 1.25; }
.jp-RenderedHTMLCommon h3 { font-size: 11.5pt !important; margin: 10px 0 4px !important; }
.jp-RenderedHTMLCommon h4 { font-size: 10.5pt !important; margin: 8px 0 3px !important; }
.jp-RenderedHTMLCommon :is(h1, h2, h3, h4) { break-after: avoid; page-break-after: avoid; break-inside: avoid;
  font-weight: bold; }
.jp-RenderedHTMLCommon :is(h1, h2, h3, h4) + * { break-before: avoid; }
.jp-MarkdownCell:has(.jp-RenderedMarkdown > :is(h1, h2, h3, h4):last-child) { break-after: avoid; }
.jp-RenderedHTMLCommon a.anchor-link { display: none; }
.jp-RenderedHTMLCommon p { margin: 0 0 0.55em !important; text-align: left; }
.jp-RenderedHTMLCommon ul, .jp-RenderedHTMLCommon ol { margin: 0 0 0.55em !important; }
/* code: wrapped, never cut off */
pre, code { font-family: "Liberation Mono", "DejaVu Sans Mono", monospace; }
.jp-InputArea-editor { border: none !important; background: #f6f7f9 !important; padding: 4px 6px !important; }
/* 6.8 pt monospace fits the project's 120-character lines in the text column: code lines never wrap */
.jp-InputArea-editor pre, .highlight pre { white-space: pre-wrap !important; word-break: normal !important;
  overflow-wrap: break-word !important; font-size: 6.8pt !important; line-height: 1.3 !important; }
.jp-OutputArea-output pre { white-space: pre-wrap !important; word-break: normal !important;
  overflow-wrap: break-word !important; font-size: 8.3pt !important; line-height: 1.3 !important; overflow: visible !important; }
.jp-RenderedHTMLCommon code { font-size: 0.9em; }
pre { orphans: 4; widows: 4; }
/* outputs: no scroll bars, figures whole */
.jp-OutputArea, .jp-OutputArea-output, .jp-RenderedHTMLCommon, .jp-RenderedMarkdown { overflow: visible !important;
  max-height: none !important; }
.jp-OutputArea-output img { max-width: 100% !important; height: auto; display: block; margin: 4px auto;
  break-inside: avoid; }
.jp-Cell, .jp-OutputArea, .jp-OutputArea-child, .jp-OutputArea-output { break-inside: auto !important; }
/* tables: every column on the page, text wrapped inside the cells */
.jp-RenderedHTMLCommon table { font-size: 9pt !important; table-layout: auto; width: auto; max-width: 100%;
  border-collapse: collapse; margin: 4px 0 8px !important; break-inside: auto; }
.jp-RenderedHTMLCommon :is(td, th) { white-space: normal !important; padding: 2px 6px !important;
  text-align: right; vertical-align: top; }
.jp-RenderedHTMLCommon :is(td, th):first-child { text-align: left; }
.jp-RenderedHTMLCommon tr { break-inside: avoid; }
.jp-RenderedHTMLCommon thead { display: table-header-group; }
.jp-RenderedHTMLCommon table.squeezed :is(td, th) { overflow-wrap: anywhere !important; }
.page-break { break-after: page; height: 0; }
.caption { font-size: 9pt; color: #333; text-align: center; margin: 0 0 8px !important; break-before: avoid; }
/* nothing below the last cell: a bottom margin or padding there printed an empty last page */
html, body, main, .jp-Notebook { height: auto !important; min-height: 0 !important; margin-bottom: 0 !important;
  padding-bottom: 0 !important; }
main > :last-child, .jp-Cell:last-child, .jp-Cell:last-child :last-child { margin-bottom: 0 !important;
  padding-bottom: 0 !important; }
@media screen { body { margin: 0 !important; padding: 0 !important; } }
.title-block { margin: 0 0 10px; }
.title-block:not(.compact) { min-height: 60mm; }
.report-title { font-size: 20pt; font-weight: bold; line-height: 1.2; margin: 0 0 4px; }
.report-subtitle { font-size: 14pt; font-weight: bold; margin: 0 0 8px; }
table.people { border-collapse: collapse; margin: 8px 0; font-size: 11pt; }
table.people th { text-align: left; padding: 2px 10px 2px 0; font-weight: bold; }
table.people td { padding: 2px 28px 2px 0; min-width: 40mm; border-bottom: 1px solid #999; }
.placeholder { color: #c00000; font-style: italic; }
.facts { font-size: 9.5pt; color: #333; }
.contents-head { font-weight: bold; margin: 10px 0 2px; }
.contents { margin-top: 0; }
.appendix-code pre { font-size: 6.8pt !important; line-height: 1.3 !important; white-space: pre-wrap !important;
  overflow-wrap: break-word !important; }
"""
COMPACT_CSS = """
@page { size: A4; margin: 12mm 13mm 13mm 13mm; }
body, .jp-RenderedHTMLCommon, .jp-RenderedMarkdown { font-size: 9.6pt; line-height: 1.32; }
.jp-RenderedHTMLCommon h1 { font-size: 13.5pt !important; margin: 10px 0 4px !important; }
.jp-RenderedHTMLCommon h2 { font-size: 11.5pt !important; margin: 7px 0 3px !important; }
.jp-RenderedHTMLCommon h3 { font-size: 10.2pt !important; }
.jp-RenderedHTMLCommon p, .jp-RenderedHTMLCommon li { margin-bottom: 0.4em !important; }
.jp-RenderedHTMLCommon table { font-size: 8.4pt !important; }
.jp-RenderedHTMLCommon :is(td, th) { padding: 1px 5px !important; }
.report-title { font-size: 16pt; }
table.people { font-size: 10pt; margin: 4px 0; }
"""
# MathJax 2 as bundled by jupyter-server-mathjax has only the STIX-Web fonts: select them (the default TeX fonts are
# not there, and the fallback draws accents and hats detached from their letters)
# a table wider than the text column prints smaller until it fits (never cut off at the page edge, never scrolled);
# the window is as wide as the printed text column (print_pdf), so what fits here fits on paper
FIT_TABLES = """<script>
function fitTables() {
  document.querySelectorAll(".jp-RenderedHTMLCommon table").forEach(function (t) {
    var room = t.parentElement.getBoundingClientRect().width, size = parseFloat(getComputedStyle(t).fontSize);
    while (t.getBoundingClientRect().width > room + 0.5 && size > 7.5) {
      size -= 0.5; t.style.setProperty("font-size", size + "px", "important"); }
    if (t.getBoundingClientRect().width > room + 0.5) { t.classList.add("squeezed"); }
  });
}
window.matchMedia("print").addListener(function (m) { if (m.matches) { fitTables(); } });
</script>"""
MATHJAX_CONFIG = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null, scale: 92,
                                 linebreaks: {automatic: true}},
                    "SVG": {font: "STIX-Web"}, messageStyle: "none"});
</script>"""


def chromium():
    """Path of a Chromium/Chrome binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def mathjax_url():
    """file:// URL of the MathJax bundled by jupyter-server-mathjax, or None when that package is missing."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    path = Path(jupyter_server_mathjax.__file__).parent / "static" / "MathJax.js"
    return f"{path.as_uri()}?config=TeX-AMS-MML_HTMLorMML-full,Safe" if path.exists() else None


def html_of(nb, title, compact=False, head_html=""):
    """The notebook as one HTML page: inputs tagged REMOVE_INPUT_TAG hidden, our print style, MathJax with STIX."""
    exporter = HTMLExporter(template_name="lab")
    exporter.register_preprocessor(TagRemovePreprocessor(remove_input_tags={REMOVE_INPUT_TAG}), enabled=True)
    url = mathjax_url()
    if url:
        exporter.mathjax_url = url
    else:
        print("  note: pip install jupyter-server-mathjax for offline math rendering")
    html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    style = "<style>" + BASE_CSS + (COMPACT_CSS if compact else "") + "</style>"
    html = html.replace("</head>", MATHJAX_CONFIG + FIT_TABLES + style + "</head>", 1)
    if head_html:
        html = re.sub(r"(<main[^>]*>)", lambda m: m.group(1) + head_html, html, count=1)
    return html


def print_pdf(html, pdf, name, text_width_mm=182):
    """Write the HTML under build/reports/ and print it to `pdf` with headless Chromium; False without Chromium."""
    HTML_DIR.mkdir(parents=True, exist_ok=True)
    html_path = HTML_DIR / f"{name}.html"
    html_path.write_text(html)
    browser = chromium()
    if browser is None:
        print(f"  {html_path.relative_to(REPO)} written; for the PDF install Chromium (Debian: apt-get install "
              "chromium) and run `make reports` again")
        return False
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--run-all-compositor-stages-before-draw", "--virtual-time-budget=30000",
                    f"--window-size={round(text_width_mm * MM)},1200", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", html_path.as_uri()],
                   check=True, capture_output=True, timeout=300)
    return True


def markdown(text, **metadata):
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata.update(metadata)
    return cell


def new_notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "language_info": {"name": "python"}}
    nb.cells = cells
    return nb


# --------------------------------------------------------------------------------------- reports with one PDF
IMAGE_NORMAL = (0.72, 105, 182)  # scale of the notebook's pixels, largest height and width (mm)
IMAGE_COMPACT = (0.6, 80, 184)
MM = 96 / 25.4  # CSS pixels per millimetre


def size_images(cells, scale, max_height_mm, page_width_mm):
    """Give every figure one scale (its pixels times `scale`, so that text in figures prints at one size), within the
    page width and `max_height_mm`; the width goes into the output's metadata, which nbconvert writes on the <img>."""
    import base64
    from PIL import Image
    for cell in cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if "image/png" not in o.get("data", {}):
                continue
            w, h = Image.open(io.BytesIO(base64.b64decode(o.data["image/png"]))).size
            if o.get("metadata", {}).get("report-full-width"):
                width = 0.95 * page_width_mm * MM  # its labels must be readable
            else:
                width = min(w * scale, page_width_mm * MM, max_height_mm * MM * w / h)
            o.setdefault("metadata", {}).setdefault("image/png", {})["width"] = int(width)


def reflow_wide_grids(cells):
    """A misclassified-images grid drawn ten images wide prints its labels far too small on a page: print its first
    row of ten as two rows of five, wide enough to read the labels (the notebook and the figure file keep all of
    them; the discussion gives the count). Left as it is when the layout is not recognised."""
    import base64
    for cell in cells:
        if cell.cell_type != "code" or "show_misclassified(" not in cell.source:
            continue
        match = re.search(r"ncols\s*=\s*(\d+)", cell.source)
        if not match or int(match.group(1)) < 8:
            continue
        for o in cell.outputs:
            if "image/png" in o.get("data", {}):
                png = reflow_png(base64.b64decode(o.data["image/png"]))
                if png:
                    o.data["image/png"] = base64.b64encode(png).decode()
                    o.setdefault("metadata", {})["report-full-width"] = True


def ink_runs(mask):
    """(first, last) index of each run of True in a 1-D mask."""
    import numpy as np
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return []
    cuts = np.flatnonzero(np.diff(idx) > 1)
    starts, ends = np.r_[idx[0], idx[cuts + 1]], np.r_[idx[cuts], idx[-1]]
    return list(zip(starts.tolist(), ends.tolist()))


def reflow_png(png):
    """The first row of an image grid (below its title), cut in half at the white gap nearest the middle, the two
    halves stacked; None when the layout is not recognised."""
    import numpy as np
    from PIL import Image
    image = Image.open(io.BytesIO(png)).convert("RGB")
    ink = np.asarray(image).astype(int).min(axis=2) < 235
    runs = ink_runs(ink.any(axis=1))  # title, then per grid row: label lines and an image block
    if len(runs) < 3:
        return None
    tallest = max(b - a for a, b in runs[1:])
    blocks = [(a, b) for a, b in runs[1:] if b - a > 0.6 * tallest]
    if not blocks:
        return None
    top, bottom = runs[0][1] + 1, blocks[0][1] + 3  # below the title, to the end of the first image row
    row = ink[top:bottom]
    w = ink.shape[1]
    blank = [x for x in range(int(w * 0.4), int(w * 0.6)) if not row[:, x].any()]
    if not blank:
        return None
    mid = min(blank, key=lambda x: abs(x - w // 2))
    left, right = image.crop((0, top, mid, bottom)), image.crop((mid, top, w, bottom))
    width = max(left.width, right.width)
    out = Image.new("RGB", (width, left.height + right.height + 8), "white")
    out.paste(left, (0, 0))
    out.paste(right, (0, left.height + 8))
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


def add_captions(cells):
    """Number every figure of a report: a caption 'Figure N: <the section it belongs to>' under each image (the
    figure's own title, drawn inside it, says what it shows). Returns the number of figures."""
    section, count = "", 0
    for cell in cells:
        if cell.cell_type == "markdown":
            headings = [line.lstrip("#").strip() for line in cell.source.splitlines() if line.startswith("#")]
            section = headings[-1] if headings else section
            continue
        outputs = []
        for o in cell.get("outputs", []):
            outputs.append(o)
            if "image/png" in o.get("data", {}):
                count += 1
                text = escape(re.sub(r"[*`]", "", section))
                outputs.append(nbformat.v4.new_output("display_data", data={
                    "text/html": f"<p class='caption'>Figure {count}" + (f": {text}" if text else "") + "</p>"}))
        if cell.cell_type == "code":
            cell.outputs = outputs
    return count


# helpers.py bookkeeping the printed appendix leaves out (code.zip has it all): files, smoke mode, banner, printing
APPENDIX_BOOKKEEPING = {"banner", "record_result", "save_figure", "load_result", "pick", "shrink", "show_code",
                        "discuss", "checkpoint_path", "notebook_name", "hardware", "same_hardware"}


def appendix_cells(assignment, paths, usage):
    """The code appendix: each notebook's code (not its discussions, which the report shows as prose), then the
    assignment's own modules in full, then only what it uses of other modules (hand-in 1's numpy_mlp.py in hand-in 2)
    and of helpers.py."""
    cells = [markdown("<div class='page-break'></div>\n\n# Appendix: code\n\nThe notebooks' code cells in order "
                      "(the code that writes the discussions is left out: its text is shown above), then the modules "
                      "they import. The same files are in code.zip.")]
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        code = "\n\n".join(c.source.strip() for c in nb.cells if c.cell_type == "code" and c.source.strip()
                           and DISCUSSION_TAG not in tags(c) and SKIP_TAG not in tags(c))
        cells.append(markdown(f"## `{path.name}`\n\n<div class='appendix-code'>\n\n```python\n{code}\n```\n\n</div>"))
    own = sorted(p for p in usage if p.parent.name == assignment)
    others = sorted(p for p in usage if p.parent.name != assignment and p.name != "helpers.py")
    for path in own:
        cells.append(markdown(f"## `{path.name}`\n\n<div class='appendix-code'>\n\n```python\n{path.read_text()}\n```"
                              "\n\n</div>"))
    for path in others + [REPO / "helpers.py"]:
        if path not in usage:
            continue
        module = Module(path)
        used = usage[path] - (APPENDIX_BOOKKEEPING if path.name == "helpers.py" else set())
        text = module.excerpt(used)
        n_all = sum(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in module.tree.body)
        n_used = sum(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in module.closure(used))
        where = "the project's shared helpers" if path.name == "helpers.py" else f"from {path.parent.name}"
        left_out = (" (saving figures and results, the smoke-mode switches, the run banner and the printing of code "
                    "are left out here; they are in code.zip)" if path.name == "helpers.py" else "")
        cells.append(markdown(f"## `{path.name}` ({where}): the {n_used} of its {n_all} functions and classes this "
                              f"hand-in's computations and figures use{left_out}\n\n<div class='appendix-code'>\n\n"
                              f"```python\n{text}\n```\n\n</div>"))
    return cells


def report_notebook(assignment, student):
    """The printed report of a one-PDF assignment, as a notebook, with its title block HTML and the notebooks used."""
    sub = SUBMISSIONS[assignment]
    paths = helpers.notebook_paths(assignment, REPO)
    usage = code_usage(assignment)
    modules = [Module(p) for p in usage]
    cells, seen = [], set()
    for k, path in enumerate(paths):
        part = nbformat.read(path, as_version=4).cells
        if sub.get("part_breaks") and k > 0:
            cells.append(markdown("<div class='page-break'></div>"))
        cells += prepare_for_print(part, assignment, modules, code="hidden", console=sub["console"], seen=seen)
    reflow_wide_grids(cells)
    size_images(cells, *(IMAGE_COMPACT if sub.get("compact") else IMAGE_NORMAL))
    if sub.get("captions"):  # the hand-ins' checklist asks for figure captions
        add_captions(cells)
    if sub["code"] == "appendix":
        cells += appendix_cells(assignment, paths, code_usage(assignment, skip_tags=(DISCUSSION_TAG, SKIP_TAG)))
    contents = None if sub.get("compact") else [first_heading(p) for p in paths] + (
        ["Appendix: code"] if sub["code"] == "appendix" else [])
    head = title_html(assignment, student, contents=contents, compact=sub.get("compact", False))
    if not sub.get("compact"):
        head += "<div class='page-break'></div>"
    return new_notebook(cells), head, paths


def first_heading(path):
    """A notebook's title: its first Markdown heading, without the leading '#'."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem


# ----------------------------------------------------------------------------------------------- zips
BUILD_ONLY = ("pytest", "nbval", "jupyter-server-mathjax")  # this repository's tests and report builder
NEEDED_BY = {"openTSNE": "a3_feedforward"}  # packages only one assignment's notebooks import


def requirements_text(assignment):
    """requirements.txt for a hand-in: the pinned packages its notebooks need (not this repository's test and build
    tools), without the note on installing this repository."""
    kept = []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        package = line.split("==")[0].strip()
        if line.startswith("#") and ("pip install -e" in line or "notebook's folder" in line):
            continue
        if package in BUILD_ONLY or NEEDED_BY.get(package, assignment) != assignment:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def zip_readme(assignment, files, foreign_results):
    title = helpers.ASSIGNMENTS[assignment][0]
    notebooks = [f for f in files if f.endswith(".ipynb")]
    text = f"""# {title}: code

Run the notebooks in this folder in this order: {", ".join(notebooks)}.

    pip install -r requirements.txt
    export DATA_ROOT=/path/to/data   # a folder holding the datasets (MNIST/raw/, cifar-10-batches-py/);
                                     # without it torchvision downloads them into data/ here
    jupyter lab                      # or, one notebook at a command line (NOTEBOOK_PATH names it for helpers):
    NOTEBOOK_PATH=<notebook> jupyter nbconvert --to notebook --execute --inplace <notebook>

`SMOKE=1` in the environment runs a quick check on small slices (outputs under .smoke/). `helpers.py` holds the code
shared by all notebooks (training loop, data loading, plots); each notebook imports it and the module(s) beside it.
Figures and results are written to figures/ and results/ in this folder.
"""
    if foreign_results:
        text += ("\nresults/ already holds the numbers these notebooks compare with from an earlier hand-in "
                 f"({', '.join(foreign_results)}), as that hand-in's notebooks recorded them.\n")
    return text


def without_saved_paths(nb):
    """`nb` without the outputs that only echo where a file was saved (an absolute path of the machine that ran it)."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "execute_result" and is_noise(o))]
    return nb


def code_zip(assignment, target):
    """code.zip: one folder <assignment>/ holding the notebooks (with outputs), the modules they import, helpers.py,
    requirements.txt, a README, the results of other hand-ins they read and the benchmark notes they cite."""
    paths = helpers.notebook_paths(assignment, REPO)
    usage = code_usage(assignment)
    modules = sorted(p for p in usage if p.name != "helpers.py")
    members = {p.name: p for p in paths + modules}
    members["helpers.py"] = REPO / "helpers.py"
    foreign = []
    for _, cell in notebook_code(paths):
        for name, other in re.findall(r"load_result\(\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)[\"']", cell.source):
            if other != assignment and (REPO / "results" / other / f"{name}.json").exists():
                members[f"results/{other}/{name}.json"] = REPO / "results" / other / f"{name}.json"
                foreign.append(f"results/{other}/{name}.json")
    cited = any("benchmarks/README.md" in p.read_text() for p in [*paths, *modules])
    if cited and (REPO / "benchmarks" / "README.md").exists() and assignment != "a3_feedforward":
        members["benchmarks/README.md"] = REPO / "benchmarks" / "README.md"
    readme = zip_readme(assignment, list(members) + ["requirements.txt"], foreign)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, path in members.items():
            if path.suffix == ".ipynb":
                z.writestr(f"{assignment}/{arcname}", nbformat.writes(without_saved_paths(nbformat.read(path, 4))))
            else:
                z.write(path, f"{assignment}/{arcname}")
        z.writestr(f"{assignment}/requirements.txt", requirements_text(assignment))
        z.writestr(f"{assignment}/README.md", readme)
    return target


# ------------------------------------------------------------------------------- a3 CNN: one notebook, six PDFs
def strip_prefix(text, prefixes):
    """`helpers.fit` -> `fit`, `catdog.myCNN` -> `myCNN`, for the names each module defines (code and prose)."""
    for alias, names in prefixes.items():
        if names:
            text = re.sub(rf"\b{alias}\.(?=(?:{'|'.join(map(re.escape, sorted(names, key=len, reverse=True)))})\b)",
                          "", text)
    return text


def top_level_clashes(notebooks, names):
    """Names that a notebook's code cell binds at top level and that the inlined modules define too."""
    found = set()
    for nb in notebooks.values():
        for cell in nb.cells:
            tree = parse(cell.source) if cell.cell_type == "code" else None
            for node in tree.body if tree else []:
                same = (isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute)
                        and bound_names(node) == {node.value.attr})  # EPOCHS = catdog.EPOCHS: dropped when inlined
                if not isinstance(node, (ast.Import, ast.ImportFrom)) and not same:
                    found |= bound_names(node) & names
    return found


def a3_cell_source(source, prefixes, notebook):
    """A source notebook's code cell as the stand-alone notebook runs it: no module imports, no prefixes, no
    show_code call (the definitions are cells of their own), the setup line naming its part."""
    lines = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == "import helpers; helpers.banner()":
            lines.append(f'banner("{notebook}")  # prints the run mode and the hardware; names this part\'s results')
            continue
        if re.fullmatch(rf"import (helpers|{A3_MODULE})", stripped) or stripped.startswith("helpers.show_code("):
            continue
        lines.append(line)
    text = strip_prefix("\n".join(lines), prefixes)
    text = re.sub(r"(?m)^(\w+) = \1\b *(#.*)?\n", "", text + "\n").rstrip("\n")  # "EPOCHS = catdog.EPOCHS" -> gone
    return text.strip("\n")


def a3_standalone(student):
    """The self-contained notebook (cells, with the full-mode outputs of the source notebooks) and, per part, the
    range of its cells: {part: (start, end)}; shared code first, then the written questions and Q1-Q3."""
    folder = REPO / "notebooks" / A3_CNN
    helpers_module, own = Module(REPO / "helpers.py"), Module(folder / f"{A3_MODULE}.py")
    usage = code_usage(A3_CNN)
    used_helpers, used_own = usage.get(REPO / "helpers.py", set()), usage.get(folder / f"{A3_MODULE}.py", set())
    prefixes = {"helpers": set(helpers_module.binds), A3_MODULE: set(own.binds)}
    sources = {stem: nbformat.read(folder / f"{stem}.ipynb", as_version=4) for stem, _, _ in A3_PARTS}
    shown = []  # objects printed with show_code, defined where the question asks for them
    for nb in sources.values():
        for cell in nb.cells:
            for call in show_code_calls(cell.source) if cell.cell_type == "code" else []:
                shown += [expr.split(".")[-1] for expr in call]
    in_questions = [n for n in shown if n not in A3_LIBRARY_ONLY]
    overrides = {  # helpers.py assumes a repository; the notebook's own folder plays that part
        "REPO": "REPO = Path.cwd()  # the folder this notebook runs in: data/ (without DATA_ROOT), figures/, results/",
        "current_assignment": 'def current_assignment(assignment=None):\n    """The assignment whose figures and '
                              'results are written."""\n    return assignment or "a3_cnn_catdog"',
    }
    text = helpers_module.text
    for name, code in overrides.items():  # each replacement where the original stood
        node = helpers_module.binds[name][0]
        text = text.replace("".join(helpers_module.lines[node.lineno - 1:node.end_lineno]).rstrip("\n"), code, 1)
    library = [(title, strip_prefix(code, prefixes)) for title, code in
               Module(helpers_module.path, text).sections(used_helpers | {"banner"}, skip=set(in_questions))]
    clashes = top_level_clashes(sources, {n for m in (Module(helpers_module.path, text), own) for n in m.binds})
    for name in sorted(clashes - A3_SAME_VALUE):
        print(f"  warning: {name} is defined by the inlined code and again by a notebook cell", file=sys.stderr)
    own_code = strip_prefix(own.excerpt(used_own, skip=set(in_questions)), prefixes)
    own_code = re.sub(r"(?m)^import helpers\n", "", own_code)
    last, first = name_parts(student["name"])
    who = display_name(student["name"]) or "Firstname Lastname"
    cells = [
        markdown(f"# {helpers.ASSIGNMENTS[A3_CNN][0]}\n\n**{who}**, student ID {student['id'] or '(ID)'}\n\n"
                 "Written questions 1–3 and programming questions 1–3 in the order of the assignment, each with its "
                 "code, figures, printed answers and discussion. Section 0 holds the shared code (data loading, "
                 "training loop, plots); the code each question asks for (`class_extract`, `myCNN`, the test "
                 "function, the training loop, `myResNet`) is defined in that question.\n\n"
                 "Run it top to bottom. `DATA_ROOT` names a folder that holds `cifar-10-batches-py/` (without it, "
                 "torchvision downloads CIFAR-10 into `data/` beside this notebook); `SMOKE=1` in the environment "
                 "runs a quick check on small slices. Figures and results are written to `figures/` and "
                 "`results/` beside the notebook."),
        markdown("## 0. Shared code\n\nFrom the course project's `helpers.py`: only the functions this notebook "
                 "uses, unchanged except that the notebook's own folder stands for the repository. Grouped as in "
                 "that file: " + ", ".join(title for title, _ in library) + "."),
        *[nbformat.v4.new_code_cell(f"# ---- helpers.py: {title}\n" + code.rstrip("\n")) for title, code in library],
        markdown(f"From `{A3_MODULE}.py`, the code the three programming questions share: the recipe (binary "
                 "cross-entropy, Adam with learning rate 0.001, mini-batches of 100, 20 epochs), the tensor route to "
                 "the cat/dog data, and the tables and verdicts that compare the runs."),
        nbformat.v4.new_code_cell(f"# ---- {A3_MODULE}.py\n" + own_code.rstrip("\n")),
    ]
    ranges, defined = {}, set()
    for stem, _, _ in A3_PARTS:
        start = len(cells)
        for cell in sources[stem].cells:
            cell = copy.deepcopy(cell)
            if cell.cell_type == "markdown":
                cell.source = fix_prose(strip_prefix(cell.source, prefixes), A3_CNN)
                cells.append(cell)
                continue
            names = [expr.split(".")[-1] for call in show_code_calls(cell.source) for expr in call]
            if names:
                strip_show_code_output(cell, [helpers_module, own])
                new = [n for n in names if n not in A3_LIBRARY_ONLY and n not in defined]
                if new:
                    code = "\n\n\n".join(strip_prefix((own if n in own.binds else helpers_module).source_of(n).rstrip(),
                                                      prefixes) for n in new)
                    code = re.sub(r"(?m)^import helpers\n", "", code)
                    cells.append(nbformat.v4.new_code_cell(code))
                    defined.update(new)
                if any(n in A3_LIBRARY_ONLY for n in names):
                    cells.append(markdown("The epoch loop itself is `fit`, in section 0 (shared code) of the hand-in "
                                          "notebook: each epoch it shuffles the "
                                          "training set with a seeded generator, calls `train_step` on every "
                                          "mini-batch, then evaluates on the test set and appends the training and "
                                          "test losses and accuracies to the history it returns."))
            cell.source = a3_cell_source(cell.source, prefixes, stem)
            for o in cell.outputs:
                if "text/markdown" in o.get("data", {}):
                    o.data["text/markdown"] = fix_prose(strip_prefix(o.data["text/markdown"], prefixes), A3_CNN)
            if cell.source.strip():
                cells.append(cell)
        ranges[stem] = (start, len(cells))
    count = 0
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if "application/vnd.jupyter.widget-view+json" not in
                            o.get("data", {})]
            count += 1
            cell.execution_count = count
            for o in cell.outputs:
                if o.output_type == "execute_result":
                    o.execution_count = count
        cell.pop("id", None)
    nb = new_notebook(cells)
    nb.nbformat_minor = 5
    for k, cell in enumerate(nb.cells):
        cell.id = f"cell-{k}"
    return nb, ranges


def a3_pdf_parts(nb, ranges):
    """The cells of each PDF: written questions 1-3 (the written part split at its "## Question k" headings, the
    setup code before the first one printed with each) and programming questions 1-3."""
    parts = {}
    start, end = ranges["written_questions"]
    written = nb.cells[start:end]
    heads = [i for i, c in enumerate(written) if c.cell_type == "markdown" and re.match(r"##\s*Question\s*\d", c.source)]
    preamble = [c for c in written[:heads[0]] if not (c.cell_type == "markdown" and c.source.startswith("# "))]
    for k, (suffix, label) in enumerate(A3_WRITTEN):
        parts[suffix] = (label, preamble + written[heads[k]:heads[k + 1] if k + 1 < len(heads) else None])
    for stem, suffix, label in A3_PARTS:
        if suffix:
            start, end = ranges[stem]
            parts[suffix] = (label, nb.cells[start:end])
    return parts


def build_a3_cnn(student, folder):
    nb, ranges = a3_standalone(student)
    prefix = a3_prefix(student)
    nbformat.validate(nb)
    (folder / f"{prefix}.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    made = [f"{prefix}.ipynb"]
    modules = [Module(REPO / "helpers.py"), Module(REPO / "notebooks" / A3_CNN / f"{A3_MODULE}.py")]
    for suffix, (label, cells) in a3_pdf_parts(nb, ranges).items():
        printed = prepare_for_print(cells, A3_CNN, modules, code="shown", console=True)
        size_images(printed, *IMAGE_NORMAL)
        head = title_html(A3_CNN, student, subtitle=label, compact=True)
        title = f"{helpers.ASSIGNMENTS[A3_CNN][0]}: {label}"
        html = html_of(new_notebook(printed), title, head_html=head)
        if print_pdf(html, folder / f"{prefix}_{suffix}.pdf", f"{A3_CNN}_{suffix}"):
            made.append(f"{prefix}_{suffix}.pdf")
    return made


# --------------------------------------------------------------------------------------------------- main
def clean(assignment):
    """An empty reports/<assignment>/ (and no files of the old layout, reports/<assignment>.pdf etc.)."""
    folder = OUT / assignment
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for old in OUT.glob(f"{assignment}.*"):
        old.unlink()
    for old in OUT.glob(f"{assignment}_code.zip"):
        old.unlink()
    return folder


def build(assignment, student=None):
    """Write the hand-in files of one assignment under reports/<assignment>/; returns their names."""
    student = student or read_student()
    folder = clean(assignment)
    sub = SUBMISSIONS[assignment]
    if sub.get("per_question"):
        return build_a3_cnn(student, folder)
    nb, head, paths = report_notebook(assignment, student)
    title = helpers.ASSIGNMENTS[assignment][0]
    html = html_of(nb, title, compact=sub.get("compact", False), head_html=head)
    made = []
    if print_pdf(html, folder / sub["pdf"], assignment, (IMAGE_COMPACT if sub.get("compact") else IMAGE_NORMAL)[2]):
        made.append(sub["pdf"])
    code_zip(assignment, folder / sub["zip"])
    made.append(sub["zip"])
    if sub.get("requirements"):
        (folder / "requirements.txt").write_text(requirements_text(assignment))
        made.append("requirements.txt")
    return made


def pdf_pages(pdf):
    """Page count of a PDF (poppler's pdfinfo), or None without it."""
    if not shutil.which("pdfinfo"):
        return None
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    return next((int(line.split()[-1]) for line in info.splitlines() if line.startswith("Pages:")), None)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--name")
    parser.add_argument("--id")
    parser.add_argument("--partner")
    parser.add_argument("--partner-id")
    args = parser.parse_args(argv)
    student = read_student()
    given = {k: v for k, v in dict(name=args.name, id=args.id, partner=args.partner,
                                   partner_id=args.partner_id).items() if v is not None}
    if given:
        student.update({k: v.strip() for k, v in given.items()})
        save_student(student)
        print(f"saved {', '.join(given)} in {student_file().relative_to(REPO)}")
    if not student["name"] or not student["id"]:
        print("note: no name/student ID set: the title pages show a placeholder (make reports NAME=\"First Last\" "
              "ID=\"123456\" sets them once)")
    OUT.mkdir(exist_ok=True)
    chosen = {Path(a).parent.name if a.endswith(".ipynb") else a for a in args.assignments}
    unknown = chosen - set(helpers.ASSIGNMENTS)
    if unknown:
        raise SystemExit(f"Unknown assignment(s) {sorted(unknown)}: choose from {list(helpers.ASSIGNMENTS)}.")
    for assignment in helpers.ASSIGNMENTS:
        if (chosen and assignment not in chosen) or not any((REPO / "notebooks" / assignment).glob("*.ipynb")):
            continue
        made = build(assignment, student)
        listing = []
        for name in made:
            pages = pdf_pages(OUT / assignment / name) if name.endswith(".pdf") else None
            listing.append(f"{name} ({pages} pages)" if pages else name)
        print(f"{assignment}: reports/{assignment}/ " + ", ".join(listing), flush=True)
        for name in made:
            pages = pdf_pages(OUT / assignment / name) if name.endswith(".pdf") else None
            limit, target = SUBMISSIONS[assignment]["max_pages"], SUBMISSIONS[assignment].get("target_pages")
            if pages and pages > limit:
                print(f"  warning: {name} has {pages} pages, more than the limit of {limit}", file=sys.stderr)
            elif pages and target and pages > target:
                print(f"  note: {name} has {pages} pages; we aim for {target} (limit {limit}) so that other fonts "
                      "still fit", file=sys.stderr)
    return 0


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main(sys.argv[1:]))
