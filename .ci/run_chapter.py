#!/usr/bin/env python
"""Execute one or more chapters quickly, without building the book, and report how they ran.

    .venv/bin/python .ci/run_chapter.py book/part1-foundations/03-gradient-descent.md [--show]

For each chapter: total execution seconds, the slowest cells, every glued value, and (with
``--show``) each cell's text output. The executed notebook is saved under
``_build/chapter-runs/`` so that figures can be inspected. Exit status 1 if a cell fails, naming
the chapter and cell. Cells run in a scratch folder, as in the real build.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, show: bool, timeout: int) -> bool:
    nb = jupytext.read(path)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    with tempfile.TemporaryDirectory(prefix="dlbook-chapter-") as scratch:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": scratch}},
                                record_timing=True)
        start = time.perf_counter()
        ok = True
        try:
            client.execute()
        except CellExecutionError as err:
            ok = False
            failed = next((i for i, c in enumerate(code_cells, 1)
                           if any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
            print(f"FAILED: {path}, code cell {failed} of {len(code_cells)}: {str(err).strip().splitlines()[-1]}")
        seconds = time.perf_counter() - start
    out_dir = ROOT / "_build" / "chapter-runs"
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / (path.stem + ".ipynb"))

    def cell_seconds(cell) -> float:
        t = cell.get("metadata", {}).get("execution", {})
        try:
            from datetime import datetime
            a = datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))
            b = datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
            return (b - a).total_seconds()
        except (KeyError, ValueError):
            return 0.0

    print(f"{path}: {'ok' if ok else 'FAILED'} in {seconds:.1f} s ({len(code_cells)} code cells)")
    slow = sorted(((cell_seconds(c), i) for i, c in enumerate(code_cells, 1)), reverse=True)[:5]
    print("  slowest cells: " + ", ".join(f"#{i} {s:.1f}s" for s, i in slow))
    for i, cell in enumerate(code_cells, 1):
        for out in cell.get("outputs", []):
            glue = out.get("metadata", {}).get("scrapbook", {})
            if glue:
                data = out.get("data", {})
                text = data.get("application/papermill.record/text/plain") or data.get("text/plain", "")
                print(f"  glue {glue.get('name')!r} = {text[:80]}")
            elif show:
                text = out.get("text") or out.get("data", {}).get("text/plain", "")
                kind = "figure" if "image/png" in out.get("data", {}) else ""
                if text or kind:
                    body = (text if isinstance(text, str) else "".join(text)).strip()
                    print(f"  [{i}] {kind or body[:600]}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="+", type=Path)
    parser.add_argument("--show", action="store_true", help="print every cell's text output")
    parser.add_argument("--timeout", type=int, default=300, help="per-cell timeout in seconds")
    args = parser.parse_args()
    results = [run(p, args.show, args.timeout) for p in args.chapters]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
