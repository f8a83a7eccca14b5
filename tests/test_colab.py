"""Play Colab: run a generated notebook in a fresh environment that holds only what Colab ships.

Colab ships PyTorch, torchvision, NumPy, pandas, Matplotlib, scikit-learn, SciPy, tqdm and Jupyter,
but not the book's package, nor its build stack (myst-nb, Jupyter Book, Sphinx). A chapter's first
cell must install `dlbook` and the chapter's own third-party needs, and nothing heavy besides.

We build that situation without downloading what Colab ships: a new virtual environment, plus a
folder of symbolic links to exactly the distributions of a Colab-like set (and everything they
require) taken from the project's environment, put on the new environment's path by a ``.pth``
line. `dlbook`, `myst-nb`, `jupyter-book` and Sphinx are not among them (the test checks). The
set-up cell installs `dlbook` from a copy of this checkout (selected by ``DLBOOK_INSTALL_FROM``);
anything else it installs comes from the package index.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from conftest import bundle_dir, load_ci_module, load_launch_module

ROOT = Path(__file__).resolve().parents[1]
#: Uses the Trainer, torchmetrics and real data (MNIST through the registry).
CHAPTER = ROOT / "book" / "part2-classifiers" / "13-mnist-mlp.md"
#: What a Colab runtime has before a notebook installs anything (a conservative subset).
COLAB_SHIPS = ["torch", "torchvision", "numpy", "pandas", "matplotlib", "scikit-learn", "scipy", "tqdm",
               "pillow", "ipykernel", "ipython", "requests", "pyyaml"]
#: The book's build stack: a reader's notebook must never need it.
BUILD_STACK = {"dlbook", "myst-nb", "myst-parser", "jupyter-book", "sphinx", "jupyter-cache", "docutils",
               "sphinx-book-theme", "jupytext"}
#: What the set-up cell of CHAPTER may install into the Colab-like environment.
MAY_INSTALL = {"dlbook", "torchmetrics", "lightning-utilities"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(names: list[str]) -> dict[str, metadata.Distribution]:
    """The installed distributions ``names`` and everything they require, following the extras
    that a requirement names (torch needs ``cuda-toolkit[cudart, ...]``, for one)."""
    from packaging.requirements import Requirement

    found: dict[str, metadata.Distribution] = {}
    extras_done: dict[str, set[str]] = {}
    todo = [(name, frozenset()) for name in names]
    while todo:
        raw, extras = todo.pop()
        name = canonical(raw)
        if name in found and extras <= extras_done[name]:
            continue
        try:
            dist = found.get(name) or metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional platform dependency that is not installed here
        found[name] = dist
        extras_done.setdefault(name, set()).update(extras)
        for spec in dist.requires or []:
            req = Requirement(spec)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
                todo.append((req.name, frozenset(req.extras)))
    return found


@pytest.fixture(scope="module")
def colab_like(tmp_path_factory):
    """A fresh venv seeing only the Colab-like distributions; returns (python, jupyter path, site)."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("run the tests from the project's virtual environment (make test)")
    dists = closure(COLAB_SHIPS)
    assert not BUILD_STACK & set(dists), f"the Colab-like set drags in {BUILD_STACK & set(dists)}"
    folder = tmp_path_factory.mktemp("colab")
    shipped = folder / "colab-site"
    shipped.mkdir()
    for dist in dists.values():
        base = Path(dist.locate_file(""))
        for entry in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            target, link = base / entry, shipped / entry
            if target.exists() and not link.exists() and not entry.endswith(".pth"):
                link.symlink_to(target)
    venv.EnvBuilder(with_pip=True, symlinks=True).create(folder / "env")
    python = folder / "env" / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "colab_preinstalled.pth").write_text(str(shipped) + "\n")
    probe = subprocess.run([str(python), "-c", "import importlib.util as u, torch, torchvision, ipykernel;"
                            "print([m for m in ('dlbook', 'myst_nb', 'jupyter_book', 'sphinx', 'torchmetrics')"
                            " if u.find_spec(m)])"], capture_output=True, text=True)
    assert probe.stdout.strip() == "[]", f"the Colab-like environment has too much: {probe.stdout}{probe.stderr}"
    kernels = folder / "share" / "jupyter" / "kernels" / "colab-like"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python"}))
    return python, folder / "share" / "jupyter", Path(purelib)


def installed(site: Path) -> set[str]:
    return {canonical(p.name.split("-")[0]) for p in site.glob("*.dist-info")}


def test_generated_notebook_installs_only_what_the_chapter_needs_and_runs(colab_like, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    data = bundle_dir()
    if data is None:
        pytest.skip("MNIST is not available offline (set DLBOOK_DATA to the data bundle)")
    python, jupyter_path, site = colab_like
    before_install = installed(site)
    nbs = load_launch_module()
    notebook = nbs.make_notebook(CHAPTER, nbs.LaunchConfig.from_config(ROOT), ROOT)
    assert "myst_nb" not in "".join(c.source for c in notebook.cells if c.cell_type == "code")
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    monkeypatch.setenv("DLBOOK_DATA", str(data))
    # Install from a copy, so that pip's build folders never land in the checkout (they would change
    # what the book's execution cache is keyed on).
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "code", checkout / "code",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    monkeypatch.setenv(nbs.INSTALL_FROM_ENV, str(checkout))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    client = NotebookClient(notebook, kernel_name="colab-like", timeout=600,
                            resources={"metadata": {"path": str(tmp_path)}})
    hash_before = load_ci_module("build_book").inputs_hash(ROOT)
    client.execute()

    setup_output = "".join(o.get("text", "") for o in notebook.cells[1].outputs)
    assert "Installing:" in setup_output and str(checkout / "code") in setup_output
    new = installed(site) - before_install
    assert "dlbook" in new
    assert new <= MAY_INSTALL, f"the set-up cell installed more than dlbook and the chapter's needs: {new - MAY_INSTALL}"
    assert not BUILD_STACK - {"dlbook"} & new
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code_cells), "not every cell ran"
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert any(o.output_type == "display_data" and "image/png" in o.get("data", {})
               for c in code_cells for o in c.outputs), "the chapter's figures did not render"
    glued = [o for c in code_cells for o in c.outputs if o.output_type in ("display_data", "execute_result")
             and "text/plain" in o.get("data", {})]
    assert glued, "glue() from dlbook.glue showed no values"
    where = subprocess.run([str(python), "-c", "import dlbook; print(dlbook.__file__)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(site), f"dlbook came from {where}"

    # A second run of the set-up cell in the same runtime finds nothing to do.
    again = subprocess.run([str(python), "-c", notebook.cells[1].source], capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout == ""
    nbformat.validate(notebook)
    assert load_ci_module("build_book").inputs_hash(ROOT) == hash_before, "the test changed code/ in the checkout"
