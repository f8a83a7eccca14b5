"""Checks on the book itself: the table of contents, the chapters' shape, and the build's guarantees."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import MYST_HEADER as HEADER
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


def long_code_lines(text: str, limit: int = 79) -> list[tuple[int, int]]:
    """(line number, length) of every line of a code cell, options included, longer than ``limit``."""
    code_cell_lines = load_ci_module("execute").code_cell_lines
    return [(start + 1 + k, len(line)) for start, body in code_cell_lines(text)
            for k, line in enumerate(body.split("\n")) if len(line) > limit]


@pytest.mark.parametrize("path", [ROOT / f"{f}.md" for f in toc_files()], ids=lambda p: p.stem)
def test_code_fits_the_page(path):
    """On a laptop-width window the text column shows about 79 characters of code (PEP 8)."""
    long = long_code_lines(path.read_text(encoding="utf-8"))
    assert not long, f"{path.name}: code lines longer than 79 characters at " + ", ".join(
        f"line {n} ({k} chars)" for n, k in long[:10])


def test_the_line_length_check_sees_code_and_cell_options_but_not_prose():
    text = ("```{code-cell} ipython3\n---\nmystnb:\n  figure:\n    caption: " + "c" * 100 + "\n---\n"
            "x = 1\n" + "y = " + "1" * 90 + "\n```\n\n" + "prose " * 30 + "\n")
    assert long_code_lines(text) == [(5, 113), (8, 94)]


# ------------------------------------------------------------------------------------------------
# The build: a failing cell is named; unchanged rebuilds execute nothing; code/ changes re-execute.
# These build a two-page book in a temporary folder with the real build script.
# ------------------------------------------------------------------------------------------------


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


def test_cache_is_reused_and_the_page_is_rendered(tmp_path, jupyter_book_available):
    book = tmp_path / "book"
    make_book(book, "print(x * 2)")
    first = build(book)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert re.search(r"\[1/1\] chapter\.md +[\d.]+ s  ok", first.stdout), first.stdout
    assert "build: slowest: chapter" in first.stdout
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
    assert "build: all 1 chapter(s) are up to date" in second.stdout
    assert "Executing notebook" not in second.stdout

    (book / "chapter.md").write_text((book / "chapter.md").read_text().replace("x * 2", "x * 3"))
    third = build(book)  # the chapter's code changed: it re-executes and the page shows the new output
    assert "chapter.md (new or edited)" in third.stdout
    assert "63" in (book / "_build" / "html" / "chapter.html").read_text()


# A book of three chapters that load different parts of a copy of the real dlbook package (the
# kernels find the copy first through PYTHONPATH): only the chapters that load what changed re-execute.
DEPENDENT_CHAPTERS = {
    "uses-autograd": "import dlbook.autograd\nprint(dlbook.autograd.Value(2.0) * 3)",
    "uses-trainer": "from dlbook import Trainer\nprint(Trainer.__name__)",
    "uses-nothing": "import dlbook\nprint(dlbook.__version__)",
}


@pytest.fixture
def dependent_book(tmp_path, monkeypatch, jupyter_book_available):
    book = tmp_path / "book"
    make_book(book, "print(x)")
    inputs = book / "inputs"
    shutil.rmtree(inputs / "code")
    shutil.copytree(ROOT / "code", inputs / "code", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    shutil.copy(ROOT / "requirements.txt", inputs / "requirements.txt")
    for name, cell in DEPENDENT_CHAPTERS.items():
        (book / f"{name}.md").write_text(HEADER + f"# {name}\n\n```{{code-cell}} ipython3\n{cell}\n```\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n"
                                   + "".join(f"  - file: {n}\n" for n in ["chapter", *DEPENDENT_CHAPTERS]))
    monkeypatch.setenv("PYTHONPATH", str(inputs / "code"))
    return book


def executed(result: subprocess.CompletedProcess) -> set[str]:
    return set(re.findall(r"\] (\S+)\.md +[\d.]+ s  ok", result.stdout))


def execute_only(book: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / ".ci" / "build_book.py"), str(book), "--execute-only",
                           "--inputs-root", str(book / "inputs"), *extra], capture_output=True, text=True, timeout=600)


def test_a_change_to_code_re_executes_only_the_chapters_that_load_it(dependent_book):
    book, code = dependent_book, dependent_book / "inputs" / "code" / "dlbook"
    first = execute_only(book, "--jobs", "2")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert executed(first) == {"chapter", *DEPENDENT_CHAPTERS}
    manifest = json.loads((book / "_build" / ".jupyter_cache" / "dlbook-deps.json").read_text())
    loaded = {Path(e["chapter"]).stem: set(e["files"]) for e in manifest.values()}
    assert "dlbook/autograd.py" in loaded["uses-autograd"] and "dlbook/train/trainer.py" not in loaded["uses-autograd"]
    assert "dlbook/train/trainer.py" in loaded["uses-trainer"] and "dlbook/autograd.py" not in loaded["uses-trainer"]
    assert loaded["uses-nothing"] == {"dlbook/__init__.py", "dlbook/_lazy.py"}
    assert loaded["chapter"] == set()
    assert {e["threads"] for e in manifest.values() if e["threads"] is not None} == {1}

    assert executed(execute_only(book)) == set()  # unchanged: nothing executes
    with open(code / "autograd.py", "a") as f:
        f.write("\n# touched\n")
    again = execute_only(book)
    assert executed(again) == {"uses-autograd"}, again.stdout
    assert "code changed: dlbook/autograd.py" in again.stdout
    with open(code / "train" / "trainer.py", "a") as f:
        f.write("\n# touched\n")
    assert executed(execute_only(book)) == {"uses-trainer"}
    with open(book / "inputs" / "requirements.txt", "a") as f:
        f.write("\n# touched\n")
    everything = execute_only(book)
    assert "clearing the execution cache" in everything.stdout
    assert executed(everything) == {"chapter", *DEPENDENT_CHAPTERS}


def test_serial_and_parallel_builds_give_identical_outputs(tmp_path, jupyter_book_available):
    """Each kernel has one thread whatever --jobs is, so BatchNorm and friends print the same digits."""
    from jupyter_cache import get_cache

    cell = ("import torch\ntorch.manual_seed(0)\nnet = torch.nn.Sequential(torch.nn.Linear(64, 256), "
            "torch.nn.BatchNorm1d(256), torch.nn.Linear(256, 1))\nprint(torch.get_num_threads(), "
            "f'{net(torch.randn(512, 64)).sum().item():.10f}')")
    outputs = []
    for jobs in ("1", "2"):
        book = tmp_path / f"book{jobs}"
        make_book(book, cell)
        shutil.copy(book / "chapter.md", book / "other.md")
        (book / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: chapter\n  - file: other\n")
        result = execute_only(book, "--jobs", jobs)
        assert result.returncode == 0, result.stderr
        cache = get_cache(str(book / "_build" / ".jupyter_cache"))
        texts = [load_ci_module("check_determinism").cell_texts(cache.get_cache_bundle(r.pk).nb)
                 for r in cache.list_cache_records()]
        outputs.append(texts[0])
    assert outputs[0] == outputs[1] and outputs[0][1].startswith("1 ")


def test_a_failing_cell_is_named_exactly_when_an_earlier_cell_starts_the_same(tmp_path, jupyter_book_available):
    make_book(tmp_path / "book", "x = 21\ny = 1 / 0")  # cell 1 is "x = 21" too
    result = build(tmp_path / "book")
    assert result.returncode != 0
    assert "chapter.md, code cell 2 of 2 (line 19): ZeroDivisionError" in result.stderr, result.stderr


def test_a_cell_that_kills_the_kernel_is_named(tmp_path, jupyter_book_available):
    make_book(tmp_path / "book", "import os\nos._exit(3)")
    result = build(tmp_path / "book")
    assert result.returncode != 0
    assert "chapter.md, code cell 2 of 2 (line 19): the kernel died" in result.stderr, result.stderr
    assert "warnings are errors" not in result.stderr


def test_a_chapter_missing_from_the_toc_fails_the_build(tmp_path, jupyter_book_available):
    make_book(tmp_path / "book", "print(x)")
    (tmp_path / "book" / "forgotten.md").write_text(HEADER + "# Forgotten\n")
    result = build(tmp_path / "book")
    assert result.returncode != 0
    assert "not in _toc.yml" in result.stderr and "forgotten.md" in result.stderr


def test_sphinx_warnings_are_listed_one_by_one(tmp_path, jupyter_book_available):
    make_book(tmp_path / "book", "print(x)")
    chapter = tmp_path / "book" / "chapter.md"
    chapter.write_text(chapter.read_text() + "\nSee {doc}`no-such-page`.\n")
    result = build(tmp_path / "book")
    assert result.returncode != 0
    assert "BUILD FAILED while rendering" in result.stderr
    assert re.search(r"chapter\.md:\d+: WARNING: unknown document", result.stderr), result.stderr


def test_run_chapter_reports_a_timeout_without_a_traceback(tmp_path):
    make_book(tmp_path / "book", "import time\ntime.sleep(30)")
    result = subprocess.run([sys.executable, str(ROOT / ".ci" / "run_chapter.py"), str(tmp_path / "book" / "chapter.md"),
                             "--timeout", "2"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "code cell 2 of 2 (line 19): the cell ran past the per-cell timeout" in result.stdout, result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_run_chapter_fails_a_chapter_that_glues_a_name_twice(tmp_path):
    """Sphinx rejects a glue name recorded twice in one page; the quick run must say so first."""
    make_book(tmp_path / "book", 'from myst_nb import glue\nglue("n", 1, display=False)\nglue("n", 2, display=False)')
    result = subprocess.run([sys.executable, str(ROOT / ".ci" / "run_chapter.py"), str(tmp_path / "book" / "chapter.md")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "glued more than once (the book build fails on this): n" in result.stdout, result.stdout


def test_the_determinism_check_compares_with_the_cache_and_skips_wallclock_glue():
    check = load_ci_module("check_determinism")
    import nbformat

    def nb(value, clock):
        cell = nbformat.v4.new_code_cell("x")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{value}\n"),
                        nbformat.v4.new_output("display_data", data={"text/plain": clock},
                                               metadata={"scrapbook": {"name": "run_wallclock"}})]
        return nbformat.v4.new_notebook(cells=[cell])

    assert check.cell_texts(nb(1, "3.2 minutes")) == check.cell_texts(nb(1, "4.0 minutes"))
    assert check.cell_texts(nb(1, "3.2 minutes")) != check.cell_texts(nb(2, "3.2 minutes"))


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


# ------------------------------------------------------------------------------------------------
# Heavy chapters: one scale switch (dlbook.scale), checked without training
# ------------------------------------------------------------------------------------------------

def scale_settings(text: str) -> tuple[dict, dict]:
    """The ``cpu=`` and ``gpu=`` sizes of the chapter's ``settings(cpu=..., gpu=...)`` call, read
    from its source without running it (dict literals or ``dict(k=v)`` calls of literals)."""
    import ast

    def literal(node):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict" and not node.args:
            return {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
        return ast.literal_eval(node)

    calls = []
    for m in re.finditer(r"^(`{3,})\{code-cell\}[^\n]*\n(.*?)^\1\s*$", text, re.S | re.M):
        try:
            tree = ast.parse(m.group(2))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            name = getattr(getattr(node, "func", None), "id", None) or getattr(getattr(node, "func", None), "attr", None)
            if isinstance(node, ast.Call) and name == "settings":
                kw = {k.arg: k.value for k in node.keywords}
                if {"cpu", "gpu"} <= set(kw):
                    calls.append((literal(kw["cpu"]), literal(kw["gpu"])))
    if len(calls) != 1:
        raise AssertionError(f"a heavy chapter makes exactly one settings(cpu=..., gpu=...) call, found {len(calls)}")
    return calls[0]


def heavy_chapters() -> list[Path]:
    timings = load_ci_module("timings")
    return [p for p in chapters() if timings.slug(p) in timings.HEAVY]


@pytest.mark.parametrize("path", heavy_chapters(), ids=lambda p: p.stem)
def test_heavy_chapter_sizes_are_valid_for_both_profiles(path):
    from dlbook.scale import check_settings

    text = path.read_text(encoding="utf-8")
    cpu, gpu = scale_settings(text)
    check_settings(cpu, gpu)  # same names, positive sizes, gpu >= cpu and larger somewhere
    for key in ("run_profile", "run_device", "run_wallclock"):
        assert f'glue("{key}"' in text or f"glue('{key}'" in text, f"the page must glue {key}"


def test_the_settings_reader_and_checker_catch_bad_sizes():
    from dlbook.scale import check_settings, settings

    good = "```{code-cell} ipython3\nS = settings(cpu=dict(n_train=500, epochs=2), gpu={'n_train': 5000, 'epochs': 2})\n```\n"
    cpu, gpu = scale_settings(good)
    assert cpu == {"n_train": 500, "epochs": 2} and gpu == {"n_train": 5000, "epochs": 2}
    check_settings(cpu, gpu)
    for bad_cpu, bad_gpu, message in [
        ({"n": 10}, {"n": 5}, "smaller"), ({"n": 10}, {"n": 10}, "larger"), ({"n": 10}, {"m": 20}, "same settings"),
        ({"n": 0}, {"n": 10}, "positive"), ({"n": 10, "act": "relu"}, {"n": 20, "act": "gelu"}, "equal non-numeric")]:
        with pytest.raises(ValueError, match=message):
            check_settings(bad_cpu, bad_gpu)
    with pytest.raises(AssertionError, match="exactly one"):
        scale_settings(good + good)
    assert settings(cpu={"n": 1}, gpu={"n": 2}, profile_name="gpu").n == 2


def test_the_profile_switch_reads_the_environment(monkeypatch):
    from dlbook import scale

    monkeypatch.delenv("DLBOOK_PROFILE", raising=False)
    assert scale.profile() == "cpu"
    monkeypatch.setenv("DLBOOK_PROFILE", "GPU")
    assert scale.profile() == "gpu"
    monkeypatch.setenv("DLBOOK_PROFILE", "fast")
    with pytest.raises(ValueError, match="DLBOOK_PROFILE must be one of cpu, gpu"):
        scale.profile()


HEAVY_CHAPTER = HEADER + """# Heavy

```{code-cell} ipython3
from dlbook.scale import settings
S = settings(cpu=dict(n=2), gpu=dict(n=4))
print(S.profile, S.n)
```
"""


def test_deploy_build_takes_heavy_chapters_only_from_the_gpu_profile(tmp_path, monkeypatch, jupyter_book_available):
    book = tmp_path / "book"
    make_book(book, "print(x)")
    (book / "cifar10-cnn.md").write_text(HEAVY_CHAPTER)
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: chapter\n  - file: cifar10-cnn\n")
    # A CPU build first: the deploy build must refuse its heavy chapter.
    assert execute_only(book).returncode == 0
    refused = execute_only(book, "--require-heavy-profile", "gpu")
    assert refused.returncode != 0
    assert "cifar10-cnn.md: executed with the cpu profile" in refused.stderr, refused.stderr
    # The GPU job executes the heavy chapter with the gpu profile; the deploy build then accepts it
    # without executing it again, while a plain CPU build would re-execute it at its own profile.
    monkeypatch.setenv("DLBOOK_PROFILE", "gpu")
    gpu_job = execute_only(book, "--only-heavy")
    assert gpu_job.returncode == 0 and executed(gpu_job) == {"cifar10-cnn"}, gpu_job.stdout + gpu_job.stderr
    monkeypatch.delenv("DLBOOK_PROFILE")
    deploy = execute_only(book, "--require-heavy-profile", "gpu")
    assert deploy.returncode == 0, deploy.stderr
    assert executed(deploy) == set()
    manifest = json.loads((book / "_build" / ".jupyter_cache" / "dlbook-deps.json").read_text())
    assert {e["chapter"]: e["profile"] for e in manifest.values()}["cifar10-cnn.md"] == "gpu"
    plain = execute_only(book)
    assert executed(plain) == {"cifar10-cnn"} and "executed with the gpu profile" in plain.stdout


def test_a_numpy_scalar_glued_into_the_prose_is_named(tmp_path, jupyter_book_available):
    make_book(tmp_path / "book", "import numpy as np\nfrom myst_nb import glue\nglue('v', np.float64(0.5), display=False)")
    result = execute_only(tmp_path / "book")
    assert result.returncode != 0
    assert "chapter.md, code cell 2 of 2 (line 19): glue('v', ...) got a NumPy scalar" in result.stderr, result.stderr


def test_chapter_kernels_never_reach_the_hugging_face_hub():
    """A chapter that asks the Hub for a file fails at once instead of hanging on the network,
    and Hugging Face caches stay inside the build folder."""
    env = load_ci_module("execute").kernel_env()
    assert Path(env["HF_HOME"]).is_relative_to(ROOT / "_build")
    probe = ("import huggingface_hub, sys\n"
             "try:\n"
             "    huggingface_hub.hf_hub_download('gpt2', 'config.json')\n"
             "except Exception as err:\n"
             "    print(type(err).__name__)\n"
             "    sys.exit(0)\n"
             "sys.exit('the download did not fail')\n")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Offline" in done.stdout or "LocalEntryNotFound" in done.stdout, done.stdout
