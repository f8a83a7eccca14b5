#!/usr/bin/env python
"""Build the book (``make book``): execute what changed, concurrently, then render with Sphinx.

1. **What is stale.** Every chapter's execution is cached (Jupyter Book's jupyter-cache, keyed by the
   chapter's code cells) together with the list of files under ``code/`` that its kernel loaded
   (``.ci/execute.py``). A chapter re-executes when its code cells changed, when one of the files it
   loaded changed, or when it has no record. A change to ``requirements.txt``, ``code/pyproject.toml``,
   the Python version or the executor's settings clears the whole cache.
2. **Execute** the stale chapters, ``--jobs`` at a time (default: the number of CPU cores, at most 4),
   each kernel with one thread, printing a line per chapter as it finishes and a summary at the end.
   Every failing chapter is named with its cell and line; then the build stops.
3. **Render** with ``jupyter-book build`` (warnings are errors). Every page's outputs come from the
   cache; if Sphinx finds anything left to execute, that is an error of the build.
4. Record the wall times in ``_build/build-timings.json`` (``make timings`` prints them).

Heavy (★) chapters read their sizes from the ``cpu`` or ``gpu`` profile (``dlbook.scale``,
``$DLBOOK_PROFILE``). ``--only-heavy`` (the GPU runner) executes only the heavy chapters into the
cache; ``--require-heavy-profile gpu`` (the deploy build) takes the heavy chapters from the cache,
refuses to execute them itself, and fails unless every one was executed with that profile.

Usage: python .ci/build_book.py [BOOK_DIR] [--jobs N] [--execute-only] [--only-heavy]
                                [--require-heavy-profile P] [--inputs-root DIR]
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
sys.path.insert(0, str(ROOT / ".ci"))  # its siblings, also when the tests import this file
import execute  # noqa: E402
from timings import HEAVY, is_notebook, slug, toc_pages  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HASHED_INPUTS = ("code", "requirements.txt")
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache", "build", "dist"}  # caches and build output
#: Folders under the book that never hold chapters.
NOT_CHAPTERS = {"_build", ".venv", ".tools", "code", "tests", "binder", ".git", ".github", ".ci", "node_modules",
                "inputs", "_ext", "drafts"}


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


def default_jobs() -> int:
    """``$DLBOOK_JOBS``, else one kernel per CPU core (at most 4)."""
    value = os.environ.get("DLBOOK_JOBS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise SystemExit(f"build: DLBOOK_JOBS must be a positive integer, got {value!r}")
        return int(value)
    return max(1, min(4, os.cpu_count() or 1))


def orphan_chapters(book: Path, pages: list[Path]) -> list[Path]:
    """Notebook pages under the book folder that ``_toc.yml`` does not list (they would never build)."""
    listed = {p.resolve() for p in pages}
    found = []
    for md in sorted(book.rglob("*.md")):
        rel = md.relative_to(book).parts
        if NOT_CHAPTERS & set(rel[:-1]) or any(part.startswith(".") for part in rel[:-1]):
            continue
        if md.resolve() not in listed and is_notebook(md):
            found.append(md)
    return found


def sphinx_warnings(log: str) -> list[str]:
    lines = [ANSI.sub("", ln).strip() for ln in log.splitlines()]
    return sorted({ln for ln in lines if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", ln)})


def summary_lines(results: list[execute.ChapterResult], wall: float, jobs: int) -> list[str]:
    total = sum(r.seconds for r in results)
    slow = sorted(results, key=lambda r: r.seconds, reverse=True)[:5]
    return [f"build: executed {len(results)} chapter(s) in {wall:.1f} s wall time with {jobs} kernel(s) at once "
            f"(chapters' own times add up to {total:.1f} s)",
            "build: slowest: " + ", ".join(f"{Path(r.chapter).stem} {r.seconds:.1f} s" for r in slow)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("book", nargs="?", default=str(ROOT), help="folder with _config.yml and _toc.yml")
    parser.add_argument("--builder", default="html")
    parser.add_argument("--inputs-root", type=Path, default=ROOT,
                        help="folder whose code/ and requirements.txt the chapters run against (default: the repository)")
    parser.add_argument("--jobs", type=int, default=None, help="chapters executed at once (default: $DLBOOK_JOBS, "
                        "else one per core, at most 4)")
    parser.add_argument("--execute-only", action="store_true", help="execute what is stale into the cache; no HTML")
    parser.add_argument("--only-heavy", action="store_true",
                        help="execute only the heavy (starred) chapters into the cache (for the GPU runner)")
    parser.add_argument("--require-heavy-profile", choices=("cpu", "gpu"),
                        help="take every heavy chapter from the cache, executed with this profile, or fail")
    args = parser.parse_args(argv)
    book = Path(args.book).resolve()
    build = book / "_build"
    jobs = args.jobs or default_jobs()
    started = time.perf_counter()
    import yaml

    config = yaml.safe_load((book / "_config.yml").read_text())
    timeout = int((config.get("execute") or {}).get("timeout", 300))
    pages = [p for p in toc_pages(book) if is_notebook(p)]
    orphans = orphan_chapters(book, toc_pages(book))
    if orphans:
        print("BUILD FAILED: these chapters are not in _toc.yml, so they would never be built or checked:\n"
              + "\n".join(f"  {p.relative_to(book)}" for p in orphans)
              + "\nAdd them to _toc.yml (or move drafts outside the book folder).", file=sys.stderr)
        return 1
    from dlbook.scale import profile as read_profile

    try:
        profile = read_profile()
    except ValueError as err:
        print(f"BUILD FAILED: {err}", file=sys.stderr)
        return 1
    heavy = [p for p in pages if slug(p) in HEAVY]

    # 1. What is stale --------------------------------------------------------------------------
    cache_dir = build / ".jupyter_cache"
    cache = execute.BookCache(cache_dir, args.inputs_root, book)
    if cache.global_stale():
        if any(cache_dir.iterdir()) or (build / ".doctrees").exists():
            print("build: requirements, Python, the executor or _config.yml's `execute` settings changed since "
                  "the cached outputs were made; clearing the execution cache so every chapter re-executes.",
                  flush=True)
        for stale in (cache_dir, build / ".doctrees", build / "jupyter_execute"):
            shutil.rmtree(stale, ignore_errors=True)
        cache = execute.BookCache(cache_dir, args.inputs_root, book)
        cache.write_global_stamp()
    targets = heavy if args.only_heavy else pages
    accept = (args.require_heavy_profile,) if args.require_heavy_profile else ()
    stale: dict[Path, str] = {}
    for page in targets:
        reason = cache.why_stale(page, profile if page in heavy else None,
                                 accept if page in heavy else ())
        if reason:
            stale[page] = reason
    if args.require_heavy_profile:
        bad = {p: r for p, r in stale.items() if p in heavy}
        for p in heavy:
            entry = cache.entry(p)
            if p not in bad and (entry or {}).get("profile") != args.require_heavy_profile:
                bad[p] = f"executed with the {(entry or {}).get('profile')} profile"
        if bad:
            print(f"BUILD FAILED: --require-heavy-profile {args.require_heavy_profile}: these heavy chapters were "
                  "not executed with that profile (by the GPU job) and this build will not execute them:\n"
                  + "\n".join(f"  {p.relative_to(book)}: {r}" for p, r in bad.items()), file=sys.stderr)
            return 1
    if args.only_heavy and not heavy:
        print("build: the table of contents has no heavy chapters; nothing to execute.")
        return 0

    # 2. Execute --------------------------------------------------------------------------------
    results: list[execute.ChapterResult] = []
    exec_wall = 0.0
    if stale:
        known = {e["chapter"]: e.get("seconds", 0) for e in cache.manifest.values()}
        order = sorted(stale, key=lambda p: -known.get(execute.shown_name(p, book), 60.0))  # longest first
        print(f"build: executing {len(order)} of {len(targets)} chapter(s), {jobs} at a time, "
              f"{execute.KERNEL_THREADS} thread per kernel, profile {profile}:", flush=True)
        for page in order:
            print(f"  - {page.relative_to(book)} ({stale[page]})", flush=True)
        t0 = time.perf_counter()

        def done(page, result, n, total):
            print(execute.progress_line(result, n, total), flush=True)
            if result.ok:
                cache.store(page, result)

        results = execute.execute_many(order, jobs=jobs, timeout=timeout, code_root=cache.code_root,
                                       out_dir=build / "executed", profile=profile, root=book, on_done=done)
        exec_wall = time.perf_counter() - t0
        for line in summary_lines(results, exec_wall, jobs):
            print(line, flush=True)
        now = time.time()
        for page, result in zip(order, results):
            if result.ok:
                os.utime(page, (now, now))  # Sphinx re-reads a page whose source is newer than its doctree
    else:
        print(f"build: all {len(targets)} chapter(s) are up to date in the execution cache.", flush=True)
    failures = [r for r in results if not r.ok]
    timing_file = build / "build-timings.json"
    try:
        previous = json.loads(timing_file.read_text())
    except (OSError, ValueError):
        previous = {}

    def record(ok: bool, sphinx_seconds: float | None) -> None:
        this = {"total_seconds": round(time.perf_counter() - started, 1), "ok": ok,
                "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "executed_notebooks": len(results),
                "execute_wall_seconds": round(exec_wall, 1), "sphinx_seconds": sphinx_seconds,
                "chapter_seconds_sum": round(sum(r.seconds for r in results), 1), "jobs": jobs}
        data = dict(this, last_executing_build=this if results else previous.get("last_executing_build"))
        build.mkdir(exist_ok=True)
        timing_file.write_text(json.dumps(data, indent=2))

    if failures:
        print("\n" + "=" * 78, file=sys.stderr)
        print(f"BUILD FAILED: {len(failures)} chapter(s) raised an error while executing:", file=sys.stderr)
        print("\n".join(r.describe_failure() for r in failures), file=sys.stderr)
        print("Run one chapter with: .venv/bin/python .ci/run_chapter.py <chapter.md> --show", file=sys.stderr)
        record(False, None)
        return 1
    if args.execute_only or args.only_heavy:
        record(True, None)
        if args.only_heavy:
            print(f"build: {len(results)} heavy chapter(s) executed and cached "
                  f"({len(heavy) - len(results)} already were), profile {profile}")
        return 0

    # 3. Render ---------------------------------------------------------------------------------
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(book), "--builder", args.builder, "--warningiserror", "--keep-going"]
    print("build:", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=execute.kernel_env(profile))
    chunks = []
    for line in proc.stdout:
        chunks.append(line)
        if "Kernel is running over TCP without encryption" not in line:
            sys.stdout.write(line)
    rc = proc.wait()
    sphinx_seconds = round(time.perf_counter() - t0, 1)
    log = "".join(chunks)
    (build / "build.log").write_text(ANSI.sub("", log))
    executed_by_sphinx = re.findall(r"^(\S+?): .*Executing notebook", ANSI.sub("", log), re.M)
    problems = []
    if executed_by_sphinx:
        problems.append("Sphinx executed notebooks that the build's executor should have cached: "
                        + ", ".join(executed_by_sphinx))
    if rc != 0:
        problems.extend(sphinx_warnings(log) or ["jupyter-book failed without a warning; see the log above"])
    if problems:
        print("\n" + "=" * 78, file=sys.stderr)
        print("BUILD FAILED while rendering (warnings are errors in this book):", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        print(f"Full log: {build / 'build.log'}", file=sys.stderr)
        record(False, sphinx_seconds)
        return 1
    record(True, sphinx_seconds)
    total = time.perf_counter() - started
    print(f"\nbuild: done in {total:.1f} s ({exec_wall:.1f} s executing {len(results)} chapter(s), "
          f"{sphinx_seconds:.1f} s rendering) -> {build / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
