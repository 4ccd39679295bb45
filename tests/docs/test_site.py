"""The documentation site: it builds without a warning (-W), the gallery runs every script in
examples/ and shows its figures, the API reference covers chainrule.__all__, and the rendered
pages load in headless Chromium (Debian's chromium and chromium-driver) with their title, a
figure that loaded and no console errors."""
import functools
import html
import http.server
import inspect
import os
import pathlib
import re
import subprocess
import sys
import threading

import pytest

import chainrule

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site as the README says, into a fresh folder; -> (html dir, build output)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CHAINRULE_QUICK": "1"}
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
                           "-d", str(out / "doctrees"), "docs", str(out / "html")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    return out / "html", log


def scripts():
    return sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))


def tutorials():
    return sorted((DOCS / "tutorials").glob("*.py"))


def test_build_has_no_warnings(site):
    _, log = site
    assert "WARNING" not in log and "ERROR" not in log, log[-4000:]
    assert "build succeeded" in log


def test_every_example_and_tutorial_has_a_page_with_its_output(site):
    html_dir, _ = site
    assert scripts(), "examples/ is empty"
    for folder, paths in (("gallery", scripts()), ("tutorials", tutorials())):
        index = (html_dir / "generated" / folder / "index.html").read_text()
        for path in paths:
            page = html_dir / "generated" / folder / f"{path.stem}.html"
            assert page.exists(), f"no gallery page for {path}"
            text = page.read_text()
            assert f"{path.stem}.html" in index, f"{path.name} missing from the {folder} index"
            assert "sphx-glr-script-out" in text, f"{path.name}: no printed output shown"


def test_tutorial_figures_are_drawn(site):
    html_dir, _ = site
    for path in tutorials():
        text = (html_dir / "generated" / "tutorials" / f"{path.stem}.html").read_text()
        images = re.findall(rf'<img src="([^"]*/sphx_glr_{path.stem}_\d+\.png)"', text)
        assert images, f"{path.name} shows no figure"
        for src in images:
            assert (html_dir / "generated" / "tutorials" / src).stat().st_size > 5000
    gallery = (html_dir / "generated" / "gallery" / "mlp_digits.html").read_text()
    assert re.search(r'<img src="[^"]*/sphx_glr_mlp_digits_001\.png"', gallery)
    assert "test accuracy" in gallery


def test_cost_plot_numbers_come_from_this_build(site):
    """The choice-of-mode page prints the times it plotted: forward wins on the tall Jacobian
    and reverse on the wide one at the largest size."""
    html_dir, _ = site
    text = html.unescape((html_dir / "generated" / "tutorials" / "03_choice_of_mode.html")
                         .read_text())
    rows = re.findall(r"(tall|wide)[^\n]*?n =\s+(\d+): forward\s+([\d.]+) ms, reverse\s+"
                      r"([\d.]+) ms; jacobian\(\) chose (\w+)", text)
    assert len(rows) >= 8
    largest = max(int(r[1]) for r in rows)
    for kind, n, fwd, rev, chose in rows:
        if int(n) == largest:
            assert chose == ("fwd" if kind == "tall" else "rev")
            assert (float(fwd) < float(rev)) == (kind == "tall"), (kind, fwd, rev)


def test_api_reference_covers_the_public_names(site):
    html_dir, _ = site
    text = (html_dir / "api.html").read_text()
    for name in chainrule.__all__:
        if not inspect.ismodule(getattr(chainrule, name)):
            assert f'id="chainrule.{name}"' in text, f"chainrule.{name} is not in the reference"
    for name in ("chainrule.plot.spy", "chainrule.plot.graph", "chainrule.nn.Linear",
                 "chainrule.optim.Adam", "chainrule.testing.check_grads"):
        assert f'id="{name}"' in text


def test_benchmark_figures_are_drawn_from_the_results(site):
    html_dir, _ = site
    text = (html_dir / "benchmark-figures.html").read_text()
    images = re.findall(r'<img [^>]*src="(_images/_benchmark_plots_\w+\.png)"', text)
    assert len(set(images)) == 2, images
    for src in images:
        assert (html_dir / src).stat().st_size > 20000


def test_supported_page_is_the_generated_list(site):
    html_dir, _ = site
    text = html.unescape(re.sub(r"<[^>]+>", "", (html_dir / "supported.html").read_text()))
    assert "Supported NumPy and SciPy functions" in text
    for name in ("numpy.sin", "numpy.einsum", "chainrule.scipy.special.logsumexp"):
        assert name in text


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(site):
    html_dir, _ = site
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), (
        "the browser test needs Debian's chromium and chromium-driver "
        "(apt-get install -y chromium chromium-driver; .ci/run does this)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


LOADED_FIGURES = """
return Array.from(document.querySelectorAll('main img, article img'))
    .filter(img => !img.src.includes('_static'))
    .map(img => [img.getAttribute('src'), img.complete, img.naturalWidth, img.naturalHeight]);
"""


@pytest.mark.parametrize("page, title, figure", [
    ("index.html", "chainrule", "sphx_glr_04_taylor_mode_001.png"),
    ("generated/tutorials/04_taylor_mode.html", "Higher orders and Taylor mode",
     "sphx_glr_04_taylor_mode_001.png"),
    ("generated/gallery/mlp_digits.html", "multilayer perceptron",
     "sphx_glr_mlp_digits_001.png"),
])
def test_page_renders_in_chromium(server, browser, page, title, figure):
    browser.get_log("browser")                   # drop what earlier pages logged
    browser.get(f"{server}/{page}")
    browser.execute_script("return document.readyState")
    assert title in browser.title, browser.title
    assert browser.title.endswith("chainrule") or page == "index.html"
    heading = browser.find_element("css selector", "main h1, article h1").text
    assert heading.strip(), "the page has no visible heading"
    images = browser.execute_script(LOADED_FIGURES)
    if figure is not None:
        loaded = [src for src, complete, w, h in images if complete and w > 100 and h > 100]
        assert any(figure in src for src in loaded), images
    assert all(complete and w > 0 for _, complete, w, _ in images), images   # nothing broken
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_index_links_to_every_section(server, browser):
    browser.get(f"{server}/index.html")
    hrefs = {a.get_attribute("href") for a in browser.find_elements("css selector", "a")}
    for target in ("getting-started.html", "generated/tutorials/index.html",
                   "generated/gallery/index.html", "coming-from-jax.html", "api.html",
                   "supported.html", "benchmarks.html", "benchmark-figures.html"):
        assert any(h and h.endswith(target) for h in hrefs), target
