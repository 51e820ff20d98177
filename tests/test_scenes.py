"""The explorers' scenes (convlab/scenes.py) against torch, over every grid the site embeds.

What a reader sees in an explorer is a scene: which cells a frame lights
up, the labels in them, the caption. Each is checked here against
``torch.nn.functional`` (unfold, fold, conv2d, conv_transpose2d) and
``torch.autograd`` (the gradients of conv2d), with the
caption rule of :func:`convlab.scenes.caption` (the JavaScript renderer's
rule: the browser tests check that the two agree).
"""

from __future__ import annotations

import inspect
import itertools
import re

import pytest
import torch
import torch.nn.functional as F

from convlab import scenes, widgets

EXPLORERS = [
    widgets.SlidingBlocks,
    widgets.Dilation,
    widgets.FoldAccumulation,
    widgets.MatmulView,
    widgets.TransposeViews,
    widgets.BackwardPairs,
]


def _grid(explorer):
    names = list(explorer.grid)
    for values in itertools.product(*explorer.grid.values()):
        yield dict(zip(names, values))


def _row(scene, name, f):
    t = scene["tables"][name]
    return t["data"][f * t["width"] : (f + 1) * t["width"]]


def _marked(scene, m, f):
    mark = scene["marks"][m]
    panel = scene["panels"][mark["panel"]]
    return [scenes.cell_label(panel, c) for c in _row(scene, mark["table"], f) if c >= 0]


def _torch_fits(fn):
    try:
        return fn(), None
    except RuntimeError as err:
        return None, err


def _unfold_ids(p):
    H = W = p["input_size"]
    ids = torch.arange(1, H * W + 1, dtype=torch.float64).view(1, 1, H, W)
    kw = {k: p[k] for k in ("kernel_size", "stride", "padding", "dilation")}
    return F.unfold(ids, **kw)[0].long() - 1  # (K, L); -1 where a block reads padding


@pytest.mark.parametrize("params", list(_grid(widgets.SlidingBlocks)), ids=str)
def test_sliding_blocks_scene_is_torch_unfold(params):
    cols, err = _torch_fits(lambda: _unfold_ids(params))
    if err is not None:
        with pytest.raises(ValueError):
            scenes.sliding_blocks(**params)
        return
    scene = scenes.sliding_blocks(**params)
    K, L = cols.shape
    assert scene["frames"] == L and scene["facts"]["L"] == L and scene["facts"]["K"] == K
    x = torch.zeros(1, 1, params["input_size"], params["input_size"])
    w = torch.zeros(1, 1, params["kernel_size"], params["kernel_size"])
    kw = {k: params[k] for k in ("stride", "padding", "dilation")}
    assert scene["facts"]["out"] == list(F.conv2d(x, w, **kw).shape[-2:])
    for f in range(L):
        want = ["0" if v < 0 else f"x{v}" for v in cols[:, f].tolist()]
        assert _marked(scene, 0, f) == want  # the block's cells, in tap order
        matrix = scene["panels"][1]
        assert [scenes.cell_label(matrix, r * L + f) for r in range(K)] == want
        text = scenes.caption(scene, f)
        assert text.startswith(f"Block l={f}: ") and f" column {f} of unfold(x)" in text
        assert scenes.frame_text(scene, f) == f"frame {f + 1} of {L}: block l={f}"
        n_pad = want.count("0")
        said = {0: "padding zero", 1: "1 of them is a padding zero"}.get(
            n_pad, f"{n_pad} of them are padding zeros"
        )
        assert (said in text) == (n_pad > 0)


@pytest.mark.parametrize("params", list(_grid(widgets.Dilation)), ids=str)
def test_dilation_scene_spreads_taps_like_torch(params):
    n, k = params["input_size"], params["kernel_size"]
    scene = scenes.dilation(**params)
    for f, d in enumerate(scene["facts"]["dilations"]):
        L = F.unfold(torch.zeros(1, 1, n, n), k, dilation=d).shape[-1]
        assert scene["facts"]["L"][f] == L
        cells = [c for c in _row(scene, "taps", f)]
        rows, cols = [c // n for c in cells], [c % n for c in cells]
        assert sorted(set(rows)) == list(range(min(rows), min(rows) + d * (k - 1) + 1, d))
        assert sorted(set(cols)) == list(range(min(cols), min(cols) + d * (k - 1) + 1, d))
        assert f"L = {L} " in scenes.caption(scene, f)
        assert scenes.frame_text(scene, f).endswith(f": dilation={d}")
    # the last frame is the largest dilation that fits: one more does not
    d_next = scene["facts"]["dilations"][-1] + 1
    if k > 1:
        with pytest.raises(RuntimeError):
            F.unfold(torch.zeros(1, 1, n, n), k, dilation=d_next)


def _tally(scene, f):
    """The running count the renderer shows (explorer.js ``tallies``), in Python."""
    counts = {}
    for mark in scene["marks"]:
        if mark.get("tally"):
            for g in range(f + 1):
                for c in _row(scene, mark["table"], g):
                    if c >= 0:
                        counts[c] = counts.get(c, 0) + 1
    return counts


@pytest.mark.parametrize("params", list(_grid(widgets.FoldAccumulation)), ids=str)
def test_fold_scene_ends_at_torch_fold_of_ones(params):
    n = params["input_size"]
    kw = {k: params[k] for k in ("kernel_size", "stride", "padding", "dilation")}
    ones, err = _torch_fits(lambda: F.unfold(torch.ones(1, 1, n, n), **kw))
    if err is not None:
        with pytest.raises(ValueError):
            scenes.fold_accumulation(**params)
        return
    scene = scenes.fold_accumulation(**params)
    L = ones.shape[-1]
    assert scene["frames"] == L
    divisor = F.fold(torch.ones_like(ones), (n, n), **kw)[0, 0].long()
    assert scene["facts"]["divisor"] == divisor.tolist()
    img = scene["panels"][1]
    Hp, Wp = img["rows"], img["cols"]
    p = params["padding"]
    counts = _tally(scene, L - 1)
    shown = torch.tensor([[counts.get(r * Wp + c, 0) for c in range(Wp)] for r in range(Hp)])
    assert torch.equal(shown[p : p + n, p : p + n], divisor)  # the last frame is fold_divisor
    # one shading scale for every frame: a colour for each count up to the last frame's most
    assert len(img["tallyColors"]) == int(shown.max()) + 1
    for f in (0, L // 2, L - 1):
        partial = torch.ones_like(ones)
        partial[..., f + 1 :] = 0
        counts = F.fold(partial, (n, n), **kw)[0, 0]
        text = scenes.caption(scene, f)
        zeros = int((counts == 0).sum())
        if f < L - 1:
            assert f"highest count so far {int(counts.max())};" in text
            assert f"uncovered pixels {zeros} of {n * n}." in text
        else:
            assert f"highest count {int(counts.max())};" in text
            assert ("no pixel is uncovered" in text) == (zeros == 0)
            assert (f"{zeros} of the {n * n} pixels are uncovered" in text) == (zeros > 0)


CAPTION_Y = re.compile(r"y\[c=(\d+), l=(\d+)\] \(channel (\d+), output pixel \((\d+), (\d+)\)\)")


def _evaluate(terms: str, x, w):
    """The value of a caption's ``a00*x3 + ...`` with weights ``w[name]`` and pixels ``x``."""
    if terms == "0":
        return 0.0
    total = 0.0
    for term in terms.split(" + "):
        tap, pixel = term.split("*")
        total += w[tap] * x[int(pixel[1:])]
    return total


def _matmul_grid():
    defaults = {k: v.default for k, v in inspect.signature(scenes.matmul).parameters.items()}
    for explorer in (widgets.MatmulView, widgets.GroupsView):
        base = {
            **defaults,
            **(widgets.groups_view().params if explorer is widgets.GroupsView else {}),
        }
        for params in _grid(explorer):
            yield {**base, **params}


@pytest.mark.parametrize("params", list(_matmul_grid()), ids=str)
def test_matmul_scene_captions_compute_torch_conv2d(params):
    n, k = params["input_size"], params["kernel_size"]
    Co, Ci, g = params["out_channels"], params["in_channels"], params["groups"]
    kw = {key: params[key] for key in ("stride", "padding", "dilation")}
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(-4, 5, (1, Ci, n, n), generator=gen).double()
    weight = torch.randint(-4, 5, (Co, max(Ci // g, 1), k, k), generator=gen).double()
    y, err = _torch_fits(lambda: F.conv2d(x, weight, groups=g, **kw))
    if err is not None:
        with pytest.raises(ValueError):
            scenes.matmul(**params)
        return
    scene = scenes.matmul(**params)
    assert scene["facts"]["out"] == list(y.shape[1:])
    rows = weight.view(Co, -1)
    names = {
        f"{'abcdefgh'[c]}{j}": rows[c, j].item() for c in range(Co) for j in range(rows.shape[1])
    }
    pixels = x.flatten().tolist()
    Ho, Wo = y.shape[-2:]
    for f in range(scene["frames"]):
        text = scenes.caption(scene, f)
        c, l, c2, oh, ow = map(int, CAPTION_Y.match(text).groups())
        assert (c, oh, ow) == (f // (Ho * Wo), (f % (Ho * Wo)) // Wo, f % Wo)
        assert c2 == c and l == f % (Ho * Wo) and (oh, ow) == divmod(l, Wo)
        terms = text.split(" = ")[-1].split(" (+")[0].rstrip(".")
        assert _evaluate(terms, pixels, names) == y[0, c, oh, ow].item()


def _scatter_terms(n, k, params):
    """Which (pixel, tap) products torch's conv_transpose2d puts on each output pixel."""
    kw = {key: params[key] for key in ("stride", "padding", "output_padding", "dilation")}
    terms = None
    for r in range(n * n):
        for t in range(k * k):
            x = torch.zeros(1, 1, n * n, dtype=torch.float64)
            x[0, 0, r] = 1
            w = torch.zeros(1, 1, k * k, dtype=torch.float64)
            w[0, 0, t] = 1
            y = F.conv_transpose2d(x.view(1, 1, n, n), w.view(1, 1, k, k), **kw)[0, 0]
            if terms is None:
                terms = [set() for _ in range(y.numel())]
            for o in torch.nonzero(y.flatten()).flatten().tolist():
                terms[o].add(f"w{t // k}{t % k}*x{r}")
    return terms


@pytest.mark.parametrize("params", list(_grid(widgets.TransposeViews)), ids=str)
def test_transpose_scene_is_torch_conv_transpose2d(params):
    n, k = params["input_size"], params["kernel_size"]
    kw = {key: params[key] for key in ("stride", "padding", "output_padding", "dilation")}
    y, err = _torch_fits(
        lambda: F.conv_transpose2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), **kw)
    )
    if err is not None:
        with pytest.raises(ValueError):
            scenes.transpose(**params)
        return
    scene = scenes.transpose(**params)
    assert scene["facts"]["out"] == list(y.shape[-2:])
    want = _scatter_terms(n, k, params)
    O = y.shape[-1]
    for f in range(scene["frames"]):
        text = scenes.caption(scene, f)
        assert text.startswith(f"y[{f // O}, {f % O}] = ")
        shown = text.split(" = ")[1].split(":")[0]
        got = set() if shown == "0" else set(shown.split(" + "))
        assert got == want[f], f"frame {f}: {text}"
        # gather reads the same pixels through the rotated kernel
        window = scene["marks"][1]
        g = scene["panels"][1]
        reads = {
            f"{window['tagLabels'][t]}*{scenes.cell_label(g, c)}"
            for c, t in zip(_row(scene, "window", f), _row(scene, "windowtags", f))
            if g["ids"][c] >= 0
        }
        assert reads == want[f]


def _pairs(scene, m, f, by_tag=False):
    """Mark ``m``'s (cell label, tag label) pairs in frame ``f`` (``(tag, cell)`` if ``by_tag``)."""
    mark = scene["marks"][m]
    panel = scene["panels"][mark["panel"]]
    cells = _row(scene, mark["table"], f)
    tags = _row(scene, mark["tags"], f) if mark.get("tags") else [-1] * len(cells)
    found = {
        (scenes.cell_label(panel, c), mark["tagLabels"][t] if t >= 0 else None)
        for c, t in zip(cells, tags)
        if c >= 0
    }
    return {(b, a) for a, b in found} if by_tag else found


def _partners(params):
    """torch.autograd's pairs: which pixel of x each pixel of grad_y meets at each tap.

    With x holding its pixel numbers + 1 and weight its tap numbers + 1, the
    gradients for a one-hot grad_y (one pixel ``l`` a time, by ``vmap`` of
    ``vjp``) name the partners: ``weight.grad[t]`` is the pixel tap ``t``
    read for ``l`` (+1; 0 for padding), ``x.grad[r]`` the tap that read pixel
    ``r`` for ``l`` (+1; 0 for none).
    """
    n, k = params["input_size"], params["kernel_size"]
    kw = {key: params[key] for key in ("stride", "padding", "dilation")}
    x = torch.arange(1.0, n * n + 1, dtype=torch.float64).view(1, 1, n, n)
    w = torch.arange(1.0, k * k + 1, dtype=torch.float64).view(1, 1, k, k)
    y, vjp = torch.func.vjp(lambda x, w: F.conv2d(x, w, **kw), x, w)
    L = y.numel()
    ones = torch.eye(L, dtype=torch.float64).view(L, *y.shape)
    gx, gw = torch.vmap(vjp)(ones)
    return gw.view(L, k * k).long() - 1, gx.view(L, n * n).long() - 1  # (L, K), (L, H*W)


def _product_sum(terms, values):
    """The value of a caption's ``g3*x5 + ...`` (``"0"``: none) with ``values[name]``."""
    if terms == "0":
        return 0.0
    return sum(values[a] * values[b] for a, b in (t.split("*") for t in terms.split(" + ")))


@pytest.mark.parametrize("params", list(_grid(widgets.BackwardPairs)), ids=str)
def test_backward_pairs_are_the_products_of_torch_autograd(params):
    n, k = params["input_size"], params["kernel_size"]
    kw = {key: params[key] for key in ("stride", "padding", "dilation")}
    y, err = _torch_fits(lambda: F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), **kw))
    if err is not None:
        with pytest.raises(ValueError):
            scenes.backward_pairs(**params)
        return
    scene = scenes.backward_pairs(**params)
    K, L = k * k, y[0, 0].numel()
    assert scene["frames"] == K + n * n and scene["facts"]["out"] == list(y.shape[-2:])
    ones = F.unfold(torch.ones(1, 1, n, n), k, **kw)
    divisor = F.fold(torch.ones_like(ones), (n, n), k, **kw)[0, 0].long()
    assert scene["facts"]["pairs"] == divisor.tolist()
    pixel_of, tap_of = _partners(params)
    # random integers: each caption's sum is exact, compared with torch's gradients
    gen = torch.Generator().manual_seed(n * 100 + k)
    x = torch.randint(-5, 6, (1, 1, n, n), generator=gen).double().requires_grad_()
    w = torch.randint(-5, 6, (1, 1, k, k), generator=gen).double().requires_grad_()
    grad_y = torch.randint(-5, 6, y.shape, generator=gen).double()
    gx, gw = torch.autograd.grad(F.conv2d(x, w, **kw), (x, w), grad_y)
    values = {f"x{r}": v for r, v in enumerate(x.flatten().tolist())}
    values.update({f"g{l}": v for l, v in enumerate(grad_y.flatten().tolist())})
    values.update({f"w{t // k}{t % k}": v for t, v in enumerate(w.flatten().tolist())})
    for f in range(scene["frames"]):
        text = scenes.caption(scene, f)
        terms = text.split(" = ", 1)[1].split(":")[0]
        if f < K:  # weight tap t = (i, j): every pixel of grad_y, with the pixel the tap read
            i, j = divmod(f, k)
            assert scenes.frame_text(scene, f).endswith(f": weight.grad[{i}, {j}]")
            assert text.startswith(f"weight.grad[{i}, {j}] = ")
            want = {(f"g{l}", f"x{r}" if r >= 0 else "0") for l, r in enumerate(pixel_of[:, f])}
            assert _pairs(scene, 1, f, by_tag=True) == want
            assert _pairs(scene, 4, f) == {(g, x if x != "0" else "pad") for g, x in want}
            assert _pairs(scene, 2, f) == {(f"w{i}{j}", None)} and not _pairs(scene, 0, f)
            assert _product_sum(terms, values) == gw[0, 0, i, j].item()
            n_pad = int((pixel_of[:, f] < 0).sum())
            assert (f"the other {n_pad} pixel" in text) == (0 < n_pad < L)
        else:  # pixel r of x: every (tap, pixel of grad_y) whose product fold adds onto it
            r = f - K
            assert scenes.frame_text(scene, f).endswith(f": x.grad[{r // n}, {r % n}]")
            assert text.startswith(f"x.grad[{r // n}, {r % n}] = ")
            want = {(f"w{t // k}{t % k}", f"g{l}") for l, t in enumerate(tap_of[:, r]) if t >= 0}
            assert _pairs(scene, 3, f) == {(tap, g) for tap, g in want}
            assert _pairs(scene, 4, f, by_tag=True) == want
            assert _pairs(scene, 0, f) == {(f"x{r}", None)} and not _pairs(scene, 2, f)
            assert _product_sum(terms, values) == gx.flatten()[r].item()
            assert ("no block covers" in text) == (not want) == (divisor.flatten()[r] == 0)


def test_caption_rule_fills_values_terms_and_counts():
    scene = {
        "panels": [
            {"name": "x", "title": "", "rows": 1, "cols": 3, "ids": [0, -1, 2], "prefix": "x"}
        ],
        "marks": [
            {
                "panel": 0,
                "role": "block",
                "kind": "cells",
                "table": "m",
                "tags": "t",
                "tagLabels": ["a", "b", "c"],
            }
        ],
        "tables": {
            "m": {"width": 3, "data": [0, 1, 2, 2, -1, -1]},
            "t": {"width": 3, "data": [0, 1, 2, 1, -1, -1]},
            "v": {"width": 1, "data": [7, 8]},
            "w": {"width": 1, "data": [0, 1]},
        },
        "caption": {
            "templates": ["{0}: {terms:0} ({count:0})", "{0} only {terms:0}"],
            "which": "w",
            "values": "v",
        },
    }
    assert scenes.caption(scene, 0) == "7: a*x0 + c*x2 (3)"  # the padding cell is skipped
    assert scenes.caption(scene, 1) == "8 only b*x2"


def test_grid_scenes_keeps_convlab_messages():
    found, errors = scenes.grid_scenes(
        scenes.sliding_blocks, {"input_size": [3], "kernel_size": [2, 5]}
    )
    assert "error" not in found["3,2"] and found["3,5"] == {"error": 0}
    assert "kernel_size" in errors[0]
