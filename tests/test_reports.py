"""The report route: a tiny executed notebook becomes a PDF with its text, math and figure; the code zip is complete."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import base64
import io

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import build_reports  # noqa: E402

needs_pdf_tools = pytest.mark.skipif(build_reports.chromium() is None or shutil.which("pdftotext") is None,
                                     reason="Chromium and poppler-utils are needed (.ci/run installs them)")


@pytest.fixture
def tiny_repo(tmp_path, monkeypatch):
    """A throwaway repository with one assignment holding one small executed notebook with a figure."""
    (tmp_path / "notebooks" / "a3_feedforward").mkdir(parents=True)
    (tmp_path / "helpers.py").write_text("X = 1\n")
    (tmp_path / "requirements.txt").write_text("numpy\n")
    (tmp_path / "notebooks" / "a3_feedforward" / "ffnet.py").write_text("Y = 2\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny report\n\nEuler: $e^{i\\pi} + 1 = 0$"),
                nbformat.v4.new_code_cell("print('the answer is 42')")]
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="the answer is 42\n"),
                           nbformat.v4.new_output("display_data", data={
                               "image/png": base64.b64encode(png.getvalue()).decode(), "text/plain": "<Figure>"})]
    nbformat.write(nb, tmp_path / "notebooks" / "a3_feedforward" / "task1_tiny.ipynb")
    (tmp_path / "notebooks" / "a3_cnn_catdog").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "a3_cnn_catdog" / "q1_tiny.ipynb")
    monkeypatch.setattr(build_reports, "REPO", tmp_path)
    monkeypatch.setattr(build_reports, "OUT", tmp_path / "reports")
    (tmp_path / "reports").mkdir()
    return tmp_path


def test_code_zip_holds_notebooks_modules_and_requirements(tiny_repo):
    nb, paths = build_reports.combined_notebook("a3_feedforward")
    assert nb.cells[0].source.startswith("# A3: feedforward networks on MNIST")
    names = zipfile.ZipFile(build_reports.code_zip("a3_feedforward", paths)).namelist()
    assert sorted(names) == ["helpers.py", "notebooks/a3_feedforward/ffnet.py",
                             "notebooks/a3_feedforward/task1_tiny.ipynb", "requirements.txt"]


def pdf_image_count(pdf):
    """Number of images embedded in a PDF (poppler's pdfimages -list)."""
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    return len(listing.splitlines()) - 2  # two header lines


def pdf_pages_and_text(pdf):
    """Page count and text of a PDF, read with poppler's pdfinfo and pdftotext."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    return pages, subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@needs_pdf_tools
def test_tiny_notebook_becomes_a_pdf(tiny_repo):
    pdf = build_reports.build("a3_cnn_catdog")
    pages, text = pdf_pages_and_text(pdf)
    assert pages == 2  # title page, then the notebook
    assert pdf_image_count(pdf) >= 1  # the figure
    assert "A3: convolutional networks" in text and "the answer is 42" in text and "print(" in text
    assert "$e^" not in text  # MathJax rendered the formula instead of leaving the TeX source
    pages, text = pdf_pages_and_text(build_reports.build("a3_feedforward"))
    assert pages == 1  # the compact (8-page limited) layout has no page breaks
    assert "the answer is 42" in text and "print(" not in text  # a3_feedforward's report hides code
