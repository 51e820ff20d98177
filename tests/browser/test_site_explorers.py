"""The explorers on the built site, driven like a reader drives them and checked against torch.

For every chapter page: at least one explorer; for each explorer, a sample
of parameter sets from the grid the page embeds (its own values, the
extremes, and seeded random ones) is set with the sliders; what it then
shows (block count, output size, the input cells a block reads, the counts
fold leaves, the caption's products) is compared with ``F.unfold``,
``F.fold``, ``F.conv2d``, ``F.conv_transpose2d`` and the gradients
``torch.autograd`` gives. The time from a slider
move to the new drawing is printed.
"""

from __future__ import annotations

import json
import random
import re
import statistics

import pytest
import torch
import torch.nn.functional as F
from conftest import SITE, PageWatch

from convlab import scenes, widgets

CHAPTERS = sorted(
    p.relative_to(SITE).as_posix() for p in (SITE / "notebooks").glob("[0-9][0-9]_*.html")
)
BUILDERS = {
    "SlidingBlocks": widgets.SlidingBlocks,
    "Dilation": widgets.Dilation,
    "FoldAccumulation": widgets.FoldAccumulation,
    "MatmulView": widgets.MatmulView,
    "GroupsView": widgets.GroupsView,
    "TransposeViews": widgets.TransposeViews,
    "BackwardPairs": widgets.BackwardPairs,
}
SAMPLES = 6


def _open(page, site_url, path):
    watch = PageWatch(page)
    page.goto(f"{site_url}/{path}")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.convlab-explorer')]"
        ".every((e) => e.dataset.frames || e.dataset.error === 'true')"
    )
    return watch


def _controls(explorer):
    return explorer.evaluate(
        "(root) => [...root.querySelectorAll('input[data-param]')].map((i) => ({"
        "name: i.dataset.param, value: i.getAttribute('aria-valuetext'), max: +i.max}))"
    )


def _set(page, explorer, params):
    """Move each slider (by keyboard) to ``params``; return the redraw times in ms.

    A redraw is timed by the renderer itself: from the slider's input event
    to the new scene drawn (``data-redraw-ms``).
    """
    times = []
    for name, value in params.items():
        slider = explorer.locator(f"input[data-param={name}]")
        while (now := int(slider.get_attribute("aria-valuetext"))) != value:
            slider.focus()
            page.keyboard.press("ArrowRight" if now < value else "ArrowLeft")
            page.wait_for_function(
                "(root) => root.dataset.loading === 'false'", arg=explorer.element_handle()
            )
            times.append(float(explorer.get_attribute("data-redraw-ms")))
    return times


def _shown(explorer):
    return explorer.evaluate(
        """(root) => ({
          frames: +root.dataset.frames || 0,
          error: root.dataset.error === 'true' ? root.querySelector('.cx-error').textContent : null,
          facts: root.dataset.facts ? JSON.parse(root.dataset.facts) : null,
          caption: root.querySelector('.cx-caption').textContent,
          frame: +root.dataset.frame,
          block: [...root.querySelectorAll('[data-panel=x] rect[data-role=block]')]
            .map((r) => r.dataset.label),
          panels: Object.fromEntries([...root.querySelectorAll('.cx-panel')].map((p) => [
            p.dataset.panel,
            [...p.querySelectorAll('text.cx-label')].map((t) => t.textContent)])),
          dims: Object.fromEntries([...root.querySelectorAll('.cx-panel')].map((p) => [
            p.dataset.panel, p.querySelector('svg').getAttribute('viewBox')])),
        })"""
    )


def _drawn_where_torch_runs(shown, p, run):
    """``run()``'s result where torch accepts ``p`` (the explorer must draw it), or None
    where torch refuses (the explorer must show an error instead)."""
    try:
        result = run()
    except RuntimeError:
        assert shown["error"], f"torch refuses {p}, the explorer drew it"
        return None
    assert shown["error"] is None, shown["error"]
    return result


def _check_against_torch(kind, params, shown, frame):
    """What the explorer shows for ``params`` at ``frame``, against torch."""
    p = params
    n = p["input_size"]
    if kind in ("MatmulView", "GroupsView"):
        Co, Ci, g, k = p["out_channels"], p["in_channels"], p["groups"], p["kernel_size"]
        try:
            F.conv2d(
                torch.zeros(1, Ci, n, n),
                torch.zeros(Co, Ci // g, k, k),
                groups=g,
                **{key: p[key] for key in ("stride", "padding", "dilation")},
            )
        except (RuntimeError, ZeroDivisionError):
            assert shown["error"], f"torch refuses {p}, the explorer drew it"
            return
    if kind in ("SlidingBlocks", "FoldAccumulation", "MatmulView", "GroupsView"):
        kw = {k: p[k] for k in ("kernel_size", "stride", "padding", "dilation")}
        try:
            ids = torch.arange(1, n * n + 1, dtype=torch.float64).view(1, 1, n, n)
            cols = F.unfold(ids, **kw)[0].long() - 1
        except RuntimeError:
            assert shown["error"], f"torch refuses {p}, the explorer drew it"
            return
        assert shown["error"] is None, shown["error"]
        K, L = cols.shape
        want = ["0" if v < 0 else f"x{v}" for v in cols[:, frame % L].tolist()]
        if kind == "SlidingBlocks":
            assert shown["frames"] == L
            assert shown["block"] == want  # the cells block `frame` reads, in tap order
            assert shown["panels"]["cols"][frame::L] == want  # its column of unfold(x)
            out = F.conv2d(
                ids,
                torch.ones(1, 1, p["kernel_size"], p["kernel_size"], dtype=torch.float64),
                **{k: p[k] for k in ("stride", "padding", "dilation")},
            )
            assert shown["facts"]["out"] == list(out.shape[-2:])
        elif kind == "FoldAccumulation":
            assert shown["frames"] == L
            divisor = F.fold(torch.ones(1, K, L), (n, n), **kw)[0, 0].long().tolist()
            assert shown["facts"]["divisor"] == divisor
        else:
            assert shown["frames"] == Co * L
            if Ci == 1:
                assert shown["block"] == want
            _check_products(shown["caption"], p, frame)
    elif kind == "TransposeViews":
        kw = {k: p[k] for k in ("stride", "padding", "output_padding", "dilation")}
        k = p["kernel_size"]
        y = _drawn_where_torch_runs(
            shown,
            p,
            lambda: F.conv_transpose2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), **kw),
        )
        if y is None:
            return
        O = y.shape[-1]
        assert shown["frames"] == O * O and shown["facts"]["out"] == [O, O]
        _check_transpose_products(shown["caption"], p, frame)
    elif kind == "BackwardPairs":
        k = p["kernel_size"]
        kw = {key: p[key] for key in ("stride", "padding", "dilation")}
        y = _drawn_where_torch_runs(
            shown, p, lambda: F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), **kw)
        )
        if y is None:
            return
        assert shown["frames"] == k * k + n * n and shown["facts"]["out"] == list(y.shape[-2:])
        ones = F.unfold(torch.ones(1, 1, n, n), k, **kw)
        pairs = F.fold(torch.ones_like(ones), (n, n), k, **kw)[0, 0].long().tolist()
        assert shown["facts"]["pairs"] == pairs  # how many products each pixel's gradient sums
        # the first frames are the taps of weight, then the pixels of x, highlighted in x
        assert shown["block"] == ([] if frame < k * k else [f"x{frame - k * k}"])
        _check_gradient_products(shown["caption"], p, frame)
    elif kind == "Dilation":
        k = p["kernel_size"]
        d = shown["facts"]["dilations"][frame]
        L = F.unfold(torch.zeros(1, 1, n, n), k, dilation=d).shape[-1]
        assert f"L = {L} " in shown["caption"]
        assert len(shown["block"]) == k * k


def _check_products(caption, p, frame):
    """The caption's ``a0*x3 + ...`` evaluated with random numbers equals F.conv2d's value."""
    n, k, Co = p["input_size"], p["kernel_size"], p["out_channels"]
    Ci, g = p["in_channels"], p["groups"]
    gen = torch.Generator().manual_seed(frame)
    x = torch.randint(-5, 6, (1, Ci, n, n), generator=gen).double()
    w = torch.randint(-5, 6, (Co, Ci // g, k, k), generator=gen).double()
    y = F.conv2d(x, w, groups=g, **{key: p[key] for key in ("stride", "padding", "dilation")})
    found = re.match(r"y\[c=(\d+), l=\d+\] \(channel \d+, output pixel \((\d+), (\d+)\)", caption)
    c, oh, ow = (int(v) for v in found.groups())
    terms = caption.split(" = ")[-1].split(" (+")[0].rstrip(".")
    rows = w.view(Co, -1)
    total = 0.0
    if terms != "0":
        for term in terms.split(" + "):
            tap, pixel = term.split("*")
            total += rows["abcdefgh".index(tap[0]), int(tap[1:])].item() * (
                x.flatten()[int(pixel[1:])].item()
            )
    assert total == y[0, c, oh, ow].item(), caption


def _check_transpose_products(caption, p, frame):
    """Each product ``wij*xr`` the caption names puts w[i, j] * x[r] on that pixel in torch."""
    n, k = p["input_size"], p["kernel_size"]
    kw = {key: p[key] for key in ("stride", "padding", "output_padding", "dilation")}
    oh, ow = (int(v) for v in caption[2 : caption.index("]")].split(", "))
    shown = caption.split(" = ")[1].split(":")[0]
    named = set() if shown == "0" else set(shown.split(" + "))
    landing = set()
    for r in range(n * n):
        x = torch.zeros(n * n, dtype=torch.float64)
        x[r] = 1
        for t in range(k * k):
            w = torch.zeros(k * k, dtype=torch.float64)
            w[t] = 1
            y = F.conv_transpose2d(x.view(1, 1, n, n), w.view(1, 1, k, k), **kw)
            if y[0, 0, oh, ow] != 0:
                landing.add(f"w{t // k}{t % k}*x{r}")
    assert named == landing, caption


def _check_gradient_products(caption, p, frame):
    """The caption's ``g3*x5 + ...`` (a tap) or ``w01*g3 + ...`` (a pixel) evaluated with
    random integers equals the gradient torch.autograd gives the entry it names."""
    n, k = p["input_size"], p["kernel_size"]
    gen = torch.Generator().manual_seed(frame)
    x = torch.randint(-5, 6, (1, 1, n, n), generator=gen).double().requires_grad_()
    w = torch.randint(-5, 6, (1, 1, k, k), generator=gen).double().requires_grad_()
    y = F.conv2d(x, w, **{key: p[key] for key in ("stride", "padding", "dilation")})
    grad_y = torch.randint(-5, 6, y.shape, generator=gen).double()
    gx, gw = torch.autograd.grad(y, (x, w), grad_y)
    found = re.match(r"(weight|x)\.grad\[(\d+), (\d+)\] = ([^:]*):", caption)
    name, i, j, terms = found.groups()
    i, j = int(i), int(j)
    assert (i * k + j if name == "weight" else k * k + i * n + j) == frame, caption
    values = {f"x{r}": v for r, v in enumerate(x.flatten().tolist())}
    values.update({f"g{l}": v for l, v in enumerate(grad_y.flatten().tolist())})
    values.update({f"w{t // k}{t % k}": v for t, v in enumerate(w.flatten().tolist())})
    total = 0.0
    if terms != "0":
        for term in terms.split(" + "):
            a, b = term.split("*")
            total += values[a] * values[b]
    assert total == (gw if name == "weight" else gx)[0, 0, i, j].item(), caption


@pytest.mark.parametrize("path", CHAPTERS)
def test_explorers_show_what_torch_computes(page, site_url, path):
    watch = _open(page, site_url, path)
    explorers = page.locator(".convlab-explorer")
    assert explorers.count() >= 1, f"{path} has no explorer"
    redraws = []
    for i in range(explorers.count()):
        explorer = explorers.nth(i)
        kind = explorer.get_attribute("data-explorer")
        cls = BUILDERS[kind]
        controls = _controls(explorer)
        initial = {c["name"]: int(c["value"]) for c in controls}
        # the parameters without a slider keep the chapter's values
        fixed = json.loads(explorer.get_attribute("data-fixed"))
        grid = {c["name"]: c["values"] for c in json.loads(explorer.get_attribute("data-controls"))}
        rng = random.Random(f"{path}:{i}")
        samples = [initial, {n: v[-1] for n, v in grid.items()}]
        samples += [{n: rng.choice(v) for n, v in grid.items()} for _ in range(SAMPLES)]
        for params in samples:
            explorer.scroll_into_view_if_needed()
            redraws += _set(page, explorer, params)
            params = {**fixed, **params}
            shown = _shown(explorer)
            if shown["error"] is None:
                # a few frames: the first, one stepped to, the last
                frames = sorted({0, min(2, shown["frames"] - 1), shown["frames"] - 1})
                for f in frames:
                    explorer.locator("button[data-act=first]").click()
                    for _ in range(f):
                        explorer.locator("button[data-act=next]").click()
                    shown = _shown(explorer)
                    assert shown["frame"] == f
                    _check_against_torch(kind, params, shown, f)
                    scene = cls.build(**params)
                    assert shown["caption"] == scenes.caption(scene, f)
            else:
                _check_against_torch(kind, params, shown, 0)
    print(
        f"\n{path}: {len(redraws)} slider moves, redraw median "
        f"{statistics.median(redraws):.0f} ms, max {max(redraws):.0f} ms"
    )
    assert statistics.median(redraws) <= 150
    assert watch.errors == [] and watch.external == [] and watch.failed == []


@pytest.mark.parametrize("width", [1280, 390])
def test_explorers_fit_the_page_and_their_text_is_legible(browser, site_url, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    rows = []
    for path in CHAPTERS:
        _open(page, site_url, path)
        found = page.evaluate(
            """() => [...document.querySelectorAll('.convlab-explorer')].map((root) => {
              let minPx = 1e9;
              for (const t of root.querySelectorAll('svg text')) {
                if (!t.textContent) continue;
                minPx = Math.min(minPx, parseFloat(getComputedStyle(t).fontSize)
                                 * t.getScreenCTM().a);
              }
              const r = root.getBoundingClientRect();
              return { kind: root.dataset.explorer, minPx, width: r.width,
                       overflow: document.scrollingElement.scrollWidth > innerWidth };
            })"""
        )
        rows += [(path, f) for f in found]
    for path, f in rows:
        print(
            f"\n{width} px {path} {f['kind']}: smallest label {f['minPx']:.1f} px, "
            f"card {f['width']:.0f} px wide"
        )
        assert f["minPx"] >= (11 if width >= 1280 else 9)
        assert f["width"] <= width and not f["overflow"]
    context.close()


def test_the_print_of_an_explorer_is_its_picture(page, site_url):
    _open(page, site_url, CHAPTERS[0])
    page.emulate_media(media="print")
    explorer = page.locator(".convlab-explorer").first
    assert explorer.locator(".cx-controls").is_hidden()
    assert explorer.locator(".cx-figure svg").first.is_visible()
    assert explorer.locator(".cx-caption").is_visible()
    data = json.loads(explorer.get_attribute("data-facts"))
    assert data
