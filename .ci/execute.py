#!/usr/bin/env python
"""Execute chapters: concurrently, with fixed threads, recording what each one loaded.

This is the engine under ``make book``, ``make determinism`` and ``.ci/run_chapter.py``.

* **One kernel per chapter, ``--jobs`` at a time.** Each chapter runs in its own worker process and
  Jupyter kernel. Every kernel gets the same fixed thread count (``KERNEL_THREADS``, 1), so the
  cores are not oversubscribed when two chapters run side by side, and a chapter prints and glues
  the same numbers whether the build runs serially, in parallel, or in CI. (PyTorch's results, e.g.
  BatchNorm's, differ in the last digits between 1 and 2 threads.)
* **What a chapter loaded.** After a chapter's last cell, a probe (not part of the chapter) lists the
  modules of the book's own code (``code/``, the ``dlbook`` package) that the kernel imported.
  :class:`BookCache` hashes those files, so that a change to ``code/`` re-executes only the chapters
  that really use what changed. ``import dlbook`` is lazy for this reason.
* **Failures are named.** A failing cell, a cell past the per-cell timeout, or a kernel that dies is
  reported with the chapter, the code cell's number and its line in the ``.md`` file.

The results live in Jupyter Book's own execution cache (jupyter-cache, keyed by each notebook's code
cells), which myst-nb reads when Sphinx renders the pages, plus a manifest beside it,
``dlbook-deps.json``: for every cached notebook, the code files it loaded and their hashes, the
kernel's threads and the scale profile it ran with.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import copy
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Intra-op threads of every chapter's kernel (BLAS, OpenMP, PyTorch). Part of the cache key.
KERNEL_THREADS = 1
#: Bumped when the executor changes in a way that changes outputs: every chapter re-executes.
EXECUTOR_VERSION = "2"
#: Files whose change re-executes every chapter (beside the Python version and the settings above).
GLOBAL_INPUTS = ("requirements.txt", "code/pyproject.toml")
PROBE_MARK = "__dlbook_probe__"


# ------------------------------------------------------------------------------------------------
# Reading chapters
# ------------------------------------------------------------------------------------------------

def code_cell_lines(text: str) -> list[tuple[int, str]]:
    """(line number of the opening fence, body) of every ``{code-cell}`` of a MyST notebook's text,
    in order. The body is every line up to the closing fence, cell options included; its first
    line is line number + 1."""
    cells, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(`{3,}|~{3,})\s*\{code-cell\}", lines[i])
        if m:
            fence, start, body = m.group(1), i + 1, []
            i += 1
            while i < len(lines) and not re.match(re.escape(fence) + r"\s*$", lines[i]):
                body.append(lines[i])
                i += 1
            cells.append((start, "\n".join(body)))
        i += 1
    return cells


def kernel_env(profile: str = "cpu", threads: int = KERNEL_THREADS, base: dict | None = None) -> dict:
    """The environment every chapter's kernel runs in."""
    env = dict(os.environ if base is None else base)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                 "VECLIB_MAXIMUM_THREADS"):
        env[name] = str(threads)
    env["DLBOOK_PROFILE"] = profile
    env["PYTHONHASHSEED"] = "0"            # set and dict-of-str orders repeat between runs
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    # Hugging Face libraries never reach the network during a build: a cell that asks the Hub for
    # a model fails at once with an error instead of hanging, and their caches stay in the build
    # folder instead of the contributor's home.
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false",
                "HF_HOME": str(ROOT / "_build" / "hf-home")})
    # A non-inline MPLBACKEND (e.g. Agg, common on CI) would stop the kernels from capturing figures.
    if not env.get("MPLBACKEND", "").startswith("module://matplotlib_inline"):
        env.pop("MPLBACKEND", None)
    return env


# ------------------------------------------------------------------------------------------------
# One chapter, in a worker process
# ------------------------------------------------------------------------------------------------

@dataclass
class ChapterResult:
    """How one chapter's execution went."""

    chapter: str                       # path as given (relative to the repository where possible)
    ok: bool
    seconds: float
    notebook: str | None = None        # the executed notebook (.ipynb), probe removed
    cells: int = 0                     # code cells
    failed_cell: int | None = None     # 1-based code-cell number
    failed_line: int | None = None     # line of that cell's fence in the .md
    error: str | None = None           # "ZeroDivisionError: division by zero"
    cell_begins: str | None = None     # the failing cell's first line
    modules: dict = field(default_factory=dict)   # module name -> file, for files under code_root
    threads: int | None = None         # torch.get_num_threads() in the kernel at the end
    profile: str | None = None
    cell_seconds: list = field(default_factory=list)

    def describe_failure(self) -> str:
        where = (f"code cell {self.failed_cell} of {self.cells} (line {self.failed_line})"
                 if self.failed_cell else "before its first cell ran")
        text = f"  chapter {self.chapter}, {where}: {self.error}"
        if self.cell_begins:
            text += f"\n    cell begins: {self.cell_begins}"
        return text


def _probe_source(code_root: Path) -> str:
    return (
        "import sys as _s, json as _j, os as _o\n"
        f"_root = _o.path.realpath({str(code_root)!r}) + _o.sep\n"
        "_mods = {n: _o.path.realpath(m.__file__) for n, m in list(_s.modules.items())\n"
        "         if getattr(m, '__file__', None) and _o.path.realpath(m.__file__).startswith(_root)}\n"
        "_t = _s.modules['torch'].get_num_threads() if 'torch' in _s.modules else None\n"
        f"print({PROBE_MARK!r} + _j.dumps({{'modules': _mods, 'threads': _t}}))\n"
    )


def _cell_seconds(cell) -> float:
    from datetime import datetime

    t = cell.get("metadata", {}).get("execution", {})
    try:
        a = datetime.fromisoformat(t["iopub.execute_input"].replace("Z", "+00:00"))
        b = datetime.fromisoformat(t["shell.execute_reply"].replace("Z", "+00:00"))
        return round((b - a).total_seconds(), 2)
    except (KeyError, ValueError):
        return 0.0


def run_one(md: Path, out: Path, *, timeout: int, code_root: Path, shown: str) -> ChapterResult:
    """Execute ``md`` in a fresh kernel (in a scratch folder); write the notebook to ``out``."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = jupytext.read(md)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    original_meta = [copy.deepcopy(c.metadata) for c in nb.cells]
    md_lines = code_cell_lines(md.read_text(encoding="utf-8"))
    probe = nbformat.v4.new_code_cell(_probe_source(code_root))
    nb.cells.append(probe)
    current = {"index": None}

    def on_start(cell, cell_index, **_):
        current["index"] = cell_index

    result = ChapterResult(chapter=shown, ok=True, seconds=0.0, cells=len(code_cells),
                           profile=os.environ.get("DLBOOK_PROFILE"))
    with tempfile.TemporaryDirectory(prefix="dlbook-exec-") as scratch:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                                record_timing=True, resources={"metadata": {"path": scratch}},
                                on_cell_start=on_start)
        start = time.perf_counter()
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError, TimeoutError) as err:
            result.ok = False
            index = current["index"]
            cell = nb.cells[index] if index is not None else None
            if cell is not None and cell is not probe:
                number = sum(1 for c in nb.cells[:index + 1] if c.cell_type == "code")
                result.failed_cell = number
                if len(md_lines) == len(code_cells):
                    result.failed_line = md_lines[number - 1][0]
                first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
                result.cell_begins = first[:100]
            if isinstance(err, CellTimeoutError):
                result.error = f"the cell ran past the per-cell timeout of {timeout} s (execute.timeout in _config.yml)"
            elif isinstance(err, DeadKernelError):
                result.error = "the kernel died while running this cell (out of memory, a crash in compiled code, or exit())"
            elif isinstance(err, CellExecutionError):
                result.error = f"{err.ename}: {err.evalue}".strip().rstrip(":")
            else:
                result.error = f"{type(err).__name__}: {err}"
        result.seconds = round(time.perf_counter() - start, 2)
    if result.ok:
        # myst-nb formats a glued number from its text; NumPy 2 scalars print as "np.float64(...)",
        # which it cannot parse, so the page would fail to render. Name the cell now.
        for number, cell in enumerate((c for c in nb.cells if c.cell_type == "code" and c is not probe), 1):
            for output in cell.get("outputs", []):
                name = output.get("metadata", {}).get("scrapbook", {}).get("name")
                data = output.get("data", {})
                text = data.get("application/papermill.record/text/plain", data.get("text/plain", ""))
                if name and re.match(r"^np\.\w+\(", text if isinstance(text, str) else "".join(text)):
                    result.ok, result.failed_cell = False, number
                    if len(md_lines) == len(code_cells):
                        result.failed_line = md_lines[number - 1][0]
                    result.error = (f"glue({name!r}, ...) got a NumPy scalar ({text[:40]}), which myst-nb "
                                    "cannot format in the prose; glue float(...) or int(...) instead")
    if result.ok:
        text = "".join(o.get("text", "") for o in probe.get("outputs", []) if o.get("output_type") == "stream")
        payload = text[text.index(PROBE_MARK) + len(PROBE_MARK):] if PROBE_MARK in text else None
        if payload is None:
            result.ok, result.error = False, "the build's probe after the last cell printed nothing (was stdout replaced?)"
        else:
            info = json.loads(payload.strip().splitlines()[0])
            result.modules, result.threads = info["modules"], info["threads"]
    nb.cells.remove(probe)
    result.cell_seconds = [_cell_seconds(c) for c in nb.cells if c.cell_type == "code"]
    for cell, meta in zip(nb.cells, original_meta):
        cell.metadata = meta  # the cache hashes cell metadata: keep the source's exactly
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    result.notebook = str(out)
    return result


# ------------------------------------------------------------------------------------------------
# Many chapters, `jobs` at a time
# ------------------------------------------------------------------------------------------------

def shown_name(md: Path, root: Path) -> str:
    try:
        return md.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(md)


def execute_many(pages: list[Path], *, jobs: int, timeout: int, code_root: Path, out_dir: Path,
                 profile: str = "cpu", root: Path = ROOT, on_done=None) -> list[ChapterResult]:
    """Execute ``pages`` (longest-known first is the caller's business), ``jobs`` at a time.

    Each chapter runs in a worker process (``python .ci/execute.py --worker``) with
    :func:`kernel_env`. ``on_done(page, result, n_done, n_total)`` is called in the calling thread
    as each one finishes.
    """
    env = kernel_env(profile)
    out_dir.mkdir(parents=True, exist_ok=True)

    def work(i: int, page: Path) -> ChapterResult:
        out = out_dir / f"{i:03d}-{page.stem}.ipynb"
        report = out.with_suffix(".json")
        report.unlink(missing_ok=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(page), str(out),
               "--timeout", str(timeout), "--code-root", str(code_root), "--shown", shown_name(page, root)]
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode == 0 and report.is_file():
            return ChapterResult(**json.loads(report.read_text()))
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return ChapterResult(chapter=shown_name(page, root), ok=False, seconds=round(time.perf_counter() - start, 2),
                             error="the executor itself failed: " + " | ".join(tail))

    results: dict[int, ChapterResult] = {}
    # Results are handled in this thread, as they come (the cache's database is not shared across threads).
    with futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending = {pool.submit(work, i, page): i for i, page in enumerate(pages)}
        for n, fut in enumerate(futures.as_completed(pending), 1):
            i = pending[fut]
            results[i] = fut.result()
            if on_done:
                on_done(pages[i], results[i], n, len(pages))
    return [results[i] for i in range(len(pages))]


def progress_line(result: ChapterResult, n: int, total: int) -> str:
    status = "ok" if result.ok else "FAILED"
    return f"  [{n:>{len(str(total))}}/{total}] {result.chapter:<60} {result.seconds:7.1f} s  {status}"


# ------------------------------------------------------------------------------------------------
# The cache: jupyter-cache records + which code files each one loaded
# ------------------------------------------------------------------------------------------------

def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def global_hash(inputs_root: Path, book: Path | None = None) -> str:
    """What re-executes every chapter: requirements, pyproject, the Python version, this executor
    (its source: kernel settings, threads) and the ``execute`` section of the book's ``_config.yml``."""
    digest = hashlib.sha256()
    for name in GLOBAL_INPUTS:
        f = inputs_root / name
        digest.update(name.encode() + b"\0" + (f.read_bytes() if f.is_file() else b"<missing>") + b"\0")
    digest.update(Path(__file__).read_bytes())
    if book is not None and (book / "_config.yml").is_file():
        import yaml

        section = (yaml.safe_load((book / "_config.yml").read_text()) or {}).get("execute")
        digest.update(json.dumps(section, sort_keys=True).encode())
    digest.update(f"python {'.'.join(platform.python_version_tuple()[:2])} executor {EXECUTOR_VERSION} "
                  f"threads {KERNEL_THREADS}".encode())
    return digest.hexdigest()


class BookCache:
    """Jupyter Book's execution cache plus ``dlbook-deps.json`` (what each record loaded)."""

    MANIFEST = "dlbook-deps.json"
    STAMP = "dlbook-global.sha256"

    def __init__(self, cache_dir: Path, inputs_root: Path, book: Path | None = None) -> None:
        from jupyter_cache import get_cache

        self.book = book
        self.dir = Path(cache_dir)
        self.inputs_root = Path(inputs_root).resolve()
        self.code_root = self.inputs_root / "code"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cache = get_cache(str(self.dir))
        try:
            self.manifest = json.loads((self.dir / self.MANIFEST).read_text())
        except (OSError, ValueError):
            self.manifest = {}
        self._file_hashes: dict[str, str | None] = {}

    # -- global invalidation -------------------------------------------------------------------
    def global_stale(self) -> bool:
        stamp = self.dir / self.STAMP
        return (stamp.read_text().strip() if stamp.exists() else None) != global_hash(self.inputs_root, self.book)

    def write_global_stamp(self) -> None:
        (self.dir / self.STAMP).write_text(global_hash(self.inputs_root, self.book) + "\n")

    # -- per chapter ---------------------------------------------------------------------------
    def hashkey(self, page: Path) -> str:
        import jupytext

        return self.cache.create_hashed_notebook(jupytext.read(page))[1]

    def record(self, page: Path):
        import jupytext

        try:
            return self.cache.match_cache_notebook(jupytext.read(page))
        except KeyError:
            return None

    def current_hash(self, rel: str) -> str | None:
        if rel not in self._file_hashes:
            f = self.code_root / rel
            self._file_hashes[rel] = file_sha(f) if f.is_file() else None
        return self._file_hashes[rel]

    def why_stale(self, page: Path, profile: str | None = None, accept_profiles: tuple[str, ...] = ()) -> str | None:
        """None if ``page`` has a cached execution that is still valid, else the reason it is not."""
        record = self.record(page)
        if record is None:
            return "new or edited"
        entry = self.manifest.get(record.hashkey)
        if entry is None:
            return "no record of what it loaded"
        changed = [rel for rel, sha in sorted(entry["files"].items()) if self.current_hash(rel) != sha]
        if changed:
            return "code changed: " + ", ".join(changed[:3]) + (" …" if len(changed) > 3 else "")
        if profile is not None and entry.get("profile") not in (profile, *accept_profiles):
            return f"executed with the {entry.get('profile')} profile, this build runs {profile}"
        return None

    def entry(self, page: Path) -> dict | None:
        record = self.record(page)
        return None if record is None else self.manifest.get(record.hashkey)

    def store(self, page: Path, result: ChapterResult) -> None:
        """Put a successful execution into the cache and record what it loaded."""
        import nbformat
        from jupyter_cache.base import CacheBundleIn

        nb = nbformat.read(result.notebook, as_version=4)
        expected = self.hashkey(page)
        record = self.cache.cache_notebook_bundle(
            CacheBundleIn(nb, str(Path(page).resolve()), data={"execution_seconds": result.seconds}),
            check_validity=False, overwrite=True)
        if record.hashkey != expected:
            raise RuntimeError(f"{result.chapter}: the executed notebook hashes as {record.hashkey}, "
                               f"the chapter as {expected}; the cache would never match it")
        files = {}
        for name, path in sorted(result.modules.items()):
            rel = Path(path).resolve().relative_to(self.code_root.resolve()).as_posix()
            files[rel] = self.current_hash(rel)
        self.manifest[record.hashkey] = {
            "chapter": result.chapter, "modules": sorted(result.modules), "files": files,
            "threads": result.threads, "profile": result.profile, "seconds": result.seconds,
            "cell_seconds": result.cell_seconds, "executed": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        self.save()

    def save(self) -> None:
        live = {r.hashkey for r in self.cache.list_cache_records()}
        self.manifest = {k: v for k, v in self.manifest.items() if k in live}
        tmp = self.dir / (self.MANIFEST + ".tmp")
        tmp.write_text(json.dumps(self.manifest, indent=1, sort_keys=True))
        os.replace(tmp, self.dir / self.MANIFEST)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="execute one chapter (the build's worker process)")
    parser.add_argument("--worker", nargs=2, metavar=("CHAPTER_MD", "OUT_IPYNB"), required=True)
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--code-root", type=Path, default=ROOT / "code")
    parser.add_argument("--shown", default=None)
    args = parser.parse_args(argv)
    md, out = Path(args.worker[0]), Path(args.worker[1])
    result = run_one(md, out, timeout=args.timeout, code_root=args.code_root,
                     shown=args.shown or shown_name(md, ROOT))
    out.with_suffix(".json").write_text(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
