"""Shared fixtures: isolated data roots, a local HTTP server for download tests, a fake data set."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
from pathlib import Path

import pytest

from dlbook.data import registry

ROOT = Path(__file__).resolve().parents[1]

#: The jupytext header of a MyST notebook page, for the small books the tests and benchmarks build.
MYST_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


@pytest.fixture
def isolated_data(tmp_path, monkeypatch):
    """Point DLBOOK_DATA and the user cache at fresh empty folders; return (data_root, cache_root)."""
    data_root, xdg = tmp_path / "bundle", tmp_path / "xdg"
    data_root.mkdir()
    xdg.mkdir()
    monkeypatch.setenv("DLBOOK_DATA", str(data_root))
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    monkeypatch.delenv("DLBOOK_OFFLINE", raising=False)
    return data_root, xdg / "dlbook"


class _Server:
    """A threaded HTTP server on 127.0.0.1 serving a dict {url path: bytes}, counting requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        files, requests = self.files, self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                requests.append(self.path)
                body = files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def http_server():
    server = _Server()
    yield server
    server.close()


PAYLOAD = b"dlbook test payload\n" * 500


@pytest.fixture
def fake_dataset(http_server):
    """Register a one-file data set 'toy' served by the local server (first URL 404s, second works)."""
    http_server.files["/mirror/toy/data.bin"] = PAYLOAD
    info = registry.DatasetInfo(
        name="toy",
        description="a test data set",
        license="CC0",
        files=(registry.RemoteFile(
            path="toy/data.bin",
            sha256=hashlib.sha256(PAYLOAD).hexdigest(),
            size=len(PAYLOAD),
            urls=(http_server.url("/gone/toy/data.bin"), http_server.url("/mirror/toy/data.bin")),
        ),),
    )
    registry.register(info, replace=True)
    yield info
    registry._REGISTRY.pop("toy", None)


def bundle_dir() -> Path | None:
    """The offline data bundle, if this machine has one (DLBOOK_DATA or ../shared/data)."""
    for candidate in (os.environ.get("DLBOOK_DATA"), str(ROOT.parent / "shared" / "data")):
        if candidate and (Path(candidate) / "MNIST" / "raw").is_dir():
            return Path(candidate)
    return None


def load_ci_module(name: str):
    """A script of .ci/ (build_book, execute, timings, ...) imported as a module, once.

    It is registered in ``sys.modules`` under its own name, as the scripts import one another
    (``import execute``) and dataclasses look their module up while being created.
    """
    import importlib.util
    import sys

    path = ROOT / ".ci" / f"{name}.py"
    loaded = sys.modules.get(name)
    if loaded is not None and Path(getattr(loaded, "__file__", "")) == path:
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_launch_module():
    """book/_ext/dlbook_notebooks.py (the notebook generator and Sphinx extension), imported once."""
    import importlib.util
    import sys

    if "dlbook_notebooks" in sys.modules:
        return sys.modules["dlbook_notebooks"]
    spec = importlib.util.spec_from_file_location("dlbook_notebooks", ROOT / "book" / "_ext" / "dlbook_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["dlbook_notebooks"] = module  # dataclasses look their module up while being created
    spec.loader.exec_module(module)
    return module


def fit_steps(model, x, y, *, lr: float, steps: int) -> list[float]:
    """Train ``model`` on one fixed batch with Adam and cross-entropy; return the loss of every step.

    The models' tests use it to check that a few steps of training lower the loss.
    """
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def skip_unless_offline(dataset: str, filename: str, label: str) -> None:
    """Skip the calling test or fixture when a registry file is not on this machine (bundle or cache)."""
    from dlbook.data import DataUnavailableError, fetch_file

    try:
        fetch_file(dataset, filename, download=False)
    except DataUnavailableError:
        pytest.skip(f"{label} is not available offline here (set DLBOOK_DATA to the data bundle)")


@pytest.fixture(scope="session")
def mnist_available():
    """Skip a test when MNIST is not on this machine (the offline bundle or the cache)."""
    skip_unless_offline("mnist", "t10k-labels-idx1-ubyte.gz", "MNIST")
