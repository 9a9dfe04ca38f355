"""The a3 cat/dog hand-in: one notebook that runs top to bottom by itself, and one PDF per question printed from it.

The source notebooks (notebooks/a3_cnn_catdog/) import helpers.py, rules.py and catdog.py; the hand-in notebook
holds the parts of those modules it uses instead (section 0, shared code, without the module prefixes), and the code a
question asks for is defined in that question, where the source notebook prints it with `helpers.show_code`. The
outputs are the source notebooks' full-mode outputs. Used by tools/build_reports.py (`make reports`).
"""
import ast
import copy
import json
import re
import sys

import nbformat

import build_reports as br
from student_fields import a3_prefix, display_name

A3_CNN = "a3_cnn_catdog"
PARTS = [  # the stand-alone notebook's parts in the spec's order: (source notebook, PDF name suffix, title)
    ("written_questions", None, "Written questions"),
    ("q1_dataset", "Programming_Q1", "Programming question 1"),
    ("q2_plain_cnn", "Programming_Q2", "Programming question 2"),
    ("q3_resnet", "Programming_Q3", "Programming question 3"),
]
WRITTEN = [("Written_Q1", "Written question 1"), ("Written_Q2", "Written question 2"),
           ("Written_Q3", "Written question 3")]
A3_MODULE = "catdog"
A3_LIBRARY_ONLY = {"fit"}  # long general-purpose code stays in the notebook's shared-code section, not in Q2's PDF
A3_SAME_VALUE = {"BATCH_SIZE"}  # Q1 sets the spec's batch size 100, the value catdog.py's recipe uses too
PROJECT_IMPORT = re.compile(rf"(?m)^import ({'|'.join(br.ROOT_MODULES)}|{A3_MODULE})\n")
OVERRIDES = {  # helpers.py assumes a repository; the notebook's own folder plays that part
    "REPO": "REPO = Path.cwd()  # the folder this notebook runs in: data/ (without DATA_ROOT), figures/, results/",
    "current_assignment": 'def current_assignment(assignment=None):\n    """The assignment whose figures and '
                          'results are written."""\n    return assignment or "a3_cnn_catdog"',
}
FIT_NOTE = ("The epoch loop itself is `fit`, in section 0 (shared code) of the hand-in notebook: each epoch it "
            "shuffles the training set with a seeded generator, calls `train_step` on every mini-batch, then evaluates "
            "on the test set and appends the training and test losses and accuracies to the history it returns.")


def file_names(student):
    """The hand-in's file names: the notebook and one PDF per question."""
    prefix = a3_prefix(student)
    return sorted([f"{prefix}.ipynb"] + [f"{prefix}_{suffix}.pdf" for suffix, _ in WRITTEN]
                  + [f"{prefix}_{suffix}.pdf" for _, suffix, _ in PARTS if suffix])


def strip_prefix(text, prefixes):
    """`text` with `helpers.fit` -> `fit`, `catdog.myCNN` -> `myCNN`, for the names each module defines."""
    for alias, names in prefixes.items():
        if names:
            text = re.sub(rf"\b{alias}\.(?=(?:{'|'.join(map(re.escape, sorted(names, key=len, reverse=True)))})\b)",
                          "", text)
    return text


def shown_names(source):
    """The names a cell prints with helpers.show_code, in order (`catdog.myCNN` -> `myCNN`)."""
    tree = br.parse(source)
    return [ast.unparse(a).split(".")[-1] for node in (ast.walk(tree) if tree else [])
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "show_code" for a in node.args]


def source_of(module, name):
    """What `inspect.getsource` prints for a module's top-level function or class (helpers.show_code's text)."""
    node = next((n for n in module.binds.get(name, []) if isinstance(n, (ast.FunctionDef, ast.ClassDef))), None)
    if node is None:
        return None
    start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    return "".join(module.lines[start:node.end_lineno])


def sections(module, names, skip=()):
    """The excerpt of `names` cut at the module's section comments ("# ----- data"): [(title, source)], the imports
    and settings first."""
    nodes = [n for n in module.closure(names) if not (br.bound_names(n) & set(skip))]
    marks = [(i + 1, line.strip("# -\n")) for i, line in enumerate(module.lines) if line.startswith("# ---")]
    groups = {}
    for node in nodes:
        imports = isinstance(node, (ast.Import, ast.ImportFrom))
        title = "imports" if imports else next((t for line, t in reversed(marks) if line < node.lineno), "settings")
        groups.setdefault(title, []).append(node)
    out = []
    for title, group in groups.items():
        parts = [module.segment(n).rstrip("\n") for n in group]
        text = "\n".join(parts) if title == "imports" else "\n\n\n".join(parts)
        out.append((title, re.sub(r"(?m)  # noqa\b.*$", "", text).rstrip("\n") + "\n"))
    return out


def top_level_clashes(notebooks, names):
    """Names that a notebook's code cell binds at top level and that the inlined modules define too."""
    found = set()
    for nb in notebooks.values():
        for cell in nb.cells:
            tree = br.parse(cell.source) if cell.cell_type == "code" else None
            for node in tree.body if tree else []:
                same = (isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute)
                        and br.bound_names(node) == {node.value.attr})  # EPOCHS = catdog.EPOCHS: dropped when inlined
                if not isinstance(node, (ast.Import, ast.ImportFrom)) and not same:
                    found |= br.bound_names(node) & names
    return found


def cell_source(source, prefixes, notebook):
    """A source notebook's code cell as the stand-alone notebook runs it: no project imports, no prefixes, no
    show_code call (the definitions are cells of their own), the setup line naming its part."""
    lines = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == "import helpers; helpers.banner()":
            lines.append(f'banner("{notebook}")  # prints the run mode and the hardware; names this part\'s results')
        elif not (PROJECT_IMPORT.fullmatch(stripped + "\n") or stripped.startswith("helpers.show_code(")):
            lines.append(line)
    text = strip_prefix("\n".join(lines), prefixes)
    text = re.sub(r"(?m)^(\w+) = \1\b *(#.*)?\n", "", text + "\n").rstrip("\n")  # "EPOCHS = catdog.EPOCHS" -> gone
    return text.strip("\n")


def modules():
    """The modules the notebook inlines, by import name: catdog.py, helpers.py (the notebook's folder standing for
    the repository) and rules.py."""
    helpers_module = br.Module(br.REPO / "helpers.py")
    text = helpers_module.text
    for name, code in OVERRIDES.items():  # each replacement where the original stood
        node = helpers_module.binds[name][0]
        text = text.replace("".join(helpers_module.lines[node.lineno - 1:node.end_lineno]).rstrip("\n"), code, 1)
    found = {A3_MODULE: br.Module(br.REPO / "notebooks" / A3_CNN / f"{A3_MODULE}.py"),  # its own code first
             "helpers": br.Module(helpers_module.path, text)}
    if (br.REPO / "rules.py").exists():
        found["rules"] = br.Module(br.REPO / "rules.py")
    return found


def shared_code(mods, usage, in_questions, prefixes):
    """Section 0: Markdown and code cells holding what the notebook uses of helpers.py, rules.py and catdog.py."""
    used = {name: usage.get(m.path, set()) | ({"banner"} if name == "helpers" else set()) for name, m in mods.items()}
    library = [(f"{name}.py: {title}", PROJECT_IMPORT.sub("", strip_prefix(code, prefixes)))
               for name in br.ROOT_MODULES if name in mods
               for title, code in sections(mods[name], used[name], skip=set(in_questions))]
    own_code = PROJECT_IMPORT.sub("", strip_prefix(mods[A3_MODULE].excerpt(used[A3_MODULE], skip=set(in_questions)),
                                                   prefixes))
    return [
        br.markdown("## 0. Shared code\n\nFrom the course project's `helpers.py` and `rules.py`: only the functions "
                    "this notebook uses, unchanged except that the notebook's own folder stands for the repository. "
                    "Grouped as in those files: " + ", ".join(title for title, _ in library) + "."),
        *[nbformat.v4.new_code_cell(f"# ---- {title}\n" + code.rstrip("\n")) for title, code in library],
        br.markdown(f"From `{A3_MODULE}.py`, the code the three programming questions share: the recipe (binary "
                    "cross-entropy, Adam with learning rate 0.001, mini-batches of 100, 20 epochs), the tensor route "
                    "to the cat/dog data, and the tables and verdicts that compare the runs."),
        nbformat.v4.new_code_cell(f"# ---- {A3_MODULE}.py\n" + own_code.rstrip("\n")),
    ]


def title_cell(student):
    """The notebook's first cell: title, name and ID, what it holds and how to run it."""
    who = display_name(student["name"]) or "Firstname Lastname"
    return br.markdown(
        f"# {br.helpers.ASSIGNMENTS[A3_CNN][0]}\n\n**{who}**, student ID {student['id'] or '(ID)'}\n\n"
        "Written questions 1–3 and programming questions 1–3 in the order of the assignment, each with its code, "
        "figures, printed answers and discussion. Section 0 holds the shared code (data loading, training loop, "
        "plots); the code each question asks for (`class_extract`, `myCNN`, the test function, the training loop, "
        "`myResNet`) is defined in that question.\n\n"
        "Run it top to bottom. `DATA_ROOT` names a folder that holds `cifar-10-batches-py/` (without it, torchvision "
        "downloads CIFAR-10 into `data/` beside this notebook); `SMOKE=1` in the environment runs a quick check on "
        "small slices. Figures and results are written to `figures/` and `results/` beside the notebook.")


def part_cells(nb, stem, mods, prefixes, defined):
    """One source notebook's cells as the stand-alone notebook holds them; `defined`: the names defined so far."""
    cells = []
    for cell in copy.deepcopy(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = strip_prefix(cell.source, prefixes)
            cells.append(cell)
            continue
        names = shown_names(cell.source)
        new = [n for n in names if n not in A3_LIBRARY_ONLY and n not in defined]
        if new:
            code = "\n\n\n".join(strip_prefix(next(source_of(m, n) for m in mods.values() if source_of(m, n)).rstrip(),
                                              prefixes) for n in new)
            cells.append(nbformat.v4.new_code_cell(PROJECT_IMPORT.sub("", code)))
            defined.update(new)
        if set(names) & A3_LIBRARY_ONLY:
            cells.append(br.markdown(FIT_NOTE))
        cell.source = cell_source(cell.source, prefixes, stem)
        cell.outputs = [o for o in cell.outputs if "application/vnd.jupyter.widget-view+json" not in o.get("data", {})]
        if cell.source.strip():  # a cell that only printed code is replaced by the definitions above
            cells.append(cell)
    return cells


def numbered(cells):
    """A valid nbformat 4.5 notebook of `cells`, execution counts and cell ids numbered in order."""
    nb = br.new_notebook(cells)
    nb.nbformat_minor = 5
    code = [c for c in cells if c.cell_type == "code"]
    for count, cell in enumerate(code, 1):
        cell.execution_count = count
        for o in cell.outputs:
            if o.output_type == "execute_result":
                o.execution_count = count
    for k, cell in enumerate(nb.cells):
        cell.id = f"cell-{k}"
    return nb


def standalone(student):
    """The self-contained notebook (cells, with the full-mode outputs of the source notebooks) and, per part, the
    range of its cells: {part: (start, end)}; shared code first, then the written questions and Q1-Q3."""
    folder = br.REPO / "notebooks" / A3_CNN
    mods, usage = modules(), br.code_usage(A3_CNN)
    prefixes = {name: set(m.binds) for name, m in mods.items()}
    sources = {stem: nbformat.read(folder / f"{stem}.ipynb", as_version=4) for stem, _, _ in PARTS}
    shown = [n for nb in sources.values() for c in nb.cells if c.cell_type == "code" for n in shown_names(c.source)]
    for name in sorted(top_level_clashes(sources, {n for m in mods.values() for n in m.binds}) - A3_SAME_VALUE):
        print(f"  warning: {name} is defined by the inlined code and again by a notebook cell", file=sys.stderr)
    cells = [title_cell(student), *shared_code(mods, usage, [n for n in shown if n not in A3_LIBRARY_ONLY], prefixes)]
    ranges, defined = {}, set()
    for stem, _, _ in PARTS:
        start = len(cells)
        cells += part_cells(sources[stem], stem, mods, prefixes, defined)
        ranges[stem] = (start, len(cells))
    return numbered(cells), ranges


def pdf_parts(nb, ranges):
    """The cells of each PDF: written questions 1-3 (the written part split at its "## Question k" headings, the
    setup code before the first one printed with each) and programming questions 1-3."""
    parts = {}
    start, end = ranges["written_questions"]
    written = nb.cells[start:end]
    heads = [i for i, c in enumerate(written)
             if c.cell_type == "markdown" and re.match(r"##\s*Question\s*\d", c.source)]
    preamble = [c for c in written[:heads[0]] if not (c.cell_type == "markdown" and c.source.startswith("# "))]
    for k, (suffix, label) in enumerate(WRITTEN):
        parts[suffix] = (label, preamble + written[heads[k]:heads[k + 1] if k + 1 < len(heads) else None])
    for stem, suffix, label in PARTS:
        if suffix:
            start, end = ranges[stem]
            parts[suffix] = (label, nb.cells[start:end])
    return parts


def build(student, folder):
    """Write the stand-alone notebook and its six PDFs into `folder`; returns their names."""
    nb, ranges = standalone(student)
    prefix = a3_prefix(student)
    nbformat.validate(nb)
    (folder / f"{prefix}.ipynb").write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    made = [f"{prefix}.ipynb"]
    for suffix, (label, cells) in pdf_parts(nb, ranges).items():
        printed = br.prepare_for_print(cells, code="shown", console=True)
        br.size_images(printed, *br.IMAGE_NORMAL)
        head = br.title_html(A3_CNN, student, subtitle=label, compact=True)
        title = f"{br.helpers.ASSIGNMENTS[A3_CNN][0]}: {label}"
        html = br.html_of(br.new_notebook(printed), title, head_html=head)
        if br.print_pdf(html, folder / f"{prefix}_{suffix}.pdf", f"{A3_CNN}_{suffix}"):
            made.append(f"{prefix}_{suffix}.pdf")
    return made
