"""Pure matplotlib drawing for the book's figures (no widgets, no pyplot state).

Every figure is labelled so that nothing relies on colour alone: padding cells
are hatched with a dashed inner border and show their value ``0`` (pixels are
``x0``, ``x1``, ...), the current block is drawn with thick outlines, the
current column and output pixel are outlined and named in the caption, and
the palette (Okabe & Ito) is colour-blind safe. The explorers, which move
through frames, are drawn in the browser (``convlab.scenes`` and
``convlab/explorer.js``), not here.

The pieces:

- :func:`block_layout` computes, with ``convlab.unfold`` on an integer index
  image, which input pixel every entry of the unfolded matrix comes from;
- :func:`draw_grid` draws a labelled grid of cells on an ``Axes``;
- the static pictures (:func:`sliding_blocks_picture`, :func:`divisor_picture`,
  :func:`conv_matrix_picture`) are :class:`Picture` objects: inline SVG with
  real text, in a white card, that scales with the page down to a min width
  that keeps every label legible (then it scrolls sideways).

Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
"""

from __future__ import annotations

import hashlib
import html
import io
import itertools
import math
import re
from dataclasses import dataclass

import matplotlib
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import ops, scenes, shapes

__all__ = [
    "PALETTE",
    "BlockLayout",
    "block_layout",
    "draw_grid",
    "Picture",
    "svg_markup",
    "count_shade",
    "count_colors",
    "TINT",
    "sliding_blocks_picture",
    "block_starts_picture",
    "divisor_picture",
    "conv_matrix_picture",
    "conv_matrix_pair_picture",
    "scatter_picture",
    "gather_1d_picture",
    "gather_1d_reads",
    "tap_label",
    "phase_taps_picture",
    "values_picture",
    "fold_adds_picture",
    "taps_picture",
    "two_sizes_picture",
]

#: Okabe & Ito's colour-blind-safe palette, by role.
PALETTE = {
    "input": "#FFFFFF",
    "padding": "#DDDDDD",
    "block": "#E69F00",  # orange
    "column": "#56B4E9",  # sky blue
    "output": "#009E73",  # bluish green
    "edge": "#000000",
    "grid": "#777777",
}


@dataclass(frozen=True)
class BlockLayout:
    """Where every block of an unfold comes from (single channel).

    ``pixel_ids[r, l]`` is the input pixel number (``row * W + col``) in row
    ``r`` (kernel offset, row-major) of column ``l`` of the unfolded matrix, or
    ``-1`` for a padding zero. ``cells[l]`` lists the ``(row, col)``
    coordinates in the *padded* image of the K cells of block ``l``.
    """

    input_size: tuple
    kernel_size: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    out_shape: tuple
    pixel_ids: np.ndarray  # (K, L) int
    cells: np.ndarray  # (L, K, 2) int, padded coordinates

    @property
    def L(self) -> int:
        return self.pixel_ids.shape[1]

    @property
    def K(self) -> int:
        return self.pixel_ids.shape[0]

    @property
    def padded_size(self) -> tuple:
        return tuple(self.input_size[i] + 2 * self.padding[i] for i in range(2))

    @property
    def padding_mask(self) -> np.ndarray:
        """``(Hp, Wp)`` bool: True on the padding cells of the padded image."""
        (H, W), (p0, p1) = self.input_size, self.padding
        mask = np.ones(self.padded_size, bool)
        mask[p0 : p0 + H, p1 : p1 + W] = False
        return mask

    def input_labels(self, prefix: str = "") -> np.ndarray:
        """Labels of the padded image: ``prefix + pixel number`` inside, ``"0"`` on padding."""
        (H, W), (p0, p1) = self.input_size, self.padding
        labels = np.full(self.padded_size, "0", dtype=object)
        labels[p0 : p0 + H, p1 : p1 + W] = np.array(
            [f"{prefix}{v}" for v in range(H * W)], dtype=object
        ).reshape(H, W)
        return labels

    @property
    def offset_labels(self) -> list:
        """``"(i,j)"`` for each row of the unfolded matrix (kernel offsets, row-major)."""
        return scenes.offset_labels(self.kernel_size)


def block_layout(input_size, kernel_size, stride=1, padding=0, dilation=1) -> BlockLayout:
    """Unfold an index image to find which pixel lands in which row and column.

    ``unfold(arange(H*W).view(1, 1, H, W) + 1, ...) - 1`` gives the pixel
    numbers, with ``-1`` where a block reads padding; unfolding the padded
    image's own index gives each block's cells. Raises convlab's ``ValueError``
    for parameters that do not fit.
    """
    size, k, s, p, d, out_shape, pixel_ids, padded_ids, flat = scenes.block_indices(
        input_size, kernel_size, stride, padding, dilation
    )
    Wp = padded_ids.shape[1]
    cells = np.stack([flat // Wp, flat % Wp], axis=-1)  # (L, K, 2)
    return BlockLayout(size, k, s, p, d, out_shape, pixel_ids, cells)


def draw_grid(
    ax,
    labels,
    *,
    hatched=None,
    title="",
    fontsize=8,
    facecolor=None,
    row_labels=None,
    col_labels=None,
    tick_fontsize=None,
):
    """Draw a grid of labelled cells; cell ``(r, c)`` spans ``[c, c+1] x [r, r+1]``.

    ``labels`` is a 2-D array of strings; ``hatched`` an optional boolean mask
    of padding cells, drawn light grey, finely hatched and with a dashed inner
    border (the label tells the value). ``row_labels``/``col_labels``
    are drawn at ``tick_fontsize`` (default ``fontsize - 1``). Row 0 is at the
    top. Returns the list of artists drawn.
    """
    labels = np.asarray(labels, dtype=object)
    rows, cols = labels.shape
    hatched = np.zeros(labels.shape, bool) if hatched is None else np.asarray(hatched)
    artists = []
    for r in range(rows):
        for c in range(cols):
            pad = bool(hatched[r, c])
            rect = Rectangle(
                (c, r),
                1,
                1,
                facecolor=TINT["padding"] if pad else (facecolor or PALETTE["input"]),
                edgecolor=PALETTE["grid"],
                linewidth=0.6,
            )
            ax.add_patch(rect)
            artists.append(rect)
            if pad:
                artists.extend(_pad_mark(ax, r, c))
            if labels[r, c] != "":
                artists.append(
                    ax.text(
                        c + 0.5,
                        r + 0.5,
                        labels[r, c],
                        ha="center",
                        va="center",
                        fontsize=fontsize,
                        color="black",
                    )
                )
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if row_labels is not None:
        ax.set_yticks(np.arange(rows) + 0.5, row_labels, fontsize=tick_fontsize or fontsize - 1)
        ax.tick_params(axis="y", length=0)
    if col_labels is not None:
        ax.set_xticks(np.arange(cols) + 0.5, col_labels, fontsize=tick_fontsize or fontsize - 1)
        ax.tick_params(axis="x", length=0)
    if title:
        ax.set_title(title, fontsize=fontsize + 1, loc="center")
    return artists


def _pad_mark(ax, r, c, zorder=1.1):
    """The padding mark of cell ``(r, c)``: light hatching and a dashed inner border."""
    hatch = Rectangle(
        (c, r), 1, 1, fill=False, hatch="//", edgecolor="none", linewidth=0, zorder=zorder
    )
    hatch.set_hatchcolor("#A0A0A0")
    border = Rectangle(
        (c + 0.12, r + 0.12),
        0.76,
        0.76,
        fill=False,
        edgecolor="#555555",
        linestyle=(0, (2, 1.5)),
        linewidth=0.9,
        zorder=zorder,
    )
    ax.add_patch(hatch)
    ax.add_patch(border)
    return [hatch, border]


# --------------------------------------------------------------------------
# static pictures: inline SVG with real text
# --------------------------------------------------------------------------
#: Font sizes (pt) of the static pictures: cell labels, and the smaller axis
#: labels and notes. One SVG unit is one point, shown as one CSS px at a
#: picture's natural width, so these are also CSS px on a wide page.
LABEL_PT = 12
SMALL_PT = 11
#: The widest a picture is laid out (SVG units): the book's output column is
#: 688 px at a 1280 px window, less the card's padding, so a picture this wide
#: is shown at natural size there and no label is under ``SMALL_PT`` px.
MAX_WIDTH = 660
#: A picture never shrinks its smallest label below this many CSS px: on a
#: narrower column it keeps its min width and scrolls sideways.
PHONE_MIN_FONT_PX = 9
#: Window width minus the picture's room on a narrow (phone) page: the page's
#: margins (2 x 16 px) and the card's padding (2 x 8 px).
_NARROW_CHROME_PX = 48
#: Light tints of the palette, drawn under the labels: black text on each has a
#: contrast of at least 4.5:1 (tests/test_draw_widgets.py checks it).
TINT = {
    "block": "#F2CF7F",
    "column": "#ABDAF4",
    "output": "#7FCEB9",
    "padding": "#EEEEEE",
    "count": "#6FA8DC",  # the darkest shade of divisor_picture's count scale
}
_CELL = 26  # pt: a square cell that holds "x48" at LABEL_PT
_GAP = 22  # pt between panels
_STYLE = {
    "svg.fonttype": "none",  # text stays <text>: crisp, selectable, searchable
    "svg.hashsalt": "convlab",  # clip-path and pattern ids do not change between runs
    "svg.id": None,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "hatch.linewidth": 0.8,
}


def tap_label(i: int, j: int) -> str:
    """The name of kernel tap ``(i, j)`` in figures: ``w00``, ``w12``, ..."""
    return f"w{i}{j}"


_VIEWBOX = re.compile(r'viewBox="0 0 ([\d.]+) ([\d.]+)"')
_FONT_SIZE = re.compile(r"font-size: ([\d.]+)px")


class Picture:
    """A figure as inline SVG with real text, and the words that describe it.

    In a notebook it displays as ``text/html``: a ``<figure
    class="convlab-figure">`` card (white, so colours keep their meaning on a
    dark page) holding the ``<svg role="img" aria-label="...">`` itself, and
    ``text/plain`` ``"[figure] " + alt``, which nbval compares: the words of
    a figure are checked, its drawing is not. The SVG scales with the page
    (``width`` its natural size, ``max-width: 100%``) down to a min width at
    which its smallest label is ``PHONE_MIN_FONT_PX`` CSS px; narrower, it
    scrolls sideways and a note says so (``book/assets/figures.css`` shows
    the note at the window widths where that happens).

    ``svg`` is markup from :func:`svg_markup` (a ``viewBox``, no ``width`` or
    ``height``, ``font-size`` in SVG units); ``alt`` a description in words.
    """

    def __init__(self, svg: str, alt: str):
        if not isinstance(svg, str) or not isinstance(alt, str):
            raise TypeError(
                f"Picture(svg, alt) takes two str, got {type(svg).__name__} and "
                f"{type(alt).__name__}"
            )
        if not _VIEWBOX.search(svg) or not svg.lstrip().startswith("<svg"):
            raise ValueError("svg must be SVG markup with a viewBox (see draw.svg_markup)")
        if not alt.strip():
            raise ValueError("alt is empty: a figure needs a description in words")
        self.svg, self.alt = svg, alt.strip()

    @property
    def size(self) -> tuple:
        """``(width, height)`` of the drawing in SVG units (CSS px at natural size)."""
        w, h = _VIEWBOX.search(self.svg).groups()
        return float(w), float(h)

    @property
    def smallest_font(self) -> float:
        """The smallest label's font size in SVG units."""
        sizes = [float(v) for v in _FONT_SIZE.findall(self.svg)]
        return min(sizes) if sizes else LABEL_PT

    @property
    def min_width(self) -> int:
        """CSS px below which the picture scrolls instead of shrinking: its smallest
        label is then ``PHONE_MIN_FONT_PX`` px (never more than its natural width)."""
        width = self.size[0]
        return min(math.ceil(width), math.ceil(width * PHONE_MIN_FONT_PX / self.smallest_font))

    def to_html(self) -> str:
        """The ``<figure>`` card with the inline SVG (and the scroll note when needed)."""
        width, min_width = math.ceil(self.size[0]), self.min_width
        label = html.escape(self.alt, quote=True)
        svg = self.svg.replace(
            "<svg ",
            f'<svg role="img" aria-label="{label}" style="display:block;width:{width}px;'
            f'max-width:100%;min-width:{min_width}px;height:auto" ',
            1,
        )
        # a picture that can overflow a phone's page carries a note, which the
        # site shows while it does (book/assets/a11y.js marks the scroll box
        # is-overflowing, and figures.css shows the note that follows it)
        hint = ""
        if min_width + _NARROW_CHROME_PX > 360:
            hint = (
                '<figcaption class="convlab-figure-hint" aria-hidden="true" '
                'style="display:none;font-size:0.8rem;color:#333">'
                "Scroll sideways to see the whole figure.</figcaption>"
            )
        return (
            '<figure class="convlab-figure" style="background:#fff;color:#111;padding:8px;'
            "border-radius:6px;width:fit-content;max-width:100%;box-sizing:border-box;"
            'margin:0.5em 0">'
            '<div class="convlab-figure-scroll" style="overflow-x:auto">'
            f"{svg}</div>{hint}</figure>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.to_html(), "text/plain": f"[figure] {self.alt}"}

    def __repr__(self):
        return f"[figure] {self.alt}"


def _round_numbers(match) -> str:
    return re.sub(r"(\d+\.\d\d)\d+", r"\1", match.group(0))


def svg_markup(fig: Figure) -> str:
    """``fig`` as deterministic, compact SVG for inlining in a page.

    Text stays ``<text>`` (``svg.fonttype: none``); the XML prolog, DOCTYPE,
    comments, metadata and the global ``*{...}`` style are dropped; the
    ``width``/``height`` attributes too (the page sizes the ``viewBox``);
    ids nothing refers to are dropped and the others get a prefix made from
    the drawing, so two pictures on one page never share an id; coordinates
    keep two decimals. The same figure gives the same string.
    """
    buf = io.StringIO()
    with matplotlib.rc_context(_STYLE):
        fig.savefig(
            buf,
            format="svg",
            bbox_inches="tight",
            pad_inches=4 / 72,
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r'<style type="text/css">.*?</style>', "", svg, flags=re.S)
    svg = re.sub(r' transform="rotate\(-?0 [^"]*\)"', "", svg)
    svg = re.sub(r'="[^"]*"', _round_numbers, svg)
    svg = re.sub(r"\s*\n\s*", " ", svg)
    svg = re.sub(r">\s+<", "><", svg)
    svg = re.sub(r" (\"|/>)", r"\1", svg)
    svg = re.sub(r' clip-path="[^"]*"', "", svg)  # the pictures draw inside their axes
    svg = re.sub(r"<clipPath .*?</clipPath>", "", svg)
    svg = re.sub(r'<path d="([^"]*)"', _rect_from_path, svg)
    svg = re.sub(r"; font-family: [^;\"]*", "", svg)  # the root's font-family applies
    svg = _unwrap_plain_groups(svg)
    svg = svg.replace("<defs></defs>", "")
    referenced = set(re.findall(r"url\(#([^)]+)\)", svg)) | set(re.findall(r'href="#([^"]+)"', svg))
    prefix = "cl" + hashlib.sha256(svg.encode()).hexdigest()[:8] + "-"

    def _id(match):
        name = match.group(1)
        return f' id="{prefix}{name}"' if name in referenced else ""

    svg = re.sub(r' id="([^"]+)"', _id, svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', svg)
    svg = _styles_to_classes(svg, prefix)
    svg = re.sub(r'<svg [^>]*?(viewBox="[^"]*")[^>]*>', _svg_tag, svg, count=1)
    return svg.strip()


_RECT_PATH = re.compile(
    r"M ([-\d.]+) ([-\d.]+) L ([-\d.]+) ([-\d.]+) L ([-\d.]+) ([-\d.]+) L ([-\d.]+) ([-\d.]+) z"
)


def _rect_from_path(match) -> str:
    """``<path d="M..L..L..L..z"`` of an axis-aligned rectangle as ``<rect``."""
    m = _RECT_PATH.fullmatch(match.group(1).strip())
    if not m:
        return match.group(0)
    xs, ys = [float(v) for v in m.groups()[0::2]], [float(v) for v in m.groups()[1::2]]
    if len(set(xs)) != 2 or len(set(ys)) != 2 or not (xs[0] == xs[1] or ys[0] == ys[1]):
        return match.group(0)
    x, y = min(xs), min(ys)

    def num(v):
        return f"{v:.2f}".rstrip("0").rstrip(".")

    return f'<rect x="{num(x)}" y="{num(y)}" width="{num(max(xs) - x)}" height="{num(max(ys) - y)}"'


def _unwrap_plain_groups(svg: str) -> str:
    """Drop ``<g>`` elements without attributes (keeping what they hold)."""
    out, stack = [], []
    for token in re.split(r"(<g>|<g [^>]*>|</g>)", svg):
        if token == "<g>":
            stack.append(False)
        elif token.startswith("<g "):
            stack.append(True)
            out.append(token)
        elif token == "</g>":
            if stack.pop():
                out.append(token)
        else:
            out.append(token)
    return "".join(out)


def _styles_to_classes(svg: str, prefix: str) -> str:
    """Repeated ``style`` attributes become classes (named with the picture's prefix)."""
    counts = {}
    for style in re.findall(r' style="([^"]*)"', svg):
        counts[style] = counts.get(style, 0) + 1
    shared = [style for style, n in counts.items() if n > 1]
    names = {style: f"{prefix}{i}" for i, style in enumerate(shared)}
    svg = re.sub(
        r' style="([^"]*)"',
        lambda m: f' class="{names[m.group(1)]}"' if m.group(1) in names else m.group(0),
        svg,
    )
    if not names:
        return svg
    rules = "".join(f".{name}{{{style}}}" for style, name in names.items())
    return re.sub(r"(<svg [^>]*>)", lambda m: f"{m.group(1)}<style>{rules}</style>", svg, count=1)


def _svg_tag(match) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" '
        f'xmlns:xlink="http://www.w3.org/1999/xlink" {match.group(1)} '
        'stroke-linejoin="round" stroke-linecap="butt" '
        "font-family=\"'DejaVu Sans', sans-serif\">"
    )


_RENDERER = None


def _text_width(text: str, size: float, weight: str = "normal") -> float:
    """Width in pt of ``text`` (its widest line) in the pictures' font."""
    global _RENDERER
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    if _RENDERER is None:
        _RENDERER = RendererAgg(10, 10, 72)
    with matplotlib.rc_context(_STYLE):
        prop = FontProperties(size=size, weight=weight)
        return max(
            _RENDERER.get_text_width_height_descent(line, prop, ismath=False)[0]
            for line in str(text).split("\n")
        )


@dataclass
class _Panel:
    """One labelled grid of a picture, laid out in pt (1 pt = 1 SVG unit)."""

    labels: np.ndarray
    cell: float = _CELL
    title: str = ""
    fontsize: float = LABEL_PT
    hatched: np.ndarray = None
    row_labels: list = None
    col_labels: list = None

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=object)
        rows, cols = self.labels.shape
        self.grid_w, self.grid_h = cols * self.cell, rows * self.cell
        self.left = (
            max(_text_width(t, SMALL_PT) for t in self.row_labels) + 8 if self.row_labels else 0
        )
        title_lines = self.title.count("\n") + 1 if self.title else 0
        self.top = (
            title_lines * 1.25 * (LABEL_PT + 1) + 8 + (SMALL_PT * 1.3 + 4) * bool(self.col_labels)
        )
        title_w = _text_width(self.title, LABEL_PT + 1) if self.title else 0
        self.width = max(self.left + self.grid_w, title_w)
        self.height = self.top + self.grid_h
        # the grid sits under the middle of its title when the title is wider
        self.grid_x = max(self.left, (self.width - self.grid_w + self.left) / 2)

    def draw(self, fig, x, y, W, H):
        """Draw at ``(x, y)`` (top left of the panel, pt from the top left); return the Axes."""
        gx, gy = x + self.grid_x, y + self.top
        ax = fig.add_axes((gx / W, 1 - (gy + self.grid_h) / H, self.grid_w / W, self.grid_h / H))
        draw_grid(
            ax,
            self.labels,
            hatched=self.hatched,
            fontsize=self.fontsize,
            tick_fontsize=SMALL_PT,
            row_labels=self.row_labels,
            col_labels=self.col_labels,
        )
        if self.col_labels is not None:
            ax.tick_params(axis="x", labeltop=True, labelbottom=False, pad=2)
        if self.title:
            ax.set_title(self.title, fontsize=LABEL_PT + 1, pad=4)
        return ax


def _mark(ax, cells, tint, *, outline=True, hatched=()):
    """Tint ``cells`` (``(row, col)``) under their labels and outline each; ``hatched``
    cells (padding) keep their hatching over the tint."""
    for r, c in cells:
        ax.add_patch(
            Rectangle(
                (c, r), 1, 1, facecolor=tint, edgecolor=PALETTE["grid"], linewidth=0.6, zorder=1.5
            )
        )
        if (r, c) in hatched:
            _pad_mark(ax, r, c, zorder=1.6)
        if outline:
            ax.add_patch(
                Rectangle(
                    (c, r),
                    1,
                    1,
                    fill=False,
                    edgecolor=PALETTE["edge"],
                    linewidth=2.2,
                    zorder=2.5,
                    clip_on=False,
                )
            )


def _arrange(rows, *, header="", footer=""):
    """Place rows of panels (each row left to right); returns the figure and the Axes."""
    head_h = (header.count("\n") + 1) * LABEL_PT * 1.3 + 6 if header else 0
    foot_h = (footer.count("\n") + 1) * SMALL_PT * 1.3 + 8 if footer else 0
    row_w = [sum(p.width for p in row) + _GAP * (len(row) - 1) for row in rows]
    row_h = [max(p.height for p in row) for row in rows]
    W = max(
        [*row_w, _text_width(header, LABEL_PT, "bold") if header else 0]
        + [_text_width(footer, SMALL_PT) if footer else 0]
    )
    H = head_h + sum(row_h) + _GAP * (len(rows) - 1) + foot_h
    fig = Figure(figsize=(W / 72, H / 72), dpi=72)
    FigureCanvasAgg(fig)
    axes = []
    y = head_h
    for row, h in zip(rows, row_h):
        x = 0.0
        for panel in row:
            axes.append(panel.draw(fig, x, y, W, H))
            x += panel.width + _GAP
        y += h + _GAP
    if header:
        fig.text(0, 1, header, fontsize=LABEL_PT, fontweight="bold", va="top", ha="left")
    if footer:
        fig.text(0, 0, footer, fontsize=SMALL_PT, va="bottom", ha="left", linespacing=1.3)
    return fig, axes


def sliding_blocks_picture(
    input_size=5, kernel_size=3, stride=1, padding=0, dilation=1, block=0
) -> Picture:
    """Block ``block`` of an unfold: the input, ``unfold(x)`` and the output grid (chapter 1).

    ``unfold`` reads ``L = prod_i floor((size_i + 2*padding_i -
    dilation_i*(k_i - 1) - 1) / stride_i) + 1`` blocks; block ``l`` becomes
    column ``l`` of the ``K x L`` matrix (``K = k_0*k_1``) and cell
    ``divmod(l, W_out)``. Left, the padded input: pixel ``n`` (``row*W + col``)
    is labelled ``xn`` and padding cells ``0``, hatched with a dashed inner
    border, so a padding zero is never taken for pixel 0. Middle, the matrix:
    each entry names the pixel copied there. Right, the output positions, each
    labelled with its block. The block's cells, its column and its output cell
    are tinted under their labels and outlined. ``block`` must be in
    ``0..L-1``.
    """
    lay = block_layout(input_size, kernel_size, stride, padding, dilation)
    l = shapes._as_int(block, "block")
    if not 0 <= l < lay.L:
        raise ValueError(f"block={block!r} is not a block: blocks are numbered 0..{lay.L - 1}")
    H, W = lay.input_size
    Ho, Wo = lay.out_shape
    K, L, p = lay.K, lay.L, lay.padding
    with matplotlib.rc_context(_STYLE):
        in_labels = lay.input_labels("x")
        in_widest = max(_text_width(t, LABEL_PT) for t in np.ravel(in_labels))
        inp = _Panel(
            in_labels,
            title=f"input x: {H}x{W}"
            + (f"\npadding={scenes.pair_text(p)} per side" if any(p) else ""),
            # room for three-character labels ("x21") with 4 pt on each side
            cell=max(_CELL, math.ceil(in_widest) + 8),
            hatched=lay.padding_mask,
        )
        out = _Panel(
            np.arange(L).reshape(Ho, Wo).astype(str),
            title=f"block grid: {Ho}x{Wo}\n(cell l = block l)",
        )
        mat_labels = np.where(
            lay.pixel_ids < 0, "0", np.char.add("x", lay.pixel_ids.astype(str)).astype(object)
        )
        offsets = lay.offset_labels if K <= 25 else None
        left = (max(_text_width(t, SMALL_PT) for t in offsets) + 8) if offsets else 0
        cell = min(_CELL, math.floor((MAX_WIDTH - left) / L))
        cell = max(cell, 22)
        widest = max(_text_width(t, SMALL_PT) for t in mat_labels.ravel())
        mat = _Panel(
            mat_labels,
            cell=cell,
            title=f"unfold(x): {K} rows x L={L} columns",
            fontsize=LABEL_PT if widest * LABEL_PT / SMALL_PT <= cell - 3 else SMALL_PT,
            hatched=lay.pixel_ids < 0,
            row_labels=offsets,
            col_labels=[str(c) for c in range(L)],
        )
        if inp.width + mat.width + out.width + 2 * _GAP <= MAX_WIDTH:
            rows = [[inp, mat, out]]
        else:  # too wide for the page: input and output on top, the matrix below
            rows = [[inp, out], [mat]]
        oh, ow = divmod(l, Wo)
        spans = K > 1 and (lay.dilation[0] > 1 or lay.dilation[1] > 1)
        footer = "\n".join(_sliding_blocks_legend(spans, any(p)))
        fig, axes = _arrange(
            rows,
            header=f"block l={l}: column {l} of unfold(x), cell ({oh}, {ow}) of the block grid",
            footer=footer,
        )
        ax_in, ax_out, ax_mat = (
            (axes[0], axes[2], axes[1]) if len(rows) == 1 else (axes[0], axes[1], axes[2])
        )
        pads = {(int(r), int(c)) for r, c in zip(*np.nonzero(lay.padding_mask))}
        _mark(ax_in, [tuple(map(int, rc)) for rc in lay.cells[l]], TINT["block"], hatched=pads)
        rows_, cols_ = lay.cells[l][:, 0], lay.cells[l][:, 1]
        if spans:  # the block's span
            ax_in.add_patch(
                Rectangle(
                    (cols_.min() - 0.05, rows_.min() - 0.05),
                    cols_.max() - cols_.min() + 1.1,
                    rows_.max() - rows_.min() + 1.1,
                    fill=False,
                    linestyle="--",
                    edgecolor=PALETTE["edge"],
                    linewidth=1.4,
                    zorder=2.6,
                    clip_on=False,
                )
            )
        col_pads = {(r, l) for r in range(K) if lay.pixel_ids[r, l] < 0}
        _mark(ax_mat, [(r, l) for r in range(K)], TINT["column"], outline=False, hatched=col_pads)
        ax_mat.add_patch(
            Rectangle(
                (l, 0),
                1,
                K,
                fill=False,
                edgecolor=PALETTE["edge"],
                linewidth=2.2,
                zorder=2.5,
                clip_on=False,
            )
        )
        _mark(ax_out, [(oh, ow)], TINT["output"])
    alt = (
        f"unfold with kernel_size={scenes.pair_text(lay.kernel_size)}, "
        f"stride={scenes.pair_text(lay.stride)}, padding={scenes.pair_text(lay.padding)}, "
        f"dilation={scenes.pair_text(lay.dilation)} on a {H}x{W} input. "
        # the sliding-blocks explorer's words for the same block (one source)
        + scenes.caption(
            scenes.sliding_blocks(
                lay.input_size, lay.kernel_size, lay.stride, lay.padding, lay.dilation
            ),
            l,
        )
    )
    return Picture(svg_markup(fig), alt)


def block_starts_picture(input_size=12, kernel_size=3, stride=3, padding=1, dilation=1) -> Picture:
    """The block count along one dimension: where blocks start, and what the floor drops.

    ``out = floor((in + 2p - d(k-1) - 1) / s) + 1`` (chapter 1, section "How many
    blocks?"). Top row: the padded input, one cell per position ``0 .. in+2p-1``
    (pixels ``x0``, ``x1``, ...; padding cells ``0``, hatched with a dashed
    border). Below, one row per block ``b``: it starts at ``b*s`` and reads the
    cells ``b*s + i*d`` (tinted, outlined, each showing the value it copies);
    a dashed box shows block 0's span ``d(k-1)+1``. The
    ``(in + 2p - d(k-1) - 1) mod s`` cells after the last block's span are read
    by no block: bold, in a dotted box. The formula's numbers are written under
    the picture. The cells each block reads come from ``convlab.unfold1d`` of
    the padded positions, not from the formula.
    """
    n = shapes._as_int(input_size, "input_size")
    if n < 1:
        raise ValueError(f"input_size={input_size!r} must be at least 1")
    k, s, pads, d = shapes.conv_params(1, kernel_size, stride, padding, dilation)
    ((k,), (s,), ((p, after),), (d,)) = k, s, pads, d
    if p != after:
        raise ValueError(f"padding={padding!r}: the picture needs the same padding on both sides")
    positions = torch.arange(n + 2 * p).view(1, 1, -1)
    reads = ops.unfold1d(positions, k, dilation=d, stride=s)[0].numpy()  # (k, out)
    out, P, span = reads.shape[1], n + 2 * p, d * (k - 1) + 1
    m = n + 2 * p - d * (k - 1) - 1
    last = int(reads[:, -1].max())  # the last cell a block reaches
    dropped = list(range(last + 1, P))
    strip = np.array(["0"] * p + [f"x{i}" for i in range(n)] + ["0"] * p, dtype=object)
    labels = np.full((out + 1, P), "", dtype=object)
    labels[0] = strip
    for b in range(out):
        labels[b + 1, reads[:, b]] = strip[reads[:, b]]
    hatched = np.zeros(labels.shape, bool)
    hatched[0, :p] = hatched[0, P - p :] = True
    with matplotlib.rc_context(_STYLE):
        row_labels = ["padded input"] + [f"block {b}: start {b * s}" for b in range(out)]
        panel = _Panel(
            labels,
            cell=max(24, min(34, math.floor((MAX_WIDTH - 120) / P))),
            title="position in the padded input",
            hatched=hatched,
            row_labels=row_labels,
            col_labels=[str(c) for c in range(P)],
        )
        panel.left += 8  # room between the row labels and block 0's dashed span
        panel.width += 8
        panel.grid_x += 8
        legend = [
            "xn: pixel n; hatched 0 with a dashed border: a padding zero",
            "orange, thick outline: the cells a block reads",
            f"dashed box: block 0's span d(k-1)+1 = {d}*({k}-1)+1 = {span}",
        ]
        if dropped:
            legend.append("bold, dotted box: read by no block (the floor drops it)")
        formula = (
            f"in + 2p - d(k-1) - 1 = {n} + 2*{p} - {d}*({k}-1) - 1 = {m}"
            f" = {m // s}*{s} + {m % s}\n"
            f"out = floor({m} / {s}) + 1 = {m // s} + 1 = {out} blocks;"
            f" the floor drops {m % s} position{'s' if m % s != 1 else ''}"
        )
        fig, (ax,) = _arrange(
            [[panel]],
            header=f"in={n}, kernel_size={k}, stride={s}, padding={p}, dilation={d}",
            footer=formula + "\n" + "\n".join(legend),
        )
        pads = {(b + 1, c) for b in range(out) for c in range(P) if hatched[0, c]}
        ax.tick_params(axis="y", pad=10)  # clear of block 0's dashed span (room: panel.left)
        for b in range(out):
            _mark(ax, [(b + 1, int(c)) for c in reads[:, b]], TINT["block"], hatched=pads)
        ax.add_patch(
            Rectangle(
                (-0.08, 0.92),
                span + 0.16,
                1.16,
                fill=False,
                linestyle="--",
                edgecolor=PALETTE["edge"],
                linewidth=1.4,
                zorder=2.6,
                clip_on=False,
            )
        )
        for c in dropped:
            _uncovered_mark(ax, 0, c)
        for text in ax.texts:
            x, y = text.get_position()
            if int(y) == 0 and int(x) in dropped:
                text.set_fontweight("bold")
    alt = (
        f"One dimension of {n} pixels padded with {p} zero{'s' if p != 1 else ''} per side "
        f"({P} positions), kernel_size={k}, stride={s}, dilation={d}: blocks start at positions "
        + ", ".join(str(b * s) for b in range(out))
        + f"; each spans d(k-1)+1 = {span} positions and reads {k}. "
        f"out = floor(({n} + 2*{p} - {d}*({k}-1) - 1) / {s}) + 1 = floor({m}/{s}) + 1 = {out}. "
        + (
            f"Positions {', '.join(map(str, dropped))} ("
            + ", ".join(strip[c] if strip[c] != "0" else "a padding zero" for c in dropped)
            + f") are read by no block: the floor drops {m} mod {s} = {m % s}."
            if dropped
            else f"No cell is dropped: {m} mod {s} = 0."
        )
    )
    return Picture(svg_markup(fig), alt)


def _sliding_blocks_legend(spans: bool, padded: bool) -> list:
    """The legend lines of :func:`sliding_blocks_picture`: every mark in words
    (its colour and its shape), so that none of them relies on colour alone."""
    lines = [
        "xn: pixel n of x (n = row*W + col)",
        "orange, thick outlines: the block's cells in x",
        "blue, thick outline: its column of unfold(x)",
        "green, thick outline: its cell in the block grid",
    ]
    if spans:
        lines.append("dashed box: the block's span (dilation spreads its cells)")
    if padded:
        lines.append("hatched, dashed border, 0: a padding zero (not pixel x0)")
    return lines


def _ink(value, vmax):
    """Black or white text, whichever reads on the grey shade of ``value``."""
    return "white" if value / (vmax * 1.6) > 0.42 else "black"


def _mix(color: str, t: float) -> str:
    """``color`` mixed with white: ``t=0`` white, ``t=1`` the colour itself."""
    rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
    mixed = np.round(255 + (rgb - 255) * t).astype(int)
    return "#" + "".join(f"{v:02X}" for v in mixed)


def count_shade(count: int, vmax: int) -> str:
    """The fill of a cell that counts ``count`` of at most ``vmax``: one scale for
    every panel of a picture (white for 0, ``TINT["count"]`` for ``vmax``)."""
    return _mix(TINT["count"], 0 if vmax <= 0 else min(count, vmax) / vmax)


def count_colors(vmax: int) -> list[str]:
    """The fills of counts ``0..vmax`` on the count scale, as ``"#RRGGBB"`` strings.

    ``count_colors(vmax)[v]`` is the colour :func:`divisor_picture` gives a cell
    that counts ``v`` in a picture whose largest count is ``vmax`` (white for
    0, ``TINT["count"]`` for ``vmax``), so a figure drawn elsewhere (the fold
    explorer, in the browser) can use the very same scale. Black text reads on
    every one of them at 4.5:1 or more. ``vmax`` below 1 gives ``["#FFFFFF"]``.
    """
    vmax = shapes._as_int(vmax, "vmax")
    return [count_shade(v, vmax) for v in range(max(vmax, 0) + 1)]


#: The legend line of the mark of an uncovered pixel (count 0) in the divisor pictures.
UNCOVERED_LEGEND = "bold 0 in a dotted box: no block covers the pixel"


def _uncovered_mark(ax, r, c, zorder=1.6):
    """The mark of an uncovered cell ``(r, c)`` (count 0): a thick dotted inner box,
    no hatching (hatching means padding); its ``0`` is drawn bold."""
    box = Rectangle(
        (c + 0.1, r + 0.1),
        0.8,
        0.8,
        fill=False,
        edgecolor=PALETTE["edge"],
        linestyle=(0, (1, 1.6)),
        linewidth=1.8,
        zorder=zorder,
    )
    ax.add_patch(box)
    return box


def _shade_counts(ax, counts, vmax):
    """Shade every count cell under its number on the shared scale (:func:`count_colors`);
    a 0 (uncovered) is bold, in a thick dotted box."""
    colors = count_colors(vmax)
    for (r, c), v in np.ndenumerate(counts):
        ax.add_patch(
            Rectangle(
                (c, r),
                1,
                1,
                facecolor=colors[min(int(v), vmax)],
                edgecolor=PALETTE["grid"],
                linewidth=0.6,
                zorder=1.5,
            )
        )
        if v == 0:  # uncovered: no block reads this pixel
            _uncovered_mark(ax, r, c)
    for text in ax.texts:
        if text.get_text() == "0":
            text.set_fontweight("bold")


def divisor_picture(
    output_size, panels, *, header="fold(unfold(ones)): blocks covering each pixel", dpi=88
) -> Picture:
    """Side-by-side divisors ``fold(unfold(ones))``: how many blocks cover each pixel.

    Up to two panels sit side by side; three or more are laid out two to a row.

    ``panels`` is a list of dicts of ``kernel_size``, ``stride``, ``padding``,
    ``dilation`` and optionally ``output_size`` (missing keys take the defaults
    and ``output_size`` the function's argument). Pixel ``(i, j)`` is covered
    by ``prod_d #{l_d : l_d*s_d - p_d + t_d*dil_d = i_d, 0 <= t_d < k_d}``
    blocks; each cell shows its count, shaded on ONE scale shared by every
    panel (:func:`count_colors`; a legend shows it); zeros (no block covers the
    pixel: fold cannot be inverted there) are bold, in a thick dotted box (not
    hatched: hatching means padding; the legend names them only when one
    occurs). Chapter 2 (and chapter 4, with its own ``header``: the same
    counts are ``conv_transpose2d`` of ones, stamps per pixel). ``dpi`` is
    ignored (the picture is SVG).
    """
    if isinstance(panels, dict) or not isinstance(panels, (list, tuple)):
        raise TypeError(f"panels must be a list of dicts, got {type(panels).__name__}")
    if not panels:
        raise ValueError("panels is empty: give at least one dict of parameters")
    for params in panels:
        if not isinstance(params, dict):
            raise TypeError(f"each panel must be a dict of parameters, got {params!r}")
        unknown = set(params) - {"kernel_size", "stride", "padding", "dilation", "output_size"}
        if unknown:
            raise ValueError(f"unknown panel parameter(s) {sorted(unknown)}")
    sizes = [shapes._spatial(p.get("output_size", output_size), 2, "output_size") for p in panels]
    divisors, alts, titles = [], [], []
    for params, size in zip(panels, sizes):
        params = {
            "kernel_size": 3,
            "stride": 1,
            "padding": 0,
            "dilation": 1,
            **{k: v for k, v in params.items() if k != "output_size"},
        }
        divisor = (
            ops.fold_divisor(
                size, params["kernel_size"], params["dilation"], params["padding"], params["stride"]
            )
            .long()
            .numpy()
        )
        shown = (
            f"k={params['kernel_size']}, s={params['stride']}, p={params['padding']}, "
            f"d={params['dilation']}"
        )
        zeros = int((divisor == 0).sum())
        divisors.append(divisor)
        titles.append(f"{shown}\non {size[0]}x{size[1]}")
        alts.append(
            f"{shown} on {size[0]}x{size[1]}: counts from {divisor.min()} to "
            f"{divisor.max()}"
            + (f", {zeros} uncovered pixels (count 0)" if zeros else ", no zeros")
            + "; rows: "
            + " / ".join(" ".join(map(str, row)) for row in divisor)
        )
    vmax = max(1, *(int(d.max()) for d in divisors))
    # one row of panels, or rows of two when there are three or more: a phone's
    # page then shows two panels side by side (and the legend) without scrolling
    per_row = len(divisors) if len(divisors) < 3 else 2
    chunks = [divisors[i : i + per_row] for i in range(0, len(divisors), per_row)]
    row_cols = max(sum(d.shape[1] for d in chunk) for chunk in chunks)
    cell = max(18, min(_CELL, math.floor((MAX_WIDTH - _GAP * (per_row - 1)) / row_cols)))
    with matplotlib.rc_context(_STYLE):
        grids = [
            _Panel(d.astype(str), cell=cell, title=title) for d, title in zip(divisors, titles)
        ]
        scale = list(range(vmax + 1)) if vmax <= 12 else sorted({0, vmax // 2, vmax})
        legend = _Panel(
            np.array([[str(v) for v in scale]], dtype=object), cell=cell, title="shading: count"
        )
        rows = [grids[i : i + per_row] for i in range(0, len(grids), per_row)]
        widest = max(sum(p.width for p in row) + _GAP * (len(row) - 1) for row in rows)
        if len(rows) > 1 and sum(p.width for p in rows[-1]) + _GAP + legend.width <= widest:
            rows[-1].append(legend)  # beside the last panel, where there is room
        else:
            rows.append([legend])
        fig, axes = _arrange(
            rows,
            header=header,
            footer="one shading scale for every panel"
            + (f"\n{UNCOVERED_LEGEND}" if any((d == 0).any() for d in divisors) else ""),
        )
        for ax, d in zip(axes, divisors):
            _shade_counts(ax, d, vmax)
        _shade_counts(axes[-1], np.array([scale]), vmax)
    alt = (
        "Divisor fold(unfold(ones)), the number of blocks covering each pixel "
        f"(one shading scale for all panels, 0 to {vmax}). " + ". ".join(alts)
    )
    return Picture(svg_markup(fig), alt)


def _tap_matrix(input_size, kernel_size, stride, padding, dilation):
    """``(size, k, Cm, labels)``: the convolution matrix of a kernel whose taps are
    numbered 1, 2, ... (``Cm``, ints) and, per entry, the tap's name (``""`` for 0)."""
    size = shapes._spatial(input_size, 2, "input_size")
    k = shapes._as_tuple(kernel_size, 2, "kernel_size", minimum=1)
    numbered = torch.arange(1, k[0] * k[1] + 1, dtype=torch.float64).view(*k)
    Cm = ops.conv_matrix(size, numbered, stride, padding, dilation).long().numpy()
    labels = np.full(Cm.shape, "", dtype=object)
    for (r, c), v in np.ndenumerate(Cm):
        if v:
            labels[r, c] = tap_label(*divmod(int(v) - 1, k[1]))
    return size, k, Cm, labels


def conv_matrix_picture(
    input_size, kernel_size, stride=1, padding=0, dilation=1, *, dpi=88
) -> Picture:
    """The convolution matrix ``Cm`` (``H_out*W_out`` x ``H*W``) with each nonzero named.

    ``conv2d(x, w).flatten() == Cm @ x.flatten()``. Row ``o`` is output pixel
    ``o``; column ``j`` is input pixel ``j``; a cell shows which kernel tap
    (``w00`` ... ) multiplies that pixel for that output (tinted), and is
    empty where the block misses it. Built from ``convlab.conv_matrix`` with a
    kernel whose taps are numbered, so every label is computed, not drawn by
    hand. Chapter 3 (and its transpose in chapter 4). ``dpi`` is ignored (the
    picture is SVG).
    """
    size, k, Cm, labels = _tap_matrix(input_size, kernel_size, stride, padding, dilation)
    rows, cols = Cm.shape
    row_labels = [str(r) for r in range(rows)]
    with matplotlib.rc_context(_STYLE):
        widest = max([_text_width(t, LABEL_PT) for t in labels.ravel() if t] or [0])
        left = max(_text_width(t, SMALL_PT) for t in row_labels) + 8 + SMALL_PT * 1.5
        cell = max(math.ceil(widest) + 6, min(32, math.floor((MAX_WIDTH - left) / cols)))
        panel = _Panel(
            labels,
            cell=cell,
            title="input pixel j",
            row_labels=row_labels,
            col_labels=[str(c) for c in range(cols)],
        )
        panel.left += SMALL_PT * 1.5  # room for the rows' axis label
        panel.width += SMALL_PT * 1.5
        panel.grid_x += SMALL_PT * 1.5
        fig, (ax,) = _arrange(
            [[panel]],
            header=f"conv as a matrix: {rows} output pixels x {cols} input pixels",
            footer="row o: output pixel o; entry: the kernel tap that multiplies pixel j",
        )
        ax.set_ylabel("output pixel o", fontsize=SMALL_PT, labelpad=4)
        _mark(ax, [(r, c) for (r, c), v in np.ndenumerate(Cm) if v], TINT["block"], outline=False)
    nonzero = int((Cm != 0).sum())
    alt = (
        f"The {rows} x {cols} matrix of a {k[0]}x{k[1]} convolution (stride "
        f"{scenes.pair_text(shapes._as_tuple(stride, 2, 'stride', minimum=1))}, padding "
        f"{scenes.pair_text(shapes._as_tuple(padding, 2, 'padding', minimum=0))}) on a "
        f"{size[0]}x{size[1]} image: {nonzero} of {rows * cols} entries are nonzero; "
        "row by row, the taps: "
        + " / ".join(
            " ".join(f"{labels[r, c]}@{c}" for c in range(cols) if labels[r, c])
            for r in range(rows)
        )
    )
    return Picture(svg_markup(fig), alt)


def conv_matrix_pair_picture(input_size, kernel_size, stride=1, padding=0, dilation=1) -> Picture:
    """A convolution's matrix ``C`` and its transpose ``C^T``, one above the other (chapter 4).

    ``C`` (``H_out*W_out`` x ``H*W``) maps the image to the convolution's output,
    ``conv2d(x, w).flatten() == C @ x.flatten()``; ``C^T`` maps an output-sized
    image back to ``H*W`` pixels and is the transposed convolution,
    ``conv_transpose2d(y, w, ...).flatten() == C.T @ y.flatten()`` (with the
    ``output_padding`` that restores ``input_size``). Each entry names the tap that
    multiplies (``w00`` ...), tinted; blank where the block misses the pixel. Row
    ``j`` of ``C^T`` lists the taps with which input ``o`` of the transposed
    convolution reaches output pixel ``j``: the stamps of the scatter.
    """
    size, k, Cm, labels = _tap_matrix(input_size, kernel_size, stride, padding, dilation)
    rows, cols = Cm.shape
    with matplotlib.rc_context(_STYLE):
        widest = max([_text_width(t, LABEL_PT) for t in labels.ravel() if t] or [0])
        cell = math.ceil(widest) + 6
        left = SMALL_PT * 1.5
        panels = []
        for mat, title in (
            (labels, f"C: conv2d\n{rows} outputs x {cols} inputs"),
            (labels.T, f"C^T: conv_transpose2d\n{cols} outputs x {rows} inputs"),
        ):
            n_rows, n_cols = mat.shape
            panel = _Panel(
                mat,
                cell=cell,
                title=title,
                row_labels=[str(r) for r in range(n_rows)],
                col_labels=[str(c) for c in range(n_cols)],
            )
            panel.left += left  # room for the rows' axis label
            panel.width = max(panel.width + left, panel.left + panel.grid_w)
            panel.grid_x += left
            panels.append(panel)
        # one above the other: side by side, C^T would sit off a phone's screen
        fig, axes = _arrange(
            [[panel] for panel in panels],
            header=f"conv2d and conv_transpose2d as matrices\n({size[0]}x{size[1]} image, "
            f"k={k[0]}x{k[1]})",
            footer="row: an output pixel, column: an input pixel (numbered row by row)\n"
            "entry: the kernel tap that multiplies them; blank: 0\n"
            "C^T is C flipped over its diagonal: row j of C^T is column j of C",
        )
        for ax, mat, name in zip(axes, (labels, labels.T), ("conv", "transposed")):
            ax.set_ylabel(f"{name} output", fontsize=SMALL_PT, labelpad=4)
            _mark(
                ax, [(r, c) for (r, c), v in np.ndenumerate(mat) if v], TINT["block"], outline=False
            )
    nonzero = int((Cm != 0).sum())
    alt = (
        f"Two matrices for a {k[0]}x{k[1]} kernel on a {size[0]}x{size[1]} image: "
        f"C, {rows} x {cols}, the convolution (output pixel by input pixel), and its transpose "
        f"C^T, {cols} x {rows}, the transposed convolution; {nonzero} entries of each are "
        "kernel taps. Rows of C^T (transposed-convolution output j: the taps that reach it "
        "from each input o): "
        + " / ".join(
            f"{j}: "
            + (" ".join(f"{labels[o, j]}@{o}" for o in range(rows) if labels[o, j]) or "none")
            for j in range(cols)
        )
    )
    return Picture(svg_markup(fig), alt)


def _value_text(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:g}"


def scatter_picture(x, weight, stride=2) -> Picture:
    """The scatter of a transposed convolution, stamp by stamp (chapter 4).

    ``x`` (``H x W``, at most 4 pixels) and ``weight`` (``kH x kW``) are 2-D
    tensors; padding 0, dilation 1. Input pixel ``(r, c)`` adds the stamp
    ``x[r, c] * weight`` into the output at rows ``r*stride .. r*stride+kH-1`` and
    columns ``c*stride .. c*stride+kW-1``; the output, ``((H-1)s + kH) x ((W-1)s
    + kW)``, is the sum of the stamps, ``conv_transpose2d(x, weight, stride)``.
    One panel per stamp (its cells tinted and outlined, with their values), then
    the sum and the number of stamps that add at each pixel, on one shading scale.
    """
    if not isinstance(x, torch.Tensor) or not isinstance(weight, torch.Tensor):
        raise TypeError("scatter_picture(x, weight) takes two tensors")
    if x.dim() != 2 or weight.dim() != 2:
        raise ValueError(
            f"x and weight must be 2-D (H, W) and (kH, kW), got shapes {tuple(x.shape)} "
            f"and {tuple(weight.shape)}"
        )
    H, W = x.shape
    if H * W > 4:
        raise ValueError(f"x has {H * W} pixels; scatter_picture draws one stamp each, at most 4")
    kh, kw = weight.shape
    s = shapes._as_tuple(stride, 2, "stride", minimum=1)
    y = ops.conv_transpose2d(x[None, None].double(), weight[None, None].double(), stride=s)[0, 0]
    counts = ops.conv_transpose2d(
        torch.ones(1, 1, H, W, dtype=torch.float64),
        torch.ones(1, 1, kh, kw, dtype=torch.float64),
        stride=s,
    )[0, 0]
    Ho, Wo = y.shape
    counts = counts.long().numpy()
    vmax = int(counts.max())
    stamps = []
    for r in range(H):
        for c in range(W):
            labels = np.full((Ho, Wo), "", dtype=object)
            cells = []
            for i in range(kh):
                for j in range(kw):
                    o = (r * s[0] + i, c * s[1] + j)
                    labels[o] = _value_text(x[r, c] * weight[i, j])
                    cells.append(o)
            stamps.append((r, c, labels, cells))
    with matplotlib.rc_context(_STYLE):
        top = [
            _Panel(
                np.array([[_value_text(v) for v in row] for row in x], dtype=object),
                title=f"input x: {H}x{W}",
            ),
            _Panel(
                np.array([[_value_text(v) for v in row] for row in weight], dtype=object),
                title=f"kernel w: {kh}x{kw}",
            ),
        ]
        stamp_panels = [
            _Panel(labels, title=f"stamp of x[{r},{c}] = {_value_text(x[r, c])}\nx[{r},{c}] * w")
            for r, c, labels, _ in stamps
        ]
        bottom = [
            _Panel(
                np.vectorize(_value_text, otypes=[object])(y.numpy()),
                title="y = sum of the stamps\n(shaded by stamp count)",
            ),
            _Panel(counts.astype(str), title="stamps added\nat each pixel"),
        ]
        # the stamps laid out like the input pixels that make them
        rows = [top, *[stamp_panels[r * W : (r + 1) * W] for r in range(H)], bottom]
        fig, axes = _arrange(
            rows,
            header=f"conv_transpose2d as a scatter:\nstride {scenes.pair_text(s)}, "
            f"{H * W} stamps of {kh}x{kw}",
            footer=f"each stamp lands {scenes.pair_text(s)} pixels after the previous one:\n"
            "its cells are tinted and outlined\n"
            "where stamps overlap, their values add\n"
            "y and the counts share one shading scale\n(more stamps: darker)",
        )
        n_top = len(top)
        for ax, (_, _, _, cells) in zip(axes[n_top : n_top + len(stamps)], stamps):
            _mark(ax, cells, TINT["block"])
        for ax in axes[n_top + len(stamps) :]:
            _shade_counts(ax, counts, vmax)
    overlap = [(int(a), int(b)) for a, b in zip(*np.nonzero(counts > 1))]
    alt = (
        f"A transposed convolution as a scatter: a {H}x{W} input "
        + ", ".join(_value_text(v) for v in x.flatten())
        + f" and a {kh}x{kw} kernel "
        + ", ".join(_value_text(v) for v in weight.flatten())
        + f", stride {scenes.pair_text(s)}. Each input pixel adds a copy of the kernel scaled "
        f"by its value into a {Ho}x{Wo} output, {scenes.pair_text(s)} pixels apart. "
        f"{len(overlap)} output pixels receive more than one stamp (up to {vmax}). "
        "The sum, row by row: " + " / ".join(" ".join(_value_text(v) for v in row) for row in y)
    )
    return Picture(svg_markup(fig), alt)


def gather_1d_reads(input_size, kernel_size, stride=1, padding=0, dilation=1, output_padding=0):
    """For each output ``o`` of a 1-D transposed convolution, the ``(tap, pixel)`` pairs it sums.

    The gather reads ``u_pad[o + a*dilation]`` with tap ``k-1-a``, where ``u_pad`` is
    the input with ``stride - 1`` zeros between pixels, ``q = dilation*(k-1) -
    padding`` zeros in front and ``q + output_padding`` behind (chapter 4,
    :func:`gather_1d_picture`): returns ``(cells, reads)`` with ``cells`` the
    labels of ``u_pad`` (``"x3"`` a pixel, ``"0"`` an inserted zero, ``"pad"`` a
    padding zero) and ``reads[o]`` the list of ``(tap, pixel)`` with a real pixel.
    """
    n = shapes._as_int(input_size, "input_size")
    k = shapes._as_int(kernel_size, "kernel_size")
    s = shapes._as_int(stride, "stride")
    p = shapes._as_int(padding, "padding")
    d = shapes._as_int(dilation, "dilation")
    op = shapes._as_int(output_padding, "output_padding")
    if min(n, k, s, d) < 1 or min(p, op) < 0:
        raise ValueError(
            "input_size, kernel_size, stride and dilation must be >= 1, "
            "padding and output_padding >= 0"
        )
    q = d * (k - 1) - p
    if q < 0:
        raise ValueError(
            f"padding={p} is larger than dilation*(kernel_size-1)={d * (k - 1)}: the gather then "
            "crops instead of padding, which this picture does not draw"
        )
    if op >= max(s, d):
        raise ValueError(f"output_padding={op} must be smaller than stride={s} or dilation={d}")
    u = ["0"] * ((n - 1) * s + 1)
    for r in range(n):
        u[r * s] = f"x{r}"
    cells = ["pad"] * q + u + ["pad"] * (q + op)
    out = len(cells) - d * (k - 1)
    if out < 1:
        raise ValueError(
            f"the output would have {out} pixels: (input_size-1)*stride - 2*padding + "
            "dilation*(kernel_size-1) + output_padding + 1 must be at least 1"
        )
    reads = []
    for o in range(out):
        taps = [(k - 1 - a, cells[o + a * d]) for a in range(k)]
        reads.append([(t, int(c[1:])) for t, c in taps if c.startswith("x")])
    return cells, reads


def gather_1d_picture(
    input_size=3, kernel_size=4, stride=2, padding=1, dilation=1, output_padding=1
) -> Picture:
    """The gather in one dimension: zeros inserted, padding ``dil(k-1) - p``, two windows.

    Rows, aligned cell by cell: the input ``x``; ``u``, with ``stride - 1`` zeros
    between pixels; ``u`` padded with ``q = dilation*(k-1) - padding`` zeros at
    both ends (hatched) and ``output_padding`` more at the end; the rotated kernel
    (taps ``w{k-1}`` ... ``w0``, dilated) over the cells that output 0 reads, and
    over those the last output reads; the output. Output ``o`` is
    ``sum_a u_pad[o + a*dil] * w[k-1-a]`` (:func:`gather_1d_reads`), equal to
    ``conv_transpose1d`` (chapter 4, section on the gather's padding).
    """
    cells, reads = gather_1d_reads(
        input_size, kernel_size, stride, padding, dilation, output_padding
    )
    n, k, s, p, d, op = input_size, kernel_size, stride, padding, dilation, output_padding
    q = d * (k - 1) - p
    out = len(cells) - d * (k - 1)
    width = len(cells)
    last = out - 1
    windows = {o: [o + a * d for a in range(k)] for o in (0, last)}
    tap_rows = {}
    for o, idx in windows.items():
        row = [""] * width
        for a, j in enumerate(idx):
            row[j] = f"w{k - 1 - a}"
        tap_rows[o] = row
    u = cells[q : q + (n - 1) * s + 1]
    names = [
        ("x", [f"x{r}" for r in range(n)]),
        (f"u: {s - 1} zero{'s' if s != 2 else ''} inserted", u),
        ("u padded", ["0" if c == "pad" else c for c in cells]),
        ("y0 reads", tap_rows[0]),
        (f"y{last} reads", tap_rows[last]),
        ("y", [f"y{o}" for o in range(out)]),
    ]
    with matplotlib.rc_context(_STYLE):
        panels = []
        for name, labels in names:
            hatched = None
            if name == "u padded":
                hatched = np.array([[c == "pad" for c in cells]])
            panels.append(
                _Panel(np.array([labels], dtype=object), row_labels=[name], hatched=hatched)
            )
        left = max(pn.left for pn in panels)
        for pn in panels:
            pn.left = pn.grid_x = left
            pn.width = left + pn.grid_w
        fig, axes = _arrange(
            [[pn] for pn in panels],
            header=f"conv_transpose1d as a gather: k={k}, stride={s},\n"
            f"padding={p}, dilation={d}, output_padding={op}",
            footer=f"u: x with stride - 1 = {s - 1} zero(s) between pixels\n"
            "hatched, dashed border, 0: padding,\n"
            f"  q = dil(k-1) - p = {q} per side"
            + (f", and output_padding = {op} at the end" if op else "")
            + "\nwi: the rotated kernel's tap over the cell it multiplies\n"
            f"orange, thick outline: what y0 reads\nblue, thick outline: what y{last} reads",
        )
        ax_pad, ax_w0, ax_wl, ax_y = axes[2], axes[3], axes[4], axes[5]
        pads = {(0, j) for j, c in enumerate(cells) if c == "pad"}
        for o, ax_w, tint in ((0, ax_w0, TINT["block"]), (last, ax_wl, TINT["column"])):
            idx = [(0, j) for j in windows[o]]
            _mark(ax_pad, idx, tint, hatched=pads)
            _mark(ax_w, idx, tint)
            _mark(ax_y, [(0, o)], tint)

    def sum_text(o):
        terms = [f"w{t}*x{r}" for t, r in reads[o]]
        return f"y{o} = " + (" + ".join(terms) if terms else "0")

    alt = (
        f"A transposed convolution in one dimension, computed as a gather: kernel_size {k}, "
        f"stride {s}, padding {p}, dilation {d}, output_padding {op}, on {n} pixels. "
        f"The input gets {s - 1} zero(s) between pixels, then q = dil(k-1) - p = {q} padding "
        f"zero(s) at each end and {op} more at the end: {width} cells. The kernel, reversed, "
        f"slides over them with dilation {d}, one output per position: {out} outputs. "
        f"{sum_text(0)}; {sum_text(last)}."
    )
    return Picture(svg_markup(fig), alt)


def _phase_taps(k: int, s: int, p: int, phase: int) -> list:
    """The kernel taps ``t`` (one dimension) that output pixels ``o`` with
    ``o mod s == phase`` add up: ``o + p = i*s + t``, so ``t = (phase + p) mod s``,
    then every ``s``-th tap."""
    return list(range((phase + p) % s, k, s))


def phase_taps_picture(kernel_size=4, stride=2, padding=0) -> Picture:
    """The kernel taps each output phase of a transposed convolution adds up (chapter 4).

    ``conv_transpose2d`` writes ``y[o] += x[i] * w[t]`` for ``o + p = i*s + t``
    (per dimension), so output ``o`` only ever meets the taps ``t`` with
    ``t = (o + p) mod s (mod s)``: the outputs of one **phase** ``(o_h mod s_h,
    o_w mod s_w)`` are sums over one fixed subset of the kernel, a different
    subset for each phase. One panel per phase (phases of a row of the output
    on one row of panels): the whole kernel, the taps that phase uses named
    (``w00``, ...), tinted and outlined, the others empty. A constant input
    therefore gives a pattern of period ``s`` unless every subset has the same
    sum (the checkerboard).
    """
    k = shapes._as_tuple(kernel_size, 2, "kernel_size", minimum=1)
    s = shapes._as_tuple(stride, 2, "stride", minimum=1)
    p = shapes._as_tuple(padding, 2, "padding", minimum=0)
    if s[0] * s[1] > 16:
        raise ValueError(f"stride={stride!r} has {s[0] * s[1]} phases: draw at most 16")
    rows, alts, marks = [], [], []
    with matplotlib.rc_context(_STYLE):
        for a in range(s[0]):
            row = []
            for b in range(s[1]):
                ti, tj = _phase_taps(k[0], s[0], p[0], a), _phase_taps(k[1], s[1], p[1], b)
                labels = np.full(k, "", dtype=object)
                for i, j in itertools.product(ti, tj):
                    labels[i, j] = tap_label(i, j)
                n = len(ti) * len(tj)
                row.append(
                    _Panel(
                        labels,
                        cell=max(_CELL, math.ceil(_text_width("w00", LABEL_PT)) + 8),
                        title=f"phase ({a}, {b})\n{n} tap{'s' * (n != 1)}",
                    )
                )
                marks.append(list(itertools.product(ti, tj)))
                alts.append(
                    f"phase ({a}, {b}) (output rows o with o mod {s[0]} = {a}, columns "
                    f"mod {s[1]} = {b}): "
                    + (" ".join(tap_label(i, j) for i, j in marks[-1]) or "no tap, always 0")
                )
            rows.append(row)
        fig, axes = _arrange(
            rows,
            header=(
                f"kernel_size={scenes.pair_text(k)}, stride={scenes.pair_text(s)}, "
                f"padding={scenes.pair_text(p)}:\nthe taps each output phase adds up"
            ),
            footer=(
                "phase (a, b): the output pixels (o_h, o_w)\n"
                "with o_h mod s = a and o_w mod s = b\n"
                "orange, thick outline, wij: a tap they use\n"
                "empty white cell: a tap they never meet"
            ),
        )
        for ax, cells in zip(axes, marks):
            _mark(ax, cells, TINT["block"])
    alt = (
        f"The {k[0]}x{k[1]} kernel of a transposed convolution with stride "
        f"{scenes.pair_text(s)} and padding {scenes.pair_text(p)}, once per output phase, "
        "the taps that phase's outputs add up named: " + "; ".join(alts)
    )
    return Picture(svg_markup(fig), alt)


def values_picture(panels, *, header="", footer="", decimals=0) -> Picture:
    """Grids of numbers, each cell shaded by its value on ONE scale for all panels.

    ``panels`` is a list of ``(title, values)`` with ``values`` a 2-D array or
    tensor; every cell shows its value rounded to ``decimals`` and is shaded
    from white (the smallest value of all panels) to ``TINT["count"]`` (the
    largest), so equal numbers look equal across panels and black labels read
    on every shade. Up to two panels sit side by side. Used for the
    checkerboard artifacts of chapter 4 (a transposed convolution's output
    of a constant input beside resize-then-convolve's).
    """
    if isinstance(panels, dict) or not isinstance(panels, (list, tuple)) or not panels:
        raise TypeError("panels must be a non-empty list of (title, values) pairs")
    grids = []
    for item in panels:
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            raise TypeError(f"each panel must be a (title, values) pair, got {item!r}")
        title, values = item
        values = np.asarray(torch.as_tensor(values, dtype=torch.float64).numpy())
        if values.ndim != 2 or values.size == 0:
            raise ValueError(f"values of panel {title!r} must be a non-empty 2-D grid")
        grids.append((str(title), np.round(values, decimals)))
    lo = min(v.min() for _, v in grids)
    hi = max(v.max() for _, v in grids)
    fmt = f"{{:.{decimals}f}}"
    cols = sum(v.shape[1] for _, v in grids[:2])
    with matplotlib.rc_context(_STYLE):
        widest = max(_text_width(fmt.format(x), SMALL_PT) for _, v in grids for x in v.ravel())
        cell = max(math.ceil(widest) + 5, min(_CELL + 4, math.floor((MAX_WIDTH - _GAP) / cols)))
        made = []
        for title, v in grids:
            text = np.vectorize(fmt.format, otypes=[object])(v)
            size = (
                LABEL_PT
                if _text_width(max(text.ravel(), key=len), LABEL_PT) <= cell - 4
                else SMALL_PT
            )
            made.append(_Panel(text, cell=cell, title=title, fontsize=size))
        rows = [made[i : i + 2] for i in range(0, len(made), 2)]
        fig, axes = _arrange(rows, header=header, footer=footer)
        for ax, (_, v) in zip(axes, grids):
            for (r, c), x in np.ndenumerate(v):
                t = 0.0 if hi == lo else (x - lo) / (hi - lo)
                ax.add_patch(
                    Rectangle(
                        (c, r),
                        1,
                        1,
                        facecolor=_mix(TINT["count"], t),
                        edgecolor=PALETTE["grid"],
                        linewidth=0.6,
                        zorder=1.5,
                    )
                )
    alt = (
        (header.replace("\n", " ") + ". " if header else "")
        + f"Shading from white ({fmt.format(lo)}) to blue ({fmt.format(hi)}). "
        + ". ".join(
            f"{title.replace(chr(10), ' ')}: rows "
            + " / ".join(" ".join(fmt.format(x) for x in row) for row in v)
            for title, v in grids
        )
    )
    return Picture(svg_markup(fig), alt)


def fold_adds_picture(x, kernel_size, stride=1, padding=0, dilation=1, *, pixel=(1, 1)) -> Picture:
    """``fold`` adding real values: ``x``, ``cols = unfold(x)`` and ``fold(cols)`` (chapter 2).

    ``x`` is a 2-D tensor of small whole numbers (its values are the labels).
    ``fold(cols)[y] = sum over the entries (r, l) of cols that read pixel y of
    cols[r, l]``: every entry of ``cols`` that came from pixel ``pixel`` is
    tinted and outlined, and the footer writes out the sum that lands in
    ``fold(cols)`` at that pixel (with ``unfold(x)``'s entries it is the pixel's
    value times the number of blocks that read it, the divisor). Raises
    convlab's ``ValueError`` for parameters that do not fit, and for a
    ``pixel`` outside ``x``.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise TypeError(f"x must be a 2-D tensor of whole numbers, got {type(x).__name__}")
    H, W = x.shape
    y0, y1 = (shapes._as_int(v, "pixel") for v in pixel)
    if not (0 <= y0 < H and 0 <= y1 < W):
        raise ValueError(f"pixel={tuple(pixel)!r} is not a pixel of the {H}x{W} image x")
    lay = block_layout((H, W), kernel_size, stride, padding, dilation)
    xv = x.detach().to(torch.float64)
    cols = ops.unfold(xv[None, None], lay.kernel_size, lay.dilation, lay.padding, lay.stride)[0]
    back = ops.fold(cols[None], (H, W), lay.kernel_size, lay.dilation, lay.padding, lay.stride)[
        0, 0
    ]

    def text(v):
        v = float(v)
        return str(int(v)) if v == int(v) else f"{v:.1f}"

    K, L = cols.shape
    target = y0 * W + y1
    hits = [(r, l) for l in range(L) for r in range(K) if lay.pixel_ids[r, l] == target]
    terms = [text(cols[r, l]) for r, l in hits]
    with matplotlib.rc_context(_STYLE):
        inp = _Panel(
            np.vectorize(text, otypes=[object])(xv.numpy()),
            title=f"x: {H}x{W}",
            row_labels=[str(r) for r in range(H)],
            col_labels=[str(c) for c in range(W)],
        )
        offsets = lay.offset_labels
        left = max(_text_width(t, SMALL_PT) for t in offsets) + 8
        cell = max(22, min(_CELL, math.floor((MAX_WIDTH - left) / L)))
        mat = _Panel(
            np.vectorize(text, otypes=[object])(cols.numpy()),
            cell=cell,
            title=f"cols = unfold(x): {K} x L={L}",
            row_labels=offsets,
            col_labels=[str(c) for c in range(L)],
            hatched=lay.pixel_ids < 0,
        )
        out = _Panel(
            np.vectorize(text, otypes=[object])(back.numpy()),
            title=f"fold(cols): {H}x{W}",
            row_labels=[str(r) for r in range(H)],
            col_labels=[str(c) for c in range(W)],
        )
        # x and fold(cols) side by side, the wide cols below: narrow enough for a
        # phone's page to show the pixel and its sum without scrolling sideways
        rows = [[inp, out], [mat]]
        blocks = ", ".join(str(l) for _, l in hits)
        footer = (
            f"fold(cols)[{y0}, {y1}] = {' + '.join(terms)} = {text(back[y0, y1])}: "
            f"the entries of columns {blocks}\n"
            f"(outlined, blue) that read pixel ({y0}, {y1}) of x (outlined, orange)\n"
            "land on the same pixel of fold(cols) (outlined, green) and add up"
        )
        fig, axes = _arrange(
            rows, header="fold adds: every entry goes back to its pixel", footer=footer
        )
        ax_in, ax_out, ax_mat = axes
        _mark(ax_in, [(y0, y1)], TINT["block"])
        _mark(ax_mat, hits, TINT["column"])
        _mark(ax_out, [(y0, y1)], TINT["output"])
    alt = (
        f"fold adds. x is {H}x{W}, rows: "
        + " / ".join(" ".join(text(v) for v in row) for row in xv)
        + f". unfold with kernel_size={scenes.pair_text(lay.kernel_size)}, "
        f"stride={scenes.pair_text(lay.stride)}, padding={scenes.pair_text(lay.padding)}, "
        f"dilation={scenes.pair_text(lay.dilation)} gives {K} x {L} columns. "
        f"Pixel ({y0}, {y1}) of x is read by the entries of columns {blocks}; fold puts "
        f"them back and adds them: {' + '.join(terms)} = {text(back[y0, y1])}. "
        "fold(cols), rows: " + " / ".join(" ".join(text(v) for v in row) for row in back)
    )
    return Picture(svg_markup(fig), alt)


def taps_picture(panels) -> Picture:
    """Which pixel each tap of each block reads, along ONE axis, and the count (chapter 2).

    ``panels`` is a list of dicts of ``size``, ``kernel_size``, ``stride``,
    ``padding`` and ``dilation`` (ints: one spatial dimension). Row ``t`` is
    block ``t`` (``0 <= t < L``, ``L = (size + 2p - d(k-1) - 1) // s + 1``);
    its tap ``j`` reads the padded index ``q = s*t + d*j`` (labelled ``wj``,
    tinted); the last row counts the taps that read each index, on the
    divisor pictures' scale, and an index no tap reads (count 0) is a bold 0
    in a dotted box. Pixel ``y`` sits at ``q = y + p``; padding columns are
    hatched. Each panel's title names the unread pixels and their cause: a
    gap (between two blocks' spans: stride larger than the span
    ``d(k-1) + 1``), a hole (inside a block's span but on no tap of any
    block) or dropped (after the last block's span: the floor).
    """
    if isinstance(panels, dict) or not isinstance(panels, (list, tuple)) or not panels:
        raise TypeError("panels must be a non-empty list of dicts of parameters")
    grids, titles, alts = [], [], []
    for params in panels:
        if not isinstance(params, dict):
            raise TypeError(f"each panel must be a dict of parameters, got {params!r}")
        unknown = set(params) - {"size", "kernel_size", "stride", "padding", "dilation"}
        if unknown or "size" not in params:
            raise ValueError(
                f"a panel takes size (required), kernel_size, stride, padding, dilation; "
                f"got {sorted(params)}"
            )
        n = shapes._as_int(params["size"], "size")
        k = shapes._as_int(params.get("kernel_size", 3), "kernel_size")
        s = shapes._as_int(params.get("stride", 1), "stride")
        p = shapes._as_int(params.get("padding", 0), "padding")
        d = shapes._as_int(params.get("dilation", 1), "dilation")
        (L,) = shapes.conv_output_shape((n,), k, stride=s, padding=p, dilation=d)
        span, Np = d * (k - 1) + 1, n + 2 * p
        labels = np.full((L + 1, Np), "", dtype=object)
        for t in range(L):
            for j in range(k):
                labels[t, s * t + d * j] = f"w{j}"
        counts = (labels[:L] != "").sum(axis=0)
        labels[L] = counts.astype(str)
        causes = {}
        for y in range(n):
            q = y + p
            if counts[q]:
                continue
            if q >= s * (L - 1) + span:
                causes[y] = "dropped"
            elif any(s * t <= q < s * t + span for t in range(L)):
                causes[y] = "hole"
            else:
                causes[y] = "gap"
        kinds = sorted(set(causes.values()), key=["gap", "hole", "dropped"].index)
        unread = (
            "; ".join(
                f"{kind}: pixel {', '.join(str(y) for y, c in causes.items() if c == kind)}"
                for kind in kinds
            )
            if causes
            else "every pixel read"
        )
        shown = f"k={k}, s={s}, p={p}, d={d} on {n} pixels (span {span}, L={L})"
        titles.append(f"{shown}\nunread, {unread}")
        hatched = np.zeros(labels.shape, bool)
        hatched[:L, :p] = hatched[:L, p + n :] = True
        grids.append((labels, hatched, counts, L, p, n))
        alts.append(
            f"{shown}: "
            + "; ".join(
                f"block {t} reads " + ", ".join(f"q={s * t + d * j}" for j in range(k))
                for t in range(L)
            )
            + f"; count per pixel: {' '.join(str(c) for c in counts[p : p + n])}; "
            + unread
        )
    vmax = max(1, *(int(g[2].max()) for g in grids))
    with matplotlib.rc_context(_STYLE):
        drawn = []
        for (labels, hatched, _, L, p, n), title in zip(grids, titles):
            col_labels = [str(q - p) if 0 <= q - p < n else "pad" for q in range(n + 2 * p)]
            drawn.append(
                _Panel(
                    labels,
                    cell=_CELL,
                    title=title,
                    hatched=hatched,
                    row_labels=[f"block {t}" for t in range(L)] + ["count"],
                    col_labels=col_labels,
                )
            )
        fig, axes = _arrange(
            [[panel] for panel in drawn],
            header="tap wj of block t reads index s*t + d*j",
            footer=(
                "pixel y (top), block t (left); tinted wj: the pixel tap j reads\n"
                "count: the taps reading the pixel (shaded)\n"
                f"{UNCOVERED_LEGEND}"
            ),
        )
        colors = count_colors(vmax)
        for ax, (labels, hatched, counts, L, p, n) in zip(axes, grids):
            taps = [(t, q) for t in range(L) for q in range(labels.shape[1]) if labels[t, q]]
            pads = {(int(r), int(c)) for r, c in zip(*np.nonzero(hatched))}
            _mark(ax, taps, TINT["block"], outline=False, hatched=pads)
            for q, v in enumerate(counts):
                ax.add_patch(
                    Rectangle(
                        (q, L),
                        1,
                        1,
                        facecolor=colors[min(int(v), vmax)],
                        edgecolor=PALETTE["grid"],
                        linewidth=0.6,
                        zorder=1.5,
                    )
                )
                if v == 0 and 0 <= q - p < n:
                    _uncovered_mark(ax, L, q)
            for text in ax.texts:
                if text.get_text() == "0":
                    text.set_fontweight("bold")
            ax.axhline(L, color=PALETTE["edge"], linewidth=1.6, zorder=3)
    alt = "Taps along one axis, and the count of taps reading each pixel. " + ". ".join(alts)
    return Picture(svg_markup(fig), alt)


def two_sizes_picture(input_size, kernel_size, stride=1, padding=0, dilation=1) -> Picture:
    """The two sizes of a fold, to scale: the image and its block grid (chapter 2).

    Top row: the image that ``unfold`` reads (``input_size``: what ``fold``
    needs as ``output_size``) and its block grid, ``out_i = (n_i + 2p_i -
    d_i(k_i - 1) - 1) // s_i + 1`` per dimension (a convolution's output size;
    ``L = out_0 * out_1`` columns). Bottom row: what ``fold`` computes when it
    is given the block grid's size as ``output_size``: an image that size has
    a smaller block grid, so ``L`` does not match. Rectangles are drawn to one
    scale, labelled with their sizes (a schematic, not one cell per pixel).
    """
    size = shapes._spatial(input_size, 2, "input_size")
    k, s, pads, d = shapes.conv_params(2, kernel_size, stride, padding, dilation)
    p = tuple(a for a, _ in pads)
    grid = shapes.conv_output_shape(size, k, stride=s, padding=p, dilation=d)
    L = grid[0] * grid[1]
    try:
        wrong = shapes.conv_output_shape(grid, k, stride=s, padding=p, dilation=d)
    except ValueError:
        wrong = None
    fits = shapes.fold_output_sizes_for(grid, k, dilation=d, padding=p, stride=s)
    side = 120 / max(size)  # pt per pixel
    params = (
        f"kernel_size={scenes.pair_text(k)}, dilation={scenes.pair_text(d)}, "
        f"stride={scenes.pair_text(s)}, padding={scenes.pair_text(p)}"
    )

    def box(ax, x0, y0, hw, fill, dashed=False):
        h, w = hw[0] * side, hw[1] * side
        ax.add_patch(
            Rectangle(
                (x0, y0),
                w,
                h,
                facecolor=fill,
                edgecolor=PALETTE["edge"],
                linewidth=1.6,
                linestyle=(0, (4, 3)) if dashed else "-",
            )
        )
        return w, h

    def rule(n, out):  # the size formula along the height, with the numbers
        pad = f" + {2 * p[0]}" if p[0] else ""
        return f"({n}{pad} - {d[0] * (k[0] - 1) + 1}) // {s[0]} + 1 = {out}"

    lines_top = [
        f"image x: {size[0]} x {size[1]}",
        "unfold's input,",
        "fold's output_size",
    ]
    grid_lines = [
        f"block grid: {grid[0]} x {grid[1]}",
        "conv2d's output size:",
        f"L = {L} columns",
    ]
    lh = LABEL_PT * 1.3
    col1 = max(size[1] * side, *(_text_width(t, LABEL_PT) for t in lines_top))
    arrow = max(_text_width(rule(size[0], grid[0]), SMALL_PT), 90) + 12
    col3 = max(grid[1] * side, *(_text_width(t, LABEL_PT) for t in grid_lines))
    W = col1 + arrow + col3 + 8
    top_h = 3 * lh + 6 + size[0] * side
    bottom_lines = []
    if wrong is not None:
        Lw = wrong[0] * wrong[1]
        bottom_lines = [
            f"output_size={tuple(grid)}: an image of {grid[0]} x {grid[1]}",
            f"has a block grid of {wrong[0]} x {wrong[1]},",
            f"L = {Lw}, not {L}: fold refuses",
        ]
        W = max(W, *(_text_width(t, LABEL_PT) + 4 for t in bottom_lines))
    bot_h = (len(bottom_lines) * lh + 6 + grid[0] * side + 16) if wrong is not None else 0
    footer = (
        f"unfold with {params}. Every output_size that fits {L} blocks on a "
        f"{grid[0]} x {grid[1]} grid: "
        + " x ".join("(" + " or ".join(map(str, f)) + ")" for f in fits)
    )
    foot_lines = _wrap_words(footer, W, SMALL_PT)
    H = top_h + bot_h + 12 + len(foot_lines) * SMALL_PT * 1.3
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(W / 72, H / 72), dpi=72)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, W)
        ax.set_ylim(H, 0)
        ax.axis("off")
        for i, t in enumerate(lines_top):
            ax.text(0, (i + 0.8) * lh, t, fontsize=LABEL_PT, va="baseline")
        y0 = 3 * lh + 6
        box(ax, 0, y0, size, PALETTE["input"])
        ax.text(col1 + arrow / 2, y0 + 20, "unfold", fontsize=LABEL_PT, ha="center")
        ax.text(col1 + arrow / 2, y0 + 50, rule(size[0], grid[0]), fontsize=SMALL_PT, ha="center")
        ax.annotate(
            "",
            xy=(col1 + arrow - 6, y0 + 30),
            xytext=(col1 + 6, y0 + 30),
            arrowprops=dict(arrowstyle="-|>", color=PALETTE["edge"], linewidth=1.4),
        )
        gx = col1 + arrow
        for i, t in enumerate(grid_lines):
            ax.text(gx, (i + 0.8) * lh, t, fontsize=LABEL_PT, va="baseline")
        box(ax, gx, y0, grid, TINT["output"])
        if wrong is not None:
            yb = top_h + 16
            for i, t in enumerate(bottom_lines):
                ax.text(0, yb + (i + 0.8) * lh, t, fontsize=LABEL_PT, va="baseline")
            y1 = yb + len(bottom_lines) * lh + 6
            box(ax, 0, y1, grid, PALETTE["input"], dashed=True)
            ax.annotate(
                "",
                xy=(col1 + arrow - 6, y1 + 10),
                xytext=(grid[1] * side + 6, y1 + 10),
                arrowprops=dict(arrowstyle="-|>", color=PALETTE["edge"], linewidth=1.4),
            )
            box(ax, gx, y1, wrong, TINT["block"], dashed=True)
            ax.text(
                (grid[1] * side + col1 + arrow) / 2,
                y1 + 30,
                rule(grid[0], wrong[0]),
                fontsize=SMALL_PT,
                ha="center",
            )
        for i, t in enumerate(foot_lines):
            ax.text(0, top_h + bot_h + 12 + (i + 0.8) * SMALL_PT * 1.3, t, fontsize=SMALL_PT)
    alt = (
        f"Two sizes, drawn to one scale. The image x of {size[0]} x {size[1]} pixels is "
        f"unfold's input and fold's output_size; unfold with {params} reads a block grid "
        f"of {grid[0]} x {grid[1]} (a convolution's output size), L = {L} columns."
        + (
            f" Given output_size={tuple(grid)}, fold computes the block grid of a "
            f"{grid[0]} x {grid[1]} image: {wrong[0]} x {wrong[1]}, L = "
            f"{wrong[0] * wrong[1]}, not {L}, and refuses."
            if wrong is not None
            else ""
        )
        + " Every output_size that fits: "
        + " x ".join("(" + " or ".join(map(str, f)) + ")" for f in fits)
        + "."
    )
    return Picture(svg_markup(fig), alt)


def _wrap_words(text: str, width: float, size: float) -> list:
    """``text`` cut into lines no wider than ``width`` pt at font ``size``."""
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and _text_width(trial, size) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + ([line] if line else [])
