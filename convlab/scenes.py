"""The geometry of the book's explorers, computed by convlab, drawn by ``explorer.js``.

An explorer shows labelled grids ("panels") and steps through frames; each
frame highlights some cells. Everything the reader sees is computed here, in
Python, from convlab's own ops (``unfold`` of an image of pixel numbers gives
every block, ``fold`` of ones gives every overlap count); the JavaScript
renderer (``convlab/explorer.js``) only looks values up and draws them. No
size formula, no index arithmetic of a convolution is written in JavaScript.

A *scene* is a JSON-able dict:

``panels``
    ``[{"name", "title", "rows", "cols", "ids" | "labels", "prefix",
    "rowLabels"?, "colLabels"?, "tally"?, "tallyColors"?}]``. ``ids``
    (row-major) are shown as ``prefix + id``; ``-1`` is a padding zero
    (hatched, dashed border, labelled ``0``) and ``-2`` a zero inserted
    between pixels (dotted border, labelled ``0``): neither is a pixel of the
    input. ``labels`` are shown as they are. A ``tally`` panel shows, in each
    cell, how many frames up to the current one highlighted it, filled with
    ``tallyColors[count]`` (one scale for every frame: :func:`count_colors`).
``frames``, ``frameLabel``
    How many frames, and a template naming one (the frame slider reads
    "frame 3 of 9: block l=2"), or a list of templates, one per caption
    template: frame ``f`` is named by ``frameLabel[which[f]]``.
``tables``
    ``name -> {"width": w, "data": [...]}``: a ``frames x w`` integer table,
    row-major (``-1`` entries are skipped).
``marks``
    ``[{"panel", "role", "kind": "cells" | "rect", "table", "tags"?,
    "tagLabels"?, "tally"?, "history"?}]``: in frame ``f`` a ``cells`` mark
    highlights the cells whose flat indices are row ``f`` of its table; a
    ``rect`` mark outlines ``[row, col, height, width]``. ``tags`` (a table
    of the same width) names each cell with ``tagLabels[tag]`` (a kernel tap,
    a weight). A ``history`` mark draws what frames ``0..f-1`` marked.
``caption``
    ``{"templates": [...], "which": table | None, "values": table}``: frame
    ``f`` uses template ``which[f]`` (or 0), filled by :func:`fill`.
``legend``, ``facts``
    ``[role, words]`` pairs for the legend, and numbers the tests compare
    with torch (``L``, output size, ...).

Chapters: 1 (sliding blocks, dilation), 2 (fold), 3 (matmul), 4 (transposed),
5 (backward).
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import torch

from . import ops, shapes

__all__ = [
    "caption",
    "fill",
    "pair_text",
    "offset_labels",
    "frame_text",
    "block_indices",
    "sliding_blocks",
    "dilation",
    "fold_accumulation",
    "matmul",
    "transpose",
    "backward_pairs",
    "grid_scenes",
]


def pair_text(pair) -> str:
    """A parameter as a reader writes it: ``3`` for ``(3, 3)``, ``(3, 1)`` otherwise."""
    return str(pair[0]) if pair[0] == pair[1] else str(tuple(pair))


def _table(rows, width=None):
    """A ``frames x width`` int table (``rows``: array-like, or a list of ragged lists)."""
    if isinstance(rows, np.ndarray):
        arr = rows.reshape(rows.shape[0], -1)
    else:
        width = width or max((len(r) for r in rows), default=0)
        arr = np.full((len(rows), width), -1, np.int64)
        for f, r in enumerate(rows):
            arr[f, : len(r)] = r
    return {"width": int(arr.shape[1]), "data": [int(v) for v in arr.ravel()]}


def _row(table, f):
    w = table["width"]
    return table["data"][f * w : (f + 1) * w]


def _panel(name, title, rows, cols, *, ids=None, labels=None, prefix="x", **extra):
    panel = {"name": name, "title": title, "rows": int(rows), "cols": int(cols)}
    if ids is not None:
        panel["ids"] = [int(v) for v in np.asarray(ids).ravel()]
        panel["prefix"] = prefix
    if labels is not None:
        panel["labels"] = [str(v) for v in np.asarray(labels, dtype=object).ravel()]
    panel.update(extra)
    return panel


def _numbered(name, title, rows, cols, first=(0, 0), **extra):
    """A panel whose rows and columns are numbered from ``first`` (a padded input's
    padding rows and columns: negative)."""
    row_labels = [str(r + first[0]) for r in range(rows)]
    col_labels = [str(c + first[1]) for c in range(cols)]
    return _panel(name, title, rows, cols, rowLabels=row_labels, colLabels=col_labels, **extra)


def _padded_x(title, padded_ids, p):
    """The padded input (pixels ``x0, x1, ...``, padding ``0``), numbered as in x."""
    Hp, Wp = padded_ids.shape
    return _numbered("x", title, Hp, Wp, (-p[0], -p[1]), ids=padded_ids)


def cell_label(panel, index: int) -> str:
    """The text of cell ``index`` of a panel (the renderer's rule): ``prefix+id`` or ``0``."""
    if "ids" in panel:
        v = panel["ids"][index]
        return "0" if v < 0 else f"{panel['prefix']}{v}"
    return panel["labels"][index] if "labels" in panel else ""


def _is_pad(panel, index):
    return "ids" in panel and panel["ids"][index] < 0


#: A placeholder of a caption template: ``{i}``, ``{kind:i}`` or ``{range:i:j:word}``.
PLACEHOLDER = re.compile(r"\{(?:(terms|count|s|range):)?(\d+)(?::(\d+):(\w+))?\}")


def fill(scene: dict, template: str, f: int) -> str:
    """``template`` filled for frame ``f``: the rule ``explorer.js`` applies, in Python.

    ``{i}`` is value ``i`` of row ``f`` of the caption's ``values`` table;
    ``{s:i}`` is ``"s"`` unless that value is 1 (plurals);
    ``{range:i:j:word}`` is ``"word 3"`` when values ``i`` and ``j`` are equal,
    else ``"words 1..3"``; ``{terms:m}`` is the products ``tag*label`` of
    mark ``m``'s cells (zeros that are not pixels skipped; ``0`` if none);
    ``{count:m}`` is how many cells mark ``m`` highlights.
    """
    tables = scene["tables"]
    cap = scene["caption"]
    values = _row(tables[cap["values"]], f) if cap.get("values") else []

    def sub(match):
        kind, arg = match.group(1), int(match.group(2))
        if kind is None:
            return str(values[arg])
        if kind == "s":
            return "" if values[arg] == 1 else "s"
        if kind == "range":
            lo, hi, word = values[arg], values[int(match.group(3))], match.group(4)
            return f"{word} {lo}" if lo == hi else f"{word}s {lo}..{hi}"
        mark = scene["marks"][arg]
        cells = _row(tables[mark["table"]], f)
        tags = _row(tables[mark["tags"]], f) if mark.get("tags") else [-1] * len(cells)
        cells = [(c, t) for c, t in zip(cells, tags) if c >= 0]
        if kind == "count":
            return str(len(cells))
        panel = scene["panels"][mark["panel"]]
        terms = [
            f"{mark['tagLabels'][t]}*{cell_label(panel, c)}"
            for c, t in cells
            if not _is_pad(panel, c)
        ]
        return " + ".join(terms) if terms else "0"

    return PLACEHOLDER.sub(sub, template)


def _which(scene: dict, f: int) -> int:
    """The caption template of frame ``f``: ``which[f]``, or 0 without a ``which`` table."""
    cap = scene["caption"]
    return _row(scene["tables"][cap["which"]], f)[0] if cap.get("which") else 0


def caption(scene: dict, f: int) -> str:
    """The caption of frame ``f`` (template ``which[f]``, filled by :func:`fill`).

    >>> s = sliding_blocks(4, 2, stride=2)
    >>> caption(s, 3)[:26]
    'Block l=3: rows 2..3 and c'
    """
    return fill(scene, scene["caption"]["templates"][_which(scene, f)], f)


def frame_text(scene: dict, f: int) -> str:
    """What the frame slider says of frame ``f``: ``"frame 3 of 9: block l=2"``
    (a list of ``frameLabel`` templates is indexed like the caption's)."""
    label = scene["frameLabel"]
    if isinstance(label, list):
        label = label[_which(scene, f)]
    return f"frame {f + 1} of {scene['frames']}: {fill(scene, label, f)}"


def _caption(templates, values, which=None):
    tables = {"values": _table(np.asarray(values, np.int64))}
    if which is not None:
        tables["which"] = _table(np.asarray(which, np.int64).reshape(-1, 1))
    return {
        "templates": templates,
        "which": "which" if which is not None else None,
        "values": "values",
    }, tables


#: The legend's words for each role (a scene may replace some).
LEGEND = {
    "block": "orange, thick outline: the cells of the current block",
    "span": "dashed box: the block's span",
    "column": "blue, thick outline: the current column of unfold(x)",
    "output": "green, thick outline: its cell in the block grid (a convolution's output)",
    "done": "pale blue: columns already added",
    "outline": "thick outline: the cells the current block adds onto",
    "tally": "shaded blue, darker with the number: how many blocks cover the pixel so far",
    "uncovered": "bold 0 in a dotted box: no block covers the pixel (yet)",
    "padding": "hatched, dashed border, labelled 0: padding, a zero that is not a pixel of x",
    "gap": "dotted border, labelled 0: a zero inserted between pixels, not a pixel of x",
    "added": "thick dashed outline: the rows and columns output_padding adds",
}


def count_colors(vmax: int) -> list:
    """The fill of a cell that counts ``0..vmax`` blocks: one scale for every frame,
    the scale of the static divisor pictures (:func:`convlab.draw.count_colors`)."""
    from . import draw  # draw imports this module: imported when first needed

    return draw.count_colors(vmax)


def _legend(roles, **words):
    return [[role, words.get(role, LEGEND[role])] for role in roles]


def _scene(panels, frames, frame_label, marks, tables, cap, legend, facts, title):
    return {
        "title": title,
        "panels": panels,
        "frames": int(frames),
        "frameLabel": frame_label,
        "marks": marks,
        "tables": tables,
        "caption": cap,
        "legend": legend,
        "facts": facts,
    }


def block_indices(input_size, kernel_size, stride, padding, dilation):
    """Which pixel lands where, by ``convlab.unfold`` of index images (chapter 1).

    Returns ``(size, k, s, p, d, out, pixel_ids, padded_ids, cells)``:
    ``pixel_ids`` (K x L) is ``unfold(ids + 1) - 1`` for the image of pixel
    numbers ``ids`` (so padding reads ``-1``); ``cells`` (L x K) is the flat
    index, in the padded image, of every cell of every block: ``unfold`` of
    the padded image's own index.
    """
    size, k, s, pads, d = shapes.normalize(
        input_size, kernel_size, stride, padding, dilation, ndim=2
    )
    p = tuple(pair[0] for pair in pads)
    out = shapes.conv_output_shape(size, k, stride=s, padding=p, dilation=d)
    H, W = size
    ids = torch.arange(H * W).view(1, 1, H, W) + 1
    pixel_ids = ops.unfold(ids, k, d, p, s)[0].numpy() - 1
    Hp, Wp = H + 2 * p[0], W + 2 * p[1]
    padded = torch.arange(Hp * Wp).view(1, 1, Hp, Wp)
    cells = ops.unfold(padded, k, d, 0, s)[0].numpy().T.copy()
    padded_ids = np.full((Hp, Wp), -1, np.int64)
    padded_ids[p[0] : p[0] + H, p[1] : p[1] + W] = np.arange(H * W).reshape(H, W)
    return size, k, s, p, d, out, pixel_ids, padded_ids, cells


def offset_labels(k) -> list:
    """``"(i,j)"`` for each row of the unfolded matrix (kernel offsets, row-major)."""
    return [f"({i},{j})" for i in range(k[0]) for j in range(k[1])]


def _unfold_panel(title, pixel_ids, k):
    """The unfolded matrix: rows named by kernel offset ``(i,j)``, columns by ``l``."""
    K, L = pixel_ids.shape
    return _panel(
        "cols",
        title,
        K,
        L,
        ids=pixel_ids,
        rowLabels=offset_labels(k),
        colLabels=[str(l) for l in range(L)],
    )


def _rects_of(cells, cols):
    """``[row, col, height, width]`` around each row of flat ``cells`` in a grid of ``cols``."""
    r, c = cells // cols, cells % cols
    r0, c0 = r.min(axis=1), c.min(axis=1)
    return np.stack([r0, c0, r.max(axis=1) - r0 + 1, c.max(axis=1) - c0 + 1], axis=1)


def _nth(d):
    """The ordinal suffix of a dilation ("2nd", "3rd", "4th"; a pair takes its first)."""
    n = d[0]
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10 if n % 100 not in (11, 12, 13) else 0, "th")


def _pad_note(p):
    return f", padding={pair_text(p)} per side" if any(p) else ""


def sliding_blocks(input_size=5, kernel_size=3, stride=1, padding=0, dilation=1) -> dict:
    """The blocks of ``unfold``: padded input, unfolded matrix, output (chapter 1).

    Frame ``l`` is block ``l``: its ``K`` cells in the padded input (the
    dashed box is its span, ``d*(k-1)+1`` wide), column ``l`` of
    ``unfold(x)`` (``K = k_h*k_w`` rows, ``L = prod(out)`` columns), and
    output cell ``divmod(l, W_out)``, where
    ``out = floor((in + 2p - d(k-1) - 1)/s) + 1``.
    """
    size, k, s, p, d, out, pixel_ids, padded_ids, cells = block_indices(
        input_size, kernel_size, stride, padding, dilation
    )
    (H, W), (Ho, Wo) = size, out
    Hp, Wp = padded_ids.shape
    K, L = pixel_ids.shape
    panels = [
        _padded_x(f"input x: {H}×{W}{_pad_note(p)} (row and column numbers of x)", padded_ids, p),
        _unfold_panel(f"unfold(x): K={K} rows (kernel taps (i,j)) × L={L} columns", pixel_ids, k),
        _panel(
            "y",
            f"block grid: {Ho}×{Wo}, a convolution's output size (cell l = block l)",
            Ho,
            Wo,
            labels=np.arange(L),
        ),
    ]
    ls = np.arange(L)
    tables = {
        "block": _table(cells),
        "span": _table(_rects_of(cells, Wp)),
        "column": _table(np.stack([0 * ls, ls, 0 * ls + K, 0 * ls + 1], 1)),
        "out": _table(np.stack([ls // Wo, ls % Wo, 0 * ls + 1, 0 * ls + 1], 1)),
    }
    marks = [
        {"panel": 0, "role": "block", "kind": "cells", "table": "block"},
        {"panel": 0, "role": "span", "kind": "rect", "table": "span"},
        {"panel": 1, "role": "column", "kind": "rect", "table": "column"},
        {"panel": 2, "role": "output", "kind": "rect", "table": "out"},
    ]
    spans = _rects_of(cells, Wp)
    n_pad = (pixel_ids < 0).sum(axis=0)
    values = np.stack(
        [
            ls + 1,
            ls,
            spans[:, 0] - p[0],
            spans[:, 0] + spans[:, 2] - 1 - p[0],
            spans[:, 1] - p[1],
            spans[:, 1] + spans[:, 3] - 1 - p[1],
            ls // Wo,
            ls % Wo,
            n_pad,
        ],
        1,
    )
    every = "" if d == (1, 1) else f", every {pair_text(d)}{_nth(d)} (dilation={pair_text(d)})"
    head = (
        f"Block l={{1}}: {{range:2:3:row}} and {{range:4:5:column}} of x{every}; its "
        f"{K} value{'s' if K > 1 else ''} become{'' if K > 1 else 's'} column {{1}} of "
        f"unfold(x) and cell ({{6}}, {{7}}) of the block grid"
    )
    outside = f"x has rows 0..{H - 1} and columns 0..{W - 1}"
    templates = [
        head + ".",
        head + f"; 1 of them is a padding zero ({outside}).",
        head + f"; {{8}} of them are padding zeros ({outside}).",
    ]
    cap, cap_tables = _caption(templates, values, which=np.minimum(n_pad, 2))
    tables.update(cap_tables)
    title = (
        f"unfold with kernel_size={pair_text(k)}, stride={pair_text(s)}, "
        f"padding={pair_text(p)}, dilation={pair_text(d)} on a {H}×{W} input"
    )
    facts = {"L": L, "K": K, "out": [Ho, Wo], "padded": [Hp, Wp]}
    legend = _legend(
        ["block", "span", "column", "output", "padding"]
        if any(p)
        else ["block", "span", "column", "output"]
    )
    return _scene(panels, L, "block l={1}", marks, tables, cap, legend, facts, title)


def dilation(input_size=9, kernel_size=3) -> dict:
    """One block of a ``kernel_size`` kernel as ``dilation`` grows (chapter 1).

    Frame ``i`` is dilation ``i+1``: the taps stay ``k x k``, ``d`` pixels
    apart; the block spans ``d*(k-1)+1`` pixels (its receptive field). The
    block shown is the one nearest the centre, found with ``unfold`` of the
    image of pixel numbers. Frames go up to the largest dilation that fits.
    """
    n = shapes._as_int(input_size, "input_size")
    k = shapes._as_int(kernel_size, "kernel_size")
    shapes.normalize((n, n), k)  # the dilation-1 block must fit
    dilations = [1] if k == 1 else list(range(1, (n - 1) // (k - 1) + 1))
    taps, spans, values = [], [], []
    for d in dilations:
        *_, out, _, _, cells = block_indices(n, k, 1, 0, d)
        span = d * (k - 1) + 1
        top = (n - span) // 2
        block = cells[top * out[1] + top]  # the block whose top-left pixel is (top, top)
        taps.append(block)
        spans.append(_rects_of(block[None], n)[0])
        values.append([d, span, span, k * k, out[0] * out[1]])
    tables = {
        "taps": _table(np.array(taps)),
        "tags": _table(np.tile(np.arange(k * k), (len(dilations), 1))),
        "span": _table(np.array(spans)),
    }
    tap_names = [f"{i},{j}" for i in range(k) for j in range(k)]
    marks = [
        {
            "panel": 0,
            "role": "block",
            "kind": "cells",
            "table": "taps",
            "tags": "tags",
            "tagLabels": tap_names,
        },
        {"panel": 0, "role": "span", "kind": "rect", "table": "span"},
    ]
    tail = (
        f"so one block spans d*(k-1)+1 = {{1}} pixels per side (a {{1}}×{{1}} receptive "
        f"field) and still reads {k * k} value{'s' if k > 1 else ''}; with stride 1 and no "
        f"padding a {n}×{n} input has L = {{4}} such block{{s:4}}."
    )
    templates = [
        f"dilation={{0}}: the {k}×{k} taps are neighbours, " + tail,
        f"dilation={{0}}: the {k}×{k} taps are {{0}} pixels apart, centre to centre ({{5}} "
        "skipped between neighbouring taps), " + tail,
        f"a 1×1 kernel has nothing to spread: every dilation reads the same single pixel, "
        f"and a {n}×{n} input has L = {{4}} blocks.",
    ]
    values = [v + [v[0] - 1] for v in values]
    which = [2 if k == 1 else int(d > 1) for d in dilations]
    cap, cap_tables = _caption(templates, values, which=which)
    tables.update(cap_tables)
    panels = [
        _panel(
            "x",
            f"input x: {n}×{n}, one block of a {k}×{k} kernel",
            n,
            n,
            ids=np.arange(n * n),
        )
    ]
    facts = {"dilations": dilations, "L": [v[4] for v in values]}
    title = f"dilation spreads a {k}×{k} block over a {n}×{n} input"
    legend = _legend(
        ["block", "span"],
        block="orange, thick outline: the taps of one block, tagged with their offset (i,j)",
        span="dashed box: the block's span, its receptive field",
    )
    return _scene(panels, len(dilations), "dilation={0}", marks, tables, cap, legend, facts, title)


def fold_accumulation(input_size=5, kernel_size=3, stride=1, padding=0, dilation=1) -> dict:
    """``fold`` adding the blocks back one at a time (chapter 2).

    Frame ``l`` has added columns ``0..l``: each cell of the padded image
    counts the blocks added onto it so far; the last frame's counts inside the
    image are ``fold_divisor`` = ``fold(unfold(ones))``. The counts after
    block ``l`` are ``fold`` of a matrix of ones whose columns after ``l``
    are zero.
    """
    size, k, s, p, d, _, pixel_ids, padded_ids, cells = block_indices(
        input_size, kernel_size, stride, padding, dilation
    )
    (H, W) = size
    Hp, Wp = padded_ids.shape
    K, L = pixel_ids.shape
    ones = torch.ones(1, K, L, dtype=torch.float64)
    ls = np.arange(L)
    # frame l's counts: fold of the columns 0..l (one batched fold for every frame)
    added = (torch.arange(L)[None, :] <= torch.arange(L)[:, None]).to(torch.float64)
    counts = ops.fold(added[:, None, :].expand(L, K, L), size, k, d, p, s)[:, 0].long()
    inside_max = counts.flatten(1).max(dim=1).values.tolist()
    uncovered = (counts == 0).flatten(1).sum(dim=1).tolist()
    final = ops.fold(ones, size, k, d, p, s)[0, 0].long()
    padded_final = ops.fold(ones, (Hp, Wp), k, d, 0, s)[0, 0].long()
    vmax = int(padded_final.max())
    panels = [
        _unfold_panel(
            f"columns of unfold(x): K={K} rows (kernel taps (i,j)) × L={L}", pixel_ids, k
        ),
        _panel(
            "img",
            f"blocks added onto each pixel of the {Hp}×{Wp} image"
            + (f" (x padded by {pair_text(p)}: fold crops the padding)" if any(p) else ""),
            Hp,
            Wp,
            ids=padded_ids,
            tally=1,
            tallyColors=count_colors(vmax),
        ),
    ]
    tables = {
        "done": _table(np.stack([0 * ls, 0 * ls, 0 * ls + K, ls], 1)),
        "column": _table(np.stack([0 * ls, ls, 0 * ls + K, 0 * ls + 1], 1)),
        "block": _table(cells),
    }
    marks = [
        {"panel": 0, "role": "done", "kind": "rect", "table": "done"},
        {"panel": 0, "role": "column", "kind": "rect", "table": "column"},
        {"panel": 1, "role": "outline", "kind": "cells", "table": "block", "tally": 1},
    ]
    values = np.stack([ls, ls + 1, inside_max, uncovered], 1)
    head = (
        f"After block l={{0}} ({{1}} of {L} added): highest count so far {{2}}; "
        f"uncovered pixels {{3}} of {H * W}."
    )
    last = (
        "After the last block, l={0}: these counts are fold_divisor, the divisor of "
        "fold(unfold(x)); highest count {2}"
    )
    which = np.where(ls < L - 1, 0, np.where(np.asarray(uncovered) > 0, 2, 1))
    cap, cap_tables = _caption(
        [
            head,
            last + "; no pixel is uncovered.",
            last + f"; {{3}} of the {H * W} pixels are uncovered (count 0): "
            "fold(unfold(x)) / divisor is NaN there: those pixels of x are lost.",
        ],
        values,
        which=which,
    )
    tables.update(cap_tables)
    title = (
        f"fold with kernel_size={pair_text(k)}, stride={pair_text(s)}, "
        f"padding={pair_text(p)}, dilation={pair_text(d)} onto a {H}×{W} image"
    )
    facts = {"L": L, "divisor": final.numpy().tolist(), "padded": [Hp, Wp]}
    roles = ["done", "column", "outline", "tally", "uncovered"]
    legend = _legend(roles + ["padding"] if any(p) else roles)
    return _scene(panels, L, "block l={0}", marks, tables, cap, legend, facts, title)


def matmul(
    input_size=4,
    kernel_size=2,
    stride=1,
    padding=0,
    dilation=1,
    out_channels=2,
    in_channels=1,
    groups=1,
) -> dict:
    """Convolution as ``weight.view(C_out, -1) @ unfold(x)``, one output value a frame (chapter 3).

    Frame ``f`` is output channel ``c = f // L`` at column ``l = f % L``:
    ``y[c, l] = weight.view(C_out, -1)[c] @ unfold(x)[rows of c's group, l]``.
    The input pixels are numbered as in ``x.flatten()`` (channel ``ci``'s
    pixels are ``ci*H*W ...``); with ``groups=g`` the rows of ``unfold(x)``
    split into ``g`` contiguous blocks of ``C_in/g * K`` (channel-major) and
    output channel ``c`` reads block ``c // (C_out/g)`` only. Its block in
    each input channel of its group, its column (each entry tagged with the
    weight ``a0, a1, ...`` of row ``c`` that multiplies it) and its weight row
    are highlighted.
    """
    size, k, s, p, d, out, pixel_ids, padded_ids, cells = block_indices(
        input_size, kernel_size, stride, padding, dilation
    )
    Co = shapes._as_int(out_channels, "out_channels")
    Ci = shapes._as_int(in_channels, "in_channels")
    g = shapes._as_int(groups, "groups")
    for name, v in (("out_channels", Co), ("in_channels", Ci), ("groups", g)):
        if v < 1:
            raise ValueError(f"{name}={v!r} is invalid: it must be >= 1")
    if Co > 8:
        raise ValueError(f"out_channels={Co} is too many to draw: the explorer names at most 8")
    if Ci % g or Co % g:
        raise ValueError(
            f"groups={g} must divide in_channels={Ci} and out_channels={Co} "
            "(torch refuses otherwise)"
        )
    (H, W), (Ho, Wo) = size, out
    Hp, Wp = padded_ids.shape
    K, L = pixel_ids.shape
    Cg, Og = Ci // g, Co // g  # input and output channels per group
    R = Cg * K  # the length of a weight row
    letters = "abcdefgh"
    w_labels = np.array([[f"{letters[c]}{j}" for j in range(R)] for c in range(Co)])
    offsets = offset_labels(k)
    HW = H * W
    panels = [
        _panel(
            f"x{ci}" if Ci > 1 else "x",
            (f"input channel {ci}: x{ci * HW}..x{ci * HW + HW - 1}" if Ci > 1 else "input x")
            + f": {H}×{W}{_pad_note(p)}",
            Hp,
            Wp,
            ids=np.where(padded_ids < 0, -1, padded_ids + ci * HW),
        )
        for ci in range(Ci)
    ]
    col_ids = np.concatenate([np.where(pixel_ids < 0, -1, pixel_ids + ci * HW) for ci in range(Ci)])
    panels += [
        _panel(
            "cols",
            f"cols = unfold(x): C_in·K={Ci * K} × L={L}; rows: "
            + ("channel:tap (i,j)" if Ci > 1 else "kernel tap (i,j)")
            + (f"; {g} groups of {R} rows" if g > 1 else ""),
            Ci * K,
            L,
            ids=col_ids,
            rowLabels=[f"{ci}:{o}" if Ci > 1 else o for ci in range(Ci) for o in offsets],
        ),
        _panel(
            "w",
            f"weight.view({Co}, {R})" + (f", {g} groups of {Og} rows" if g > 1 else ""),
            Co,
            R,
            labels=w_labels,
            rowLabels=[f"c={c}" for c in range(Co)],
        ),
        _panel(
            "y",
            f"weight @ cols: {Co} × {L} (output {Co}×{Ho}×{Wo})",
            Co,
            L,
            labels=[[f"y{c},{l}" for l in range(L)] for c in range(Co)],
        ),
    ]
    fs = np.arange(Co * L)
    co, ls = fs // L, fs % L
    group = co // Og
    first_row = group * R  # the group's first row of unfold(x)
    rows = first_row[:, None] + np.arange(R)[None, :]
    tables = {
        "colcells": _table(rows * L + ls[:, None]),
        "coltags": _table(co[:, None] * R + np.arange(R)[None, :]),
        "row": _table(np.stack([co, 0 * fs, 0 * fs + 1, 0 * fs + R], 1)),
        "out": _table(np.stack([co, ls, 0 * fs + 1, 0 * fs + 1], 1)),
    }
    marks = []
    for ci in range(Ci):
        in_group = (group * Cg <= ci) & (ci < (group + 1) * Cg)
        tables[f"block{ci}"] = _table(np.where(in_group[:, None], cells[ls], -1))
        marks.append({"panel": ci, "role": "block", "kind": "cells", "table": f"block{ci}"})
    marks += [
        {
            "panel": Ci,
            "role": "column",
            "kind": "cells",
            "table": "colcells",
            "tags": "coltags",
            "tagLabels": [str(v) for v in w_labels.ravel()],
        },
        {"panel": Ci + 1, "role": "block", "kind": "rect", "table": "row"},
        {"panel": Ci + 2, "role": "output", "kind": "rect", "table": "out"},
    ]
    n_pad = np.array([(col_ids[r, l] < 0).sum() for r, l in zip(rows, ls)])
    values = np.stack(
        [
            co,
            ls // Wo,
            ls % Wo,
            ls,
            n_pad,
            first_row,
            first_row + R - 1,
            group,
            group * Cg,
            group * Cg + Cg - 1,
        ],
        1,
    )
    head = (
        "y[c={0}, l={3}] (channel {0}, output pixel ({1}, {2})) = row {0} of "
        "weight.view(C_out, -1) · column {3} of unfold(x)"
    )
    if g > 1:
        head += ", {range:5:6:row} (group {7}: input {range:8:9:channel})"
    head += f" = {{terms:{Ci}}}"
    cap, cap_tables = _caption(
        [head + ".", head + " (+ {4} padding zero{s:4})."], values, which=(n_pad > 0).astype(int)
    )
    tables.update(cap_tables)
    title = (
        f"conv2d as a matrix product: {Ci} input and {Co} output channel"
        f"{'s' if Co > 1 else ''}, groups={g}, kernel_size={pair_text(k)}, "
        f"stride={pair_text(s)}, padding={pair_text(p)}, dilation={pair_text(d)}, "
        f"{H}×{W} input"
    )
    facts = {"L": L, "K": K, "out": [Co, Ho, Wo], "rowLength": R}
    legend = _legend(
        ["block", "column", "output", "padding"],
        block="orange, thick outline: the block in x (each input channel it reads), and the "
        "row of weights",
        column="blue, thick outline: the rows of its column of unfold(x) that the row "
        "multiplies, each value tagged with its weight",
        output="green, thick outline: the output value y[c, l]",
    )
    return _scene(panels, Co * L, "y[c={0}, l={3}]", marks, tables, cap, legend, facts, title)


def transpose(
    input_size=3, kernel_size=3, stride=2, padding=1, output_padding=0, dilation=1
) -> dict:
    """Transposed convolution as scatter and as gather, one output pixel a frame (chapter 4).

    Scatter: input pixel ``(r, c)`` adds ``x[r, c] * w[i, j]`` at
    ``(r*s + i*d - p, c*s + j*d - p)``. Gather: the input with ``s-1``
    zeros inserted between pixels and ``q = d*(k-1) - p`` padding (plus
    ``output_padding`` at the bottom and right; negative ``q`` crops) is read
    by the kernel rotated 180 degrees; its windows are the blocks of
    ``unfold`` of that canvas. Output size
    ``(in-1)*s - 2p + d*(k-1) + output_padding + 1``.
    """
    n = shapes._as_int(input_size, "input_size")
    O = shapes.conv_transpose_output_shape(
        n,
        kernel_size,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
    )[0]
    k, s = shapes._as_int(kernel_size, "kernel_size"), shapes._as_int(stride, "stride")
    p, op = shapes._as_int(padding, "padding"), shapes._as_int(output_padding, "output_padding")
    d = shapes._as_int(dilation, "dilation")
    q = d * (k - 1) - p
    G = (n - 1) * s + 1 + 2 * q + op
    # the canvas: pixel numbers where they land, -2 for a zero inserted between
    # pixels, -1 for a padding zero
    spread = np.full(((n - 1) * s + 1,) * 2, -2, np.int64)
    spread[::s, ::s] = np.arange(n * n).reshape(n, n)
    canvas = _pad_or_crop(spread, q, q + op)
    assert canvas.shape == (G, G)
    # gather windows: unfold of the canvas's own index (stride 1, dilation d)
    index = torch.arange(G * G).view(1, 1, G, G)
    windows = ops.unfold(index, k, d, 0, 1)[0].numpy().T  # (O*O, k*k)
    rotated = np.arange(k * k)[::-1]  # window tap (a, b) carries weight (k-1-a, k-1-b)
    flat = canvas.ravel()
    scatter_cells, scatter_tags, counts = [], [], []
    for f in range(O * O):
        reads = flat[windows[f]]
        keep = reads >= 0
        scatter_cells.append(list(reads[keep]))
        scatter_tags.append(list(rotated[keep]))
        counts.append(int(keep.sum()))
    tap_names = [f"w{i}{j}" for i in range(k) for j in range(k)]
    if q >= 0:
        border = f"padded {q}" + (f" top/left, {q}+{op} bottom/right" if op else "")
    else:
        border = f"cropped {-q}" + (f" top/left, {-q}-{op} bottom/right" if op else "")
    inserted = f"{s - 1} zero{'s' if s != 2 else ''} inserted between pixels, " if s > 1 else ""
    panels = [
        _panel("x", "scatter: input x (each pixel stamps the kernel)", n, n, ids=np.arange(n * n)),
        _panel(
            "g",
            f"gather: {inserted}{border}; the kernel rotated 180° reads it",
            G,
            G,
            ids=canvas,
        ),
        _panel("y", f"output y: {O}×{O}", O, O, labels=[""] * (O * O)),
    ]
    fs = np.arange(O * O)
    tables = {
        "scatter": _table(scatter_cells, k * k),
        "scattertags": _table(scatter_tags, k * k),
        "window": _table(windows),
        "windowtags": _table(np.tile(rotated, (O * O, 1))),
        "out": _table(np.stack([fs // O, fs % O, 0 * fs + 1, 0 * fs + 1], 1)),
        "bottom": _table(np.tile([O - op, 0, op, O], (O * O, 1))),
        "right": _table(np.tile([0, O - op, O, op], (O * O, 1))),
    }
    marks = [
        {
            "panel": 0,
            "role": "block",
            "kind": "cells",
            "table": "scatter",
            "tags": "scattertags",
            "tagLabels": tap_names,
        },
        {
            "panel": 1,
            "role": "column",
            "kind": "cells",
            "table": "window",
            "tags": "windowtags",
            "tagLabels": tap_names,
        },
        {"panel": 2, "role": "done", "kind": "rect", "table": "out", "history": 1},
        {"panel": 2, "role": "output", "kind": "rect", "table": "out"},
    ]
    if op:
        marks += [
            {"panel": 2, "role": "added", "kind": "rect", "table": "bottom"},
            {"panel": 2, "role": "added", "kind": "rect", "table": "right"},
        ]
    values = np.stack([fs // O, fs % O, counts], 1)
    counts = np.asarray(counts)
    cap, cap_tables = _caption(
        [
            "y[{0}, {1}] = 0: no stamp reaches it, and the gather window reads only zeros.",
            "y[{0}, {1}] = {terms:0}: the stamp of this pixel lands here (scatter) and the "
            "rotated kernel reads it (gather): the same single product.",
            "y[{0}, {1}] = {terms:0}: the stamps of these pixels land here (scatter) and the "
            "rotated kernel reads them (gather): the same {2} products.",
        ],
        values,
        which=np.minimum(counts, 2),
    )
    tables.update(cap_tables)
    title = (
        f"conv_transpose2d with kernel_size={k}, stride={s}, padding={p}, "
        f"output_padding={op}, dilation={d} on a {n}×{n} input"
    )
    facts = {"out": [O, O], "canvas": [G, G], "q": q}
    roles = ["block", "column", "output", "done"]
    roles += ["added"] if op else []
    roles += ["gap"] if s > 1 else []
    roles += ["padding"] if q > 0 or op else []
    legend = _legend(
        roles,
        block="orange (scatter): the pixels whose stamps reach the output pixel, tagged with "
        "the tap that lands there",
        column="blue (gather): the rotated kernel's window, each tap tagged with its weight",
        output="green: the output pixel",
        done="pale blue: output pixels already computed",
        padding="hatched, dashed border, labelled 0: padding, a zero that is not a pixel of x",
    )
    return _scene(panels, O * O, "y[{0}, {1}]", marks, tables, cap, legend, facts, title)


def _pad_or_crop(a, before, after):
    """``a`` with ``before`` rows/columns of ``-1`` added top/left and ``after`` bottom/right
    (a negative amount crops that many instead)."""
    out = np.pad(a, ((max(before, 0), max(after, 0)),) * 2, constant_values=-1)
    top, end = max(-before, 0), out.shape[0] - max(-after, 0)
    return out[top:end, top:end]


def backward_pairs(input_size=5, kernel_size=3, stride=1, padding=1, dilation=1) -> dict:
    """The products that sum into each gradient of ``y = conv2d(x, weight)``, one channel
    (chapter 5).

    With ``cols = unfold(x)`` (``K x L``) and ``g = grad_y.view(1, -1)``:
    ``weight.grad.view(1, -1) = g @ cols.T``, so tap ``(i, j)`` sums
    ``grad_y[a, b] * x_pad[a*s + i*d, b*s + j*d]`` over every output pixel
    ``(a, b)`` (row ``(i, j)`` of ``unfold(x)``; padding reads 0); and
    ``x.grad = fold(weight.view(-1, 1) @ g)``, so pixel ``(r, c)`` sums
    ``weight[i, j] * grad_y[a, b]`` over every entry ``(i, j), (a, b)`` of
    ``unfold(x)`` that holds it, ``a*s + i*d - p == r`` and
    ``b*s + j*d - p == c`` (none where no block covers it). Frames
    ``0..K-1`` are the taps, then one frame per pixel of x; each cell in a
    product is tagged with its partner's name.
    """
    size, k, s, p, d, out, pixel_ids, padded_ids, cells = block_indices(
        input_size, kernel_size, stride, padding, dilation
    )
    (H, W), (Ho, Wo) = size, out
    Hp, Wp = padded_ids.shape
    K, L = pixel_ids.shape
    HW = H * W
    # where each pixel of x lies in the padded image
    at = np.empty(HW, np.int64)
    at[padded_ids[padded_ids >= 0]] = np.flatnonzero(padded_ids >= 0)
    # pixel r's products: the entries (tap t, block l) of unfold(x) that hold it
    pairs = [np.nonzero(pixel_ids == r) for r in range(HW)]
    counts = ops.fold(torch.ones(1, K, L, dtype=torch.float64), size, k, d, p, s)[0, 0].long()
    assert [len(t) for t, _ in pairs] == counts.flatten().tolist()
    ls, taps, none = np.arange(L), np.arange(K), [[]] * HW
    x_names = [f"x{v}" if v >= 0 else "pad" for v in padded_ids.ravel()]
    tap_names = [f"w{i}{j}" for i in range(k[0]) for j in range(k[1])]
    panels = [
        _padded_x(f"input x: {H}×{W}{_pad_note(p)} (x0..x{HW - 1}: x.flatten())", padded_ids, p),
        _numbered("w", f"weight: {k[0]}×{k[1]}, wij = weight[0, 0, i, j]", *k, labels=tap_names),
        _numbered(
            "g",
            f"grad_y: {Ho}×{Wo}, the gradient of y (g0..g{L - 1}: grad_y.flatten())",
            Ho,
            Wo,
            ids=np.arange(L),
            prefix="g",
        ),
    ]
    tables = {
        "tap": _table([[t] for t in taps] + none, 1),
        "reads": _table([cells[:, t] for t in taps] + none, L),
        "readtags": _table([ls] * K + none, L),
        "pixel": _table([[]] * K + [[at[r]] for r in range(HW)], 1),
        "taps": _table([[]] * K + [t for t, _ in pairs]),
        "taptags": _table([[]] * K + [l for _, l in pairs]),
        "grads": _table([ls] * K + [l for _, l in pairs]),
        # a pixel of grad_y is tagged with its partner: a cell of x, then a tap
        "gradtags": _table([cells[:, t] for t in taps] + [Hp * Wp + t for t, _ in pairs]),
    }
    g_names = [f"g{l}" for l in ls]
    marks = [
        {"panel": 0, "role": "block", "kind": "cells", "table": "pixel"},
        {
            "panel": 0,
            "role": "column",
            "kind": "cells",
            "table": "reads",
            "tags": "readtags",
            "tagLabels": g_names,
        },
        {"panel": 1, "role": "block", "kind": "cells", "table": "tap"},
        {
            "panel": 1,
            "role": "column",
            "kind": "cells",
            "table": "taps",
            "tags": "taptags",
            "tagLabels": g_names,
        },
        {
            "panel": 2,
            "role": "output",
            "kind": "cells",
            "table": "grads",
            "tags": "gradtags",
            "tagLabels": x_names + tap_names,
        },
    ]
    n_pad = (pixel_ids < 0).sum(axis=1)
    n = counts.flatten().numpy()
    rc = np.arange(HW)
    values = np.concatenate(
        [
            np.stack([taps // k[1], taps % k[1], L - n_pad, n_pad], 1),
            np.stack([rc // W, rc % W, n, rc], 1),
        ]
    )
    which = np.concatenate([np.where(n_pad == 0, 0, np.where(n_pad < L, 1, 2)), 3 + (n == 0)])
    row = "grad_y.flatten() with row ({0},{1}) of unfold(x)"
    products = (
        "weight.grad[{0}, {1}] = {terms:1}: the {2} product{s:2} in the dot product of "
        + row
        + ", each a pixel of grad_y times the pixel of x that tap ({0},{1}) read for it"
    )
    fold = "fold(weight.view(-1, 1) @ grad_y.view(1, -1))"
    templates = [
        products + ".",
        products + "; for the other {3} pixel{s:3} of grad_y it read padding, a 0.",
        "weight.grad[{0}, {1}] = 0: the dot product of " + row + " is 0, for each of the "
        "{3} pixel{s:3} of grad_y tap ({0},{1}) read padding.",
        f"x.grad[{{0}}, {{1}}] = {{terms:4}}: the {{2}} product{{s:2}} that {fold} adds onto "
        "x{3}, one per entry of unfold(x) holding x{3}: the tap of its row times the pixel "
        "of grad_y of its column.",
        f"x.grad[{{0}}, {{1}}] = 0: no block covers x{{3}}, so no entry of unfold(x) holds it "
        f"and {fold} adds nothing onto it, whatever grad_y is.",
    ]
    cap, cap_tables = _caption(templates, values, which=which)
    tables.update(cap_tables)
    title = (
        f"the products behind the gradients of conv2d, one channel: "
        f"kernel_size={pair_text(k)}, stride={pair_text(s)}, padding={pair_text(p)}, "
        f"dilation={pair_text(d)}, {H}×{W} input"
    )
    facts = {"out": [Ho, Wo], "K": K, "L": L, "pairs": counts.tolist()}
    legend = _legend(
        ["block", "column", "output"] + (["padding"] if any(p) else []),
        block="orange, thick outline: the entry whose gradient the frame sums (a tap of "
        "weight, then a pixel of x)",
        column="blue, thick outline: what it multiplies (the pixels of x the tap read, or the "
        "taps that read the pixel), each tagged with its partner in grad_y",
        output="green, thick outline: the pixels of grad_y in those products, each tagged with "
        "its partner (pad: a padding zero, the product is 0)",
    )
    frame_label = ["weight.grad[{0}, {1}]"] * 3 + ["x.grad[{0}, {1}]"] * 2
    return _scene(panels, K + HW, frame_label, marks, tables, cap, legend, facts, title)


def grid_scenes(build, grid: dict) -> tuple[dict, list]:
    """Every scene of ``build`` over the product of ``grid`` (``name -> values``).

    Returns ``(scenes, errors)``: ``scenes[key]`` (``key`` the values joined
    by ``,`` in ``grid``'s order) is a scene, or ``{"error": i}`` where
    ``errors[i]`` is convlab's message for parameters that do not fit.
    """
    names = list(grid)
    scenes, errors = {}, []
    for values in itertools.product(*(grid[n] for n in names)):
        key = ",".join(map(str, values))
        try:
            scenes[key] = build(**dict(zip(names, values)))
        except (ValueError, TypeError) as err:
            msg = str(err)
            if msg not in errors:
                errors.append(msg)
            scenes[key] = {"error": errors.index(msg)}
    return scenes, errors
