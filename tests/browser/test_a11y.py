"""Accessibility, phone layout and print of every page of the built site.

- axe-core (npm, ``node_modules/axe-core``; a devDependency, never shipped in
  the site) on every book page at 1280 and 390 px, in light and in dark mode:
  no violation of impact serious or critical. A table of what it found, by
  impact, is printed whatever the outcome.
- At 390 px: every control is at least 44 x 44 CSS px, no page scrolls
  sideways, and every display equation wider than the column scrolls inside
  its own box, shows a hint, and can be focused and scrolled by keyboard.
- Printed (print media at the width of an A4 page): no button or input, code
  wraps, equations fit, solutions stay closed, figures are there; and
  Chromium makes a PDF of every chapter.

Set SCREENSHOT_DIR to also save what the dark-mode and print checks saw.
"""

from __future__ import annotations

import collections
import json
import os
import pathlib
import sys

import pytest
from conftest import ROOT, SITE

sys.path.insert(0, str(ROOT / "benchmarks"))
from pages import book_pages

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PAGES = book_pages(SITE) if SITE.exists() else []
CHAPTERS = [p for p in PAGES if p.startswith("notebooks/")]
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR")
IMPACTS = ("critical", "serious", "moderate", "minor")
PHONE = {"width": 390, "height": 844}
# A4 is 210 mm wide: 794 CSS px, less Chromium's default PDF margins (1 cm)
A4_CONTENT = {"width": 718, "height": 1000}

# What axe does not judge, and why.
# Nothing: the explorers and the figures are judged like the rest of the page.
EXCLUDED: list[str] = []


def _open(browser, site_url, path, *, viewport, mode="light"):
    context = browser.new_context(viewport=viewport)
    # pydata-sphinx-theme reads the reader's choice from localStorage before
    # the page paints and sets <html data-mode data-theme> from it
    context.add_init_script(
        f"localStorage.setItem('mode', '{mode}'); localStorage.setItem('theme', '{mode}');"
    )
    page = context.new_page()
    page.goto(f"{site_url}/{path}", wait_until="load")
    page.wait_for_load_state("networkidle")
    page.evaluate("() => (window.MathJax && MathJax.startup && MathJax.startup.promise) || null")
    page.wait_for_timeout(150)  # a11y.js marks wide equations on the next frame
    return context, page


def _shot(page, name):
    if SCREENSHOTS:
        pathlib.Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SCREENSHOTS}/{name.replace('/', '_')}.png", full_page=False)


# --- axe ---------------------------------------------------------------------


def _axe(page):
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (exclude) => {
            const result = await axe.run(
                {include: [document], exclude: exclude.map(s => [s])},
                {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, count: v.nodes.length,
                targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
            }));
        }""",
        EXCLUDED,
    )


def _dark_background(page) -> float:
    """The relative luminance of the page's background (0 black, 1 white)."""
    return page.evaluate(
        """() => {
            const [r, g, b] = getComputedStyle(document.body).backgroundColor
                .match(/[0-9.]+/g).slice(0, 3).map(Number).map(c => c / 255)
                .map(c => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
            return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        }"""
    )


def test_axe_is_not_shipped():
    """axe-core is for the tests only: tools/vendor_assets.sh never copies it."""
    assert SITE.exists()
    assert [p for p in SITE.rglob("axe*.js")] == []


def test_axe_finds_nothing_serious_on_any_page(browser, site_url, capsys):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make assets does)")
    assert PAGES, "no page was built"
    rows, serious = [], []
    for path in PAGES:
        for width in (1280, 390):
            for mode in ("light", "dark"):
                context, page = _open(
                    browser, site_url, path, viewport={"width": width, "height": 900}, mode=mode
                )
                theme = page.evaluate("document.documentElement.dataset.theme")
                luminance = _dark_background(page)
                # the dark run really is dark: the theme says so and the page is
                assert theme == mode, f"{path}: asked for {mode}, the theme shows {theme}"
                assert (luminance < 0.05) == (mode == "dark"), f"{path} {mode}: {luminance}"
                if mode == "dark" and width == 390:
                    _shot(page, f"dark-390-{path}")
                violations = _axe(page)
                context.close()
                counts = collections.Counter()
                for v in violations:
                    counts[v["impact"]] += v["count"]
                    if v["impact"] in ("serious", "critical"):
                        serious.append(f"{path} {width}px {mode}: {v['id']} x{v['count']} {v}")
                rules = ", ".join(sorted({v["id"] for v in violations})) or "-"
                rows.append((path, width, mode, counts, rules))
    with capsys.disabled():
        version = json.loads((AXE.parent / "package.json").read_text())["version"]
        print(f"\naxe-core {version}: violations (nodes) by impact")
        print(f"| {'page':<40} | width | mode  | " + " | ".join(IMPACTS) + " | rules")
        for path, width, mode, counts, rules in rows:
            cells = " | ".join(f"{counts[i]:>{len(i)}}" for i in IMPACTS)
            print(f"| {path:<40} | {width:>5} | {mode:<5} | {cells} | {rules}")
    assert serious == [], "\n".join(serious)


def test_theme_buttons_are_named_by_what_they_show(browser, site_url):
    """a11y.js: search buttons named by their text, the mode button by its mode."""
    context, page = _open(browser, site_url, CHAPTERS[0], viewport={"width": 1280, "height": 900})
    fields = page.eval_on_selector_all(
        ".search-button-field",
        "bs => bs.map(b => [b.getAttribute('aria-label'), b.getAttribute('aria-keyshortcuts')])",
    )
    assert fields and all(label is None and keys for label, keys in fields), fields
    button = page.locator(".bd-header-article .theme-switch-button")
    names = [button.get_attribute("aria-label")]
    for _ in range(2):
        button.click()
        names.append(button.get_attribute("aria-label"))
    context.close()
    # the theme cycles through the three modes (in an order that depends on
    # the system's preference); the name follows each click
    assert names[0] == "Color mode: Light", names
    assert sorted(names) == ["Color mode: Dark", "Color mode: Light", "Color mode: System Settings"]


@pytest.mark.parametrize("width", [1280, 390])
def test_theme_icons_show_without_font_awesome_script(browser, site_url, width):
    """book/_templates/layout.html drops fontawesome.js: the web font draws the icons."""
    context, page = _open(browser, site_url, CHAPTERS[0], viewport={"width": width, "height": 900})
    scripts = page.eval_on_selector_all("script[src]", "ss => ss.map(s => s.src)")
    page.evaluate("document.fonts.ready")
    icons = page.evaluate(
        """() => [...document.querySelectorAll('.bd-header-article .btn [class*="fa-"]')]
            .filter(i => i.getBoundingClientRect().width > 0)
            .map(i => [i.className, getComputedStyle(i, '::before').content,
                       getComputedStyle(i).fontFamily, i.getBoundingClientRect().width])"""
    )
    loaded = page.evaluate("document.fonts.check('900 16px \"Font Awesome 6 Free\"')")
    _shot(page, f"header-icons-{width}")
    context.close()
    assert not any("fontawesome.js" in s for s in scripts), scripts
    assert len(icons) >= 3 and loaded, icons
    for name, content, family, w in icons:
        assert content not in ("none", "normal", "") and "Font Awesome" in family and w >= 10, name


# --- a phone -----------------------------------------------------------------

CONTROLS = "button, input, select, textarea, summary, [role=button], a.btn"


@pytest.mark.parametrize("path", PAGES)
def test_controls_are_44px_on_a_phone(browser, site_url, path):
    context, page = _open(browser, site_url, path, viewport=PHONE)
    small = page.evaluate(
        """([selector, excluded]) => [...document.querySelectorAll(selector)]
            .filter(e => !excluded.some(x => e.closest(x)))
            .filter(e => {
                const r = e.getBoundingClientRect(), s = getComputedStyle(e);
                return r.width > 0 && r.height > 0 && s.visibility !== 'hidden';
            })
            .map(e => {
                const r = e.getBoundingClientRect();
                return [e.className || e.tagName, e.getAttribute('aria-label') || '',
                        +r.width.toFixed(1), +r.height.toFixed(1)];
            })
            .filter(([, , w, h]) => w < 44 || h < 44)""",
        [CONTROLS, EXCLUDED],
    )
    context.close()
    assert small == [], f"controls smaller than 44 x 44 CSS px at 390 px: {small}"


WIDE_EQUATIONS = """() => [...document.querySelectorAll('mjx-container[display="true"]')]
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => ({
        cls: e.className, tabindex: e.getAttribute('tabindex'),
        name: e.getAttribute('aria-label') || '', role: e.getAttribute('role'),
        hint: getComputedStyle(e, '::before').content,
        overflowX: getComputedStyle(e).overflowX,
    }))"""


@pytest.mark.parametrize("path", PAGES)
def test_a_phone_never_scrolls_sideways(browser, site_url, path):
    context, page = _open(browser, site_url, path, viewport=PHONE)
    page_width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    wide = page.evaluate(WIDE_EQUATIONS)
    context.close()
    assert page_width <= inner, f"the page is {page_width} px wide in a {inner} px window"
    for eq in wide:
        assert "is-overflowing" in eq["cls"], eq
        assert eq["overflowX"] in ("auto", "scroll"), eq
        assert eq["tabindex"] == "0" and eq["role"] == "group" and eq["name"], eq
        assert "scroll" in eq["hint"], eq


CONTRAST = """e => {
    const lum = c => {
        const [r, g, b] = c.match(/[0-9.]+/g).slice(0, 3).map(Number).map(v => v / 255)
            .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const fg = lum(getComputedStyle(e, '::before').color);
    const bg = lum(getComputedStyle(document.body).backgroundColor);
    return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
}"""


def test_wide_equations_scroll_by_keyboard_on_a_phone(browser, site_url):
    found = 0
    for path, mode in [(p, "light") for p in CHAPTERS + ["book/notation.html"]] + [
        (CHAPTERS[0], "dark")
    ]:
        context, page = _open(browser, site_url, path, viewport=PHONE, mode=mode)
        boxes = page.locator('mjx-container[display="true"].is-overflowing')
        for i in range(boxes.count()):
            box = boxes.nth(i)
            box.focus()
            assert box.evaluate("e => e === document.activeElement")
            # the hint is text the site adds: axe does not see generated content
            assert box.evaluate(CONTRAST) >= 4.5, f"{path} {mode}: hint contrast"
            before = box.evaluate("e => e.scrollLeft")
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(50)
            assert box.evaluate("e => e.scrollLeft") > before, f"{path}: equation {i}"
            if found == 0:
                box.scroll_into_view_if_needed()
                _shot(page, f"wide-equation-390-{mode}-{path}")
            found += 1
        context.close()
    # the book has formulas wider than a phone: the check above ran on some
    assert found > 0, "no display equation overflows at 390 px: is a11y.js loaded?"


# --- print -------------------------------------------------------------------

PRINTED = """() => {
    const shown = e => {
        const r = e.getBoundingClientRect(), s = getComputedStyle(e);
        return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && +s.opacity > 0;
    };
    const article = document.querySelector('main') || document.body;
    return {
        controls: [...document.querySelectorAll(
                'button, input, select, textarea, [role=button], .cx-controls,'
                + ' .bd-sidebar-primary, .bd-sidebar-secondary,'
                + ' .bd-header-article, .search-button-field')]
            .filter(shown).map(e => e.className || e.tagName),
        wide_code: [...document.querySelectorAll('pre')]
            .filter(e => e.scrollWidth > e.clientWidth + 1)
            .map(e => [e.scrollWidth, e.clientWidth, e.textContent.slice(0, 60)]),
        wide_math: [...document.querySelectorAll('mjx-container[display="true"]')]
            .filter(e => e.getBoundingClientRect().right > article.getBoundingClientRect().right + 1
                         || e.scrollWidth > e.clientWidth + 1)
            .map(e => [e.scrollWidth, e.clientWidth]),
        page_width: [document.scrollingElement.scrollWidth, window.innerWidth],
        solutions: [...document.querySelectorAll('.solution')].map(
            s => [...s.children].filter(c => !c.classList.contains('admonition-title'))
                                .filter(shown).length),
        figures: [...article.querySelectorAll('img, .convlab-figure svg, .convlab-explorer svg')]
            .map(e => [e.getAttribute('alt') || e.className.baseVal || e.className || '',
                       shown(e)]),
    };
}"""


@pytest.mark.parametrize("path", PAGES)
def test_print_shows_text_and_figures_only(browser, site_url, path):
    context, page = _open(browser, site_url, path, viewport=A4_CONTENT)
    page.emulate_media(media="print")
    # what the browser's Print does first (sphinx-togglebutton opens every
    # toggle then, unless togglebutton_open_on_print is off)
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    page.wait_for_timeout(100)
    printed = page.evaluate(PRINTED)
    _shot(page, f"print-{path}")
    if path in CHAPTERS:
        assert page.pdf(format="A4", print_background=True)[:5] == b"%PDF-"
    context.close()
    assert printed["controls"] == [], f"controls are printed: {printed['controls']}"
    assert printed["wide_code"] == [], f"code runs off the page: {printed['wide_code']}"
    assert printed["wide_math"] == [], f"equations run off the page: {printed['wide_math']}"
    assert printed["page_width"][0] <= printed["page_width"][1], printed["page_width"]
    assert not any(printed["solutions"]), f"solutions are printed: {printed['solutions']}"
    hidden = [alt for alt, shown in printed["figures"] if not shown]
    assert hidden == [], f"figures missing from print: {hidden}"
    if path in CHAPTERS:
        assert printed["figures"], f"{path}: no figure printed"
