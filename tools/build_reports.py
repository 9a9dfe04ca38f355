"""Export the committed (already executed) notebooks of each assignment to reports/<assignment>.pdf and a code zip.

Usage: python tools/build_reports.py [assignment ...]
Route: nbconvert HTML (MathJax from the local jupyter-server-mathjax package, no internet) -> headless Chromium
prints it to PDF. Without Chromium the HTML is still written and the command says what to install.
"""
import datetime
import json
import os
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
sys.path.insert(0, str(REPO))
import helpers  # noqa: E402  (the assignment list, titles and notebook order)
HIDE_CODE = {"a3_feedforward"}  # its spec wants a report without code (the code goes in the zip)
COMPACT = {"a3_feedforward"}  # its spec limits the report to 8 pages: no page breaks, smaller figures
# cells tagged "report-hide-output" (code listings, per-epoch logs) keep their outputs in the notebook, not the PDF
HIDE_OUTPUT_TAG, SKIP_TAG = "report-hide-output", "report-skip"
DISCUSSION_TAG = "discussion"  # helpers.discuss cells: the report shows their Markdown output, not their code
CODE_APPENDIX = {"handin1_numpy_mlp", "handin2_pytorch_cnn"}  # their specs want the code as an appendix
PAGE_BREAK = '<div style="page-break-after: always;"></div>'
COMPACT_CSS = """<style>
@page { size: A4; margin: 9mm 10mm; }
body { font-size: 9px; line-height: 1.3; }
.jp-RenderedHTMLCommon p, .jp-RenderedHTMLCommon li { margin-bottom: 0.3em; }
.jp-OutputArea-output pre { font-size: 8px; }
.jp-OutputArea-output img { max-width: 52% !important; display: block; margin: 0 auto; }
.jp-Cell { padding-top: 1px !important; padding-bottom: 1px !important; }
.jp-RenderedHTMLCommon h1 { font-size: 14px !important; margin: 8px 0 4px !important; }
.jp-RenderedHTMLCommon h2 { font-size: 11.5px !important; margin: 6px 0 3px !important; }
table { page-break-inside: auto !important; } tr { page-break-inside: avoid; }
.jp-OutputArea-child, .jp-OutputArea-output, .jp-OutputArea { break-inside: auto !important; }
.jp-OutputArea-output img { break-inside: avoid; }
</style>"""
CSS = """<style>
@page { size: A4; margin: 14mm 12mm; }
body { font-size: 11px; }
.jp-Notebook { padding: 0 !important; }
.jp-InputPrompt, .jp-OutputPrompt { display: none !important; }
.jp-Cell { page-break-inside: auto; }
.jp-OutputArea-output img { max-width: 100% !important; height: auto; page-break-inside: avoid; }
pre, code { white-space: pre-wrap !important; word-break: break-word; font-size: 9px; }
table { font-size: 10px; }
</style>"""


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


def results_of(assignment):
    """All results JSON files of an assignment, by notebook name."""
    folder = REPO / "results" / assignment
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.exists() else {}


def title_cell(assignment, names):
    """A Markdown title page: assignment, date, hardware, total run time and contents."""
    results = results_of(assignment)
    seconds = sum(r.get("notebook_seconds", 0) for r in results.values())
    hardware = next((r["hardware"] for r in results.values() if "hardware" in r), None)
    devices = sorted({str(r["device"]) for r in results.values() if "device" in r})
    lines = [f"# {helpers.ASSIGNMENTS[assignment][0]}", "",
             f"Report generated {datetime.date.today().isoformat()} from the notebooks executed in full mode.", "",
             f"- Hardware: {hardware or ', '.join(devices) or 'see each notebook'}",
             f"- Total run time of the notebooks: {seconds / 60:.1f} min", ""]
    if assignment in COMPACT:
        lines.append("Notebooks: " + ", ".join(f"`{name}`" for name in names) + ".")
    else:
        lines += ["Contents:", ""] + [f"{k}. `{name}`" for k, name in enumerate(names, 1)]
    ending = "" if assignment in COMPACT else "\n\n" + PAGE_BREAK
    return nbformat.v4.new_markdown_cell("\n".join(lines) + ending)


def modules_of(assignment):
    """The Python modules an assignment's notebooks import besides helpers.py (hand-in 2 also uses hand-in 1's)."""
    modules = sorted((REPO / "notebooks" / assignment).glob("*.py"))
    if assignment == "handin2_pytorch_cnn":
        modules.append(REPO / "notebooks" / "handin1_numpy_mlp" / "numpy_mlp.py")
    return modules


def appendix_cells(assignment, notebooks):
    """The code appendix: every code cell of the notebooks, then the modules they import."""
    cells = [nbformat.v4.new_markdown_cell(PAGE_BREAK + "\n\n# Appendix: code")]
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        code = "\n\n".join(c.source for c in nb.cells if c.cell_type == "code"  # discussions are prose, shown above
                             and DISCUSSION_TAG not in c.metadata.get("tags", []))
        cells.append(nbformat.v4.new_markdown_cell(f"## `{path.name}`\n\n```python\n{code}\n```"))
    for module in [REPO / "helpers.py", *modules_of(assignment)]:
        cells.append(nbformat.v4.new_markdown_cell(f"## `{module.relative_to(REPO)}`\n\n```python\n"
                                                   f"{module.read_text()}\n```"))
    return cells


def combined_notebook(assignment):
    """One notebook: title page, every exercise notebook in order (outputs kept), and the code appendix if wanted."""
    paths = helpers.notebook_paths(assignment, REPO)
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nb.cells.append(title_cell(assignment, [p.stem for p in paths]))
    for k, path in enumerate(paths):
        part = nbformat.read(path, as_version=4)
        for cell in part.cells:
            if cell.cell_type == "code":
                # widget outputs have no static form; a saved figure's returned path is noise in a report
                cell.outputs = [o for o in cell.outputs if "application/vnd.jupyter.widget-view+json" not in
                                o.get("data", {}) and not str(o.get("data", {}).get("text/plain", "")).startswith(
                                    "PosixPath(")]
            nb.cells.append(cell)
        if k < len(paths) - 1 and assignment not in COMPACT:
            nb.cells.append(nbformat.v4.new_markdown_cell(PAGE_BREAK))
    if assignment in CODE_APPENDIX:
        nb.cells += appendix_cells(assignment, paths)
    return nb, paths


def code_zip(assignment, paths):
    """reports/<assignment>_code.zip: the notebooks, helpers.py, the assignment's modules and requirements.txt."""
    target = OUT / f"{assignment}_code.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for path in [*paths, *modules_of(assignment), REPO / "helpers.py", REPO / "requirements.txt"]:
            z.write(path, path.relative_to(REPO))
    return target


def build(assignment):
    """Write the HTML, the PDF (when Chromium is present) and the code zip of one assignment; returns the PDF or None."""
    nb, paths = combined_notebook(assignment)
    exporter = HTMLExporter(template_name="lab", exclude_input=assignment in HIDE_CODE)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={SKIP_TAG}, remove_input_tags={DISCUSSION_TAG},
                                                         remove_all_outputs_tags={HIDE_OUTPUT_TAG}), enabled=True)
    url = mathjax_url()
    if url:
        exporter.mathjax_url = url
    else:
        print("  note: pip install jupyter-server-mathjax for offline math rendering")
    html, _ = exporter.from_notebook_node(nb)
    html = html.replace("</head>", CSS + (COMPACT_CSS if assignment in COMPACT else "") + "</head>", 1)
    html_path = OUT / f"{assignment}.html"
    html_path.write_text(html)
    code_zip(assignment, paths)
    browser = chromium()
    if browser is None:
        print(f"  {html_path.relative_to(REPO)} written; for the PDF install Chromium "
              "(Debian: apt-get install chromium) and run `make reports` again")
        return None
    pdf = OUT / f"{assignment}.pdf"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--run-all-compositor-stages-before-draw", "--virtual-time-budget=30000",
                    "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html_path.as_uri()],
                   check=True, capture_output=True, timeout=300)
    return pdf


def main(selection):
    """Build the reports of the selected (default: all) assignments that have notebooks."""
    OUT.mkdir(exist_ok=True)
    chosen = {Path(a).parent.name if a.endswith(".ipynb") else a for a in selection}
    assignments = [a for a in helpers.ASSIGNMENTS if (not chosen or a in chosen) and any((REPO / "notebooks" / a).glob("*.ipynb"))]
    for assignment in assignments:
        pdf = build(assignment)
        print(f"{assignment}: {pdf.relative_to(REPO) if pdf else 'HTML only'}, {assignment}_code.zip", flush=True)
    return 0


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main(sys.argv[1:]))
