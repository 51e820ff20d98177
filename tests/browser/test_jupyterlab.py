"""A real JupyterLab on 127.0.0.1, driven like a reader would drive it.

For each chapter notebook (on a copy, so nothing committed is touched):
opened before anything runs, the stored output of a widget cell shows a
picture; Run All Cells produces no error output; then moving the widget's
step slider and a parameter slider changes the figure.
"""

from __future__ import annotations

import json
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
    # Render every cell (no windowing), so the test sees the whole notebook; no news prompt.
    settings = work / ".settings"
    for plugin, values in {
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    env = dict(
        os.environ,
        PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
        JUPYTER_CONFIG_DIR=str(work / ".jupyter"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        JUPYTERLAB_SETTINGS_DIR=str(settings),
    )
    log = open(work / "lab.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--LabApp.extension_manager=readonly",
            "--ServerApp.ip=127.0.0.1",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True",
            f"--ServerApp.root_dir={work}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class="
            "jupyterlab.handlers.announcements.NeverCheckForUpdate",
        ],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
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


def _widget_cells(name):
    """How many cells of the committed notebook store a widget's static twin."""
    nb = json.loads((ROOT / "notebooks" / name).read_text())
    return sum(
        any(
            "convlab-anim" in "".join(o.get("data", {}).get("text/html", ""))
            for o in cell.get("outputs", [])
        )
        for cell in nb["cells"]
    )


def _press_slider(widget, label, key="ArrowRight"):
    """Focus the handle of the slider described by ``label`` inside ``widget``; press a key."""
    slider = (
        widget.locator(".widget-slider")
        .filter(has=widget.page.locator(f"label:text-is('{label}')"))
        .first
    )
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press(key)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_chapter_runs_live_in_jupyterlab(browser, lab, name):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watch = PageWatch(page)
    # ?reset: a fresh workspace, not the tabs that the previous chapter left open
    page.goto(f"{lab}/lab/tree/{name}?reset", wait_until="load")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60000)
    panel = page.locator(".jp-NotebookPanel:visible").first

    # Before running: a widget cell's stored output is its animation's first frame.
    stored = panel.locator(".jp-OutputArea-output .convlab-anim img").first
    stored.wait_for(state="attached", timeout=60000)
    stored.scroll_into_view_if_needed()  # JupyterLab renders only cells near the viewport
    stored.wait_for(state="visible", timeout=30000)
    assert stored.evaluate("img => img.complete && img.naturalWidth > 100"), (
        "the stored widget output shows no picture"
    )
    n_widgets = _widget_cells(name)
    assert panel.locator(".jp-OutputArea-output .convlab-anim").count() == n_widgets
    _screenshot(page, stored, f"{name}-before-run")

    # Run all cells; done when every widget cell shows its live widget and no cell
    # is queued or running ("[*]") and the kernel is idle.
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
    page.wait_for_function(
        """n => document.querySelectorAll('.convlab-widget').length >= n
               && ![...document.querySelectorAll('.jp-InputPrompt')]
                    .some(p => p.textContent.includes('*'))
               && [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                    .some(e => /[|] Idle/.test(e.textContent))""",
        arg=n_widgets,
        timeout=240000,
    )
    errors = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"error output: {errors.first.inner_text()[:800]}"

    # Every live widget: stepping and changing a parameter both redraw its figure.
    widgets = panel.locator(".convlab-widget")
    assert widgets.count() == n_widgets
    for i in range(n_widgets):
        widget = widgets.nth(i)
        widget.scroll_into_view_if_needed()
        image = widget.locator(".widget-image").first
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 100",
            arg=image.element_handle(),
            timeout=60000,
        )
        before = image.get_attribute("src")
        _press_slider(widget, "step")
        page.wait_for_function(
            "([img, src]) => img.src !== src", arg=[image.element_handle(), before], timeout=20000
        )
        caption = widget.locator(".widget-html").last.inner_text()
        assert caption.strip(), "no caption under the live figure"
        stepped = image.get_attribute("src")
        _press_slider(widget, "kernel_size", "ArrowLeft")
        page.wait_for_function(
            "([img, src]) => img.src !== src", arg=[image.element_handle(), stepped], timeout=30000
        )
        _screenshot(page, widget, f"{name}-live-widget-{i}")
    assert watch.external == [], f"JupyterLab page requested other hosts: {watch.external}"
    context.close()
