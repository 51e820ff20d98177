"""The static figures (inline SVG, convlab.draw.Picture) on the built site.

For every page and every ``svg[role=img]``: the smallest label as rendered
(font size times the SVG's scale, from ``getScreenCTM()``) is at least 11 CSS
px in a 1280 px window and 9 px in a 390 px one (a table of them is printed:
run with ``-s``); every label reads on what is drawn under it (contrast at
least 4.5:1 against the topmost fill at its centre, hatching included); no
label reaches outside the drawing (clipped); every figure has a description
(``aria-label``).
"""

from __future__ import annotations

import pytest
from conftest import SITE
from test_site import PAGES, _open, alt_text_problem

MIN_PX = {1280: 11.0, 390: 9.0}

# Per <text> of a figure: effective font px, its box against the svg's box.
MEASURE = """svg => {
  const sr = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => {
    const m = t.getScreenCTM();
    const scale = Math.hypot(m.a, m.b);
    const px = parseFloat(getComputedStyle(t).fontSize) * scale;
    const r = t.getBoundingClientRect();
    const out = r.left < sr.left - 0.5 || r.right > sr.right + 0.5 ||
                r.top < sr.top - 0.5 || r.bottom > sr.bottom + 0.5;
    return [t.textContent, px, out];
  });
}"""

# Per <text>: its fill and the fills under its centre (topmost first); a
# hatch pattern gives its background and its line colour.
UNDER = """svg => {
  const rgb = c => {
    const m = (c || '').match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const v = m[1].split(',').map(parseFloat);
    return (v.length > 3 && v[3] === 0) ? null : v.slice(0, 3);
  };
  const fillsOf = el => {
    const f = getComputedStyle(el).fill;
    const url = f && f.match(/url\\("?#([^")]+)"?\\)/);
    if (url) {
      const pat = svg.querySelector('#' + CSS.escape(url[1]));
      if (!pat) return [];
      const out = [];
      pat.querySelectorAll('rect, path').forEach(p => {
        const cs = getComputedStyle(p);
        if (p.tagName === 'rect' && rgb(cs.fill)) out.push(rgb(cs.fill));
        if (p.tagName === 'path' && rgb(cs.stroke)) out.push(rgb(cs.stroke));
      });
      return out;
    }
    return rgb(f) ? [rgb(f)] : [];
  };
  const results = [];
  for (const t of svg.querySelectorAll('text')) {
    if (!t.textContent.trim()) continue;
    t.scrollIntoView({block: 'center', inline: 'center'});
    const r = t.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const under = document.elementsFromPoint(x, y)
      .filter(e => e !== t && svg.contains(e) && e.tagName !== 'text' && e !== svg);
    // the topmost shape with a fill decides the background (hatching: all its colours)
    let bg = [[255, 255, 255]];
    for (const e of under) {
      const f = fillsOf(e);
      if (f.length) {
        bg = f;
        // a hatch over a fill: the fill under it counts too
        if (getComputedStyle(e).fill.startsWith('url')) {
          const below = under.slice(under.indexOf(e) + 1).map(fillsOf).find(x => x.length);
          if (below) bg = bg.concat(below);
        }
        break;
      }
    }
    results.push([t.textContent, rgb(getComputedStyle(t).fill) || [0, 0, 0], bg]);
  }
  return results;
}"""


def _luminance(rgb):
    lin = [(c / 255) for c in rgb]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in lin]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)


FIGURE_PAGES = (
    [p for p in PAGES if '<svg role="img"' in (SITE / p).read_text(encoding="utf8")]
    if SITE.exists()
    else []
)
TABLE: list[tuple] = []


def test_there_are_figures():
    assert any(p.startswith("notebooks/") for p in FIGURE_PAGES), "no page has an SVG figure"


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("path", FIGURE_PAGES)
def test_figure_labels_are_legible_and_inside(page, site_url, path, width):
    page.set_viewport_size({"width": width, "height": 900})
    _open(page, site_url, path)
    figures = page.query_selector_all(
        "svg[role=img]:not([aria-hidden=true]):not([aria-labelledby])"
    )
    problems = []
    for i, svg in enumerate(figures):
        label = svg.get_attribute("aria-label")
        if problem := alt_text_problem(label):
            problems.append(f"figure {i}: {problem}")
        if len((label or "").split()) < 4:
            problems.append(f"figure {i}: aria-label {label!r} does not describe it")
        texts = svg.evaluate(MEASURE)
        assert texts, f"figure {i} has no <text>"
        smallest = min(px for _, px, _ in texts)
        TABLE.append((path, i, width, round(smallest, 1)))
        print(f"\n{path:45s} figure {i}  {width:4d} px window: smallest label {smallest:.1f} px")
        if smallest < MIN_PX[width] - 0.01:
            problems.append(f"figure {i}: smallest label {smallest:.1f} px < {MIN_PX[width]}")
        clipped = [t for t, _, out in texts if out]
        if clipped:
            problems.append(f"figure {i}: labels outside the drawing: {clipped[:5]}")
    assert problems == [], problems


@pytest.mark.parametrize("path", FIGURE_PAGES)
def test_figure_labels_contrast_with_what_is_under_them(page, site_url, path):
    _open(page, site_url, path)
    problems = []
    for i, svg in enumerate(
        page.query_selector_all("svg[role=img]:not([aria-hidden=true]):not([aria-labelledby])")
    ):
        for text, ink, under in svg.evaluate(UNDER):
            worst = min(contrast(ink, bg) for bg in under)
            if worst < 4.5:
                problems.append(f"figure {i}: {text!r} {ink} on {under}: {worst:.2f}")
    assert problems == [], problems[:10]


@pytest.mark.parametrize("path", FIGURE_PAGES)
def test_figure_is_a_light_card_in_dark_mode(page, site_url, path):
    _open(page, site_url, path)
    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    cards = page.query_selector_all("figure.convlab-figure")
    assert cards
    for card in cards:
        bg = card.evaluate("e => getComputedStyle(e).backgroundColor")
        assert bg == "rgb(255, 255, 255)", bg


def test_print_table():
    """The table of smallest labels (after the tests above ran in this session)."""
    if not TABLE:
        pytest.skip("run with the tests above")
    print("\npage | figure | window | smallest label (CSS px)")
    for row in TABLE:
        print(" | ".join(map(str, row)))
