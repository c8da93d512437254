"""Headless Chromium opens every page of the built book and checks it renders: a title, body text, every
figure loaded, every relative link resolving. Runs after `jupyter-book build` (CI sets FER_SITE_TEST=1)."""
import functools
import http.server
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

TOP = Path(__file__).resolve().parents[1]
SITE = TOP / "_build" / "html"
pytestmark = pytest.mark.skipif(os.environ.get("FER_SITE_TEST") != "1",
                                reason="set FER_SITE_TEST=1 after `jupyter-book build .` (CI does)")
SKIP_PAGES = {"genindex.html", "search.html"}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site without logging each request or the browser closing a connection early."""

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server():
    assert (SITE / "index.html").is_file(), f"{SITE} has no built book: run `jupyter-book build .` first"
    handler = functools.partial(QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")),
                              options=options)
    yield driver
    driver.quit()


def pages():
    if not SITE.is_dir():
        return []
    return sorted(str(p.relative_to(SITE)) for p in SITE.rglob("*.html")
                  if p.name not in SKIP_PAGES and "_static" not in p.parts and "_sources" not in p.parts)


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as err:
        return err.code


def test_the_book_has_its_pages():
    found = pages()
    assert "book/intro.html" in found and "notebooks/00_data.html" in found


@pytest.mark.parametrize("page", pages())
def test_page_renders_with_figures_and_working_links(page, server, browser):
    url = urljoin(server, page)
    browser.get(url)
    assert browser.title.strip(), f"{page}: empty title"
    article = browser.find_element("css selector", "main, article, div.bd-article")
    assert len(article.text.strip()) > 200, f"{page}: almost no text rendered"
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.currentSrc || i.src, i.complete && i.naturalWidth > 0])")
    broken = [src for src, ok in images if not ok]
    assert not broken, f"{page}: figures that did not load: {broken}"
    if page.startswith("notebooks/"):
        assert any("_images/" in src for src, _ in images), f"{page}: a chapter without a single figure"
    if page.startswith("notebooks/"):  # one parameters cell for the reader (papermill's injected one is removed)
        inputs = browser.execute_script(
            "return Array.from(document.querySelectorAll('div.cell_input')).map(d => d.innerText)")
        assert sum('profile = "' in t for t in inputs) == 1, f"{page}: not exactly one parameters cell shown"
        wrap = browser.execute_script(
            "const p = document.querySelector('div.cell_input pre'); return p ? getComputedStyle(p).whiteSpace : 'pre-wrap'")
        assert wrap == "pre-wrap", f"{page}: long code lines scroll instead of wrapping ({wrap})"
    hrefs = browser.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    local = {h.split("#")[0] for h in hrefs if urlparse(h).netloc == urlparse(server).netloc}
    dead = [h for h in sorted(local) if h and status(h) != 200]
    assert not dead, f"{page}: broken relative links: {dead}"


@pytest.mark.parametrize("width", [1280, 420])
def test_glued_values_read_as_plain_text_on_one_line(server, browser, width):
    browser.set_window_size(width, 1000)
    try:
        browser.get(urljoin(server, "book/intro.html"))
        pasted = browser.execute_script(
            "return Array.from(document.querySelectorAll('span.pasted-text')).map(s => "
            "[s.innerText, s.closest('code') !== null, s.getClientRects().length])")
        assert pasted, "the landing page pastes no glued value"
        in_code = [t for t, code, _ in pasted if code]
        assert not in_code, f"glued values shown as code: {in_code}"
        broken = [t for t, _, rects in pasted if rects > 1]
        assert not broken, f"glued values wrapped over several lines at {width} px: {broken}"
    finally:
        browser.set_window_size(1280, 1000)


@pytest.mark.parametrize("page", ["notebooks/02_cct.html", "notebooks/01_abaw5_expression.html"])
def test_equations_render_offline(server, browser, page):
    """MathJax comes from the book itself (no CDN): rendered math elements, and no raw TeX left in the text."""
    import time
    browser.get(urljoin(server, page))
    for _ in range(50):   # MathJax typesets after load
        n = browser.execute_script("return document.querySelectorAll('mjx-container').length")
        if n:
            break
        time.sleep(0.2)
    assert n > 0, f"{page}: no equation rendered (MathJax did not load from the book)"
    scripts = browser.execute_script("return Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s))")
    assert scripts and all(urlparse(s).netloc == urlparse(server).netloc for s in scripts), scripts
    text = browser.find_element("css selector", "main, article, div.bd-article").text
    assert "\\(" not in text and "\\[" not in text, f"{page}: raw TeX left in the rendered text"


TABLE_FIT = """
const article = document.querySelector('main, article, div.bd-article');
const limit = article.getBoundingClientRect().right + 1;
const bad = [];
for (const t of article.querySelectorAll('table')) {
  if (t.getBoundingClientRect().width === 0) continue;             // inside a folded block
  let box = t.parentElement, boxed = false;
  while (box && box !== article) {
    const ox = getComputedStyle(box).overflowX;
    if ((ox === 'auto' || ox === 'scroll') && box.getBoundingClientRect().right <= limit) { boxed = true; break; }
    box = box.parentElement;
  }
  if (!boxed && t.getBoundingClientRect().right > limit) bad.push(t.innerText.slice(0, 60));
}
return bad;
"""


@pytest.mark.parametrize("width", [1280, 420])
@pytest.mark.parametrize("page", [p for p in pages() if p.startswith("notebooks/")])
def test_wide_tables_scroll_inside_their_own_box(server, browser, page, width):
    """No table runs past the page's right edge: a table wider than its column scrolls inside its own box (at
    desktop and phone widths), so every column of e.g. a claims table stays readable."""
    browser.set_window_size(width, 1000)
    try:
        browser.get(urljoin(server, page))
        clipped = browser.execute_script(TABLE_FIT)
        assert not clipped, f"{page} at {width} px: tables clipped at the right edge: {clipped}"
        text = browser.find_element("css selector", "main, article, div.bd-article").text
        assert "\\(" not in text, f"{page}: raw TeX at {width} px"
    finally:
        browser.set_window_size(1280, 1000)
