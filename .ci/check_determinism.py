#!/usr/bin/env python
"""Re-execute every chapter and compare its text outputs with the cached build (``make determinism``).

A seeded chapter must give the same numbers run after run on the same machine. For each chapter
in _toc.yml this executes the notebook again (in a scratch folder, like the build) and compares,
cell by cell, the text it printed, the values it displayed and the values it glued into the
prose, against the outputs stored in the execution cache by the last ``make book``. Figures
(PNG bytes) are not compared. Exit status 1 names every chapter and cell that differ.

Usage: python .ci/check_determinism.py [CHAPTER.md ...]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import jupytext
from jupyter_cache import get_cache
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timings import ROOT, cached_execution, is_notebook, toc_pages  # noqa: E402

TEXT_KEYS = ("application/papermill.record/text/plain", "text/plain", "text/markdown")


def cell_texts(nb) -> list[str]:
    """One string per code cell: its streams, displayed values and glued values, in order."""
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            for key in TEXT_KEYS:
                if key in out.get("data", {}):
                    value = out["data"][key]
                    parts.append(value if isinstance(value, str) else "".join(value))
                    break
        texts.append("".join(parts))
    return texts


def main() -> int:
    cache = get_cache(str(ROOT / "_build" / ".jupyter_cache"))
    pages = [Path(p).resolve() for p in sys.argv[1:]] or [p for p in toc_pages(ROOT) if is_notebook(p)]
    problems = []
    for page in pages:
        rel = page.relative_to(ROOT).as_posix()
        record = cached_execution(cache, page)
        if record is None:
            problems.append(f"{rel}: its current version is not in the execution cache; run `make book` first")
            continue
        cached = cell_texts(cache.get_cache_bundle(record.pk).nb)
        nb = jupytext.read(page)
        with tempfile.TemporaryDirectory(prefix="dlbook-determinism-") as scratch:
            NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": scratch}}).execute()
        fresh = cell_texts(nb)
        if len(fresh) != len(cached):
            problems.append(f"{rel}: {len(fresh)} code cells now, {len(cached)} in the cache (stale cache?)")
            continue
        differing = [i for i, (a, b) in enumerate(zip(cached, fresh), 1) if a != b]
        for i in differing:
            a, b = cached[i - 1], fresh[i - 1]
            at = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            problems.append(f"{rel}, code cell {i}: output differs between runs near "
                            f"{a[max(0, at - 30):at + 30]!r} vs {b[max(0, at - 30):at + 30]!r}")
        print(f"{rel}: {len(fresh)} code cells, {'identical' if not differing else f'{len(differing)} differ'}",
              flush=True)
    if problems:
        print("DETERMINISM CHECK FAILED:\n" + "\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 1
    print(f"determinism: {len(pages)} chapters re-executed with identical text outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
