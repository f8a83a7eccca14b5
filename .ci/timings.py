#!/usr/bin/env python
"""Print each chapter's execution time and the last build's total time (``make timings``).

Execution times come from the execution cache (jupyter-cache records how long each notebook took
when it was last executed); the build's wall time comes from ``_build/build-timings.json``, which
``.ci/build_book.py`` writes. With ``--check`` the exit status is 1 if a chapter is missing from
the cache or over its budget: 90 s, or 240 s for the heavy chapters listed in HEAVY.

Usage: python .ci/timings.py [BOOK_DIR] [--check] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUDGET, HEAVY_BUDGET = 90.0, 240.0
#: Chapters the curriculum marks with a star (allowed 240 s).
HEAVY = {"cifar10-cnn", "learning-rates-and-optimizers", "transfer-learning", "object-detection", "segmentation",
         "gans", "text-classification-embeddings", "bert", "gpt-from-scratch"}


def toc_pages(book: Path) -> list[Path]:
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            files.extend([node["file"]] if "file" in node else [])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc.get("parts", []) or toc.get("chapters", []))
    return [book / f"{f}.md" for f in files]


def cached_execution(cache, page: Path):
    """The execution-cache record of ``page`` as it is now (matched by content), or None if stale."""
    import jupytext

    try:
        return cache.match_cache_notebook(jupytext.read(page))
    except KeyError:
        return None


def is_notebook(path: Path) -> bool:
    return path.is_file() and path.read_text(encoding="utf-8").lstrip().startswith("---\njupytext:")


def slug(path: Path) -> str:
    stem = path.stem
    return stem.split("-", 1)[1] if stem[:2].isdigit() and "-" in stem else stem


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("book", nargs="?", default=str(ROOT))
    parser.add_argument("--check", action="store_true", help="fail if a chapter is uncached or over budget")
    parser.add_argument("--json", type=Path, help="also write the table as JSON")
    args = parser.parse_args()
    book = Path(args.book).resolve()
    cache_dir = book / "_build" / ".jupyter_cache"
    if not cache_dir.is_dir():
        print(f"No execution cache at {cache_dir}: run `make book` first.", file=sys.stderr)
        return 1
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_dir))
    try:
        manifest = json.loads((cache_dir / "dlbook-deps.json").read_text())
    except (OSError, ValueError):
        manifest = {}
    rows, problems = [], []
    for page in toc_pages(book):
        if not is_notebook(page):
            continue
        record = cached_execution(cache, page)
        seconds = record.data.get("execution_seconds") if record is not None else None
        budget = HEAVY_BUDGET if slug(page) in HEAVY else BUDGET
        rel = page.relative_to(book).as_posix()
        status = "ok"
        if seconds is None:
            status = "NOT CACHED"
            problems.append(f"{rel}: no cached execution of its current version (run `make book`)")
        elif seconds > budget:
            status = "OVER BUDGET"
            problems.append(f"{rel}: {seconds:.1f} s > {budget:.0f} s")
        entry = manifest.get(record.hashkey, {}) if record is not None else {}
        rows.append({"chapter": rel, "seconds": None if seconds is None else round(seconds, 1),
                     "budget": budget, "status": status, "profile": entry.get("profile") or "-",
                     "modules": len(entry.get("files", {})) if entry else None,
                     "executed": record.created.strftime("%Y-%m-%d %H:%M") if record is not None else None})
    width = max((len(r["chapter"]) for r in rows), default=10)
    print(f"{'chapter':<{width}}  {'exec s':>7}  {'budget':>6}  status       profile  last executed")
    for r in rows:
        secs = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
        print(f"{r['chapter']:<{width}}  {secs:>7}  {r['budget']:>6.0f}  {r['status']:<11}  {r['profile']:<7}  "
              f"{r['executed'] or '-'}")
    total_exec = sum(r["seconds"] or 0 for r in rows)
    print(f"{'all chapters (execution)':<{width}}  {total_exec:>7.1f}")
    timing_file = book / "_build" / "build-timings.json"
    build = json.loads(timing_file.read_text()) if timing_file.is_file() else None
    if build:
        for label, entry in (("last `make book`", build), ("last build that executed", build.get("last_executing_build"))):
            if entry:
                print(f"{label}: {entry['total_seconds']:.1f} s wall time, {entry.get('executed_notebooks', '?')} "
                      f"notebooks executed ({'ok' if entry['ok'] else 'FAILED'}, finished {entry['finished']})")
                if entry.get("executed_notebooks"):
                    print(f"  executing: {entry.get('execute_wall_seconds')} s wall with {entry.get('jobs')} kernel(s) "
                          f"at once (chapters' own times add up to {entry.get('chapter_seconds_sum')} s); "
                          f"rendering: {entry.get('sphinx_seconds')} s")
    if args.json:
        args.json.write_text(json.dumps({"chapters": rows, "build": build}, indent=2))
    if args.check and problems:
        print("\n".join(["TIMING CHECK FAILED:"] + [f"  {p}" for p in problems]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
