"""What `make all` landed: a digest of each notebook's outputs in results/landed.json, written by the runner when a
full-mode run lands, and read by the report builder and the tests, which refuse a notebook whose outputs come from a
smoke run, a partial run, or anything else than what `make all` landed (a run in Jupyter, an edit by hand).
"""
import fcntl
import hashlib
import json
import os

import rules

MANIFEST = "results/landed.json"  # relative to the repository: {notebook path: sha256 of its outputs}
SMOKE_BANNER = "*** SMOKE MODE"  # the first line helpers.banner() prints in smoke mode


def outputs_digest(nb):
    """sha256 of a notebook's code cells' outputs and execution counts (sources, Markdown and metadata left out)."""
    cells = [[c.get("execution_count"), c.get("outputs", [])] for c in nb["cells"] if c["cell_type"] == "code"]
    return hashlib.sha256(json.dumps(cells, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def read(repo):
    """The manifest of `repo`: {notebook path relative to repo: digest} ({} when there is none yet)."""
    path = repo / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def record(repo, notebook, nb):
    """Note in `repo`'s manifest that `nb` (an executed notebook) landed at `notebook`: read, updated and replaced
    under a lock (two runs of different notebooks may land at once)."""
    path = repo / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = repo / "build" / "locks" / "landed.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = read(repo) | {notebook.relative_to(repo).as_posix(): outputs_digest(nb)}
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(dict(sorted(manifest.items())), indent=1) + "\n")
        os.replace(tmp, path)


def problems(repo, notebook, nb):
    """Why a report may not be printed from `nb` (read from `notebook`): smoke-run outputs, a partial run, an error
    output, unjudged or contradicted claims, or outputs that differ from what `make all` landed; [] when none."""
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and c["source"].strip()]
    texts = [o.get("text", "") for c in code for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    found = []
    if any(SMOKE_BANNER in t for t in texts):
        found.append("its outputs come from a smoke run (SMOKE=1)")
    if [c.get("execution_count") for c in code] != list(range(1, len(code) + 1)):
        found.append("it is a partial run (not every code cell ran once, in order, from a fresh kernel)")
    if any(o.get("output_type") == "error" for c in code for o in c.get("outputs", [])):
        found.append("a cell's output is an error")
    found += [f"claim contradicted or not judged: {s}" for s in rules.contradicted(nb)]
    if not found and read(repo).get(notebook.relative_to(repo).as_posix()) != outputs_digest(nb):
        found.append("its outputs differ from what `make all` landed (run in Jupyter, or edited)")
    return found
