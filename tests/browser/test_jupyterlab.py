"""A real JupyterLab on 127.0.0.1, driven like a reader would drive it.

For each chapter notebook (on a copy, so nothing committed is touched):
opened before anything runs, the stored output of an explorer cell says in
words what it shows; Run All Cells produces no error output; then each live
explorer (an anywidget running convlab/explorer.js) is at its natural size,
with controls and caption in one 900 px window, steps, and redraws after a
parameter move within 150 ms median, the kernel's round trip included.
"""

from __future__ import annotations

import json
import os
import re
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


def _explorer_cells(name):
    """How many cells of the committed notebook store an explorer's static rendering."""
    nb = json.loads((ROOT / "notebooks" / name).read_text())
    return sum(
        any(
            "convlab-explorer" in "".join(o.get("data", {}).get("text/html", ""))
            for o in cell.get("outputs", [])
        )
        for cell in nb["cells"]
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_chapter_runs_live_in_jupyterlab(browser, lab, name):
    # 900 px high: an explorer's controls and caption must fit together in it
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    watch = PageWatch(page)
    # ?reset: a fresh workspace, not the tabs that the previous chapter left open
    page.goto(f"{lab}/lab/tree/{name}?reset", wait_until="load")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60000)
    panel = page.locator(".jp-NotebookPanel:visible").first

    # Before running: an explorer cell's stored output says in words what it shows
    # (JupyterLab runs no script of an output it did not produce).
    n = _explorer_cells(name)
    stored = panel.locator(".jp-OutputArea-output .cx-fallback").first
    stored.wait_for(state="attached", timeout=60000)
    stored.scroll_into_view_if_needed()  # JupyterLab renders only cells near the viewport
    stored.wait_for(state="visible", timeout=30000)
    assert stored.inner_text().startswith("Explorer: ")
    assert panel.locator(".jp-OutputArea-output .cx-fallback").count() == n
    _screenshot(page, stored, f"{name}-before-run")

    # Run all cells; done when every explorer cell shows its live explorer and no cell
    # is queued or running ("[*]") and the kernel is idle.
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
    page.wait_for_function(
        """n => document.querySelectorAll('.convlab-explorer[data-host=live][data-frames]')
                 .length >= n
               && ![...document.querySelectorAll('.jp-InputPrompt')]
                    .some(p => p.textContent.includes('*'))
               && [...document.querySelectorAll('.jp-StatusBar-TextItem')]
                    .some(e => /[|] Idle/.test(e.textContent))""",
        arg=n,
        timeout=240000,
    )
    errors = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"error output: {errors.first.inner_text()[:800]}"

    # Every live explorer: at its natural size, controls and caption seen together;
    # stepping redraws; a parameter asks the kernel for a new scene.
    explorers = panel.locator(".convlab-explorer[data-host=live]")
    assert explorers.count() == n
    redraws = []
    for i in range(n):
        explorer = explorers.nth(i)
        explorer.locator(".cx-controls").scroll_into_view_if_needed()
        box = explorer.evaluate(
            """root => {
              const c = root.querySelector('.cx-controls').getBoundingClientRect();
              const t = root.querySelector('.cx-caption').getBoundingClientRect();
              const out = root.closest('.jp-OutputArea-output').getBoundingClientRect();
              const svgs = [...root.querySelectorAll('.cx-figure svg')];
              return { span: t.bottom - c.top, width: root.getBoundingClientRect().width,
                       outWidth: out.width,
                       natural: svgs.every(s => Math.abs(s.getBoundingClientRect().width
                                - s.width.baseVal.value) < 1) };
            }"""
        )
        assert box["span"] <= 900, f"controls and caption need {box['span']} px"
        assert box["natural"], "an explorer's panels are scaled, not at their natural size"
        assert box["width"] <= box["outWidth"] + 1
        before = explorer.get_attribute("data-frame")
        explorer.locator("button[data-act=next]").click()
        page.wait_for_function(
            "([root, f]) => root.dataset.frame !== f",
            arg=[explorer.element_handle(), before],
            timeout=20000,
        )
        assert explorer.locator(".cx-caption").inner_text().strip(), "no caption"
        frames = explorer.get_attribute("data-frames")
        slider = explorer.locator("input[data-param=kernel_size]")
        away, back = ("ArrowRight", "ArrowLeft")
        if slider.evaluate("s => +s.value") > 0:
            away, back = back, away
        # move away from the chapter's value and back, twice
        for key in (away, back, away, back):
            value = slider.get_attribute("aria-valuetext")
            slider.focus()
            page.keyboard.press(key)
            page.wait_for_function(
                "([s, v]) => s.getAttribute('aria-valuetext') !== v",
                arg=[slider.element_handle(), value],
                timeout=10000,
            )
            page.wait_for_function(
                "root => root.dataset.loading === 'false'",
                arg=explorer.element_handle(),
                timeout=30000,
            )
            redraws.append(float(explorer.get_attribute("data-redraw-ms")))
        assert explorer.get_attribute("data-frames") == frames  # back where it started
        _screenshot(page, explorer, f"{name}-live-explorer-{i}")
    median = sorted(redraws)[len(redraws) // 2]
    print(
        f"\n{name}: JupyterLab redraw after a parameter move: median {median:.0f} ms, "
        f"max {max(redraws):.0f} ms ({len(redraws)} moves, kernel round trip included)"
    )
    assert median <= 150
    assert watch.external == [], f"JupyterLab page requested other hosts: {watch.external}"
    context.close()


def _solution_heads(name):
    """A telling line of each solution cell (its code's second line, the first line of
    its prose after the neutral heading), and the first line of each exercise's stub."""
    sys.path.insert(0, str(ROOT / "tools"))
    import nbformat
    import student_edition

    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    solutions = []
    for i in student_edition.solution_cells(nb):
        lines = [line for line in nb.cells[i].source.splitlines() if line.strip()]
        if not lines[0].startswith("```{solution"):
            solutions.append(lines[1].strip()[:40])
    stubs = []
    for i, cell in enumerate(nb.cells[:-1]):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("```{exercise}"):
            stubs.append(nb.cells[i + 1].source.splitlines()[0])
    return solutions, stubs


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solutions_are_collapsed_until_opened(browser, lab, name):
    """Opened in JupyterLab (with jupyterlab-myst), a student sees each exercise's
    title and stub, not its solution (jupyter.source_hidden: a collapsed cell shows
    only a neutral first line); a click opens one. No directive option shows raw."""
    solutions, stubs = _solution_heads(name)
    assert solutions and stubs
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{lab}/lab/tree/{name}?reset", wait_until="load")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60000)
    panel = page.locator(".jp-NotebookPanel:visible").first
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-Notebook .jp-Cell').length >= n",
        arg=len(solutions) + len(stubs),
        timeout=60000,
    )
    page.wait_for_timeout(2000)  # MyST renders the markdown cells
    for head in stubs:
        stub = panel.locator(".jp-CodeCell .jp-InputArea", has_text=head).first
        stub.scroll_into_view_if_needed()
        assert stub.is_visible(), f"the stub {head!r} is not visible"
    for head in solutions:
        shown = panel.get_by_text(head, exact=False).filter(visible=True)
        assert shown.count() == 0, f"the solution line {head!r} shows before a click"
    # the exercises render as exercises, and no option of a directive shows raw
    titles = panel.locator(".jp-MarkdownCell").filter(has_text="Exercise 1").filter(visible=True)
    assert titles.count() >= 1, "no rendered exercise title"
    for raw in (":label:", ":class:", "```{exercise}", "```{solution-start}"):
        assert panel.get_by_text(raw, exact=False).filter(visible=True).count() == 0, raw
    # links to other chapters and to figures show words, not a bare label
    # (jupyterlab-myst marks a reference it cannot resolve "Cross Reference Not Found")
    bare = panel.locator('[title="Cross Reference Not Found"]').filter(
        has_text=re.compile(r"^\s*(ch|sec|fig|eq|ex)-[a-z0-9-]+\s*$")
    )
    assert bare.filter(visible=True).count() == 0, bare.first.inner_text()
    # a click on a collapsed input opens it
    placeholder = panel.locator(".jp-InputPlaceholder").first
    placeholder.scroll_into_view_if_needed()
    placeholder.click()
    opened = panel.get_by_text(solutions[0], exact=False).filter(visible=True)
    opened.first.wait_for(state="visible", timeout=10000)
    _screenshot(page, opened.first, f"{name}-solution-opened")
    context.close()
