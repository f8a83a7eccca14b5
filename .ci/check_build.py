#!/usr/bin/env python
"""Post-build checks on the built site (run by .ci/run after `make book`).

- every page of _toc.yml was written as HTML;
- no page shows an error traceback from a cell, and every figure a chapter draws is on its page;
- the page "How every chapter ran" lists every executed chapter;
- every chapter has a cached execution within its time budget (via .ci/timings.py --check).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute import code_cell_lines  # noqa: E402
from timings import ROOT, is_notebook, toc_pages  # noqa: E402


def main() -> int:
    html = ROOT / "_build" / "html"
    problems = []
    pages = toc_pages(ROOT)
    for page in pages:
        out = html / page.relative_to(ROOT).with_suffix(".html")
        if not out.is_file():
            problems.append(f"{page.relative_to(ROOT)}: no HTML page at {out.relative_to(ROOT)}")
            continue
        text = out.read_text(encoding="utf-8")
        if "highlight-ipythontb" in text or "output traceback" in text:
            problems.append(f"{out.relative_to(ROOT)}: shows a cell's error traceback")
        source = page.read_text(encoding="utf-8")
        drawn = sum(body.count("plt.show()") for _, body in code_cell_lines(source))
        if drawn and text.count("<img") < drawn:
            problems.append(f"{out.relative_to(ROOT)}: the chapter calls plt.show() {drawn} times but the page has "
                            f"{text.count('<img')} images (was MPLBACKEND set to a non-inline backend?)")
    exec_page = html / "book" / "back" / "execution.html"
    if exec_page.is_file():
        table = exec_page.read_text(encoding="utf-8")
        for page in pages:
            if is_notebook(page) and page.relative_to(ROOT).with_suffix("").as_posix() not in table:
                problems.append(f"execution table does not list {page.relative_to(ROOT)}")
    else:
        problems.append("the page 'How every chapter ran' was not built")
    timing = subprocess.run([sys.executable, str(ROOT / ".ci" / "timings.py"), "--check"])
    if timing.returncode:
        problems.append("chapter timings: see above")
    if problems:
        print("POST-BUILD CHECKS FAILED:\n" + "\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 1
    print(f"post-build checks: {len(pages)} pages built, no tracebacks, all chapters cached within budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
