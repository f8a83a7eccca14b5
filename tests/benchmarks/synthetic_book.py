#!/usr/bin/env python
"""Benchmark the build at full size before the chapters exist: a synthetic book of 50 notebooks.

The book will have 50 chapters, 9 of them heavy (★, up to 240 s each on two CPU cores, 90 s for the
others). This builds a stand-in book of that shape through the real build (``.ci/build_book.py``,
the same code as ``make book``) and reports where the time goes, so the question "does CI still
finish inside an hour?" is answered by measurement rather than by hope.

Each synthetic chapter imports what a real one does (torch, NumPy, Matplotlib, myst-nb's ``glue``,
``dlbook``), draws a figure, glues a number, and does a fixed amount of compute: matrix products
whose count is calibrated on one thread (the kernels' thread count) to last the chapter's nominal
seconds divided by ``--scale``. Fixed work, not a fixed duration, so oversubscribed cores would show.

The nominal times (full scale, seconds) are a deliberately pessimistic spread: the light chapters
cycle through 15–90 s (mean about 48 s, where Parts I–II today average 9 s) and the heavy ones
through 160–240 s. Compute scales with ``--scale``; kernel start-up, imports and Sphinx do not, so
the report separates them and extrapolates the full-size build as

    execution wall  ~ measured execution wall + (scale - 1) * nominal compute / scale / jobs

Usage: .venv/bin/python tests/benchmarks/synthetic_book.py [--scale 20] [--jobs 2 --jobs 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from conftest import MYST_HEADER as HEADER  # noqa: E402
LIGHT_SECONDS = [15, 30, 45, 60, 75, 90, 20, 40]   # cycled over the 41 light chapters
HEAVY_SECONDS = [240, 200, 180, 240, 160, 220, 240, 200, 240]
CALIBRATE = """
import time, torch
torch.manual_seed(0)
a = torch.randn(256, 256)
for _ in range(20):
    a @ a
n, t0 = 400, time.perf_counter()
for _ in range(n):
    a @ a
print(n / (time.perf_counter() - t0))
"""


def calibrate() -> float:
    """Matrix products (256 x 256, float32) per second on one thread, as the kernels run."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    rates = [float(subprocess.run([sys.executable, "-c", CALIBRATE], env=env, capture_output=True, text=True,
                                  check=True).stdout) for _ in range(3)]
    return sorted(rates)[1]


def chapter(number: int, products: int) -> str:
    per_cell = max(1, products // 3)
    work = (f"```{{code-cell}} ipython3\nfor _ in range({per_cell}):\n    b = a @ a\n"
            f"checksum += float(b[0, 0])\n```\n\nSome prose between the cells, as a chapter has.\n\n")
    # The chapter number is in the code, so no two chapters share a cache entry (the cache is keyed
    # by code cells, and chapters of the same nominal time would otherwise be identical).
    return (HEADER + f"# Chapter {number}\n\nA synthetic chapter for the build benchmark.\n\n"
            f"```{{code-cell}} ipython3\nCHAPTER = {number}\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
            "import torch\n"
            "from myst_nb import glue\n\nimport dlbook\nimport dlbook.plots\n\n"
            "dlbook.seed_everything(0)\ndlbook.plots.use_style()\na = torch.randn(256, 256) / 16\n"
            "checksum = 0.0\n```\n\n" + work * 3 +
            "```{code-cell} ipython3\nfig, ax = plt.subplots()\nax.plot(np.arange(10), np.arange(10) ** 2)\n"
            "ax.set(title='A figure', xlabel='x', ylabel='y')\nplt.show()\nglue('checksum', round(checksum, 3))\n"
            "```\n\nThe checksum is {glue:text}`checksum`.\n")


def make_book(folder: Path, n_light: int, n_heavy: int, scale: float, rate: float) -> dict[str, float]:
    """Write the synthetic book; return each chapter's nominal compute seconds at this scale."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["bibtex_bibfiles"] = ["refs.bib"]
    config["exclude_patterns"] = ["_build"]
    config["sphinx"]["local_extensions"] = {"dlbook_notebooks": str(ROOT / "book" / "_ext")}
    config["sphinx"]["extra_extensions"] = [e for e in config["sphinx"]["extra_extensions"] if "autodoc" not in e]
    folder.mkdir(parents=True)
    (folder / "_config.yml").write_text(yaml.safe_dump(config))
    (folder / "refs.bib").write_text("")
    (folder / "index.md").write_text("# Synthetic book\n\nFifty chapters.\n")
    heavy_slugs = ["cifar10-cnn", "learning-rates-and-optimizers", "transfer-learning", "object-detection",
                   "segmentation", "gans", "text-classification-embeddings", "bert", "gpt-from-scratch"]
    nominal, entries, h, light = {}, [], 0, 0
    heavy_at = {20, 21, 22, 27, 28, 30, 42, 44, 49}
    for number in range(1, n_light + n_heavy + 1):
        if number in heavy_at and h < n_heavy:
            name, seconds = f"{number:02d}-{heavy_slugs[h]}", HEAVY_SECONDS[h % len(HEAVY_SECONDS)]
            h += 1
        else:
            name, seconds = f"{number:02d}-light-{number}", LIGHT_SECONDS[light % len(LIGHT_SECONDS)]
            light += 1
        products = int(seconds / scale * rate)
        (folder / f"{name}.md").write_text(chapter(number, products))
        nominal[f"{name}.md"] = seconds / scale
        entries.append(f"      - file: {name}")
    (folder / "_toc.yml").write_text("format: jb-book\nroot: index\nparts:\n  - caption: Chapters\n    numbered: true\n"
                                     "    chapters:\n" + "\n".join(entries) + "\n")
    return nominal


def run(book: Path, jobs: int) -> dict:
    shutil.rmtree(book / "_build", ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / ".ci" / "build_book.py"), str(book), "--jobs", str(jobs)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"the synthetic build failed with --jobs {jobs}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    timings = json.loads((book / "_build" / "build-timings.json").read_text())
    manifest = json.loads((book / "_build" / ".jupyter_cache" / "dlbook-deps.json").read_text())
    per_chapter = {e["chapter"]: e["seconds"] for e in manifest.values()}
    return {"jobs": jobs, "wall": wall, "execute_wall": timings["execute_wall_seconds"],
            "sphinx": timings["sphinx_seconds"], "per_chapter": per_chapter}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=20.0, help="divide every chapter's compute by this")
    parser.add_argument("--light", type=int, default=41)
    parser.add_argument("--heavy", type=int, default=9)
    parser.add_argument("--jobs", type=int, action="append", help="kernels at once (repeat to compare)")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    jobs_list = args.jobs or [2, 1]
    rate = calibrate()
    print(f"calibration: {rate:.0f} products of 256x256 matrices per second on one thread")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="dlbook-synthetic-"))
    if folder.exists():
        shutil.rmtree(folder)
    nominal = make_book(folder, args.light, args.heavy, args.scale, rate)
    compute = sum(nominal.values())
    print(f"synthetic book: {args.light} light + {args.heavy} heavy chapters in {folder}; nominal compute "
          f"{compute * args.scale / 60:.1f} min at full size, {compute:.1f} s at 1/{args.scale:g} scale")
    results = []
    for jobs in jobs_list:
        r = run(folder, jobs)
        results.append(r)
        measured = sum(r["per_chapter"].values())
        overhead = measured - compute
        full_exec = r["execute_wall"] + (args.scale - 1) * compute / jobs
        print(f"\n--jobs {jobs}: make book {r['wall']:.1f} s wall = executing {r['execute_wall']:.1f} s "
              f"+ rendering {r['sphinx']:.1f} s + the rest {r['wall'] - r['execute_wall'] - r['sphinx']:.1f} s")
        print(f"  chapters' own times add up to {measured:.1f} s: {compute:.1f} s of scaled compute + "
              f"{overhead:.1f} s of per-chapter overhead ({overhead / len(nominal):.1f} s a chapter: kernel, imports, "
              "contention)")
        print(f"  extrapolated to full size: executing {full_exec / 60:.1f} min, make book "
              f"{(full_exec + r['sphinx'] + r['wall'] - r['execute_wall'] - r['sphinx']) / 60:.1f} min")
        r["extrapolated_make_book_minutes"] = round((full_exec + r["wall"] - r["execute_wall"]) / 60, 1)
        rows = sorted(r["per_chapter"].items())
        print("  per chapter (measured s / scaled compute s): " + ", ".join(
            f"{Path(k).stem.split('-')[0]} {v:.1f}/{nominal.get(k, 0):.1f}" for k, v in rows))
    if len(results) > 1:
        best = min(results, key=lambda r: r["wall"])
        print(f"\nfastest: --jobs {best['jobs']} ("
              + ", ".join(f"jobs {r['jobs']}: {r['wall']:.1f} s" for r in results) + ")")
    if args.json:
        args.json.write_text(json.dumps({"scale": args.scale, "rate": rate, "nominal": nominal,
                                         "results": results}, indent=2))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
