"""A real JupyterLab on 127.0.0.1, driven like a reader would drive it.

For each chapter notebook (on a copy, so nothing committed is touched):
opened before anything runs, the stored output of a widget cell shows a
picture; Run All Cells produces no error output; then moving the widget's
step slider and a parameter slider changes the figure.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT, PageWatch, free_port

NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / name, work / name)
    port = free_port()
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               JUPYTER_CONFIG_DIR=str(work / ".jupyter"), PYDEVD_DISABLE_FILE_VALIDATION="1")
    log = open(work / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         "--LabApp.extension_manager=readonly",
         "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
         "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={work}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.handlers.announcements.NeverCheckForUpdate"],
        cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                log.flush()
                pytest.fail(f"jupyter lab did not start:\n{(work / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


def _screenshot(page, locator, label):
    """With SCREENSHOT_DIR set, save what the reader sees around ``locator``."""
    if os.environ.get("SCREENSHOT_DIR"):
        locator.scroll_into_view_if_needed()
        out = os.path.join(os.environ["SCREENSHOT_DIR"], f"lab-{label}.png")
        os.makedirs(os.environ["SCREENSHOT_DIR"], exist_ok=True)
        page.screenshot(path=out)


def _widget_image_src(page):
    return page.locator(".convlab-widget .widget-image").first.get_attribute("src")


def _press_slider(page, label, key="ArrowRight"):
    slider = page.locator(".convlab-widget .widget-slider").filter(
        has=page.locator(f"label:text-is('{label}')")).first
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press(key)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_chapter_runs_live_in_jupyterlab(browser, lab, name):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watch = PageWatch(page)
    page.goto(f"{lab}/lab/tree/{name}", wait_until="load")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60000)

    # Before running: the widget cell's stored output is the animation's first frame.
    stored = page.locator(".jp-OutputArea-output img").first
    stored.wait_for(timeout=30000)
    assert stored.evaluate("img => img.complete && img.naturalWidth > 100"), \
        "the stored widget output shows no picture"
    _screenshot(page, stored, f"{name}-before-run")

    # Run all cells and wait until every code cell has an execution count.
    page.wait_for_function("() => document.querySelector('.jp-Notebook-ExecutionIndicator')"
                           " !== null || true")
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
    n_code = page.locator(".jp-Notebook .jp-CodeCell").count()
    page.wait_for_function(
        """n => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
               .filter(p => /\\[\\d+\\]/.test(p.textContent)).length === n""",
        arg=n_code, timeout=240000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type="
                          "'application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"error output: {errors.first.inner_text()[:800]}"

    # The live widget: stepping and changing a parameter both redraw the figure.
    page.locator(".convlab-widget").first.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('.convlab-widget .widget-image');"
        " return i && i.complete && i.naturalWidth > 100; }", timeout=60000)
    before = _widget_image_src(page)
    _press_slider(page, "step")
    page.wait_for_function(
        "src => document.querySelector('.convlab-widget .widget-image').src !== src",
        arg=before, timeout=20000)
    caption = page.locator(".convlab-widget .widget-html").last.inner_text()
    assert caption.startswith("block 1 of"), caption
    stepped = _widget_image_src(page)
    _press_slider(page, "stride", "ArrowLeft")
    page.wait_for_function(
        "src => document.querySelector('.convlab-widget .widget-image').src !== src",
        arg=stepped, timeout=30000)
    _screenshot(page, page.locator(".convlab-widget").first, f"{name}-live-widget")
    assert watch.external == [], f"JupyterLab page requested other hosts: {watch.external}"
    context.close()
