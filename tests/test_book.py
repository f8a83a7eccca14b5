"""Checks on the book itself: the table of contents, the chapters' shape, and the build's guarantees."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import load_ci_module

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    """The pages of _toc.yml, in order, as paths without the .md suffix (as _toc.yml writes them)."""
    return [p.relative_to(ROOT).with_suffix("").as_posix() for p in load_ci_module("timings").toc_pages(ROOT)]


def prose(text: str) -> str:
    """The markdown of a MyST notebook without its code cells (whose `#` lines are comments)."""
    return re.sub(r"^(`{3,}|~{3,})(\{code-cell\}|[^{\n]*\n).*?^\1\s*$", "", text, flags=re.S | re.M)


def chapters() -> list[Path]:
    return [ROOT / f"{f}.md" for f in toc_files() if "/part" in f]


def test_every_toc_entry_exists():
    missing = [f for f in toc_files() if not (ROOT / f"{f}.md").is_file()]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"
    assert len(chapters()) >= 4


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_chapter_follows_the_house_style(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\njupytext:"), "a chapter starts with the jupytext MyST header"
    assert re.search(r"kernelspec:\s*\n\s+display_name: Python 3\s*\n\s+language: python\s*\n\s+name: python3", text)
    assert len(re.findall(r"^# ", prose(text), re.M)) == 1, "exactly one H1 title"
    assert "What you will learn" in text
    assert re.search(r"^## Summary", text, re.M) and re.search(r"^## Exercises", text, re.M)
    assert "seed_everything" in text, "chapters seed once with dlbook.seed_everything"


@pytest.mark.parametrize("path", [ROOT / f"{f}.md" for f in toc_files()], ids=lambda p: p.stem)
def test_glued_names_used_in_prose_are_defined(path):
    text = path.read_text(encoding="utf-8")
    used = set(re.findall(r"\{glue(?::\w+)?\}`([A-Za-z_][\w]*)", text))
    used |= set(re.findall(r"^```\{glue(?::\w+)?\}\s+([A-Za-z_]\w*)", text, re.M))
    defined = set(re.findall(r"glue\(\s*[\"']([A-Za-z_]\w*)[\"']", text))
    # keys made in a loop, e.g. glue(f"gd_cond_{name}", ...), define every name of that shape
    patterns = [re.compile(re.sub(r"\\\{[^}]*\\\}", r"\\w+", re.escape(p)) + "$")
                for _, p in re.findall(r"glue\(\s*f([\"'])(.*?)\1", text)]
    defined |= {u for u in used if any(p.match(u) for p in patterns)}
    assert used <= defined, f"glued in prose but never glued in code: {sorted(used - defined)}"


@pytest.mark.parametrize("path", [ROOT / f"{f}.md" for f in toc_files()], ids=lambda p: p.stem)
def test_doc_links_point_at_existing_pages(path):
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`", text):
        resolved = ROOT / target.lstrip("/") if target.startswith("/") else path.parent / target
        assert resolved.with_suffix(".md").is_file(), f"{path.name}: {{doc}} link to missing page {target}"


# ------------------------------------------------------------------------------------------------
# The build: a failing cell is named; unchanged rebuilds execute nothing; code/ changes re-execute.
# These build a two-page book in a temporary folder with the real build script.
# ------------------------------------------------------------------------------------------------
HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def make_book(folder: Path, second_cell: str, timeout: int | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    if timeout is not None:
        config["execute"]["timeout"] = timeout
    config["bibtex_bibfiles"] = ["refs.bib"]
    (folder / "refs.bib").write_text("")
    config["exclude_patterns"] = ["_build", "inputs"]
    config["sphinx"]["local_extensions"] = {"dlbook_notebooks": str(ROOT / "book" / "_ext")}
    (folder / "_config.yml").write_text(yaml.safe_dump(config))
    (folder / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: chapter\n")
    (folder / "index.md").write_text("# A test book\n\nOne chapter.\n")
    (folder / "chapter.md").write_text(HEADER + "# A chapter\n\n```{code-cell} ipython3\nx = 21\n```\n\nText.\n\n"
                                       f"```{{code-cell}} ipython3\n{second_cell}\n```\n")
    inputs = folder / "inputs"
    (inputs / "code").mkdir(parents=True, exist_ok=True)
    (inputs / "code" / "module.py").write_text("VALUE = 1\n")
    (inputs / "requirements.txt").write_text("numpy\n")


def build(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / ".ci" / "build_book.py"), str(folder),
                           "--inputs-root", str(folder / "inputs")], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def jupyter_book_available():
    if shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("jupyter-book is not installed in this environment")


def test_failing_cell_fails_the_build_naming_chapter_and_cell(tmp_path, jupyter_book_available):
    make_book(tmp_path / "book", "def half(v):\n    return v / 0\nhalf(x)")
    result = build(tmp_path / "book")
    assert result.returncode != 0
    report = result.stderr
    assert "BUILD FAILED" in report
    assert "chapter.md, code cell 2 of 2 (line 19)" in report, report
    assert "ZeroDivisionError: division by zero" in report
    assert "cell begins: def half(v):" in report


def test_cell_past_the_timeout_fails_the_build_naming_it(tmp_path, jupyter_book_available):
    make_book(tmp_path / "book", "import time\ntime.sleep(20)", timeout=3)
    result = build(tmp_path / "book")
    assert result.returncode != 0
    assert "chapter.md, code cell 2 of 2 (line 19)" in result.stderr, result.stderr
    assert "per-cell timeout" in result.stderr


def test_cache_is_reused_and_invalidated_when_code_changes(tmp_path, jupyter_book_available):
    book = tmp_path / "book"
    make_book(book, "print(x * 2)")
    first = build(book)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert "Executing notebook" in first.stdout
    page = (book / "_build" / "html" / "chapter.html").read_text()
    assert "42" in page
    # The launch buttons open the generated notebook on the notebooks branch, the download button
    # offers it, and MathJax is served from the site itself.
    repo = yaml.safe_load((book / "_config.yml").read_text())["repository"]["url"].removeprefix("https://github.com/")
    assert f'href="https://colab.research.google.com/github/{repo}/blob/notebooks/chapter.ipynb"' in page
    assert f'href="https://mybinder.org/v2/gh/{repo}/notebooks?urlpath=tree/chapter.ipynb"' in page
    assert 'href="_sources/chapter.ipynb"' in page
    downloaded = (book / "_build" / "html" / "_sources" / "chapter.ipynb").read_text()
    assert "dlbook-setup" in downloaded and "x = 21" in downloaded
    assert "cdn.jsdelivr.net" not in page and (book / "_build" / "html" / "_static" / "mathjax" / "tex-chtml.js").is_file()

    second = build(book)  # nothing changed: nothing may execute
    assert second.returncode == 0
    assert "Executing notebook" not in second.stdout

    (book / "inputs" / "code" / "module.py").write_text("VALUE = 2\n")  # the package changed
    third = build(book)
    assert third.returncode == 0
    assert "clearing the execution cache" in third.stdout
    assert "Executing notebook" in third.stdout

    (book / "inputs" / "requirements.txt").write_text("numpy\nscipy\n")  # the requirements changed
    fourth = build(book)
    assert "Executing notebook" in fourth.stdout


def test_inputs_hash_ignores_caches_but_sees_code(tmp_path):
    build_book = load_ci_module("build_book")
    make_book(tmp_path / "book", "x")
    inputs = tmp_path / "book" / "inputs"
    before = build_book.inputs_hash(inputs)
    (inputs / "code" / "__pycache__").mkdir()
    (inputs / "code" / "__pycache__" / "module.cpython-311.pyc").write_bytes(b"\0")
    (inputs / "code" / "pkg.egg-info").mkdir()
    (inputs / "code" / "pkg.egg-info" / "PKG-INFO").write_text("x")
    assert build_book.inputs_hash(inputs) == before
    (inputs / "code" / "new.py").write_text("")
    assert build_book.inputs_hash(inputs) != before


def test_only_heavy_executes_just_the_starred_chapters(tmp_path, jupyter_book_available):
    """The GPU runner's mode: heavy chapters go into the cache; the others are not even run."""
    book = tmp_path / "book"
    make_book(book, "print('light')")
    light = (book / "chapter.md").read_text().replace("print('light')", "raise RuntimeError('must not run')")
    (book / "chapter.md").write_text(light)
    (book / "cifar10-cnn.md").write_text(HEADER + "# Heavy\n\n```{code-cell} ipython3\nprint(6 * 7)\n```\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: chapter\n  - file: cifar10-cnn\n")
    result = subprocess.run([sys.executable, str(ROOT / ".ci" / "build_book.py"), str(book), "--only-heavy",
                             "--inputs-root", str(book / "inputs")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    assert "1 heavy chapter(s) executed and cached" in result.stdout
    timings = load_ci_module("timings")
    from jupyter_cache import get_cache
    cache = get_cache(str(book / "_build" / ".jupyter_cache"))
    assert timings.cached_execution(cache, book / "cifar10-cnn.md") is not None
    assert timings.cached_execution(cache, book / "chapter.md") is None


def test_sidebar_numbers_match_the_curriculum_numbers():
    """Numbered parts continue their count across parts, so chapter N must be the N-th numbered page;
    the file names carry the curriculum's number (``10-neurons-and-activations``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    position = 0
    for part in toc["parts"]:
        if not part.get("numbered"):
            continue
        for chapter in part["chapters"]:
            position += 1
            number = int(Path(chapter["file"]).name.split("-", 1)[0])
            assert number == position, f"{chapter['file']} is numbered {position} in the sidebar"
    assert position >= 16
