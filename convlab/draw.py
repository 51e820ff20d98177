"""Pure matplotlib drawing for the book's figures (no widgets, no pyplot state).

Every figure is labelled so that nothing relies on colour alone: padding cells
are hatched and show their value ``0``, the current block is drawn with thick
outlines, the current column and output pixel are outlined and named in the
caption, and the palette (Okabe & Ito) is colour-blind safe.

The pieces:

- :func:`block_layout` computes, with ``convlab.unfold`` on an integer index
  image, which input pixel every entry of the unfolded matrix comes from;
- :func:`draw_grid` draws a labelled grid of cells on an ``Axes``;
- :class:`SlidingBlocksFigure` puts input, unfolded matrix and output side by
  side and moves the highlight to a block with :meth:`~SlidingBlocksFigure.show_block`.
  Static artists are drawn once; a frame update restores the cached
  background and redraws only the moving artists (blitting).

Taught in chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import ops, shapes

__all__ = [
    "PALETTE",
    "BlockLayout",
    "block_layout",
    "draw_grid",
    "SlidingBlocksFigure",
    "DilationFigure",
    "FoldAccumulationFigure",
    "MatmulFigure",
    "TransposeFigure",
    "Picture",
    "png_bytes",
    "sliding_blocks_picture",
    "divisor_picture",
    "conv_matrix_picture",
    "tap_label",
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
        return [
            f"({i},{j})" for i in range(self.kernel_size[0]) for j in range(self.kernel_size[1])
        ]


def block_layout(input_size, kernel_size, stride=1, padding=0, dilation=1) -> BlockLayout:
    """Unfold an index image to find which pixel lands in which row and column.

    ``unfold(arange(H*W).view(1, 1, H, W) + 1, ...) - 1`` gives the pixel
    numbers, with ``-1`` where a block reads padding; unfolding the padded
    image's own index gives each block's cells. Raises convlab's ``ValueError``
    for parameters that do not fit.
    """
    size, k, s, pads, d = shapes.normalize(
        input_size, kernel_size, stride, padding, dilation, ndim=2
    )
    p = tuple(pair[0] for pair in pads)
    out_shape = shapes.conv_output_shape(size, k, stride=s, padding=p, dilation=d)
    H, W = size
    ids = torch.arange(H * W).view(1, 1, H, W) + 1
    pixel_ids = ops.unfold(ids, k, d, p, s)[0].numpy() - 1  # padding zeros become -1
    Hp, Wp = H + 2 * p[0], W + 2 * p[1]
    padded = torch.arange(Hp * Wp).view(1, 1, Hp, Wp)
    flat = ops.unfold(padded, k, d, 0, s)[0].numpy()  # (K, L)
    cells = np.stack([flat // Wp, flat % Wp], axis=-1).transpose(1, 0, 2)
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
):
    """Draw a grid of labelled cells; cell ``(r, c)`` spans ``[c, c+1] x [r, r+1]``.

    ``labels`` is a 2-D array of strings; ``hatched`` an optional boolean mask
    of cells drawn hatched in the padding colour (the label tells the value).
    Row 0 is at the top. Returns the list of artists drawn.
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
                facecolor=PALETTE["padding"] if pad else (facecolor or PALETTE["input"]),
                edgecolor=PALETTE["grid"],
                linewidth=0.6,
                hatch="///" if pad else None,
            )
            ax.add_patch(rect)
            artists.append(rect)
            if labels[r, c] != "":
                artists.append(
                    ax.text(
                        c + 0.5,
                        r + 0.5,
                        labels[r, c],
                        ha="center",
                        va="center",
                        fontsize=fontsize,
                        color="#333333" if pad else "black",
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
        ax.set_yticks(np.arange(rows) + 0.5, row_labels, fontsize=fontsize - 1)
        ax.tick_params(axis="y", length=0)
    if col_labels is not None:
        ax.set_xticks(np.arange(cols) + 0.5, col_labels, fontsize=fontsize - 1)
        ax.tick_params(axis="x", length=0)
    if title:
        ax.set_title(title, fontsize=fontsize + 1, loc="center")
    return artists


def png_bytes(fig_or_rgba, *, colors=None) -> bytes:
    """Encode a figure (or an RGBA array) as PNG; ``colors`` quantizes to a palette."""
    from PIL import Image

    if isinstance(fig_or_rgba, Figure):
        fig_or_rgba.canvas.draw()
        rgba = np.asarray(fig_or_rgba.canvas.buffer_rgba())
    else:
        rgba = fig_or_rgba
    image = Image.fromarray(np.ascontiguousarray(rgba[..., :3]))
    if colors:
        image = image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1 if not colors else 9)
    return out.getvalue()


class _Blitted:
    """Shared blitting: draw static artists once, then only the animated ones."""

    def _finish_setup(self, animated):
        self._animated = animated
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.fig.bbox)

    def _blit(self):
        self.canvas.restore_region(self._background)
        for artist in self._animated:
            self.fig.draw_artist(artist)

    def rgba(self) -> np.ndarray:
        """The current frame as an ``(height, width, 4)`` uint8 array."""
        return np.asarray(self.canvas.buffer_rgba())

    def png(self, *, colors=None) -> bytes:
        """The current frame as PNG bytes (``colors``: palette size for small files)."""
        return png_bytes(self.rgba(), colors=colors)


class SlidingBlocksFigure(_Blitted):
    """Input (padded), unfolded matrix and output grid, with one block highlighted.

    >>> fig = SlidingBlocksFigure(5, 3, stride=2, padding=1)
    >>> fig.layout.L
    9
    >>> fig.show_block(4).startswith("block 4 of 9 reads rows 1..3")
    True

    Each cell of the input shows its pixel number (``row * W + col``), padding
    cells show ``0`` and are hatched; each cell of the unfolded matrix shows
    which pixel was copied there; each output cell shows its column ``l``.
    """

    def __init__(self, input_size=5, kernel_size=3, stride=1, padding=0, dilation=1, *, dpi=88):
        self.layout = lay = block_layout(input_size, kernel_size, stride, padding, dilation)
        Hp, Wp = lay.padded_size
        H, W = lay.input_size
        Ho, Wo = lay.out_shape
        K, L = lay.K, lay.L
        cell = 0.30  # inches per cell in the input and output grids
        mcell = min(cell, 7.5 / max(L, 1))  # the matrix's columns shrink when L is large
        side_by_side = (Wp + Wo) * cell + L * mcell + 2.0 <= 9.5
        if side_by_side:
            widths = [Wp * cell, L * mcell, Wo * cell]
            self.fig = Figure(
                figsize=(sum(widths) + 2.0, max(Hp * cell, K * mcell, Ho * cell) + 0.7), dpi=dpi
            )
            gs = self.fig.add_gridspec(
                1, 3, width_ratios=widths, left=0.04, right=0.99, top=0.86, bottom=0.02, wspace=0.3
            )
            self.ax_in, self.ax_cols, self.ax_out = (self.fig.add_subplot(gs[i]) for i in range(3))
        else:  # too wide for a page: input and output on top, the matrix below
            mcell = min(cell, 8.0 / max(L, 1))
            top_h, bottom_h = max(Hp, Ho) * cell, K * mcell
            width = max((Wp + Wo) * cell + 1.6, L * mcell + 1.0)
            self.fig = Figure(figsize=(width, top_h + bottom_h + 1.3), dpi=dpi)
            gs = self.fig.add_gridspec(
                2,
                2,
                width_ratios=[Wp, Wo],
                height_ratios=[top_h, bottom_h],
                left=0.07,
                right=0.99,
                top=0.92,
                bottom=0.01,
                hspace=0.35,
                wspace=0.25,
            )
            self.ax_in = self.fig.add_subplot(gs[0, 0])
            self.ax_out = self.fig.add_subplot(gs[0, 1])
            self.ax_cols = self.fig.add_subplot(gs[1, :])
        self.canvas = FigureCanvasAgg(self.fig)
        p = lay.padding
        fs = 8 if max(Hp, Wp) <= 9 else 6
        draw_grid(
            self.ax_in,
            lay.input_labels(),
            hatched=lay.padding_mask,
            fontsize=fs,
            title=f"input x: {H}x{W}\npadding={p[0] if p[0] == p[1] else p} per side",
        )
        mat_labels = np.where(lay.pixel_ids < 0, "0", lay.pixel_ids.astype(str))
        mfs = max(4, min(8, int(mcell * 26)))
        draw_grid(
            self.ax_cols,
            mat_labels,
            hatched=lay.pixel_ids < 0,
            fontsize=mfs,
            row_labels=lay.offset_labels if K <= 16 else None,
            title=f"unfold(x)\n{K} rows x L={L} columns",
        )
        out_labels = np.arange(L).reshape(Ho, Wo).astype(str)
        draw_grid(self.ax_out, out_labels, fontsize=fs, title=f"output\n{Ho}x{Wo}")

        # moving artists (animated: excluded from the cached background)
        edge = dict(edgecolor=PALETTE["edge"], linewidth=2.4, animated=True)
        self._cells = [
            Rectangle((0, 0), 1, 1, facecolor=PALETTE["block"], alpha=0.55, **edge)
            for _ in range(K)
        ]
        for rect in self._cells:
            self.ax_in.add_patch(rect)
        self._span = Rectangle(
            (0, 0),
            1,
            1,
            fill=False,
            linestyle="--",
            edgecolor="black",
            linewidth=1.2,
            animated=True,
        )
        self.ax_in.add_patch(self._span)
        self._column = Rectangle((0, 0), 1, K, facecolor=PALETTE["column"], alpha=0.45, **edge)
        self.ax_cols.add_patch(self._column)
        self._out = Rectangle((0, 0), 1, 1, facecolor=PALETTE["output"], alpha=0.45, **edge)
        self.ax_out.add_patch(self._out)
        self._finish_setup([*self._cells, self._span, self._column, self._out])

    def caption(self, l: int) -> str:
        """Words for block ``l``: which pixels, which column, which output cell."""
        lay = self.layout
        rows, cols = lay.cells[l][:, 0], lay.cells[l][:, 1]
        p = lay.padding
        oh, ow = divmod(l, lay.out_shape[1])
        n_pad = int((lay.pixel_ids[:, l] < 0).sum())
        H, W = lay.input_size
        return (
            f"block {l} of {lay.L} reads rows {rows.min() - p[0]}..{rows.max() - p[0]} "
            f"(step {lay.dilation[0]}) and columns {cols.min() - p[1]}..{cols.max() - p[1]} "
            f"(step {lay.dilation[1]}) of x -> column {l} of unfold(x) -> output cell "
            f"({oh}, {ow}); {n_pad} of {lay.K} values are padding zeros"
            + (f" (outside rows 0..{H - 1}, columns 0..{W - 1})" if n_pad else "")
        )

    def show_block(self, l: int) -> str:
        """Move the highlight to block ``l`` (redraws only moving artists); returns the caption."""
        lay = self.layout
        if not 0 <= l < lay.L:
            raise ValueError(f"l={l} is not a block: blocks are numbered 0..{lay.L - 1}")
        for rect, (r, c) in zip(self._cells, lay.cells[l]):
            rect.set_xy((c, r))
        rows, cols = lay.cells[l][:, 0], lay.cells[l][:, 1]
        self._span.set_xy((cols.min(), rows.min()))
        self._span.set_width(cols.max() - cols.min() + 1)
        self._span.set_height(rows.max() - rows.min() + 1)
        self._column.set_x(l)
        oh, ow = divmod(l, lay.out_shape[1])
        self._out.set_xy((ow, oh))
        self._blit()
        return self.caption(l)

    # the protocol of convlab.widgets.SteppedFigureWidget
    @property
    def n_frames(self) -> int:
        return self.layout.L

    def show(self, i: int) -> str:
        return self.show_block(i)


# --------------------------------------------------------------------------
# static pictures
# --------------------------------------------------------------------------
class Picture:
    """A PNG with its alt text: displays as an image everywhere, reads as text.

    In a notebook the output carries ``image/png`` with ``{"alt": ...}`` in
    its metadata (the site's ``book/_ext/nb_image_alt.py`` makes it the
    ``<img alt>``: myst-nb itself reads only width and height there) and
    ``text/plain`` with the same description, which nbval compares: the words
    of a figure are checked, its pixels are not.
    """

    def __init__(self, png: bytes, alt: str):
        self.png, self.alt = png, alt

    def _repr_mimebundle_(self, include=None, exclude=None):
        import base64

        data = {
            "image/png": base64.b64encode(self.png).decode("ascii"),
            "text/plain": f"[figure] {self.alt}",
        }
        return data, {"image/png": {"alt": self.alt}}

    def __repr__(self):
        return f"[figure] {self.alt}"


def sliding_blocks_picture(
    input_size=5, kernel_size=3, stride=1, padding=0, dilation=1, block=0
) -> Picture:
    """One frame of :class:`SlidingBlocksFigure` as a :class:`Picture` (chapter 1)."""
    fig = SlidingBlocksFigure(input_size, kernel_size, stride, padding, dilation)
    caption = fig.show_block(block)
    lay = fig.layout
    alt = (
        f"unfold with kernel_size={_pair_text(lay.kernel_size)}, "
        f"stride={_pair_text(lay.stride)}, padding={_pair_text(lay.padding)}, "
        f"dilation={_pair_text(lay.dilation)} on a {lay.input_size[0]}x{lay.input_size[1]} "
        f"input: {caption}"
    )
    return Picture(fig.png(colors=64), alt)


def _pair_text(pair):
    return str(pair[0]) if pair[0] == pair[1] else str(tuple(pair))


def _ink(value, vmax):
    """Black or white text, whichever reads on the grey shade of ``value``."""
    return "white" if value / (vmax * 1.6) > 0.42 else "black"


def _count_grid(ax, counts, title, *, fontsize=8, vmax=None, origin=(0, 0)):
    """Counts drawn as numbers on grey shading (the numbers carry the meaning)."""
    counts = np.asarray(counts)
    vmax = vmax or max(int(counts.max()), 1)
    ax.imshow(
        counts,
        cmap="Greys",
        vmin=0,
        vmax=vmax * 1.6,
        extent=(0, counts.shape[1], counts.shape[0], 0),
        interpolation="nearest",
    )
    for r in range(counts.shape[0]):
        for c in range(counts.shape[1]):
            v = int(counts[r, c])
            ax.text(
                c + 0.5,
                r + 0.5,
                str(v),
                ha="center",
                va="center",
                fontsize=fontsize,
                fontweight="bold" if v == 0 else "normal",
                color=_ink(v, vmax),
            )
            if v == 0:  # uncovered: no block reads this pixel
                ax.add_patch(
                    Rectangle(
                        (c, r), 1, 1, fill=False, hatch="xx", edgecolor=PALETTE["grid"], linewidth=0
                    )
                )
    ax.set_xticks(np.arange(counts.shape[1] + 1), minor=True)
    ax.set_yticks(np.arange(counts.shape[0] + 1), minor=True)
    ax.grid(which="minor", color=PALETTE["grid"], linewidth=0.6)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(title, fontsize=fontsize + 1)


def divisor_picture(output_size, panels, *, dpi=88) -> Picture:
    """Side-by-side divisors ``fold(unfold(ones))``: how many blocks cover each pixel.

    ``panels`` is a list of dicts of ``kernel_size``, ``stride``, ``padding``,
    ``dilation`` and optionally ``output_size`` (missing keys take the defaults
    and ``output_size`` the function's argument). Each cell shows its count;
    zeros (no block covers the pixel: fold cannot be inverted there) are
    cross-hatched and bold. Chapter 2.
    """
    sizes = [shapes._spatial(p.get("output_size", output_size), 2, "output_size") for p in panels]
    fig = Figure(
        figsize=(
            sum(sz[1] * 0.3 + 0.6 for sz in sizes) + 0.2,
            max(sz[0] for sz in sizes) * 0.3 + 0.9,
        ),
        dpi=dpi,
    )
    FigureCanvasAgg(fig)
    alts = []
    for i, (params, size) in enumerate(zip(panels, sizes)):
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
        ax = fig.add_subplot(1, len(panels), i + 1)
        shown = (
            f"k={params['kernel_size']}, s={params['stride']}, p={params['padding']}, "
            f"d={params['dilation']}"
        )
        _count_grid(ax, divisor, shown)
        zeros = int((divisor == 0).sum())
        alts.append(
            f"{shown} on {size[0]}x{size[1]}: counts from {divisor.min()} to "
            f"{divisor.max()}"
            + (f", {zeros} uncovered pixels (count 0)" if zeros else ", no zeros")
            + "; rows: "
            + " / ".join(" ".join(map(str, row)) for row in divisor)
        )
    fig.subplots_adjust(left=0.02, right=0.98, top=0.86, bottom=0.02, wspace=0.15)
    fig.canvas.draw()
    alt = "Divisor fold(unfold(ones)), the number of blocks covering each pixel. " + ". ".join(alts)
    return Picture(png_bytes(np.asarray(fig.canvas.buffer_rgba()), colors=64), alt)


# --------------------------------------------------------------------------
# animated figures (the protocol of convlab.widgets.SteppedFigureWidget)
# --------------------------------------------------------------------------
class DilationFigure(_Blitted):
    """One block of a ``kernel_size`` kernel as ``dilation`` grows: frame ``i`` is dilation ``i+1``.

    The taps stay ``kernel_size`` x ``kernel_size`` (labelled by their offset
    ``(i, j)``), spread ``dilation`` pixels apart; the dashed square is the
    block's span, ``dilation*(kernel_size-1)+1`` pixels: its receptive field.
    Frames go up to the largest dilation whose block fits the input.

    >>> fig = DilationFigure(9, 3)
    >>> fig.n_frames
    4
    >>> fig.show(1).startswith("dilation=2: ")
    True

    Chapter 1 (``notebooks/01_sliding_blocks.ipynb``).
    """

    def __init__(self, input_size=9, kernel_size=3, *, dpi=88):
        n = shapes._as_int(input_size, "input_size")
        k = shapes._as_int(kernel_size, "kernel_size")
        shapes.normalize((n, n), k)  # the dilation-1 block must fit
        self.n, self.k = n, k
        self.dilations = [1] if k == 1 else list(range(1, (n - 1) // (k - 1) + 1))
        self.fig = Figure(figsize=(n * 0.32 + 0.5, n * 0.32 + 0.7), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        ax = self.ax = self.fig.add_axes((0.04, 0.02, 0.92, 0.86))
        labels = np.arange(n * n).reshape(n, n).astype(str)
        draw_grid(
            ax,
            labels,
            fontsize=7 if n <= 11 else 5,
            title=f"input x: {n}x{n}, one block of a {k}x{k} kernel",
        )
        edge = dict(edgecolor=PALETTE["edge"], linewidth=2.2, animated=True)
        self._taps = [
            Rectangle((0, 0), 1, 1, facecolor=PALETTE["block"], alpha=0.6, **edge)
            for _ in range(k * k)
        ]
        for rect in self._taps:
            ax.add_patch(rect)
        self._tap_labels = [
            ax.text(
                0,
                0,
                f"{i},{j}",
                ha="center",
                va="top",
                fontsize=5.5,
                animated=True,
                fontweight="bold",
            )
            for i in range(k)
            for j in range(k)
        ]
        self._span = Rectangle(
            (0, 0),
            1,
            1,
            fill=False,
            linestyle="--",
            linewidth=1.6,
            edgecolor="black",
            animated=True,
        )
        ax.add_patch(self._span)
        self._finish_setup([*self._taps, self._span, *self._tap_labels])

    @property
    def n_frames(self) -> int:
        return len(self.dilations)

    def caption(self, i: int) -> str:
        d, k, n = self.dilations[i], self.k, self.n
        span = d * (k - 1) + 1
        L = shapes.num_blocks((n, n), k, dilation=d)
        return (
            f"dilation={d}: the {k}x{k} taps are {d} pixel{'s' if d > 1 else ''} apart, so "
            f"one block spans d*(k-1)+1 = {span} x {span} pixels (its receptive field) and "
            f"still reads {k * k} values; a {n}x{n} input has L = {L} such blocks"
        )

    def show(self, i: int) -> str:
        if not 0 <= i < self.n_frames:
            raise ValueError(f"i={i} is not a frame: frames are 0..{self.n_frames - 1}")
        d, k = self.dilations[i], self.k
        span = d * (k - 1) + 1
        top = (self.n - span) // 2
        for t, (rect, label) in enumerate(zip(self._taps, self._tap_labels)):
            r, c = top + (t // k) * d, top + (t % k) * d
            rect.set_xy((c, r))
            label.set_position((c + 0.5, r + 0.04))
        self._span.set_xy((top, top))
        self._span.set_width(span)
        self._span.set_height(span)
        self._blit()
        return self.caption(i)


class FoldAccumulationFigure(_Blitted):
    """fold, one block at a time: frame ``l`` has added columns ``0..l`` back.

    Left: the unfolded matrix, the columns already added lightly shaded and
    the current one outlined. Right: the padded image (padding hatched; fold
    crops it at the end), each cell showing how many blocks have been added
    onto it so far, shaded by that count; the current block is outlined. The
    last frame's counts inside the image are ``fold_divisor``.

    >>> fig = FoldAccumulationFigure(4, 2, stride=1)
    >>> fig.n_frames
    9
    >>> "max overlap so far 4" in fig.show(8)
    True

    Chapter 2 (``notebooks/02_putting_blocks_back.ipynb``).
    """

    def __init__(self, input_size=5, kernel_size=3, stride=1, padding=0, dilation=1, *, dpi=88):
        self.layout = lay = block_layout(input_size, kernel_size, stride, padding, dilation)
        Hp, Wp = lay.padded_size
        K, L = lay.K, lay.L
        cell = 0.32
        mcell = min(cell, 6.0 / max(L, 1))
        self.fig = Figure(
            figsize=(L * mcell + Wp * cell + 2.0, max(Hp * cell, K * mcell) + 0.8), dpi=dpi
        )
        self.canvas = FigureCanvasAgg(self.fig)
        gs = self.fig.add_gridspec(
            1,
            2,
            width_ratios=[L * mcell, Wp * cell],
            left=0.06,
            right=0.98,
            top=0.82,
            bottom=0.03,
            wspace=0.25,
        )
        self.ax_cols, self.ax_img = self.fig.add_subplot(gs[0]), self.fig.add_subplot(gs[1])
        mat_labels = np.where(lay.pixel_ids < 0, "0", lay.pixel_ids.astype(str))
        draw_grid(
            self.ax_cols,
            mat_labels,
            hatched=lay.pixel_ids < 0,
            fontsize=max(4, min(8, int(mcell * 26))),
            row_labels=lay.offset_labels if K <= 16 else None,
            title=f"columns of unfold(x): L={L}",
        )
        p = lay.padding
        self.ax_img.set_xlim(0, Wp)
        self.ax_img.set_ylim(Hp, 0)
        self.ax_img.set_aspect("equal")
        self.ax_img.set_xticks(np.arange(Wp + 1), minor=True)
        self.ax_img.set_yticks(np.arange(Hp + 1), minor=True)
        self.ax_img.grid(which="minor", color=PALETTE["grid"], linewidth=0.6)
        self.ax_img.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
        hatches = [
            Rectangle(
                (c, r),
                1,
                1,
                fill=False,
                hatch="///",
                edgecolor="#999999",
                linewidth=0,
                animated=True,
            )
            for r, c in zip(*np.nonzero(lay.padding_mask))
        ]
        for patch in hatches:
            self.ax_img.add_patch(patch)
        pad_note = f"\npadding={_pair_text(p)} hatched: fold crops it" if any(p) else ""
        self.ax_img.set_title(f"blocks added onto each pixel{pad_note}", fontsize=9)
        # counts per padded pixel after each block (cumulative)
        adds = np.zeros((L, Hp, Wp), np.int64)
        for l in range(L):
            np.add.at(adds[l], (lay.cells[l][:, 0], lay.cells[l][:, 1]), 1)
        self._counts = np.cumsum(adds, axis=0)
        vmax = max(int(self._counts[-1].max()), 1)
        self._shade = self.ax_img.imshow(
            np.zeros((Hp, Wp)),
            cmap="Greys",
            vmin=0,
            vmax=vmax * 1.8,
            alpha=0.9,
            extent=(0, Wp, Hp, 0),
            interpolation="nearest",
            animated=True,
        )
        fs = 8 if max(Hp, Wp) <= 9 else 6
        self._texts = [
            [
                self.ax_img.text(
                    c + 0.5, r + 0.5, "", ha="center", va="center", fontsize=fs, animated=True
                )
                for c in range(Wp)
            ]
            for r in range(Hp)
        ]
        edge = dict(edgecolor=PALETTE["edge"], linewidth=2.4, animated=True, fill=False)
        self._cells = [Rectangle((0, 0), 1, 1, **edge) for _ in range(K)]
        for rect in self._cells:
            self.ax_img.add_patch(rect)
        self._column = Rectangle(
            (0, 0),
            1,
            K,
            facecolor=PALETTE["column"],
            alpha=0.45,
            edgecolor=PALETTE["edge"],
            linewidth=2.4,
            animated=True,
        )
        self.ax_cols.add_patch(self._column)
        self._done = Rectangle(
            (0, 0), 0, K, facecolor=PALETTE["column"], alpha=0.18, edgecolor="none", animated=True
        )
        self.ax_cols.add_patch(self._done)
        self._vmax = vmax
        self._finish_setup(
            [
                self._shade,
                *hatches,
                *(t for row in self._texts for t in row),
                *self._cells,
                self._done,
                self._column,
            ]
        )

    @property
    def n_frames(self) -> int:
        return self.layout.L

    def caption(self, l: int) -> str:
        lay = self.layout
        counts = self._counts[l]
        p = lay.padding
        H, W = lay.input_size
        inside = counts[p[0] : p[0] + H, p[1] : p[1] + W]
        text = (
            f"after block {l} ({l + 1} of {lay.L} added): max overlap so far "
            f"{int(inside.max())}, pixels not yet covered {int((inside == 0).sum())} of "
            f"{H * W}"
        )
        if l == lay.L - 1:
            text += "; these final counts are fold_divisor, the divisor of fold(unfold(x))"
        return text

    def show(self, l: int) -> str:
        lay = self.layout
        if not 0 <= l < lay.L:
            raise ValueError(f"l={l} is not a block: blocks are numbered 0..{lay.L - 1}")
        counts = self._counts[l]
        self._shade.set_data(counts)
        for r, row in enumerate(self._texts):
            for c, t in enumerate(row):
                t.set_text(str(int(counts[r, c])))
                t.set_color(_ink(int(counts[r, c]), self._vmax))
        for rect, (r, c) in zip(self._cells, lay.cells[l]):
            rect.set_xy((c, r))
        self._column.set_x(l)
        self._done.set_width(l)  # columns already added: lightly shaded
        self._blit()
        return self.caption(l)


def tap_label(i: int, j: int) -> str:
    """The name of kernel tap ``(i, j)`` in figures: ``w00``, ``w12``, ..."""
    return f"w{i}{j}"


def conv_matrix_picture(
    input_size, kernel_size, stride=1, padding=0, dilation=1, *, dpi=88
) -> Picture:
    """The convolution matrix ``Cm`` (``H_out*W_out`` x ``H*W``) with each nonzero named.

    Row ``o`` is output pixel ``o``; column ``j`` is input pixel ``j``; a cell
    shows which kernel tap (``w00`` ... ) multiplies that pixel for that output,
    and is empty where the block misses it. Built from ``convlab.conv_matrix``
    with a kernel whose taps are numbered, so every label is computed, not
    drawn by hand. Chapter 3 (and its transpose in chapter 4).
    """
    size = shapes._spatial(input_size, 2, "input_size")
    k = shapes._as_tuple(kernel_size, 2, "kernel_size", minimum=1)
    numbered = torch.arange(1, k[0] * k[1] + 1, dtype=torch.float64).view(*k)
    Cm = ops.conv_matrix(size, numbered, stride, padding, dilation).long().numpy()
    rows, cols = Cm.shape
    labels = np.full(Cm.shape, "", dtype=object)
    for (r, c), v in np.ndenumerate(Cm):
        if v:
            labels[r, c] = tap_label(*divmod(int(v) - 1, k[1]))
    cell = min(0.45, 7.2 / cols)
    fig = Figure(figsize=(cols * cell + 0.8, rows * cell + 1.0), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.06, 0.03, 0.93, 0.78))
    draw_grid(
        ax,
        labels,
        fontsize=8 if cell >= 0.4 else 6,
        row_labels=[str(r) for r in range(rows)],
        col_labels=[str(c) for c in range(cols)],
        title=f"conv as a matrix: {rows} output pixels x {cols} input pixels",
    )
    ax.tick_params(axis="x", labeltop=True, labelbottom=False)
    fig.canvas.draw()
    nonzero = int((Cm != 0).sum())
    alt = (
        f"The {rows} x {cols} matrix of a {k[0]}x{k[1]} convolution (stride "
        f"{_pair_text(shapes._as_tuple(stride, 2, 'stride', minimum=1))}, padding "
        f"{_pair_text(shapes._as_tuple(padding, 2, 'padding', minimum=0))}) on a "
        f"{size[0]}x{size[1]} image: {nonzero} of {rows * cols} entries are nonzero; "
        "row by row, the taps: "
        + " / ".join(
            " ".join(f"{labels[r, c]}@{c}" for c in range(cols) if labels[r, c])
            for r in range(rows)
        )
    )
    return Picture(png_bytes(np.asarray(fig.canvas.buffer_rgba()), colors=32), alt)


class MatmulFigure(_Blitted):
    """Convolution as ``weight @ cols``: one output pixel per frame.

    Top: the unfolded matrix ``cols`` (``K`` x ``L``). Bottom: the weight rows
    (``C_out`` x ``K``, tap names ``w00``... prefixed by the output channel)
    and the output (``C_out`` x ``L``) where the two meet. Left: the padded
    input with the block. Frame ``f`` is output channel ``f // L``, column
    ``f % L``: its weight row, its column and its block are outlined.

    >>> fig = MatmulFigure(4, 2, out_channels=2)
    >>> fig.n_frames
    18
    >>> fig.show(10).startswith("y[1, 0, 1] = row 1 of the weights")
    True

    Chapter 3 (``notebooks/03_convolution_as_matmul.ipynb``).
    """

    def __init__(
        self,
        input_size=4,
        kernel_size=2,
        stride=1,
        padding=0,
        dilation=1,
        out_channels=2,
        *,
        dpi=88,
    ):
        self.layout = lay = block_layout(input_size, kernel_size, stride, padding, dilation)
        self.C_out = shapes._as_int(out_channels, "out_channels")
        if self.C_out < 1:
            raise ValueError(f"out_channels={out_channels!r} is invalid: it must be >= 1")
        Hp, Wp = lay.padded_size
        K, L, Co = lay.K, lay.L, self.C_out
        cell = 0.32
        mcell = min(cell, 5.5 / max(L, 1))
        wcell = min(cell, 3.2 / max(K, 1))
        widths = [Wp * cell, K * wcell, L * mcell]
        heights = [K * mcell, Co * max(wcell, mcell)]
        self.fig = Figure(figsize=(sum(widths) + 2.2, max(sum(heights), Hp * cell) + 1.3), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        gs = self.fig.add_gridspec(
            2,
            3,
            width_ratios=widths,
            height_ratios=heights,
            left=0.05,
            right=0.99,
            top=0.88,
            bottom=0.03,
            wspace=0.3,
            hspace=0.25,
        )
        self.ax_in = self.fig.add_subplot(gs[:, 0])
        self.ax_cols = self.fig.add_subplot(gs[0, 2])
        self.ax_w = self.fig.add_subplot(gs[1, 1])
        self.ax_out = self.fig.add_subplot(gs[1, 2])
        p = lay.padding
        H, W = lay.input_size
        draw_grid(
            self.ax_in,
            lay.input_labels("x"),
            hatched=lay.padding_mask,
            fontsize=7,
            title=f"input x: {H}x{W}\npadding={_pair_text(p)}",
        )
        k = lay.kernel_size
        col_labels = np.where(lay.pixel_ids < 0, "0", np.char.add("x", lay.pixel_ids.astype(str)))
        mfs = max(4, min(7, int(mcell * 22)))
        draw_grid(
            self.ax_cols,
            col_labels,
            hatched=lay.pixel_ids < 0,
            fontsize=mfs,
            title=f"cols = unfold(x): K={K} x L={L}",
        )
        w_labels = np.array(
            [
                [f"{chr(97 + c)}{tap_label(i, j)[1:]}" for i in range(k[0]) for j in range(k[1])]
                for c in range(Co)
            ],
            dtype=object,
        )
        draw_grid(
            self.ax_w,
            w_labels,
            fontsize=max(4, min(7, int(wcell * 22))),
            row_labels=[f"c={c}" for c in range(Co)],
            title=f"weight.view({Co}, {K})",
        )
        out_labels = np.array([[f"y{c},{l}" for l in range(L)] for c in range(Co)], dtype=object)
        draw_grid(
            self.ax_out,
            out_labels,
            fontsize=max(4, min(7, int(mcell * 22))),
            title=f"weight @ cols: {Co} x {L}",
        )
        edge = dict(edgecolor=PALETTE["edge"], linewidth=2.2, animated=True)
        self._cells = [
            Rectangle((0, 0), 1, 1, facecolor=PALETTE["block"], alpha=0.55, **edge)
            for _ in range(K)
        ]
        for rect in self._cells:
            self.ax_in.add_patch(rect)
        self._column = Rectangle((0, 0), 1, K, facecolor=PALETTE["column"], alpha=0.4, **edge)
        self.ax_cols.add_patch(self._column)
        self._row = Rectangle((0, 0), K, 1, facecolor=PALETTE["block"], alpha=0.45, **edge)
        self.ax_w.add_patch(self._row)
        self._out = Rectangle((0, 0), 1, 1, facecolor=PALETTE["output"], alpha=0.5, **edge)
        self.ax_out.add_patch(self._out)
        self._finish_setup([*self._cells, self._column, self._row, self._out])

    @property
    def n_frames(self) -> int:
        return self.C_out * self.layout.L

    def caption(self, f: int) -> str:
        lay = self.layout
        co, l = divmod(f, lay.L)
        oh, ow = divmod(l, lay.out_shape[1])
        k = lay.kernel_size
        terms = [
            f"{chr(97 + co)}{i}{j}*x{pid}"
            for (i, j), pid in zip(
                ((i, j) for i in range(k[0]) for j in range(k[1])), lay.pixel_ids[:, l]
            )
            if pid >= 0
        ]
        zeros = int((lay.pixel_ids[:, l] < 0).sum())
        return (
            f"y[{co}, {oh}, {ow}] = row {co} of the weights times column {l} of "
            f"unfold(x) = "
            + (" + ".join(terms) if terms else "0")
            + (f" (+ {zeros} padding zeros)" if zeros else "")
        )

    def show(self, f: int) -> str:
        if not 0 <= f < self.n_frames:
            raise ValueError(f"f={f} is not a frame: frames are 0..{self.n_frames - 1}")
        lay = self.layout
        co, l = divmod(f, lay.L)
        for rect, (r, c) in zip(self._cells, lay.cells[l]):
            rect.set_xy((c, r))
        self._column.set_x(l)
        self._row.set_y(co)
        self._out.set_xy((l, co))
        self._blit()
        return self.caption(f)


class TransposeFigure(_Blitted):
    """Transposed convolution two ways, one output pixel per frame.

    Left, *scatter*: every input pixel stamps the kernel, scaled by its value,
    at ``stride`` steps into the output; the outlined pixels are those whose
    stamps reach the current output pixel, each labelled with the kernel tap
    that lands there. Middle, *gather*: the input with ``stride-1`` zeros
    inserted between pixels, padded by ``dilation*(k-1)-padding`` (cropped if
    negative) plus ``output_padding`` at the bottom/right; the outlined window
    is the kernel rotated 180 degrees, each tap labelled with its weight.
    Right: the output. Both views read the same products (:meth:`terms`).

    >>> fig = TransposeFigure(3, 3, stride=2, padding=1)
    >>> fig.n_frames
    25
    >>> fig.terms(0, method="scatter") == fig.terms(0, method="gather")
    True

    Chapter 4 (``notebooks/04_transposed_convolution.ipynb``).
    """

    def __init__(
        self,
        input_size=3,
        kernel_size=3,
        stride=2,
        padding=1,
        output_padding=0,
        dilation=1,
        *,
        dpi=88,
    ):
        n = shapes._as_int(input_size, "input_size")
        self.out = shapes.conv_transpose_output_shape(
            n,
            kernel_size,
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            dilation=dilation,
        )[0]
        self.n, self.k = n, shapes._as_int(kernel_size, "kernel_size")
        self.s, self.p = shapes._as_int(stride, "stride"), shapes._as_int(padding, "padding")
        self.op, self.d = (
            shapes._as_int(output_padding, "output_padding"),
            shapes._as_int(dilation, "dilation"),
        )
        n, k, s, d, O = self.n, self.k, self.s, self.d, self.out
        self.q = d * (k - 1) - self.p  # gather padding (negative: crop)
        self.canvas_size = (n - 1) * s + 1 + 2 * self.q + self.op
        G = self.canvas_size
        cell = 0.3 if max(G, O) <= 14 else 4.2 / max(G, O)
        self.fig = Figure(figsize=((n + G + O) * cell + 2.4, max(n, G, O) * cell + 1.3), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.fig)
        gs = self.fig.add_gridspec(
            1, 3, width_ratios=[n, G, O], left=0.03, right=0.99, top=0.82, bottom=0.03, wspace=0.25
        )
        self.ax_x, self.ax_g, self.ax_y = (self.fig.add_subplot(gs[i]) for i in range(3))
        fs = 7 if cell >= 0.3 else 5
        draw_grid(
            self.ax_x,
            np.array([f"x{v}" for v in range(n * n)], dtype=object).reshape(n, n),
            fontsize=fs,
            title="scatter: input x\n(stamps of the kernel)",
        )
        glabels = np.full((G, G), "0", dtype=object)
        real = np.zeros((G, G), bool)
        for a in range(G):
            for b in range(G):
                rc = self._pixel_at(a, b)
                if rc is not None:
                    glabels[a, b] = f"x{rc[0] * n + rc[1]}"
                    real[a, b] = True
        draw_grid(
            self.ax_g,
            glabels,
            hatched=~real,
            fontsize=fs,
            title=f"gather: {s - 1} zero{'s' if s != 2 else ''} inserted, "
            f"padded {self.q}"
            + (f" + {self.op}" if self.op else "")
            + "\nkernel rotated 180 degrees",
        )
        draw_grid(
            self.ax_y, np.full((O, O), "", dtype=object), fontsize=fs, title=f"output y: {O}x{O}"
        )
        edge = dict(edgecolor=PALETTE["edge"], linewidth=2.0, animated=True)
        self._x_marks = [
            Rectangle((0, 0), 1, 1, facecolor=PALETTE["block"], alpha=0.55, **edge)
            for _ in range(k * k)
        ]
        self._x_text = [
            self.ax_x.text(
                0, 0, "", fontsize=5.5, ha="center", va="top", fontweight="bold", animated=True
            )
            for _ in range(k * k)
        ]
        self._g_marks = [
            Rectangle((0, 0), 1, 1, facecolor=PALETTE["column"], alpha=0.45, **edge)
            for _ in range(k * k)
        ]
        self._g_text = [
            self.ax_g.text(
                0, 0, "", fontsize=5.5, ha="center", va="top", fontweight="bold", animated=True
            )
            for _ in range(k * k)
        ]
        for rect in self._x_marks:
            self.ax_x.add_patch(rect)
        for rect in self._g_marks:
            self.ax_g.add_patch(rect)
        self._y_mark = Rectangle((0, 0), 1, 1, facecolor=PALETTE["output"], alpha=0.5, **edge)
        self.ax_y.add_patch(self._y_mark)
        self._finish_setup(
            [*self._x_marks, *self._g_marks, *self._x_text, *self._g_text, self._y_mark]
        )

    def _pixel_at(self, a, b):
        """The input pixel at gather-canvas cell (a, b), or None for an inserted/pad zero."""
        u, v = a - self.q, b - self.q
        last = (self.n - 1) * self.s
        if 0 <= u <= last and 0 <= v <= last and u % self.s == 0 and v % self.s == 0:
            return u // self.s, v // self.s
        return None

    @property
    def n_frames(self) -> int:
        return self.out * self.out

    def terms(self, f: int, method: str = "scatter"):
        """Sorted ``(input row, input col, tap i, tap j)`` products of output pixel ``f``."""
        oh, ow = divmod(f, self.out)
        n, k, s, d, p = self.n, self.k, self.s, self.d, self.p
        found = []
        if method == "scatter":  # pixel (r, c) puts tap (i, j) at (r*s + i*d - p, ...)
            for r in range(n):
                for c in range(n):
                    for i in range(k):
                        for j in range(k):
                            if r * s + i * d - p == oh and c * s + j * d - p == ow:
                                found.append((r, c, i, j))
        elif method == "gather":  # window tap (a, b) reads canvas (oh + a*d, ow + b*d)
            for a in range(k):
                for b in range(k):
                    rc = self._pixel_at(oh + a * d, ow + b * d)
                    if rc is not None:
                        found.append((rc[0], rc[1], k - 1 - a, k - 1 - b))
        else:
            raise ValueError(f"method={method!r}: use 'scatter' or 'gather'")
        return sorted(found)

    def caption(self, f: int) -> str:
        oh, ow = divmod(f, self.out)
        terms = self.terms(f)
        if not terms:
            return f"y[{oh}, {ow}] = 0: no stamp reaches it, and the gather window reads only zeros"
        sum_text = " + ".join(f"{tap_label(i, j)}*x{r * self.n + c}" for r, c, i, j in terms)
        return (
            f"y[{oh}, {ow}] = {sum_text}: scatter (the stamps of these pixels land here) "
            f"and gather (the rotated kernel reads them) give the same {len(terms)} "
            f"product{'s' if len(terms) > 1 else ''}"
        )

    def show(self, f: int) -> str:
        if not 0 <= f < self.n_frames:
            raise ValueError(f"f={f} is not a frame: frames are 0..{self.n_frames - 1}")
        oh, ow = divmod(f, self.out)
        terms = self.terms(f)
        for t, (rect, text) in enumerate(zip(self._x_marks, self._x_text)):
            visible = t < len(terms)
            rect.set_visible(visible)
            text.set_visible(visible)
            if visible:
                r, c, i, j = terms[t]
                rect.set_xy((c, r))
                text.set_position((c + 0.5, r + 0.04))
                text.set_text(tap_label(i, j))
        k, d = self.k, self.d
        for t, (rect, text) in enumerate(zip(self._g_marks, self._g_text)):
            a, b = divmod(t, k)
            rect.set_xy((ow + b * d, oh + a * d))
            text.set_position((ow + b * d + 0.5, oh + a * d + 0.04))
            text.set_text(tap_label(k - 1 - a, k - 1 - b))
        self._y_mark.set_xy((ow, oh))
        self._blit()
        return self.caption(f)
