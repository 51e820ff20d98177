"""The built site as a reader's browser sees it (served on 127.0.0.1, no network).

Every page: zero requests to other hosts, zero failed requests, zero
JavaScript errors, every image with alt text that describes it (not empty,
not a file name or path) and every figure (``svg[role=img]``) with such an
``aria-label``, an icon that loads. MathJax renders. Every explorer
changes its frame at once on Play, stops on Pause, and steps on First,
Next and Back (tests/browser/test_site_explorers.py checks what it shows).

Set SCREENSHOT_DIR to also save a full-page screenshot of every page.
"""

from __future__ import annotations

import os
import pathlib
import re

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


IMAGE_FILE = re.compile(r"\.(png|svg|jpe?g|gif|webp|avif|ico)(\?.*)?$", re.IGNORECASE)


def alt_text_problem(alt: str | None, src: str = "", resolved: str = "") -> str | None:
    """Why ``alt`` does not describe its image, or None when it may.

    Empty, the image's own address, a file name or a path is no description
    (Sphinx writes the file's path when it has no alt text).
    """
    text = (alt or "").strip()
    if not text:
        return "empty alt"
    names = {src, resolved, src.rsplit("/", 1)[-1], resolved.rsplit("/", 1)[-1]} - {""}
    if text in names:
        return "alt is the image's address"
    if text.startswith(("data:", "http:", "https:", "file:")):
        return "alt is an address"
    if IMAGE_FILE.search(text):
        return "alt is a file name"
    if "/" in text and not any(c.isspace() for c in text):
        return "alt is a path"
    return None


@pytest.mark.parametrize(
    "alt, src",
    [
        (None, "../_images/a.png"),
        ("  ", "../_images/a.png"),
        (
            "../_images/9e60a16391e23283917f84dd36ff57b9.png",
            "../_images/9e60a16391e23283917f84dd36ff57b9.png",
        ),
        ("9e60a16391e2.png", "../_images/9e60a16391e2.png"),
        ("figure.svg", "data:image/png;base64,iVBORw0KGgo="),
        ("_images/some-figure", "../_images/some-figure"),
        ("data:image/png;base64,iVBORw0KGgo=", "data:image/png;base64,iVBORw0KGgo="),
        ("logo", "logo"),
    ],
)
def test_alt_text_rule_rejects_non_descriptions(alt, src):
    assert alt_text_problem(alt, src, "http://127.0.0.1:8000/" + src.lstrip("./")) is not None


@pytest.mark.parametrize(
    "alt",
    [
        "unfold with kernel_size=3, stride=2 on a 5x5 input: block 1 of 4",
        "Divisor fold(unfold(ones)), the number of blocks covering each pixel",
        "The 4 x 16 matrix of a 3x3 convolution (stride 1, padding 0)",
        "frame 3 of 9: block 2 reads rows 0..2 / columns 2..4",
    ],
)
def test_alt_text_rule_accepts_descriptions(alt):
    assert alt_text_problem(alt, "../_images/9e60.png", "http://127.0.0.1/_images/9e60.png") is None


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
    images = page.eval_on_selector_all(
        "img",
        "imgs => imgs.map(i => [i.getAttribute('alt'), i.getAttribute('src') || '', i.src])",
    )
    bad_alt = [
        f"{src[:80]}: {problem} ({(alt or '')[:80]!r})"
        for alt, src, resolved in images
        if (problem := alt_text_problem(alt, src, resolved))
    ]
    assert bad_alt == [], f"images without a description as alt text: {bad_alt}"
    # the figures are inline SVG (convlab.draw.Picture): described by aria-label
    figures = page.eval_on_selector_all(
        "svg[role=img]:not([aria-hidden=true]):not([aria-labelledby])",
        "svgs => svgs.map(s => s.getAttribute('aria-label'))",
    )
    bad_label = [
        f"{problem} ({(label or '')[:80]!r})"
        for label in figures
        if (problem := alt_text_problem(label)) or len((label or "").split()) < 4
    ]
    assert bad_label == [], f"figures without a description as aria-label: {bad_label}"
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


@pytest.mark.parametrize("path", PAGES)
def test_page_has_an_icon_that_loads(page, site_url, path):
    # Chromium asks for a page's icon outside the page (no request event), so
    # without a <link rel=icon> the /favicon.ico 404 goes unseen by PageWatch.
    _open(page, site_url, path)
    icon = page.eval_on_selector_all("link[rel~=icon]", "links => links.map(l => l.href)")
    assert icon, "no <link rel=icon>: browsers ask for /favicon.ico, which is a 404"
    response = page.request.get(icon[0])
    assert response.ok, f"{icon[0]}: HTTP {response.status}"
    assert response.headers["content-type"].startswith("image/")


@pytest.mark.parametrize("path", ["book/notation.html", "book/claims.html", *CHAPTERS])
def test_mathjax_renders(page, site_url, path):
    _open(page, site_url, path)
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")
    rendered = page.locator("mjx-container").count()
    assert rendered > 0, "no formula was typeset by MathJax"
    assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"


def test_the_claims_page_lists_every_claim_with_its_test(page, site_url):
    """book/claims.md: each quoted sentence, under a link to its section, with its test."""
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
    import claims_index

    claims = [c for c in claims_index.claims() if c[2]]
    _open(page, site_url, "book/claims.html")
    shown = page.eval_on_selector_all(
        ".claims-index blockquote",
        """bqs => bqs.map(b => [[...b.querySelectorAll('p:not(.claims-test), div.math')].length,
                              b.querySelector('.claims-test code').textContent])""",
    )
    assert sum(n for n, _ in shown) == len(claims)
    assert {t for _, t in shown} == {f"tests/{f}::{t}" for f, t, _, _ in claims}
    # every section heading of the list is a working link into a page of the book
    links = page.eval_on_selector_all(
        ".claims-index > li > p:first-child a", "as => as.map(a => a.getAttribute('href'))"
    )
    assert len(links) == len({c[2] for c in claims})
    bad = [h for h in links if not re.match(r"^(\.\./notebooks/)?\w+\.html#[\w-]+$", h)]
    assert bad == []


@pytest.mark.parametrize(
    "settings",
    [
        {"renderer": "SVG"},
        {"explorer": True, "speech": True, "braille": True},
        {"collapsible": True},
    ],
    ids=["svg-renderer", "explorer", "collapsible"],
)
def test_mathjax_menu_settings_keep_math_typeset(page, site_url, settings):
    # MathJax keeps a reader's menu choices in localStorage (for the whole
    # origin) and loads what they need on every page: each must be shipped
    # (tools/vendor_assets.sh), or no formula typesets any more.
    path = (CHAPTERS or ["book/notation.html"])[0]
    _open(page, site_url, path)
    page.evaluate("s => localStorage.setItem('MathJax-Menu-Settings', JSON.stringify(s))", settings)
    watch = _open(page, site_url, path)
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")
    page.wait_for_timeout(500)
    assert watch.failed == [], f"failed requests: {watch.failed}"
    assert page.locator("mjx-container").count() > 0, "no formula was typeset by MathJax"
    if settings.get("renderer") == "SVG":
        assert page.locator("mjx-container[jax=SVG]").count() > 0


@pytest.mark.parametrize("path", CHAPTERS)
def test_explorers_play_pause_and_step(page, site_url, path):
    _open(page, site_url, path)
    explorers = page.locator(".convlab-explorer")
    assert explorers.count() > 0, f"{path} has no explorer"
    page.wait_for_function(
        "() => [...document.querySelectorAll('.convlab-explorer')].every(e => e.dataset.frames)"
    )
    for i in range(explorers.count()):
        root = explorers.nth(i)
        root.scroll_into_view_if_needed()
        assert int(root.get_attribute("data-frames")) > 1
        play = root.locator("button[data-act=play]")
        caption = root.locator(".cx-caption").inner_text()
        play.click()
        assert root.get_attribute("data-playing") == "true"
        assert play.get_attribute("aria-pressed") == "true"
        assert root.get_attribute("data-frame") == "1"  # the first step is immediate
        assert root.locator(".cx-caption").inner_text() != caption
        page.wait_for_function(
            "el => el.dataset.frame === '2'", arg=root.element_handle(), timeout=5000
        )
        play.click()
        assert play.get_attribute("aria-pressed") == "false"
        stopped = root.get_attribute("data-frame")
        page.wait_for_timeout(1200)
        assert root.get_attribute("data-frame") == stopped, "Pause did not stop the explorer"
        root.locator("button[data-act=first]").click()
        assert root.get_attribute("data-frame") == "0"
        root.locator("button[data-act=next]").click()
        assert root.get_attribute("data-frame") == "1"
        root.locator("button[data-act=prev]").click()
        assert root.get_attribute("data-frame") == "0"


def _visible(page, selector):
    return [h for h in page.query_selector_all(selector) if h.is_visible()]


@pytest.mark.parametrize("width", [390, 1280])
def test_sidebar_toggles_open_the_navigation(page, site_url, width):
    """The article header's toggle opens the navigation on a phone (a dialog
    with the home page link) and collapses and restores it on a wide screen
    (book/assets/sidebar-toggles.js works around pydata-sphinx-theme #2451)."""
    page.set_viewport_size({"width": width, "height": 800})
    watch = _open(page, site_url, CHAPTERS[0])
    (toggle,) = _visible(page, "button.primary-toggle")
    sidebar = page.locator("#pst-primary-sidebar")
    if width < 992:
        assert not page.evaluate("document.querySelector('#pst-primary-sidebar-modal').open")
        toggle.click()
        page.wait_for_timeout(300)
        assert page.evaluate("document.querySelector('#pst-primary-sidebar-modal').open")
        home = page.locator("#pst-primary-sidebar-modal a.reference", has_text="Fold & Unfold")
        assert home.first.is_visible()
        page.keyboard.press("Escape")
        (contents,) = _visible(page, "button.secondary-toggle")
        contents.click()
        page.wait_for_timeout(300)
        assert page.evaluate("document.querySelector('#pst-secondary-sidebar-modal').open")
    else:
        assert sidebar.is_visible()
        toggle.click()
        page.wait_for_timeout(500)
        assert "pst-sidebar-hidden" in sidebar.get_attribute("class")
        assert not sidebar.is_visible()
        toggle.click()
        page.wait_for_timeout(500)
        assert sidebar.is_visible()
    assert watch.errors == [], f"JavaScript errors: {watch.errors}"


def test_a_figure_link_says_the_number_the_site_gives_its_figure():
    """The chapters write figure links as {ref}`Fig. N <label>` (so JupyterLab
    shows a number, not a label); on the site each must name its figure's number."""
    checked = 0
    for page in CHAPTERS:
        html = (SITE / page).read_text()
        numbers = dict(
            re.findall(
                r'<figure[^>]*id="(fig-[\w-]+)"[^>]*>.*?<span class="caption-number">'
                r"(Fig\. \d+)",
                html,
                re.S,
            )
        )
        links = re.findall(
            r'<a class="reference internal" href="[^"]*#(fig-[\w-]+)">'
            r'<span class="std std-ref">([^<]*)</span>',
            html,
        )
        for label, words in links:
            assert words.strip() == numbers.get(label), (page, label, words, numbers.get(label))
            checked += 1
    assert checked >= 20, f"only {checked} figure links found"


def test_every_page_states_the_licences_and_links_the_errata():
    """The footer (book/_ext/footer.py): CC BY 4.0 for text and figures, MIT for code,
    and a link to the licence page's errata section that resolves from every page."""
    for page in PAGES:
        html = (SITE / page).read_text()
        if 'http-equiv="Refresh"' in html or 'http-equiv="refresh"' in html:
            continue  # the root index.html only redirects
        footer = re.search(r'<p class="cx-footer">(.*?)</p>', html, re.S)
        assert footer, f"{page}: no licence footer"
        text = re.sub(r"<[^>]+>", "", footer.group(1))
        assert "CC BY 4.0" in text and "MIT" in text and "Found a mistake?" in text, page
        errata = re.search(r'href="([^"#]*)#sec-errata"', footer.group(1)).group(1)
        target = (SITE / page).parent / errata if errata else SITE / page
        assert target.resolve().is_file(), f"{page}: the errata link {errata} goes nowhere"
        assert 'id="sec-errata"' in target.read_text()


def test_with_the_launch_settings_empty_nothing_points_anywhere():
    """As committed, _config.yml's launch settings are empty: no page links to Binder,
    a JupyterHub or Colab (tests/test_launch.py builds a copy with them set)."""
    for page in PAGES:
        hrefs = " ".join(re.findall(r'href="([^"]*)"', (SITE / page).read_text()))
        for host in ("mybinder.org", "/v2/gh/", "git-pull?", "colab.research.google.com"):
            assert host not in hrefs, (page, host)


def test_the_api_page_lists_every_entry_with_its_chapter_link():
    """book/api.md: one entry per public name (book/_ext/api_page.py), each with its call,
    its docstring, and, where the docstring names chapters, links that resolve."""
    import sys

    sys.path.insert(0, str(SITE.parent.parent / "book" / "_ext"))
    import api_page

    html = (SITE / "book" / "api.html").read_text()
    for _, module, which in api_page.GROUPS:
        for name, _ in api_page.entries(module, which):
            anchor = "api-" + name.replace(".", "-")
            assert f'id="{anchor}"' in html, name
    links = re.findall(r'<p class="api-chapter">Taught in (.*?)</p>', html, re.S)
    assert len(links) >= 50
    for target in re.findall(r'href="([^"#]+)#', " ".join(links)):
        assert (SITE / "book" / target).resolve().is_file(), target
