#!/usr/bin/env python
"""Re-execute chapters and check that they print and glue exactly what the cached build did.

Each chosen chapter runs again through the build's own executor (``.ci/execute.py``: same kernel
settings, same thread count, chapters side by side) and every code cell's text output — streams,
displayed values and glued values — is compared with the execution cache written by the last
``make book``. Figures (PNG bytes) are not compared, nor glued values whose name ends in
``_wallclock`` (a heavy chapter's own run time, which no two runs share). Exit status 1 names every
chapter and cell that differ.

Which chapters:

* ``make determinism`` (no options): every chapter.
* ``--changed-since REV`` (CI): the chapters whose source changed since the git revision ``REV``,
  and those that load a file under ``code/`` that changed (from the build's record of what each
  chapter loaded), plus ``--sample K`` others chosen by the commit, so that every chapter takes its
  turn over successive commits. ``--budget S`` bounds the estimated wall time (from the cached
  execution times); chapters that do not fit are listed, changed ones first in line.

Usage: python .ci/check_determinism.py [CHAPTER.md ...] [--changed-since REV] [--sample K] [--budget S]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import execute  # noqa: E402
from build_book import default_jobs  # noqa: E402
from timings import ROOT, cached_execution, is_notebook, toc_pages  # noqa: E402

TEXT_KEYS = ("application/papermill.record/text/plain", "text/plain", "text/markdown")
UNCOMPARED_GLUE_SUFFIX = "_wallclock"


def cell_texts(nb) -> list[str]:
    """One string per code cell: its streams, displayed values and glued values, in order."""
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name", "")
            if name.endswith(UNCOMPARED_GLUE_SUFFIX):
                continue
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for key in TEXT_KEYS:
                if key in out.get("data", {}):
                    value = out["data"][key]
                    parts.append(value if isinstance(value, str) else "".join(value))
                    break
        texts.append("".join(parts))
    return texts


def changed_files(rev: str) -> list[str] | None:
    """Files changed between ``rev`` and the working tree (committed or not), relative to the repo;
    None if ``rev`` is not a revision here (then every chapter counts as changed)."""
    out = subprocess.run(["git", "diff", "--name-only", rev, "--"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"determinism: cannot compare with git revision {rev!r} ({out.stderr.strip()}); "
              "every chapter counts as changed", flush=True)
        return None
    return [line for line in out.stdout.splitlines() if line]


def choose(pages: list[Path], manifest: dict, rev: str, sample: int, budget: float, jobs: int
           ) -> tuple[list[Path], list[str], list[Path]]:
    """(chapters to check, why each was chosen, chapters left out for the budget)."""
    changed = changed_files(rev)
    by_chapter = {e["chapter"]: e for e in manifest.values()}
    seconds, reasons = {}, {}
    for page in pages:
        rel = page.relative_to(ROOT).as_posix()
        entry = by_chapter.get(rel, {})
        seconds[page] = entry.get("seconds", 60.0)
        loaded = [f"code/{f}" for f in entry.get("files", {})]
        if changed is None:
            reasons[page] = "no base revision"
        elif rel in changed:
            reasons[page] = "source changed"
        elif touched := sorted(set(loaded) & set(changed)):
            reasons[page] = "loads " + ", ".join(touched[:2])
    picked = [p for p in pages if p in reasons]
    rest = [p for p in pages if p not in reasons]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    start = int(head[:8], 16) if head else 0
    for k in range(min(sample, len(rest))):
        page = rest[(start + k) % len(rest)]
        picked.append(page)
        reasons[page] = "rotating sample"
    chosen, left_out, used = [], [], 0.0
    for page in picked:
        if chosen and (used + seconds[page]) / jobs > budget:
            left_out.append(page)
            continue
        chosen.append(page)
        used += seconds[page]
    return chosen, [reasons[p] for p in chosen], left_out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", type=Path)
    parser.add_argument("--changed-since", metavar="REV", help="check the chapters changed since this git revision")
    parser.add_argument("--sample", type=int, default=3, help="with --changed-since: how many others to add")
    parser.add_argument("--budget", type=float, default=600.0,
                        help="with --changed-since: estimated wall seconds at most (default 600)")
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args(argv)
    jobs = args.jobs or default_jobs()
    cache_dir = ROOT / "_build" / ".jupyter_cache"
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_dir))
    try:
        manifest = json.loads((cache_dir / "dlbook-deps.json").read_text())
    except (OSError, ValueError):
        manifest = {}
    all_pages = [p for p in toc_pages(ROOT) if is_notebook(p)]
    reasons: list[str] = []
    left_out: list[Path] = []
    if args.chapters:
        pages = [p.resolve() for p in args.chapters]
        reasons = ["named"] * len(pages)
    elif args.changed_since:
        pages, reasons, left_out = choose(all_pages, manifest, args.changed_since, args.sample,
                                          args.budget, jobs)
    else:
        pages, reasons = all_pages, ["all"] * len(all_pages)
    problems, runnable, cached = [], [], {}
    for page in pages:
        rel = page.relative_to(ROOT).as_posix()
        record = cached_execution(cache, page)
        if record is None:
            problems.append(f"{rel}: its current version is not in the execution cache; run `make book` first")
            continue
        entry = manifest.get(record.hashkey, {})
        if entry.get("profile") not in (None, "cpu"):
            print(f"{rel}: skipped, its cached outputs come from the {entry['profile']} profile", flush=True)
            continue
        cached[page] = cell_texts(cache.get_cache_bundle(record.pk).nb)
        runnable.append(page)
    print(f"determinism: re-executing {len(runnable)} chapter(s), {jobs} at a time:", flush=True)
    for page, why in zip(pages, reasons):
        print(f"  - {page.relative_to(ROOT)} ({why})", flush=True)
    if left_out:
        print(f"determinism: over the {args.budget:.0f} s budget, not checked this time: "
              + ", ".join(p.relative_to(ROOT).as_posix() for p in left_out), flush=True)
    import nbformat

    with tempfile.TemporaryDirectory(prefix="dlbook-determinism-") as scratch:
        results = execute.execute_many(
            runnable, jobs=jobs, timeout=600, code_root=ROOT / "code", out_dir=Path(scratch),
            on_done=lambda page, r, n, total: print(execute.progress_line(r, n, total), flush=True))
        for page, result in zip(runnable, results):
            rel = page.relative_to(ROOT).as_posix()
            if not result.ok:
                problems.append(result.describe_failure().strip())
                continue
            fresh = cell_texts(nbformat.read(result.notebook, as_version=4))
            before = cached[page]
            if len(fresh) != len(before):
                problems.append(f"{rel}: {len(fresh)} code cells now, {len(before)} in the cache (stale cache?)")
                continue
            differing = [i for i, (a, b) in enumerate(zip(before, fresh), 1) if a != b]
            for i in differing:
                a, b = before[i - 1], fresh[i - 1]
                at = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
                problems.append(f"{rel}, code cell {i}: output differs between runs near "
                                f"{a[max(0, at - 30):at + 30]!r} vs {b[max(0, at - 30):at + 30]!r}")
            print(f"{rel}: {len(fresh)} code cells, {'identical' if not differing else f'{len(differing)} differ'}",
                  flush=True)
    if problems:
        print("DETERMINISM CHECK FAILED:\n" + "\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 1
    print(f"determinism: {len(runnable)} chapter(s) re-executed with identical text outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
