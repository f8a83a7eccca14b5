#!/usr/bin/env python
"""Execute one or more chapters quickly, without building the book, and report how they ran.

    .venv/bin/python .ci/run_chapter.py book/part1-foundations/03-gradient-descent.md [--show]

Chapters run through the build's own executor (``.ci/execute.py``: a kernel per chapter, one
thread each, a scratch folder as working directory), so they print what the book would. For each
chapter: total execution seconds, the slowest cells, every glued value, the ``code/`` modules it
loaded, and (with ``--show``) each cell's text output. The executed notebook is saved under
``_build/chapter-runs/`` so that figures can be inspected. Exit status 1 if a cell fails (or runs
past the timeout, or kills the kernel), naming the chapter, the cell and its line; also if it glues
one name twice, which fails the book's Sphinx build.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import execute  # noqa: E402

ROOT = execute.ROOT


def report(result: execute.ChapterResult, show: bool) -> bool:
    """Print how a chapter ran; False if it failed or glued a name twice (the book build would)."""
    import nbformat

    print(f"{result.chapter}: {'ok' if result.ok else 'FAILED'} in {result.seconds:.1f} s ({result.cells} code cells)")
    if not result.ok:
        print(result.describe_failure())
    slow = sorted(((s, i) for i, s in enumerate(result.cell_seconds, 1)), reverse=True)[:5]
    print("  slowest cells: " + ", ".join(f"#{i} {s:.1f}s" for s, i in slow))
    if result.ok:
        print(f"  loaded from code/: {', '.join(sorted(result.modules)) or 'nothing'}; torch threads: {result.threads}")
    if not result.notebook:
        return result.ok
    nb = nbformat.read(result.notebook, as_version=4)
    names: list[str] = []
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code_cells, 1):
        for out in cell.get("outputs", []):
            glue = out.get("metadata", {}).get("scrapbook", {})
            if glue:
                names.append(glue.get("name"))
                data = out.get("data", {})
                text = data.get("application/papermill.record/text/plain") or data.get("text/plain", "")
                print(f"  glue {glue.get('name')!r} = {text[:80]}")
            elif show:
                text = out.get("text") or out.get("data", {}).get("text/plain", "")
                if out.get("output_type") == "error":
                    text = f"{out.get('ename')}: {out.get('evalue')}"
                kind = "figure" if "image/png" in out.get("data", {}) else ""
                if text or kind:
                    body = (text if isinstance(text, str) else "".join(text)).strip()
                    print(f"  [{i}] {kind or body[:600]}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        print(f"  FAILED: glued more than once (the book build fails on this): {', '.join(twice)}")
    return result.ok and not twice


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="+", type=Path)
    parser.add_argument("--show", action="store_true", help="print every cell's text output")
    parser.add_argument("--timeout", type=int, default=300, help="per-cell timeout in seconds")
    parser.add_argument("--jobs", type=int, default=1, help="chapters at once (default 1)")
    parser.add_argument("--profile", choices=("cpu", "gpu"), default=None,
                        help="the heavy chapters' scale (default: $DLBOOK_PROFILE, else cpu)")
    args = parser.parse_args()
    from dlbook.scale import profile as read_profile

    out_dir = ROOT / "_build" / "chapter-runs"
    missing = [p for p in args.chapters if not p.is_file()]
    if missing:
        print(f"no such chapter: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    results = execute.execute_many([p.resolve() for p in args.chapters], jobs=args.jobs, timeout=args.timeout,
                                   code_root=ROOT / "code", out_dir=out_dir / "work",
                                   profile=args.profile or read_profile())
    ok = True
    for page, result in zip(args.chapters, results):
        if result.notebook:
            shutil.copy(result.notebook, out_dir / (page.stem + ".ipynb"))
        ok = report(result, args.show) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
