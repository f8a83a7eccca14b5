"""The built site in a real browser: Debian's Chromium, driven by Playwright, over http://127.0.0.1.

Needs a built book (``make book``) and Chromium. Without them the tests are skipped, unless
``DLBOOK_REQUIRE_SITE=1`` (set by ``.ci/run``, which builds the book and installs Chromium first),
in which case they fail. Every request that leaves localhost is blocked and counted as a missing
asset: the site must work on its own, offline and on GitHub Pages alike.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from conftest import load_ci_module, load_launch_module

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
MATH_PAGE = "book/part1-foundations/03-gradient-descent"
SEARCH_TERM, SEARCH_HIT = "gradient", "book/part1-foundations/03-gradient-descent.html"
REQUIRED = bool(os.environ.get("DLBOOK_REQUIRE_SITE"))


def unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (DLBOOK_REQUIRE_SITE is set)")
    pytest.skip(reason)


nbs = load_launch_module()


def toc_pages() -> list[str]:
    return [p.relative_to(ROOT).with_suffix("").as_posix() for p in load_ci_module("timings").toc_pages(ROOT)]


def chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").is_file():
        unavailable("no built site in _build/html (run `make book` first)")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    if executable is None:
        unavailable("Chromium is not installed (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


class PageVisit:
    """Open a page in a fresh context (empty storage: a first-time reader) and record problems."""

    def __init__(self, browser, server: str):
        self.server = server
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.problems: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.server) or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            self.problems.append(f"external asset (blocked): {url}")
            route.abort()

    def open(self, path: str):
        self.page.goto(f"{self.server}/{path}", wait_until="load")
        self.page.wait_for_timeout(300)  # let deferred theme scripts run and report
        return self.page

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, server):
    page_visit = PageVisit(browser, server)
    yield page_visit
    page_visit.close()


def site_pages() -> list[str]:
    return [f"{page}.html" for page in toc_pages()] + ["genindex.html", "search.html"]


@pytest.mark.parametrize("path", site_pages())
def test_page_loads_cleanly(visit, path):
    page = visit.open(path)
    assert page.locator("main h1").count() >= 1, f"{path} has no title"
    broken = page.evaluate("""() => [...document.images]
        .filter(img => img.complete && img.naturalWidth === 0).map(img => img.src)""")
    assert broken == [], f"{path}: images that did not load: {broken}"
    assert visit.problems == [], f"{path}:\n" + "\n".join(visit.problems)


def test_maths_renders_and_a_screenshot_is_saved(visit):
    page = visit.open(f"{MATH_PAGE}.html")
    page.wait_for_selector("mjx-container", timeout=20_000)
    page.wait_for_function("""() => document.querySelectorAll('.math').length > 0 &&
        [...document.querySelectorAll('.math')].every(el => el.querySelector('mjx-container'))""",
                           timeout=20_000)
    assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
    assert page.locator("mjx-container").count() >= 10
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{Path(MATH_PAGE).name}-top.png"))
    # and one further down, with a displayed equation and a figure in view, for review
    page.locator("mjx-container[display='true']").first.scroll_into_view_if_needed()
    page.mouse.wheel(0, -150)
    page.wait_for_timeout(200)
    target = SCREENSHOTS / f"{Path(MATH_PAGE).name}-maths.png"
    page.screenshot(path=str(target))
    assert target.stat().st_size > 20_000
    assert visit.problems == [], "\n".join(visit.problems)


def test_search_finds_a_known_term(visit):
    page = visit.open(f"search.html?q={SEARCH_TERM}")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    hrefs = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    assert any(urlparse(h).path.endswith(SEARCH_HIT) for h in hrefs), hrefs
    assert visit.problems == [], "\n".join(visit.problems)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The notebooks branch as the publishing workflow would write it."""
    out = tmp_path_factory.mktemp("branch")
    nbs.assemble_branch_tree(out, executed=ROOT / "_build" / "jupyter_execute")
    return out


def test_launch_and_download_links_point_at_notebooks_that_exist(visit, server, published):
    config = nbs.LaunchConfig.from_config(ROOT)
    pages = [p.relative_to(ROOT).with_suffix("").as_posix() for p in nbs.chapter_sources(ROOT)]
    for pagename in pages:
        page = visit.open(f"{pagename}.html")
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        notebook = nbs.notebook_path(pagename)
        colab = [h for h in hrefs if h.startswith(config.colab_url)]
        binder = [h for h in hrefs if h.startswith(config.binderhub_url)]
        assert colab == [config.colab(notebook)], f"{pagename}: Colab links {colab}"
        assert binder == [config.binder(notebook)], f"{pagename}: Binder links {binder}"
        assert (published / notebook).is_file(), f"{pagename}: {notebook} is not on the notebooks branch"
        assert (published / "binder" / "requirements.txt").is_file()
        downloads = [h for h in hrefs if h.endswith(".ipynb") and h.startswith(server)]
        assert len(downloads) == 1, f"{pagename}: download links {downloads}"
        response = visit.context.request.get(downloads[0])
        assert response.status == 200
        downloaded = nbformat.reads(response.text(), as_version=4)
        assert nbs.SETUP_TAG in downloaded.cells[1].metadata.get("tags", [])
        assert downloaded.cells == nbformat.read(published / notebook, as_version=4).cells
        assert "{glue:text}" not in response.text()
    assert visit.problems == [], "\n".join(visit.problems)
