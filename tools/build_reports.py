"""Build each assignment's hand-in files under reports/<assignment>/, exactly the files its spec asks for.

Usage: python tools/build_reports.py [--name "Ada Lovelace"] [--id 123456] [--partner NAME] [--partner-id ID]
                                     [assignment ...]
`make reports NAME="Ada Lovelace" ID="123456"` passes them; they are checked (tools/student_fields.py: a name is
"First Last" or "Last, First") and saved in student.toml (git-ignored) so that later builds, `make all` included,
reuse them. Without a name the title pages show a visible placeholder. One build runs at a time (a lock,
build/locks/reports.lock); each assignment's set is built aside and replaced whole (tools/handin_folder.py).

What each assignment gets is in SUBMISSIONS below and in README.md ("Hand-in files"); each spec's submission rules
are in /specs. A code zip unpacks into one folder, <assignment>/, that runs by itself: its notebooks, the modules
they import, helpers.py, rules.py, requirements.txt, a README and the results of other hand-ins its notebooks read.
The a3 cat/dog hand-in is one self-contained notebook and one PDF per question (tools/a3_notebook.py).

An assignment is not built while one of its notebooks holds a claim (`rules.claim`) that its run contradicts or did
not judge (a smoke run): the command names the notebook and the sentence, leaves that assignment's previous
reports as they were and exits non-zero.

Route: the notebooks print as they were run. nbconvert's TagRemovePreprocessor applies the cell tags (the *_TAG
names below), the template in tools/report_template/ (nbconvert's "lab" page, report.css, MathJax with STIX-Web fonts
from the local jupyter-server-mathjax package) makes the HTML, and headless Chromium prints it. Without Chromium the
HTML is still written (build/reports/) and the command says what to install. Outputs left out by kind: stderr
(progress, bookkeeping), widgets, claims' verdicts, and in reports without console output stdout. A notebook's HTML
is untrusted: it is sanitized, and the page runs only its own scripts, offline (tools/safe_html.py).
"""
import argparse
import ast
import copy
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from html import escape
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "reports"
HTML_DIR = REPO / "build" / "reports"  # the intermediate HTML (not a hand-in file)
TEMPLATE = Path(__file__).resolve().parent / "report_template"
sys.path.insert(0, str(REPO))
import helpers  # noqa: E402  (the assignment list, titles and notebook order)
import rules  # noqa: E402  (the claims a notebook's run backs)
import handin_folder  # noqa: E402  (one build at a time; a set replaced whole)
import landed  # noqa: E402  (which outputs make all landed)
import safe_html  # noqa: E402  (what of a notebook's HTML is printed; the page's policy)
import student_fields  # noqa: E402  (name and ID: checked, saved, made into file names)
from student_fields import display_name  # noqa: E402

SKIP_TAG, HIDE_OUTPUT_TAG = "report-skip", "report-hide-output"  # the cell left out; its outputs left out
SHOW_OUTPUT_TAG = "report-show-output"  # stdout printed where a report otherwise leaves console output out
SHOW_CODE_TAG = "report-show-code"  # a code cell printed even in a report without code (a spec asks for that code)
HIDE_INPUT_TAG = "report-hide-input"  # a code cell whose outputs are printed without its code (plotting code)
DISCUSSION_TAG, CLAIMS_TAG = "discussion", "claims"  # the Markdown a discussion writes, not its code; left out
ROOT_MODULES = ("helpers", "rules")  # the project's modules at the repository root, shared by every assignment
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


# ------------------------------------------------------------------------------------------------ the student
def student_file():
    """The path of student.toml."""
    return REPO / "student.toml"


def read_student():
    """The student's fields from student.toml: name, id, partner, partner_id (missing ones are "")."""
    return student_fields.read(student_file())


def expected_files(assignment, student=None):
    """The file names reports/<assignment>/ must hold (nothing else), as the assignment's spec names them."""
    sub = SUBMISSIONS[assignment]
    if sub.get("per_question"):
        import a3_notebook  # the a3 cat/dog hand-in (it uses this module's pieces)
        return a3_notebook.file_names(student or read_student())
    return sorted([sub["pdf"], sub["zip"]] + (["requirements.txt"] if sub.get("requirements") else []))


# ----------------------------------------------------------------------------------------------- code analysis
def parse(source):
    """A cell's syntax tree (IPython magics and shell escapes read as blank lines), or None where it is not Python."""
    try:
        return ast.parse("\n".join("" if s.lstrip().startswith(("%", "!")) else s for s in source.splitlines()))
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

    def excerpt(self, names, skip=()):
        """The module's source reduced to `names` and what they need: imports first, then definitions in file order."""
        nodes = [n for n in self.closure(names) if not (bound_names(n) & set(skip))]
        imports = [self.segment(n) for n in nodes if isinstance(n, (ast.Import, ast.ImportFrom))]
        rest = [self.segment(n) for n in nodes if not isinstance(n, (ast.Import, ast.ImportFrom))]
        parts = ["".join(imports)] if imports else []
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


def module_path(name, assignment):
    """The file of a project module `name`: helpers.py and rules.py at the root, else beside the assignment's
    notebooks, else beside another assignment's; None for other modules."""
    if name in ROOT_MODULES:
        return REPO / f"{name}.py" if (REPO / f"{name}.py").exists() else None
    own = REPO / "notebooks" / assignment / f"{name}.py"
    if own.exists():
        return own
    others = sorted((REPO / "notebooks").glob(f"*/{name}.py"))
    return others[0] if others else None


def code_usage(assignment, skip_tags=()):
    """{module path: names used from it} for the project modules an assignment's notebooks import (helpers.py,
    rules.py, its own, another's such as numpy_mlp.py), followed through the modules: all of an own module counts, of
    another only what the used names need. Cells tagged with one of `skip_tags` are not scanned."""
    paths = helpers.notebook_paths(assignment, REPO)
    usage = {}

    def scan(trees):
        changed = False
        for name, (aliases, from_names) in imported_modules(trees).items():
            path = module_path(name, assignment)
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
        for path in list(usage):
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
    """A cell's tags."""
    return cell.metadata.get("tags", [])


def is_banner(cell):
    """Whether a cell is a notebook's one-line banner call (the title block names the hardware it prints)."""
    return cell.cell_type == "code" and "banner(" in cell.source and len(cell.source.strip().splitlines()) == 1


def is_listing(cell):
    """Whether a code cell only prints code (every statement a show_code call): code, whatever it printed."""
    tree = parse(cell.source) if cell.cell_type == "code" else None
    return bool(tree and tree.body) and all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) and
                                            getattr(n.value.func, "attr", None) == "show_code" for n in tree.body)


def printed_output(output, *, console, bare):
    """Whether a report prints an output: never stderr (progress, bookkeeping), a widget or a claim's verdict; stdout
    only with `console`; a bare return value (text/plain alone) only with the code that produced it (`bare`)."""
    data = output.get("data", {})
    if output.output_type == "stream":
        return output.name == "stdout" and console
    if "application/vnd.jupyter.widget-view+json" in data or rules.CLAIM_KEY in output.get("metadata", {}):
        return False
    return bare or output.output_type != "execute_result" or set(data) != {"text/plain"}


def tagged_for_print(cell, *, code, console):
    """A copy of a cell with the tags its report applies to it, and only the kinds of output the report prints."""
    cell = copy.deepcopy(cell)
    cell.metadata["tags"] = list(tags(cell))
    if cell.cell_type != "code":
        return cell
    if is_banner(cell) or (code != "shown" and is_listing(cell)):
        cell.metadata["tags"].append(SKIP_TAG)  # the code is in the appendix (or the zip)
    if code != "shown" and not {SHOW_CODE_TAG, HIDE_INPUT_TAG} & set(tags(cell)):
        cell.metadata["tags"].append(HIDE_INPUT_TAG)
    bare = not {HIDE_INPUT_TAG, DISCUSSION_TAG} & set(tags(cell))
    cell.outputs = [o for o in cell.outputs if printed_output(o, console=console or SHOW_OUTPUT_TAG in tags(cell),
                                                              bare=bare)]
    return cell


def tag_remover():
    """nbconvert's TagRemovePreprocessor set to the report tags."""
    return TagRemovePreprocessor(remove_cell_tags={SKIP_TAG, CLAIMS_TAG}, remove_all_outputs_tags={HIDE_OUTPUT_TAG},
                                 remove_input_tags={DISCUSSION_TAG, HIDE_INPUT_TAG})


def input_removed(cell):
    """Whether TagRemovePreprocessor marked a cell's code as left out."""
    return cell.metadata.get("transient", {}).get("remove_source", False)


def prepare_for_print(cells, *, code, console):
    """The cells a printed report shows: tags applied (TagRemovePreprocessor), code hidden where the report has none,
    the kinds of output it leaves out gone, and cells and headings with nothing left to show dropped."""
    nb, _ = tag_remover().preprocess(new_notebook([tagged_for_print(c, code=code, console=console) for c in cells]),
                                     {})
    kept = [c for c in nb.cells if not (c.cell_type == "code" and input_removed(c) and not c.outputs)]
    return drop_empty_headings([c for c in kept if c.source.strip() or c.get("outputs")])


def leading_hashes(cell):
    """The level of the heading a Markdown cell starts with (0: it starts with none)."""
    text = cell.source.lstrip() if cell.cell_type == "markdown" else ""
    return len(text) - len(text.lstrip("#"))


def drop_empty_headings(cells):
    """`cells` without the cells of headings only that have nothing under them (their content was left out)."""
    kept = []
    for k, cell in enumerate(cells):
        lines = [line for line in cell.source.splitlines() if line.strip()]
        following = cells[k + 1] if k + 1 < len(cells) else None
        heading = cell.cell_type == "markdown" and lines and all(line.startswith("#") for line in lines)
        if not (heading and (following is None or 0 < leading_hashes(following) <= leading_hashes(cell))):
            kept.append(cell)
    return kept


# ------------------------------------------------------------------------------------------------ HTML and PDF
def chromium():
    """Path of a Chromium/Chrome binary, or None."""
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome", "chrome"))), None)


def mathjax_url():
    """file:// URL of the MathJax bundled by jupyter-server-mathjax, or None when that package is missing."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    path = Path(jupyter_server_mathjax.__file__).parent / "static" / "MathJax.js"
    return f"{path.as_uri()}?config=TeX-AMS-MML_HTMLorMML-full,Safe" if path.exists() else None


def html_of(nb, title, compact=False, head_html=""):
    """The notebook as one HTML page through the report template (tools/report_template/): the title block on top,
    report.css (and compact.css), MathJax with STIX; the notebook's HTML sanitized and the page's own scripts the only
    ones it runs (tools/safe_html.py)."""
    exporter = HTMLExporter(template_name=TEMPLATE.name, extra_template_basedirs=[str(TEMPLATE.parent)],
                            sanitize_html=True, filters={"clean_html": safe_html.clean})
    if not mathjax_url():
        print("  note: pip install jupyter-server-mathjax for offline math rendering")
    page_nonce = safe_html.nonce()
    resources = {"metadata": {"name": title}, "compact": compact, "title_html": head_html, "csp_nonce": page_nonce,
                 "csp": safe_html.policy(page_nonce), "mathjax_src": mathjax_url()}
    return exporter.from_notebook_node(nb, resources=resources)[0]


def print_pdf(html, pdf, name, text_width_mm=182):
    """Print the HTML to `pdf` with headless Chromium, offline, from a folder of this call's own (the HTML then
    kept as build/reports/<name>.html); False without Chromium."""
    HTML_DIR.mkdir(parents=True, exist_ok=True)
    browser = chromium()
    with tempfile.TemporaryDirectory(dir=HTML_DIR, prefix=f".{name}.", ignore_cleanup_errors=True) as run:
        html_path = Path(run) / f"{name}.html"
        html_path.write_text(html)
        if browser:
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", *safe_html.CHROMIUM_FLAGS,
                            f"--user-data-dir={run}/profile", "--run-all-compositor-stages-before-draw",
                            "--virtual-time-budget=30000", f"--window-size={round(text_width_mm * MM)},1200",
                            "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html_path.as_uri()],
                           check=True, capture_output=True, timeout=300)
        os.replace(html_path, HTML_DIR / f"{name}.html")
    if browser is None:
        print(f"  {(HTML_DIR / f'{name}.html').relative_to(REPO)} written; for the PDF install Chromium (Debian: "
              "apt-get install chromium) and run `make reports` again")
    return browser is not None


markdown = nbformat.v4.new_markdown_cell


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
            if "image/png" in o.get("data", {}):
                w, h = Image.open(io.BytesIO(base64.b64decode(o.data["image/png"]))).size
                width = min(w * scale, page_width_mm * MM, max_height_mm * MM * w / h)
                o.setdefault("metadata", {}).setdefault("image/png", {})["width"] = int(width)


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
APPENDIX_LEFT_OUT = (DISCUSSION_TAG, CLAIMS_TAG, SKIP_TAG)  # cells whose code the printed appendix leaves out


def appendix_code(nb):
    """A notebook's code as the appendix prints it: its code cells in order, less those tagged APPENDIX_LEFT_OUT."""
    return "\n\n".join(c.source.strip() for c in nb.cells if c.cell_type == "code" and c.source.strip()
                       and not set(APPENDIX_LEFT_OUT) & set(tags(c)))


def code_block(heading, code):
    """A Markdown cell: a heading over code printed in the appendix's small type."""
    return markdown(f"## {heading}\n\n<div class='appendix-code'>\n\n```python\n{code}\n```\n\n</div>")


def module_heading(path, module, used):
    """The appendix heading of a module printed in part: where it is from and how much of it is printed."""
    n_all = sum(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in module.tree.body)
    n_used = sum(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in module.closure(used))
    where = "the project's shared code" if path.parent == REPO else f"from {path.parent.name}"
    left_out = (" (saving figures and results, the smoke-mode switches, the run banner and the printing of code "
                "are left out here; they are in code.zip)" if path.name == "helpers.py" else "")
    return (f"`{path.name}` ({where}): the {n_used} of its {n_all} functions and classes this hand-in's computations "
            f"and figures use{left_out}")


def appendix_cells(assignment, paths, usage):
    """The code appendix: each notebook's code (not its discussions, which the report shows as prose), then the
    assignment's own modules in full, then only what it uses of other modules (hand-in 1's numpy_mlp.py in hand-in 2),
    of rules.py and of helpers.py."""
    notebooks = {path: nbformat.read(path, as_version=4) for path in paths}
    discussed = [p.stem for p, nb in notebooks.items() if any(DISCUSSION_TAG in tags(c) for c in nb.cells)]
    note = (f" The code that writes the discussions of {', '.join(discussed)} is left out: their text is shown above."
            if discussed else "")
    cells = [markdown("<div class='page-break'></div>\n\n# Appendix: code\n\nThe notebooks' code cells in order, then "
                      f"the modules they import. The same files are in code.zip.{note}")]
    cells += [code_block(f"`{path.name}`", appendix_code(nb)) for path, nb in notebooks.items()]
    cells += [code_block(f"`{p.name}`", p.read_text()) for p in sorted(usage) if p.parent.name == assignment]
    shared = sorted(p for p in usage if p.parent.name != assignment and p.parent != REPO)
    for path in shared + [REPO / f"{name}.py" for name in reversed(ROOT_MODULES)]:
        if path in usage:
            module = Module(path)
            used = usage[path] - (APPENDIX_BOOKKEEPING if path.name == "helpers.py" else set())
            cells.append(code_block(module_heading(path, module, used), module.excerpt(used)))
    return cells


def report_notebook(assignment, student):
    """The printed report of a one-PDF assignment, as a notebook, and its title block HTML."""
    sub = SUBMISSIONS[assignment]
    paths = helpers.notebook_paths(assignment, REPO)
    cells = []
    for k, path in enumerate(paths):
        if sub.get("part_breaks") and k > 0:
            cells.append(markdown("<div class='page-break'></div>"))
        cells += prepare_for_print(nbformat.read(path, as_version=4).cells, code="hidden", console=sub["console"])
    size_images(cells, *(IMAGE_COMPACT if sub.get("compact") else IMAGE_NORMAL))
    if sub.get("captions"):  # the hand-ins' checklist asks for figure captions
        add_captions(cells)
    if sub["code"] == "appendix":
        cells += appendix_cells(assignment, paths, code_usage(assignment, skip_tags=APPENDIX_LEFT_OUT))
    contents = None if sub.get("compact") else [first_heading(p) for p in paths] + (
        ["Appendix: code"] if sub["code"] == "appendix" else [])
    head = title_html(assignment, student, contents=contents, compact=sub.get("compact", False))
    if not sub.get("compact"):
        head += "<div class='page-break'></div>"
    return new_notebook(cells), head


def first_heading(path):
    """A notebook's title: its first Markdown heading, without the leading '#'."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem


# ----------------------------------------------------------------------------------------------- zips
BUILD_ONLY = ("pytest", "nbval", "jupyter-server-mathjax", "psutil", "bleach[css]", "beautifulsoup4")  # tests, tools
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
    """The README.md of a code zip: what to run, in which order, and what the folder holds."""
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
shared by all notebooks (training loop, data loading, plots) and `rules.py` the rules that compare runs and the claims
that check each notebook's analysis against its run; each notebook imports them and the module(s) beside it.
Figures and results are written to figures/ and results/ in this folder.
"""
    if foreign_results:
        text += ("\nresults/ already holds the numbers these notebooks compare with from an earlier hand-in "
                 f"({', '.join(foreign_results)}), as that hand-in's notebooks recorded them.\n")
    return text


def code_zip(assignment, target):
    """code.zip: one folder <assignment>/ holding the notebooks (with outputs), the modules they import, helpers.py and
    rules.py, requirements.txt, a README, the results of other hand-ins they read and the benchmark notes they cite."""
    paths = helpers.notebook_paths(assignment, REPO)
    modules = sorted(code_usage(assignment))
    members = {p.name: p for p in paths + modules}
    members.update({f"{m}.py": REPO / f"{m}.py" for m in ROOT_MODULES if (REPO / f"{m}.py").exists()})  # imported
    foreign = []
    for _, cell in notebook_code(paths):
        for name, other in re.findall(r"load_result\(\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)[\"']", cell.source):
            if other != assignment and (REPO / "results" / other / f"{name}.json").exists():
                members[f"results/{other}/{name}.json"] = REPO / "results" / other / f"{name}.json"
                foreign.append(f"results/{other}/{name}.json")
    cited = any("benchmarks/README.md" in p.read_text() for p in paths + modules if p.parent != REPO)
    if cited and (REPO / "benchmarks" / "README.md").exists() and assignment != "a3_feedforward":
        members["benchmarks/README.md"] = REPO / "benchmarks" / "README.md"
    readme = zip_readme(assignment, list(members) + ["requirements.txt"], foreign)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, path in members.items():
            add_to_zip(z, f"{assignment}/{arcname}", path.read_bytes(), path)
        add_to_zip(z, f"{assignment}/requirements.txt", requirements_text(assignment))
        add_to_zip(z, f"{assignment}/README.md", readme)
    return target


def add_to_zip(z, arcname, data, source=None):
    """Add `data` to the zip `z` as `arcname`, dated as the file `source` (else now), unpacking readable by others
    (mode 0644, whatever this machine's umask)."""
    info = zipfile.ZipInfo.from_file(source, arcname) if source else zipfile.ZipInfo(arcname, time.localtime()[:6])
    info.external_attr, info.compress_type = (stat.S_IFREG | 0o644) << 16, zipfile.ZIP_DEFLATED
    z.writestr(info, data)


# --------------------------------------------------------------------------------------------------- claims
class NotebooksRefused(RuntimeError):
    """An assignment not built: a notebook's outputs are not a full run that `make all` landed (`landed.problems`)."""


def refused_notebooks(assignment):
    """{notebook path: why a report may not be printed from it} for an assignment's notebooks that have a problem."""
    found = {p: landed.problems(REPO, p, nbformat.read(p, as_version=4)) for p in helpers.notebook_paths(assignment, REPO)}
    return {p: reasons for p, reasons in found.items() if reasons}


def refusal(assignment, found):
    """The message that says why an assignment is not built, for which notebooks, and the fix."""
    lines = [f"{assignment}: not built (reports/{assignment}/ is left as it was): these notebooks do not hold a full "
             "run that make all landed:"]
    for path, reasons in found.items():
        lines += [f"  {path.relative_to(REPO)}"] + [f"    - {r}" for r in reasons]
    first = next(iter(found)).relative_to(REPO)
    lines.append(f"Fix: re-run it in full mode (make all A={first}), or restore the committed run (git checkout "
                 f"{first}); for a contradicted claim, rewrite the sentence and its claim, then re-run.")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------- main
def build_files(assignment, student, folder):
    """Write the hand-in files of a one-PDF assignment into `folder`; returns their names."""
    sub = SUBMISSIONS[assignment]
    nb, head = report_notebook(assignment, student)
    html = html_of(nb, helpers.ASSIGNMENTS[assignment][0], compact=sub.get("compact", False), head_html=head)
    width = (IMAGE_COMPACT if sub.get("compact") else IMAGE_NORMAL)[2]
    made = [sub["pdf"]] if print_pdf(html, folder / sub["pdf"], assignment, width) else []
    made.append(code_zip(assignment, folder / sub["zip"]).name)
    if sub.get("requirements"):
        (folder / "requirements.txt").write_text(requirements_text(assignment))
        made.append("requirements.txt")
    return made


def build(assignment, student=None):
    """Write the hand-in files of one assignment under reports/<assignment>/ (built aside, then put in place whole,
    so that a refused, failed or interrupted build leaves the previous files); returns their names."""
    student = student or read_student()
    found = refused_notebooks(assignment)
    if found:
        raise NotebooksRefused(refusal(assignment, found))
    with handin_folder.staging(OUT / assignment) as staging:
        if SUBMISSIONS[assignment].get("per_question"):
            import a3_notebook
            made = a3_notebook.build(student, staging)
        else:
            made = build_files(assignment, student, staging)
    for old in [*OUT.glob(f"{assignment}.*"), *OUT.glob(f"{assignment}_code.zip")]:  # files of the old layout
        old.unlink()
    return made


def pdf_pages(pdf):
    """Page count of a PDF (poppler's pdfinfo), or None without it."""
    if not shutil.which("pdfinfo"):
        return None
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    return next((int(line.split()[-1]) for line in info.splitlines() if line.startswith("Pages:")), None)


def page_notes(assignment, made):
    """The build's line (files, PDF page counts) and a warning for a PDF over its limit or above its target."""
    sub = SUBMISSIONS[assignment]
    pages = {name: pdf_pages(OUT / assignment / name) if name.endswith(".pdf") else None for name in made}
    notes = [f"{assignment}: reports/{assignment}/ " + ", ".join(f"{n} ({p} pages)" if p else n
                                                                for n, p in pages.items())]
    for name, p in pages.items():
        if p and p > sub["max_pages"]:
            notes.append(f"  warning: {name} has {p} pages, more than the limit of {sub['max_pages']}")
        elif p and sub.get("target_pages") and p > sub["target_pages"]:
            notes.append(f"  note: {name} has {p} pages; we aim for {sub['target_pages']} (limit {sub['max_pages']}) "
                         "so that other fonts still fit")
    return notes


def checked_student(args):
    """The student's fields: student.toml's, replaced by those given on the command line; SystemExit naming each
    refused field (student_fields.problems) before anything is saved or built."""
    student = read_student()
    given = {k: student_fields.normalized(v) for k, v in vars(args).items() if k in student and v is not None}
    student.update(given)
    refused = student_fields.problems(student, given)
    if refused:
        raise SystemExit("\n".join(refused) + "\nNothing was saved or built: student.toml and reports/ are as they "
                         "were.")
    return student, list(given)


def build_all(chosen, student):
    """Build the chosen assignments (all where none is chosen), one at a time; returns the exit status."""
    status = 0
    for assignment in helpers.ASSIGNMENTS:
        if (chosen and assignment not in chosen) or not any((REPO / "notebooks" / assignment).glob("*.ipynb")):
            continue
        try:
            made = build(assignment, student)
        except NotebooksRefused as refused:
            print(refused, file=sys.stderr, flush=True)
            status = 1
            continue
        except KeyboardInterrupt:
            print(f"{assignment}: interrupted (Ctrl-C): not built; reports/{assignment}/ is as it was and the "
                  "assignments after it were not built", file=sys.stderr, flush=True)
            return 130
        first, *rest = page_notes(assignment, made)
        print(first, flush=True)
        for note in rest:
            print(note, file=sys.stderr)
    return status


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignments", nargs="*")
    for flag in ("--name", "--id", "--partner", "--partner-id"):
        parser.add_argument(flag)
    args = parser.parse_args(argv)
    chosen = {Path(a).parent.name if a.endswith(".ipynb") else a for a in args.assignments}
    unknown = chosen - set(helpers.ASSIGNMENTS)
    if unknown:
        raise SystemExit(f"Unknown assignment(s) {sorted(unknown)}: choose from {list(helpers.ASSIGNMENTS)}.")
    student, given = checked_student(args)
    lock = handin_folder.lock(REPO / "build" / "locks" / "reports.lock")
    if lock is None:
        raise SystemExit("Not built: another build of the hand-in files (make reports, or the end of make all) is "
                         "running now (build/locks/reports.lock); nothing was saved. Wait for it to finish, then run "
                         "this again.")
    with lock:
        if given:
            student_fields.save(student_file(), student)
            print(f"saved {', '.join(given)} in {student_file().relative_to(REPO)}")
        if not student["name"] or not student["id"]:
            print("note: no name/student ID set: the title pages show a placeholder (make reports NAME=\"First "
                  "Last\" ID=\"123456\" sets them once)")
        if (not chosen or "a3_feedforward" in chosen) and not (student["partner"] and student["partner_id"]):
            print("note: a3_feedforward is handed in by a pair and its partner is not set: its title page shows a "
                  "placeholder (make reports PARTNER=\"First Last\" PARTNER_ID=\"123456\" sets it once)")
        OUT.mkdir(exist_ok=True)
        return build_all(chosen, student)


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main(sys.argv[1:]))
