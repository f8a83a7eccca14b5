"""Play Colab: run a generated notebook in a fresh environment that lacks `dlbook`.

Colab ships PyTorch, NumPy, Matplotlib, scikit-learn and Jupyter, but not the book's package, so a
chapter's first cell must install it. We build that situation here: a new virtual environment whose
only link to the project's environment is a ``.pth`` line that puts the project's site-packages on
its path (the same effect as ``--system-site-packages`` over an interpreter that has the heavy
packages: nothing is copied or downloaded). A ``.pth`` line adds a folder but does not run the
``.pth`` files inside it, so the project's *editable* install of `dlbook` stays invisible. There is
no network here, so the set-up cell installs `dlbook` from this checkout, selected by the
``DLBOOK_INSTALL_FROM`` variable the cell reads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import nbformat
import pytest
from conftest import load_ci_module, load_launch_module

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "part1-foundations" / "03-gradient-descent.md"  # synthetic data: no download


@pytest.fixture(scope="module")
def colab_like(tmp_path_factory):
    """A fresh venv that sees the project's packages, except `dlbook`; returns its python."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("run the tests from the project's virtual environment (make test)")
    folder = tmp_path_factory.mktemp("colab")
    venv.EnvBuilder(with_pip=True, symlinks=True).create(folder / "env")
    python = folder / "env" / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "colab_preinstalled.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = subprocess.run([str(python), "-c", "import importlib.util as u, torch, ipykernel;"
                            "print(u.find_spec('dlbook') is None)"], capture_output=True, text=True)
    assert probe.stdout.strip() == "True", f"the Colab-like environment must lack dlbook: {probe.stderr}"
    kernels = folder / "share" / "jupyter" / "kernels" / "colab-like"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python"}))
    return python, folder / "share" / "jupyter"


def test_generated_notebook_installs_dlbook_and_runs_to_the_end(colab_like, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    python, jupyter_path = colab_like
    nbs = load_launch_module()
    notebook = nbs.make_notebook(CHAPTER, nbs.LaunchConfig.from_config(ROOT), ROOT)
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    # Install from a copy, so that pip's build folders never land in the checkout (they would change
    # the hash that keys the book's execution cache).
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "code", checkout / "code",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    monkeypatch.setenv(nbs.INSTALL_FROM_ENV, str(checkout))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    client = NotebookClient(notebook, kernel_name="colab-like", timeout=600,
                            resources={"metadata": {"path": str(tmp_path)}})
    before = load_ci_module("build_book").inputs_hash(ROOT)
    client.execute()

    setup_output = "".join(o.get("text", "") for o in notebook.cells[1].outputs)
    assert "Installing:" in setup_output and str(checkout / "code") in setup_output
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code_cells), "not every cell ran"
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert any(o.output_type == "display_data" and "image/png" in o.get("data", {})
               for c in code_cells for o in c.outputs), "the chapter's figures did not render"
    installed = subprocess.run([str(python), "-c", "import dlbook; print(dlbook.__file__)"],
                               capture_output=True, text=True, check=True).stdout.strip()
    assert Path(installed).is_relative_to(python.parent.parent), f"dlbook came from {installed}"

    # A second run of the set-up cell in the same runtime finds nothing to do.
    again = subprocess.run([str(python), "-c", notebook.cells[1].source], capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout == ""
    nbformat.validate(notebook)
    assert load_ci_module("build_book").inputs_hash(ROOT) == before, "the test changed code/ in the checkout"
