"""The built site as a reader's browser sees it (served on 127.0.0.1, no network).

Every page: zero requests to other hosts, zero failed requests, zero
JavaScript errors, every image with alt text. MathJax renders. Every static
animation changes its frame on Play, stops on Pause, and steps on Step.

Set SCREENSHOT_DIR to also save a full-page screenshot of every page.
"""

from __future__ import annotations

import os
import pathlib

import pytest
from conftest import SITE, PageWatch

PAGES = (
    sorted(
        str(p.relative_to(SITE))
        for p in SITE.rglob("*.html")
        if "_static" not in p.parts and "_sources" not in p.parts
    )
    if SITE.exists()
    else []
)
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]


def _open(page, site_url, path):
    watch = PageWatch(page)
    page.goto(f"{site_url}/{path}", wait_until="load")
    page.wait_for_load_state("networkidle")
    return watch


def test_there_are_pages_and_chapters():
    assert "book/intro.html" in PAGES and "book/notation.html" in PAGES
    assert CHAPTERS, "no chapter page was built"


@pytest.mark.parametrize("path", PAGES)
def test_page_is_offline_and_error_free(page, site_url, path):
    watch = _open(page, site_url, path)
    page.wait_for_timeout(300)  # late scripts (MathJax fonts, thebe) have their say
    assert watch.external == [], f"requests to other hosts: {watch.external}"
    assert watch.failed == [], f"failed requests: {watch.failed}"
    assert watch.errors == [], f"JavaScript errors: {watch.errors}"
    missing_alt = page.eval_on_selector_all(
        "img",
        "imgs => imgs.filter(i => !(i.getAttribute('alt') || '').trim())"
        ".map(i => (i.src || '').slice(0, 80))",
    )
    assert missing_alt == [], f"images without alt text: {missing_alt}"
    broken = page.eval_on_selector_all(
        "img",
        "imgs => imgs.filter(i => i.complete && i.naturalWidth === 0)"
        ".map(i => (i.src || '').slice(0, 80))",
    )
    assert broken == [], f"images that did not load: {broken}"
    if os.environ.get("SCREENSHOT_DIR"):
        out = pathlib.Path(os.environ["SCREENSHOT_DIR"])
        out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out / (path.replace("/", "__") + ".png")), full_page=True)


@pytest.mark.parametrize("path", ["book/notation.html", *CHAPTERS])
def test_mathjax_renders(page, site_url, path):
    _open(page, site_url, path)
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")
    rendered = page.locator("mjx-container").count()
    assert rendered > 0, "no formula was typeset by MathJax"
    assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"


@pytest.mark.parametrize("path", CHAPTERS)
def test_static_animations_play_pause_and_step(page, site_url, path):
    _open(page, site_url, path)
    animations = page.locator(".convlab-anim")
    assert animations.count() > 0, f"{path} has no static animation"
    for i in range(animations.count()):
        anim = animations.nth(i)
        anim.scroll_into_view_if_needed()
        frames = int(anim.get_attribute("data-frames"))
        assert frames > 1
        first_src = anim.locator("img").get_attribute("src")
        anim.locator("button[data-act=play]").click()
        page.wait_for_function(
            "el => el.getAttribute('data-frame') !== '0'", arg=anim.element_handle(), timeout=5000
        )
        assert anim.get_attribute("data-playing") == "true"
        assert anim.locator("img").get_attribute("src") != first_src
        anim.locator("button[data-act=pause]").click()
        stopped = anim.get_attribute("data-frame")
        page.wait_for_timeout(1200)
        assert anim.get_attribute("data-frame") == stopped, "Pause did not stop the animation"
        anim.locator("button[data-act=first]").click()
        assert anim.get_attribute("data-frame") == "0"
        anim.locator("button[data-act=next]").click()
        assert anim.get_attribute("data-frame") == "1"
        caption = anim.locator(".convlab-anim-caption").inner_text()
        assert caption and caption in anim.locator("img").get_attribute("alt")
        anim.locator("button[data-act=prev]").click()
        assert anim.get_attribute("data-frame") == "0"
