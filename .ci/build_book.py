#!/usr/bin/env python
"""Build the book (``make book``): execute what changed, fail loudly and precisely on errors.

1. Invalidate the execution cache when the code it ran against changed. Jupyter Book's cache
   (jupyter-cache) hashes only each notebook's own code cells, so a change to ``code/`` (the
   ``dlbook`` package) or ``requirements.txt`` would otherwise leave stale outputs in the book.
   We hash those inputs into ``_build/.jupyter_cache/dlbook-inputs.sha256`` and, when the hash
   differs, clear the cache and Sphinx's saved environment so that every chapter re-executes.
2. Run ``jupyter-book build`` with warnings as errors, keeping going to collect every problem.
3. If a cell failed, name the chapter, the code cell (number and line in the .md file) and the
   error, then exit non-zero.
4. Record the build's wall time in ``_build/build-timings.json`` (``make timings`` prints it).

``--only-heavy`` is for the GPU runner: it executes only the chapters marked heavy (★) in
``.ci/timings.py`` into the execution cache, which the deploy job then restores; the HTML it writes
is not used (other chapters are left unexecuted, so warnings are not errors there).

Usage: python .ci/build_book.py [BOOK_DIR] [--builder html] [--only-heavy]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".ci"))  # its sibling timings.py, also when the tests import this file
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HASHED_INPUTS = ("code", "requirements.txt")
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", "build", "dist"}  # caches and build output


def inputs_hash(root: Path) -> str:
    """SHA-256 over every file of code/ (bar caches and build metadata) and requirements.txt."""
    digest = hashlib.sha256()
    for name in HASHED_INPUTS:
        base = root / name
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for f in files:
            rel = f.relative_to(root)
            if SKIP_PARTS & set(rel.parts) or f.suffix == ".pyc" or any(p.endswith(".egg-info") for p in rel.parts):
                continue
            digest.update(rel.as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


def invalidate_if_stale(build: Path, inputs_root: Path = ROOT) -> bool:
    """Clear the execution cache if code/ or requirements.txt changed; return True if it did."""
    cache = build / ".jupyter_cache"
    stamp = cache / "dlbook-inputs.sha256"
    want = inputs_hash(inputs_root)
    have = stamp.read_text().strip() if stamp.exists() else None
    if have != want:
        if cache.exists() or (build / ".doctrees").exists():
            print("build: code/ or requirements.txt changed since the cached outputs were made; "
                  "clearing the execution cache so every chapter re-executes.", flush=True)
        for stale in (cache, build / ".doctrees", build / "jupyter_execute"):
            shutil.rmtree(stale, ignore_errors=True)
        cache.mkdir(parents=True, exist_ok=True)
        stamp.write_text(want + "\n")
        return True
    return False


def code_cell_lines(md_path: Path) -> list[tuple[int, str]]:
    """(line number, source) of every ``{code-cell}`` in a MyST notebook, in order."""
    cells, lines = [], md_path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(`{3,}|~{3,})\s*\{code-cell\}", lines[i])
        if m:
            fence, start, body = m.group(1), i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith(fence):
                body.append(lines[i])
                i += 1
            while body and (body[0].startswith(":") or (body[0].startswith("---") and "---" in body[1:])):
                if body[0].startswith("---"):  # YAML options block
                    end = body[1:].index("---") + 1 if "---" in body[1:] else 0
                    body = body[end + 1:]
                else:
                    body = body[1:]
            cells.append((start, "\n".join(body).strip()))
        i += 1
    return cells


def explain_failures(log: str, book: Path) -> list[str]:
    """Turn myst-nb's execution warnings into 'chapter, cell, error' lines."""
    text = ANSI.sub("", log)
    reports = []
    pattern = re.compile(r"^(?P<path>\S+?): WARNING: Executing notebook failed: (?P<kind>\w+)(?P<body>.*?)\[mystnb\.exec\]",
                         re.S | re.M)
    for m in pattern.finditer(text):
        path, kind, body = Path(m["path"]), m["kind"], m["body"]
        source = None
        cell = re.search(r"executing the following cell:\n-+\n(.*?)\n-+\n", body, re.S)
        if cell:
            source = cell.group(1).strip()
        error_lines = [ln.strip() for ln in body.strip().splitlines() if re.match(r"^\s*\w+(Error|Exception|Interrupt|Exit)\b.*:", ln)]
        error = error_lines[-1] if error_lines else kind
        if kind in ("CellTimeoutError", "TimeoutError") or "timed out" in body:
            error = "the cell ran past the per-cell timeout (execute.timeout in _config.yml)"
            preview = re.search(r"preview of the cell contents:\s*-+\s*\n(.*?)\n", body, re.S)
            source = source or (preview.group(1).strip("[]'\" ") if preview else None)
        where = "a code cell"
        if path.exists() and source is not None:
            cells = code_cell_lines(path)
            for n, (line, src) in enumerate(cells, 1):
                if src == source or (source and src.startswith(source.splitlines()[0])):
                    where = f"code cell {n} of {len(cells)} (line {line})"
                    break
        try:
            shown = path.relative_to(ROOT)
        except ValueError:
            shown = path
        first = source.splitlines()[0] if source else "?"
        reports.append(f"  chapter {shown}, {where}: {error}\n    cell begins: {first}")
    return reports


def heavy_only_config(book: Path, build: Path) -> tuple[Path | None, list[Path]]:
    """A copy of _config.yml that excludes every non-heavy chapter from execution."""
    import yaml
    from timings import HEAVY, is_notebook, slug, toc_pages

    pages = [p for p in toc_pages(book) if is_notebook(p)]
    heavy = [p for p in pages if slug(p) in HEAVY]
    if not heavy:
        return None, []
    config = yaml.safe_load((book / "_config.yml").read_text())
    config.setdefault("execute", {})["exclude_patterns"] = [
        p.relative_to(book).as_posix() for p in pages if p not in heavy]
    build.mkdir(parents=True, exist_ok=True)
    path = build / "_config.heavy.yml"
    path.write_text(yaml.safe_dump(config))
    return path, heavy


def check_heavy_cached(build: Path, heavy: list[Path]) -> list[Path]:
    from jupyter_cache import get_cache
    from timings import cached_execution

    cache = get_cache(str(build / ".jupyter_cache"))
    return [p for p in heavy if cached_execution(cache, p) is None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("book", nargs="?", default=str(ROOT), help="folder with _config.yml and _toc.yml")
    parser.add_argument("--builder", default="html")
    parser.add_argument("--inputs-root", type=Path, default=ROOT,
                        help="folder whose code/ and requirements.txt key the execution cache (default: the repository)")
    parser.add_argument("--only-heavy", action="store_true",
                        help="execute only the heavy (starred) chapters into the cache (for the GPU runner)")
    args = parser.parse_args(argv)
    book = Path(args.book).resolve()
    build = book / "_build"
    invalidate_if_stale(build, args.inputs_root.resolve())
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(book), "--builder", args.builder, "--warningiserror", "--keep-going"]
    heavy: list[Path] = []
    if args.only_heavy:
        config, heavy = heavy_only_config(book, build)
        if config is None:
            print("build: the table of contents has no heavy chapters; nothing to execute.")
            return 0
        print("build: executing only the heavy chapters:", ", ".join(p.stem for p in heavy), flush=True)
        cmd = [str(jb), "build", str(book), "--builder", args.builder, "--config", str(config)]
    print("build:", " ".join(cmd), flush=True)
    start = time.perf_counter()
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")
    # A non-inline MPLBACKEND (e.g. Agg, common on CI) would stop the kernels from capturing figures.
    if not env.get("MPLBACKEND", "").startswith("module://matplotlib_inline"):
        env.pop("MPLBACKEND", None)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    chunks = []
    for line in proc.stdout:
        chunks.append(line)
        if "Kernel is running over TCP without encryption" not in line:
            sys.stdout.write(line)
    rc = proc.wait()
    seconds = time.perf_counter() - start
    log = "".join(chunks)
    build.mkdir(exist_ok=True)
    (build / "build.log").write_text(ANSI.sub("", log))
    if args.only_heavy:
        missing = check_heavy_cached(build, heavy)
        if rc != 0 or missing:
            print(f"build: heavy chapters not executed into the cache: {[p.stem for p in missing]}"
                  + ("\n" + "\n".join(explain_failures(log, book)) if rc else ""), file=sys.stderr)
            return 1
        print(f"build: {len(heavy)} heavy chapter(s) executed and cached in {seconds:.1f} s")
        return 0
    timing_file = build / "build-timings.json"
    try:
        previous = json.loads(timing_file.read_text())
    except (OSError, ValueError):
        previous = {}
    this = {"total_seconds": round(seconds, 1), "ok": rc == 0, "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "executed_notebooks": log.count("Executing notebook")}
    record = dict(this, last_executing_build=this if this["executed_notebooks"] else previous.get("last_executing_build"))
    timing_file.write_text(json.dumps(record, indent=2))
    if rc != 0:
        failures = explain_failures(log, book)
        print("\n" + "=" * 78, file=sys.stderr)
        if failures:
            print(f"BUILD FAILED: {len(failures)} chapter(s) raised an error while executing:", file=sys.stderr)
            print("\n".join(failures), file=sys.stderr)
        else:
            warnings = sorted({ANSI.sub("", ln).strip() for ln in chunks if "WARNING" in ln or "ERROR" in ln})
            print("BUILD FAILED (warnings are errors in this book):", file=sys.stderr)
            print("\n".join(f"  {w}" for w in warnings) or "  see the log above", file=sys.stderr)
        print(f"Full log: {build / 'build.log'}", file=sys.stderr)
        return 1
    print(f"\nbuild: done in {seconds:.1f} s -> {build / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
